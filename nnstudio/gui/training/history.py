"""Training history with bounded memory: curves and logs that halve their resolution when full.

A run of hours publishes hundreds of thousands of times; a curve keeps at most `capacity` points by
dropping every second stored point when full and from then on storing only every `stride`-th new one.
The newest point is always shown, stored or not, so the curve never lags behind the numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np

T = TypeVar("T")

CURVE_CAPACITY = 10_000
LOG_CAPACITY = 100_000


class DecimatingSeries:
    """(x, y) points in preallocated arrays; `data()` gives what a plot shows."""

    def __init__(self, capacity: int = CURVE_CAPACITY) -> None:
        if capacity < 4 or capacity % 2:
            raise ValueError(f"capacity must be an even number of at least 4, not {capacity}")
        self.capacity = capacity
        self._x = np.empty(capacity, dtype=np.float64)
        self._y = np.empty(capacity, dtype=np.float64)
        self._stored = 0
        self._seen = 0  # points ever appended
        self.stride = 1
        self._tail: tuple[float, float] | None = None  # the newest point when it was not stored

    def __len__(self) -> int:
        return self._stored + (self._tail is not None)

    @property
    def seen(self) -> int:
        return self._seen

    def append(self, x: float, y: float) -> None:
        index = self._seen
        self._seen += 1
        if index % self.stride:
            self._tail = (x, y)
            return
        if self._stored == self.capacity:
            self._halve()
        self._x[self._stored] = x
        self._y[self._stored] = y
        self._stored += 1
        self._tail = None

    def _halve(self) -> None:
        kept = self._stored // 2
        self._x[:kept] = self._x[0:self._stored:2]
        self._y[:kept] = self._y[0:self._stored:2]
        self._stored = kept
        self.stride *= 2

    def data(self) -> tuple[np.ndarray, np.ndarray]:
        """Copies of the points to show, the newest last."""
        x, y = self._x[:self._stored], self._y[:self._stored]
        if self._tail is not None:
            return np.append(x, self._tail[0]), np.append(y, self._tail[1])
        return x.copy(), y.copy()

    def last(self) -> tuple[float, float] | None:
        if self._tail is not None:
            return self._tail
        if self._stored:
            return float(self._x[self._stored - 1]), float(self._y[self._stored - 1])
        return None

    def clear(self) -> None:
        self._stored = self._seen = 0
        self.stride = 1
        self._tail = None


class DecimatingList(Generic[T]):
    """The same halving rule for arbitrary records (metric rows, histogram snapshots)."""

    def __init__(self, capacity: int = LOG_CAPACITY) -> None:
        if capacity < 4 or capacity % 2:
            raise ValueError(f"capacity must be an even number of at least 4, not {capacity}")
        self.capacity = capacity
        self._items: list[T] = []
        self._seen = 0
        self.stride = 1
        self._tail: T | None = None
        self._has_tail = False

    def __len__(self) -> int:
        return len(self._items) + self._has_tail

    def append(self, item: T) -> None:
        index = self._seen
        self._seen += 1
        if index % self.stride:
            self._tail, self._has_tail = item, True
            return
        if len(self._items) == self.capacity:
            self._items = self._items[::2]
            self.stride *= 2
        self._items.append(item)
        self._tail, self._has_tail = None, False

    def items(self) -> list[T]:
        return self._items + [self._tail] if self._has_tail else list(self._items)  # type: ignore[list-item]

    def clear(self) -> None:
        self._items = []
        self._seen = 0
        self.stride = 1
        self._tail, self._has_tail = None, False


def epoch_position(telemetry: Any) -> float:
    """Where a publication lies on an epoch axis: 2.5 is half-way through the third epoch."""
    if telemetry.step == 0:
        return 0.0
    per_epoch = max(1, telemetry.batches_per_epoch)
    batch = telemetry.batch
    done = telemetry.epoch if batch == 0 else telemetry.epoch - 1
    return done + min(batch, per_epoch) / per_epoch


def finite_or_nan(value: float | None) -> float:
    if value is None:
        return math.nan
    value = float(value)
    return value if math.isfinite(value) else math.nan


METRIC_COLUMNS = ("epoch_position", "epoch", "step", "samples_seen", "elapsed", "learning_rate",
                  "steps_per_second", "train_loss", "val_loss", "train_accuracy", "val_accuracy")


def metric_row(telemetry: Any) -> dict[str, Any]:
    """The scalar part of one publication, as a CSV row."""
    row = telemetry.metrics()
    row["epoch_position"] = epoch_position(telemetry)
    return {key: row.get(key) for key in METRIC_COLUMNS}


HISTOGRAM_CAPACITY = 512


@dataclass(frozen=True)
class HistogramSnapshot:
    """One layer's histogram at one moment: `counts` in equal bins over [low, high]."""

    x: float
    low: float
    high: float
    counts: np.ndarray


