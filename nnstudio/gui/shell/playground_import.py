"""File ▸ Import Playground Link…: paste a TensorFlow Playground share link, get its design (unsaved)."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QInputDialog, QLineEdit, QMenu

from nnstudio.core.errors import NNStudioError
from nnstudio.io.playground_link import describe_import, design_from_link


def import_playground_link(window: Any, link: str | None = None) -> bool:
    """Ask for a link (unless given), then show its design; what the link held that could not be used is
    said in the status bar and the message box, never refused."""
    if link is None:
        link = ask_for_link(window)
        if link is None:
            return False
    if not window.maybe_keep_changes("importing a Playground link"):
        return False
    try:
        design, state = design_from_link(link)
    except NNStudioError as exc:
        window.show_error("Not a Playground link", str(exc))
        return False
    window.set_design(design, None, note="imported")
    notes = describe_import(state)
    text = f"Imported '{design.name}' from a Playground link"
    if notes:
        text += ": " + "; ".join(notes)
    window.status(text, error=False, timeout_ms=15000)
    window.last_import_notes = notes
    return True


def ask_for_link(window: Any) -> str | None:
    text, ok = QInputDialog.getText(window, "Import Playground Link",
                                    "Paste a TensorFlow Playground link (the address after you press Play):",
                                    QLineEdit.EchoMode.Normal, "")
    return text if ok and text.strip() else None


def add_import_action(window: Any, menu: QMenu) -> QAction:
    action = QAction("Import &Playground Link…", window)
    action.setObjectName("actionImportPlaygroundLink")
    action.setStatusTip("Turn a TensorFlow Playground share link into a design")
    action.triggered.connect(lambda: import_playground_link(window))
    menu.addAction(action)
    return action
