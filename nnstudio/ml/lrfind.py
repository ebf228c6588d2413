"""The learning-rate finder: Smith's range test (Smith 2015; fastai's `lr_find`) run by the Trainer.

The learning rate grows exponentially, batch by batch, from `start_lr` to `end_lr` over `iterations`
optimizer steps, starting from the given weights with a fresh optimizer. While it runs, the loss of
every batch is smoothed with fastai's debiased exponential moving average (β = 0.98), and the run stops
once that exceeds 4× its minimum (the loss diverged) or stops being finite.

That running average lags about β/(1 − β) = 49 steps behind the rate, so the curve that is plotted and
read is smoothed both ways (the same average forwards, then backwards): it has no lag, and its features
sit at the rates that caused them. Three of fastai's suggestions are read off it: "minimum" — a tenth of
the rate at the curve's lowest point —, "steepest" — where it falls fastest against log(lr) —, and
"valley" — the middle of its longest descending stretch. The suggestion is the minimum rule: on small,
noisy sets (Playground's 250 points, batches of 10) the curve is flat noise until the network leaves its
starting plateau, and steepest and valley then land on noise, while the lowest point is a strong feature
(measured on the circle example, seeds 0-3: minimum/10 = 0.12-0.17, and 100 epochs at that rate reach
≥ 0.99 validation accuracy each time; valley gave 0.03-0.09 or 0.6-1.5 depending on the smoothing).

The test runs inside an ordinary `Trainer.fit` (its optimizer, data order, regularisation and device), with
one callback that sets the rate before each batch and reads that batch's loss after it; the trainer
is built on a copy of the weights, so the caller's weights are never touched — they are "restored" by
construction.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnstudio.core.document import Design
from nnstudio.core.errors import NNStudioError, TrainingError

from .callbacks import Callback, CancelTraining

START_LR, END_LR = 1e-6, 10.0
# fastai sweeps 100 batches, a sliver of an epoch of the large sets it was made for. A Playground set has
# 25 batches an epoch, and 100 steps do not move its network off the starting plateau at any rate, so the
# curve would be flat noise: the sweep takes about 40 epochs of a small set, 100 to 1,000 steps in all.
MIN_ITERATIONS, MAX_ITERATIONS, EPOCHS_OF_SMALL_SET = 100, 1000, 40
SMOOTHING = 0.98
DIVERGENCE = 4.0


@dataclass
class LRFinderResult:
    learning_rates: list[float]
    losses: list[float]  # raw batch losses
    smoothed: list[float]  # smoothed both ways (no lag)
    steepest: float | None
    valley: float | None
    minimum: float | None  # a tenth of the rate at the lowest smoothed loss (fastai's "minimum")
    diverged: bool  # stopped early because the loss blew up
    iterations: int
    stopped_at: float  # the last learning rate tried
    minimum_lr: float | None = None  # where the smoothed curve is lowest
    notes: list[str] = field(default_factory=list)

    @property
    def suggestion(self) -> float | None:
        """The rate to use: the minimum rule (see the module docstring), else valley, else steepest;
        never below the sweep's first rate."""
        value = next((v for v in (self.minimum, self.valley, self.steepest) if v is not None), None)
        return None if value is None else max(value, self.learning_rates[0] if self.learning_rates else value)

    @property
    def suggested_by(self) -> str:
        for name in ("minimum", "valley", "steepest"):
            if getattr(self, name) is not None:
                return {"minimum": "a tenth of the rate at the lowest loss", "valley": "fastai's valley",
                        "steepest": "the steepest descent"}[name]
        return "no suggestion"

    def to_json(self) -> dict[str, Any]:
        def num(v: float | None) -> float | None:
            return float(v) if v is not None and math.isfinite(v) else None

        return {"format": "nnstudio.lr_find", "version": 1,
                "learning_rate": [num(v) for v in self.learning_rates], "loss": [num(v) for v in self.losses],
                "smoothed_loss": [num(v) for v in self.smoothed],
                "suggestion": num(self.suggestion), "suggested_by": self.suggested_by,
                "minimum_over_10": num(self.minimum), "steepest": num(self.steepest), "valley": num(self.valley),
                "lowest_loss_at": num(self.minimum_lr), "diverged": self.diverged, "iterations": self.iterations,
                "stopped_at": num(self.stopped_at), "notes": list(self.notes)}


