"""The mouse wheel scrolls a panel unless a control has focus: no setting changes silently under the pointer.

A spin box, combo box or slider takes the wheel only once it has focus (clicked or tabbed to); before
that, the wheel event is ignored by the control and Qt passes it on to the parent, so the panel's scroll
area scrolls. Controls get Qt.StrongFocus so the wheel itself never gives them focus.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractSlider, QAbstractSpinBox, QComboBox, QWidget

GUARDED = (QAbstractSpinBox, QComboBox, QAbstractSlider)


class WheelGuard(QObject):
    """Event filter: an unfocused control ignores the wheel, which then goes to its parent."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Wheel and isinstance(watched, QWidget) and not watched.hasFocus():
            event.ignore()  # ignored + filtered: QApplication hands the event to the parent widget
            return True
        return False


def guard_control(widget: QWidget, guard: WheelGuard) -> None:
    widget.installEventFilter(guard)
    widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)


def guard_wheel(root: QWidget) -> WheelGuard:
    """Guard every spin box, combo box and slider under `root` (scroll bars excepted); returns the guard."""
    guard = getattr(root, "_nnstudio_wheel_guard", None)
    if guard is None:
        guard = WheelGuard(root)
        root._nnstudio_wheel_guard = guard  # type: ignore[attr-defined]
    for kind in GUARDED:
        for widget in root.findChildren(kind):
            if widget.metaObject().className() == "QScrollBar":
                continue
            guard_control(widget, guard)
    return guard
