"""The window's side of the dataset path policy: ask once per design before reading a data file that lies
outside the design's folder (see nnstudio.data.path_policy)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QMessageBox, QWidget

from nnstudio.core.settings import DatasetSpec
from nnstudio.core.text import shown


def outside_design_folder(spec: DatasetSpec, base_dir: str | None) -> Path | None:
    """The data file to ask about, or None. A design without a folder (opened from a checkpoint, or not yet
    saved) has no folder to be inside of: any data file it names is asked about, unless the user chose it
    in the file dialog."""
    # Imported when first needed: nnstudio.data brings numpy, which the window defers past its first paint.
    from nnstudio.data.path_policy import data_file
    from nnstudio.data.path_policy import outside_design_folder as outside

    if base_dir is None:
        path = data_file(spec, None)
        found = Path(os.path.realpath(path)) if path is not None else None
    else:
        found = outside(spec, base_dir)
    # A file that is not there reveals nothing: the loader says it is missing, without a question first.
    return found if found is not None and found.exists() else None


def _folder_key(folder: Any) -> str:
    return os.path.realpath(str(folder)) if folder is not None else ""

# (the design's folder, the data file) → the user's answer. "Once per design": a design in one folder
# asks once about one outside file, whether it is previewed, validated or trained, until the app quits.
_answers: dict[tuple[str, str], bool] = {}


def ask(parent: QWidget | None, data: Path, folder: Path | None) -> bool:
    """Show the data file and ask whether to read it (replaced in tests)."""
    where = (f"which is outside the design's folder\n{shown(str(folder), 500)}" if folder is not None
             else "and the design has no folder of its own (it was not opened from a design file)")
    box = QMessageBox(QMessageBox.Icon.Warning, "Read a file outside the design's folder?",
                      f"This design reads its data from\n\n{shown(str(data), 500)}\n\n{where}.\n\nRead it "
                      "only if you expect this design to use that file.", QMessageBox.StandardButton.NoButton,
                      parent)
    box.setObjectName("dataOutsideFolderPrompt")
    read = box.addButton("Read the File", QMessageBox.ButtonRole.AcceptRole)
    read.setObjectName("dataOutsideFolderRead")
    box.addButton("Don't Read", QMessageBox.ButtonRole.RejectRole).setObjectName("dataOutsideFolderSkip")
    box.exec()
    return box.clickedButton() is read


def allow(folder: Any, data: Any) -> None:
    """Record consent given another way (the user chose this very file in a file dialog)."""
    _answers[(_folder_key(folder), os.path.realpath(str(data)))] = True


def may_read(parent: QWidget | None, spec: DatasetSpec, base_dir: str | None) -> bool:
    """True if the spec's data may be read now: it is inside the design's folder (or not a file), or the
    user said yes, now or earlier for this design."""
    outside = outside_design_folder(spec, base_dir)
    if outside is None:
        return True
    key = (_folder_key(base_dir), str(outside))
    if key not in _answers:
        _answers[key] = ask(parent, outside, Path(key[0]) if key[0] else None)
    return _answers[key]


def refusal(spec: DatasetSpec, base_dir: str | None) -> str:
    outside = outside_design_folder(spec, base_dir)
    return (f"The data file {shown(str(outside), 300)} is outside the design's folder and was not read: "
            "choose the data file with Browse to read it.")
