"""The Weights plot: the chosen layer's weight (or gradient) histogram now, and its distribution over the run.

The distribution is an `ImageItem` with fixed levels (white through Playground's blue).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QLabel,
    QSplitter,
    QWidget,
)

from .colors import (
    POSITIVE,
)
from .history import TrainingHistory, distribution_image
from .plot_base import PlotView, RangeKeeper, data_bounds, make_plot


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
