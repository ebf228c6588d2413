"""Health badges on the canvas: a small coloured tag above each block that has a health finding.

A badge is a child item of the layer's block (found through the canvas's layer id → block map), so it
moves with the block and goes when the block goes; its tooltip holds the explanation and the fix.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem
from shiboken6 import isValid

BADGE_Z = 6.0
COLOURS = {"error": QColor(211, 47, 47), "warning": QColor(230, 140, 0)}


class HealthBadge(QGraphicsItem):
    def __init__(self, block: QGraphicsItem, style: Any) -> None:
        super().__init__(block)
        self.style = style
        self.text = ""
        self.severity = "warning"
        self.font = QFont()
        self.font.setPointSizeF(8.0)
        self.font.setBold(True)
        self.setZValue(BADGE_Z)
        self.setAcceptHoverEvents(True)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    def set_findings(self, findings: list[Any]) -> None:
        self.prepareGeometryChange()
        self.text = " · ".join(f.title for f in findings)
        self.severity = "error" if any(f.severity == "error" for f in findings) else "warning"
        self.setToolTip("\n".join(f"{f.title}: {f.explanation}\nFix: {f.fix}" for f in findings))
        width = QFontMetricsF(self.font).horizontalAdvance(self.text) + 12
        self.setPos(max(0.0, self.style.width - width), -QFontMetricsF(self.font).height() - 8)
        self.update()

    def boundingRect(self) -> QRectF:
        metrics = QFontMetricsF(self.font)
        return QRectF(0, 0, metrics.horizontalAdvance(self.text) + 12, metrics.height() + 6)

    def paint(self, painter: QPainter, option: Any, widget: Any = None) -> None:
        rect = self.boundingRect()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(Qt.PenStyle.NoPen))
        painter.setBrush(COLOURS.get(self.severity, COLOURS["warning"]))
        painter.drawRoundedRect(rect, 4, 4)
        painter.setPen(QColor("white"))
        painter.setFont(self.font)
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, self.text)


class HealthOverlay:
    """Keeps one badge per layer with findings, by layer name."""

    def __init__(self, scene: Any) -> None:
        self.scene = scene
        self.badges: dict[str, HealthBadge] = {}

    def show(self, design: Any, findings: list[Any]) -> None:
        by_layer: dict[str, list[Any]] = {}
        for f in findings:
            layer = design.layer_by_name(f.layer) if f.layer else None
            if layer is not None:
                by_layer.setdefault(layer.id, []).append(f)
        for layer_id in [lid for lid in self.badges if lid not in by_layer]:
            self._drop(self.badges.pop(layer_id))
        for layer_id, items in by_layer.items():
            block = self.scene.blocks.get(layer_id)
            if block is None:
                continue
            badge = self.badges.get(layer_id)
            if badge is None or not isValid(badge) or badge.parentItem() is not block:
                badge = HealthBadge(block, self.scene.style)
                self.badges[layer_id] = badge
            badge.set_findings(items)

    def clear(self) -> None:
        for badge in self.badges.values():
            self._drop(badge)
        self.badges.clear()

    @staticmethod
    def _drop(badge: HealthBadge) -> None:
        if not isValid(badge):
            return
        scene = badge.scene()
        if scene is not None:
            scene.removeItem(badge)
        badge.setParentItem(None)
