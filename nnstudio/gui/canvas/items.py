"""The canvas's block items: one block per layer, with its ports, texts, badge and overview look.

Items hold geometry and what they display; the layer itself lives in the document. The scene creates,
updates and removes items as the document's events arrive. Connections and the line drawn while
connecting are in `links.py`.
"""

from __future__ import annotations

import html
from typing import Protocol

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QPainter,
    QPainterPath,
    QPen,
    QPolygonF,
)
from PySide6.QtWidgets import QGraphicsItem, QGraphicsSceneHoverEvent, QGraphicsSceneMouseEvent, QStyle

from nnstudio.core import Diagnostic, fmt_shape, layer_type
from nnstudio.core.document import Layer

from ..base.theme import group_colour, mix
from .blockstyle import BlockStyle, activation_title, format_params, layer_summary


class ConnectionHost(Protocol):
    """What a port needs from the scene it sits in (the CanvasScene) to draw a new connection."""

    def begin_connection(self, layer_id: str, from_output: bool = True) -> None: ...

    def update_connection(self, scene_pos: QPointF) -> str | None: ...

    def finish_connection(self, scene_pos: QPointF) -> bool: ...


class Link(Protocol):
    """What a block needs from a connection item attached to it (`links.ConnectionItem`): to follow a move."""

    def update_path(self) -> None: ...


BLOCK_Z = 10.0
# Below this zoom, blocks show only name and type in larger letters, and shape labels are hidden.
OVERVIEW_LOD = 0.6


class PortItem(QGraphicsItem):
    """A block's input (left) or output (right) port; pressing one starts a connection."""

    def __init__(self, block: BlockItem, is_output: bool, accepts_many: bool = False) -> None:
        super().__init__(block)
        self.block = block
        self.is_output = is_output
        self.accepts_many = accepts_many
        self.state = ""  # "", "hover", "accept" or "refuse" while a connection is dragged
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setZValue(1.0)
        self.setToolTip("Drag to an input port to connect" if is_output else
                        ("Drop connections here (several allowed)" if accepts_many else "Drop a connection here"))

    @property
    def layer_id(self) -> str:
        return self.block.layer_id

    def _size(self) -> tuple[float, float]:
        r = self.block.style.port_radius
        return (r, r * 2.2) if self.accepts_many else (r, r)

    def boundingRect(self) -> QRectF:
        rx, ry = self._size()
        grab = self.block.style.port_radius * 1.2  # a generous target for the mouse
        return QRectF(-rx - grab, -ry - grab, 2 * (rx + grab), 2 * (ry + grab))

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addEllipse(self.boundingRect())
        return path

    def paint(self, painter: QPainter, option, widget=None) -> None:
        colours = self.block.style.colours
        rx, ry = self._size()
        border = colours.connection
        fill = colours.block
        if self.state == "accept":
            border, fill = colours.accept, mix(colours.block, colours.accept, 0.45)
        elif self.state == "refuse":
            border, fill = colours.error, mix(colours.block, colours.error, 0.35)
        elif self.state == "hover":
            border, fill = colours.selection, mix(colours.block, colours.selection, 0.35)
        elif self.is_output:
            fill = border
        painter.setPen(QPen(border, 1.5))
        painter.setBrush(fill)
        rect = QRectF(-rx, -ry, 2 * rx, 2 * ry)
        painter.drawRoundedRect(rect, rx, rx)

    def set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.update()

    def hoverEnterEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        if not self.state:
            self.set_state("hover")

    def hoverLeaveEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        if self.state == "hover":
            self.set_state("")

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            event.ignore()
            return
        self.block.canvas().begin_connection(self.layer_id, from_output=self.is_output)
        event.accept()

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        self.block.canvas().update_connection(event.scenePos())

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.block.canvas().finish_connection(event.scenePos())


