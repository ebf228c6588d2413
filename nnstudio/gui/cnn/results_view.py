"""The Results dock: confusion matrix (counts or normalised), per-class precision/recall/F1 and the most
confidently wrong validation samples — or, for regression, predicted-vs-true and residual plots.

Computed by `nnstudio.ml.results.evaluate` on the GUI's CPU copy of the network when a run pauses or ends
(or on Refresh), never while each frame is drawn.
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .maps_view import ImageGrid, rgb_image


class ScatterPlot(QWidget):
    """Points in a box, with an optional y = x diagonal or y = 0 line; highlighted points drawn red."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.xs: list[float] = []
        self.ys: list[float] = []
        self.hot: list[bool] = []
        self.diagonal = self.zero_line = False
        self.extent: tuple[float, float, float, float] | None = None
        self.setMinimumSize(220, 220)

    def sizeHint(self) -> QSize:
        return QSize(260, 260)

    def set_points(self, xs: Any, ys: Any, hot: Any = None, *, diagonal: bool = False, zero_line: bool = False,
                   extent: tuple[float, float, float, float] | None = None) -> None:
        self.xs, self.ys = [float(v) for v in xs], [float(v) for v in ys]
        self.hot = [bool(v) for v in hot] if hot is not None else [False] * len(self.xs)
        self.diagonal, self.zero_line, self.extent = diagonal, zero_line, extent
        self.update()

    def _extent(self) -> tuple[float, float, float, float]:
        if self.extent is not None:
            return self.extent
        pts = [(x, y) for x, y in zip(self.xs, self.ys, strict=True) if math.isfinite(x) and math.isfinite(y)]
        if not pts:
            return 0.0, 1.0, 0.0, 1.0
        x0, x1 = min(p[0] for p in pts), max(p[0] for p in pts)
        y0, y1 = min(p[1] for p in pts), max(p[1] for p in pts)
        if self.diagonal:
            x0 = y0 = min(x0, y0)
            x1 = y1 = max(x1, y1)
        if self.zero_line:
            y0, y1 = min(y0, 0.0), max(y1, 0.0)
        return x0, max(x1, x0 + 1e-9), y0, max(y1, y0 + 1e-9)

    def paintEvent(self, event: Any) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), self.palette().base())
        box = QRectF(30, 22, self.width() - 40, self.height() - 40)
        painter.setPen(self.palette().text().color())
        painter.drawText(QRectF(0, 2, self.width(), 18), Qt.AlignmentFlag.AlignCenter, self.title)
        painter.setPen(QPen(QColor(150, 150, 150)))
        painter.drawRect(box)
        x0, x1, y0, y1 = self._extent()

        def at(x: float, y: float) -> QPointF:
            return QPointF(box.left() + (x - x0) / (x1 - x0) * box.width(),
                           box.bottom() - (y - y0) / (y1 - y0) * box.height())

        if self.diagonal:
            painter.drawLine(at(x0, x0), at(x1, x1))
        if self.zero_line:
            painter.drawLine(at(x0, 0.0), at(x1, 0.0))
        for hot_pass in (False, True):
            colour = QColor(214, 39, 40) if hot_pass else QColor(31, 119, 180, 150)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QBrush(colour))
            radius = 3.5 if hot_pass else 2.2
            for x, y, hot in zip(self.xs, self.ys, self.hot, strict=True):
                if hot == hot_pass and math.isfinite(x) and math.isfinite(y):
                    painter.drawEllipse(at(x, y), radius, radius)


