"""The training worker: builds and runs one `Trainer` fit, on the thread of a `BackgroundWorker`.

GUI → worker goes through the trainer's `TrainingControl` (pause, resume, step, stop, live
hyper-parameters). Worker → GUI goes through signals carrying plain values only. Telemetry is not sent
one signal per publication: the worker drops each publication into a `TelemetryMailbox` and nudges the
GUI only when the mailbox was empty, so however fast the trainer publishes, at most one nudge waits in
the GUI's queue; the GUI then takes every history point the publications carried (for the curves) and
the newest snapshot (for everything else) in one go. The worker object lives on the GUI thread and its
signals are emitted from the training thread, so Qt queues them to the GUI thread's receivers. Failures never
escape `run`: it returns a `RunOutcome` with a message (delivered by the `BackgroundWorker`'s `returned`).
"""

from __future__ import annotations

import os
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from nnstudio.core import Design, NNStudioError
from nnstudio.core.errors import DataError, DesignError, TrainingError

from .state import TrainedState, snapshot_trainer, to_checkpoint


@dataclass
class TrainingJob:
    """What one run needs, all owned by the run (the design is a copy)."""

    design: Design
    epochs: int
    base_dir: str | None = None
    initial: TrainedState | None = None
    publish_hz: float = 30.0
    callbacks: tuple[Any, ...] = ()  # more Trainer callbacks for this run (run store, trajectory, CNN views)


@dataclass
class RunInfo:
    """What the GUI learns once the trainer is built: the data to draw and the layers to chart."""

    task: str
    device: str
    graph_mode: str
    num_train: int
    num_val: int
    batches_per_epoch: int
    start_step: int
    start_epoch: int
    class_names: tuple[str, ...] = ()
    feature_names: tuple[str, ...] = ()
    points_train: np.ndarray | None = None
    targets_train: np.ndarray | None = None
    points_val: np.ndarray | None = None
    targets_val: np.ndarray | None = None
    parameter_layers: list[str] = field(default_factory=list)
    histogram_layers: list[str] = field(default_factory=list)
    neuron_layers: list[str] = field(default_factory=list)
    devices: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class RunOutcome:
    """How a run ended. `status`: completed, stopped or failed; `kind` says what failed."""

    status: str
    message: str = ""
    kind: str = ""  # "training", "data", "design" or "unexpected" for failures
    state: TrainedState | None = None
    epochs_completed: int = 0
    steps: int = 0
    elapsed: float = 0.0


class TelemetryMailbox:
    """Hands publications from the training thread to the GUI thread, coalesced."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: list[dict[str, Any]] = []
        self._latest: Any = None
        self._posted = False
        self.published = 0  # publications put, ever (for tests and benchmarks)
        # The newest light frame for the network view (nnstudio.ml.view_frames), and whether it is newer
        # than the newest full publication.
        self._view: Any = None
        self._view_newer = False
        self.view_frames = 0  # view frames put, ever

    def put(self, telemetry: Any) -> bool:
        """Store a publication; True when the GUI should be nudged (nothing was waiting for it)."""
        rows = []
        for point in telemetry.points:  # the curves: one point per epoch, recorded on the device
            row = point.row()
            row["grad_norms"] = point.grad_norms
            rows.append(row)
        with self._lock:
            self._rows.extend(rows)
            self._latest = telemetry
            self._view_newer = False
            self.published += 1
            nudge = not self._posted
            self._posted = True
        return nudge

    def put_view(self, frame: Any) -> None:
        """Store the network view's newest light frame; the view takes it at its own pace (no nudge)."""
        with self._lock:
            self._view, self._view_newer = frame, True
            self.view_frames += 1

    @property
    def waiting(self) -> bool:
        """Publications are waiting to be taken."""
        return self._posted

    def peek(self) -> Any:
        """The newest picture not yet drawn by the controller: the newest full snapshot not yet taken, or a
        newer view frame (or None), left in place for `take` (the network view draws from it at its own pace)."""
        with self._lock:
            return self._view if self._view_newer else self._latest

    def take(self) -> tuple[list[dict[str, Any]], Any]:
        """Every history point since the last take, and the newest full snapshot (or None)."""
        with self._lock:
            rows, latest = self._rows, self._latest
            self._rows, self._latest, self._posted = [], None, False
        return rows, latest


def available_devices() -> list[tuple[str, str]]:
    """(value, title) of the devices this PyTorch can train on; imports torch."""
    import torch

    devices = [("auto", "Automatic"), ("cpu", "CPU")]
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            try:
                name = torch.cuda.get_device_name(index)
            except RuntimeError:  # a GPU that cannot be queried is still listed
                name = "CUDA GPU"
            devices.append((f"cuda:{index}", f"cuda:{index} — {name}"))
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append(("mps", "Apple GPU (MPS)"))
    return devices