def default_iterations(batches_per_epoch: int) -> int:
    return max(MIN_ITERATIONS, min(MAX_ITERATIONS, EPOCHS_OF_SMALL_SET * int(batches_per_epoch)))


def rate_at(i: int, iterations: int, start: float = START_LR, end: float = END_LR) -> float:
    """The i-th rate (0-based) of an exponential sweep from start to end in `iterations` steps."""
    if iterations <= 1:
        return start
    return start * (end / start) ** (i / (iterations - 1))


def smooth(losses: list[float], beta: float = SMOOTHING) -> list[float]:
    avg, out = 0.0, []
    for i, loss in enumerate(losses):
        avg = beta * avg + (1 - beta) * loss
        out.append(avg / (1 - beta ** (i + 1)))
    return out


def smooth_both_ways(losses: list[float], beta: float = SMOOTHING) -> list[float]:
    """The debiased moving average run forwards and then backwards: smooth, and without lag."""
    return smooth(smooth(list(losses), beta)[::-1], beta)[::-1]


def steepest(lrs: np.ndarray, losses: np.ndarray) -> float | None:
    if len(lrs) < 3:
        return None
    slope = np.gradient(losses, np.log10(lrs))
    if not np.any(np.isfinite(slope)):
        return None
    return float(lrs[int(np.nanargmin(slope))])


def valley(lrs: np.ndarray, losses: np.ndarray) -> float | None:
    """fastai's valley: the longest decreasing subsequence of the curve; the rate 1/2 + 1/6 along it."""
    n = len(losses)
    if n < 3:
        return None
    lds = [1] * n
    max_start = max_end = 0
    for i in range(1, n):
        for j in range(i):
            if losses[i] < losses[j] and lds[i] < lds[j] + 1:
                lds[i] = lds[j] + 1
            if lds[max_end] < lds[i]:
                max_end = i
                max_start = max_end - lds[max_end]
    sections = (max_end - max_start) / 3
    idx = max_start + int(sections) + int(sections / 2)
    return float(lrs[min(idx, n - 1)])


def suggestions(lrs: list[float], smoothed: list[float], iterations: int) -> tuple[float | None, float | None]:
    """(steepest, valley) on the curve without its first tenth and last five points (as fastai trims it)."""
    lo, hi = iterations // 10, len(lrs) - 5
    if hi - lo < 3:
        lo, hi = 0, len(lrs)
    x = np.asarray(lrs[lo:hi], dtype=np.float64)
    y = np.asarray(smoothed[lo:hi], dtype=np.float64)
    keep = np.isfinite(y)
    x, y = x[keep], y[keep]
    if not len(y):
        return None, None
    # The steepest *descent* is on the way down: after the lowest point the curve only wiggles or climbs.
    lowest = int(np.argmin(y))
    return steepest(x[:lowest + 1], y[:lowest + 1]), valley(x, y)


