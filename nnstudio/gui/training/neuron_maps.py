"""Playground's little heatmaps on the canvas: what every neuron of a small Dense layer computes over the plane.

Each map strip is a child item of the layer's block (found through the canvas's public layer id → block
map), so it moves with the block and goes away with it; the block's own cached drawing is untouched. The
strip sits just under the block, one square per neuron, on Playground's fixed −1 … +1 colour scale. The
Output block gets the output heatmap the same way.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem
from shiboken6 import isValid

from .pacing import PaintClock

MAP_Z = 5.0
# Maps are drawn from every second grid cell: 50×50 is plenty for a square a few dozen pixels wide.
SUBSAMPLE = 2


class NeuronMapStrip(QGraphicsItem):
    """A row of small heatmaps under a block, one per neuron."""

    def __init__(self, block: QGraphicsItem, style: Any) -> None:
        super().__init__(block)
        self.style = style
        self.images: list[QImage] = []
        self.setZValue(MAP_Z)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setPos(0.0, style.height + style.pad * 0.35)
        self.setToolTip("What each neuron outputs over the input plane (orange −1 … blue +1), as in Playground")

    def _tile(self) -> tuple[float, float]:
        n = max(1, len(self.images))
        gap = max(2.0, self.style.pad * 0.3)
        side = min(self.style.height * 0.55, (self.style.width - gap * (n - 1)) / n)
        return side, gap

    def boundingRect(self) -> QRectF:
        side, _gap = self._tile()
        return QRectF(-1, -1, self.style.width + 2, side + 2)

    def set_images(self, images: list[QImage]) -> None:
        if len(images) != len(self.images):
            self.prepareGeometryChange()
        self.images = images
        self.update()

    def paint(self, painter: QPainter, option, widget=None) -> None:
        if not self.images:
            return
        started = time.perf_counter()
        self._paint(painter)
        PaintClock.seconds += time.perf_counter() - started

    def _paint(self, painter: QPainter) -> None:
        side, gap = self._tile()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        border = QPen(QColor(0, 0, 0, 60), 1.0)
        painter.setPen(border)
        for i, image in enumerate(self.images):
            rect = QRectF(i * (side + gap), 0.0, side, side)
            painter.drawImage(rect, image)
            painter.drawRect(rect)


def neuron_images(outputs: Any, discretize: bool = False) -> list[QImage]:
    """(units, R, R) activations → one image per unit (clipped to −1 … +1)."""
    import numpy as np

    from .colors import qimage_from_rgba, rgba_from_signed, signed_map

    images = []
    for unit in np.asarray(outputs)[:, ::SUBSAMPLE, ::SUBSAMPLE]:
        images.append(qimage_from_rgba(rgba_from_signed(signed_map(unit, discretize))))
    return images


def output_image(boundary: Any, task: str, discretize: bool = False) -> QImage:
    import numpy as np

    from .colors import boundary_values, qimage_from_rgba, rgba_from_signed, signed_map

    values = boundary_values(np.asarray(boundary), task)
    return qimage_from_rgba(rgba_from_signed(signed_map(values[::SUBSAMPLE, ::SUBSAMPLE], discretize)))


class NeuronMapOverlay:
    """Keeps one strip per mapped layer on the canvas in step with the newest telemetry."""

    def __init__(self, scene: Any) -> None:
        self.scene = scene
        self.strips: dict[str, NeuronMapStrip] = {}
        self.enabled = True

    def _strip(self, layer_id: str) -> NeuronMapStrip | None:
        block = self.scene.blocks.get(layer_id)
        if block is None:
            return None
        strip = self.strips.get(layer_id)
        if strip is not None and not isValid(strip):  # its block was deleted (the scene was rebuilt)
            strip = None
        if strip is None or strip.parentItem() is not block or strip.style is not self.scene.style:
            if strip is not None:
                self._drop(strip)
            strip = NeuronMapStrip(block, self.scene.style)
            self.strips[layer_id] = strip
        return strip

    def update(self, design: Any, telemetry: Any, task: str, discretize: bool = False) -> None:
        """Draw the maps of `telemetry` on the blocks of the layers it names (by layer name)."""
        if not self.enabled or telemetry is None:
            return
        wanted: dict[str, list[QImage]] = {}
        for name, outputs in telemetry.neuron_outputs.items():
            layer = design.layer_by_name(name)
            if layer is not None:
                wanted[layer.id] = neuron_images(outputs, discretize)
        if telemetry.boundary is not None:
            for layer in design.layers.values():
                if layer.type == "Output":
                    wanted[layer.id] = [output_image(telemetry.boundary, task, discretize)]
        for layer_id in [lid for lid in self.strips if lid not in wanted]:
            self._drop(self.strips.pop(layer_id))
        for layer_id, images in wanted.items():
            strip = self._strip(layer_id)
            if strip is not None:
                strip.set_images(images)

    def clear(self) -> None:
        for strip in self.strips.values():
            self._drop(strip)
        self.strips.clear()

    def set_enabled(self, on: bool) -> None:
        self.enabled = on
        if not on:
            self.clear()

    @staticmethod
    def _drop(strip: NeuronMapStrip) -> None:
        if not isValid(strip):
            return
        scene = strip.scene()
        if scene is not None:
            scene.removeItem(strip)
        strip.setParentItem(None)
