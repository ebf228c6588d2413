"""The Output dock for data without Playground's plane: what the model predicts for validation samples.

Draws the `OutputSamples` of each publication (computed on the training device, see
`nnstudio.ml.output_samples`): a grid of images with the predicted and the true class (wrong ones framed
in red), predicted against true values for regression, or a table of validation rows with the true and the
predicted class and its probability, under the per-class accuracy of the whole validation set.
Nothing here computes a prediction; it only shows the model's.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QRect, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from nnstudio.gui.base.dock_layout import elastic_label

WRONG = QColor("#d62728")
RIGHT = QColor("#2ca02c")
TABLE_FEATURES = 4  # feature columns shown in the table (the first ones)
WAITING = "Predictions for validation samples appear here once training starts."
IMAGE_LEGEND = "Validation images with the predicted class"
NO_VALIDATION = ("No validation data: set some aside (the Training data slider under 100 %) "
                 "to see the model's predictions here.")


def class_label(names: tuple[str, ...], index: int) -> str:
    return names[index] if 0 <= index < len(names) and names[index] else str(index)


def to_qimage(image: np.ndarray) -> tuple[QImage, np.ndarray]:
    """A (C, H, W) sample as an 8-bit image scaled to its own range (3 channels: colour; else the first)."""
    image = np.asarray(image, dtype=np.float32)
    pixels = np.moveaxis(image[:3], 0, -1) if image.shape[0] == 3 else image[0]
    low, high = float(np.nanmin(pixels)), float(np.nanmax(pixels))
    scaled = (pixels - low) / (high - low) if high > low else np.zeros_like(pixels)
    data = np.ascontiguousarray(np.nan_to_num(scaled * 255).clip(0, 255).astype(np.uint8))
    h, w = data.shape[:2]
    if data.ndim == 3:
        return QImage(data.data, w, h, 3 * w, QImage.Format.Format_RGB888), data
    return QImage(data.data, w, h, w, QImage.Format.Format_Grayscale8), data


class SampleImages(QWidget):
    """A grid of validation images, each captioned with its predicted class; a wrong one is framed in red
    and captioned "true→predicted"."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("outputImages")
        self.samples: Any = None
        self.names: tuple[str, ...] = ()
        self._images: list[tuple[QImage, np.ndarray]] = []

    def show_samples(self, samples: Any, names: tuple[str, ...]) -> None:
        if self.samples is None or self.samples.inputs is not samples.inputs:
            self._images = [to_qimage(x) for x in samples.inputs]  # the inputs never change within a run
        self.samples, self.names = samples, names
        self.update()

    def clear(self) -> None:
        self.samples, self._images = None, []
        self.update()

    def captions(self) -> list[str]:
        """What each cell says, in order ("7" when right, "8→3" when it predicts 3 for an 8)."""
        s = self.samples
        if s is None:
            return []
        out = []
        for predicted, true in zip(s.predicted.tolist(), s.targets.tolist(), strict=True):
            text = class_label(self.names, predicted)
            out.append(text if predicted == true else f"{class_label(self.names, true)}→{text}")
        return out

    def layout_cells(self) -> tuple[int, int, int]:
        """(columns, cell side in pixels, caption height) that fit every sample in the widget."""
        n = len(self._images)
        caption = self.fontMetrics().height() + 2
        best = (1, 0)
        for cols in range(1, max(1, n) + 1):
            rows = math.ceil(n / cols)
            side = min(self.width() // cols, self.height() // rows - caption) if rows else 0
            if side > best[1]:
                best = (cols, side)
        return best[0], max(0, best[1]), caption

    def paintEvent(self, event: Any) -> None:
        if self.samples is None:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        cols, side, caption = self.layout_cells()
        metrics = painter.fontMetrics()
        pad = max(2, side // 12)
        text_colour = self.palette().color(QPalette.ColorRole.WindowText)
        wrong = self.samples.wrong
        for i, ((image, _data), text) in enumerate(zip(self._images, self.captions(), strict=True)):
            x, y = (i % cols) * side, (i // cols) * (side + caption)
            target = QRect(x + pad, y + pad, side - 2 * pad, side - 2 * pad)
            painter.drawImage(target, image)
            if wrong[i]:
                painter.setPen(QPen(WRONG, max(2, pad // 2)))
                painter.drawRect(target.adjusted(-1, -1, 1, 1))
            painter.setPen(WRONG if wrong[i] else text_colour)
            text = metrics.elidedText(text, Qt.TextElideMode.ElideRight, side)
            painter.drawText(QRect(x, y + side, side, caption), Qt.AlignmentFlag.AlignCenter, text)
        painter.end()


class RegressionScatter(QWidget):
    """Predicted against true values of the validation sample, with the y = x line of a perfect model."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("outputScatter")
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.summary = elastic_label(QLabel(""))
        self.summary.setObjectName("outputScatterSummary")
        row.addWidget(self.summary, 1)
        self.target_combo = QComboBox()
        self.target_combo.setObjectName("outputScatterTarget")
        self.target_combo.setToolTip("Which output to plot")
        self.target_combo.currentIndexChanged.connect(lambda _i: self._draw())
        row.addWidget(self.target_combo)
        column.addLayout(row)
        palette = self.palette()
        self.plot = pg.PlotWidget(background=palette.color(QPalette.ColorRole.Base))
        self.plot.setObjectName("outputScatterPlot")
        item = self.plot.getPlotItem()
        item.setLabel("bottom", "true value")
        item.setLabel("left", "predicted")
        for side in ("left", "bottom"):
            axis = item.getAxis(side)
            axis.setPen(pg.mkPen(palette.color(QPalette.ColorRole.Text)))
            axis.setTextPen(pg.mkPen(palette.color(QPalette.ColorRole.Text)))
        self.diagonal = pg.PlotDataItem([], [], pen=pg.mkPen("#7f7f7f", width=1, style=Qt.PenStyle.DashLine))
        self.points = pg.ScatterPlotItem(size=5, pen=None, brush=pg.mkBrush(31, 119, 180, 160))
        self.plot.addItem(self.diagonal)
        self.plot.addItem(self.points)
        self.plot.setMinimumHeight(self.plot.fontMetrics().height() * 8)
        column.addWidget(self.plot, 1)
        self.samples: Any = None

    def show_samples(self, samples: Any, names: tuple[str, ...] = ()) -> None:
        outputs = samples.predicted.shape[1] if samples.predicted.ndim == 2 else 1
        if self.target_combo.count() != outputs:
            self.target_combo.blockSignals(True)
            self.target_combo.clear()
            self.target_combo.addItems([f"output {i + 1}" for i in range(outputs)])
            self.target_combo.blockSignals(False)
        self.target_combo.setVisible(outputs > 1)
        self.samples = samples
        self._draw()

    def values(self) -> tuple[np.ndarray, np.ndarray]:
        """(true, predicted) of the chosen output, as drawn."""
        s, k = self.samples, max(0, self.target_combo.currentIndex())
        true = np.asarray(s.targets, dtype=np.float64).reshape(len(s.targets), -1)[:, k]
        predicted = np.asarray(s.predicted, dtype=np.float64).reshape(len(s.predicted), -1)[:, k]
        return true, predicted

    def _draw(self) -> None:
        if self.samples is None:
            return
        true, predicted = self.values()
        finite = np.isfinite(predicted)
        self.points.setData(true[finite], predicted[finite])
        both = np.concatenate([true, predicted[finite]])
        if both.size:
            low, high = float(both.min()), float(both.max())
            self.diagonal.setData([low, high], [low, high])
        error = predicted - true
        spread = float(np.sum((true - true.mean()) ** 2))
        r2 = 1.0 - float(np.sum(error ** 2)) / spread if spread > 0 else float("nan")
        self.summary.setText(f"{len(true):,} validation samples   mean |error| {np.mean(np.abs(error)):.4g}   "
                             f"R² {r2:.3f}")

    def clear(self) -> None:
        self.samples = None
        self.points.setData([], [])
        self.diagonal.setData([], [])
        self.summary.setText("")


class SampleRows(QAbstractTableModel):
    """Validation rows: index, true class, predicted class, its probability, a few features."""

    def __init__(self) -> None:
        super().__init__()
        self.samples: Any = None
        self.names: tuple[str, ...] = ()
        self.features: tuple[str, ...] = ()

    def set_samples(self, samples: Any, names: tuple[str, ...], features: tuple[str, ...]) -> None:
        self.beginResetModel()
        self.samples, self.names, self.features = samples, names, features
        self.endResetModel()

    def feature_count(self) -> int:
        if self.samples is None or self.samples.inputs.ndim != 2:
            return 0
        return min(TABLE_FEATURES, self.samples.inputs.shape[1])

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if self.samples is None or parent.isValid() else len(self.samples.targets)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 4 + self.feature_count()

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole or orientation != Qt.Orientation.Horizontal:
            return None
        if section < 4:
            return ("sample", "true", "predicted", "probability")[section]
        k = section - 4
        return self.features[k] if k < len(self.features) else f"x{k + 1}"

    def text(self, row: int, column: int) -> str:
        s = self.samples
        if column == 0:
            return str(row)
        if column == 1:
            return class_label(self.names, int(s.targets[row]))
        if column == 2:
            mark = "" if s.predicted[row] == s.targets[row] else "  ✗"
            return class_label(self.names, int(s.predicted[row])) + mark
        if column == 3:
            return f"{float(s.confidence[row]):.1%}"
        return f"{float(s.inputs[row, column - 4]):.3g}"

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or self.samples is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.text(index.row(), index.column())
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == 2:
            return WRONG if self.samples.wrong[index.row()] else None
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() != 2:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class SampleTable(QWidget):
    """Per-class accuracy of the validation set over a table of its first rows."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("outputTable")
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        self.per_class = elastic_label(QLabel(""))
        self.per_class.setObjectName("outputClassAccuracy")
        self.per_class.setWordWrap(True)
        column.addWidget(self.per_class)
        self.rows = SampleRows()
        self.view = QTableView()
        self.view.setObjectName("outputRows")
        self.view.setModel(self.rows)
        self.view.verticalHeader().setVisible(False)
        self.view.setWordWrap(False)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self._sized_for = -1  # the column count the columns were last fitted to
        self.view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        column.addWidget(self.view, 1)

    def show_samples(self, samples: Any, names: tuple[str, ...], features: tuple[str, ...] = ()) -> None:
        self.rows.set_samples(samples, names, features)
        if self.rows.columnCount() != self._sized_for:  # once per run: the user may widen columns
            self._sized_for = self.rows.columnCount()
            self.view.resizeColumnsToContents()
        self.per_class.setText(self.class_summary(samples, names))

    @staticmethod
    def class_summary(samples: Any, names: tuple[str, ...]) -> str:
        parts = []
        for c, (accuracy, count) in enumerate(zip(samples.class_accuracy, samples.class_counts, strict=True)):
            if count:
                parts.append(f"{class_label(names, c)} {accuracy:.0%} of {int(count):,}")
        return "Right per class (all validation data): " + ",  ".join(parts)

    def clear(self) -> None:
        self.rows.set_samples(None, (), ())
        self._sized_for = -1
        self.per_class.setText("")


class OutputSamplesView(QStackedWidget):
    """The page of the Output dock for data without a 2-D plane: picks the view that fits the sample."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("outputSamples")
        self.message = QLabel(WAITING)
        self.message.setObjectName("outputSamplesMessage")
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.images = SampleImages()
        self.image_page = QWidget()
        self.image_page.setObjectName("outputImagePage")
        page = QVBoxLayout(self.image_page)
        page.setContentsMargins(0, 0, 0, 0)
        self.image_legend = elastic_label(QLabel(IMAGE_LEGEND))
        self.image_legend.setObjectName("outputImageLegend")
        page.addWidget(self.image_legend)
        page.addWidget(self.images, 1)
        self.scatter = RegressionScatter()
        self.table = SampleTable()
        for widget in (self.message, self.image_page, self.scatter, self.table):
            self.addWidget(widget)
        self.class_names: tuple[str, ...] = ()
        self.feature_names: tuple[str, ...] = ()
        self.samples: Any = None

    def begin(self, info: Any) -> None:
        """A run starts: its class and feature names; a run without validation data says so."""
        self.class_names = tuple(getattr(info, "class_names", ()) or ())
        self.feature_names = tuple(getattr(info, "feature_names", ()) or ())
        if getattr(info, "num_val", 1) == 0:
            self.clear(NO_VALIDATION)

    def show_samples(self, samples: Any) -> None:
        self.samples = samples
        if samples.kind == "images":
            self.images.show_samples(samples, self.class_names)
            wrong = int(samples.wrong.sum())
            self.image_legend.setText(f"{len(samples.targets)} validation images, {wrong} wrong "
                                      "(red: true→predicted)")
            self.setCurrentWidget(self.image_page)
        elif samples.kind == "regression":
            self.scatter.show_samples(samples)
            self.setCurrentWidget(self.scatter)
        else:
            self.table.show_samples(samples, self.class_names, self.feature_names)
            self.setCurrentWidget(self.table)

    def clear(self, message: str = WAITING) -> None:
        self.samples = None
        for view in (self.images, self.scatter, self.table):
            view.clear()
        self.message.setText(message)
        self.image_legend.setText(IMAGE_LEGEND)
        self.setCurrentWidget(self.message)
