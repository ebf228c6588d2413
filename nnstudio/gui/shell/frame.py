"""The main window's first stage: the real top-level window as it first paints (title, geometry, menu bar, toolbar,
status bar, a light "Loading…" canvas), before any room is imported.

This module and what it imports stay light (PySide6 widgets, `base.locations`, `base.screen_fit`, `base.theme`):
no pydantic, numpy, torch or pyqtgraph, and no room (canvas, editor, training …). Nor does it touch an enum of
Qt's namespace (`Qt.…`): PySide6 builds all of that namespace's enums on first use, tens of milliseconds,
which the second stage pays instead (the dock corners, tool button style and label format are set there).
`MainWindow.build()` — the second stage, queued just after the first paint by `app.open_main_window` — fills
the same window.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings, QSize, Signal
from PySide6.QtGui import QAction, QKeySequence, QPainter, QPaintEvent
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QMenu, QMessageBox, QToolBar, QWidget

import nnstudio

from ..base import screen_fit
from ..base.locations import app_settings
from ..base.theme import canvas_colours

APP_NAME = "NN Studio"
# The menu bar as it first paints; the second stage fills these same menus.
MENUS = (("file", "&File"), ("edit", "&Edit"), ("view", "&View"), ("layout", "&Layout"), ("help", "&Help"))


class LoadingCanvas(QWidget):
    """The central area until the canvas is built: the canvas's background and grid, and "Loading…"."""

    GRID = 24  # px between minor grid lines, as the canvas draws them at 100 %

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("loadingCanvas")

    def paintEvent(self, event: QPaintEvent) -> None:
        colours = canvas_colours(self.palette())
        painter = QPainter(self)
        painter.fillRect(self.rect(), colours.background)
        painter.setPen(colours.grid_minor)
        for x in range(0, self.width(), self.GRID):
            painter.drawLine(x, 0, x, self.height())
        for y in range(0, self.height(), self.GRID):
            painter.drawLine(0, y, self.width(), y)
        painter.setPen(colours.secondary_text)
        text, metrics = "Loading…", self.fontMetrics()
        painter.drawText((self.width() - metrics.horizontalAdvance(text)) // 2,
                         (self.height() + metrics.ascent() - metrics.descent()) // 2, text)
        painter.end()


class WindowFrame(QMainWindow):
    """The window's frame: what exists from the first paint on (the rooms are added by `MainWindow.build`)."""

    closing = Signal()  # the user agreed to close; panels stop their work (e.g. training) here

    def __init__(self, parent: QWidget | None = None, *, settings: QSettings | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("MainWindow")
        self.setWindowTitle(APP_NAME)
        self.setAcceptDrops(True)
        self.setDockNestingEnabled(True)
        self.settings = settings if settings is not None else app_settings()
        self.docks: dict[str, QDockWidget] = {}
        self.menus: dict[str, QMenu] = {}
        self._actions: dict[str, QAction] = {}
        self._saved_state: QByteArray | None = None
        bar = self.menuBar()
        for key, title in MENUS:
            menu = bar.addMenu(title)
            menu.setObjectName(f"menu{key[0].upper()}{key[1:]}")
            self.menus[key] = menu
        self.toolbar = self._create_toolbar_frame()
        self.statusBar().setObjectName("statusBar")
        self.status_label = QLabel("Loading…")
        self.status_label.setObjectName("statusMessage")
        self.statusBar().addWidget(self.status_label, 1)
        self.setCentralWidget(LoadingCanvas())
        self._restore_geometry()

    def _create_toolbar_frame(self) -> QToolBar:
        bar = QToolBar("Main Toolbar", self)
        bar.setObjectName("mainToolBar")
        bar.setMovable(False)
        side = round(self.fontMetrics().height() * 1.4)
        bar.setIconSize(QSize(side, side))
        # About its height once its buttons are in (a button adds ~15 px around its icon in Fusion and the
        # desktop styles), so the canvas does not move down when the second stage fills the toolbar.
        bar.setMinimumHeight(side + 15)
        self.addToolBar(bar)  # at the top
        return bar

    def _restore_geometry(self) -> None:
        """The saved geometry, brought inside the screen (and refitted when stale); else the first-start size."""
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty() and self.restoreGeometry(geometry):
            screen_fit.fit_to_screen(self)
        else:
            screen_fit.initial_geometry(self)

    # ---- public API ------------------------------------------------------------------------------

    def action(self, name: str) -> QAction:
        """An action by short name ('save', 'undo', 'autoLayout', ...); its objectName is 'action' + Name."""
        return self._actions[name]

    def menu(self, name: str) -> QMenu:
        """A top-level menu: 'file', 'edit', 'view', 'layout' or 'help'."""
        return self.menus[name]

    def qt_window(self) -> QMainWindow:
        """This window as a Qt widget (what `training.host.TrainingHost` asks of a host)."""
        return self

    def make_action(self, name: str, text: str, slot=None, shortcut=None, tip: str = "",
                    icon_name: str | None = None, checkable: bool = False) -> QAction:
        """A window action named 'action' + Name, listed under `name` (its icon drawn by `base.icons`)."""
        action = QAction(text, self)
        action.setObjectName("action" + name[0].upper() + name[1:])
        if shortcut is not None:
            shortcuts = shortcut if isinstance(shortcut, list) else [shortcut]
            keys: list[QKeySequence] = []
            for s in shortcuts:
                keys.extend(QKeySequence.keyBindings(s) if isinstance(s, QKeySequence.StandardKey)
                            else [QKeySequence(s)])
            action.setShortcuts(keys)
        if tip:
            action.setToolTip(tip)
            action.setStatusTip(tip)
        if icon_name:
            from ..base.icons import set_icon  # drawn icons: imported with the rooms, after the first paint

            set_icon(action, icon_name)
        action.setCheckable(checkable)
        if slot is not None:
            action.triggered.connect(lambda _checked=False: slot())
        self.addAction(action)  # shortcuts work even while the menu bar is hidden
        self._actions[name] = action
        return action

    def _about(self) -> None:
        import html

        QMessageBox.about(
            self, f"About {APP_NAME}",
            f"<h3>{APP_NAME} {html.escape(nnstudio.__version__)}</h3>"
            "<p>Build neural networks visually and watch them learn — real PyTorch on your own machine.</p>")

    def _canvas_help(self) -> None:
        QMessageBox.information(
            self, "Canvas Basics",
            "<ul>"
            "<li><b>Add a layer:</b> drag it from the Layers panel, or double-click it there to add it after "
            "the selected layer.</li>"
            "<li><b>Connect:</b> drag from a block's right port to another block; red means the connection "
            "is not allowed (the status bar says why).</li>"
            "<li><b>Select:</b> click, Shift/Ctrl-click, or drag a rectangle on empty canvas.</li>"
            "<li><b>Move:</b> drag blocks; <b>pan:</b> middle-drag or hold Space and drag.</li>"
            "<li><b>Zoom:</b> mouse wheel, Ctrl+= / Ctrl+-; Ctrl+0 fits the design.</li>"
            "<li><b>Edit:</b> the Inspector shows the selected layer's settings; every change can be "
            "undone.</li></ul>")

    def _save_settings(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.sync()


def int_setting(settings: QSettings, key: str, default: int) -> int:
    try:
        return int(settings.value(key, default))
    except (TypeError, ValueError):
        return default


def bool_setting(settings: QSettings, key: str, default: bool) -> bool:
    value = settings.value(key, default)
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes")
    return bool(value)