class ResultsView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("resultsView")
        self.results: Any = None
        self.message = QLabel("Results appear when a training run pauses or ends.", objectName="resultsMessage")
        self.message.setWordWrap(True)
        self.refresh_button = QPushButton("Refresh", objectName="resultsRefreshButton")
        self.normalised_check = QCheckBox("Normalised (share of each true class)", objectName="resultsNormalisedCheck")
        self.normalised_check.toggled.connect(lambda _v: self._fill_confusion())
        self.confusion = QTableWidget(objectName="resultsConfusionTable")
        self.per_class = QTableWidget(objectName="resultsPerClassTable")
        for table in (self.confusion, self.per_class):
            table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.gallery_label = QLabel(objectName="resultsGalleryLabel")
        self.gallery = ImageGrid(tile=56, columns=8)
        self.gallery.setObjectName("resultsGallery")
        self.gallery.clicked.connect(self._describe_mistake)
        self.mistake_label = QLabel(objectName="resultsMistakeLabel")
        self.points = ScatterPlot("Validation points (mistakes in red)")
        self.points.setObjectName("resultsPointsPlot")
        self.predicted_plot = ScatterPlot("Predicted vs true")
        self.predicted_plot.setObjectName("resultsPredictedPlot")
        self.residual_plot = ScatterPlot("Residuals (true − predicted)")
        self.residual_plot.setObjectName("resultsResidualPlot")

        head = QHBoxLayout()
        head.addWidget(self.message, 1)
        head.addWidget(self.normalised_check)
        head.addWidget(self.refresh_button)
        tables = QHBoxLayout()
        tables.addWidget(self.confusion, 3)
        tables.addWidget(self.per_class, 2)
        plots = QHBoxLayout()
        for plot in (self.points, self.predicted_plot, self.residual_plot):
            plots.addWidget(plot)
        plots.addStretch(1)
        inner = QWidget()
        column = QVBoxLayout(inner)
        column.addLayout(head)
        column.addLayout(tables)
        column.addLayout(plots)
        column.addWidget(self.gallery_label)
        column.addWidget(self.gallery)
        column.addWidget(self.mistake_label)
        column.addStretch(1)
        scroll = QScrollArea(objectName="resultsScroll")
        scroll.setWidgetResizable(True)
        scroll.setWidget(inner)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)
        self._show_kind(None)

    def _show_kind(self, kind: str | None) -> None:
        classification = kind == "classification"
        for w in (self.confusion, self.per_class, self.normalised_check):
            w.setVisible(classification)
        for w in (self.predicted_plot, self.residual_plot):
            w.setVisible(kind == "regression")
        self.points.setVisible(False)
        for w in (self.gallery, self.gallery_label, self.mistake_label):
            w.setVisible(False)

    def compute(self, model: Any, data: Any) -> None:
        """Evaluate `model` (CPU) on the run's validation samples and show the results."""
        from nnstudio.ml.results import ClassificationResults, evaluate

        self.data = data
        results = evaluate(model, data) if data is not None else None
        self.results = results
        if results is None:
            self.message.setText("This run has no validation data.")
            self._show_kind(None)
            return
        part = "" if data.total_val <= len(data.x_val) else f" (the first {len(data.x_val):,} of {data.total_val:,})"
        if isinstance(results, ClassificationResults):
            self._show_kind("classification")
            self.message.setText(f"Accuracy {results.accuracy:.3f} on {int(results.support.sum()):,} validation "
                                 f"samples{part}.")
            self._fill_confusion()
            self._fill_per_class()
            self._fill_mistakes()
        else:
            self._show_kind("regression")
            self.message.setText(f"MAE {results.mae:.4g} · RMSE {results.rmse:.4g} · R² {results.r2:.3f} on "
                                 f"{len(results.true):,} validation samples{part}.")
            true, pred = results.true[:, 0], results.predicted[:, 0]
            self.predicted_plot.set_points(true, pred, diagonal=True)
            self.residual_plot.set_points(pred, true - pred, zero_line=True)

    def _fill_confusion(self) -> None:
        r = self.results
        if r is None or not hasattr(r, "confusion"):
            return
        normalised = self.normalised_check.isChecked()
        values = r.normalised() if normalised else r.confusion
        shares = r.normalised()
        k = len(r.class_names)
        table = self.confusion
        table.setRowCount(k)
        table.setColumnCount(k)
        table.setHorizontalHeaderLabels([f"→ {n}" for n in r.class_names])
        table.setVerticalHeaderLabels(list(r.class_names))
        for i in range(k):
            for j in range(k):
                text = f"{values[i, j]:.2f}" if normalised else f"{int(values[i, j])}"
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                base = (44, 160, 44) if i == j else (214, 39, 40)
                s = float(shares[i, j])
                item.setBackground(QColor(*(int(255 - (255 - c) * s) for c in base)))
                item.setForeground(QColor("white") if s > 0.6 else QColor("black"))
                item.setToolTip(f"true {r.class_names[i]}, predicted {r.class_names[j]}: {int(r.confusion[i, j])}")
                table.setItem(i, j, item)
        table.resizeColumnsToContents()

    def _fill_per_class(self) -> None:
        r = self.results
        table = self.per_class
        table.setRowCount(len(r.class_names))
        table.setColumnCount(4)
        table.setHorizontalHeaderLabels(["precision", "recall", "F1", "samples"])
        table.setVerticalHeaderLabels(list(r.class_names))
        for i in range(len(r.class_names)):
            for j, value in enumerate((r.precision[i], r.recall[i], r.f1[i])):
                table.setItem(i, j, QTableWidgetItem("—" if not math.isfinite(value) else f"{value:.3f}"))
            table.setItem(i, 3, QTableWidgetItem(f"{int(r.support[i])}"))
        table.resizeColumnsToContents()

    def _fill_mistakes(self) -> None:
        from nnstudio.ml.cnn_views import sample_image

        r, data = self.results, self.data
        if len(data.input_shape) == 3 and r.mistakes:
            pictures = [rgb_image(sample_image(data.x_val[m.index], data.feature_mean, data.feature_std))
                        for m in r.mistakes]
            self.gallery.set_images(pictures)
            self.gallery_label.setText(f"Most confidently wrong ({len(r.mistakes)}): click one for details")
            for w in (self.gallery, self.gallery_label, self.mistake_label):
                w.setVisible(True)
        elif data.points_val is not None:
            wrong = r.predicted != data.y_val
            pts = data.points_val
            self.points.set_points(pts[:, 0], pts[:, 1], wrong, extent=(-6.0, 6.0, -6.0, 6.0))
            self.points.setVisible(True)
        elif r.mistakes:
            lines = [f"#{m.index}: {r.class_names[m.true]} → {r.class_names[m.predicted]} ({m.confidence:.0%})"
                     for m in r.mistakes[:8]]
            self.mistake_label.setText("Most confidently wrong: " + "; ".join(lines))
            self.mistake_label.setVisible(True)

    def _describe_mistake(self, index: int) -> None:
        m = self.results.mistakes[index]
        names = self.results.class_names
        self.mistake_label.setText(f"Validation sample {m.index}: a {names[m.true]}, taken for a "
                                   f"{names[m.predicted]} with {m.confidence:.0%} confidence.")
