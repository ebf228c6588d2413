"""Tabbed panels show their whole titles (with scroll buttons) instead of two letters and an ellipsis."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTabBar


def _dock_tab_bars(window):
    return window.findChildren(QTabBar, options=Qt.FindChildOption.FindDirectChildrenOnly)


def test_bottom_panel_tabs_show_whole_titles_at_1280x720(qtbot, monkeypatch):
    from nnstudio.gui.shell.app import open_main_window

    window = open_main_window(None, defer=False)
    monkeypatch.setattr(window, "ask_save_changes", lambda doing: "discard")
    qtbot.addWidget(window)
    window.resize(1280, 720)
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: any(bar.count() >= 6 for bar in _dock_tab_bars(window)))
    bars = _dock_tab_bars(window)
    qtbot.waitUntil(lambda: all(bar.elideMode() == Qt.TextElideMode.ElideNone for bar in bars))
    bottom = max(bars, key=QTabBar.count)
    assert bottom.usesScrollButtons()
    titles = [bottom.tabText(i) for i in range(bottom.count())]
    assert "Loss" in titles and "Accuracy" in titles, titles
    for i, title in enumerate(titles):  # each tab is wide enough for its whole title
        assert bottom.tabRect(i).width() >= bottom.fontMetrics().horizontalAdvance(title), title


def test_a_panel_tabified_later_gets_a_readable_tab_bar_too(qtbot, monkeypatch):
    from PySide6.QtWidgets import QLabel

    from nnstudio.gui.shell.app import open_main_window

    window = open_main_window(None, defer=False)
    monkeypatch.setattr(window, "ask_save_changes", lambda doing: "discard")
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    right = Qt.DockWidgetArea.RightDockWidgetArea
    first = window.add_dock(QLabel("a"), "A panel with a long title", "testDockA", right)
    window.add_dock(QLabel("b"), "Another panel with a long title", "testDockB", right, tabify_with=first)
    qtbot.waitUntil(lambda: any(
        "A panel with a long title" in [bar.tabText(i) for i in range(bar.count())] for bar in _dock_tab_bars(window)))
    qtbot.waitUntil(lambda: all(bar.elideMode() == Qt.TextElideMode.ElideNone for bar in _dock_tab_bars(window)))
