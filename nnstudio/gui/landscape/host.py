"""What the optimization views need from the window they live in: the typed host Protocol the main window satisfies.

The landscape, race, seeds and learning-rate views never probe the window with `getattr`: everything
they use is named here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import Qt, SignalInstance
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu, QWidget

from ..training.host import TrainingHost

if TYPE_CHECKING:
    from nnstudio.core import Design

    from ..editor.session import DesignSession


class LandscapeHost(TrainingHost, Protocol):
    """The main window as the optimization views see it (`nnstudio.gui.shell.mainwindow.MainWindow` is one).

    It is a `TrainingHost` too: attaching this room attaches training first. The members below are
    the ones this room itself uses."""

    session: DesignSession
    menus: dict[str, QMenu]  # "train" gets Find Learning Rate, Loss Landscape, Optimizer Race, N Seeds
    closing: SignalInstance  # the user agreed to close: the views cancel their jobs and wait

    @property
    def design(self) -> Design: ...

    def qt_window(self) -> QMainWindow:
        """The window as a Qt widget: parent of the actions and the dialog, sizes the docks."""
        ...

    def add_dock(self, widget: QWidget, title: str, object_name: str, area: Qt.DockWidgetArea = ...,
                 tabify_with: QDockWidget | None = None) -> QDockWidget: ...
