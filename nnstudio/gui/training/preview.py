"""A look at the chosen data before training: 2-D points by class, sample images, or the first rows.

Loading happens on a short-lived background thread (a CSV may be large, and scikit-learn is slow to
import), so typing a path or dragging the noise slider never freezes the window; only the newest request's
answer is shown. Drawing uses plain QPainter, so the panel needs no plotting library at start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from nnstudio.core import Design
from nnstudio.core.settings import DatasetSpec

from ..base.background import BackgroundWorker

if TYPE_CHECKING:  # numpy is imported where arrays are handled, after the window is on screen
    import numpy as np

MAX_POINTS = 2000
MAX_IMAGES = 24
TABLE_ROWS = 8
TABLE_COLUMNS = 12
EXTENT = 6.0  # Playground's [-6, 6] square


class DatasetLoader(QObject):
    """Loads a dataset (and checks it against the design) off the GUI thread."""

    loaded = Signal(int, object, str, list)  # request id, Dataset or None, error text, fit problems

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._request = 0
        self.busy = 0  # loads in flight (tests wait for 0)

    def request(self, spec: DatasetSpec, design: Design, base_dir: str | None) -> int:
        self._request += 1
        request = self._request
        self.busy += 1
        worker = BackgroundWorker(lambda: self._load(spec, design, base_dir), "nnstudio-dataset-preview", self)
        worker.returned.connect(lambda result, r=request: self._loaded(r, *result))
        worker.finished.connect(worker.deleteLater)
        worker.start()
        return request

    @property
    def latest(self) -> int:
        return self._request

    def _loaded(self, request: int, dataset: Any, error: str, problems: list) -> None:
        self.busy -= 1
        self.loaded.emit(request, dataset, error, problems)

    @staticmethod
    def _load(spec: DatasetSpec, design: Design, base_dir: str | None) -> tuple[Any, str, list[str]]:
        from nnstudio.core import NNStudioError
        from nnstudio.data import dataset_diagnostics, load_dataset

        dataset, error, problems = None, "", []
        try:
            dataset = load_dataset(spec, base_dir)
            problems = [d.message for d in dataset_diagnostics(design, base_dir)]
        except NNStudioError as exc:
            error = str(exc)
        except Exception as exc:  # noqa: BLE001 - a preview never takes the window down
            error = f"{type(exc).__name__}: {exc}"
        return dataset, error, problems


class ScatterPreview(QWidget):
    """Playground's square: training points filled, validation points as rings, coloured by class or value."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("previewScatter")
        self._train: tuple[np.ndarray, list[QColor]] | None = None
        self._val: tuple[np.ndarray, list[QColor]] | None = None
        self._picture: QPixmap | None = None  # drawn once per data and size, then only copied
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(self.fontMetrics().height() * 11)

    def set_points(self, train: np.ndarray, train_colours: list[QColor], val: np.ndarray | None = None,
                   val_colours: list[QColor] | None = None) -> None:
        self._train = (train[:MAX_POINTS], train_colours[:MAX_POINTS])
        self._val = (val[:MAX_POINTS], (val_colours or [])[:MAX_POINTS]) if val is not None else None
        self._picture = None
        self.update()

    @property
    def point_count(self) -> int:
        return (len(self._train[0]) if self._train else 0) + (len(self._val[0]) if self._val else 0)

    def paintEvent(self, event) -> None:
        ratio = self.devicePixelRatioF()
        if self._picture is None or self._picture.size() != self.size() * ratio:
            self._picture = QPixmap(self.size() * ratio)
            self._picture.setDevicePixelRatio(ratio)
            self._picture.fill(Qt.GlobalColor.transparent)
            self._draw(QPainter(self._picture))
        QPainter(self).drawPixmap(0, 0, self._picture)

    def _draw(self, painter: QPainter) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        side = min(self.width(), self.height()) - 2
        square = QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)
        painter.fillRect(square, QColor("#ffffff"))
        painter.setPen(QPen(QColor("#e8eaeb").darker(120), 1))
        painter.drawRect(square)
        radius = max(1.5, side / 110)

        def place(p: np.ndarray) -> QPointF:
            return QPointF(square.left() + (p[0] + EXTENT) / (2 * EXTENT) * side,
                           square.bottom() - (p[1] + EXTENT) / (2 * EXTENT) * side)

        for data, filled in ((self._train, True), (self._val, False)):
            if data is None:
                continue
            points, colours = data
            for p, colour in zip(points, colours, strict=False):
                if filled:
                    painter.setPen(QPen(QColor("white"), 0.6))
                    painter.setBrush(colour)
                else:
                    painter.setPen(QPen(colour, 1.2))
                    painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawEllipse(place(p), radius, radius)
        painter.end()


