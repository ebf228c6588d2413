"""The main window's recovery: autosave of unsaved work, and offering what a crashed session left behind.

A mixin of `MainWindow` (its part for recovery); the copies themselves live in `editor.recovery.RecoveryStore`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QMessageBox

if TYPE_CHECKING:  # the rooms are imported by MainWindow.build, after the first paint
    from nnstudio.core import Design

    from ..editor.recovery import RecoveryEntry, RecoveryStore
    from ..editor.session import DesignSession


class WindowRecovery:
    """Autosave and recovery (mixed into `MainWindow`, a QMainWindow)."""

    session: DesignSession
    recovery: RecoveryStore
    _edits: int
    _autosaved_at: int

    # provided by the window and its files part
    design: Design
    current_path: Path | None
    status: Callable[..., None]
    show_error: Callable[[str, str], None]
    maybe_keep_changes: Callable[[str], bool]
    set_design: Callable[..., None]
    _update_title: Callable[[], None]

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

    def autosave_now(self) -> Path | None:
        """Write the recovery copy if there are unsaved changes not yet autosaved; returns its path."""
        from nnstudio import io as design_io  # its loader (pydantic) on first use
        from nnstudio.core.errors import NNStudioError

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
        from nnstudio import io as design_io  # its loader (pydantic) on first use
        from nnstudio.core.errors import FormatError, NNStudioError

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

