"""The main window's files: New / Open / Save / Revert, examples, recent files, diagram export, their dialogs.

A mixin of `MainWindow` (its part for files): every way a design comes into the window or leaves it as a
file goes through here; the design file itself is read and written by `nnstudio.io` (atomic saves).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox

from ..base.locations import DESIGN_SUFFIX, example_paths, example_title

if TYPE_CHECKING:  # the rooms are imported by MainWindow.build, after the first paint
    from nnstudio.core import Design

    from ..canvas.scene import CanvasScene
    from ..canvas.view import CanvasView
    from ..editor.recovery import RecoveryStore
    from ..editor.session import DesignSession

MAX_RECENT = 10
_FILE_FILTER = f"NN Studio designs (*{DESIGN_SUFFIX});;All files (*)"


class WindowFiles:
    """Files and their dialogs (mixed into `MainWindow`, a QMainWindow)."""

    settings: QSettings
    session: DesignSession
    recovery: RecoveryStore
    scene: CanvasScene
    canvas: CanvasView
    menus: dict[str, QMenu]
    _title_note: str
    _edits: int
    _autosaved_at: int

    # provided by the window
    design: Design
    current_path: Path | None
    status: Callable[..., None]
    _update_title: Callable[[], None]
    _display_name: Callable[[], str]
    apply_view_state: Callable[[], None]

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
        from nnstudio.core import Design

        if not self.maybe_keep_changes("starting a new design"):
            return False
        design = Design("Untitled")  # on Playground's circle data, so with Playground's recipe
        design.set_training(recipe="playground", init="playground", until_paused=True)
        self.set_design(design, None)
        self.status("New design: drag layers from the palette onto the canvas")
        return True

    def open_dialog(self) -> bool:
        if not self.maybe_keep_changes("opening another design"):
            return False
        path = self.choose_open_path()
        return self.open_file(path, ask=False) if path is not None else False

    def _read_design(self, path: Path, what: str) -> Design | None:
        """The design in `path`, or None after saying why it cannot be read (with its JSON path)."""
        from nnstudio import io as design_io  # its loader (pydantic) on first use
        from nnstudio.core.errors import FormatError, NNStudioError

        try:
            return design_io.load_design(path)
        except (FormatError, NNStudioError, OSError) as exc:
            self.show_error(f"Could not open the {what}", f"{path}\n\n{exc}")
            self.status(f"Could not open {path.name}", error=True)
            return None

    def open_file(self, path: str | Path, ask: bool = True) -> bool:
        """Open a design file; a file that cannot be read opens nothing and says why (with its JSON path)."""
        path = Path(path)
        if ask and not self.maybe_keep_changes("opening another design"):
            return False
        design = self._read_design(path, "design")
        if design is None:
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
        design = self._read_design(path, "example")
        if design is None:
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
        from nnstudio import io as design_io  # its loader (pydantic) on first use
        from nnstudio.core.errors import NNStudioError

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
        from nnstudio import io as design_io  # its loader (pydantic) on first use
        from nnstudio.core.errors import FormatError, NNStudioError

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
        from nnstudio.core.errors import NNStudioError

        from ..canvas.render import render_design

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



def _safe_file_stem(name: str) -> str:
    """'Playground: circle' → 'playground-circle', a file name that works on every system."""
    stem = re.sub(r"[^\w]+", "-", name.lower(), flags=re.UNICODE).strip("-_")
    return stem[:80] or "design"