class ImagesPreview(QWidget):
    """The first samples of an image dataset, in a grid."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("previewImages")
        self.images: list[QImage] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(self.fontMetrics().height() * 8)

    def set_samples(self, x: np.ndarray) -> None:
        self.images = [_sample_image(sample) for sample in x[:MAX_IMAGES]]
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(self.fontMetrics().height() * 16, self.fontMetrics().height() * 8)

    def paintEvent(self, event) -> None:
        if not self.images:
            return
        painter = QPainter(self)
        columns = 8
        rows = (len(self.images) + columns - 1) // columns
        gap = 3
        side = min((self.width() - gap * (columns - 1)) / columns, (self.height() - gap * (rows - 1)) / rows)
        for i, image in enumerate(self.images):
            r, c = divmod(i, columns)
            painter.drawImage(QRectF(c * (side + gap), r * (side + gap), side, side), image)


def _sample_image(sample: Any) -> QImage:
    """A (C, H, W) sample as an 8-bit image, contrast-stretched on its own."""
    import numpy as np

    array = np.asarray(sample, dtype=np.float32)
    if array.ndim == 3:
        array = array[0] if array.shape[0] != 3 else np.moveaxis(array, 0, -1)
    low, high = float(np.min(array)), float(np.max(array))
    scaled = np.zeros_like(array) if high <= low else (array - low) / (high - low)
    pixels = np.ascontiguousarray((scaled * 255).astype(np.uint8))
    if pixels.ndim == 3:
        h, w = pixels.shape[:2]
        return QImage(pixels.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
    h, w = pixels.shape
    return QImage(pixels.data, w, h, w, QImage.Format.Format_Grayscale8).copy()


class DatasetPreview(QStackedWidget):
    """Shows a loaded `Dataset`: scatter for 2-D sets, images for image sets, else a table of first rows."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("datasetPreview")
        self.scatter = ScatterPreview()
        self.images = ImagesPreview()
        self.table = QTableWidget()
        self.table.setObjectName("previewTable")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setFixedHeight(self.fontMetrics().height() * 11)
        self.message = QLabel()
        self.message.setObjectName("previewMessage")
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setMinimumHeight(self.fontMetrics().height() * 4)
        for widget in (self.scatter, self.images, self.table, self.message):
            self.addWidget(widget)
        self.show_message("The data appears here.")

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.setCurrentWidget(self.message)

    @property
    def kind(self) -> str:
        return {self.scatter: "scatter", self.images: "images", self.table: "table"}.get(self.currentWidget(),
                                                                                          "message")

    def show_dataset(self, dataset: Any) -> None:
        if dataset.points_train is not None:
            self.scatter.set_points(dataset.points_train, _colours(dataset, dataset.y_train),
                                    dataset.points_val, _colours(dataset, dataset.y_val))
            self.setCurrentWidget(self.scatter)
        elif len(dataset.input_shape) == 3:
            self.images.set_samples(dataset.x_train)
            self.setCurrentWidget(self.images)
        else:
            self._fill_table(dataset)
            self.setCurrentWidget(self.table)

    def _fill_table(self, dataset: Any) -> None:
        import numpy as np

        names = list(dataset.feature_names) or [f"x{i + 1}" for i in range(dataset.x_train.shape[1])]
        shown = names[:TABLE_COLUMNS]
        headers = shown + (["…"] if len(names) > len(shown) else []) + ["target"]
        rows = min(TABLE_ROWS, len(dataset.x_train))
        self.table.clear()
        self.table.setColumnCount(len(headers))
        self.table.setRowCount(rows)
        self.table.setHorizontalHeaderLabels(headers)
        for r in range(rows):
            values = dataset.x_train[r]
            for c in range(len(shown)):
                self.table.setItem(r, c, QTableWidgetItem(f"{float(values[c]):.3g}"))
            target = dataset.y_train[r]
            if dataset.is_classification:
                text = dataset.class_names[int(target)] if int(target) < len(dataset.class_names) else str(target)
            else:
                text = ", ".join(f"{float(v):.3g}" for v in np.ravel(target))
            self.table.setItem(r, len(headers) - 1, QTableWidgetItem(text))


def _colours(dataset: Any, y: Any) -> list[QColor]:
    import numpy as np

    from .colors import class_colour, rgba_from_signed

    if dataset.is_classification:
        palette = [class_colour(i) for i in range(max(2, dataset.num_classes))]
        return [palette[int(v)] for v in y]
    values = np.clip(np.asarray(y, dtype=np.float32).reshape(len(y), -1)[:, 0], -1.0, 1.0)
    return [QColor(*rgba[:3]) for rgba in rgba_from_signed(values).tolist()]
