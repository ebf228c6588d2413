"""Live plots of a training run (pyqtgraph): loss, accuracy, learning rate, gradient norms, weight
distributions and the Output dock (Playground's heatmap; other data: `output_views`).

One item per curve, updated in place with `setData`; long curves use peak downsampling and clip-to-view;
heatmaps are `ImageItem`s with fixed levels. Each view redraws only while it is visible and only when
the history moved, so hidden tabs cost nothing. This module imports pyqtgraph, so the controller imports
it only after the window is on screen.
"""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.settings import UNLIMITED_EPOCHS

from ..base.dock_layout import elastic_label
from .colors import (
    CURVE_COLOURS,
    NEGATIVE,
    POSITIVE,
    boundary_values,
    class_colour,
    class_image,
    diverging_lut,
)
from .colors import signed_map as to_signed
from .history import TrainingHistory, distribution_image
from .output_views import OutputSamplesView
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


class CurvesView(PlotView):
    """A few named curves over epochs, with an optional log-scale toggle and the newest values."""

    def __init__(self, name: str, y_label: str, curves: list[tuple[str, str, str, bool]], log_toggle: bool,
                 log_default: bool = False, percent: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(name, parent)
        row = self.top_row()
        self.values = elastic_label(QLabel(""))
        self.values.setObjectName(f"{name}Values")
        row.addWidget(self.values, 1)
        self.log_check: QCheckBox | None = None
        if log_toggle:
            self.log_check = QCheckBox("Log scale")
            self.log_check.setObjectName(f"{name}LogScale")
            self.log_check.setChecked(log_default)
            self.log_check.toggled.connect(self.set_log)
            row.addWidget(self.log_check)
        self.plot = make_plot(self, f"{name}Plot", y_label=y_label)
        self.column.addWidget(self.plot, 1)
        self.percent = percent
        self.keeper = RangeKeeper(self.plot)
        self.plot.getPlotItem().hideButtons()
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.sources: dict[str, tuple[str, str, bool]] = {}
        for key, title, colour, dashed in curves:
            self.curves[key] = add_curve(self.plot, title, colour, dashed)
            self.sources[key] = (title, colour, dashed)
        # The legend is the coloured line of values above the plot (cheaper to draw than a LegendItem).
        self.values.setTextFormat(Qt.TextFormat.RichText)
        self.set_log(log_default)

    def set_log(self, on: bool) -> None:
        self.plot.getPlotItem().setLogMode(x=False, y=bool(on))
        self.keeper.reset()
        self.redraw()

    @property
    def log(self) -> bool:
        return self.log_check is not None and self.log_check.isChecked()

    def y_bounds(self, ys: list[np.ndarray]) -> tuple[float, float] | None:
        return data_bounds(ys, self.log)

    def series(self, history: TrainingHistory) -> dict[str, Any]:
        raise NotImplementedError

    def draw(self, history: TrainingHistory, latest: Any) -> None:
        parts, ys = [], []
        for key, series in self.series(history).items():
            x, y = series.data()
            self.curves[key].setData(x, y)
            ys.append(y)
            last = series.last()
            title, colour, dashed = self.sources[key]
            number = "—"
            if last is not None and last[1] == last[1]:
                number = f"{last[1]:.2f} %" if self.percent else f"{last[1]:.4g}"
            mark = "╍╍" if dashed else "━━"
            parts.append(f"<span style='color:{colour}'>{mark}</span> {title} <b>{number}</b>")
        text = "&nbsp;&nbsp;&nbsp;".join(parts)
        if text != self.values.text():
            self.values.setText(text)
        self.keeper.fit(self.epoch_span(history, latest), self.y_bounds(ys))

    def reset(self) -> None:
        super().reset()
        for curve in self.curves.values():
            curve.setData([], [])
        self.values.setText("")
        self.keeper.reset()


class LossView(CurvesView):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("loss", "loss", [("train", "training", TRAIN_COLOUR, False),
                                          ("val", "validation", VAL_COLOUR, True)], log_toggle=True, parent=parent)

    def series(self, history: TrainingHistory) -> dict[str, Any]:
        return {"train": history.loss_train, "val": history.loss_val}


class AccuracyView(CurvesView):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("accuracy", "accuracy (%)", [("train", "training", TRAIN_COLOUR, False),
                                                      ("val", "validation", VAL_COLOUR, True)],
                         log_toggle=False, percent=True, parent=parent)
        self.plot.getPlotItem().setYRange(0, 100, padding=0.02)

    def y_bounds(self, ys: list[np.ndarray]) -> tuple[float, float] | None:
        return (0.0, 100.0)

    def series(self, history: TrainingHistory) -> dict[str, Any]:
        return {"train": history.accuracy_train, "val": history.accuracy_val}


class LearningRateView(CurvesView):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("learningRate", "learning rate", [("lr", "learning rate", TRAIN_COLOUR, False)],
                         log_toggle=True, parent=parent)

    def series(self, history: TrainingHistory) -> dict[str, Any]:
        return {"lr": history.learning_rate}


class GradientsView(PlotView):
    """Per-layer gradient norms (log scale) and a table of the newest norms, weight ranges and dead units."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("gradients", parent)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        self.plot = make_plot(self, "gradientsPlot", y_label="gradient norm")
        self.plot.getPlotItem().setLogMode(x=False, y=True)
        self.plot.getPlotItem().hideButtons()
        self.keeper = RangeKeeper(self.plot)
        splitter.addWidget(self.plot)
        self.table = QTableWidget(0, 4)
        self.table.setObjectName("layerTable")
        self.table.setHorizontalHeaderLabels(["layer", "‖grad‖", "max |w|", "dead"])
        self.table.horizontalHeaderItem(1).setToolTip("The layer's gradient norm (all its parameters)")
        self.table.horizontalHeaderItem(2).setToolTip("The largest absolute weight of the layer")
        self.table.horizontalHeaderItem(3).setToolTip("Share of ReLU units that output zero for every sample")
        self.table.setMinimumWidth(self.fontMetrics().horizontalAdvance("hidden1  0.00123  0.123  100 %") + 24)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setToolTip("Dead units: ReLU units whose output is zero for every sample of a probe batch")
        splitter.addWidget(self.table)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        self.column.addWidget(splitter, 1)
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.colours: dict[str, str] = {}

    def draw(self, history: TrainingHistory, latest: Any) -> None:
        ys: list[np.ndarray] = []
        for i, (name, series) in enumerate(history.grad_norms.items()):
            curve = self.curves.get(name)
            if curve is None:
                self.colours[name] = CURVE_COLOURS[i % len(CURVE_COLOURS)]
                curve = self.curves[name] = add_curve(self.plot, name, self.colours[name])
            x, y = series.data()
            y = np.where(y > 0, y, np.nan)
            curve.setData(x, y)
            ys.append(y)
        self.keeper.fit(self.epoch_span(history, latest), data_bounds(ys, log=True))
        if latest is not None:
            self._fill_table(latest)

    def _fill_table(self, latest: Any) -> None:
        names = list(latest.grad_norms) or list(latest.weight_histograms)
        self.table.setRowCount(len(names))
        for r, name in enumerate(names):
            hist = latest.weight_histograms.get(name)
            dead = latest.dead_fraction.get(name)
            cells = (name, f"{latest.grad_norms.get(name, float('nan')):.3g}",
                     f"{hist.high:.3g}" if hist is not None else "—",
                     f"{dead * 100:.0f} %" if dead is not None else "—")
            for c, text in enumerate(cells):
                item = self.table.item(r, c)
                if item is None:
                    item = QTableWidgetItem(text)
                    self.table.setItem(r, c, item)
                elif item.text() != text:
                    item.setText(text)
            colour = self.colours.get(name)  # the layer's name in its curve's colour: the legend
            name_item = self.table.item(r, 0)
            if colour is not None and name_item.foreground().color() != QColor(colour):
                name_item.setForeground(QColor(colour))

    def reset(self) -> None:
        super().reset()
        for curve in self.curves.values():
            self.plot.removeItem(curve)
        self.curves.clear()
        self.colours.clear()
        self.table.setRowCount(0)
        self.keeper.reset()


def _sequential_lut() -> np.ndarray:
    """White through Playground's blue: the density of values in the distributions heatmap."""
    t = np.linspace(0.0, 1.0, 256)[:, None] ** 0.6
    white = np.array([255, 255, 255, 255], dtype=np.float64)
    blue = np.array(POSITIVE.getRgb(), dtype=np.float64)
    return np.clip(white + (blue - white) * t, 0, 255).astype(np.uint8)


class WeightsView(PlotView):
    """The chosen layer's weight (or gradient) histogram now, and its distribution over the run."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("weights", parent)
        row = self.top_row()
        row.addWidget(QLabel("Layer"))
        self.layer_combo = QComboBox()
        self.layer_combo.setObjectName("weightsLayer")
        self.layer_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.layer_combo.currentIndexChanged.connect(lambda _i: self._chosen())
        row.addWidget(self.layer_combo)
        self.kind_combo = QComboBox()
        self.kind_combo.setObjectName("weightsKind")
        self.kind_combo.addItem("weights", "weights")
        self.kind_combo.addItem("gradients", "gradients")
        self.kind_combo.currentIndexChanged.connect(lambda _i: self._chosen())
        row.addWidget(self.kind_combo)
        row.addStretch(1)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        self.hist_plot = make_plot(self, "histogramPlot", x_label="value", y_label="count")
        self.hist_curve = self.hist_plot.plot([], [], stepMode="center", fillLevel=0,
                                              brush=pg.mkBrush(POSITIVE.red(), POSITIVE.green(), POSITIVE.blue(), 110),
                                              pen=pg.mkPen(POSITIVE, width=1))
        self.hist_plot.getPlotItem().hideButtons()
        self.hist_keeper = RangeKeeper(self.hist_plot)
        splitter.addWidget(self.hist_plot)
        self.dist_plot = make_plot(self, "distributionPlot", y_label="value")
        self.dist_plot.getPlotItem().hideButtons()
        self.dist_keeper = RangeKeeper(self.dist_plot)
        self.dist_image = pg.ImageItem(axisOrder="row-major")
        self.dist_image.setLookupTable(_sequential_lut())
        self.dist_plot.addItem(self.dist_image)
        splitter.addWidget(self.dist_plot)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        self.column.addWidget(splitter, 1)

    @property
    def layer(self) -> str | None:
        return self.layer_combo.currentData()

    def _chosen(self) -> None:
        self.hist_keeper.reset()
        self.dist_keeper.reset()
        self.redraw()

    def set_layers(self, names: list[str]) -> None:
        current = self.layer
        if [self.layer_combo.itemData(i) for i in range(self.layer_combo.count())] == names:
            return
        self.layer_combo.blockSignals(True)
        self.layer_combo.clear()
        for name in names:
            self.layer_combo.addItem(name, name)
        index = self.layer_combo.findData(current)
        self.layer_combo.setCurrentIndex(index if index >= 0 else 0)
        self.layer_combo.blockSignals(False)
        self.hist_keeper.reset()
        self.dist_keeper.reset()

    def draw(self, history: TrainingHistory, latest: Any) -> None:
        store = history.weight_histograms if self.kind_combo.currentData() == "weights" else history.grad_histograms
        names = list(history.weight_histograms)
        if names:
            self.set_layers(names)
        log = store.get(self.layer or "")
        if log is None or len(log) == 0:
            self.hist_curve.setData([], [])
            self.dist_image.clear()
            return
        snapshots = log.items()
        newest = snapshots[-1]
        edges = np.linspace(newest.low, newest.high, len(newest.counts) + 1)
        self.hist_curve.setData(edges, newest.counts)
        self.hist_keeper.fit(data_bounds([edges]), (0.0, float(np.max(newest.counts)) or 1.0), exact_x=False)
        result = distribution_image(snapshots)
        if result is not None:
            image, (x0, x1, y0, y1) = result
            self.dist_image.setImage(image, autoLevels=False, levels=(0.0, 1.0))
            self.dist_image.setRect(QRectF(x0, y0, max(x1 - x0, 1e-9), y1 - y0))
            self.dist_keeper.fit(self.epoch_span(history, latest), (y0, y1))

    def reset(self) -> None:
        super().reset()
        self.hist_curve.setData([], [])
        self.dist_image.clear()
        self.layer_combo.blockSignals(True)
        self.layer_combo.clear()
        self.layer_combo.blockSignals(False)
        self.hist_keeper.reset()
        self.dist_keeper.reset()


class _SquareHolder(QWidget):
    """Keeps its one child square and centred, so Playground's square plane is never stretched."""

    def __init__(self, child: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.child = child
        child.setParent(self)
        self.setMinimumSize(child.minimumSize())

    def resizeEvent(self, event) -> None:
        side = min(self.width(), self.height())
        self.child.setGeometry((self.width() - side) // 2, (self.height() - side) // 2, side, side)
        super().resizeEvent(event)


class OutputView(PlotView):
    """Playground's output: the model's prediction over the plane with the training (and test) points;
    other data: the predictions for validation samples (`OutputSamplesView`)."""

    settings_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("output", parent)
        row = self.top_row()
        self.values = elastic_label(QLabel(""))
        self.values.setObjectName("outputValues")
        row.addWidget(self.values, 1)
        self.test_check = QCheckBox("Show test data")
        self.test_check.setObjectName("showTestData")
        self.test_check.toggled.connect(self._show_test)
        row.addWidget(self.test_check)
        self.discrete_check = QCheckBox("Discretize output")
        self.discrete_check.setObjectName("discretizeOutput")
        self.discrete_check.toggled.connect(lambda _on: self._redraw_boundary())
        row.addWidget(self.discrete_check)
        self.stack = QStackedWidget()
        self.column.addWidget(self.stack, 1)
        self.plot = make_plot(self, "outputPlot", x_label="x₁", y_label="x₂")
        item = self.plot.getPlotItem()
        item.setAspectLocked(True)
        item.setRange(xRange=(-6, 6), yRange=(-6, 6), padding=0)
        item.hideButtons()
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setLookupTable(diverging_lut())
        self.image.setRect(QRectF(-6, -6, 12, 12))
        self.plot.addItem(self.image)
        self.train_points = pg.ScatterPlotItem(size=6, pen=pg.mkPen("w", width=1))
        self.test_points = pg.ScatterPlotItem(size=6, pen=pg.mkPen("k", width=1))
        self.test_points.setVisible(False)
        self.plot.addItem(self.train_points)
        self.plot.addItem(self.test_points)
        self.plot.setMinimumSize(self.plot.fontMetrics().height() * 8, self.plot.fontMetrics().height() * 8)
        self.square = _SquareHolder(self.plot)
        self.stack.addWidget(self.square)
        self.samples = OutputSamplesView()
        self.stack.addWidget(self.samples)
        self.task = "binary"
        self._latest: Any = None
        self.has_boundary = False

    def set_points(self, info: Any) -> None:
        """The run's data points (from RunInfo); a dataset without 2-D points shows validation samples."""
        self.task = info.task
        for check in (self.test_check, self.discrete_check):  # they are about the plane
            check.setVisible(info.points_train is not None)
        if info.points_train is None:
            self.stack.setCurrentWidget(self.samples)
            self.samples.begin(info)
            self.train_points.setData([], [])
            self.test_points.setData([], [])
            return
        self.stack.setCurrentWidget(self.square)
        for item, points, targets in ((self.train_points, info.points_train, info.targets_train),
                                      (self.test_points, info.points_val, info.targets_val)):
            if points is None or targets is None:
                item.setData([], [])
                continue
            item.setData(pos=np.asarray(points, dtype=np.float64), brush=self._brushes(targets))

    def show_dataset(self, dataset: Any) -> None:
        """The data's points before any training (Playground shows them at once), from a loaded Dataset."""

        def targets(y: Any) -> np.ndarray | None:
            return None if y is None else np.asarray(y).reshape(len(y), -1)[:, 0]

        self.set_points(SimpleNamespace(task=dataset.task, class_names=dataset.class_names,
                                        feature_names=dataset.feature_names, points_train=dataset.points_train,
                                        targets_train=targets(dataset.y_train), points_val=dataset.points_val,
                                        targets_val=targets(dataset.y_val)))

    def _brushes(self, targets: np.ndarray) -> list[Any]:
        if self.task == "regression":
            lut = diverging_lut()
            index = np.clip(((np.clip(targets, -1, 1) + 1) * 127.5).astype(int), 0, 255)
            return [pg.mkBrush(*lut[i][:3]) for i in index]
        cache: dict[int, Any] = {}
        out = []
        for t in np.asarray(targets).astype(int):
            if t not in cache:
                colour = NEGATIVE if t == 0 else POSITIVE if t == 1 else class_colour(t)
                cache[t] = pg.mkBrush(colour)
            out.append(cache[t])
        return out

    def _show_test(self, on: bool) -> None:
        self.test_points.setVisible(on)

    def _redraw_boundary(self) -> None:
        if self._latest is not None:
            self._draw_boundary(self._latest)

    def draw(self, history: TrainingHistory, latest: Any) -> None:
        if latest is None:
            return
        parts = []
        if latest.val_loss is not None:
            parts.append(f"Test loss {latest.val_loss:.3f}")
        if latest.train_loss is not None:
            parts.append(f"Training loss {latest.train_loss:.3f}")
        self.values.setText("   ".join(parts))
        if latest.boundary is not None:
            self._latest = latest
            self._draw_boundary(latest)
        if getattr(latest, "outputs", None) is not None:
            self.samples.show_samples(latest.outputs)

    def _draw_boundary(self, telemetry: Any) -> None:
        boundary = np.asarray(telemetry.boundary)
        discrete = self.discrete_check.isChecked()
        if boundary.ndim == 3 and boundary.shape[0] > 2 and self.task == "multiclass":
            rgba = class_image(boundary)
            if discrete:
                rgba = class_image((boundary == boundary.max(axis=0, keepdims=True)).astype(np.float32))
            self.image.setLookupTable(None)
            self.image.setImage(rgba, autoLevels=False)
        else:
            values = to_signed(boundary_values(boundary, self.task), discrete)
            self.image.setLookupTable(diverging_lut())
            self.image.setImage(values, autoLevels=False, levels=(-1.0, 1.0))
        if telemetry.boundary_extent is not None:
            x0, x1, y0, y1 = telemetry.boundary_extent
            self.image.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        self.has_boundary = True

    def reset(self) -> None:
        super().reset()
        self.image.clear()
        self.has_boundary = False
        self._latest = None
        self.values.setText("")
        self.samples.clear()


class TrainingPlots:
    """The plot views and the docks they live in; redraws the visible ones from the history."""

    def __init__(self) -> None:
        self.loss = LossView()
        self.accuracy = AccuracyView()
        self.learning_rate = LearningRateView()
        self.gradients = GradientsView()
        self.weights = WeightsView()
        self.output = OutputView()
        self.views: dict[str, PlotView] = {
            "loss": self.loss, "accuracy": self.accuracy, "learningRate": self.learning_rate,
            "gradients": self.gradients, "weights": self.weights, "output": self.output,
        }

    def refresh(self, history: TrainingHistory, latest: Any, visible: set[str], force: bool = False) -> list[str]:
        """Redraw the visible views whose data moved; returns their keys."""
        return [key for key, view in self.views.items() if key in visible and view.refresh(history, latest, force)]

    def reset(self) -> None:
        for view in self.views.values():
            view.reset()

