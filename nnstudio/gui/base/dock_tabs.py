"""Readable panel tabs: the tab bars of tabbed docks show whole titles and scroll, instead of eliding them.

With a dozen panels sharing the bottom area (Loss, Accuracy, Gradients, Weights, Filters & maps, Results,
Health, Runs, Landscape, …) Qt's default elides every title to two letters ("Lo…", "Ac…") at 1280×720. Qt
makes those tab bars itself, whenever panels are tabified or moved, as direct children of the main window;
`ReadableDockTabs` watches the window for them and sets each one to whole titles with scroll buttons.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QMainWindow, QTabBar


def make_tabs_readable(window: QMainWindow) -> int:
    """Set every dock tab bar of `window` to whole titles and scroll buttons; how many were changed."""
    changed = 0
    for bar in window.findChildren(QTabBar, options=Qt.FindChildOption.FindDirectChildrenOnly):
        if bar.elideMode() != Qt.TextElideMode.ElideNone or not bar.usesScrollButtons():
            bar.setElideMode(Qt.TextElideMode.ElideNone)
            bar.setUsesScrollButtons(True)
            changed += 1
    return changed


class ReadableDockTabs(QObject):
    """Keeps `make_tabs_readable` true for the window's life: re-applied when Qt adds a child (a new tab bar)."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.setObjectName("readableDockTabs")
        self.window = window
        self.timer = QTimer(self)  # once per burst of new children, after Qt has set the tab bar up
        self.timer.setSingleShot(True)
        self.timer.setInterval(0)
        self.timer.timeout.connect(lambda: make_tabs_readable(self.window))
        window.installEventFilter(self)
        make_tabs_readable(window)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window and event.type() == QEvent.Type.ChildAdded:
            self.timer.start()
        return False
