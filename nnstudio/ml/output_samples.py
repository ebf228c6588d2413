"""The Output dock's sample of validation predictions, computed on the device during each publication.

For data that is not one of Playground's 2-D sets the Output dock shows what the model predicts for a
fixed, bounded sample of the validation set (its first samples, the same ones every publication, so a
learner sees them change): images with predicted and true classes, predicted-vs-true points for
regression, table rows with predicted class and confidence for other classification data, plus the
per-class accuracy over the whole validation set. The sampler rides on the collector's validation pass:
the outputs it needs are those of the validation forward already being computed, reduced on the device
to a few tensors that join the publication's one transfer. The sample's inputs and true targets never
change, so they are copied to the host once, when the sampler is made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

MAX_IMAGES = 32
MAX_POINTS = 500
MAX_ROWS = 200


@dataclass(frozen=True)
class OutputSamples:
    """One publication's predictions for the sample (plain numpy; safe to hand to another thread).

    `kind` is "images", "regression" or "table". Rows of `inputs`, `targets`, `predicted` and `confidence`
    are validation samples 0..n-1. For classification `targets` / `predicted` are class indices and
    `confidence` the predicted class's probability; for regression they are (n, outputs) values.
    `class_accuracy[c]` is the share of validation samples of class c predicted right (NaN: no such sample).
    """

    kind: str
    task: str
    inputs: np.ndarray
    targets: np.ndarray
    predicted: np.ndarray
    confidence: np.ndarray | None = None
    class_accuracy: np.ndarray | None = None
    class_counts: np.ndarray | None = None

    @property
    def wrong(self) -> np.ndarray:
        """Classification: which samples are predicted wrong (all False for regression)."""
        if self.task == "regression":
            return np.zeros(len(self.targets), dtype=bool)
        return self.predicted != self.targets


def sample_kind(task: str, x_val: torch.Tensor) -> str:
    if task == "regression":
        return "regression"
    return "images" if x_val.dim() == 4 else "table"


class OutputSampler:
    """Reduces the validation outputs of a publication to the sample's predictions, on the device."""

    def __init__(self, task: str, x_val: torch.Tensor, y_val: torch.Tensor, classes: int) -> None:
        self.task = task
        self.kind = sample_kind(task, x_val)
        limit = {"images": MAX_IMAGES, "regression": MAX_POINTS, "table": MAX_ROWS}[self.kind]
        self.count = min(limit, len(x_val))
        self.classes = classes if task != "regression" else 0
        # Set-up only: the fixed inputs and targets of the sample, and the class sizes, to the host once.
        self.inputs = x_val[:self.count].detach().cpu().numpy().copy()
        targets = y_val.detach().cpu()
        if task == "binary":
            self.targets_all = targets.reshape(-1).round().to(torch.int64).numpy()
        elif task == "multiclass":
            self.targets_all = targets.reshape(-1).numpy().copy()
        else:
            self.targets_all = targets.reshape(len(targets), -1).numpy().copy()
        self.targets = self.targets_all[:self.count].copy()
        self.class_counts = None
        if self.classes:
            self.class_counts = np.bincount(self.targets_all, minlength=self.classes)[:self.classes]
        self._outputs: list[torch.Tensor] = []
        self._seen = 0
        self._class_correct: list[torch.Tensor] = []

    @classmethod
    def create(cls, task: str, x_val: torch.Tensor | None, y_val: torch.Tensor | None,
               outputs: int) -> OutputSampler | None:
        if x_val is None or y_val is None or len(x_val) == 0:
            return None
        classes = 2 if task == "binary" else outputs
        return cls(task, x_val, y_val, classes)

    def begin(self) -> None:
        self._outputs, self._seen, self._class_correct = [], 0, []

    def observe(self, output: torch.Tensor, target: torch.Tensor) -> None:
        """One validation batch (in order): keep the sample's outputs, count right predictions per class."""
        if self._seen < self.count:
            self._outputs.append(output[:self.count - self._seen].detach())
        self._seen += len(output)
        if self.classes:
            predicted, labels = self._predicted(output), self._labels(target)
            right = (predicted == labels).float()
            self._class_correct.append(torch.bincount(labels, weights=right, minlength=self.classes))

    def _labels(self, target: torch.Tensor) -> torch.Tensor:
        if self.task == "binary":
            return target.reshape(-1).round().to(torch.int64)
        return target.reshape(-1)

    def _predicted(self, output: torch.Tensor) -> torch.Tensor:
        if self.task == "binary":
            return (output[:, 0] > 0).to(torch.int64)
        return output.argmax(1)

    def finish(self) -> list[tuple[str, torch.Tensor, tuple[int, ...]]]:
        """The device tensors to ship (name, tensor, shape), after a validation pass observed every batch."""
        if not self._outputs:
            return []
        out = self._outputs[0] if len(self._outputs) == 1 else torch.cat(self._outputs)
        n = len(out)
        parts: list[tuple[str, torch.Tensor, tuple[int, ...]]] = []
        if self.task == "regression":
            parts.append(("samples:predicted", out, tuple(out.shape)))
        else:
            if self.task == "binary":
                p = torch.sigmoid(out[:, 0])
                confidence = torch.where(p > 0.5, p, 1 - p)
            else:
                confidence = torch.softmax(out, dim=1).amax(1)
            parts.append(("samples:predicted", self._predicted(out), (n,)))
            parts.append(("samples:confidence", confidence, (n,)))
            correct = torch.stack(self._class_correct).sum(0)[:self.classes]
            parts.append(("samples:class_correct", correct, (self.classes,)))
        self.begin()
        return parts

    def decode(self, host: dict[str, Any]) -> OutputSamples | None:
        if "samples:predicted" not in host:
            return None
        predicted = host["samples:predicted"]
        n = len(predicted)
        if self.task == "regression":
            return OutputSamples(self.kind, self.task, self.inputs[:n], self.targets[:n], predicted.copy())
        counts = self.class_counts
        correct = host["samples:class_correct"]
        with np.errstate(invalid="ignore", divide="ignore"):
            accuracy = np.where(counts > 0, correct / np.maximum(counts, 1), np.nan)
        return OutputSamples(self.kind, self.task, self.inputs[:n], self.targets[:n],
                             predicted.round().astype(np.int64), host["samples:confidence"].copy(),
                             accuracy, counts)
