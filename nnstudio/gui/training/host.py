"""What training needs from the window it lives in: the typed host Protocol the main window satisfies.

Training never probes the window with `getattr`: everything it uses is named here, so a change to the
window that training relies on shows up as a broken Protocol, and a test window can implement just this.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QSettings, Qt, SignalInstance
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu, QWidget

if TYPE_CHECKING:  # named for the types only: importing training imports no canvas
    from nnstudio.core import Design

    from ..canvas.scene import CanvasScene
    from ..editor.session import DesignSession

PLOT_DOCKS = (  # view key, title, dock object name
    ("loss", "Loss", "lossDock"),
    ("accuracy", "Accuracy", "accuracyDock"),
    ("learningRate", "Learning Rate", "learningRateDock"),
    ("gradients", "Gradients", "gradientsDock"),
    ("weights", "Weights", "weightsDock"),
    ("output", "Output", "outputDock"),
)


class TrainingHost(Protocol):
    """The main window as training sees it (`nnstudio.gui.shell.mainwindow.MainWindow` is one)."""

    session: DesignSession
    scene: CanvasScene
    settings: QSettings
    menus: dict[str, QMenu]  # "file", "view", "help", …; training adds "train"
    inspector_dock: QDockWidget
    closing: SignalInstance  # the user agreed to close: training stops and waits for its thread

    @property
    def design(self) -> Design: ...

    @property
    def current_path(self) -> Path | None: ...

    def qt_window(self) -> QMainWindow:
        """The window as a Qt widget: parent of training's actions, menus, docks and dialogs."""
        ...

    def add_dock(self, widget: QWidget, title: str, object_name: str, area: Qt.DockWidgetArea = ...,
                 tabify_with: QDockWidget | None = None) -> QDockWidget: ...

    def apply_view_state(self) -> None:
        """Show the design again after the canvas changed size."""
        ...

    def select_layers(self, layer_ids: list[str], centre: bool = False) -> None: ...

    def status(self, message: str, error: bool = False, timeout_ms: int = 6000) -> None: ...

    def show_error(self, title: str, message: str) -> None: ...

    def choose_save_path(self, title: str, suggested: str, file_filter: str) -> Path | None: ...

    def maybe_keep_changes(self, doing: str) -> bool:
        """False when the user wants to keep unsaved changes rather than go on `doing` something."""
        ...

    def set_design(self, design: Design, path: Path | None, note: str = "") -> None: ...
