"""Where NN Studio's bundled resources (examples, icons) live."""

from __future__ import annotations

from pathlib import Path

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
EXAMPLES = RESOURCES / "examples"
DEFAULT_EXAMPLE = EXAMPLES / "playground-circle.nnstudio"


def example_paths() -> list[Path]:
    return sorted(EXAMPLES.glob("*.nnstudio"))
