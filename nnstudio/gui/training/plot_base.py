"""What every live plot is made of: the themed, paint-timed plot widget, curves, the range keeper and `PlotView`.

A `PlotView` redraws only when the history moved (or when forced), and only while its dock is visible;
`RangeKeeper` keeps the axes steady until the data leaves them, and gives way once the user zooms by hand.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QHBoxLayout,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.settings import UNLIMITED_EPOCHS

from .history import TrainingHistory
from .pacing import PaintClock

TRAIN_COLOUR = "#1f77b4"
VAL_COLOUR = "#ff7f0e"


def _theme(widget: QWidget) -> tuple[QColor, QColor]:
    palette = widget.palette()
    return palette.color(QPalette.ColorRole.Base), palette.color(QPalette.ColorRole.Text)


class TimedPlotWidget(pg.PlotWidget):
    def paintEvent(self, event: Any) -> None:
        started = time.perf_counter()
        super().paintEvent(event)
        PaintClock.seconds += time.perf_counter() - started


def make_plot(parent: QWidget, name: str, x_label: str = "epoch", y_label: str = "") -> pg.PlotWidget:
    background, foreground = _theme(parent)
    plot = TimedPlotWidget(background=background)
    plot.setObjectName(name)
    item = plot.getPlotItem()
    # No grid: grid lines belong to the axes, which then repaint with every new point of a curve.
    item.setMenuEnabled(True)
    for side in ("left", "bottom"):
        axis = item.getAxis(side)
        axis.setPen(pg.mkPen(foreground))
        axis.setTextPen(pg.mkPen(foreground))
        axis.enableAutoSIPrefix(False)  # "loss (x0.001)" puzzles more than it helps
    if x_label:
        item.setLabel("bottom", x_label)
    if y_label:
        item.setLabel("left", y_label)
    plot.setMinimumHeight(plot.fontMetrics().height() * 8)
    return plot


def add_curve(plot: pg.PlotWidget, name: str, colour: str, dashed: bool = False) -> pg.PlotDataItem:
    pen = pg.mkPen(colour, width=1.5, style=Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine)
    curve = plot.plot([], [], pen=pen, name=name, connect="finite")
    # Set after the item is in its plot: a PlotItem resets these when an item is added.
    curve.setDownsampling(auto=True, method="peak")
    curve.setClipToView(True)
    return curve


class RangeKeeper:
    """Keeps a plot's range steady instead of pyqtgraph's auto-range: the range changes only when the data
    leaves it or fills less than `fill` of it, so axes are not re-laid out on every frame (their ticks are
    Python work on the GUI thread). A user who pans or zooms takes over until `reset`; "View All" in the
    plot's menu hands the plot back to pyqtgraph's own auto-range."""

    def __init__(self, plot: pg.PlotWidget, fill: float = 0.4) -> None:
        self.view = plot.getPlotItem().getViewBox()
        self.fill = fill
        self.user = False
        self.view.disableAutoRange()
        self.view.sigRangeChangedManually.connect(self._manual)

    def _manual(self, *_args: Any) -> None:
        self.user = True

    def reset(self) -> None:
        self.user = False
        self.view.disableAutoRange()

    @property
    def managing(self) -> bool:
        return not self.user and not any(self.view.autoRangeEnabled())

    def fit(self, x: tuple[float, float] | None = None, y: tuple[float, float] | None = None,
            exact_x: bool = True) -> None:
        """Show x exactly (an epoch axis) or loosely, and y loosely; loose ranges move only when they must."""
        if not self.managing:
            return
        (x0, x1), (y0, y1) = self.view.viewRange()
        changes: dict[str, tuple[float, float]] = {}
        if x is not None and x[1] > x[0]:
            if exact_x:
                if abs(x[0] - x0) > 1e-12 or abs(x[1] - x1) > 1e-12:
                    changes["xRange"] = x
            else:
                wanted = self._loose(x, (x0, x1))
                if wanted is not None:
                    changes["xRange"] = wanted
        if y is not None:
            wanted = self._loose(y, (y0, y1))
            if wanted is not None:
                changes["yRange"] = wanted
        if changes:
            self.view.setRange(padding=0, update=True, **changes)

    def _loose(self, data: tuple[float, float], shown: tuple[float, float]) -> tuple[float, float] | None:
        lo, hi = data
        if not (np.isfinite(lo) and np.isfinite(hi)):
            return None
        span = max(hi - lo, abs(hi) * 1e-3, 1e-12)
        if lo < shown[0] or hi > shown[1] or span < self.fill * (shown[1] - shown[0]):
            return lo - 0.08 * span, hi + 0.08 * span
        return None


def data_bounds(arrays: list[np.ndarray], log: bool = False) -> tuple[float, float] | None:
    """Finite min and max over some arrays (of log10 of the positive values, for a log axis)."""
    lows, highs = [], []
    for values in arrays:
        if values is None or len(values) == 0:
            continue
        if log:
            values = values[values > 0]
            if len(values) == 0:
                continue
            values = np.log10(values)
        finite = values[np.isfinite(values)]
        if len(finite):
            lows.append(float(finite.min()))
            highs.append(float(finite.max()))
    if not lows:
        return None
    return min(lows), max(highs)


class PlotView(QWidget):
    """Base of the plot views: `refresh` redraws from the history when it changed since the last draw."""

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self._drawn_version = -1
        self._source: tuple[TrainingHistory, Any] | None = None
        self.column = QVBoxLayout(self)
        self.column.setContentsMargins(4, 4, 4, 4)
        self.column.setSpacing(4)

    def refresh(self, history: TrainingHistory, latest: Any, force: bool = False) -> bool:
        self._source = (history, latest)
        if not force and history.version == self._drawn_version:
            return False
        self._drawn_version = history.version
        self.draw(history, latest)
        return True

    def redraw(self) -> None:
        """Draw again from what the last refresh saw (after a chooser or checkbox changed)."""
        if self._source is not None:
            self.refresh(*self._source, force=True)

    @staticmethod
    def epoch_span(history: TrainingHistory, latest: Any) -> tuple[float, float]:
        """The x range of epoch plots: the whole run ahead, so the axis stands still while it trains."""
        last = history.loss_train.last() or history.loss_val.last()
        planned = float(latest.epochs) if latest is not None else 1.0
        if planned >= UNLIMITED_EPOCHS:  # training until paused: the axis grows with the run
            planned = float(latest.epoch)
        end = max(planned, last[0] if last else 0.0, 1.0)
        return 0.0, end

    def draw(self, history: TrainingHistory, latest: Any) -> None:
        raise NotImplementedError

    def reset(self) -> None:
        self._drawn_version = -1

    def top_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        self.column.addLayout(row)
        return row

    def grab_plot(self) -> Any:
        return self.grab()
