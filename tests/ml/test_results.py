"""Validation results cross-checked against scikit-learn's metrics and against the validation labels."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics
from training_helpers import one_cpu_thread, playground  # noqa: F401

from nnstudio.core.settings import DatasetSpec
from nnstudio.data import load_dataset
from nnstudio.ml.results import ClassificationResults, classification_results, evaluate, regression_results
from nnstudio.ml.trainer import Trainer


def test_matches_sklearn_on_random_probabilities() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 300)
    logits = rng.normal(size=(300, 4)) + 2.0 * np.eye(4)[y]
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    r = classification_results(p, y, ("a", "b", "c", "d"))
    pred = p.argmax(1)
    assert np.array_equal(r.confusion, metrics.confusion_matrix(y, pred, labels=range(4)))
    prec, rec, f1, support = metrics.precision_recall_fscore_support(y, pred, labels=range(4), zero_division=0)
    assert np.allclose(r.precision, prec) and np.allclose(r.recall, rec) and np.allclose(r.f1, f1)
    assert np.array_equal(r.support, support) and np.array_equal(r.support, np.bincount(y, minlength=4))
    assert r.accuracy == pytest.approx(metrics.accuracy_score(y, pred))
    assert np.allclose(r.normalised().sum(1), 1.0)
    wrong = np.flatnonzero(pred != y)
    assert len(r.mistakes) == min(16, len(wrong))
    confidences = [m.confidence for m in r.mistakes]
    assert confidences == sorted(confidences, reverse=True)
    assert confidences[0] == pytest.approx(p[wrong].max())
    assert all(m.true != m.predicted and y[m.index] == m.true for m in r.mistakes)


def test_binary_probability_column_and_never_predicted_class() -> None:
    r = classification_results(np.array([0.9, 0.8, 0.7, 0.6]), np.array([1, 1, 0, 0]), ("-1", "+1"))
    assert r.confusion.tolist() == [[0, 2], [0, 2]]
    assert np.isnan(r.precision[0]) and r.recall[0] == 0 and r.f1[0] == 0
    assert r.worst_confusion() == (0, 1, 2)
    assert r.mistakes[0].index == 2 and r.mistakes[0].confidence == pytest.approx(0.7)


def test_regression_residuals_and_scores_match_sklearn() -> None:
    rng = np.random.default_rng(1)
    true = rng.normal(size=(50, 1))
    pred = true + rng.normal(scale=0.3, size=(50, 1))
    r = regression_results(pred, true)
    assert np.allclose(r.residuals, true - pred)
    assert r.mae == pytest.approx(metrics.mean_absolute_error(true, pred))
    assert r.rmse == pytest.approx(np.sqrt(metrics.mean_squared_error(true, pred)))
    assert r.r2 == pytest.approx(metrics.r2_score(true, pred))


def test_trained_model_rows_sum_to_validation_class_counts() -> None:
    design = playground(epochs=5, learning_rate=0.1, device="cpu")
    data = load_dataset(design.dataset)
    trainer = Trainer(design, dataset=data, publish_hz=0)
    trainer.fit()
    r = evaluate(trainer.model, data)
    assert isinstance(r, ClassificationResults)
    assert np.array_equal(r.support, np.bincount(data.y_val, minlength=2))
    # The accuracy the trainer's own telemetry measured on the same weights.
    assert r.accuracy == pytest.approx(trainer.last_telemetry.val_accuracy, abs=1e-6)


def test_regression_dataset_gives_predicted_vs_true() -> None:
    design = playground(dataset="reg-plane", task="regression", epochs=2, device="cpu")
    data = load_dataset(DatasetSpec(name="reg-plane"))
    trainer = Trainer(design, dataset=data, publish_hz=0)
    trainer.fit()
    r = evaluate(trainer.model, data)
    assert r.predicted.shape == r.true.shape == (data.num_val, 1)
    assert r.rmse ** 2 == pytest.approx(trainer.last_telemetry.val_loss, rel=1e-4)
