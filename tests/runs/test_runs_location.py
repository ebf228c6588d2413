"""Where a design's run store lives: beside the design, or in the data folder for examples and read-only folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nnstudio.runs import checkpoint_folder, design_key, store_path_for

ROOT = Path(__file__).resolve().parents[2]


def test_store_sits_beside_a_users_design(tmp_path: Path) -> None:
    design = tmp_path / "work" / "circle.nnstudio"
    design.parent.mkdir()
    assert store_path_for(design) == tmp_path / "work" / "nnstudio-runs" / "runs.sqlite"
    assert checkpoint_folder(store_path_for(design)) == tmp_path / "work" / "nnstudio-runs" / "checkpoints"
    assert design_key(design) == "circle.nnstudio" and design_key(None) == ""


def test_examples_and_unsaved_designs_use_the_data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(tmp_path / "data"))
    example = store_path_for(ROOT / "resources" / "examples" / "playground-circle.nnstudio")
    assert example.parent.parent == tmp_path / "data" / "runs" and example.name == "runs.sqlite"
    assert store_path_for(None) == tmp_path / "data" / "runs" / "unsaved" / "runs.sqlite"


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True, reason="root may write anywhere")
def test_read_only_folder_uses_the_data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(tmp_path / "data"))
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        assert store_path_for(folder / "d.nnstudio").is_relative_to(tmp_path / "data")
    finally:
        folder.chmod(0o755)


def test_read_only_check_without_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nnstudio.runs import location

    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(location, "_writable", lambda folder: False)
    assert store_path_for(tmp_path / "d.nnstudio").parent.parent == tmp_path / "data" / "runs"
