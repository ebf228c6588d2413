"""Telemetry: the promised fields with the right shapes, plain host values only, one transfer per publication,
no host sync per step, and publications bounded by the wall-clock throttle."""

from __future__ import annotations

import dataclasses
import math
import time
from collections import Counter

import numpy as np
import pytest
import torch
from torch.overrides import TorchFunctionMode

from nnstudio.ml.callbacks import LambdaCallback
from nnstudio.ml.telemetry import HISTOGRAM_BINS, Histogram, Telemetry, TelemetryCollector
from nnstudio.ml.trainer import Trainer

try:
    from training_helpers import one_cpu_thread, playground, vector_dataset, vector_design  # noqa: F401 - autouse
except ImportError:  # tests/ml became a package
    from .training_helpers import one_cpu_thread, playground, vector_dataset, vector_design  # noqa: F401

# Tensor methods that copy device data to the host (and so wait for the device).
HOST_READS = {"item", "tolist", "numpy", "cpu", "__float__", "__int__", "__bool__", "__index__", "__array__"}


class HostReadSpy(TorchFunctionMode):
    """Counts tensor methods that read device values on the host, in the thread that enters it."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: Counter[str] = Counter()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        if name in HOST_READS:
            self.reads[name] += 1
        return func(*args, **(kwargs or {}))


def assert_plain(value, where: str = "telemetry") -> None:
    """Every value is a Python scalar / str / None, a numpy array, or a container / dataclass of those."""
    assert not isinstance(value, torch.Tensor), f"{where} is a torch tensor"
    if dataclasses.is_dataclass(value):
        for f in dataclasses.fields(value):
            assert_plain(getattr(value, f.name), f"{where}.{f.name}")
    elif isinstance(value, dict):
        for k, v in value.items():
            assert isinstance(k, str)
            assert_plain(v, f"{where}[{k!r}]")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            assert_plain(v, f"{where}[{i}]")
    elif isinstance(value, np.ndarray):
        assert value.dtype.kind in "fiu", where
    else:
        assert value is None or isinstance(value, (bool, int, float, str)), f"{where} is {type(value)}"


@pytest.fixture(scope="module")
def relu_playground_run():
    design = playground(hidden=(4, 2), activation="relu", epochs=3, seed=1)
    frames: list[Telemetry] = []
    trainer = Trainer(design, device="cpu", publish_epoch_end=True,
                      callbacks=[LambdaCallback(on_publish=frames.append)])
    trainer.fit()
    return trainer, frames


def test_playground_telemetry_has_every_field(relu_playground_run) -> None:
    trainer, frames = relu_playground_run
    assert [f.reason for f in frames][0] == "start" and frames[-1].reason == "end"
    assert "epoch_end" in [f.reason for f in frames]
    for frame in frames:
        assert_plain(frame)
    t = frames[-1]
    assert t.epoch == 3 and t.epochs == 3 and t.step == trainer.step == 75 and t.samples_seen == 750
    assert t.batches_per_epoch == 25 and t.progress == 1.0
    assert 0 <= t.train_loss and 0 <= t.train_accuracy <= 1 and 0 <= t.val_loss and 0 <= t.val_accuracy <= 1
    assert t.learning_rate == pytest.approx(0.03)
    layers = ["dense1", "dense2", "output1"]
    assert list(t.grad_norms) == layers
    assert list(t.weight_histograms) == layers and list(t.grad_histograms) == layers
    assert set(t.dead_fraction) == {"dense1", "dense2"}
    assert all(0.0 <= v <= 1.0 for v in t.dead_fraction.values())
    assert t.boundary.shape == (100, 100) and 0.0 <= t.boundary.min() and t.boundary.max() <= 1.0
    assert t.boundary_extent == (-6.0, 6.0, -6.0, 6.0)
    assert {k: v.shape for k, v in t.neuron_outputs.items()} == {"dense1": (4, 100, 100), "dense2": (2, 100, 100)}
    assert frames[0].train_loss is None and frames[0].grad_norms == {}  # nothing trained yet
    metrics = t.metrics()
    assert set(metrics) >= {"epoch", "step", "train_loss", "val_loss", "val_accuracy", "learning_rate"}


def test_telemetry_values_match_the_model(relu_playground_run) -> None:
    trainer, frames = relu_playground_run
    t = frames[-1]
    model = trainer.model
    for name in ("dense1", "dense2", "output1"):
        module = getattr(model, name)
        hist = t.weight_histograms[name]
        assert isinstance(hist, Histogram) and hist.counts.shape == (HISTOGRAM_BINS,)
        assert hist.counts.sum() == module.weight.numel()
        assert hist.high == pytest.approx(float(module.weight.detach().abs().max())) and hist.low == -hist.high
        assert len(hist.edges) == HISTOGRAM_BINS + 1
        expected = np.histogram(module.weight.detach().numpy().ravel(), bins=hist.edges)[0]
        assert np.abs(hist.counts - expected).sum() <= 2  # bin edges may differ by rounding
        grads = [p.grad for p in module.parameters()]
        norm = math.sqrt(sum(float(g.norm()) ** 2 for g in grads))
        assert t.grad_norms[name] == pytest.approx(norm, rel=1e-5)
        assert t.grad_histograms[name].counts.sum() == module.weight.numel()
    with torch.no_grad():
        grid = torch.as_tensor(trainer.dataset.grid.features)
        expected_boundary = torch.sigmoid(model(grid)).reshape(100, 100).numpy()
        _, acts = model.forward_with_activations(torch.as_tensor(trainer.dataset.x_train[:256]))
    np.testing.assert_allclose(t.boundary, expected_boundary, rtol=1e-5, atol=1e-6)
    for name in ("dense1", "dense2"):
        dead = float((acts[name].amax(dim=0) <= 0).float().mean())
        assert t.dead_fraction[name] == pytest.approx(dead)


def test_no_host_sync_per_step_and_one_transfer_per_publication() -> None:
    design = vector_design(epochs=4, optimizer="momentum", batch_size=8, grad_clip=5.0)
    frames: list[Telemetry] = []
    trainer = Trainer(design, dataset=vector_dataset(), device="cpu", publish_hz=0, publish_epoch_end=True,
                      callbacks=[LambdaCallback(on_publish=frames.append)])
    with HostReadSpy() as spy:
        trainer.fit()
    assert trainer.step == 48 and len(frames) == 5  # start, 3 epoch ends, end
    # Each publication brings its figures to the host with exactly one copy (a .cpu() of one flat
    # tensor, then .numpy() on the host copy); 48 steps added nothing.
    assert spy.reads == Counter({"cpu": 5, "numpy": 5})


def test_publications_are_bounded_by_the_throttle() -> None:
    hz = 20.0
    frames: list[Telemetry] = []
    trainer = Trainer(vector_design(epochs=100_000, batch_size=8), dataset=vector_dataset(), device="cpu",
                      publish_hz=hz, callbacks=[LambdaCallback(on_publish=frames.append)])
    stop_at = time.perf_counter() + 0.6

    def on_batch_end(step: int) -> None:
        if time.perf_counter() >= stop_at:
            from nnstudio.ml.callbacks import CancelTraining

            raise CancelTraining

    trainer.callbacks.append(LambdaCallback(on_batch_end=on_batch_end))
    started = time.perf_counter()
    trainer.fit()
    elapsed = time.perf_counter() - started
    throttled = [f for f in frames if f.reason == "batch"]
    assert len(throttled) <= elapsed * hz + 1
    assert frames[0].reason == "start" and frames[-1].reason == "end"
    assert trainer.step > 10 * len(frames)  # many steps per publication
    gaps = np.diff([f.elapsed for f in throttled])
    assert (gaps >= 1.0 / hz * 0.999).all()


def test_publish_hz_zero_publishes_only_at_the_end() -> None:
    frames: list[Telemetry] = []
    trainer = Trainer(vector_design(epochs=3), dataset=vector_dataset(), device="cpu", publish_hz=0,
                      callbacks=[LambdaCallback(on_publish=frames.append)])
    trainer.fit()
    assert [f.reason for f in frames] == ["end"]
    assert frames[0].train_loss is not None and frames[0].step == 18


def test_non_playground_data_has_no_boundary_and_big_layers_get_no_neuron_maps() -> None:
    design = vector_design(hidden=(16, 8), activation="relu", epochs=1)
    trainer = Trainer(design, dataset=vector_dataset(), device="cpu", publish_hz=0)
    t = trainer.fit().final
    assert t.boundary is None and t.boundary_extent is None and t.neuron_outputs == {}
    assert set(t.dead_fraction) == {"dense1", "dense2"}


def test_neuron_maps_are_limited_to_small_layers() -> None:
    design = playground(hidden=(8, 16, 8), epochs=1)
    t = Trainer(design, device="cpu", publish_hz=0).fit().final
    assert {k: v.shape[0] for k, v in t.neuron_outputs.items()} == {"dense1": 8, "dense3": 8}


def test_collector_window_means_and_accuracy() -> None:
    design = vector_design(task="multiclass", classes=3)
    trainer = Trainer(design, dataset=vector_dataset(task="multiclass", classes=3), device="cpu", publish_hz=0)
    collector: TelemetryCollector = trainer.collector
    collector.reset_window()
    outputs = torch.tensor([[2.0, 0.0, 0.0], [0.0, 3.0, 0.0], [0.0, 0.0, 1.0]])
    targets = torch.tensor([0, 1, 1])
    collector.defer(outputs, targets, torch.tensor(0.5))
    collector.accumulate(outputs[:2], targets[:2], torch.tensor(1.5))
    host = collector.gather()
    t = collector.build(host, steps_in_window=2, samples_in_window=5, reason="batch", epoch=1, epochs=1, batch=2,
                        batches_per_epoch=2, step=2, samples_seen=5, elapsed=1.0, learning_rate=0.1,
                        steps_per_second=2.0, progress=1.0, eta_seconds=None)
    assert t.train_loss == pytest.approx(1.0)  # mean of the two steps' losses
    assert t.train_accuracy == pytest.approx(4 / 5)
    again = collector.build(collector.gather(), steps_in_window=0, samples_in_window=0, previous=t, reason="paused",
                            epoch=1, epochs=1, batch=2, batches_per_epoch=2, step=2, samples_seen=5, elapsed=1.0,
                            learning_rate=0.1, steps_per_second=0.0, progress=1.0, eta_seconds=None)
    assert again.train_loss == t.train_loss  # an empty window repeats the last figures
