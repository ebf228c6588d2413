"""The block canvas mirroring the design: scene and view, items, block style, palette, render, fragments, layout.

`from nnstudio.gui.canvas import CanvasScene` keeps working from the time this folder was one module
(`canvas.scene` and `canvas.view` now); the names load on first use, so importing the folder imports no scene.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOME = {"CanvasScene": ".scene", "MIME_LAYER_TYPE": ".scene", "CanvasView": ".view"}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(_HOME[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