def leave_core_for_gui() -> None:
    """Give PyTorch's intra-op pool one core fewer than the machine has, unless the user chose a number.

    The window's thread needs a core to draw on: with every core in PyTorch's pool, its idle-spinning
    helper threads and the GUI thread fight over the CPU, and on a 2-core machine a Playground-sized run
    trained at a tenth of its speed (measured here; see bench/gui_responsiveness.py).
    """
    import torch

    if any(os.environ.get(name) for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")):
        return
    cores = os.cpu_count() or 1
    wanted = max(1, cores - 1)
    if torch.get_num_threads() > wanted:
        torch.set_num_threads(wanted)


def _kind(error: BaseException) -> str:
    if isinstance(error, DataError):
        return "data"
    if isinstance(error, DesignError):
        return "design"
    if isinstance(error, TrainingError):
        cause = error.__cause__
        if isinstance(cause, DataError):
            return "data"
        if isinstance(cause, DesignError):
            return "design"
        return "training"
    return "unexpected" if not isinstance(error, NNStudioError) else "training"


class TrainingWorker(QObject):
    """Runs one job: `run` is the function a `BackgroundWorker` calls on its thread."""

    news = Signal()  # the mailbox has publications the GUI has not taken
    run_started = Signal(object)  # RunInfo
    state_changed = Signal(str)  # "running", "paused", "stopped" (from the control)
    snapshot_ready = Signal(object)  # TrainedState, when training pauses

    def __init__(self, job: TrainingJob, control: Any, mailbox: TelemetryMailbox) -> None:
        super().__init__()
        self.job = job
        self.control = control
        self.mailbox = mailbox
        self.trainer: Any = None

    def run(self) -> RunOutcome:
        outcome = RunOutcome(status="failed", kind="unexpected", message="training did not start")
        listener = self.state_changed.emit
        self.control.add_listener(listener)
        started = time.perf_counter()
        try:
            outcome = self._train()
        except BaseException as exc:  # noqa: BLE001 - every failure becomes a message in the window
            kind = _kind(exc)
            if kind == "unexpected":
                traceback.print_exc()
                first = str(exc).splitlines()[0] if str(exc) else ""
                message = f"training failed unexpectedly: {type(exc).__name__}: {first}"
            else:
                message = str(exc)
            outcome = RunOutcome(status="failed", kind=kind, message=message, state=self._safe_snapshot())
            if self.trainer is not None:
                outcome.epochs_completed, outcome.steps = self.trainer.epoch, self.trainer.step
        finally:
            self.control.remove_listener(listener)
            outcome.elapsed = time.perf_counter() - started
            self.trainer = None
        return outcome

    def _train(self) -> RunOutcome:
        from nnstudio.ml.trainer import Trainer  # imports torch: only ever in the training thread

        leave_core_for_gui()
        job = self.job
        initial = to_checkpoint(job.initial, job.design) if job.initial is not None else None
        trainer = Trainer(job.design, base_dir=job.base_dir, callbacks=[_make_bridge(self), *job.callbacks],
                          control=self.control, initial_state=initial, publish_hz=job.publish_hz)
        self.trainer = trainer
        self.run_started.emit(self._run_info(trainer))
        result = trainer.fit(job.epochs)
        return RunOutcome(status="stopped" if result.stopped else "completed", state=snapshot_trainer(trainer),
                          epochs_completed=result.epochs_completed, steps=result.steps)

    def _safe_snapshot(self) -> TrainedState | None:
        if self.trainer is None:
            return None
        try:
            return snapshot_trainer(self.trainer)
        except Exception:  # noqa: BLE001 - after an out-of-memory failure the weights may be gone
            return None

    def _run_info(self, trainer: Any) -> RunInfo:
        from nnstudio.ml.telemetry import parameter_layers

        ds = trainer.dataset
        collector = trainer.collector

        def targets(y: Any) -> np.ndarray | None:
            return None if y is None else np.asarray(y).reshape(len(y), -1)[:, 0].copy()

        return RunInfo(
            task=trainer.task, device=str(trainer.device), graph_mode=trainer.graph_mode,
            num_train=trainer.n_train, num_val=0 if trainer.x_val is None else len(trainer.x_val),
            batches_per_epoch=trainer.batches_per_epoch, start_step=trainer.step, start_epoch=trainer.epoch,
            class_names=tuple(getattr(ds, "class_names", ()) or ()),
            feature_names=tuple(getattr(ds, "feature_names", ()) or ()),
            points_train=getattr(ds, "points_train", None), targets_train=targets(getattr(ds, "y_train", None)),
            points_val=getattr(ds, "points_val", None), targets_val=targets(getattr(ds, "y_val", None)),
            parameter_layers=[layer.name for layer in parameter_layers(trainer.model)],
            histogram_layers=[layer.name for layer in collector.hist_layers],
            neuron_layers=list(collector.neuron_layers),
            devices=available_devices(),
        )

    # ---- called by the bridge callback in the training thread ------------------------------------

    def publish(self, telemetry: Any) -> None:
        if self.mailbox.put(telemetry):
            self.news.emit()
        if telemetry.reason == "paused" and self.trainer is not None:
            self.snapshot_ready.emit(snapshot_trainer(self.trainer))


def _make_bridge(worker: TrainingWorker) -> Any:
    """The callback that connects a trainer to the worker (built here so importing this module needs no ml)."""
    from nnstudio.ml.callbacks import Callback

    class WorkerBridge(Callback):
        def on_publish(self, telemetry: Any) -> None:
            worker.publish(telemetry)

        def on_view_frame(self, frame: Any) -> None:
            worker.mailbox.put_view(frame)

    return WorkerBridge()
