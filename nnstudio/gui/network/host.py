"""What the Network tab needs from the window it lives in: the typed host Protocol the main window satisfies.

The network view never probes the window with `getattr`: everything it uses is named here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from PySide6.QtWidgets import QMainWindow, QMenu

if TYPE_CHECKING:
    from ..editor.session import DesignSession


class NetworkHost(Protocol):
    """The main window as the Network tab sees it (`nnstudio.gui.shell.mainwindow.MainWindow` is one)."""

    session: DesignSession
    menus: dict[str, QMenu]  # "view" gets View ▸ Network View

    def qt_window(self) -> QMainWindow:
        """The window as a Qt widget: its central widget becomes the Canvas / Network tabs."""
        ...

    def status(self, message: str, error: bool = False, timeout_ms: int = 6000) -> None: ...
