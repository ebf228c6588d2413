"""The Filters & maps dock: one sample's feature maps per conv/pool layer, the kernels as pictures, and on a
click which input pixels drive the clicked map (gradient saliency) or the prediction (Grad-CAM).

Numbers come from `nnstudio.ml.cnn_views` run on the GUI's own CPU copy of the network (`ModelCopy`), loaded
with the weights the training tap delivers at a bounded rate.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from .model_copy import ModelCopy

MAX_MAPS = 32  # maps drawn per layer
TILE = 44  # pixels per map tile
PICTURE = 128  # pixels of the sample and explanation pictures
EMPTY_MESSAGE = "Train a design with Conv2d layers (or open its checkpoint) to see its filters and feature maps."


def rgb_image(rgb: Any) -> QImage:
    """An (H, W, 3) float array in 0..1 as a QImage that owns its pixels."""
    import numpy as np

    a = np.clip(np.asarray(rgb, dtype=np.float32) * 255 + 0.5, 0, 255).astype(np.uint8)
    a = np.ascontiguousarray(a)
    h, w = a.shape[:2]
    return QImage(a.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class ImageGrid(QWidget):
    """Small pictures in rows, enlarged pixel for pixel (nearest neighbour), each with an optional caption
    under it; `clicked(index)` when one is clicked; the selected one is outlined."""

    clicked = Signal(int)
    CAPTION = 15  # pixels of a caption line

    def __init__(self, tile: int = TILE, columns: int = 16, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tile, self.columns = tile, columns
        self.images: list[QImage] = []
        self.captions: list[str] = []
        self.selected = -1
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

    def set_images(self, images: list[QImage], captions: list[str] | None = None) -> None:
        self.images = images
        self.captions = list(captions or [])
        self.updateGeometry()
        self.update()

    def _cols(self) -> int:
        return max(1, min(self.columns, len(self.images) or 1))

    def _cell(self) -> tuple[int, int]:
        return self.tile + 3, self.tile + 3 + (self.CAPTION if self.captions else 0)

    def sizeHint(self) -> QSize:
        rows = -(-len(self.images) // self._cols()) if self.images else 1
        width, height = self._cell()
        return QSize(self._cols() * width, rows * height)

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint()

    def index_at(self, x: float, y: float) -> int:
        width, height = self._cell()
        col, row = int(x // width), int(y // height)
        if col >= self._cols():
            return -1
        index = row * self._cols() + col
        return index if 0 <= index < len(self.images) else -1

    def tile_rect(self, index: int) -> QRectF:
        row, col = divmod(index, self._cols())
        width, height = self._cell()
        return QRectF(col * width, row * height, self.tile, self.tile)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        index = self.index_at(event.position().x(), event.position().y())
        if index >= 0:
            self.selected = index
            self.update()
            self.clicked.emit(index)

    def paintEvent(self, event: Any) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)  # kernels are a few pixels
        font = painter.font()
        font.setPointSizeF(max(6.0, font.pointSizeF() * 0.8))
        painter.setFont(font)
        for i, image in enumerate(self.images):
            rect = self.tile_rect(i)
            painter.drawImage(rect, image)
            painter.setPen(QPen(QColor(255, 140, 0) if i == self.selected else QColor(0, 0, 0, 70),
                                3 if i == self.selected else 1))
            painter.drawRect(rect)
            if i < len(self.captions):
                painter.setPen(self.palette().text().color())
                painter.drawText(QRectF(rect.left() - 1, rect.bottom() + 1, rect.width() + 3, self.CAPTION),
                                 Qt.AlignmentFlag.AlignCenter, self.captions[i])


class FiltersMapsView(QWidget):
    """The dock's content. Feed it `set_run_data` once per run and `set_weights` as weights arrive."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("filtersMapsView")
        self.copy = ModelCopy()
        self.data: Any = None
        self.selection: tuple[str, int] | None = None  # (layer, channel) whose saliency is shown
        self.grids: dict[str, ImageGrid] = {}

        self.message = QLabel(EMPTY_MESSAGE)
        self.message.setObjectName("filtersMapsMessage")
        self.message.setWordWrap(True)
        self.sample_spin = QSpinBox(objectName="filtersSampleSpin")
        self.sample_spin.setToolTip("Which validation sample to look at")
        self.sample_spin.valueChanged.connect(lambda _v: self.refresh())
        self.mode_combo = QComboBox(objectName="filtersExplainCombo")
        self.mode_combo.addItem("Gradient saliency of the clicked map", "saliency")
        self.mode_combo.addItem("Grad-CAM of the clicked layer", "gradcam")
        self.mode_combo.currentIndexChanged.connect(lambda _i: self._explain())
        self.sample_label = QLabel(objectName="filtersSampleLabel")
        self.sample_picture = QLabel(objectName="filtersSamplePicture")
        self.explain_picture = QLabel(objectName="filtersExplainPicture")
        self.explain_label = QLabel("Click a feature map to see which input pixels drive it.",
                                    objectName="filtersExplainLabel")
        self.explain_label.setWordWrap(True)
        self.kernel_layer_combo = QComboBox(objectName="filtersKernelLayerCombo")
        self.kernel_layer_combo.setToolTip("Whose kernels to draw: the first layer's in colour, deeper ones per "
                                           "input channel")
        self.kernel_layer_combo.currentIndexChanged.connect(lambda _i: self._kernels_changed())
        self.kernel_channel_spin = QSpinBox(objectName="filtersKernelChannelSpin")
        self.kernel_channel_spin.setToolTip("Input channel of a deeper layer's kernels")
        self.kernel_channel_spin.valueChanged.connect(lambda _v: self._kernels_changed())
        self.kernel_label = QLabel(objectName="filtersKernelLabel")
        self.kernel_grid = ImageGrid(tile=64, columns=12)
        self.kernel_labels: list[str] = []  # describe_kernel of each first-layer kernel shown
        self.kernel_grid.setObjectName("filtersKernelGrid")
        self.learned_label = QLabel(objectName="filtersLearnedLabel")
        self.learned_grid = ImageGrid(tile=48, columns=16)
        self.learned_grid.setObjectName("filtersLearnedGrid")
        self.initial: dict[str, Any] | None = None  # the design seed's initial weights
        self.maps_box = QVBoxLayout()

        top = QHBoxLayout()
        top.addWidget(QLabel("Sample"))
        top.addWidget(self.sample_spin)
        top.addWidget(self.sample_label, 1)
        top.addWidget(self.mode_combo)
        pictures = QHBoxLayout()
        for picture in (self.sample_picture, self.explain_picture):
            picture.setFixedSize(PICTURE, PICTURE)
            pictures.addWidget(picture)
        pictures.addWidget(self.explain_label, 1)
        inner = QWidget()
        column = QVBoxLayout(inner)
        column.addWidget(self.message)
        column.addLayout(top)
        column.addLayout(pictures)
        kernel_row = QHBoxLayout()
        kernel_row.addWidget(QLabel("Kernels of"))
        kernel_row.addWidget(self.kernel_layer_combo)
        kernel_row.addWidget(QLabel("input channel"))
        kernel_row.addWidget(self.kernel_channel_spin)
        kernel_row.addStretch(1)
        column.addLayout(kernel_row)
        column.addWidget(self.kernel_label)
        column.addWidget(self.kernel_grid)
        column.addWidget(self.learned_label)
        column.addWidget(self.learned_grid)
        column.addLayout(self.maps_box)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setObjectName("filtersMapsScroll")
        scroll.setWidgetResizable(True)
        scroll.setWidget(inner)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)

    # ---- input -------------------------------------------------------------------------------------

    def set_run_data(self, data: Any) -> None:
        self.data = data
        self.initial = None
        n = 0 if data.x_val is None else len(data.x_val)
        self.sample_spin.setRange(0, max(0, n - 1))
        self.selection = None

    def set_weights(self, weights: dict[str, Any], step: int) -> None:
        if self.data is None or not self.copy.load(self.data.design, weights, step):
            return
        if self.isVisible():
            self.refresh()

    @property
    def ready(self) -> bool:
        return self.copy.model is not None and self.data is not None and self.data.x_val is not None \
            and len(self.data.input_shape) == 3

    # ---- drawing -----------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Recompute and draw everything for the current sample and weights."""
        from nnstudio.ml import cnn_views

        if not self.ready or not cnn_views.map_layers(self.copy.model):
            self.message.setVisible(True)
            return
        self.message.setVisible(False)
        model, data = self.copy.model, self.data
        sample = data.x_val[self.sample_spin.value()]
        maps, probs = cnn_views.feature_maps(model, sample)
        self._show_sample(sample, probs)
        self._show_kernels(model)
        self._show_maps(maps)
        self._explain()

    def _picture(self, rgb: Any) -> Any:
        return rgb_image(rgb).scaled(PICTURE, PICTURE, Qt.AspectRatioMode.KeepAspectRatio,
                                     Qt.TransformationMode.FastTransformation)

    def _show_sample(self, sample: Any, probs: Any) -> None:
        from PySide6.QtGui import QPixmap

        from nnstudio.ml.cnn_views import sample_image

        data = self.data
        picture = sample_image(sample, data.feature_mean, data.feature_std)
        self._sample_rgb = picture
        self.sample_picture.setPixmap(QPixmap.fromImage(self._picture(picture)))
        names = data.class_names
        index = self.sample_spin.value()
        text = f"step {self.copy.step:,}"
        if names and data.task == "multiclass":
            guess = int(probs.argmax())
            text = (f"true {names[int(data.y_val[index])]} · predicted {names[guess]} ({probs[guess]:.0%}) · " + text)
        self.sample_label.setText(text)

    def _kernels_changed(self) -> None:
        if self.ready:
            self._show_kernels(self.copy.model)

    def _show_kernels(self, model: Any) -> None:
        from nnstudio.ml.cnn_views import conv_layers, kernel_images, kernel_labels

        convs = conv_layers(model)
        if not convs:
            return
        combo = self.kernel_layer_combo
        if [combo.itemText(i) for i in range(combo.count())] != convs:
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(convs)
            combo.blockSignals(False)
        layer = combo.currentText() or convs[0]
        in_channels = getattr(model, layer).in_channels
        first_rgb = layer == convs[0] and in_channels == 3
        self.kernel_channel_spin.setEnabled(not first_rgb and in_channels > 1)
        self.kernel_channel_spin.setRange(0, in_channels - 1)
        k = kernel_images(model, layer, None if first_rgb else self.kernel_channel_spin.value(), per_kernel=True)
        what = "colour kernels" if k.channel is None and k.in_channels == 3 else (
            "kernels" if k.channel is None else f"kernels, input channel {k.channel}")
        labels = kernel_labels(model, layer) if first_rgb else []
        self.kernel_label.setText(f"{k.layer}: {len(k.images)} {what}, each scaled to its own range (grey = 0, "
                                  f"largest ±{k.scale:.3g})" + (": what each responds to most" if labels else ""))
        self.kernel_grid.set_images([rgb_image(img) for img in k.images],
                                    [f"{i + 1} {label}" for i, label in enumerate(labels)])
        self.kernel_labels = labels
        if self.initial is None:
            from nnstudio.ml.cnn_views import initial_weights

            self.initial = initial_weights(self.data.design)
        learned = kernel_images(model, layer, k.channel, initial=self.initial, per_kernel=True)
        self.learned_label.setText("…and what training changed: weights − the seed's initial weights "
                                   f"(each kernel scaled to its own range, largest ±{learned.scale:.3g})")
        self.learned_grid.set_images([rgb_image(img) for img in learned.images])

    def _show_maps(self, maps: dict[str, Any]) -> None:
        from nnstudio.ml.report_charts import heat_rgb

        for name in [n for n in self.grids if n not in maps]:
            grid = self.grids.pop(name)
            grid.title.deleteLater()
            grid.deleteLater()
        for name, values in maps.items():
            grid = self.grids.get(name)
            if grid is None:
                grid = ImageGrid(tile=TILE if values.shape[1] >= 8 else 32, columns=16)
                grid.setObjectName(f"featureMaps_{name}")
                grid.title = QLabel()
                grid.clicked.connect(lambda i, n=name: self.select_map(n, i))
                self.maps_box.addWidget(grid.title)
                self.maps_box.addWidget(grid)
                self.grids[name] = grid
            shown = values[:MAX_MAPS]
            more = f", first {len(shown)} shown" if len(values) > len(shown) else ""
            grid.title.setText(f"{name}: {len(values)} maps of {values.shape[1]}×{values.shape[2]}{more}")
            grid.set_images([rgb_image(heat_rgb(m)) for m in shown])

    def select_map(self, layer: str, channel: int) -> None:
        self.selection = (layer, channel)
        for name, grid in self.grids.items():
            if name != layer:
                grid.selected = -1
                grid.update()
        self._explain()

    def _explain(self) -> None:
        from PySide6.QtGui import QPixmap

        from nnstudio.ml import cnn_views
        from nnstudio.ml.report_charts import heat_rgb

        if self.selection is None or not self.ready:
            self.explain_picture.clear()
            return
        layer, channel = self.selection
        sample = self.data.x_val[self.sample_spin.value()]
        if self.mode_combo.currentData() == "gradcam" and self.data.task != "regression":
            heat, target = cnn_views.grad_cam(self.copy.model, sample, layer)
            names = self.data.class_names
            what = f"Grad-CAM of {layer} for class {names[target] if names else target}"
        else:
            heat = cnn_views.saliency(self.copy.model, sample, layer, channel)
            what = f"pixels that drive {layer} map {channel} (|gradient|)"
        self.last_explanation = heat
        blend = 0.5 * self._sample_rgb + 0.5 * heat_rgb(heat)
        self.explain_picture.setPixmap(QPixmap.fromImage(self._picture(blend)))
        self.explain_label.setText(what)
