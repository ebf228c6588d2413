"""A training run: the phase state machine (idle → starting → running ⇄ paused → stopping → idle), the worker
thread and the trainer's control.

A mixin of `TrainingController`. Train, Pause, Resume, Step, Stop and Reset weights move the phase; one run
is one `TrainingWorker` run by one `BackgroundWorker` (the window's one worker primitive), steered through
`TrainingControl`; the worker's signals move the phase on and its outcome ends the run (keeping the weights
it reached).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QTimer, SignalInstance

from nnstudio.core.settings import UNLIMITED_EPOCHS

from ..base import data_consent
from ..base.background import BackgroundWorker
from .host import TrainingHost
from .neuron_maps import NeuronMapOverlay
from .panel import TrainingPanel, format_duration

if TYPE_CHECKING:
    from nnstudio.ml.control import TrainingControl

    from .history import TrainingHistory
    from .plots import TrainingPlots
    from .state import TrainedState
    from .worker import RunInfo, RunOutcome, TelemetryMailbox, TrainingWorker


class TrainingRun:
    """Run life-cycle (mixed into `TrainingController`)."""

    window: TrainingHost
    session: Any
    panel: TrainingPanel
    overlay: NeuronMapOverlay
    phase: str
    trained: TrainedState | None
    latest: Any
    info: RunInfo | None
    control: TrainingControl | None
    mailbox: TelemetryMailbox | None
    thread: BackgroundWorker | None
    worker: TrainingWorker | None
    plots: TrainingPlots | None
    _history: TrainingHistory | None
    _frame_timer: QTimer
    _due: list[str]
    _visible: set[str]
    _closed: bool
    _network_changed: bool
    _reset_after_run: bool
    _stepping: bool
    run_started: SignalInstance
    run_finished: SignalInstance
    frame_drawn: SignalInstance

    # provided by the other parts of the controller
    history: TrainingHistory
    active: bool
    say: Callable[..., None]
    base_dir: Callable[[], str | None]
    _set_phase: Callable[[str], None]
    _take_mail: Callable[[], bool]
    _draw_overlays: Callable[[], None]
    _on_news: Callable[[], None]

    def train(self) -> bool:
        """Start training (continuing from the kept weights when they fit), or resume a paused run."""
        if self.phase == "paused":
            return self.resume()
        if self.phase != "idle":
            return False
        return self._start(step=False)

    def pause(self) -> bool:
        if self.phase != "running" or self.control is None:
            return False
        self.control.pause()
        return True

    def resume(self) -> bool:
        if self.phase != "paused" or self.control is None:
            return False
        self.control.resume()
        return True

    def step(self) -> bool:
        """One batch: from a pause, or from idle (training starts and pauses after the batch)."""
        if self.phase == "paused" and self.control is not None:
            self._stepping = True
            self.control.step(1)
            return True
        if self.phase == "idle":
            self._stepping = self._start(step=True)
            return self._stepping
        return False

    def stop(self) -> bool:
        if self.control is None or self.phase not in ("starting", "running", "paused"):
            return False
        self.control.stop()
        self._set_phase("stopping")
        return True

    def reset_weights(self) -> bool:
        """Forget the trained weights and the plots (stopping a run first)."""
        if self.active:
            self._reset_after_run = True
            self.stop()
            return True
        self._forget()
        self.say("Weights reset: the next run starts from new weights.")
        return True

    def _forget(self) -> None:
        """The one reset path (Reset weights, File ▸ New / Open, a run that starts from new weights): drop
        the trained weights, the history, every plot's contents (shown or not), the canvas maps, the
        panel's progress and any message about the design that was."""
        self.trained = None
        self.latest = None
        self.info = None
        if self._history is not None:
            self._history.clear()
        self.overlay.clear()
        if self.plots is not None:
            self.plots.reset()
        self.panel.reset_progress()
        self.panel.show_message("")
        self._set_phase(self.phase)

    def _start(self, step: bool | int) -> bool:
        errors = self.session.inference.errors()
        if errors:
            first = errors[0]
            self.say(f"The design cannot be trained yet: {first.message}", error=True)
            if first.layer_id is not None:
                self.window.select_layers([first.layer_id], centre=True)
            return False
        from nnstudio.ml.control import TrainingControl

        from .worker import TelemetryMailbox, TrainingJob, TrainingWorker

        design = self.window.design.copy()
        if not data_consent.may_read(self.window.qt_window(), design.dataset, self.base_dir()):
            self.say(data_consent.refusal(design.dataset, self.base_dir()), error=True)
            return False
        initial = self.trained if self.trained is not None and self.trained.fits(design) else None
        note = ""
        if initial is None:
            if self.trained is not None:
                note = "The network changed since the last run: training starts from new weights."
            self._forget()
        epochs = UNLIMITED_EPOCHS if design.training.until_paused else design.training.epochs
        if initial is not None and initial.epoch >= epochs and initial.batch == 0:
            epochs = initial.epoch + design.training.epochs
            note = f"Continuing from epoch {initial.epoch:,} for {design.training.epochs:,} more epochs."
        self.control = TrainingControl()
        if step:
            self.control.step(int(step))
        self.mailbox = TelemetryMailbox()
        job = TrainingJob(design=design, epochs=epochs, base_dir=self.base_dir(), initial=initial,
                          callbacks=tuple(make() for make in self.callback_factories))
        worker = TrainingWorker(job, self.control, self.mailbox)
        thread = BackgroundWorker(worker.run, "nnstudioTraining", self)
        worker.news.connect(self._on_news)
        worker.run_started.connect(self._on_run_started)
        worker.state_changed.connect(self._on_worker_state)
        worker.snapshot_ready.connect(self._on_snapshot)
        thread.returned.connect(self._on_finished)  # `run` never raises: every failure is a RunOutcome
        thread.finished.connect(thread.deleteLater)
        self.thread, self.worker = thread, worker
        self._network_changed = False
        self._reset_after_run = False
        self.panel.show_message(note or ("Stepping one batch…" if step else "Starting…"))
        self._set_phase("starting")
        thread.start()
        return True

    # ---- from the worker ---------------------------------------------------------------------------

    def _on_run_started(self, info: RunInfo) -> None:
        self.info = info
        if info.devices:
            self.panel.device_combo.set_devices(info.devices)
        if self.plots is not None:
            self.plots.output.set_points(info)
            self.plots.weights.set_layers(info.histogram_layers)
        where = info.device + (" (CUDA graph)" if info.graph_mode == "cuda_graph" else "")
        if self.phase == "starting":
            self.panel.show_message(f"Training on {where}: {info.num_train:,} training and "
                                    f"{info.num_val:,} validation samples.")
        self.run_started.emit(info)

    def _on_worker_state(self, state: str) -> None:
        if self.phase == "stopping" or self.thread is None:
            return
        if state == "running":
            self._set_phase("running")
        elif state == "paused":
            self._set_phase("paused")
        elif state == "stopped":
            self._set_phase("stopping")

    def _on_snapshot(self, state: TrainedState) -> None:
        if not self._network_changed:
            self.trained = state
            self._set_phase(self.phase)

    def _end_thread(self) -> None:
        """Wait for the training thread to end (it ends when the worker's run returns) and let go of it."""
        thread, self.thread = self.thread, None
        if thread is not None:
            thread.wait()  # releases the gc guard

    def _on_finished(self, outcome: RunOutcome) -> None:
        self._end_thread()
        self._frame_timer.stop()
        self._take_mail()
        self._due.clear()
        self.thread = self.worker = None
        self.control = None
        if self._closed:
            return
        if outcome.state is not None:
            self.trained = outcome.state
        if self._network_changed:
            message = ("Training stopped because the network changed. The weights of the network as it was "
                       "are kept: undo the change to continue them, or press Train to start afresh.")
            self.say(message)
        elif outcome.status == "failed":
            self.say(outcome.message, error=True)
        elif outcome.status == "stopped":
            self.say(f"Training stopped after epoch {outcome.epochs_completed:,} "
                     f"({outcome.steps:,} steps); the weights are kept — Train continues from them.")
        else:
            self.say(f"Training finished: {outcome.epochs_completed:,} epochs, {outcome.steps:,} steps in "
                     f"{format_duration(outcome.elapsed)}.")
        if self.latest is not None:
            self.panel.show_progress(self.latest)
            if self.plots is not None:
                self.plots.refresh(self.history, self.latest, self._visible, force=True)
            if not self._network_changed:
                self._draw_overlays()
            self.frame_drawn.emit(self.latest)
        self._set_phase("idle")
        reset = self._reset_after_run
        self._reset_after_run = False
        if reset:
            self.reset_weights()
        self.run_finished.emit(outcome)

