"""The `.nnstudio` design file: versioned JSON, validated with JSON paths in errors, capped, saved atomically."""

from .design_file import design_to_dict, dumps, load_design, loads, save_design
from .limits import DEFAULT_LIMITS, Limits
from .versions import FORMAT, MIGRATIONS, VERSION

__all__ = [
    "DEFAULT_LIMITS", "FORMAT", "MIGRATIONS", "VERSION", "Limits",
    "design_to_dict", "dumps", "load_design", "loads", "save_design",
]
