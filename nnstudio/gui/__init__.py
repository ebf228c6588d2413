"""The desktop application, one folder per room.

`base/` the look and places every room shares (theme, icons, locations, dock sizes); `shell/` the window
itself (start-up, main window, its files and recovery, look, Problems panel); `canvas/` the block canvas
mirroring the design (scene, items, block style, palette, render, fragments, layout); `editor/` editing
the design (inspector, parameter forms, the undo commands, session, recovery store); `training/`, `explain/`
and each later view (network, landscape, CNN/health, runs) a folder of its own.
"""

from .base.binding_fix import NONE_GUARDED

__all__ = ["NONE_GUARDED"]
