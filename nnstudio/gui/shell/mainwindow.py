"""The main window: palette, canvas and inspector around one design session, with files, undo and recovery.

Other panels (training, plots) join through `add_dock`, which also lists them in View ▸ Panels and
restores their saved place. Dialogs go through small methods (`show_error`, `ask_save_changes`,
`ask_recover`, `ask_confirm`, `choose_open_path`, `choose_save_path`) that tests replace.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from PySide6.QtCore import QByteArray, QPointF, QSettings, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QToolBar,
    QToolButton,
    QWidget,
)

import nnstudio
from nnstudio import io as design_io  # its loader (pydantic) is imported on first use, after first paint
from nnstudio.core import Design, FormatError, NNStudioError
from nnstudio.core.inference import format_count

from ..base import dock_layout
from ..base.icons import icon, set_icon
from ..base.locations import DESIGN_SUFFIX, app_settings, example_paths, example_title, recovery_dir
from ..canvas.fragment import fragment_bounds, fragment_from_mime, make_fragment, put_on_clipboard
from ..canvas.layout import layered_layout
from ..canvas.palette import LayerPalette
from ..canvas.render import render_design
from ..canvas.scene import CanvasScene, CanvasView
from ..editor.commands import AutoLayoutCommand, MoveCommand, PasteCommand, RemoveCommand
from ..editor.inspector import Inspector
from ..editor.recovery import RecoveryEntry, RecoveryStore
from ..editor.session import DesignSession
from . import appearance
from .problems import ProblemsPanel

APP_NAME = "NN Studio"
READABLE_ZOOM = 0.7  # below this, blocks hide their shapes and parameter counts
MAX_RECENT = 10
AUTOSAVE_SECONDS = 30
_FILE_FILTER = f"NN Studio designs (*{DESIGN_SUFFIX});;All files (*)"


class MainWindow(QMainWindow):
    """One design at a time: the palette on the left, the canvas in the middle, the inspector on the right."""

    closing = Signal()  # the user agreed to close; panels stop their work (e.g. training) here

    def __init__(self, parent: QWidget | None = None, *, settings: QSettings | None = None,
                 recovery: RecoveryStore | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("MainWindow")
        self.setAcceptDrops(True)
        self.setDockNestingEnabled(True)
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.settings = settings if settings is not None else app_settings()
        self.recovery = recovery if recovery is not None else RecoveryStore(recovery_dir())
        self.session = DesignSession(parent=self)
        self.scene = CanvasScene(self.session, parent=self)
        self.canvas = CanvasView(self.scene)
        self.setCentralWidget(self.canvas)
        self.layer_palette = LayerPalette()
        self.inspector = Inspector(self.session)
        self.docks: dict[str, QDockWidget] = {}
        self.menus: dict[str, QMenu] = {}
        self._actions: dict[str, QAction] = {}
        self._title_note = ""  # "example" or "recovered": said in the title until saved
        self._edits = 0  # document events so far; autosave writes only when it moved
        self._autosaved_at = 0
        self._paste_source: str | None = None
        self._paste_count = 0
        self._saved_state: QByteArray | None = None

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
        seconds = _int_setting(self.settings, "preferences/autosaveSeconds", AUTOSAVE_SECONDS)
        self._autosave_timer.setInterval(max(5, seconds) * 1000)
        self._autosave_timer.timeout.connect(self.autosave_now)
        self._autosave_timer.start()
        self._restore_settings()
        appearance.install(self)
        self._update_title()
        self._update_status()
        self._update_selection_actions()

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

    def action(self, name: str) -> QAction:
        """An action by short name ('save', 'undo', 'autoLayout', ...); its objectName is 'action' + Name."""
        return self._actions[name]

    def menu(self, name: str) -> QMenu:
        """A top-level menu: 'file', 'edit', 'view', 'layout' or 'help'."""
        return self.menus[name]

    def qt_window(self) -> QMainWindow:
        """This window as a Qt widget (what `training.host.TrainingHost` asks of a host)."""
        return self

    def add_dock(self, widget: QWidget, title: str, object_name: str,
                 area: Qt.DockWidgetArea = Qt.DockWidgetArea.BottomDockWidgetArea,
                 tabify_with: QDockWidget | None = None, shortcut: QKeySequence | str | None = None) -> QDockWidget:
        """Add a panel: it gets a View ▸ Panels entry and comes back where the user last left it."""
        dock = QDockWidget(title, self)
        dock.setObjectName(object_name)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(area, dock)
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
        return dock

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

    # ---- dialogs (replaced in tests) ---------------------------------------------------------------

    def show_error(self, title: str, message: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, title, title, QMessageBox.StandardButton.Ok, self)
        box.setObjectName("errorDialog")
        box.setInformativeText(message)
        box.exec()

    def ask_save_changes(self, doing: str) -> str:
        """'save', 'discard' or 'cancel' for the unsaved changes before `doing` (e.g. 'opening a file')."""
        box = QMessageBox(self)
        box.setObjectName("saveChangesDialog")
        box.setIcon(QMessageBox.Icon.Question)
        box.setText(f"Save the changes to '{self._display_name()}' before {doing}?")
        box.setInformativeText("Your changes will be lost if you don't save them.")
        box.setStandardButtons(QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                               | QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Save)
        answer = box.exec()
        return {QMessageBox.StandardButton.Save: "save",
                QMessageBox.StandardButton.Discard: "discard"}.get(QMessageBox.StandardButton(answer), "cancel")

    def ask_confirm(self, title: str, message: str, accept: str) -> bool:
        box = QMessageBox(QMessageBox.Icon.Question, title, message, QMessageBox.StandardButton.Cancel, self)
        box.setObjectName("confirmDialog")
        ok = box.addButton(accept, QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        return box.clickedButton() is ok

    def ask_recover(self, entry: RecoveryEntry) -> str:
        """'recover', 'discard' or 'later' for unsaved work a crashed session left behind."""
        box = QMessageBox(self)
        box.setObjectName("recoveryDialog")
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Recover unsaved work")
        box.setText("NN Studio did not close normally last time, and unsaved work was kept.")
        box.setInformativeText(f"Recover {entry.describe()}?\n\nLater keeps the copy and asks again "
                               "at the next start.")
        recover = box.addButton("Recover", QMessageBox.ButtonRole.AcceptRole)
        discard = box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton("Later", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(recover)
        box.exec()
        clicked = box.clickedButton()
        return "recover" if clicked is recover else "discard" if clicked is discard else "later"

    def choose_open_path(self) -> Path | None:
        start = str(self.current_path.parent) if self.current_path else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open Design", start, _FILE_FILTER)
        return Path(path) if path else None

    def choose_save_path(self, title: str, suggested: str, file_filter: str) -> Path | None:
        path, _ = QFileDialog.getSaveFileName(self, title, suggested, file_filter)
        return Path(path) if path else None

    # ---- files -----------------------------------------------------------------------------------

    def maybe_keep_changes(self, doing: str) -> bool:
        """True when it is fine to replace the design: no unsaved changes, saved, or discarded."""
        if not self.session.is_modified:
            return True
        answer = self.ask_save_changes(doing)
        if answer == "save":
            return self.save()
        return answer == "discard"

    def new_design(self) -> bool:
        if not self.maybe_keep_changes("starting a new design"):
            return False
        self.set_design(Design("Untitled"), None)
        self.status("New design: drag layers from the palette onto the canvas")
        return True

    def open_dialog(self) -> bool:
        if not self.maybe_keep_changes("opening another design"):
            return False
        path = self.choose_open_path()
        return self.open_file(path, ask=False) if path is not None else False

    def open_file(self, path: str | Path, ask: bool = True) -> bool:
        """Open a design file; a file that cannot be read opens nothing and says why (with its JSON path)."""
        path = Path(path)
        if ask and not self.maybe_keep_changes("opening another design"):
            return False
        try:
            design = design_io.load_design(path)
        except (FormatError, NNStudioError, OSError) as exc:
            self.show_error("Could not open the design", f"{path}\n\n{exc}")
            self.status(f"Could not open {path.name}", error=True)
            return False
        self.set_design(design, path)
        self._add_recent(path)
        self.status(f"Opened {path}")
        return True

    def open_example(self, path: str | Path, ask: bool = True) -> bool:
        """Open a bundled example as a new, unsaved design (Save asks where to keep the copy)."""
        path = Path(path)
        if ask and not self.maybe_keep_changes("opening an example"):
            return False
        try:
            design = design_io.load_design(path)
        except (FormatError, NNStudioError, OSError) as exc:
            self.show_error("Could not open the example", f"{path}\n\n{exc}")
            return False
        self.set_design(design, None, note="example")
        self.status(f"Example '{example_title(path)}': edit it freely, Save keeps your own copy")
        return True

    def set_design(self, design: Design, path: Path | None, note: str = "") -> None:
        """Show `design` with a fresh history (the window's design object stays the same)."""
        self._title_note = note
        self.session.replace_design(design, path)
        self._edits = self._autosaved_at = 0
        self.recovery.clear()
        positions = {layer.position for layer in self.design.layers.values()}
        if len(self.design.layers) > 1 and len(positions) == 1:
            # A file written by a script without positions: lay it out once (an undoable step).
            self.auto_layout(fit=False)
        self.apply_view_state()
        self._update_title()
        self._update_status()

    def save(self) -> bool:
        if self.current_path is None:
            return self.save_as()
        return self.save_to(self.current_path)

    def save_as(self) -> bool:
        suggested = self.current_path or Path(_safe_file_stem(self.design.name) + DESIGN_SUFFIX)
        if self.current_path is None:
            folder = Path(self.settings.value("files/lastFolder", str(Path.home())) or Path.home())
            suggested = folder / suggested.name
        path = self.choose_save_path("Save Design As", str(suggested), _FILE_FILTER)
        if path is None:
            return False
        if path.suffix != DESIGN_SUFFIX:
            path = path.with_name(path.name + DESIGN_SUFFIX)
        return self.save_to(path)

    def save_to(self, path: str | Path) -> bool:
        """Save atomically to `path`; on failure the old file is untouched and the user is told why."""
        path = Path(path)
        self._store_view_state()
        try:
            design_io.save_design(self.design, path)
        except (NNStudioError, OSError) as exc:
            self.show_error("Could not save the design", str(exc))
            self.status(f"Not saved: {exc}", error=True)
            return False
        self._title_note = ""
        self.undo_stack.setClean()
        self.session.set_path(path)
        self.recovery.clear()
        self._add_recent(path)
        self.settings.setValue("files/lastFolder", str(path.parent))
        self._update_title()
        self.status(f"Saved {path}")
        return True

    def revert(self) -> bool:
        path = self.current_path
        if path is None:
            return False
        if self.session.is_modified and not self.ask_confirm(
                "Revert", f"Discard your changes and reload '{path.name}' from disk?", "Revert"):
            return False
        try:
            design = design_io.load_design(path)
        except (FormatError, NNStudioError, OSError) as exc:
            self.show_error("Could not reload the design", f"{path}\n\n{exc}")
            return False
        self.set_design(design, path)
        self.status(f"Reverted to the saved {path.name}")
        return True

    def export_diagram(self, suffix: str, path: str | Path | None = None) -> bool:
        """Export the diagram as .svg or .png (asks where unless `path` is given)."""
        if path is None:
            folder = self.current_path.parent if self.current_path else Path(
                self.settings.value("files/lastFolder", str(Path.home())) or Path.home())
            stem = self.current_path.stem if self.current_path else _safe_file_stem(self.design.name)
            kind = suffix.lstrip(".").upper()
            path = self.choose_save_path(f"Export Diagram as {kind}", str(folder / f"{stem}{suffix}"),
                                         f"{kind} image (*{suffix})")
            if path is None:
                return False
        path = Path(path)
        if path.suffix.lower() != suffix:
            path = path.with_name(path.name + suffix)
        try:
            render_design(self.design, path)
        except (NNStudioError, OSError) as exc:
            self.show_error("Could not export the diagram", str(exc))
            return False
        self.status(f"Exported {path}")
        return True

    def _add_recent(self, path: Path) -> None:
        resolved = str(Path(path).resolve())
        recent = [p for p in self.recent_files() if p != resolved]
        self.settings.setValue("files/recent", [resolved] + recent[:MAX_RECENT - 1])

    def recent_files(self) -> list[str]:
        value = self.settings.value("files/recent", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])][:MAX_RECENT]

    def _fill_recent_menu(self) -> None:
        menu = self.recent_menu
        menu.clear()
        recent = self.recent_files()
        for i, name in enumerate(recent):
            path = Path(name)
            action = menu.addAction(f"&{i + 1 if i < 9 else 0}  {path.name}")
            action.setToolTip(str(path))
            action.setStatusTip(str(path))
            action.setEnabled(path.exists())
            action.triggered.connect(lambda _checked=False, p=path: self.open_file(p))
        if not recent:
            menu.addAction("No recent designs").setEnabled(False)
        menu.addSeparator()
        clear = menu.addAction("Clear Recent")
        clear.setObjectName("actionClearRecent")
        clear.setEnabled(bool(recent))
        clear.triggered.connect(lambda: self.settings.setValue("files/recent", []))

    def _fill_examples_menu(self) -> None:
        menu = self.examples_menu
        menu.clear()
        paths = example_paths()
        for path in paths:
            action = menu.addAction(example_title(path))
            action.setObjectName(f"actionExample_{path.stem.replace('-', '_')}")
            action.setStatusTip(f"Open the '{example_title(path)}' example as a new design")
            action.triggered.connect(lambda _checked=False, p=path: self.open_example(p))
        if not paths:
            menu.addAction("No examples installed").setEnabled(False)

    # ---- recovery --------------------------------------------------------------------------------

    def autosave_now(self) -> Path | None:
        """Write the recovery copy if there are unsaved changes not yet autosaved; returns its path."""
        if not self.session.is_modified:
            if self.recovery.has_copy:
                self.recovery.clear()
            return None
        if self.recovery.has_copy and self._autosaved_at == self._edits:
            return self.recovery.design_path
        try:
            path = self.recovery.write(design_io.dumps(self.design), self.current_path, self.design.name)
        except (NNStudioError, OSError, ValueError) as exc:
            self.status(f"Autosave failed: {exc}", error=True)
            return None
        self._autosaved_at = self._edits
        return path

    def offer_recovery(self) -> bool:
        """Offer unsaved work left by sessions that did not exit cleanly; True if one was recovered."""
        recovered = False
        for entry in self.recovery.orphans():
            if recovered:
                self.recovery.release(entry)  # one at a time: the others are offered at the next start
                continue
            choice = self.ask_recover(entry)
            if choice == "recover":
                recovered = self._recover(entry)
            elif choice == "discard":
                self.recovery.discard(entry)
            else:
                self.recovery.release(entry)
        return recovered

    def _recover(self, entry: RecoveryEntry) -> bool:
        if not self.maybe_keep_changes("recovering unsaved work"):
            self.recovery.release(entry)
            return False
        try:
            design = design_io.load_design(entry.design_path)
        except (FormatError, NNStudioError, OSError) as exc:
            self.show_error("Could not recover the design", f"{entry.design_path}\n\n{exc}")
            self.recovery.release(entry)
            return False
        self.set_design(design, entry.source, note="recovered")
        self.undo_stack.resetClean()  # recovered work is unsaved work
        self._edits += 1
        # Our own copy first, then the orphan goes: the work is never only in memory.
        if self.autosave_now() is None:
            self.recovery.release(entry)
        else:
            self.recovery.discard(entry)
        self._update_title()
        self.status("Recovered unsaved work: save it to keep it")
        return True

    # ---- editing ---------------------------------------------------------------------------------

    def delete_selection(self) -> bool:
        layers = self.scene.selected_layer_ids()
        connections = self.scene.selected_connections()
        if not layers and not connections:
            return False
        return self.session.push(RemoveCommand(self.design, layers, connections))

    def copy_selection(self) -> bool:
        ids = self.scene.selected_layer_ids()
        if not ids:
            self.status("Select layers to copy")
            return False
        put_on_clipboard(make_fragment(self.design, ids))
        self.status(f"Copied {len(ids)} layer{'s' if len(ids) != 1 else ''}")
        return True

    def cut_selection(self) -> bool:
        if not self.copy_selection():
            return False
        layers = self.scene.selected_layer_ids()
        command = RemoveCommand(self.design, layers)
        command.setText(command.text().replace("Delete", "Cut", 1))
        return self.session.push(command)

    def paste(self) -> bool:
        mime = QGuiApplication.clipboard().mimeData()
        fragment = fragment_from_mime(mime)
        if not fragment or not fragment["layers"]:
            self.status("The clipboard holds no layers")
            return False
        key = repr(fragment)
        self._paste_count = self._paste_count + 1 if key == self._paste_source else 1
        self._paste_source = key
        step = self.scene.style.grid * 3
        offset = (step * self._paste_count, step * self._paste_count)
        cursor = self.canvas.mapFromGlobal(self.canvas.cursor().pos())
        if self.canvas.viewport().rect().contains(cursor) and self.canvas.underMouse():
            # Pasting with the mouse over the canvas puts the copy there.
            left, top = fragment_bounds(fragment)
            where = self.canvas.mapToScene(cursor)
            offset = self.scene.snap(QPointF(where.x() - left, where.y() - top))
        return self._push_fragment(fragment, self._free_offset(fragment, offset, step), "Paste")

    def _free_offset(self, fragment, offset, step: float) -> tuple[float, float]:
        """Move a paste on, a few grid steps at a time, until no pasted block lands on an existing one."""
        taken = [layer.position for layer in self.design.layers.values()]
        near = step * 0.9
        dx, dy = float(offset[0]), float(offset[1])
        for _ in range(50):
            spots = [(item["position"][0] + dx, item["position"][1] + dy) for item in fragment["layers"]]
            if not any(abs(x - tx) < near and abs(y - ty) < near for x, y in spots for tx, ty in taken):
                break
            dx, dy = dx + step, dy + step
        return dx, dy

    def duplicate_selection(self) -> bool:
        ids = self.scene.selected_layer_ids()
        if not ids:
            return False
        step = self.scene.style.grid * 3
        return self._push_fragment(make_fragment(self.design, ids), (step, step), "Duplicate")

    def _push_fragment(self, fragment, offset, verb: str) -> bool:
        command = PasteCommand(self.design, fragment, offset, verb=verb)
        if not self.session.push(command):
            self.status(f"Could not {verb.lower()}: {command.error}", error=True)
            return False
        self.select_layers(command.layer_ids)
        count = len(command.layer_ids)
        self.status(f"{verb.rstrip('e')}ed {count} layer{'s' if count != 1 else ''}")
        return True

    def select_all(self) -> None:
        self.select_layers(self.design.layers)

    def auto_layout(self, fit: bool = True) -> bool:
        style = self.scene.style
        positions = layered_layout(self.design, style.column_step, style.row_step)
        command = AutoLayoutCommand(self.design, positions)
        if not command.steps:
            if fit:
                self.canvas.fit_all()
            return False
        self.session.push(command)
        self.scene.update_scene_rect()
        if fit:
            self.canvas.fit_all()
        return True

    def align_selection(self, horizontal: bool) -> bool:
        """Line the selected layers up in a row (same y) or a column (same x)."""
        ids = self.scene.selected_layer_ids()
        if len(ids) < 2:
            return False
        positions = [self.design.layers[lid].position for lid in ids]
        if horizontal:
            y = sorted(p[1] for p in positions)[len(positions) // 2]
            moves = {lid: (pos, (pos[0], y)) for lid, pos in zip(ids, positions, strict=True)}
            text = f"Align {len(ids)} layers in a row"
        else:
            x = sorted(p[0] for p in positions)[len(positions) // 2]
            moves = {lid: (pos, (x, pos[1])) for lid, pos in zip(ids, positions, strict=True)}
            text = f"Align {len(ids)} layers in a column"
        command = MoveCommand(self.design, moves, text)
        return bool(command.steps) and self.session.push(command)

    def add_layer_from_palette(self, type_name: str) -> str | None:
        """Double-click in the palette: add the layer after the selected one (connected), or at a free place."""
        selected = self.scene.selected_layer_ids()
        anchor = selected[-1] if len(selected) == 1 else None
        where = self.scene.free_spot_right_of(anchor)
        layer_id = self.scene.add_layer_at(type_name, where, connect_from=anchor)
        if layer_id is not None:
            self.canvas.ensureVisible(self.scene.blocks[layer_id])
        return layer_id

    # ---- building the window ---------------------------------------------------------------------

    def _make_action(self, name: str, text: str, slot=None, shortcut=None, tip: str = "",
                     icon_name: str | None = None, checkable: bool = False) -> QAction:
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
            set_icon(action, icon_name)
        action.setCheckable(checkable)
        if slot is not None:
            action.triggered.connect(lambda _checked=False: slot())
        self.addAction(action)  # shortcuts work even while the menu bar is hidden
        self._actions[name] = action
        return action

    def _create_actions(self) -> None:
        key = QKeySequence.StandardKey
        a = self._make_action
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
        undo.setIcon(icon("undo"))
        redo = self.undo_stack.createRedoAction(self, "&Redo")
        redo.setObjectName("actionRedo")
        redo.setShortcuts(QKeySequence.keyBindings(key.Redo))
        redo.setIcon(icon("redo"))
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
        bar = QToolBar("Main Toolbar", self)
        bar.setObjectName("mainToolBar")
        bar.setMovable(False)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonFollowStyle)
        height = self.fontMetrics().height()
        bar.setIconSize(QSize(round(height * 1.4), round(height * 1.4)))
        act = self._actions
        for group in (("new", "open", "save"), ("undo", "redo"), ("duplicate", "delete"),
                      ("zoomOut", "zoomIn", "fitView"), ("autoLayout",)):
            for name in group:
                bar.addAction(act[name])
            bar.addSeparator()
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        self.toolbar = bar
        toggle = bar.toggleViewAction()
        toggle.setObjectName("actionShowToolbar")
        toggle.setText("&Toolbar")
        self.menus["view"].insertAction(self._panels_menu.menuAction(), toggle)

    def _create_status_bar(self) -> None:
        bar = self.statusBar()
        bar.setObjectName("statusBar")
        self.status_label = QLabel()
        self.status_label.setObjectName("statusMessage")
        self.status_label.setTextFormat(Qt.TextFormat.PlainText)
        bar.addWidget(self.status_label, 1)
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
        s = self.settings
        geometry = s.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
            dock_layout.fit_to_screen(self)
        else:
            dock_layout.initial_geometry(self)
            em = self.fontMetrics().height()
            self.resizeDocks([self.palette_dock, self.inspector_dock], [em * 15, em * 19],
                             Qt.Orientation.Horizontal)
        state = s.value("window/state")
        if isinstance(state, QByteArray) and not state.isEmpty():
            self._saved_state = state
            self.restoreState(state)
        else:
            self._saved_state = QByteArray()
        self._actions["showGrid"].setChecked(_bool_setting(s, "view/showGrid", True))
        self._actions["showShapes"].setChecked(_bool_setting(s, "view/showShapes", True))
        self.scene.set_show_grid(self._actions["showGrid"].isChecked())
        self.scene.set_show_shapes(self._actions["showShapes"].isChecked())

    def _save_settings(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
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

    def _about(self) -> None:
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


def _int_setting(settings: QSettings, key: str, default: int) -> int:
    try:
        return int(settings.value(key, default))
    except (TypeError, ValueError):
        return default


def _bool_setting(settings: QSettings, key: str, default: bool) -> bool:
    value = settings.value(key, default)
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes")
    return bool(value)


def _safe_file_stem(name: str) -> str:
    """'Playground: circle' → 'playground-circle', a file name that works on every system."""
    stem = re.sub(r"[^\w]+", "-", name.lower(), flags=re.UNICODE).strip("-_")
    return stem[:80] or "design"
