"""Training health: rules that read the trainer's telemetry and say what is wrong, where, and how to fix it.

Nothing here touches the device. `HealthMonitor` is a trainer callback that keeps a small record of each
publication (values the telemetry already brought to the host in its one transfer: losses, per-layer
gradient norms, dead-unit and saturation shares), and `diagnose` turns such records into `Finding`s:

- dead ReLU units: a ReLU-family layer where at least half of the units output 0 for every probe sample;
- saturated tanh / sigmoid units: most of a layer's values in the flat part of the curve;
- vanishing / exploding gradients: the first parameter layer's gradient norm over the last one's
  (median over recent publications) below 1/1000 or above 1000, or a gradient norm above 1000 in
  several publications;
- a stalled loss (no real progress after 2 000 steps), a diverging loss (NaN / inf, or ending far above
  where it started);
- a learning rate that is too high: the training loss jumps up between publications again and again;
- overfitting: the validation loss has risen well above its best while the training loss kept falling.

Each rule is small and its threshold is named below, so a test can build a design that trips exactly it.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any

from .callbacks import Callback

# Thresholds were set so that the bundled examples (healthy runs, bench/health_examples.py) trip none
# of them: a trained Dense ReLU layer commonly has 40-55 % dead units, a well-trained tanh net on the
# spiral ~60 % saturated values.
DEAD_SHARE = 0.7
SATURATED_SHARE = 0.8
VANISHING_RATIO = 1e-3
EXPLODING_RATIO = 1e3
EXPLODING_NORM = 1e3
EXPLODING_PUBLICATIONS = 3  # ... in at least this many publications
GRADIENT_WINDOW = 5  # publications the gradient rules take the median over
STALL_MIN_EPOCHS = 3
# Playground's circle sits on a loss plateau for its first ~1 000 steps before it learns: a stall is only
# called after this many steps.
STALL_MIN_STEPS = 2000
STALL_IMPROVEMENT = 0.03  # the loss must fall by at least 3 % of its first value
DIVERGE_FACTOR = 1.5
JUMP_RISE = 0.05  # a "jump": a publication's training loss is 5 % above the previous one's ...
JUMP_SHARE = 0.3  # ... in 30 % of the intervals, while the loss stays well above its best:
JUMP_ABOVE_BEST = 0.1  # the last loss exceeds the lowest by 10 % of the first loss
JUMP_MIN_INTERVALS = 6
OVERFIT_RISE = 0.15  # validation loss 15 % above its best ...
OVERFIT_RISE_OF_FIRST = 0.1  # ... and by at least 10 % of the first validation loss ...
OVERFIT_ACCURACY_DROP = 0.03  # ... and, for classifiers, validation accuracy 3 points below its best
OVERFIT_MIN_EPOCHS = 5


@dataclass(frozen=True)
class Finding:
    """One problem: what (a short code), where (a layer name or None for the whole run), why and the fix."""

    code: str
    title: str
    layer: str | None
    explanation: str
    fix: str
    severity: str = "warning"  # "warning" or "error"

    @property
    def line(self) -> str:
        where = f"{self.layer}: " if self.layer else ""
        return f"{where}{self.title} — {self.explanation} Fix: {self.fix}"


@dataclass(frozen=True)
class HealthRecord:
    """What one publication said about the run's health (host values only)."""

    step: int
    epoch: int
    train_loss: float | None
    val_loss: float | None
    val_accuracy: float | None = None
    grad_norms: dict[str, float] = field(default_factory=dict)  # parameter layers in execution order
    dead: dict[str, float] = field(default_factory=dict)
    saturated: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_telemetry(cls, t: Any) -> HealthRecord:
        return cls(step=t.step, epoch=t.epoch, train_loss=t.train_loss, val_loss=t.val_loss,
                   val_accuracy=t.val_accuracy, grad_norms=dict(t.grad_norms), dead=dict(t.dead_fraction),
                   saturated=dict(getattr(t, "saturated_fraction", {}) or {}))


