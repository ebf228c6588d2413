"""The training run's tap for the CNN and results views: validation samples once, weights at most `hz` a second.

`WeightsTap` is a trainer callback that runs in the training thread. At fit start it hands over the
validation part of the dataset (host numpy arrays the dataset already holds: no device copy); at a
publication, if 1/hz seconds have passed (and always at the end and on pause), it copies the model's
state to host numpy arrays and hands them over. Publications are already off the per-step path, and the
copy is one transfer of the weights, so the step loop never waits for these views. The `TapSink` QObject
carries both to the GUI thread as queued signals.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Signal

from nnstudio.ml.callbacks import Callback

TAP_HZ = 2.0
MAX_VALIDATION = 5000  # samples the results view evaluates (the report always uses all of them)


@dataclass(frozen=True)
class RunData:
    """What the views need about the run's data (numpy arrays, read-only by convention)."""

    design: Any  # a copy of the design being trained
    task: str
    x_val: Any
    y_val: Any
    class_names: tuple[str, ...]
    input_shape: tuple[int, ...]
    feature_mean: Any = None
    feature_std: Any = None
    points_val: Any = None
    total_val: int = 0  # validation samples in the dataset (x_val may hold fewer)


def run_data(design: Any, task: str, input_shape: tuple[int, ...], ds: Any) -> RunData:
    """The views' part of a loaded dataset: its validation samples (at most MAX_VALIDATION), no copies."""
    n = len(ds.x_val) if getattr(ds, "x_val", None) is not None else 0
    keep = min(n, MAX_VALIDATION)
    points = getattr(ds, "points_val", None)
    return RunData(
        design=design, task=task, x_val=ds.x_val[:keep] if n else None, y_val=ds.y_val[:keep] if n else None,
        class_names=tuple(getattr(ds, "class_names", ()) or ()), input_shape=tuple(input_shape),
        feature_mean=getattr(ds, "feature_mean", None), feature_std=getattr(ds, "feature_std", None),
        points_val=None if points is None else points[:keep], total_val=n)


def load_run_data(design: Any, base_dir: str | None) -> RunData:
    """What a run would hand over, for trained weights opened from a file: the design's dataset loaded the
    way the trainer loads it. Runs torch and the data loader: call it off the GUI thread."""
    from nnstudio.data import load_dataset
    from nnstudio.ml.builder import build_model

    model = build_model(design)
    return run_data(design, model.task, tuple(model.input_shape), load_dataset(design.dataset, base_dir=base_dir))


class TapSink(QObject):
    data_ready = Signal(object)  # RunData
    weights_ready = Signal(object, int, str)  # {name: ndarray}, step, publication reason


class WeightsTap(Callback):
    def __init__(self, sink: TapSink, hz: float = TAP_HZ) -> None:
        self.sink = sink
        self.interval = 1.0 / hz
        self.last = -1e9

    def on_fit_start(self) -> None:
        trainer = self.trainer
        self.sink.data_ready.emit(run_data(trainer.design.copy(), trainer.task, tuple(trainer.model.input_shape),
                                           trainer.dataset))

    def on_publish(self, telemetry: Any) -> None:
        now = time.perf_counter()
        if telemetry.reason not in ("end", "paused", "start") and now - self.last < self.interval:
            return
        self.last = now
        state = {k: v.detach().to("cpu", copy=True).numpy() for k, v in self.trainer.model.state_dict().items()}
        self.sink.weights_ready.emit(state, int(telemetry.step), telemetry.reason)
