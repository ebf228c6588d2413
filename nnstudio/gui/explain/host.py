"""What explain mode needs from the window it lives in: the typed host Protocol the main window satisfies.

Explain never probes the window with `getattr`: everything it uses is named here. (`ExplainHost` is
the Explain dock's widget; this is the window around it.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QWidget

from ..training.host import TrainingHost

if TYPE_CHECKING:
    from nnstudio.core import Design

    from ..editor.inspector import Inspector
    from ..editor.session import DesignSession


class ExplainWindow(TrainingHost, Protocol):
    """The main window as explain mode sees it (`nnstudio.gui.shell.mainwindow.MainWindow` is one).

    It is a `TrainingHost` too: attaching this room attaches training first. The members below are
    the ones this room itself uses."""

    session: DesignSession
    inspector: Inspector  # the activation curve goes under its layer page
    inspector_dock: QDockWidget  # the Explain dock is tabbed with it

    @property
    def design(self) -> Design: ...

    def qt_window(self) -> QMainWindow: ...

    def add_dock(self, widget: QWidget, title: str, object_name: str, area: Qt.DockWidgetArea = ...,
                 tabify_with: QDockWidget | None = None) -> QDockWidget: ...
