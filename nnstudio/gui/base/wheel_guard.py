"""The mouse wheel scrolls a panel unless a control has focus: no setting changes silently under the pointer.

A spin box, combo box or slider takes the wheel only once it has focus (clicked or tabbed to); before
that, the event goes to the scroll bar of the nearest scroll area around the control (so the panel
scrolls), or, outside any scroll area, is ignored and travels to the parent. Controls get Qt.StrongFocus
so the wheel itself never gives them focus.

`guard_application()` does this for every control of the application, whichever room or dock built it and
whenever (an application-wide event filter: a control's Polish event, before it is first shown, takes the
wheel focus away; a wheel event over an unfocused control goes to its panel). `guard_wheel(root)` guards the
controls under one widget only.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractScrollArea, QAbstractSlider, QAbstractSpinBox, QApplication, QComboBox, QWidget

GUARDED = (QAbstractSpinBox, QComboBox, QAbstractSlider)


class WheelGuard(QObject):
    """Event filter: an unfocused control hands the wheel to the scroll area around it."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.Wheel or not isinstance(watched, QWidget) or watched.hasFocus():
            return False
        area = _scroll_area(watched)
        if area is None:
            event.ignore()  # ignored + filtered: Qt hands a real (spontaneous) wheel event to the parent
            return True
        delta = event.angleDelta()
        bar = area.horizontalScrollBar() if abs(delta.x()) > abs(delta.y()) else area.verticalScrollBar()
        QApplication.sendEvent(bar, event)
        event.accept()
        return True


class ApplicationWheelGuard(WheelGuard):
    """The same guard as an application event filter: every spin box, combo box and slider, now and later."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.Polish and _guarded(watched):
            if watched.focusPolicy() == Qt.FocusPolicy.WheelFocus:  # type: ignore[union-attr]
                watched.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # type: ignore[union-attr]
            return False
        if kind != QEvent.Type.Wheel or not _guarded(watched):
            return False
        return super().eventFilter(watched, event)


def _guarded(widget: QObject) -> bool:
    return isinstance(widget, GUARDED) and widget.metaObject().className() != "QScrollBar"


def guard_application() -> WheelGuard | None:
    """Guard every control of the running application (once; later calls return the same guard)."""
    app = QApplication.instance()
    if app is None:
        return None
    guard = getattr(app, "_nnstudio_wheel_guard", None)
    if guard is None:
        guard = ApplicationWheelGuard(app)
        app._nnstudio_wheel_guard = guard  # type: ignore[attr-defined]
        app.installEventFilter(guard)
        for widget in QApplication.allWidgets():  # those already polished
            if _guarded(widget) and widget.focusPolicy() == Qt.FocusPolicy.WheelFocus:
                widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    return guard


def _scroll_area(widget: QWidget) -> QAbstractScrollArea | None:
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QAbstractScrollArea):
            return parent
        parent = parent.parentWidget()
    return None


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