class HealthMonitor(Callback):
    """Keeps a `HealthRecord` per publication (and the failure, if the fit failed); `findings()` diagnoses."""

    def __init__(self, limit: int = 20_000) -> None:
        self.records: list[HealthRecord] = []
        self.failure: str | None = None
        self.limit = limit

    def on_publish(self, telemetry: Any) -> None:
        if telemetry.step == 0 and telemetry.train_loss is None:
            return  # the "start" publication: no step yet, gradients absent
        self.records.append(HealthRecord.from_telemetry(telemetry))
        if len(self.records) > self.limit:  # keep the start and thin the middle, so memory stays bounded
            self.records = self.records[:1] + self.records[2::2]

    def on_error(self, error: BaseException) -> None:
        self.failure = str(error)

    def findings(self) -> list[Finding]:
        return diagnose(self.records, failure=self.failure)


def diagnose(records: list[HealthRecord], failure: str | None = None) -> list[Finding]:
    """Every rule over the records of one run, most serious first."""
    found: list[Finding] = []
    if failure and ("NaN" in failure or "infinite" in failure):
        found.append(Finding("diverging", "Loss diverged", None,
                             "the loss became NaN or infinite: the steps overshoot and the weights blow up.",
                             "lower the learning rate (try a tenth), or clip gradients", "error"))
    if not records:
        return found
    units = _unit_rules(records[-1])
    found += _loss_rules(records, diverged=bool(found))
    found += _gradient_rules(records, {f.layer for f in units if f.code == "dead_relu" and f.layer})
    found += units
    return found


def _finite(values: list[float | None]) -> list[float]:
    return [v for v in values if v is not None and math.isfinite(v)]


def _loss_rules(records: list[HealthRecord], diverged: bool) -> list[Finding]:
    out: list[Finding] = []
    losses = _finite([r.train_loss for r in records])
    epochs = records[-1].epoch
    if len(losses) >= 2 and not diverged:
        first, last = losses[0], losses[-1]
        if last > DIVERGE_FACTOR * first and last > DIVERGE_FACTOR * min(losses):
            out.append(Finding("diverging", "Loss diverging", None,
                               f"the training loss rose from {first:.3g} to {last:.3g}.",
                               "lower the learning rate", "error"))
        elif (epochs >= STALL_MIN_EPOCHS and records[-1].step >= STALL_MIN_STEPS
              and first - min(losses) < STALL_IMPROVEMENT * abs(first)):
            out.append(Finding("stalled", "Loss stalled", None,
                               f"after {records[-1].step:,} steps the training loss is still about {first:.3g}, "
                               "where it started: the network is not learning.",
                               "raise the learning rate, use Adam, or check that the inputs are standardised"))
    intervals = list(zip(losses, losses[1:], strict=False))
    if len(intervals) >= JUMP_MIN_INTERVALS and not diverged:
        jumps = sum(1 for a, b in intervals if b > a * (1 + JUMP_RISE))
        far_from_best = losses[-1] - min(losses) >= JUMP_ABOVE_BEST * abs(losses[0])
        if jumps >= JUMP_SHARE * len(intervals) and far_from_best and not any(f.code == "diverging" for f in out):
            out.append(Finding("lr_too_high", "Learning rate too high", None,
                               f"the training loss jumped up after {jumps} of {len(intervals)} intervals: "
                               "steps overshoot the minimum.",
                               "lower the learning rate (or use a schedule that decays it)"))
    out += _overfitting(records)
    return out


