"""Old flat module paths of `nnstudio.gui` (before its rooms got folders) keep importing, as the module that moved.

`import nnstudio.gui.mainwindow` returns the very module `nnstudio.gui.shell.mainwindow` (one object, so a
monkeypatch on either name reaches the code), for branches and scripts written before the move. New code
imports the new paths; delete an entry once nothing uses its old name.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
from importlib.machinery import ModuleSpec
from types import ModuleType

MOVED = {  # old path under nnstudio.gui → new path under nnstudio.gui
    "theme": "base.theme", "icons": "base.icons", "locations": "base.locations", "binding_fix": "base.binding_fix",
    "wheel_guard": "base.wheel_guard", "dock_layout": "base.dock_layout",
    "app": "shell.app", "mainwindow": "shell.mainwindow", "appearance": "shell.appearance",
    "problems": "shell.problems",
    "canvas_items": "canvas.items", "blockstyle": "canvas.blockstyle", "render": "canvas.render",
    "fragment": "canvas.fragment", "layer_summaries": "canvas.layer_summaries", "layout": "canvas.layout",
    "palette": "canvas.palette",
    "inspector": "editor.inspector", "param_form": "editor.param_form", "commands": "editor.commands",
    "session": "editor.session", "recovery": "editor.recovery",
    "training.commands": "editor.commands",
}
# `nnstudio.gui.canvas` itself is now the canvas folder; its package re-exports what the old module offered.
_PREFIX = "nnstudio.gui."


class _MovedFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname: str, path: object = None, target: object = None) -> ModuleSpec | None:
        if fullname.startswith(_PREFIX) and fullname[len(_PREFIX):] in MOVED:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec: ModuleSpec) -> ModuleType:
        return importlib.import_module(_PREFIX + MOVED[spec.name[len(_PREFIX):]])

    def exec_module(self, module: ModuleType) -> None:
        """The module ran under its new name already."""


def install() -> None:
    """Let the old paths import (idempotent)."""
    if not any(isinstance(finder, _MovedFinder) for finder in sys.meta_path):
        sys.meta_path.append(_MovedFinder())
