"""Pre-activation histograms in the telemetry, and the activation curves the inspector draws."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nnstudio.core.catalogue import ACTIVATIONS
from nnstudio.ml.activation_curves import activation_curve, flat_share, max_slope
from nnstudio.ml.trainer import Trainer

try:
    from training_helpers import chain, one_cpu_thread, vector_dataset  # noqa: F401 - autouse
except ImportError:  # tests/ml became a package
    from .training_helpers import chain, one_cpu_thread, vector_dataset  # noqa: F401


def test_telemetry_histograms_each_activation_layers_z_on_the_probe() -> None:
    design = chain([("Input", {"features": 3}), ("Dense", {"units": 6, "activation": "relu"}),
                    ("Dense", {"units": 4, "activation": "identity"}), ("Activation", {"function": "tanh"}),
                    ("Output", {"task": "binary", "units": 1})])
    design.set_training(epochs=2, batch_size=16)
    trainer = Trainer(design, dataset=vector_dataset(n_train=64), device="cpu", publish_hz=0)
    trainer.fit()
    t = trainer.last_telemetry
    assert set(t.preactivation_histograms) == {"dense1", "dense2", "act1"}
    probe = trainer.x_train[:256].double()
    m = trainer.model.double().eval()
    z1 = probe @ m.dense1.weight.T + m.dense1.bias
    z2 = torch.relu(z1) @ m.dense2.weight.T + m.dense2.bias  # dense2 is linear: its z is also act1's input
    for name, z in (("dense1", z1), ("dense2", z2), ("act1", z2)):
        h = t.preactivation_histograms[name]
        values = z.detach().numpy().reshape(-1)
        assert h.counts.sum() == values.size
        assert h.high == pytest.approx(np.abs(values).max(), rel=1e-5)
        expected, _ = np.histogram(values, bins=len(h.counts), range=(h.low, h.high))
        assert np.abs(h.counts - expected).sum() <= 2  # a value on a bin edge may fall either way in float32
    h = t.preactivation_histograms["dense1"]
    share = flat_share("relu", h.counts, h.low, h.high)
    assert share == pytest.approx(float((z1 <= 0).double().mean()), abs=0.05)  # judged per bin centre


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_curve_and_derivative_are_the_models_function_and_its_slope(name: str) -> None:
    curve = activation_curve(name, -3.0, 3.0, 601)
    slope = np.gradient(curve.f, curve.z)
    smooth = np.abs(curve.z) > 0.02  # away from ReLU-family kinks
    np.testing.assert_allclose(curve.df[smooth][1:-1], slope[smooth][1:-1], atol=2e-3)
    assert max_slope(name) == pytest.approx({"sigmoid": 0.25, "gelu": 1.129}.get(name, 1.0), abs=2e-3)


def test_flat_share_of_saturated_tanh() -> None:
    counts = np.array([10, 0, 0, 0, 0, 0, 0, 0, 0, 10])  # every value far out on a tail
    assert flat_share("tanh", counts, -5.0, 5.0) == 1.0
    assert flat_share("tanh", np.array([0, 0, 5, 5, 0, 0]), -3.0, 3.0) == 0.0
