"""How a trained model does on its validation data: confusion matrix, per-class P/R/F1, worst mistakes, residuals.

`evaluate` runs the model once over the validation set (no gradients, evaluation mode, batched) and hands
the predictions to the numpy-only `classification_results` / `regression_results`, which the tests check
against independent computations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .builder import DesignModule
from .telemetry import eval_batch_size

GALLERY_SIZE = 16


@dataclass(frozen=True)
class Mistake:
    """A validation sample the model got wrong, and how sure it was."""

    index: int  # into the validation set
    true: int
    predicted: int
    confidence: float  # the probability the model gave its (wrong) answer


@dataclass(frozen=True)
class ClassificationResults:
    class_names: tuple[str, ...]
    confusion: np.ndarray  # (k, k) int64; row = true class, column = predicted class
    precision: np.ndarray  # (k,) float; NaN where a class was never predicted
    recall: np.ndarray  # (k,) float; NaN where a class has no validation samples
    f1: np.ndarray  # (k,) float
    mistakes: tuple[Mistake, ...]  # most confident first
    predicted: np.ndarray  # (n,) predicted class per validation sample
    confidence: np.ndarray  # (n,) probability of the predicted class

    @property
    def support(self) -> np.ndarray:
        """Validation samples of each true class (the confusion matrix's row sums)."""
        return self.confusion.sum(axis=1)

    @property
    def accuracy(self) -> float:
        total = int(self.confusion.sum())
        return float(np.trace(self.confusion)) / total if total else math.nan

    def normalised(self) -> np.ndarray:
        """Each row divided by its sum: the share of a true class predicted as each class (0 for empty rows)."""
        sums = self.support[:, None].astype(np.float64)
        return np.divide(self.confusion, sums, out=np.zeros(self.confusion.shape), where=sums > 0)

    def worst_confusion(self) -> tuple[int, int, int] | None:
        """(true, predicted, count) of the most frequent mistake, or None when there is none."""
        off = self.confusion.copy()
        np.fill_diagonal(off, 0)
        if off.max() == 0:
            return None
        t, p = np.unravel_index(int(off.argmax()), off.shape)
        return int(t), int(p), int(off[t, p])


@dataclass(frozen=True)
class RegressionResults:
    predicted: np.ndarray  # (n, k)
    true: np.ndarray  # (n, k)

    @property
    def residuals(self) -> np.ndarray:
        return self.true - self.predicted

    @property
    def mae(self) -> float:
        return float(np.abs(self.residuals).mean())

    @property
    def rmse(self) -> float:
        return float(np.sqrt((self.residuals ** 2).mean()))

    @property
    def r2(self) -> float:
        """Coefficient of determination over all target columns (NaN for constant targets)."""
        total = ((self.true - self.true.mean(axis=0)) ** 2).sum()
        return float(1.0 - (self.residuals ** 2).sum() / total) if total > 0 else math.nan


def classification_results(probabilities: np.ndarray, y_true: np.ndarray, class_names: tuple[str, ...],
                           gallery: int = GALLERY_SIZE) -> ClassificationResults:
    """Results from class probabilities `(n, k)` (or `(n,)` / `(n, 1)` for binary: P(class 1)) and true labels."""
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim == 1 or p.shape[1] == 1:
        p1 = p.reshape(-1)
        p = np.column_stack([1.0 - p1, p1])
    y = np.asarray(y_true).reshape(-1).astype(np.int64)
    k = max(len(class_names), p.shape[1])
    predicted = p.argmax(axis=1)
    confidence = p[np.arange(len(p)), predicted]
    confusion = np.zeros((k, k), dtype=np.int64)
    np.add.at(confusion, (y, predicted), 1)
    hits = np.diag(confusion).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = hits / confusion.sum(axis=0)
        recall = hits / confusion.sum(axis=1)
        f1 = np.where(hits > 0, 2 * precision * recall / (precision + recall), 0.0)
    f1 = np.where(np.isnan(precision) & np.isnan(recall), np.nan, f1)
    wrong = np.flatnonzero(predicted != y)
    order = wrong[np.argsort(-confidence[wrong], kind="stable")][:gallery]
    mistakes = tuple(Mistake(int(i), int(y[i]), int(predicted[i]), float(confidence[i])) for i in order)
    names = tuple(class_names) if len(class_names) == k else tuple(str(i) for i in range(k))
    return ClassificationResults(names, confusion, precision, recall, f1, mistakes, predicted, confidence)


def regression_results(predicted: np.ndarray, y_true: np.ndarray) -> RegressionResults:
    pred = np.asarray(predicted, dtype=np.float64)
    true = np.asarray(y_true, dtype=np.float64)
    return RegressionResults(pred.reshape(len(pred), -1), true.reshape(len(true), -1))


@torch.no_grad()
def predict_all(model: DesignModule, x: Any, device: torch.device | str = "cpu") -> np.ndarray:
    """The model's `predict` (probabilities, or values for regression) over `x`, batched, in eval mode."""
    was_training = model.training
    model.eval()
    try:
        batch = eval_batch_size(model)
        xs = torch.as_tensor(np.ascontiguousarray(x), dtype=torch.float32)
        outs = [model.predict(xs[i:i + batch].to(device)).float().cpu() for i in range(0, len(xs), batch)]
    finally:
        model.train(was_training)
    return torch.cat(outs).numpy() if outs else np.zeros((0, 1), dtype=np.float32)


def evaluate(model: DesignModule, dataset: Any, device: torch.device | str = "cpu",
             ) -> ClassificationResults | RegressionResults | None:
    """Results on the dataset's validation part (None when it has none)."""
    if getattr(dataset, "x_val", None) is None or len(dataset.x_val) == 0:
        return None
    predictions = predict_all(model, dataset.x_val, device)
    if model.task == "regression":
        return regression_results(predictions, dataset.y_val)
    return classification_results(predictions, dataset.y_val, tuple(dataset.class_names))
