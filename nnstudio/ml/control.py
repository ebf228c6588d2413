"""The thread-safe remote control a GUI (or any other thread) uses to steer a running `Trainer`.

The controlling thread calls `pause`, `resume`, `step`, `stop` and `set_hyperparameters`; the training
thread looks at `attention` between batches (one attribute read) and only takes the lock when something
is pending. Every state the worker reaches is acknowledged: `paused_event` / `stopped_event` are set and
listeners are called (from the training thread) when a pause or stop has actually taken effect.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Literal

from nnstudio.core.live import LIVE_FIELDS, check_live_changes

State = Literal["idle", "running", "paused", "stopped"]
StateListener = Callable[[str], None]

# Hyper-parameters that may change while training runs: those marked `live` in TRAINING_FIELDS.
LIVE_HYPERPARAMETERS = LIVE_FIELDS


# The key under which weight edits wait among the pending live changes (see `edit_parameters`).
PARAMETER_EDITS = "parameter_edits"


class TrainingControl:
    """Pause / resume / single-step / stop and live hyper-parameter changes, safe to call from any thread.

    States: ``idle`` (no fit running yet), ``running``, ``paused``, ``stopped`` (the fit has ended, for
    whatever reason). A stop request stays in force until `reset()`: a `Trainer.fit` started with a
    stopped control ends at once, so a Stop pressed while training is still starting is never lost.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._state: State = "idle"
        self._pause_requested = False
        self._stop_requested = False
        self._step_budget = 0
        self._pending: dict[str, float] = {}
        self._listeners: list[StateListener] = []
        # Read by the training thread between batches without the lock: a plain attribute read is
        # atomic in CPython, and a stale False only delays the reaction by one batch.
        self.attention = False
        self.paused_event = threading.Event()
        self.stopped_event = threading.Event()
        self.running_event = threading.Event()

    # ---- called by the controlling thread ---------------------------------------------------------

    @property
    def state(self) -> State:
        return self._state

    @property
    def stop_requested(self) -> bool:
        return self._stop_requested

    @property
    def pause_requested(self) -> bool:
        return self._pause_requested

    def pause(self) -> None:
        """Ask the trainer to pause before its next batch; `paused_event` is set once it has."""
        with self._lock:
            self._pause_requested = True
            self._step_budget = 0
            self.attention = True
            self._changed.notify_all()

    def resume(self) -> None:
        with self._lock:
            self._pause_requested = False
            self._step_budget = 0
            self.paused_event.clear()
            self._update_attention()
            self._changed.notify_all()

    def step(self, n_batches: int = 1) -> None:
        """Run exactly `n_batches` more batches, then pause again (a running trainer pauses after them).

        `paused_event` is cleared here, before the worker moves, so waiting on it afterwards waits for
        the pause that follows these batches and never sees the previous one.
        """
        if isinstance(n_batches, bool) or not isinstance(n_batches, int) or n_batches < 1:
            raise ValueError(f"step() needs a positive whole number of batches, not {n_batches!r}")
        with self._lock:
            self._pause_requested = True
            self._step_budget = n_batches
            self.paused_event.clear()
            self.attention = True
            self._changed.notify_all()

    def stop(self) -> None:
        """Ask the trainer to end after the current batch; `stopped_event` is set when the fit has ended."""
        with self._lock:
            self._stop_requested = True
            self.attention = True
            self._changed.notify_all()

    def reset(self) -> None:
        """Forget pause and stop requests so the control can drive another fit."""
        with self._lock:
            self._pause_requested = False
            self._stop_requested = False
            self._step_budget = 0
            self._pending.clear()
            self.attention = False
            self.paused_event.clear()
            self.stopped_event.clear()
            if self._state == "stopped":
                self._state = "idle"

    def set_hyperparameters(self, **values: Any) -> None:
        """Change live hyper-parameters (learning_rate, momentum, regularization_rate, grad_clip); the
        trainer applies them to its optimizer between two steps. Values are checked here, in the
        caller's thread, against the same ranges the training panel uses (ParameterError if wrong)."""
        checked = check_live_changes(values)
        if not checked:
            return
        with self._lock:
            self._pending.update(checked)
            self.attention = True
            self._changed.notify_all()

    def edit_parameters(self, edits: list[tuple[str, int, float]]) -> None:
        """Set single weights or biases — (parameter name, flat index, value) — between two steps, or at
        once while paused (the network view's weight edits)."""
        checked = [(str(name), int(index), float(value)) for name, index, value in edits]
        with self._lock:
            self._pending.setdefault(PARAMETER_EDITS, []).extend(checked)  # type: ignore[union-attr]
            self.attention = True
            self._changed.notify_all()

    def add_listener(self, listener: StateListener) -> None:
        """Call `listener(state)` on every state change; it runs in the training thread, so keep it short
        (a Qt signal emit is ideal)."""
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: StateListener) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def wait_for(self, state: State, timeout: float | None = None) -> bool:
        """Block until the trainer reaches `state` (or has stopped); True if `state` was reached."""
        with self._lock:
            self._changed.wait_for(lambda: self._state in (state, "stopped"), timeout)
            return self._state == state

    # ---- called by the training thread ------------------------------------------------------------

    def _update_attention(self) -> None:
        self.attention = self._pause_requested or self._stop_requested or bool(self._pending)

    def take_hyperparameters(self) -> dict[str, float]:
        """Pending hyper-parameter changes, handed over once."""
        with self._lock:
            pending, self._pending = self._pending, {}
            self._update_attention()
            return pending

    def consume_step(self) -> bool:
        """Between batches: True if the next batch may run now, False if the trainer must pause first."""
        with self._lock:
            if not self._pause_requested:
                return True
            if self._step_budget > 0:
                self._step_budget -= 1
                return True
            return False

    def wait_while_paused(
        self,
        on_pause: Callable[[], None] | None = None,
        apply: Callable[[dict[str, float]], None] | None = None,
    ) -> None:
        """Enter the paused state, acknowledge it, and block until resume, step or stop.

        `on_pause` runs once before the acknowledgement (the trainer publishes the paused state there);
        hyper-parameter changes that arrive while paused are handed to `apply` without leaving the pause.
        """
        self._set_state("paused")
        if on_pause is not None:
            on_pause()
        self.paused_event.set()
        while True:
            with self._lock:
                self._changed.wait_for(lambda: self._stop_requested or not self._pause_requested
                                       or self._step_budget > 0 or bool(self._pending))
                pending, self._pending = self._pending, {}
                leave = self._stop_requested or not self._pause_requested or self._step_budget > 0
            if pending and apply is not None:
                apply(pending)
            if leave:
                break
        with self._lock:
            self._update_attention()
        if not self._stop_requested:
            self._set_state("running")

    def begin(self) -> None:
        self.stopped_event.clear()
        self._set_state("running")

    def finish(self) -> None:
        self.paused_event.clear()
        self._set_state("stopped")
        self.stopped_event.set()

    def _set_state(self, state: State) -> None:
        with self._lock:
            if self._state == state:
                return
            self._state = state
            listeners = list(self._listeners)
            if state == "running":
                self.running_event.set()
            else:
                self.running_event.clear()
            self._changed.notify_all()
        for listener in listeners:
            listener(state)
