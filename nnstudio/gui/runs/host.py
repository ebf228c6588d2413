"""What the Runs panel needs from the window it lives in: the typed host Protocol the main window satisfies.

The runs room never probes the window with `getattr`: everything it uses is named here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import Qt, SignalInstance
from PySide6.QtWidgets import QDockWidget, QMainWindow, QWidget

from ..training.host import TrainingHost

if TYPE_CHECKING:
    from nnstudio.core import Design

    from ..editor.session import DesignSession


class RunsHost(TrainingHost, Protocol):
    """The main window as the Runs panel sees it (`nnstudio.gui.shell.mainwindow.MainWindow` is one).

    It is a `TrainingHost` too: attaching this room attaches training first. The members below are
    the ones this room itself uses."""

    session: DesignSession  # its path picks the run store
    closing: SignalInstance  # the user agreed to close: a sweep is cancelled and the store closed

    @property
    def design(self) -> Design: ...

    def qt_window(self) -> QMainWindow:
        """The window as a Qt widget: parent of the sweep dialog."""
        ...

    def add_dock(self, widget: QWidget, title: str, object_name: str, area: Qt.DockWidgetArea = ...,
                 tabify_with: QDockWidget | None = None) -> QDockWidget: ...

    def ask_confirm(self, title: str, message: str, accept: str) -> bool: ...

    def show_error(self, title: str, message: str) -> None: ...
