"""The shapes example's first-layer kernels become readable colour / edge detectors: measured, not pictured.

Trains the bundled `shapes-cnn` design as shipped except for a shorter budget (fewer images and epochs), and
compares its first convolution's kernels with their random start: their energy moves into the lowest
spatial frequencies (smooth colour blobs and light/dark ramps) and they move away from the start. The full
run's figures are printed by bench/shapes_example.py.
"""

from __future__ import annotations

import numpy as np
from training_helpers import one_cpu_thread  # noqa: F401

from nnstudio.io import load_design
from nnstudio.ml import cnn_views
from nnstudio.ml.trainer import Trainer
from nnstudio.resources import EXAMPLES


def test_trained_shapes_kernels_are_smooth_and_far_from_their_start(one_cpu_thread) -> None:  # noqa: F811
    design = load_design(EXAMPLES / "shapes-cnn.nnstudio")
    design.set_dataset(samples=SAMPLES)
    design.set_training(epochs=EPOCHS, device="cpu")
    start = cnn_views.initial_weights(design)["conv1.weight"].numpy()
    trainer = Trainer(design, publish_hz=0)
    trainer.fit()
    trained = trainer.model.conv1.weight.detach().numpy()
    before, after = cnn_views.low_frequency_share(start), cnn_views.low_frequency_share(trained)
    assert before < 0.3  # a random start spreads its energy over all frequencies
    assert after > before + 0.3, (before, after)
    correlation = np.mean([np.corrcoef(a.ravel(), b.ravel())[0, 1] for a, b in zip(trained, start, strict=True)])
    assert correlation < 0.85, correlation  # (0.76 here; about 0.4 after the full 20 epochs)


SAMPLES, EPOCHS = 4000, 8