class TrainingHistory:
    """Everything the plots draw over time, with bounded memory; plain Python and numpy (no Qt)."""

    def __init__(self, curve_capacity: int = CURVE_CAPACITY) -> None:
        self.curve_capacity = curve_capacity
        self.loss_train = DecimatingSeries(curve_capacity)
        self.loss_val = DecimatingSeries(curve_capacity)
        self.accuracy_train = DecimatingSeries(curve_capacity)
        self.accuracy_val = DecimatingSeries(curve_capacity)
        self.learning_rate = DecimatingSeries(curve_capacity)
        self.grad_norms: dict[str, DecimatingSeries] = {}
        self.weight_histograms: dict[str, DecimatingList[HistogramSnapshot]] = {}
        self.grad_histograms: dict[str, DecimatingList[HistogramSnapshot]] = {}
        self.rows: DecimatingList[dict[str, Any]] = DecimatingList(LOG_CAPACITY)
        self.version = 0  # bumped on every change, so views redraw only when something moved

    def clear(self) -> None:
        for series in (self.loss_train, self.loss_val, self.accuracy_train, self.accuracy_val, self.learning_rate):
            series.clear()
        self.grad_norms.clear()
        self.weight_histograms.clear()
        self.grad_histograms.clear()
        self.rows.clear()
        self.version += 1

    @property
    def empty(self) -> bool:
        return len(self.rows) == 0

    def add_row(self, row: dict[str, Any], grad_norms: dict[str, float] | None = None) -> None:
        """One publication's scalars (a `metric_row`)."""
        x = float(row.get("epoch_position") if row.get("epoch_position") is not None else row.get("epoch", 0))
        self.rows.append({key: row.get(key) for key in METRIC_COLUMNS})
        for series, key in ((self.loss_train, "train_loss"), (self.loss_val, "val_loss"),
                            (self.learning_rate, "learning_rate")):
            value = row.get(key)
            if value is not None:
                series.append(x, finite_or_nan(value))
        for series, key in ((self.accuracy_train, "train_accuracy"), (self.accuracy_val, "val_accuracy")):
            value = row.get(key)
            if value is not None:
                series.append(x, finite_or_nan(value) * 100.0)
        for name, norm in (grad_norms or {}).items():
            series = self.grad_norms.get(name)
            if series is None:
                series = self.grad_norms[name] = DecimatingSeries(self.curve_capacity)
            series.append(x, finite_or_nan(norm))
        self.version += 1

    def add_histograms(self, telemetry: Any) -> None:
        """The newest weight and gradient histograms of every layer (once per drawn frame)."""
        x = epoch_position(telemetry)
        for store, histograms in ((self.weight_histograms, telemetry.weight_histograms),
                                  (self.grad_histograms, telemetry.grad_histograms)):
            for name, hist in histograms.items():
                log = store.get(name)
                if log is None:
                    log = store[name] = DecimatingList(HISTOGRAM_CAPACITY)
                log.append(HistogramSnapshot(x, float(hist.low), float(hist.high),
                                             np.asarray(hist.counts, dtype=np.float64)))
        self.version += 1

    def load_rows(self, rows: list[dict[str, Any]]) -> None:
        """Rows from a checkpoint's history tail (its `Telemetry.metrics()` dicts)."""
        for row in rows:
            if isinstance(row, dict):
                self.add_row(row)

    def write_csv(self, path: Any) -> int:
        """Write the metric rows as CSV; returns how many rows were written."""
        import csv

        rows = self.rows.items()
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(METRIC_COLUMNS))
            writer.writeheader()
            for row in rows:
                writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in METRIC_COLUMNS})
        return len(rows)


def distribution_image(snapshots: list[HistogramSnapshot], columns: int = 256, rows: int = 64
                       ) -> tuple[np.ndarray, tuple[float, float, float, float]] | None:
    """TensorBoard's 'distributions' as an image: (rows, columns) densities on a common value axis.

    Each snapshot's histogram (over its own range) is re-binned onto `rows` equal bins over the largest
    range seen, by interpolating its cumulative counts; columns are resampled evenly over the x span (the
    newest snapshot at or before each column). Returns the image and its extent (x0, x1, y0, y1).
    """
    if not snapshots:
        return None
    xs = np.array([s.x for s in snapshots])
    lows = np.array([s.low for s in snapshots])
    highs = np.array([s.high for s in snapshots])
    top = float(np.max(np.abs(np.concatenate([lows, highs]))))
    if not math.isfinite(top) or top <= 0:
        top = 1.0
    counts = np.stack([s.counts for s in snapshots])  # (n, bins)
    n, bins = counts.shape
    cdf = np.concatenate([np.zeros((n, 1)), np.cumsum(counts, axis=1)], axis=1)  # (n, bins + 1)
    edges = np.linspace(-top, top, rows + 1)
    width = np.where(highs > lows, highs - lows, 1.0)
    u = (edges[None, :] - lows[:, None]) / width[:, None] * bins  # position in each row's own bins
    u = np.clip(u, 0.0, float(bins))
    lo = np.minimum(np.floor(u).astype(np.int64), bins - 1)
    frac = u - lo
    taken = np.take_along_axis(cdf, lo, axis=1)
    following = np.take_along_axis(cdf, lo + 1, axis=1)
    at_edges = taken + frac * (following - taken)
    density = np.diff(at_edges, axis=1)  # (n, rows)
    totals = density.sum(axis=1, keepdims=True)
    density = np.divide(density, totals, out=np.zeros_like(density), where=totals > 0)
    x0, x1 = float(xs[0]), float(xs[-1])
    if x1 <= x0:
        x1 = x0 + 1e-9
        columns = 1
    grid = np.linspace(x0, x1, columns)
    pick = np.clip(np.searchsorted(xs, grid, side="right") - 1, 0, n - 1)
    image = density[pick].T  # (rows, columns): row 0 is the lowest value
    peak = image.max()
    if peak > 0:
        image = image / peak
    return image.astype(np.float32), (x0, x1, -top, top)
