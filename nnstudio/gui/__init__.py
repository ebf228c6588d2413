"""The desktop application: main window, canvas mirroring the design, palette, inspector, undo commands."""

from .binding_fix import NONE_GUARDED

__all__ = ["NONE_GUARDED"]
