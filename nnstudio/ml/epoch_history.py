"""Training history kept on the device: one point per epoch (and per POINT_STEPS steps in long epochs).

Publications are throttled by wall-clock time, so a fast run (ten epochs in a second) would otherwise
leave its curves with a handful of corners. The trainer records a point at every epoch end, every
POINT_STEPS steps inside a long epoch, and when it pauses or ends; a point is a few device tensors (the
training loss and correct predictions since the previous point, the gradient norms of the last step and,
when the validation budget allows, the validation loss and accuracy). Nothing is read on the host when a
point is recorded: the points wait on the device and ride with the next publication's single transfer.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import torch

# Inside an epoch longer than this many steps, a point every this many steps.
POINT_STEPS = 100
# Validating at a point may take at most this share of the wall time (as publications: see trainer.py).
DEFAULT_VALIDATION_BUDGET = 0.02
# Points waiting for a publication; a fit that never publishes (publish_hz=0) keeps only the newest.
MAX_PENDING = 10_000

POINT_KEYS = ("epoch_position", "epoch", "step", "samples_seen", "elapsed", "learning_rate",
              "train_loss", "train_accuracy", "val_loss", "val_accuracy")


@dataclass(frozen=True)
class HistoryPoint:
    """One point of the curves: figures of the steps since the previous point (plain Python numbers)."""

    epoch_position: float  # 3.0 = the end of the third epoch; 2.5 = half-way through it
    epoch: int
    step: int
    samples_seen: int
    elapsed: float
    learning_rate: float
    train_loss: float | None
    train_accuracy: float | None
    val_loss: float | None  # None when the validation budget skipped this point
    val_accuracy: float | None
    grad_norms: dict[str, float] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in POINT_KEYS}


@dataclass(frozen=True)
class _Pending:
    meta: dict[str, Any]
    tensor: torch.Tensor  # [loss_sum, correct_sum, (val_loss, val_acc)?, grad norm per parameter...]
    steps: int
    samples: int
    validated: bool
    grads: tuple[bool, ...]  # which parameters had a gradient


class HistoryRecorder:
    """Device-side points of one collector; `take` hands them to its next gather."""

    def __init__(self, collector: Any, validation_budget: float = DEFAULT_VALIDATION_BUDGET) -> None:
        self.collector = collector
        self.validation_budget = max(1e-4, float(validation_budget))
        device = collector.device
        # Added to by the collector's fold/accumulate, like its window sums; zeroed in place (CUDA graphs).
        self.loss_sum = torch.zeros((), device=device)
        self.correct_sum = torch.zeros((), device=device)
        self._pending: list[_Pending] = []
        self._last_step = 0
        self._last_samples = 0
        self._next_validation = 0.0

    def begin(self, step: int, samples_seen: int) -> None:
        """A fit starts at this step: the points count from here."""
        self._pending = []
        self.loss_sum.zero_()
        self.correct_sum.zero_()
        self._last_step, self._last_samples = step, samples_seen
        self._next_validation = 0.0

    def due(self, step: int) -> bool:
        return step > self._last_step

    @torch.no_grad()
    def record(self, *, epoch_position: float, epoch: int, step: int, samples_seen: int, elapsed: float,
               learning_rate: float, validate: bool = False) -> None:
        """Remember a point of the steps since the previous one (device work only; no host sync).
        `validate` validates whatever the budget says (the last point of a fit, or a pause)."""
        steps, samples = step - self._last_step, samples_seen - self._last_samples
        if steps <= 0:
            return
        collector = self.collector
        collector.fold()
        parts = [torch.stack([self.loss_sum, self.correct_sum])]
        started = time.perf_counter()
        validated = validate or started >= self._next_validation
        if validated:
            was_training = collector.model.training
            collector.model.eval()
            try:
                val = collector._validation()
            finally:
                collector.model.train(was_training)
            validated = bool(val)
            if val:
                parts.append(torch.stack(val + [torch.zeros((), device=collector.device)] * (2 - len(val))))
        grads = [p.grad for p in collector.all_params]
        present = tuple(g is not None for g in grads)
        if any(present):
            parts.append(torch.stack(torch._foreach_norm([g for g in grads if g is not None])))
        tensor = torch.cat([p.reshape(-1).float() for p in parts])
        self.loss_sum.zero_()
        self.correct_sum.zero_()
        if validated:
            cost = time.perf_counter() - started
            self._next_validation = started + cost + cost / self.validation_budget
        meta = {"epoch_position": float(epoch_position), "epoch": int(epoch), "step": int(step),
                "samples_seen": int(samples_seen), "elapsed": float(elapsed), "learning_rate": float(learning_rate)}
        self._pending.append(_Pending(meta, tensor, steps, samples, validated, present))
        if len(self._pending) > MAX_PENDING:
            del self._pending[0]
        self._last_step, self._last_samples = step, samples_seen

    def take(self) -> list[_Pending]:
        pending, self._pending = self._pending, []
        return pending

    def decode(self, pending: list[_Pending], values: list[Any]) -> tuple[HistoryPoint, ...]:
        """Host values (one flat array per pending point, in order) → points."""
        collector = self.collector
        layers = collector.layers
        out = []
        for item, flat in zip(pending, values, strict=True):
            flat = [float(v) for v in flat]
            train_loss = flat[0] / item.steps
            train_acc = flat[1] / item.samples if collector.classification and item.samples else None
            at = 2
            val_loss = val_acc = None
            if item.validated:
                val_loss = flat[2]
                val_acc = flat[3] if collector.classification else None
                at = 4
            squares = [0.0] * len(layers)
            norms = iter(flat[at:])
            for layer_index, has in zip(collector.param_layer, item.grads, strict=True):
                if has:
                    norm = next(norms)
                    squares[layer_index] += norm * norm
            grad_norms = ({layer.name: s ** 0.5 for layer, s in zip(layers, squares, strict=True)}
                          if any(item.grads) else {})
            out.append(HistoryPoint(train_loss=train_loss, train_accuracy=train_acc, val_loss=val_loss,
                                    val_accuracy=val_acc, grad_norms=grad_norms, **item.meta))
        return tuple(out)
