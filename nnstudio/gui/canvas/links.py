"""The canvas's connection items: the curve between two blocks with its shape label, and the connecting line.

A connection item follows its two blocks (they list it in `links` and move it along); what it says comes
from the scene (inferred shape, refused input).
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QFontMetricsF, QPainter, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsSceneHoverEvent

from nnstudio.core import Connection

from ..base.theme import mix
from .blockstyle import BlockStyle
from .items import OVERVIEW_LOD, BlockItem

CONNECTION_Z = 0.0
DRAG_Z = 100.0


def connection_path(start: QPointF, end: QPointF) -> QPainterPath:
    """A smooth S-curve leaving `start` to the right and entering `end` from the left."""
    dx = end.x() - start.x()
    bend = max(40.0, abs(dx) * 0.5) if dx >= 0 else max(80.0, abs(dx) * 0.35 + abs(end.y() - start.y()) * 0.25)
    path = QPainterPath(start)
    path.cubicTo(QPointF(start.x() + bend, start.y()), QPointF(end.x() - bend, end.y()), end)
    return path


class ConnectionItem(QGraphicsItem):
    """A connection between two blocks: a bezier curve with the tensor shape written at its middle."""

    def __init__(self, connection: Connection, source: BlockItem, target: BlockItem, style: BlockStyle) -> None:
        super().__init__()
        self.connection = connection
        self.source, self.target = source, target
        self.style = style
        self.label = ""
        self.problem: str | None = None
        self.show_label = True
        self._path = QPainterPath()
        self._label_rect = QRectF()
        self._hover = False
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setAcceptHoverEvents(True)
        self.setZValue(CONNECTION_Z)
        source.links.append(self)
        target.links.append(self)
        self.update_path()

    def detach(self) -> None:
        for block in (self.source, self.target):
            if self in block.links:
                block.links.remove(self)

    def set_style(self, style: BlockStyle) -> None:
        self.style = style
        self.update_path()

    def set_info(self, label: str, problem: str | None, tooltip: str) -> None:
        if (label, problem) != (self.label, self.problem):
            self.label, self.problem = label, problem
            self.update_path()
        if tooltip != self.toolTip():
            self.setToolTip(tooltip)

    def set_show_label(self, show: bool) -> None:
        if show != self.show_label:
            self.show_label = show
            self.update_path()

    def update_path(self) -> None:
        self.prepareGeometryChange()
        self._path = connection_path(self.source.output_anchor(), self.target.input_anchor())
        if self.label and self.show_label:
            metrics = QFontMetricsF(self.style.small_font)
            w = metrics.horizontalAdvance(self.label) + self.style.pad
            h = self.style.small_line + self.style.pad * 0.2
            mid = self._path.pointAtPercent(0.5)
            self._label_rect = QRectF(mid.x() - w / 2, mid.y() - h / 2, w, h)
        else:
            self._label_rect = QRectF()
        self.update()

    @property
    def path(self) -> QPainterPath:
        return self._path

    def boundingRect(self) -> QRectF:
        return self._path.boundingRect().adjusted(-3, -3, 3, 3).united(self._label_rect.adjusted(-1, -1, 1, 1))

    def shape(self) -> QPainterPath:
        stroker = QPainterPathStroker()
        stroker.setWidth(max(8.0, self.style.port_radius * 2))
        outline = stroker.createStroke(self._path)
        if not self._label_rect.isNull():
            outline.addRect(self._label_rect)
        return outline

    def paint(self, painter: QPainter, option, widget=None) -> None:
        c = self.style.colours
        selected = self.isSelected()
        colour = c.error if self.problem else c.connection
        if selected:
            colour = c.selection
        elif self._hover:
            colour = mix(colour, c.selection, 0.5)
        width = 2.6 if selected else (2.0 if self._hover else 1.6)
        pen = QPen(colour, width)
        if self.problem:
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self._path)
        if self._label_rect.isNull() or option.levelOfDetailFromTransform(painter.worldTransform()) < OVERVIEW_LOD:
            return
        painter.setPen(QPen(mix(c.label_background, colour, 0.55), 1.0))
        painter.setBrush(QBrush(c.label_background))
        r = self._label_rect.height() / 2
        painter.drawRoundedRect(self._label_rect, r, r)
        painter.setFont(self.style.small_font)
        painter.setPen(c.error if self.problem else c.text)
        painter.drawText(self._label_rect, Qt.AlignmentFlag.AlignCenter, self.label)

    def hoverEnterEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        self._hover = True
        self.update()

    def hoverLeaveEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        self._hover = False
        self.update()


class DragLine(QGraphicsItem):
    """The curve that follows the mouse while a connection is being made."""

    def __init__(self, style: BlockStyle) -> None:
        super().__init__()
        self.style = style
        self.state = ""  # "", "accept" or "refuse"
        self._path = QPainterPath()
        self.setZValue(DRAG_Z)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    def set_ends(self, start: QPointF, end: QPointF, state: str) -> None:
        self.prepareGeometryChange()
        self._path = connection_path(start, end)
        self.state = state
        self.update()

    def boundingRect(self) -> QRectF:
        return self._path.boundingRect().adjusted(-3, -3, 3, 3)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        c = self.style.colours
        colour = {"accept": c.accept, "refuse": c.error}.get(self.state, c.selection)
        pen = QPen(colour, 2.2)
        if self.state != "accept":
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(pen)
        painter.drawPath(self._path)
