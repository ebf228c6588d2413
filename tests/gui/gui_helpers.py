"""Helpers shared by the GUI tests: small designs and real mouse events."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from nnstudio.core import Design


def chain_design() -> Design:
    """input1 (2 features) → dense1 (4) → dense2 (2) → output1 (binary), laid out left to right."""
    design = Design("Chain", "A small test network")
    ids = [
        design.add_layer("Input", params={"features": 2}, position=(0, 0)).id,
        design.add_layer("Dense", params={"units": 4}, position=(240, 0)).id,
        design.add_layer("Dense", params={"units": 2}, position=(480, 0)).id,
        design.add_layer("Output", position=(720, 0)).id,
    ]
    for source, target in zip(ids, ids[1:], strict=False):
        design.connect(source, target)
    return design


def send_mouse(widget, kind, pos, button=Qt.MouseButton.LeftButton, buttons=None,
               modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    """Deliver a real mouse event (QTest's mouseMove carries no pressed buttons)."""
    if buttons is None:
        buttons = Qt.MouseButton.NoButton if kind == QMouseEvent.Type.MouseButtonRelease else button
    local = QPointF(pos)
    event = QMouseEvent(kind, local, widget.mapToGlobal(local), button, buttons, modifiers)
    QApplication.sendEvent(widget, event)


def drag_mouse(view, start, end, steps: int = 6) -> None:
    """Press at `start`, move to `end` in steps, release: viewport coordinates."""
    viewport = view.viewport()
    send_mouse(viewport, QMouseEvent.Type.MouseButtonPress, start)
    for i in range(1, steps + 1):
        t = i / steps
        point = QPointF(start.x() + (end.x() - start.x()) * t, start.y() + (end.y() - start.y()) * t)
        send_mouse(viewport, QMouseEvent.Type.MouseMove, point, Qt.MouseButton.NoButton, Qt.MouseButton.LeftButton)
    send_mouse(viewport, QMouseEvent.Type.MouseButtonRelease, end)