def _overfitting(records: list[HealthRecord]) -> list[Finding]:
    rows = [r for r in records if r.train_loss is not None and r.val_loss is not None
            and math.isfinite(r.train_loss) and math.isfinite(r.val_loss)]
    if len(rows) < 3 or rows[-1].epoch < OVERFIT_MIN_EPOCHS:
        return []
    best = min(rows, key=lambda r: r.val_loss)
    now = rows[-1]
    train_then, val_best, best_epoch = best.train_loss, best.val_loss, best.epoch
    train_now, val_now = now.train_loss, now.val_loss
    rose = val_now > val_best * (1 + OVERFIT_RISE) and val_now - val_best >= OVERFIT_RISE_OF_FIRST * rows[0].val_loss
    accuracies = [r.val_accuracy for r in rows if r.val_accuracy is not None]
    # A classifier whose validation loss rises at steady accuracy is growing over-confident, not worse.
    worse = not accuracies or max(accuracies) - accuracies[-1] >= OVERFIT_ACCURACY_DROP
    if rose and worse and train_now < train_then:
        return [Finding("overfitting", "Overfitting", None,
                        f"the validation loss rose from {val_best:.3g} (epoch {best_epoch}) to {val_now:.3g} while "
                        f"the training loss fell from {train_then:.3g} to {train_now:.3g}: the model memorises "
                        "the training set.",
                        f"stop earlier (about epoch {best_epoch}), add Dropout or L2 regularisation, or use more data")]
    return []


def _gradient_rules(records: list[HealthRecord], dead: set[str]) -> list[Finding]:
    recent = [r.grad_norms for r in records[-GRADIENT_WINDOW:] if len(r.grad_norms) >= 1]
    if not recent:
        return []
    out: list[Finding] = []
    huge = [(max(r.grad_norms.values(), key=_nan_high), r) for r in records if r.grad_norms]
    huge = [(norm, r) for norm, r in huge if not norm <= EXPLODING_NORM]
    if len(huge) >= EXPLODING_PUBLICATIONS:
        norm, record = max(huge, key=lambda item: _nan_high(item[0]))
        layer = max(record.grad_norms, key=lambda n: _nan_high(record.grad_norms[n]))
        out.append(Finding("exploding", "Exploding gradients", layer,
                           f"its gradient norm reached {norm:.3g} (step {record.step}); in {len(huge)} "
                           f"publications a gradient norm was above {EXPLODING_NORM:g}: the steps are huge.",
                           "lower the learning rate, clip gradients (grad clip), or add BatchNorm", "error"))
        return out
    names = list(recent[-1])
    median = {n: statistics.median(g.get(n, 0.0) for g in recent) for n in names}
    if len(names) < 3:
        return out
    first, last = names[0], names[-1]
    if median[last] <= 0 or first in dead:  # a dead layer's zero gradient is told as "dead units"
        return out
    ratio = median[first] / median[last]
    if ratio < VANISHING_RATIO:
        out.append(Finding("vanishing", "Vanishing gradients", first,
                           f"its gradient is {ratio:.1e} times the output layer's: the first layers barely "
                           "learn.",
                           "use ReLU (or leaky ReLU) instead of sigmoid/tanh, add BatchNorm, or use fewer layers"))
    elif ratio > EXPLODING_RATIO:
        out.append(Finding("exploding", "Exploding gradients", first,
                           f"its gradient is {ratio:.1e} times the output layer's.",
                           "lower the learning rate, clip gradients, or add BatchNorm"))
    return out


def _nan_high(value: float) -> float:
    return math.inf if math.isnan(value) else value


def _unit_rules(last: HealthRecord) -> list[Finding]:
    out = []
    for name, share in last.dead.items():
        if share >= DEAD_SHARE:
            out.append(Finding("dead_relu", "Dead ReLU units", name,
                               f"{share:.0%} of its units output 0 for every sample, so they get no gradient "
                               "and never recover.",
                               "use ReLU's leaky variant, lower the learning rate, or initialise with Kaiming"))
    for name, share in last.saturated.items():
        if share >= SATURATED_SHARE:
            out.append(Finding("saturated", "Saturated units", name,
                               f"{share:.0%} of its outputs sit on the flat ends of the curve, where the slope "
                               "(and so the gradient) is almost 0.",
                               "standardise the inputs, add BatchNorm before it, or use ReLU"))
    return out


def gradient_flow(records: list[HealthRecord]) -> dict[str, float]:
    """Median gradient norm per parameter layer over recent publications (for the gradient-flow bar chart)."""
    recent = [r.grad_norms for r in records[-GRADIENT_WINDOW:] if r.grad_norms]
    if not recent:
        return {}  # (no step has run)
    return {n: statistics.median(g.get(n, 0.0) for g in recent) for n in recent[-1]}
