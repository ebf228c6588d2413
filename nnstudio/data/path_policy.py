"""The dataset path policy: a data file is found relative to the design's folder, and one outside that folder
is named to the user before it is read (the CLI prints it; the window asks once per design).

A design file is something people download and share. Its `dataset.path` could name any file the user can
read (`../../../../etc/passwd`, `~/.ssh/id_rsa`): loading it would not leak it by itself, but errors and
previews show parts of it. So reading a file outside the design's folder is never silent.
"""

from __future__ import annotations

import os
from pathlib import Path

from nnstudio.core.errors import DataError
from nnstudio.core.settings import DatasetSpec
from nnstudio.core.text import shown

from .tabular import resolve_path

FILE_SOURCES = ("csv", "npz")


def data_file(spec: DatasetSpec, base_dir: str | Path | None) -> Path | None:
    """The file a spec reads (resolved relative to `base_dir`), or None for generated and built-in data."""
    if spec.source not in FILE_SOURCES or not spec.path.strip():
        return None
    try:
        return resolve_path(spec.path, base_dir)
    except DataError:
        return None


def outside_design_folder(spec: DatasetSpec, base_dir: str | Path | None) -> Path | None:
    """The data file, with links followed, if it lies outside the design's folder; None if inside, or if the
    design has no folder yet (an unsaved design: the user typed or chose the path in this session)."""
    path = data_file(spec, base_dir)
    if path is None or base_dir is None:
        return None
    real = Path(os.path.realpath(path))
    folder = Path(os.path.realpath(Path(base_dir).expanduser()))
    if real == folder or folder in real.parents:
        return None
    return real


def outside_notice(spec: DatasetSpec, base_dir: str | Path | None) -> str | None:
    """The line the CLI prints before reading a data file outside the design's folder, or None."""
    outside = outside_design_folder(spec, base_dir)
    if outside is None:
        return None
    return (f"reading data from {shown(str(outside), None)}, which is outside the design's folder "
            f"{shown(str(Path(os.path.realpath(str(base_dir)))), None)}")
