"""Playground's network view in the main window: a Network tab beside the canvas, with its control bar.

`attach_network_view(window, controller)` puts the canvas and the network view in tabs in the middle of
the window (both mirror the same document, so switching loses nothing) and adds View ▸ Network View.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QTabWidget

from .host import NetworkHost
from .panel import NetworkPanel

if TYPE_CHECKING:
    from ..training.controller import TrainingController

__all__ = ["NetworkHost", "NetworkPanel", "attach_network_view"]


def attach_network_view(window: NetworkHost, controller: TrainingController) -> NetworkPanel:
    """Attach once; a second call returns the panel already there. The tabs are `panel.tabs`."""
    qt_window = window.qt_window()
    existing = qt_window.findChild(NetworkPanel)
    if existing is not None:
        return existing
    panel = NetworkPanel(window, controller)
    tabs = QTabWidget()
    tabs.setObjectName("centralTabs")
    tabs.setDocumentMode(True)
    canvas = qt_window.takeCentralWidget()
    tabs.addTab(canvas, "Canvas")
    tabs.addTab(panel, "Network")
    qt_window.setCentralWidget(tabs)
    panel.tabs = tabs
    action = QAction("&Network View", qt_window)
    action.setObjectName("actionNetworkView")
    action.setCheckable(True)
    action.setShortcut(QKeySequence("Ctrl+3"))
    action.setStatusTip("Show the network as Playground draws it: neurons, their heatmaps and weighted links")
    action.toggled.connect(lambda on: tabs.setCurrentIndex(1 if on else 0))
    tabs.currentChanged.connect(lambda index: action.setChecked(index == 1))
    qt_window.addAction(action)
    view_menu = window.menus.get("view")
    if view_menu is not None:
        view_menu.addSeparator()
        view_menu.addAction(action)
    return panel
