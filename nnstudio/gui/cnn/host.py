"""What the inside views (CNN filters and maps, results, health) need from the window: the typed host Protocol.

They never probe the window with `getattr`: everything they use is named here, and the main window
(`nnstudio.gui.shell.mainwindow.MainWindow`) satisfies it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu, QWidget

from ..training.host import TrainingHost

if TYPE_CHECKING:
    from nnstudio.core import Design

    from ..canvas.scene import CanvasScene


class InsideViewsHost(TrainingHost, Protocol):
    """The main window as the inside views see it. It is a `TrainingHost` too: attaching this room
    attaches training first. The members below are the ones this room itself uses."""

    scene: CanvasScene  # the health badges sit on the canvas blocks

    @property
    def design(self) -> Design: ...

    @property
    def current_path(self) -> Path | None: ...

    def qt_window(self) -> QMainWindow:
        """The window as a Qt widget: parent of the Save Report action and its file dialog."""
        ...

    def menu(self, name: str) -> QMenu: ...

    def add_dock(self, widget: QWidget, title: str, object_name: str, area: Qt.DockWidgetArea = ...,
                 tabify_with: QDockWidget | None = None) -> QDockWidget: ...

    def select_layers(self, layer_ids: list[str], centre: bool = False) -> None: ...

    def show_error(self, title: str, message: str) -> None: ...
