"""One open design in the GUI: the document, its undo stack, its file and its latest shape inference.

The session turns the document's plain-Python observer events into Qt signals, and re-runs shape
inference once per burst of edits (an undo command removing ten layers re-infers once, not ten times).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from nnstudio.core import Design, DesignEvent, InferenceResult, infer


class DesignSession(QObject):
    """Owns a `Design` for the window's lifetime; opening a file replaces its content, not the object."""

    changed = Signal(object)  # DesignEvent, forwarded as it happens
    inferred = Signal(object)  # InferenceResult, after every burst of edits
    path_changed = Signal(object)  # Path | None

    def __init__(self, design: Design | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.design = design if design is not None else Design()
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setObjectName("undoStack")
        self._path: Path | None = None
        self._inference = infer(self.design)
        self._stale = False
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(0)
        self._refresh_timer.timeout.connect(self.refresh)
        # An undo, redo or push is one burst of edits: re-infer as soon as it is complete.
        self.undo_stack.indexChanged.connect(lambda _index: self.refresh())
        self.design.subscribe(self._on_design_event)

    # ---- state -----------------------------------------------------------------------------------

    @property
    def path(self) -> Path | None:
        return self._path

    def set_path(self, path: Path | None) -> None:
        self._path = Path(path) if path is not None else None
        self.path_changed.emit(self._path)

    @property
    def inference(self) -> InferenceResult:
        """The shape inference of the document as it is now (computed on demand if an edit is pending)."""
        if self._stale:
            self.refresh()
        return self._inference

    @property
    def is_modified(self) -> bool:
        return not self.undo_stack.isClean()

    # ---- edits -----------------------------------------------------------------------------------

    def push(self, command: QUndoCommand) -> bool:
        """Apply an undoable edit. False when the document refused it (the command then says why)."""
        self.undo_stack.push(command)
        self.refresh()
        return getattr(command, "error", None) is None

    def replace_design(self, design: Design, path: Path | None) -> None:
        """Show another design in this session: a fresh, clean history."""
        self.undo_stack.clear()
        self.design.replace_with(design)
        self.undo_stack.setClean()
        self.set_path(path)
        self.refresh()

    def refresh(self) -> None:
        """Re-infer now if anything changed since the last inference, and tell the views."""
        self._refresh_timer.stop()
        if not self._stale:
            return
        self._stale = False
        self._inference = infer(self.design)
        self.inferred.emit(self._inference)

    def close(self) -> None:
        self.design.unsubscribe(self._on_design_event)

    def _on_design_event(self, event: DesignEvent) -> None:
        self._stale = True
        self.changed.emit(event)
        # Edits made outside an undo command (scripts, tests) still reach the views shortly after.
        if not self._refresh_timer.isActive():
            self._refresh_timer.start()
