"""The curve plots of a run: loss, accuracy and learning rate over the epochs, and the per-layer gradient norms.

One item per curve, updated in place with `setData`; long curves use peak downsampling and clip-to-view.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from ..base.dock_layout import elastic_label
from .colors import (
    CURVE_COLOURS,
)
from .history import TrainingHistory
from .plot_base import TRAIN_COLOUR, VAL_COLOUR, PlotView, RangeKeeper, add_curve, data_bounds, make_plot


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
