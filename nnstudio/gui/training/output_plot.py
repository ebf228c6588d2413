"""The Output plot: Playground's prediction heatmap over the plane with the training (and test) points.

Other data show the predictions for validation samples instead (`output_views.OutputSamplesView`).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QLabel,
    QStackedWidget,
    QWidget,
)

from ..base.dock_layout import elastic_label
from .colors import (
    NEGATIVE,
    POSITIVE,
    boundary_values,
    class_colour,
    class_image,
    diverging_lut,
)
from .colors import signed_map as to_signed
from .history import TrainingHistory
from .output_views import OutputSamplesView
from .plot_base import PlotView, make_plot


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
