"""The Output dock's validation sample in telemetry: bounded, shipped in the one transfer, and equal to an
independent forward pass of the trained model (images, regression, tabular classification, binary)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch

from nnstudio.ml.callbacks import LambdaCallback
from nnstudio.ml.output_samples import MAX_IMAGES, MAX_POINTS
from nnstudio.ml.telemetry import Telemetry
from nnstudio.ml.trainer import Trainer

try:
    from test_telemetry import HostReadSpy
    from training_helpers import (  # noqa: F401 - one_cpu_thread is autouse
        chain,
        image_dataset,
        one_cpu_thread,
        playground,
        vector_dataset,
        vector_design,
    )
except ImportError:  # tests/ml became a package
    from .test_telemetry import HostReadSpy
    from .training_helpers import chain, image_dataset, one_cpu_thread, playground, vector_dataset, vector_design  # noqa: F401


def fit(design, dataset) -> tuple[Trainer, list[Telemetry]]:
    frames: list[Telemetry] = []
    trainer = Trainer(design, dataset=dataset, device="cpu", publish_hz=0, publish_epoch_end=True,
                      callbacks=[LambdaCallback(on_publish=frames.append)])
    with HostReadSpy() as spy:
        trainer.fit()
    # Still one copy per publication: the sample rides in it.
    assert spy.reads == Counter({"cpu": len(frames), "numpy": len(frames)})
    return trainer, frames


def forward(trainer: Trainer, x: np.ndarray) -> torch.Tensor:
    trainer.model.eval()
    with torch.no_grad():
        return trainer.model(torch.as_tensor(x))


def small_cnn():
    design = chain([
        ("Input", {"mode": "image", "channels": 1, "height": 6, "width": 6}),
        ("Conv2d", {"filters": 4, "kernel": 3, "padding": 1, "activation": "relu"}),
        ("Flatten", {}),
        ("Output", {"task": "multiclass", "units": 3}),
    ], "cnn")
    design.set_training(batch_size=8, epochs=2, device="cpu")
    return design


def test_images_carry_predicted_and_true_classes_of_the_first_validation_samples() -> None:
    dataset = image_dataset(n_train=40, n_val=50)
    trainer, frames = fit(small_cnn(), dataset)
    samples = frames[-1].outputs
    assert samples is not None and samples.kind == "images" and samples.task == "multiclass"
    assert len(samples.targets) == MAX_IMAGES  # bounded: 32 of the 50
    np.testing.assert_array_equal(samples.inputs, dataset.x_val[:MAX_IMAGES])
    np.testing.assert_array_equal(samples.targets, dataset.y_val[:MAX_IMAGES])
    probs = torch.softmax(forward(trainer, dataset.x_val), dim=1).numpy()
    np.testing.assert_array_equal(samples.predicted, probs[:MAX_IMAGES].argmax(1))
    np.testing.assert_allclose(samples.confidence, probs[:MAX_IMAGES].max(1), rtol=1e-5)
    np.testing.assert_array_equal(samples.wrong, probs[:MAX_IMAGES].argmax(1) != dataset.y_val[:MAX_IMAGES])
    right = probs.argmax(1) == dataset.y_val
    for c in range(3):  # per class over all 50, not only the sample
        mine = dataset.y_val == c
        assert samples.class_counts[c] == mine.sum()
        assert samples.class_accuracy[c] == pytest.approx(right[mine].mean())
    assert frames[0].outputs is not None  # before the first step, with the initial weights


def test_regression_points_are_the_models_outputs() -> None:
    dataset = vector_dataset(n_train=64, n_val=600, task="regression", targets=2)
    trainer, frames = fit(vector_design(task="regression", targets=2), dataset)
    samples = frames[-1].outputs
    assert samples.kind == "regression" and samples.confidence is None and samples.class_accuracy is None
    assert samples.predicted.shape == (MAX_POINTS, 2)
    np.testing.assert_allclose(samples.targets, dataset.y_val[:MAX_POINTS])
    np.testing.assert_allclose(samples.predicted, forward(trainer, dataset.x_val[:MAX_POINTS]).numpy(),
                               rtol=1e-5, atol=1e-6)
    assert not samples.wrong.any()


@pytest.mark.parametrize("task", ["multiclass", "binary"])
def test_table_rows_have_prediction_and_confidence(task: str) -> None:
    classes = 4 if task == "multiclass" else 2
    dataset = vector_dataset(n_val=40, task=task, classes=classes)
    trainer, frames = fit(vector_design(task=task, classes=classes), dataset)
    samples = frames[-1].outputs
    assert samples.kind == "table" and len(samples.targets) == 40
    out = forward(trainer, dataset.x_val)
    if task == "binary":
        p = torch.sigmoid(out[:, 0]).numpy()
        predicted, confidence = (p > 0.5).astype(int), np.where(p > 0.5, p, 1 - p)
    else:
        probs = torch.softmax(out, dim=1).numpy()
        predicted, confidence = probs.argmax(1), probs.max(1)
    np.testing.assert_array_equal(samples.predicted, predicted)
    np.testing.assert_allclose(samples.confidence, confidence, rtol=1e-5)
    np.testing.assert_array_equal(samples.targets, dataset.y_val)
    for c in range(classes):
        mine = dataset.y_val == c
        expected = (predicted[mine] == c).mean() if mine.any() else np.nan
        np.testing.assert_allclose(samples.class_accuracy[c], expected)


def test_playground_planes_and_runs_without_validation_have_no_sample() -> None:
    trainer, frames = fit(playground(epochs=1), None)
    assert frames[-1].boundary is not None and frames[-1].outputs is None
    design = vector_design(task="multiclass", classes=3, epochs=1)
    dataset = vector_dataset(n_val=0, task="multiclass", classes=3)
    trainer, frames = fit(design, dataset)
    assert frames[-1].outputs is None
