"""Each health finding comes from a design built to cause it, and the bundled examples cause none."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from training_helpers import chain, one_cpu_thread, playground  # noqa: F401

from nnstudio.core.errors import TrainingError
from nnstudio.io import load_design
from nnstudio.ml.health import HealthMonitor, HealthRecord, diagnose, gradient_flow
from nnstudio.ml.telemetry import SATURATION_LIMITS
from nnstudio.ml.trainer import Trainer

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


def run(design, prepare=None, **trainer_options) -> tuple[set[str], HealthMonitor, Trainer]:
    monitor = HealthMonitor()
    options = {"publish_hz": 0, "publish_epoch_end": True} | trainer_options
    trainer = Trainer(design, callbacks=[monitor], device="cpu", **options)
    if prepare is not None:
        prepare(trainer)
    try:
        trainer.fit()
    except TrainingError:
        pass
    return {f.code for f in monitor.findings()}, monitor, trainer


def test_relu_net_with_a_huge_negative_bias_has_dead_units() -> None:
    def negative_bias(trainer: Trainer) -> None:
        with torch.no_grad():
            trainer.model.dense1.bias.fill_(-10.0)

    codes, monitor, _ = run(playground(hidden=(8, 8), activation="relu", epochs=8), negative_bias)
    assert "dead_relu" in codes
    finding = next(f for f in monitor.findings() if f.code == "dead_relu")
    assert finding.layer == "dense1" and "leaky" in finding.fix
    assert monitor.records[-1].dead["dense1"] == 1.0
    assert "vanishing" not in codes  # the zero gradient is told once, as dead units


def test_twenty_layer_sigmoid_mlp_has_vanishing_gradients() -> None:
    codes, monitor, trainer = run(playground(hidden=(16,) * 20, activation="sigmoid", epochs=4))
    assert "vanishing" in codes
    finding = next(f for f in monitor.findings() if f.code == "vanishing")
    assert finding.layer == "dense1"
    # The ratio the rule read equals the one computed from the model's own gradients (last step).
    flow = gradient_flow(monitor.records[-1:])
    assert flow["dense1"] == pytest.approx(float(torch.linalg.vector_norm(torch.cat(
        [p.grad.reshape(-1) for p in trainer.model.dense1.parameters()]))), rel=1e-4)
    assert flow["dense1"] / flow["output1"] < 1e-3


def test_sgd_with_learning_rate_five_is_told_its_learning_rate_is_too_high() -> None:
    codes, _, _ = run(playground(epochs=20, learning_rate=5.0))
    assert "lr_too_high" in codes


def test_tiny_training_set_overfits() -> None:
    design = playground(hidden=(32, 32), activation="relu", epochs=120, optimizer="adam", learning_rate=0.01)
    design.set_dataset(samples=40, noise=0.5)
    codes, monitor, _ = run(design)
    assert "overfitting" in codes
    finding = next(f for f in monitor.findings() if f.code == "overfitting")
    assert "Dropout" in finding.fix


def test_tiny_learning_rate_stalls() -> None:
    codes, _, _ = run(playground(epochs=80, learning_rate=1e-6))  # 2 000 steps
    assert codes == {"stalled"}


def test_unstandardised_inputs_saturate_tanh() -> None:
    design = chain([("Input", {"features": 30}), ("Dense", {"units": 16, "activation": "tanh"}),
                    ("Output", {"task": "binary", "units": 1})])
    design.set_dataset(source="builtin", name="breast_cancer", standardize=False)
    design.set_training(epochs=3, batch_size=16)
    codes, monitor, trainer = run(design)
    assert "saturated" in codes
    # Cross-check the telemetry's share against the activations computed here, on the same probe batch.
    probe = trainer.x_train[:256]
    with torch.no_grad():
        _, acts = trainer.model.forward_with_activations(probe)
    low, high = SATURATION_LIMITS["tanh"]
    share = float(((acts["dense1"] <= low) | (acts["dense1"] >= high)).float().mean())
    assert monitor.records[-1].saturated["dense1"] == pytest.approx(share)


def test_deep_linear_net_with_large_weights_has_exploding_gradients() -> None:
    design = playground(dataset="reg-plane", task="regression", hidden=(64,) * 6, activation="identity",
                        epochs=1, init="playground", learning_rate=1e-6)
    codes, _, _ = run(design, publish_hz=10_000, telemetry_budget=1.0)
    assert "exploding" in codes


def test_nan_loss_is_a_diverging_finding() -> None:
    design = playground(dataset="reg-plane", task="regression", hidden=(64,) * 8, activation="identity",
                        epochs=1, init="playground", learning_rate=1e-6)
    codes, monitor, _ = run(design)
    assert monitor.failure is not None and "diverging" in codes


def test_rules_on_hand_made_records() -> None:
    def rec(step: int, train: float, val: float, acc: float | None = None) -> HealthRecord:
        return HealthRecord(step=step, epoch=step, train_loss=train, val_loss=val, val_accuracy=acc)

    falling = [rec(i, 1.0 / i, 1.0 / i) for i in range(1, 10)]
    assert diagnose(falling) == []
    overconfident = [rec(i, 1.0 / i, min(1.0 / i, 0.3) + 0.1 * max(0, i - 4), 0.9) for i in range(1, 12)]
    assert diagnose(overconfident) == []  # the loss rises at steady accuracy: no overfitting finding
    rising = [rec(i, 1.0 + 0.3 * i, 1.0) for i in range(1, 10)]
    assert [f.code for f in diagnose(rising)] == ["diverging"]
    assert diagnose([]) == []


@pytest.mark.parametrize("name", ["playground-circle", "digits-cnn", "residual-mlp", "wide-and-deep", "spiral"])
def test_bundled_examples_are_healthy(name: str) -> None:
    design = load_design(EXAMPLES / f"{name}.nnstudio")
    if name == "spiral":
        design.set_training(epochs=150)  # (the whole run is checked by bench/health_examples.py)
    codes, monitor, _ = run(design, publish_hz=30)
    assert codes == set(), [f.line for f in monitor.findings()]
    assert np.isfinite([r.train_loss for r in monitor.records]).all()
