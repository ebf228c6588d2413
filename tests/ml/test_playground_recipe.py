"""The Playground recipe trains exactly as TensorFlow Playground: checked against a port of nn.ts in float64.

Same initial weights and the same data → the same weights after N epochs (within float32's rounding), for
classification and regression, with L1 (its clamp and dead links) and L2, with batch sizes that leave a
partial batch to carry over; and the losses NN Studio reports are Playground's `getLoss`.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from playground_port import LiteralNetwork, PortNetwork, epochs_to_threshold, playground_init
from training_helpers import one_cpu_thread, playground  # noqa: F401 - the fixture is autouse

from nnstudio.core.errors import TrainingError
from nnstudio.ml.callbacks import Callback
from nnstudio.ml.playground_recipe import batch_bounds
from nnstudio.ml.trainer import Trainer

LAYERS = ("dense1", "dense2", "output1")


def _design(dataset: str = "circle", samples: int = 250, **training):
    task = "regression" if dataset.startswith("reg-") else "binary"
    design = playground(dataset=dataset, task=task, recipe="playground", device="cpu", learning_rate=0.03,
                        **training)
    design.set_dataset(samples=samples, noise=0.1)
    return design


def _start(trainer: Trainer) -> tuple[list[np.ndarray], list[np.ndarray]]:
    state = {k: v.detach().double().numpy().copy() for k, v in trainer.model.state_dict().items()}
    return [state[f"{n}.weight"] for n in LAYERS], [state[f"{n}.bias"] for n in LAYERS]


def _targets(trainer: Trainer, part: str) -> tuple[np.ndarray, np.ndarray]:
    ds = trainer.dataset
    x = getattr(ds, f"x_{part}").astype(np.float64)
    y = np.asarray(getattr(ds, f"y_{part}"), dtype=np.float64).reshape(-1)
    return x, (2.0 * y - 1.0 if trainer.task == "binary" else y)


def test_the_matrix_port_is_the_literal_port_of_nn_ts():
    # The port used below and in the statistics is itself checked against nn.ts's per-point loop.
    rng = np.random.default_rng(3)
    x = rng.uniform(-5, 5, (47, 3))
    t = np.where(rng.random(47) < 0.5, 1.0, -1.0)
    for regularization, rate in (("l1", 0.05), ("l2", 0.03), (None, 0.0)):
        w, b = playground_init([3, 4, 2, 1], np.random.default_rng(5))
        literal = LiteralNetwork(w, b, "tanh", "tanh", regularization)
        port = PortNetwork(w, b, "tanh", "tanh", regularization)
        for _ in range(4):  # 47 points, batch 10: 7 carried into each next epoch
            literal.one_step(x, t, 10, 0.1, rate)
            port.one_step(x, t, 10, 0.1, rate)
        lw, lb = literal.parameters()
        for i in range(3):
            np.testing.assert_allclose(port.w[i], lw[i], rtol=0, atol=1e-12)
            np.testing.assert_allclose(port.b[i], lb[i], rtol=0, atol=1e-12)
    assert sum(int(d.sum()) for d in port.dead) == 0


@pytest.mark.parametrize("dataset, regularization, rate, batch", [
    ("circle", "l1", 0.01, 30),  # 250 points: 10 carried into every next epoch; L1 kills 2 links here
    ("circle", "l2", 0.01, 7),
    ("reg-plane", "l1", 0.03, 30),  # kills 5 links
    ("reg-gauss", "l2", 0.003, 10),
])
def test_nnstudio_trains_to_the_ports_weights(dataset, regularization, rate, batch):
    epochs = 20
    trainer = Trainer(_design(dataset, regularization=regularization, regularization_rate=rate,
                              batch_size=batch), publish_hz=0)
    w, b = _start(trainer)
    output = "tanh" if trainer.task == "binary" else "linear"
    port = PortNetwork(w, b, "tanh", output, regularization)
    x, t = _targets(trainer, "train")
    for _ in range(epochs):
        port.one_step(x, t, batch, 0.03, rate)
    trainer.fit(epochs)
    got_w, got_b = _start(trainer)
    for i, name in enumerate(LAYERS):
        # float32 against float64: measured differences stay below 1e-6 after 20 epochs.
        np.testing.assert_allclose(got_w[i], port.w[i], rtol=0, atol=2e-5, err_msg=f"{name}.weight")
        np.testing.assert_allclose(got_b[i], port.b[i], rtol=0, atol=2e-5, err_msg=f"{name}.bias")
    if regularization == "l1":
        dead = [np.asarray(d) for d in trainer._l1.dead]
        assert [d.tolist() for d in dead] == [d.tolist() for d in port.dead]
        for d, weight in zip(dead, got_w, strict=True):
            assert np.all(weight[d] == 0.0)
    if regularization == "l1":
        assert sum(int(d.sum()) for d in port.dead) >= 1, "this case should exercise the clamp"


class _Epochs(Callback):
    def __init__(self) -> None:
        self.seen: list = []

    def on_publish(self, telemetry) -> None:
        if telemetry.reason in ("epoch_end", "end"):
            self.seen.append(telemetry)


def test_reported_losses_are_playgrounds_get_loss_after_each_epoch():
    record = _Epochs()
    trainer = Trainer(_design(batch_size=10), callbacks=[record], publish_hz=0, publish_epoch_end=True)
    w, b = _start(trainer)
    port = PortNetwork(w, b)
    x, t = _targets(trainer, "train")
    xv, tv = _targets(trainer, "val")
    trainer.fit(6)
    expected = []
    for _ in range(6):
        port.one_step(x, t, 10, 0.03, 0.0)
        expected.append((port.loss(x, t), port.loss(xv, tv), port.accuracy(xv, tv)))
    assert [r.epoch for r in record.seen] == [1, 2, 3, 4, 5, 6]
    for telemetry, (train, test, accuracy) in zip(record.seen, expected, strict=True):
        assert telemetry.train_loss == pytest.approx(train, abs=1e-5)
        assert telemetry.val_loss == pytest.approx(test, abs=1e-5)
        assert telemetry.val_accuracy == pytest.approx(accuracy, abs=1e-6)


def test_the_boundary_is_playgrounds_output_mapped_to_0_1():
    record = _Epochs()
    trainer = Trainer(_design(), callbacks=[record], publish_hz=0, publish_epoch_end=True)
    trainer.fit(1)
    grid = torch.as_tensor(trainer.dataset.grid.features)
    with torch.no_grad():
        z = trainer.model(grid)[:, 0].numpy().astype(np.float64)
    expected = ((1.0 + np.tanh(z)) / 2.0).reshape(record.seen[-1].boundary.shape)
    np.testing.assert_allclose(record.seen[-1].boundary, expected, atol=1e-6)


def test_the_recipe_initialises_as_playground_whatever_the_init_setting():
    trainer = Trainer(_design(init="kaiming", seed=4), publish_hz=0)
    for name in LAYERS:
        layer = getattr(trainer.model, name)
        assert torch.all(layer.bias == 0.1)
        assert float(layer.weight.detach().abs().max()) <= 0.5
    assert len({float(v) for v in trainer.model.dense1.weight.detach().flatten()}) == 8


def test_the_recipe_walks_one_fixed_order_and_carries_the_remainder():
    order, bounds = batch_bounds(25, 10, 0)
    assert order.tolist() == list(range(25)) and bounds == [(0, 10), (10, 20)]
    order, bounds = batch_bounds(25, 10, 3)
    assert order.tolist() == [20, 21, 22, 23, 24] + list(range(20))
    assert bounds == [(0, 15), (15, 25)]
    assert batch_bounds(20, 10, 5)[1] == [(0, 10), (10, 20)]
    # the trainer: same order every epoch, so two epochs of batch = all points are the same batch twice
    trainer = Trainer(_design(samples=40, batch_size=20), publish_hz=0)
    assert trainer.batches_per_epoch == 1


def test_a_multiclass_output_is_refused_with_words():
    design = playground(task="multiclass", recipe="playground", device="cpu")
    with pytest.raises(TrainingError, match="multi-class Output needs the PyTorch recipe"):
        Trainer(design, publish_hz=0)


def test_threshold_helper_counts_from_one():
    assert epochs_to_threshold([0.3, 0.04], [0.5, 0.5]) == 2
    assert epochs_to_threshold([0.3, 0.3], [0.5, 0.98]) == 2
    assert math.isinf(epochs_to_threshold([0.3], [0.5]))


def test_the_cli_reports_playgrounds_losses(tmp_path, capsys):
    import argparse
    import json

    from nnstudio.io import save_design
    from nnstudio.ml.checkpoint import load_checkpoint
    from nnstudio.train_cli import add_arguments, main

    design = _design(batch_size=10)
    path, out, metrics = tmp_path / "pg.nnstudio", tmp_path / "pg.safetensors", tmp_path / "m.json"
    save_design(design, path)
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert main(parser.parse_args([str(path), "--epochs", "3", "--out", str(out), "--metrics-json",
                                   str(metrics)])) == 0
    data = json.loads(metrics.read_text())
    assert data["steps"] == 36  # 125 points, batch 10: 12 updates an epoch, 5 points carried
    # Independently: the saved weights' forward pass in numpy, Playground's getLoss over each set.
    weights = {k: v.double().numpy() for k, v in load_checkpoint(out).state_dict.items()}
    trainer = Trainer(design, publish_hz=0)
    for part, key in (("train", "train_loss"), ("val", "val_loss")):
        x, t = _targets(trainer, part)
        h = np.tanh(x @ weights["dense1.weight"].T + weights["dense1.bias"])
        h = np.tanh(h @ weights["dense2.weight"].T + weights["dense2.bias"])
        o = np.tanh(h @ weights["output1.weight"].T + weights["output1.bias"])[:, 0]
        assert data[key] == pytest.approx(float(np.mean(0.5 * (o - t) ** 2)), abs=1e-6), key
    assert f"{data['val_loss']:.4f}" in capsys.readouterr().out
