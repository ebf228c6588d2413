"""Undo commands for a design's dataset and training settings; repeated edits of one field merge into one step.

A slider dragged through twenty values, or a learning rate typed digit by digit, is one undo step. If the
document refuses a value (out of range, no features left), `command.error` holds why and the command marks
itself obsolete, so the undo stack drops it — the same contract as the canvas's commands.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QUndoCommand

from nnstudio.core import Design, DesignError
from nnstudio.core.settings import DATASET_FIELDS, TRAINING_FIELDS

_TITLES = {"features": "input features", "noise": "noise", "train_percent": "training %"}


def _title(section: str, key: str) -> str:
    if key in _TITLES:
        return _TITLES[key]
    spec = (DATASET_FIELDS if section == "dataset" else TRAINING_FIELDS).get(key)
    return spec.title.lower() if spec is not None else key.replace("_", " ")


class _SetSettingCommand(QUndoCommand):
    """Set one field of the design's dataset spec or training configuration."""

    SECTION = ""
    MERGE_ID = 0

    def __init__(self, design: Design, key: str, value: Any) -> None:
        super().__init__(f"Change {_title(self.SECTION, key)}")
        self.design = design
        self.key = key
        self.value = value
        self.old: Any = None
        self.error: DesignError | None = None
        self._done_once = False

    def _current(self) -> Any:
        return getattr(getattr(self.design, self.SECTION), self.key)

    def _apply(self, value: Any) -> None:
        raise NotImplementedError

    def redo(self) -> None:
        if not self._done_once:
            self._done_once = True
            self.old = self._current()
            try:
                self._apply(self.value)
            except DesignError as exc:
                self.error = exc
                self.setObsolete(True)
                return
            # A value equal to the old one changes nothing: nothing to undo either.
            self.value = self._current()
            if self.value == self.old:
                self.setObsolete(True)
            return
        self._apply(self.value)

    def undo(self) -> None:
        self._apply(self.old)

    def id(self) -> int:
        return self.MERGE_ID

    def mergeWith(self, other: QUndoCommand) -> bool:
        if type(other) is not type(self) or other.error is not None or other.key != self.key:
            return False
        if other.design is not self.design:
            return False
        self.value = other.value
        self.setObsolete(self.value == self.old)  # dragged back to where it started
        return True


class SetDatasetCommand(_SetSettingCommand):
    SECTION = "dataset"
    MERGE_ID = 0x4E4E10

    def _apply(self, value: Any) -> None:
        self.design.set_dataset(**{self.key: value})


class SetTrainingCommand(_SetSettingCommand):
    SECTION = "training"
    MERGE_ID = 0x4E4E11

    def _apply(self, value: Any) -> None:
        self.design.set_training(**{self.key: value})


class SetInputFeaturesCommand(QUndoCommand):
    """Change Playground's input features and, like Playground, give the Input layer that many features."""

    def __init__(self, design: Design, features: tuple[str, ...], input_id: str | None) -> None:
        super().__init__("Change input features")
        self.design = design
        self.features = tuple(features)
        self.input_id = input_id
        self.old_features: tuple[str, ...] = ()
        self.old_count: int | None = None
        self.error: DesignError | None = None
        self._done_once = False

    def redo(self) -> None:
        first = not self._done_once
        self._done_once = True
        if first:
            self.old_features = self.design.dataset.features
        try:
            self.design.set_dataset(features=self.features)
        except DesignError as exc:
            if not first:
                raise
            self.error = exc
            self.setObsolete(True)
            return
        self.features = self.design.dataset.features
        if self.input_id is not None and self.input_id in self.design.layers:
            old = self.design.set_param(self.input_id, "features", len(self.features))
            if first:
                self.old_count = old

    def undo(self) -> None:
        if self.input_id is not None and self.old_count is not None and self.input_id in self.design.layers:
            self.design.set_param(self.input_id, "features", self.old_count)
        self.design.set_dataset(features=self.old_features)
