"""Toolbar and menu icons: the desktop's icon theme where it has one, else simple line icons drawn here.

Drawn icons use the palette's text colour, so they suit light and dark looks, and are rendered at several
device pixel ratios so they stay sharp on high-DPI screens.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPainter, QPainterPath, QPalette, QPen, QPixmap

# Freedesktop icon names, tried first.
_THEME_NAMES = {
    "new": "document-new", "open": "document-open", "save": "document-save", "undo": "edit-undo",
    "redo": "edit-redo", "delete": "edit-delete", "zoom-in": "zoom-in", "zoom-out": "zoom-out",
    "fit": "zoom-fit-best", "layout": "", "duplicate": "edit-copy", "export": "document-export",
}


def _stroke(painter: QPainter, *points: tuple[float, float]) -> None:
    path = QPainterPath(QPointF(*points[0]))
    for p in points[1:]:
        path.lineTo(QPointF(*p))
    painter.drawPath(path)


def _new(p: QPainter) -> None:
    _stroke(p, (6, 3), (14, 3), (18, 7), (18, 21), (6, 21), (6, 3))
    _stroke(p, (14, 3), (14, 7), (18, 7))
    _stroke(p, (12, 11), (12, 17))
    _stroke(p, (9, 14), (15, 14))


def _open(p: QPainter) -> None:
    _stroke(p, (3, 19), (3, 6), (9, 6), (11, 8), (19, 8), (19, 11))
    _stroke(p, (3, 19), (6, 11), (21, 11), (18, 19), (3, 19))


def _save(p: QPainter) -> None:
    _stroke(p, (4, 4), (17, 4), (20, 7), (20, 20), (4, 20), (4, 4))
    _stroke(p, (8, 4), (8, 9), (15, 9), (15, 4))
    p.drawRoundedRect(QRectF(8, 13, 8, 5), 1, 1)


def _undo(p: QPainter) -> None:
    path = QPainterPath(QPointF(5, 10))
    path.cubicTo(QPointF(9, 5), QPointF(19, 5), QPointF(20, 13))
    path.cubicTo(QPointF(20.5, 17), QPointF(18, 19), QPointF(16, 20))
    p.drawPath(path)
    _stroke(p, (5, 4), (5, 10), (11, 10))


def _redo(p: QPainter) -> None:
    p.translate(24, 0)
    p.scale(-1, 1)
    _undo(p)


def _delete(p: QPainter) -> None:
    _stroke(p, (4, 6), (20, 6))
    _stroke(p, (9, 6), (9, 3.5), (15, 3.5), (15, 6))
    _stroke(p, (6, 6), (7, 20.5), (17, 20.5), (18, 6))
    _stroke(p, (10, 10), (10, 17))
    _stroke(p, (14, 10), (14, 17))


def _magnifier(p: QPainter) -> None:
    p.drawEllipse(QRectF(3.5, 3.5, 12, 12))
    _stroke(p, (14, 14), (20.5, 20.5))


def _zoom_in(p: QPainter) -> None:
    _magnifier(p)
    _stroke(p, (9.5, 6.5), (9.5, 12.5))
    _stroke(p, (6.5, 9.5), (12.5, 9.5))


def _zoom_out(p: QPainter) -> None:
    _magnifier(p)
    _stroke(p, (6.5, 9.5), (12.5, 9.5))


def _fit(p: QPainter) -> None:
    for (x, y), (dx, dy) in (((3, 3), (1, 1)), ((21, 3), (-1, 1)), ((3, 21), (1, -1)), ((21, 21), (-1, -1))):
        _stroke(p, (x, y + 5 * dy), (x, y), (x + 5 * dx, y))
    p.drawRoundedRect(QRectF(8, 9, 8, 6), 1.5, 1.5)


def _layout(p: QPainter) -> None:
    p.drawRoundedRect(QRectF(2.5, 9, 6, 6), 1.5, 1.5)
    p.drawRoundedRect(QRectF(15.5, 3, 6, 6), 1.5, 1.5)
    p.drawRoundedRect(QRectF(15.5, 15, 6, 6), 1.5, 1.5)
    path = QPainterPath(QPointF(8.5, 12))
    path.cubicTo(QPointF(12, 12), QPointF(12, 6), QPointF(15.5, 6))
    path.moveTo(8.5, 12)
    path.cubicTo(QPointF(12, 12), QPointF(12, 18), QPointF(15.5, 18))
    p.drawPath(path)


def _duplicate(p: QPainter) -> None:
    p.drawRoundedRect(QRectF(3.5, 3.5, 12, 12), 2, 2)
    p.drawRoundedRect(QRectF(8.5, 8.5, 12, 12), 2, 2)


def _export(p: QPainter) -> None:
    _stroke(p, (4, 14), (4, 20), (20, 20), (20, 14))
    _stroke(p, (12, 15), (12, 3))
    _stroke(p, (7.5, 7.5), (12, 3), (16.5, 7.5))


def _train(p: QPainter) -> None:
    path = QPainterPath(QPointF(7, 4.5))
    path.lineTo(19, 12)
    path.lineTo(7, 19.5)
    path.closeSubpath()
    p.drawPath(path)


def _pause(p: QPainter) -> None:
    p.drawRoundedRect(QRectF(6, 5, 4, 14), 1, 1)
    p.drawRoundedRect(QRectF(14, 5, 4, 14), 1, 1)


def _step(p: QPainter) -> None:
    path = QPainterPath(QPointF(5, 5))
    path.lineTo(15, 12)
    path.lineTo(5, 19)
    path.closeSubpath()
    p.drawPath(path)
    _stroke(p, (19, 5), (19, 19))


def _stop(p: QPainter) -> None:
    p.drawRoundedRect(QRectF(6, 6, 12, 12), 1.5, 1.5)


def _reset(p: QPainter) -> None:
    path = QPainterPath()
    path.arcMoveTo(QRectF(4.5, 4.5, 15, 15), 60)
    path.arcTo(QRectF(4.5, 4.5, 15, 15), 60, 290)
    p.drawPath(path)
    _stroke(p, (15.5, 2.5), (16, 6.5), (12, 7.5))


_PAINTERS: dict[str, Callable[[QPainter], None]] = {
    "train": _train, "pause": _pause, "step": _step, "stop": _stop, "reset": _reset,
    "new": _new, "open": _open, "save": _save, "undo": _undo, "redo": _redo, "delete": _delete,
    "zoom-in": _zoom_in, "zoom-out": _zoom_out, "fit": _fit, "layout": _layout, "duplicate": _duplicate,
    "export": _export,
}


def drawn_icon(name: str, colour: QColor | None = None) -> QIcon:
    if colour is None:
        colour = QGuiApplication.palette().color(QPalette.ColorRole.WindowText)
    icon = QIcon()
    for size in (16, 24, 32):
        for ratio in (1.0, 2.0):
            pixmap = QPixmap(round(size * ratio), round(size * ratio))
            pixmap.setDevicePixelRatio(ratio)
            pixmap.fill(Qt.GlobalColor.transparent)
            painter = QPainter(pixmap)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.scale(size / 24, size / 24)
            pen = QPen(colour, 1.7, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            _PAINTERS[name](painter)
            painter.end()
            icon.addPixmap(pixmap)
    return icon


def set_icon(action: Any, name: str) -> None:
    """Give an action icon `name`, remembered so `refresh_icons` can draw it again in a new palette."""
    action.setProperty("nnstudioIcon", name)
    action.setIcon(icon(name))


def refresh_icons(root: Any) -> int:
    """Draw every remembered icon under `root` again in the current palette (after a theme switch)."""
    from PySide6.QtGui import QAction

    count = 0
    for action in root.findChildren(QAction):
        name = action.property("nnstudioIcon")
        if isinstance(name, str) and name:
            action.setIcon(icon(name))
            count += 1
    return count


def icon(name: str) -> QIcon:
    """The theme's icon for `name` when the desktop provides one, else NN Studio's drawn icon."""
    theme_name = _THEME_NAMES.get(name, "")
    if theme_name and QIcon.hasThemeIcon(theme_name):
        return QIcon.fromTheme(theme_name)
    return drawn_icon(name)