class RangeTest(Callback):
    """Sets the rate before each batch and records each batch's loss (one host read per batch)."""

    def __init__(self, iterations: int, start: float, end: float,
                 progress: Callable[[int, int], None] | None = None,
                 cancelled: Callable[[], bool] | None = None) -> None:
        self.iterations, self.start, self.end = iterations, start, end
        self.progress, self.cancelled = progress, cancelled
        self.lrs: list[float] = []
        self.losses: list[float] = []
        self.smoothed: list[float] = []
        self.diverged = False
        self.was_cancelled = False
        self._avg = 0.0
        self._best = math.inf
        self._last: Any = None
        self._first_step = 0
        self._loss_fn: Any = None

    def on_fit_start(self) -> None:
        from .optim import set_learning_rate

        trainer = self.trainer
        self._first_step = trainer.step
        self._set = set_learning_rate
        self._loss_fn = trainer.loss_fn

        def recorded(out: Any, y: Any) -> Any:
            self._last = loss = self._loss_fn(out, y)
            return loss

        trainer.loss_fn = recorded

    def on_batch_start(self, step: int) -> None:
        i = step - 1 - self._first_step
        lr = rate_at(i, self.iterations, self.start, self.end)
        self._set(self.trainer.optimizer, lr)
        self.lrs.append(lr)

    def on_batch_end(self, step: int) -> None:
        loss = float(self._last.detach())
        self._last = None
        i = len(self.losses)
        self.losses.append(loss)
        self._avg = SMOOTHING * self._avg + (1 - SMOOTHING) * loss
        value = self._avg / (1 - SMOOTHING ** (i + 1))
        self.smoothed.append(value)
        if self.progress is not None:
            self.progress(i + 1, self.iterations)
        if not math.isfinite(value) or (i > 0 and value > DIVERGENCE * self._best):
            self.diverged = True
            raise CancelTraining("the loss diverged")
        self._best = min(self._best, value)
        if i + 1 >= self.iterations:
            raise CancelTraining("range test complete")
        if self.cancelled is not None and self.cancelled():
            self.was_cancelled = True
            raise CancelTraining("cancelled")

    def on_fit_end(self) -> None:
        if self._loss_fn is not None:
            self.trainer.loss_fn = self._loss_fn


def find_learning_rate(
    design: Design,
    *,
    weights: dict[str, Any] | None = None,
    dataset: Any = None,
    base_dir: Any = None,
    device: Any = "cpu",
    iterations: int | None = None,
    start_lr: float = START_LR,
    end_lr: float = END_LR,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> LRFinderResult:
    """Run the range test on `design` from `weights` (a state dict; default: the design's own initial
    weights for its seed) and return the curve and the suggestions. `iterations`: optimizer steps of the
    sweep (default: `default_iterations` of the data's batches per epoch)."""
    from .trainer import Trainer

    if not (0 < start_lr < end_lr) or not math.isfinite(end_lr):
        raise NNStudioError(f"the learning-rate range must grow: {start_lr:g} to {end_lr:g}")
    if iterations is not None and iterations < 5:
        raise NNStudioError(f"the range test needs at least 5 iterations, not {iterations}")
    initial = None
    if weights is not None:
        import torch

        initial = {k: torch.as_tensor(np.array(v, copy=True)) for k, v in weights.items()}
    trainer = Trainer(design, dataset=dataset, base_dir=base_dir, device=device,
                      initial_state=initial, publish_hz=0, cuda_graphs="off")
    if iterations is None:
        iterations = default_iterations(trainer.batches_per_epoch)
    test = RangeTest(iterations, start_lr, end_lr, progress, cancelled)
    trainer.callbacks.append(test)
    epochs = math.ceil(iterations / trainer.batches_per_epoch) + 1
    try:
        trainer.fit(epochs)
    except TrainingError:
        if not test.diverged or not test.losses:  # a NaN after divergence is the expected end
            raise
    notes = []
    if test.was_cancelled:
        notes.append("cancelled before the end of the range")
    del test.lrs[len(test.losses):]  # a batch that started but never ended
    finite = [v if math.isfinite(v) else math.nan for v in test.losses]
    last = max((i for i, v in enumerate(finite) if not math.isnan(v)), default=-1)
    curve = smooth_both_ways(finite[:last + 1]) + [math.nan] * (len(finite) - last - 1)
    steep, val = suggestions(test.lrs, curve, iterations)
    values = np.asarray(curve, dtype=np.float64)
    lowest_at = minimum = None
    if np.any(np.isfinite(values)):
        index = int(np.nanargmin(values))
        lowest_at = float(test.lrs[index])
        # Lowest within the first tenth (the part fastai trims): the loss never really fell, and a tenth
        # of that rate would be no learning at all.
        if index >= iterations // 10:
            minimum = lowest_at / 10
        else:
            notes.append("the loss never fell below its start: try from other weights or a smaller batch")
    return LRFinderResult(learning_rates=test.lrs, losses=test.losses, smoothed=curve, steepest=steep,
                          valley=val, minimum=minimum, diverged=test.diverged, iterations=len(test.losses),
                          stopped_at=test.lrs[-1] if test.lrs else start_lr, minimum_lr=lowest_at, notes=notes)
