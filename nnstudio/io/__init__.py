"""The `.nnstudio` design file: versioned JSON, validated with JSON paths in errors, capped, saved atomically."""

from typing import Any

from .limits import DEFAULT_LIMITS, Limits
from .versions import FORMAT, MIGRATIONS, VERSION

# The loader (design_file) imports pydantic, which the window does not need before its first paint:
# its names are imported on first use (PEP 562), e.g. `from nnstudio.io import load_design`.
_LAZY = ("design_to_dict", "dumps", "load_design", "loads", "save_design")


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from . import design_file

        value = getattr(design_file, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'nnstudio.io' has no attribute {name!r}")


__all__ = [
    "DEFAULT_LIMITS", "FORMAT", "MIGRATIONS", "VERSION", "Limits",
    "design_to_dict", "dumps", "load_design", "loads", "save_design",
]
