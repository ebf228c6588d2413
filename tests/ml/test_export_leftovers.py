"""A killed export leaves its hidden staging folder; the next successful export of that file removes it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from nnstudio.ml.builder import build_model
from nnstudio.ml.export import export_state_dict

try:
    from training_helpers import one_cpu_thread, vector_design  # noqa: F401 - autouse
except ImportError:  # tests/ml became a package
    from .training_helpers import one_cpu_thread, vector_design  # noqa: F401


@pytest.mark.skipif(sys.platform == "win32", reason="flock")
def test_the_next_export_removes_abandoned_staging_folders_only(tmp_path: Path) -> None:
    import fcntl

    design = vector_design()
    model = build_model(design)
    stale = tmp_path / ".weights.pt.abc_1234.tmp"
    stale.mkdir()
    (stale / "weights.pt").write_bytes(b"half an export")
    busy = tmp_path / ".weights.pt.busy0000.tmp"
    busy.mkdir()
    other = tmp_path / ".other.pt.abcd1234.tmp"
    other.mkdir()
    fd = os.open(busy, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # as a live export in another process holds its staging folder
        export_state_dict(model, design, tmp_path / "weights.pt")
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
            ["weights.pt", busy.name, other.name])
    finally:
        os.close(fd)
    export_state_dict(model, design, tmp_path / "weights.pt")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["weights.pt", other.name])
