"""Restoring stored runs: a run's design snapshot, and its checkpoint checked against the hash the run stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nnstudio.core.document import Design
from nnstudio.core.errors import FormatError
from nnstudio.runs import RunRecord, RunStore

from .run_recorder import file_sha256


def run_design(record: RunRecord) -> Design:
    """The design exactly as the run trained it (the snapshot the store kept)."""
    from nnstudio.io import loads

    return loads(record.design_json, source=f"run {record.uid}")


def restore_run(store: RunStore, record: RunRecord) -> Any:
    """The run's checkpoint, after checking it is the very file the run wrote (its SHA-256)."""
    from .checkpoint import load_checkpoint

    path = store.checkpoint_path(record)
    if path is None:
        raise FormatError(f"run {record.name or record.uid} has no checkpoint ({record.status})")
    if not Path(path).is_file():
        raise FormatError(f"run {record.name or record.uid}: its checkpoint {path} is missing")
    if record.checkpoint_sha256 and file_sha256(path) != record.checkpoint_sha256:
        raise FormatError(f"run {record.name or record.uid}: its checkpoint {path} was changed after the run "
                          f"saved it (SHA-256 differs)")
    return load_checkpoint(path)
