"""The main window: palette, canvas and inspector around one design session, with files, undo and recovery.

Built in two stages: `WindowFrame` (frame.py) is what first paints; `build()` imports the canvas, editor and
their models and fills the same window (`MainWindow()` builds at once; `MainWindow(defer=True)` leaves it to
the caller, see `app.open_main_window`). This module imports nothing heavier than Qt, so creating the
window's first stage loads no room. Other panels (training, plots) join through `add_dock`, which also lists
them in View ▸ Panels and restores their saved place. Dialogs go through small methods (`show_error`,
`ask_save_changes`, `ask_recover`, `ask_confirm`, `choose_open_path`, `choose_save_path`) that tests replace.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QPointF, QSettings, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QDockWidget, QLabel, QMenu, QToolButton, QWidget

from ..base.locations import DESIGN_SUFFIX, recovery_dir
from .frame import APP_NAME, WindowFrame, bool_setting, int_setting
from .window_editing import WindowEditing
from .window_files import WindowFiles
from .window_recovery import WindowRecovery

if TYPE_CHECKING:
    from PySide6.QtCore import Qt

    from nnstudio.core import Design

    from ..editor.recovery import RecoveryStore

__all__ = ["APP_NAME", "MainWindow", "READABLE_ZOOM"]
READABLE_ZOOM = 0.7  # below this, blocks hide their shapes and parameter counts
AUTOSAVE_SECONDS = 30


class MainWindow(WindowFiles, WindowRecovery, WindowEditing, WindowFrame):
    """One design at a time: the palette on the left, the canvas in the middle, the inspector on the right."""

    def __init__(self, parent: QWidget | None = None, *, settings: QSettings | None = None,
                 recovery: RecoveryStore | None = None, defer: bool = False) -> None:
        super().__init__(parent, settings=settings)
        self._recovery_store = recovery
        self.built = False
        if not defer:
            self.build()

    def build(self) -> None:
        """The second stage: the design session, canvas, palette, inspector, Problems panel, every action and
        menu entry, and the saved panel layout (the rooms — training, plots … — are attached after this)."""
        if self.built:
            return
        from PySide6.QtCore import Qt  # the first paint is over: Qt's namespace of enums may be built now

        from ..canvas.palette import LayerPalette
        from ..canvas.scene import CanvasScene
        from ..canvas.view import CanvasView
        from ..editor.inspector import Inspector
        from ..editor.recovery import RecoveryStore
        from ..editor.session import DesignSession
        from . import appearance
        from .problems import ProblemsPanel

        recovery = self._recovery_store
        self.recovery = recovery if recovery is not None else RecoveryStore(recovery_dir())
        self.session = DesignSession(parent=self)
        self.scene = CanvasScene(self.session, parent=self)
        self.canvas = CanvasView(self.scene)
        self.setCentralWidget(self.canvas)
        self.layer_palette = LayerPalette()
        self.inspector = Inspector(self.session)
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonFollowStyle)
        self.status_label.setTextFormat(Qt.TextFormat.PlainText)
        self._title_note = ""  # "example" or "recovered": said in the title until saved
        self._edits = 0  # document events so far; autosave writes only when it moved
        self._autosaved_at = 0
        self._paste_source: str | None = None
        self._paste_count = 0

        self._create_actions()
        self._create_menus()
        self._create_toolbar()
        self._create_status_bar()
        self.palette_dock = self.add_dock(self.layer_palette, "Layers", "paletteDock",
                                          Qt.DockWidgetArea.LeftDockWidgetArea)
        self.inspector_dock = self.add_dock(self.inspector, "Inspector", "inspectorDock",
                                            Qt.DockWidgetArea.RightDockWidgetArea)
        self.problems_panel = ProblemsPanel(self.session)
        self.problems_dock = self.add_dock(self.problems_panel, "Problems", "problemsDock",
                                           Qt.DockWidgetArea.LeftDockWidgetArea)
        self.splitDockWidget(self.palette_dock, self.problems_dock, Qt.Orientation.Vertical)
        self.problems_panel.layer_activated.connect(lambda lid: self.select_layers([lid], centre=True))
        self._connect_signals()
        self._autosave_timer = QTimer(self)
        self._autosave_timer.setObjectName("autosaveTimer")
        seconds = int_setting(self.settings, "preferences/autosaveSeconds", AUTOSAVE_SECONDS)
        self._autosave_timer.setInterval(max(5, seconds) * 1000)
        self._autosave_timer.timeout.connect(self.autosave_now)
        self._autosave_timer.start()
        self._restore_settings()
        appearance.install(self)
        self.built = True
        self._update_title()
        self._update_status()
        self._update_selection_actions()
        self.status_label.setText("")  # "Loading…" is over

    # ---- public API ------------------------------------------------------------------------------

    @property
    def design(self) -> Design:
        """The design shown in this window (the same object for the window's whole life)."""
        return self.session.design

    @property
    def undo_stack(self):
        return self.session.undo_stack

    @property
    def current_path(self) -> Path | None:
        return self.session.path

    def add_dock(self, widget: QWidget, title: str, object_name: str,
                 area: Qt.DockWidgetArea | None = None,
                 tabify_with: QDockWidget | None = None, shortcut: QKeySequence | str | None = None) -> QDockWidget:
        """Add a panel: it gets a View ▸ Panels entry and comes back where the user last left it."""
        from PySide6.QtCore import Qt

        dock = QDockWidget(title, self)
        dock.setObjectName(object_name)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea if area is None else area, dock)
        if tabify_with is not None:
            self.tabifyDockWidget(tabify_with, dock)
        toggle = dock.toggleViewAction()
        toggle.setObjectName(f"actionShow{object_name[0].upper()}{object_name[1:]}")
        toggle.setToolTip(f"Show or hide the {title} panel")
        if shortcut is not None:
            toggle.setShortcut(QKeySequence(shortcut))
        self._panels_menu.addAction(toggle)
        self.docks[object_name] = dock
        if self._saved_state is not None:
            self.restoreDockWidget(dock)  # a panel created after the window restored its layout
        if self.isVisible():
            dock.show()  # the second stage, after the first paint: shown as window.show() would (see finish_layout)
        return dock

    def finish_layout(self) -> None:
        """The second stage's last step: panels added to the visible window were all shown; the saved layout
        now closes those the user had closed and puts every panel back in its place."""
        if self.isVisible() and self._saved_state is not None and not self._saved_state.isEmpty():
            self.restoreState(self._saved_state)

    def select_layers(self, layer_ids, centre: bool = False) -> None:
        ids = list(layer_ids)
        self.scene.select_layers(ids)
        if centre and ids:
            self.canvas.centre_on_layer(ids[0])

    def status(self, message: str, error: bool = False, timeout_ms: int = 6000) -> None:
        """Say something in the status bar (errors in red)."""
        self.status_label.setText(message)
        colour = self.scene.style.colours.error.name() if error else ""
        self.status_label.setStyleSheet(f"color: {colour}" if error else "")
        self.status_label.setProperty("error", error)
        self._status_clear.start(timeout_ms)

    # ---- building the window ---------------------------------------------------------------------

    def _create_actions(self) -> None:
        from PySide6.QtCore import Qt

        from ..base import icons

        key = QKeySequence.StandardKey
        a = self.make_action
        a("new", "&New", self.new_design, key.New, "Start a new, empty design", "new")
        a("open", "&Open…", self.open_dialog, key.Open, "Open a design file", "open")
        a("save", "&Save", self.save, key.Save, "Save the design", "save")
        a("saveAs", "Save &As…", self.save_as, key.SaveAs, "Save the design under a new name")
        a("revert", "&Revert to Saved", self.revert, None, "Discard changes and reload the saved file")
        a("exportSvg", "Export Diagram as S&VG…", lambda: self.export_diagram(".svg"), None,
          "Save the diagram as a scalable SVG picture", "export")
        a("exportPng", "Export Diagram as &PNG…", lambda: self.export_diagram(".png"), None,
          "Save the diagram as a PNG image")
        a("quit", "&Quit", self.close, key.Quit, "Close NN Studio")
        self._actions["quit"].setMenuRole(QAction.MenuRole.QuitRole)

        undo = self.undo_stack.createUndoAction(self, "&Undo")
        undo.setObjectName("actionUndo")
        undo.setShortcuts(QKeySequence.keyBindings(key.Undo))
        undo.setIcon(icons.icon("undo"))
        redo = self.undo_stack.createRedoAction(self, "&Redo")
        redo.setObjectName("actionRedo")
        redo.setShortcuts(QKeySequence.keyBindings(key.Redo))
        redo.setIcon(icons.icon("redo"))
        for name, act in (("undo", undo), ("redo", redo)):
            self.addAction(act)
            self._actions[name] = act
        a("cut", "Cu&t", self.cut_selection, key.Cut, "Cut the selected layers to the clipboard")
        a("copy", "&Copy", self.copy_selection, key.Copy, "Copy the selected layers and their connections")
        a("paste", "&Paste", self.paste, key.Paste, "Paste layers from the clipboard")
        a("duplicate", "D&uplicate", self.duplicate_selection, "Ctrl+D", "Duplicate the selected layers",
          "duplicate")
        a("delete", "&Delete", self.delete_selection, [key.Delete, "Backspace"],
          "Delete the selected layers and connections", "delete")
        a("selectAll", "Select &All", self.select_all, key.SelectAll, "Select every layer")
        # Editing keys act on the canvas only: Delete or Ctrl+A typed in the inspector must never remove
        # or select layers behind the user's back.
        for name in ("cut", "copy", "paste", "duplicate", "delete", "selectAll"):
            action = self._actions[name]
            self.removeAction(action)
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.canvas.addAction(action)

        a("zoomIn", "Zoom &In", self.canvas.zoom_in, [key.ZoomIn, "Ctrl+="], "Zoom in", "zoom-in")
        a("zoomOut", "Zoom &Out", self.canvas.zoom_out, key.ZoomOut, "Zoom out", "zoom-out")
        a("fitView", "&Fit to View", self.canvas.fit_all, "Ctrl+0", "Show the whole design", "fit")
        a("actualSize", "&Actual Size", lambda: self.canvas.set_zoom(1.0), "Ctrl+1", "Zoom to 100 %")
        a("showGrid", "Show &Grid", None, None, "Draw the background grid", checkable=True)
        a("showShapes", "Show &Shapes on Connections", None, None,
          "Write the tensor shape on every connection", checkable=True)
        self._actions["showGrid"].toggled.connect(self._set_show_grid)
        self._actions["showShapes"].toggled.connect(self._set_show_shapes)

        a("autoLayout", "&Auto Layout", self.auto_layout, "Ctrl+L",
          "Arrange the layers left to right by depth", "layout")
        a("alignRow", "Align in a &Row", lambda: self.align_selection(True), None,
          "Give the selected layers the same height")
        a("alignColumn", "Align in a &Column", lambda: self.align_selection(False), None,
          "Give the selected layers the same horizontal place")
        a("about", "&About NN Studio", self._about, None, "About NN Studio")
        self._actions["about"].setMenuRole(QAction.MenuRole.AboutRole)
        a("canvasHelp", "&Canvas Basics", self._canvas_help, key.HelpContents,
          "How to build a network on the canvas")

    def _create_menus(self) -> None:
        bar = self.menuBar()
        act = self._actions

        def menu(key: str, title: str) -> QMenu:
            if key in self.menus:  # made by the first stage (frame.MENUS)
                return self.menus[key]
            m = bar.addMenu(title)
            m.setObjectName(f"menu{key[0].upper()}{key[1:]}")
            self.menus[key] = m
            return m

        file_menu = menu("file", "&File")
        file_menu.addActions([act["new"], act["open"]])
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.setObjectName("menuRecent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self.examples_menu = file_menu.addMenu("&Examples")
        self.examples_menu.setObjectName("menuExamples")
        self._fill_examples_menu()
        from .playground_import import add_import_action

        add_import_action(self, file_menu)
        file_menu.addSeparator()
        file_menu.addActions([act["save"], act["saveAs"], act["revert"]])
        file_menu.addSeparator()
        file_menu.addActions([act["exportSvg"], act["exportPng"]])
        file_menu.addSeparator()
        file_menu.addAction(act["quit"])

        edit = menu("edit", "&Edit")
        edit.addActions([act["undo"], act["redo"]])
        edit.addSeparator()
        edit.addActions([act["cut"], act["copy"], act["paste"], act["duplicate"], act["delete"]])
        edit.addSeparator()
        edit.addAction(act["selectAll"])

        view = menu("view", "&View")
        view.addActions([act["zoomIn"], act["zoomOut"], act["fitView"], act["actualSize"]])
        view.addSeparator()
        view.addActions([act["showGrid"], act["showShapes"]])
        view.addSeparator()
        self._panels_menu = view.addMenu("&Panels")
        self._panels_menu.setObjectName("menuPanels")

        layout = menu("layout", "&Layout")
        layout.addActions([act["autoLayout"], act["alignRow"], act["alignColumn"]])

        help_menu = menu("help", "&Help")
        help_menu.addActions([act["canvasHelp"], act["about"]])

        self.canvas.set_context_actions(
            [act["cut"], act["copy"], act["duplicate"], act["delete"], None, act["alignRow"], act["alignColumn"]],
            [act["paste"], act["selectAll"], None, act["autoLayout"], act["fitView"]],
        )

    def _create_toolbar(self) -> None:
        bar = self.toolbar  # made by the first stage
        act = self._actions
        for group in (("new", "open", "save"), ("undo", "redo"), ("duplicate", "delete"),
                      ("zoomOut", "zoomIn", "fitView"), ("autoLayout",)):
            for name in group:
                bar.addAction(act[name])
            bar.addSeparator()
        toggle = bar.toggleViewAction()
        toggle.setObjectName("actionShowToolbar")
        toggle.setText("&Toolbar")
        self.menus["view"].insertAction(self._panels_menu.menuAction(), toggle)

    def _create_status_bar(self) -> None:
        bar = self.statusBar()  # its message label was made by the first stage
        self._status_clear = QTimer(self)
        self._status_clear.setSingleShot(True)
        self._status_clear.timeout.connect(lambda: self.status_label.setText(""))
        self.problems_button = QToolButton()
        self.problems_button.setObjectName("statusProblems")
        self.problems_button.setAutoRaise(True)
        self.problems_button.setToolTip("Problems in the design: click to list them all")
        self.problems_button.clicked.connect(self.show_problems)
        self.params_label = QLabel()
        self.params_label.setObjectName("statusParams")
        self.params_label.setToolTip("Trainable parameters in the whole design")
        self.zoom_label = QLabel("100 %")
        self.zoom_label.setObjectName("statusZoom")
        self.zoom_label.setToolTip("Canvas zoom (mouse wheel, Ctrl+= / Ctrl+-; Ctrl+0 fits)")
        bar.addPermanentWidget(self.problems_button)
        bar.addPermanentWidget(self.params_label)
        bar.addPermanentWidget(self.zoom_label)

    def _connect_signals(self) -> None:
        self.session.changed.connect(self._on_document_changed)
        self.session.inferred.connect(lambda _result: self._update_status())
        self.session.path_changed.connect(lambda _path: self._update_title())
        self.undo_stack.cleanChanged.connect(self._on_clean_changed)
        self.scene.selectionChanged.connect(self._on_selection_changed)
        self.scene.status_message.connect(lambda text, error: self.status(text, error))
        self.scene.files_dropped.connect(lambda paths: self.open_file(paths[0]))
        self.scene.layers_added.connect(lambda ids: self.select_layers(ids))
        self.canvas.zoom_changed.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f} %"))
        self.layer_palette.layer_requested.connect(self.add_layer_from_palette)
        self.inspector.layer_activated.connect(lambda lid: self.select_layers([lid], centre=True))
        QGuiApplication.clipboard().dataChanged.connect(self._update_paste_action)
        self._update_paste_action()

    # ---- reacting --------------------------------------------------------------------------------

    def _on_document_changed(self, event) -> None:
        self._edits += 1
        if event.kind == "meta_changed":
            self._update_title()

    def _on_clean_changed(self, clean: bool) -> None:
        self.setWindowModified(not clean)
        if clean:
            self.recovery.clear()
            self._autosaved_at = self._edits

    def _on_selection_changed(self) -> None:
        self.inspector.show_layers(self.scene.selected_layer_ids())
        self._update_selection_actions()

    def _update_selection_actions(self) -> None:
        layers = bool(self.scene.selected_layer_ids())
        anything = layers or bool(self.scene.selected_connections())
        for name in ("cut", "copy", "duplicate"):
            self._actions[name].setEnabled(layers)
        self._actions["delete"].setEnabled(anything)
        several = len(self.scene.selected_layer_ids()) > 1
        self._actions["alignRow"].setEnabled(several)
        self._actions["alignColumn"].setEnabled(several)

    def _update_paste_action(self) -> None:
        from ..canvas.fragment import fragment_from_mime

        mime = QGuiApplication.clipboard().mimeData()
        self._actions["paste"].setEnabled(fragment_from_mime(mime) is not None)

    def _display_name(self) -> str:
        if self.current_path is not None:
            return self.current_path.name
        return self.design.name or "Untitled"

    def _update_title(self) -> None:
        note = {"example": " (example)", "recovered": " (recovered)"}.get(self._title_note, "")
        self.setWindowTitle(f"{self._display_name()}{note}[*] — {APP_NAME}")
        self.setWindowModified(self.session.is_modified)
        self._actions["revert"].setEnabled(self.current_path is not None)

    def _update_status(self) -> None:
        from nnstudio.core.inference import format_count

        result = self.session.inference
        self.params_label.setText(f"{format_count(result.total_params)} parameters")
        errors = len(result.errors())
        warnings = len(result.diagnostics) - errors
        if not result.diagnostics:
            self.problems_button.setText("✓ No problems")
        else:
            parts = []
            if errors:
                parts.append(f"{errors} error{'s' if errors != 1 else ''}")
            if warnings:
                parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
            self.problems_button.setText(("● " if errors else "▲ ") + ", ".join(parts))
        colours = self.scene.style.colours
        colour = colours.error if errors else colours.warning if warnings else colours.accept
        self.problems_button.setStyleSheet(f"QToolButton {{ color: {colour.name()} }}")

    def show_problems(self) -> None:
        """The Problems panel, shown and raised (the status bar's problems button)."""
        self.problems_dock.show()
        self.problems_dock.raise_()
        self.problems_panel.setFocus()

    def _set_show_grid(self, show: bool) -> None:
        self.scene.set_show_grid(show)
        self.canvas.resetCachedContent()
        self.canvas.viewport().update()
        self.settings.setValue("view/showGrid", show)

    def _set_show_shapes(self, show: bool) -> None:
        self.scene.set_show_shapes(show)
        self.settings.setValue("view/showShapes", show)

    def apply_view_state(self) -> None:
        view = self.design.view
        if view.zoom == 1.0 and view.center_x == 0.0 and view.center_y == 0.0:
            self.canvas.fit_all(min_zoom=READABLE_ZOOM)  # blocks keep their shapes and counts legible
        else:
            self.canvas.show_view(view.zoom, QPointF(view.center_x, view.center_y))

    def _store_view_state(self) -> None:
        """The canvas's zoom and centre travel in the file (view state, not an undoable edit)."""
        centre = self.canvas.mapToScene(self.canvas.viewport().rect().center())
        zoom = min(max(self.canvas.zoom, 0.05), 20.0)
        self.design.set_view(zoom=round(zoom, 4), center_x=round(centre.x(), 1), center_y=round(centre.y(), 1))

    # ---- settings and window events --------------------------------------------------------------

    def _restore_settings(self) -> None:
        from PySide6.QtCore import Qt

        s = self.settings  # the geometry was restored by the first stage
        geometry = s.value("window/geometry")
        if not isinstance(geometry, QByteArray) or geometry.isEmpty():
            em = self.fontMetrics().height()
            self.resizeDocks([self.palette_dock, self.inspector_dock], [em * 15, em * 19],
                             Qt.Orientation.Horizontal)
        state = s.value("window/state")
        if isinstance(state, QByteArray) and not state.isEmpty():
            self._saved_state = state
            self.restoreState(state)
        else:
            self._saved_state = QByteArray()
        self._actions["showGrid"].setChecked(bool_setting(s, "view/showGrid", True))
        self._actions["showShapes"].setChecked(bool_setting(s, "view/showShapes", True))
        self.scene.set_show_grid(self._actions["showGrid"].isChecked())
        self.scene.set_show_shapes(self._actions["showShapes"].isChecked())

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.built:  # closed while loading: nothing to keep yet
            self.closing.emit()
            event.accept()
            return
        if not self.maybe_keep_changes("closing"):
            event.ignore()
            return
        self.closing.emit()
        self._autosave_timer.stop()
        self._save_settings()
        self.recovery.close()  # a clean exit leaves no recovery file behind
        event.accept()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if any(u.isLocalFile() and u.toLocalFile().endswith(DESIGN_SUFFIX) for u in event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls()
                 if u.isLocalFile() and u.toLocalFile().endswith(DESIGN_SUFFIX)]
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        # Open after the drop returns: a dialog inside a drop handler would block the drag source.
        QTimer.singleShot(0, lambda: self.open_file(paths[0]))

