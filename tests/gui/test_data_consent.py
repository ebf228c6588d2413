"""The dataset path policy in the window: a data file outside the design's folder is read only after asking,
once per design; files inside it, and files chosen in the file dialog, are read without a question."""

from __future__ import annotations

from pathlib import Path

import pytest

from nnstudio.core import Design
from nnstudio.gui.base import data_consent


@pytest.fixture
def asked(monkeypatch) -> list[Path]:
    calls: list[Path] = []
    answers = iter([False, True])

    def fake_ask(parent, data, folder) -> bool:
        calls.append(data)
        return next(answers)

    monkeypatch.setattr(data_consent, "ask", fake_ask)
    monkeypatch.setattr(data_consent, "_answers", {})
    return calls


def _spec(path: str):
    d = Design()
    d.set_dataset(source="csv", path=path)
    return d.dataset


def test_a_file_outside_the_folder_is_asked_about_once_per_design(tmp_path: Path, asked) -> None:
    folder = tmp_path / "designs"
    folder.mkdir()
    (tmp_path / "secret.csv").write_text("a,b\n1,2\n")
    spec = _spec("../secret.csv")
    assert data_consent.may_read(None, spec, str(folder)) is False
    assert data_consent.may_read(None, spec, str(folder)) is False  # asked once: the answer stands
    assert asked == [(tmp_path / "secret.csv").resolve()]
    assert "outside the design's folder and was not read" in data_consent.refusal(spec, str(folder))
    other = tmp_path / "other"
    other.mkdir()
    assert data_consent.may_read(None, spec, str(other)) is True  # another design: asked again, said yes
    assert len(asked) == 2


def test_files_inside_the_folder_and_files_chosen_in_the_dialog_are_read_without_asking(tmp_path, asked):
    (tmp_path / "sub").mkdir()
    assert data_consent.may_read(None, _spec("sub/data.csv"), str(tmp_path))
    assert data_consent.may_read(None, _spec(str(tmp_path / "data.csv")), str(tmp_path))
    data_consent.allow(tmp_path, "/etc/hosts")
    assert data_consent.may_read(None, _spec("/etc/hosts"), str(tmp_path))
    data_consent.allow(None, "/etc/hosts")
    assert data_consent.may_read(None, _spec("/etc/hosts"), None)
    assert asked == []


def test_a_design_without_a_folder_asks_about_any_data_file(tmp_path: Path, asked) -> None:
    # Opened from a checkpoint (or never saved): there is no folder to be inside of.
    assert data_consent.may_read(None, _spec(str(tmp_path / "x.csv")), None) is True  # missing: nothing to ask
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    assert data_consent.may_read(None, _spec(str(tmp_path / "x.csv")), None) is False
    assert asked == [(tmp_path / "x.csv").resolve()]


def test_a_link_inside_the_folder_that_leads_outside_counts_as_outside(tmp_path: Path, asked) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    (tmp_path / "real.csv").write_text("a,b\n1,2\n")
    (folder / "data.csv").symlink_to(tmp_path / "real.csv")
    assert data_consent.may_read(None, _spec("data.csv"), str(folder)) is False
    assert asked == [(tmp_path / "real.csv").resolve()]


def test_the_prompt_names_the_file_and_has_object_names(qtbot, monkeypatch, tmp_path: Path) -> None:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    seen = {}

    def answer() -> None:
        box = next(w for w in QApplication.topLevelWidgets()
                   if isinstance(w, QMessageBox) and w.objectName() == "dataOutsideFolderPrompt")
        seen["text"] = box.text()
        box.findChild(type(box.buttons()[0]), "dataOutsideFolderRead").click()

    QTimer.singleShot(0, answer)
    assert data_consent.ask(None, Path("/etc/pass\x1bwd"), tmp_path) is True
    assert "/etc/pass\\x1bwd" in seen["text"] and "\x1b" not in seen["text"]
