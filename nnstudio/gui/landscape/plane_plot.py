"""A pyqtgraph view of a loss plane: log-loss heatmap, contour lines, paths and the current point.

Shared by the Landscape dock and the race's "paths" view, so both draw a plane the same way.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QWidget

from ..training.plot_base import make_plot
from .colors import RUN_COLOURS, contour_levels, log_levels, lookup_table


class PlanePlot:
    """One PlotWidget (`widget`) holding the surface and any number of named paths."""

    def __init__(self, parent: QWidget, name: str) -> None:
        self.widget = make_plot(parent, name, x_label="direction 1", y_label="direction 2")
        item = self.widget.getPlotItem()
        item.setAspectLocked(True)
        item.hideButtons()
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setLookupTable(lookup_table())
        self.widget.addItem(self.image)
        self.contours: list[pg.IsocurveItem] = []
        self.paths: dict[str, pg.PlotDataItem] = {}
        self.starts: dict[str, pg.ScatterPlotItem] = {}
        self.current = pg.ScatterPlotItem(size=12, brush=pg.mkBrush("#ff3030"), pen=pg.mkPen("k", width=1.5))
        self.current.setZValue(20)
        self.widget.addItem(self.current)
        self.levels: tuple[float, float] = (0.0, 1.0)
        self.logs: np.ndarray | None = None

    def set_surface(self, xs: np.ndarray, ys: np.ndarray, losses: np.ndarray) -> None:
        logs, low, high = log_levels(losses)
        self.logs, self.levels = logs, (low, high)
        self.image.setImage(logs, autoLevels=False, levels=(low, high))
        dx = (xs[-1] - xs[0]) / max(1, len(xs) - 1)
        dy = (ys[-1] - ys[0]) / max(1, len(ys) - 1)
        rect = QRectF(xs[0] - dx / 2, ys[0] - dy / 2, xs[-1] - xs[0] + dx, ys[-1] - ys[0] + dy)
        self.image.setRect(rect)
        for curve in self.contours:
            self.widget.removeItem(curve)
        self.contours = []
        for level in contour_levels(low, high):
            # An IsocurveItem draws in the data's index space (x = column + 0.5): map it onto the plane.
            curve = pg.IsocurveItem(data=logs.T, level=float(level), pen=pg.mkPen(255, 255, 255, 140))
            curve.setParentItem(self.image)
            self.contours.append(curve)
        self.widget.getPlotItem().setRange(rect=rect, padding=0)

    def set_path(self, label: str, coords: np.ndarray | None, index: int = 0, colour: str | None = None) -> None:
        colour = colour or RUN_COLOURS[index % len(RUN_COLOURS)]
        if label not in self.paths:
            self.paths[label] = self.widget.plot([], [], pen=pg.mkPen(colour, width=2), connect="finite")
            self.paths[label].setZValue(10)
            self.starts[label] = pg.ScatterPlotItem(size=7, brush=pg.mkBrush(colour), pen=pg.mkPen("k"))
            self.starts[label].setZValue(11)
            self.widget.addItem(self.starts[label])
        if coords is None or len(coords) == 0:
            self.paths[label].setData([], [])
            self.starts[label].setData([], [])
            return
        coords = np.asarray(coords, dtype=np.float64)
        self.paths[label].setData(coords[:, 0], coords[:, 1])
        finite = coords[np.all(np.isfinite(coords), axis=1)]
        self.starts[label].setData(finite[:1, 0], finite[:1, 1]) if len(finite) else self.starts[label].setData([], [])

    def clear_paths(self) -> None:
        for label in list(self.paths):
            self.widget.removeItem(self.paths.pop(label))
            self.widget.removeItem(self.starts.pop(label))

    def set_current(self, point: tuple[float, float] | None) -> None:
        self.current.setData([] if point is None else [point[0]], [] if point is None else [point[1]])

    def clear(self) -> None:
        self.image.clear()
        for curve in self.contours:
            self.widget.removeItem(curve)
        self.contours = []
        self.clear_paths()
        self.set_current(None)
        self.logs = None

    def image_values(self) -> Any:
        return self.image.image