class BlockItem(QGraphicsItem):
    """One layer: a rounded card with a group colour band, name, type, key parameters, shape and count."""

    def __init__(self, layer: Layer, style: BlockStyle) -> None:
        super().__init__()
        self.layer_id = layer.id
        self.style = style
        self.links: list[Link] = []
        ltype = layer_type(layer.type)
        self.group = ltype.group if ltype else ""
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsMovable
                      | QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
                      | QGraphicsItem.GraphicsItemFlag.ItemSendsScenePositionChanges)
        self.setAcceptHoverEvents(True)
        # Painted once into a pixmap and reused while dragging or scrolling.
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.setZValue(BLOCK_Z)
        self.input_port = None
        self.output_port = None
        if ltype is None or ltype.max_inputs != 0:
            self.input_port = PortItem(self, is_output=False, accepts_many=bool(ltype and ltype.is_merge))
        if layer.type != "Output":
            self.output_port = PortItem(self, is_output=True)
        self._texts: tuple = ()
        self._severity: str | None = None
        self._shape_ok = True
        self.set_style(style)
        self.setPos(*layer.position)
        self.show_layer(layer, None, [], 0)

    def canvas(self) -> ConnectionHost:
        return self.scene()  # type: ignore[return-value]

    # ---- geometry --------------------------------------------------------------------------------

    def set_style(self, style: BlockStyle) -> None:
        self.prepareGeometryChange()
        self.style = style
        for port, x in ((self.input_port, 0.0), (self.output_port, style.width)):
            if port is not None:
                port.setPos(x, style.height / 2)
        self.update()

    def boundingRect(self) -> QRectF:
        s = self.style
        shadow = s.pad * 0.5
        return QRectF(-2, -2, s.width + 4 + shadow, s.height + 4 + shadow)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRoundedRect(QRectF(0, 0, self.style.width, self.style.height), self.style.radius, self.style.radius)
        return path

    def output_anchor(self) -> QPointF:
        return self.scenePos() + QPointF(self.style.width, self.style.height / 2)

    def input_anchor(self) -> QPointF:
        return self.scenePos() + QPointF(0.0, self.style.height / 2)

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value):
        if change == QGraphicsItem.GraphicsItemChange.ItemScenePositionHasChanged:
            for link in self.links:
                link.update_path()
        return super().itemChange(change, value)

    # ---- content ---------------------------------------------------------------------------------

    def show_layer(self, layer: Layer, shape, diagnostics: list[Diagnostic], params: int | None,
                   recipe: str = "pytorch") -> None:
        """Update what the block says (an Output's activation follows the training recipe); repaints only
        when something visible changed."""
        activation = activation_title(layer, recipe)
        subtitle = layer.type + (f" · {activation}" if activation else "")
        shape_text = "→ " + fmt_shape(shape) if shape is not None else "→ ?"
        count = format_params(params) if params else ("no params" if shape is not None else "")
        severity = None
        if diagnostics:
            severity = "error" if any(d.severity == "error" for d in diagnostics) else "warning"
        texts = (layer.name, subtitle, layer_summary(layer), shape_text, count)
        tooltip = self._tooltip(layer, diagnostics)
        if texts != self._texts or severity != self._severity or (shape is not None) != self._shape_ok:
            self._texts, self._severity, self._shape_ok = texts, severity, shape is not None
            self.update()
        if tooltip != self.toolTip():
            self.setToolTip(tooltip)

    @staticmethod
    def _tooltip(layer: Layer, diagnostics: list[Diagnostic]) -> str:
        ltype = layer_type(layer.type)
        lines = [f"<b>{html.escape(layer.name)}</b> — {html.escape(layer.type)}"]
        if ltype is not None:
            lines.append(html.escape(ltype.description))
        for d in diagnostics:
            colour = "#d93025" if d.severity == "error" else "#e37400"
            mark = "Error" if d.severity == "error" else "Warning"
            lines.append(f"<span style='color:{colour}'><b>{mark}:</b> {html.escape(d.message)}</span>")
        return "<br>".join(lines)

    @property
    def texts(self) -> tuple:
        """(name, type · activation, key parameters, output shape, parameter count) as displayed."""
        return self._texts

    @property
    def severity(self) -> str | None:
        return self._severity

    # ---- painting --------------------------------------------------------------------------------

    def paint(self, painter: QPainter, option, widget=None) -> None:
        s = self.style
        c = s.colours
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        body = QRectF(0, 0, s.width, s.height)
        band_colour = group_colour(self.group)

        shadow = QColor(0, 0, 0, 70 if c.dark else 28)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(shadow)
        painter.drawRoundedRect(body.translated(s.pad * 0.15, s.pad * 0.3), s.radius, s.radius)

        painter.setBrush(c.block)
        if selected:
            painter.setPen(QPen(c.selection, 2.2))
        elif self._severity == "error":
            painter.setPen(QPen(mix(c.block_border, c.error, 0.7), 1.3))
        else:
            painter.setPen(QPen(c.block_border, 1.0))
        painter.drawRoundedRect(body, s.radius, s.radius)

        # The group's colour band along the top edge, clipped to the rounded corners.
        clip = QPainterPath()
        clip.addRoundedRect(body.adjusted(0.5, 0.5, -0.5, -0.5), s.radius, s.radius)
        painter.save()
        painter.setClipPath(clip)
        painter.fillRect(QRectF(0, 0, s.width, s.band), band_colour)
        painter.restore()

        if not self._texts:
            return
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        if lod < OVERVIEW_LOD:
            self._paint_overview(painter, lod)
            return
        name, subtitle, summary, shape_text, count = self._texts
        x = s.pad
        inner = s.width - 2 * s.pad
        y = s.band + s.pad * 0.7
        badge = s.title_line * 0.82 if self._severity else 0.0

        painter.setFont(s.title_font)
        painter.setPen(c.text)
        title_rect = QRectF(x, y, inner - (badge + s.pad * 0.4 if badge else 0), s.title_line)
        painter.drawText(title_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         _elide(s.title_font, name, title_rect.width()))
        if badge:
            self._paint_badge(painter, QRectF(x + inner - badge, y + (s.title_line - badge) / 2, badge, badge))
        y += s.title_line

        painter.setFont(s.body_font)
        painter.setPen(mix(band_colour, c.text, 0.35) if not c.dark else mix(band_colour, c.text, 0.25))
        painter.drawText(QRectF(x, y, inner, s.line), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         _elide(s.body_font, subtitle, inner))
        y += s.line
        painter.setPen(c.text)
        painter.drawText(QRectF(x, y, inner, s.line), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         _elide(s.body_font, summary, inner))
        y += s.line + s.pad * 0.45

        painter.setPen(QPen(mix(c.block, c.block_border, 0.6), 1.0))
        painter.drawLine(QPointF(x, y), QPointF(s.width - s.pad, y))
        y += s.pad * 0.45

        painter.setFont(s.small_font)
        footer = QRectF(x, y, inner, s.line)
        painter.setPen(c.text if self._shape_ok else c.error)
        count_width = QFontMetricsF(s.small_font).horizontalAdvance(count) if count else 0.0
        painter.drawText(footer.adjusted(0, 0, -count_width - s.pad * 0.5, 0),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         _elide(s.small_font, shape_text, inner - count_width - s.pad * 0.5))
        if count:
            painter.setPen(c.secondary_text)
            painter.drawText(footer, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, count)

    def _paint_overview(self, painter: QPainter, lod: float) -> None:
        """Zoomed far out: only the name and type, in letters big enough to read on screen."""
        s = self.style
        c = s.colours
        grow = min(0.8 / max(lod, 0.05), (s.height - s.band - s.pad * 0.5) / (s.title_line + s.line))
        title = QFont(s.title_font)
        title.setPointSizeF(s.title_font.pointSizeF() * grow)
        body = QFont(s.body_font)
        body.setPointSizeF(s.body_font.pointSizeF() * grow)
        inner = s.width - 2 * s.pad
        title_h = QFontMetricsF(title).height()
        body_h = QFontMetricsF(body).height()
        badge = title_h * 0.8 if self._severity else 0.0
        top = s.band + (s.height - s.band - title_h - body_h) / 2
        rect = QRectF(s.pad, top, inner - (badge + s.pad * 0.3 if badge else 0), title_h)
        natural = QFontMetricsF(title).horizontalAdvance(self._texts[0])
        if natural > rect.width():  # shrink a long name to fit, down to the normal size, before eliding
            title.setPointSizeF(max(s.title_font.pointSizeF(), title.pointSizeF() * rect.width() / natural))
        painter.setFont(title)
        painter.setPen(c.text)
        painter.drawText(rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         _elide(title, self._texts[0], rect.width()))
        if badge:
            self._paint_badge(painter, QRectF(s.width - s.pad - badge, top + (title_h - badge) / 2, badge, badge))
        painter.setFont(body)
        painter.setPen(mix(group_colour(self.group), c.text, 0.35))
        painter.drawText(QRectF(s.pad, top + title_h, inner, body_h),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         _elide(body, self._texts[1].split(" · ")[0], inner))

    def _paint_badge(self, painter: QPainter, rect: QRectF) -> None:
        c = self.style.colours
        if self._severity == "error":
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(c.error)
            painter.drawEllipse(rect)
            mark = QColor("white") if not c.dark else QColor("#202124")
        else:
            triangle = QPolygonF([QPointF(rect.center().x(), rect.top()), rect.bottomRight(), rect.bottomLeft()])
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(c.warning)
            painter.drawPolygon(triangle)
            mark = QColor("#202124")
        painter.setPen(QPen(mark, max(1.2, rect.width() * 0.13), Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        cx = rect.center().x()
        top = rect.top() + rect.height() * (0.28 if self._severity == "error" else 0.36)
        painter.drawLine(QPointF(cx, top), QPointF(cx, rect.top() + rect.height() * 0.6))
        painter.drawPoint(QPointF(cx, rect.top() + rect.height() * 0.78))

    def hoverEnterEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        self.setCursor(Qt.CursorShape.OpenHandCursor)

    def hoverLeaveEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        self.unsetCursor()


def _elide(font, text: str, width: float) -> str:
    return QFontMetricsF(font).elidedText(text, Qt.TextElideMode.ElideRight, max(0.0, width))
