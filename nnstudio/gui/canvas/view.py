"""The canvas view: shows the canvas scene with a grid and the empty-design hint; zoom, pan, fit and context menu.

It holds no document state: everything it draws comes from its `CanvasScene` (`scene.py`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QLineF, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QFont, QKeyEvent, QMouseEvent, QPainter, QPen, QTransform, QWheelEvent
from PySide6.QtWidgets import QGraphicsView, QMenu, QWidget

from ..base.theme import canvas_colours
from .items import BlockItem
from .links import ConnectionItem

if TYPE_CHECKING:
    from .scene import CanvasScene


class CanvasView(QGraphicsView):
    """Shows the canvas scene with a grid; wheel zoom, middle-drag or space-drag pan, rubber-band select."""

    zoom_changed = Signal(float)
    MIN_ZOOM, MAX_ZOOM = 0.1, 4.0

    def __init__(self, scene: CanvasScene, parent: QWidget | None = None) -> None:
        super().__init__(scene, parent)
        self.setObjectName("canvas")
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing
                            | QPainter.RenderHint.SmoothPixmapTransform)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.ItemSelectionMode.IntersectsItemShape)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setCacheMode(QGraphicsView.CacheModeFlag.CacheBackground)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QGraphicsView.Shape.NoFrame)
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setToolTip("")
        self._pan_from: QPointF | None = None
        self._space_held = False
        self._pending_view = None
        self._context_actions: tuple[list[QAction], list[QAction]] = ([], [])
        self.show_hint = True  # the empty-design hint (off while the window's first file is loading)
        self._showed_hint = not scene.blocks
        scene.changed.connect(self._hint_follows_blocks)

    def _hint_follows_blocks(self, _regions=None) -> None:
        """The empty-canvas hint is painted over the whole view: repaint all of it when it comes or goes."""
        empty = not self.canvas_scene.blocks
        if empty != self._showed_hint:
            self._showed_hint = empty
            self.viewport().update()

    @property
    def canvas_scene(self) -> CanvasScene:
        return self.scene()  # type: ignore[return-value]

    # ---- zoom ------------------------------------------------------------------------------------

    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, zoom: float, anchor: QPointF | None = None) -> None:
        zoom = max(self.MIN_ZOOM, min(self.MAX_ZOOM, zoom))
        centre = anchor if anchor is not None else self.mapToScene(self.viewport().rect().center())
        self.setTransform(QTransform.fromScale(zoom, zoom))
        if anchor is None:
            self.centerOn(centre)
        self.zoom_changed.emit(zoom)

    def zoom_by(self, factor: float) -> None:
        old_anchor = self.transformationAnchor()
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.set_zoom(self.zoom * factor)
        self.setTransformationAnchor(old_anchor)

    def zoom_in(self) -> None:
        self.zoom_by(1.25)

    def zoom_out(self) -> None:
        self.zoom_by(1 / 1.25)

    def show_view(self, zoom: float, centre: QPointF) -> None:
        """Zoom and centre on a point, now or (before the window is first shown) once it has its size."""
        def apply() -> None:
            self.set_zoom(zoom)
            self.centerOn(centre)
        self._run_when_shown(apply)

    def fit_all(self, max_zoom: float = 1.25, min_zoom: float | None = None) -> None:
        """Show every block; never magnify a small design beyond `max_zoom`. With `min_zoom`, a design too
        big to fit at that zoom is shown from its start (the left, where the data comes in) at `min_zoom`."""
        self._run_when_shown(lambda: self._fit(max_zoom, min_zoom))

    def _run_when_shown(self, change) -> None:
        change()
        if not self.isVisible():
            self._pending_view = change  # the viewport's final size is known only once shown

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._pending_view is not None:
            change, self._pending_view = self._pending_view, None
            QTimer.singleShot(0, change)

    def _fit(self, max_zoom: float, min_zoom: float | None = None) -> None:
        rect = self.canvas_scene.blocks_rect()
        if rect.isNull():
            self.set_zoom(1.0)
            self.centerOn(0, 0)
            return
        margin = self.canvas_scene.style.line * 3
        rect = rect.adjusted(-margin, -margin, margin, margin)
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        zoom = max(self.MIN_ZOOM, min(max_zoom, self.zoom))
        if min_zoom is not None and zoom < min_zoom:
            zoom = min_zoom
            self.setTransform(QTransform.fromScale(zoom, zoom))
            half = self.viewport().width() / zoom / 2
            self.centerOn(QPointF(min(rect.center().x(), rect.left() + half), rect.center().y()))
            self.zoom_changed.emit(zoom)
            return
        self.setTransform(QTransform.fromScale(zoom, zoom))
        self.centerOn(rect.center())
        self.zoom_changed.emit(zoom)

    def centre_on_layer(self, layer_id: str) -> None:
        block = self.canvas_scene.blocks.get(layer_id)
        if block is not None:
            self.centerOn(block)

    def wheelEvent(self, event: QWheelEvent) -> None:
        delta = event.angleDelta().y() or event.angleDelta().x()
        if not delta:
            event.ignore()
            return
        factor = math.pow(1.0015, delta)  # one notch (120) ≈ ×1.2
        self.set_zoom(self.zoom * factor, anchor=self.mapToScene(event.position().toPoint()))
        event.accept()

    # ---- panning ---------------------------------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.MiddleButton or (
                self._space_held and event.button() == Qt.MouseButton.LeftButton):
            self._pan_from = event.position()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - round(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - round(delta.y()))
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None and event.button() in (Qt.MouseButton.MiddleButton, Qt.MouseButton.LeftButton):
            self._pan_from = None
            if self._space_held:
                self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            else:
                self.viewport().unsetCursor()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat() and not self.canvas_scene.connecting:
            self._space_held = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_held = False
            self._pan_from = None
            self.viewport().unsetCursor()
            event.accept()
            return
        super().keyReleaseEvent(event)

    def focusOutEvent(self, event) -> None:
        self._space_held = False
        super().focusOutEvent(event)

    # ---- context menu ----------------------------------------------------------------------------

    def set_context_actions(self, on_layers: list[QAction], on_canvas: list[QAction]) -> None:
        self._context_actions = (on_layers, on_canvas)

    def contextMenuEvent(self, event) -> None:
        scene = self.canvas_scene
        item = self.itemAt(event.pos())
        while item is not None and not isinstance(item, (BlockItem, ConnectionItem)):
            item = item.parentItem()
        if item is not None and not item.isSelected():
            scene.clearSelection()
            item.setSelected(True)
        actions = self._context_actions[0] if item is not None else self._context_actions[1]
        if not actions:
            return
        menu = QMenu(self)
        menu.setObjectName("canvasContextMenu")
        for action in actions:
            if action is None:
                menu.addSeparator()
            else:
                menu.addAction(action)
        menu.exec(event.globalPos())

    # ---- look ------------------------------------------------------------------------------------

    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        scene = self.canvas_scene
        colours = scene.style.colours
        painter.fillRect(rect, colours.background)
        if not scene.show_grid:
            return
        minor = scene.style.grid * 2
        major = minor * 5
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        for step, colour in ((minor, colours.grid_minor), (major, colours.grid_major)):
            if step * self.zoom < 7:  # lines closer than a few pixels only make a grey haze
                continue
            left = math.floor(rect.left() / step) * step
            top = math.floor(rect.top() / step) * step
            lines = []
            x = left
            while x < rect.right():
                lines.append(QLineF(x, rect.top(), x, rect.bottom()))
                x += step
            y = top
            while y < rect.bottom():
                lines.append(QLineF(rect.left(), y, rect.right(), y))
                y += step
            pen = QPen(colour, 0)  # cosmetic: one device pixel at any zoom
            painter.setPen(pen)
            painter.drawLines(lines)

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        scene = self.canvas_scene
        if scene.blocks or not self.show_hint:
            return
        # An empty design says how to begin, in the middle of the view at any zoom.
        painter.save()
        painter.resetTransform()
        style = scene.style
        view = QRectF(self.viewport().rect())
        width = min(view.width() - style.line * 4, style.line * 34)
        area = QRectF(view.center().x() - width / 2, view.top(), width, view.height())
        title = QFont(style.title_font)
        title.setPointSizeF(style.title_font.pointSizeF() * 1.3)
        painter.setFont(title)
        painter.setPen(style.colours.secondary_text)
        middle = area.center().y()
        painter.drawText(QRectF(area.left(), middle - style.line * 2.6, area.width(), style.line * 2),
                         Qt.AlignmentFlag.AlignCenter, "Drag layers here from the Layers panel")
        painter.setFont(style.body_font)
        painter.drawText(QRectF(area.left(), middle - style.line * 0.2, area.width(), style.line * 3),
                         Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap,
                         "Start with an Input, end with an Output, and connect them by dragging from a "
                         "block's right-hand port. File ▸ Examples has complete networks to explore.")
        painter.restore()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self.canvas_scene.set_colours(canvas_colours(self.palette()))
            self.resetCachedContent()
        super().changeEvent(event)

