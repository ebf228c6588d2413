"""The network view's light frames: made only while someone listens, at a higher rate than full publications,
and every value they carry equal to an independent numpy forward pass with the live weights."""

from __future__ import annotations

import numpy as np
import torch

from nnstudio.ml.callbacks import LambdaCallback
from nnstudio.ml.trainer import Trainer
from nnstudio.ml.view_frames import VIEW_STRIDE, ViewFrame

try:
    from training_helpers import one_cpu_thread, playground, vector_dataset, vector_design  # noqa: F401 - autouse
except ImportError:  # tests/ml became a package
    from .training_helpers import one_cpu_thread, playground, vector_dataset, vector_design  # noqa: F401


class FrameCheck:
    """On each view frame, compares it with the live model right then (the training thread)."""

    def __init__(self) -> None:
        self.frames: list[ViewFrame] = []
        self.live: list[dict[str, np.ndarray]] = []
        self.trainer: Trainer | None = None

    def on_view_frame(self, frame: ViewFrame) -> None:
        assert self.trainer is not None
        self.frames.append(frame)
        self.live.append({k: v.detach().numpy().copy() for k, v in self.trainer.model.named_parameters()})


def _numpy_forward(trainer: Trainer, parameters: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The design's dense tanh network on the grid features, in numpy from the frame's own weights."""
    grid = trainer.dataset.grid
    features = np.asarray(grid.features, dtype=np.float64)
    r = len(grid.xs)
    h = features
    maps = {}
    for step in trainer.model.steps:
        if f"{step.name}.weight" not in parameters:
            continue
        z = h @ parameters[f"{step.name}.weight"].T.astype(np.float64) + parameters[f"{step.name}.bias"]
        if step.type == "Output":
            h = (1 + np.tanh(z)) / 2 if trainer.config.playground else 1 / (1 + np.exp(-z))
        else:
            h = np.tanh(z)
            maps[step.name] = h.T.reshape(-1, r, r)
    return h.T.reshape(r, r), maps


def test_view_frames_carry_the_live_weights_and_maps_of_an_independent_forward() -> None:
    check = FrameCheck()
    listener = LambdaCallback(on_view_frame=check.on_view_frame)
    trainer = Trainer(playground(epochs=40), device="cpu", callbacks=[listener], publish_hz=30)
    check.trainer = trainer
    trainer.fit()
    assert check.frames, "a listener gets view frames"
    steps = [f.step for f in check.frames]
    assert steps == sorted(steps) and steps[-1] > steps[0]
    for frame, live in zip(check.frames[::max(1, len(check.frames) // 5)], check.live[::max(1, len(check.live) // 5)],
                           strict=False):
        assert set(frame.parameters) == set(live)
        for name, values in live.items():
            np.testing.assert_array_equal(frame.parameters[name], values)  # the weights right then, exactly
        boundary, maps = _numpy_forward(trainer, frame.parameters)
        half = slice(None, None, VIEW_STRIDE)
        np.testing.assert_allclose(frame.boundary, boundary[half, half], atol=2e-5)
        assert set(frame.neuron_outputs) == set(maps)
        for name, values in maps.items():
            np.testing.assert_allclose(frame.neuron_outputs[name], values[:, half, half], atol=2e-5)
        assert frame.boundary_extent == trainer.collector.grid_extent


def test_a_view_frame_matches_the_full_publication_of_the_same_weights() -> None:
    trainer = Trainer(playground(epochs=3, task="multiclass", recipe="pytorch"), device="cpu", publish_hz=0)
    trainer.fit()
    frame = trainer._view_maker.make(epoch=3, batch=0, batches_per_epoch=1, step=trainer.step)
    full = trainer.collector.build(trainer.collector.gather(), steps_in_window=0, samples_in_window=0, reason="end",
                                   epoch=3, epochs=3, batch=0, batches_per_epoch=1, step=trainer.step,
                                   samples_seen=0, elapsed=0.0, learning_rate=0.1, steps_per_second=0.0,
                                   progress=1.0, eta_seconds=None)
    half = slice(None, None, VIEW_STRIDE)
    assert frame.boundary.shape == full.boundary[:, half, half].shape
    np.testing.assert_allclose(frame.boundary, full.boundary[:, half, half], atol=1e-6)
    for name, maps in full.neuron_outputs.items():
        np.testing.assert_allclose(frame.neuron_outputs[name], maps[:, half, half], atol=1e-6)
    for name, values in full.parameters.items():
        np.testing.assert_array_equal(frame.parameters[name], values)


def test_no_listener_or_no_network_view_means_no_view_frames() -> None:
    seen: list[ViewFrame] = []
    # No listener: the trainer never makes one (the cost stays out of runs nobody watches).
    plain = Trainer(playground(epochs=5), device="cpu", publish_hz=1000, telemetry_budget=1.0)
    plain._view_maker.make = lambda **_: (_ for _ in ()).throw(AssertionError("made a view frame"))
    plain.fit()
    # Data without a 2-D plane has no network picture: a listener gets nothing.
    listener = LambdaCallback(on_view_frame=seen.append)
    Trainer(vector_design(epochs=3), dataset=vector_dataset(), device="cpu", callbacks=[listener]).fit()
    assert seen == []


def test_view_frames_come_more_often_than_full_publications() -> None:
    frames: list[ViewFrame] = []
    full: list = []
    listener = LambdaCallback(on_view_frame=frames.append, on_publish=full.append)
    trainer = Trainer(playground(epochs=150), device="cpu", callbacks=[listener])
    trainer.fit()
    assert len(frames) > len(full) > 0
    assert all(isinstance(f.boundary, np.ndarray) and not isinstance(f.boundary, torch.Tensor) for f in frames)
