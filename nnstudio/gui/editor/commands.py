"""Undo commands: every edit the GUI makes to a design, as steps (`steps.py`) that only call Design edit operations.

The canvas and inspector never update themselves from a command: they follow the document's events.
A command is built from small steps, each knowing how to do and undo one edit operation exactly (indices
included). If the document refuses the first `redo`, the steps already done are rolled back, the error is
kept in `command.error` and the command marks itself obsolete, so the undo stack drops it. The design's
dataset and training settings are edited by commands of the same family (`SetDatasetCommand`,
`SetTrainingCommand`, `SetInputFeaturesCommand`); repeated edits of one field merge into one undo step.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from PySide6.QtGui import QUndoCommand

from nnstudio.core import Connection, Design, DesignError, layer_type
from nnstudio.core.settings import DATASET_FIELDS, TRAINING_FIELDS

from .steps import (
    AddLayerStep,
    ConnectIfAllowedStep,
    ConnectStep,
    DisconnectStep,
    MoveStep,
    Position,
    RemoveLayerStep,
    RenameStep,
    SetFeaturesStep,
    SetMetaStep,
    SetParamStep,
    SetSettingStep,
    Step,
)


class DesignCommand(QUndoCommand):
    """An undoable edit made of steps; subclasses fill `self.steps` (or build them on first redo)."""

    def __init__(self, design: Design, text: str) -> None:
        super().__init__(text)
        self.design = design
        self.steps: list[Step] = []
        self.error: DesignError | None = None
        self._done_once = False

    def build(self) -> None:
        """Create the steps, just before the first redo (when the document is in its 'before' state)."""

    def redo(self) -> None:
        if not self._done_once:
            self._done_once = True
            self.build()
            done: list[Step] = []
            try:
                for step in self.steps:
                    step.do(self.design)
                    done.append(step)
            except DesignError as exc:
                for step in reversed(done):
                    step.undo(self.design)
                self.error = exc
                self.setObsolete(True)
            return
        for step in self.steps:
            step.do(self.design)

    def undo(self) -> None:
        for step in reversed(self.steps):
            step.undo(self.design)


def _quoted(design: Design, layer_ids: Iterable[str], noun: str = "layer") -> str:
    ids = list(layer_ids)
    if len(ids) == 1 and ids[0] in design.layers:
        return f"'{design.layers[ids[0]].name}'"
    return f"{len(ids)} {noun}s"


class AddLayerCommand(DesignCommand):
    """Add a layer; with `connect_from`, also feed it from that layer when the document allows it."""

    def __init__(self, design: Design, type_name: str, position: Position, name: str | None = None,
                 params: dict[str, Any] | None = None, connect_from: str | None = None) -> None:
        super().__init__(design, f"Add {type_name}")
        self.type_name, self.position, self.name, self.params = type_name, position, name, params
        self.connect_from = connect_from

    @property
    def layer_id(self) -> str | None:
        return self.steps[0].layer_id if self.steps else None

    def build(self) -> None:
        ltype = layer_type(self.type_name)
        name = self.name
        if name is None and ltype is not None:
            name = self.design.unique_name(ltype.prefix)
        add = AddLayerStep(self.type_name, name, self.params, self.position)
        self.steps = [add]
        if self.connect_from is not None:
            self.steps.append(ConnectIfAllowedStep(self.connect_from, add))
        self.setText(f"Add {self.type_name} '{name}'" if name else f"Add {self.type_name}")


class RemoveCommand(DesignCommand):
    """Delete layers and connections: first every affected connection, then the layers (Orange-style)."""

    def __init__(self, design: Design, layer_ids: Iterable[str], connections: Iterable[Connection] = ()) -> None:
        self.layer_ids = list(dict.fromkeys(layer_ids))
        self.connections = list(dict.fromkeys(connections))
        super().__init__(design, self._describe(design))

    def _describe(self, design: Design) -> str:
        parts = []
        if self.layer_ids:
            parts.append(_quoted(design, self.layer_ids))
        if self.connections:
            n = len(self.connections)
            parts.append("1 connection" if n == 1 else f"{n} connections")
        return "Delete " + " and ".join(parts) if parts else "Delete"

    def build(self) -> None:
        doomed = set(self.layer_ids)
        wanted = set(self.connections)
        touching = [c for c in self.design.connections if c in wanted or c.source in doomed or c.target in doomed]
        # Last first, so each recorded index is the one to restore on undo (undo runs in reverse).
        self.steps = [DisconnectStep(c.source, c.target) for c in reversed(touching)]
        self.steps += [RemoveLayerStep(lid) for lid in self.layer_ids]


class ConnectCommand(DesignCommand):
    def __init__(self, design: Design, source: str, target: str) -> None:
        src, dst = design.layer(source).name, design.layer(target).name
        super().__init__(design, f"Connect '{src}' to '{dst}'")
        self.steps = [ConnectStep(source, target)]


class DisconnectCommand(DesignCommand):
    def __init__(self, design: Design, source: str, target: str) -> None:
        src, dst = design.layer(source).name, design.layer(target).name
        super().__init__(design, f"Disconnect '{src}' from '{dst}'")
        self.steps = [DisconnectStep(source, target)]


class SetParamCommand(DesignCommand):
    """Change one parameter; consecutive changes of the same field merge into one undo step."""

    MERGE_ID = 0x4E4E01

    def __init__(self, design: Design, layer_id: str, key: str, value: Any) -> None:
        layer = design.layer(layer_id)
        spec = layer_type(layer.type).params.get(key) if layer_type(layer.type) else None
        title = spec.title.lower() if spec else key
        super().__init__(design, f"Change {title} of '{layer.name}'")
        self.layer_id, self.key = layer_id, key
        self.step = SetParamStep(layer_id, key, value)
        self.steps = [self.step]

    def id(self) -> int:
        return self.MERGE_ID

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SetParamCommand) or other.error is not None:
            return False
        if (other.layer_id, other.key) != (self.layer_id, self.key):
            return False
        self.step.value = other.step.value
        # Back where it started: nothing left to undo.
        self.setObsolete(self.step.value == self.step.old and type(self.step.value) is type(self.step.old))
        return True


class RenameCommand(DesignCommand):
    def __init__(self, design: Design, layer_id: str, name: str) -> None:
        super().__init__(design, f"Rename '{design.layer(layer_id).name}' to '{name}'")
        self.steps = [RenameStep(layer_id, name)]


class MoveCommand(DesignCommand):
    """Move layers; one drag of any number of blocks is one command."""

    def __init__(self, design: Design, moves: dict[str, tuple[Position, Position]], text: str | None = None) -> None:
        moves = {lid: (old, new) for lid, (old, new) in moves.items() if old != new}
        super().__init__(design, text or f"Move {_quoted(design, moves)}")
        self.steps = [MoveStep(lid, old, new) for lid, (old, new) in moves.items()]


class AutoLayoutCommand(MoveCommand):
    def __init__(self, design: Design, positions: dict[str, Position]) -> None:
        moves = {lid: (design.layer(lid).position, pos) for lid, pos in positions.items()}
        super().__init__(design, moves, "Auto Layout")


class SetDesignInfoCommand(DesignCommand):
    """Change the design's own name or description."""

    MERGE_ID = 0x4E4E02

    def __init__(self, design: Design, name: str | None = None, description: str | None = None) -> None:
        super().__init__(design, "Rename Design" if name is not None else "Edit Description")
        self.field = "name" if name is not None else "description"
        self.step = SetMetaStep(name, description)
        self.steps = [self.step]

    def id(self) -> int:
        return self.MERGE_ID

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SetDesignInfoCommand) or other.error is not None or other.field != self.field:
            return False
        self.step.name, self.step.description = other.step.name, other.step.description
        return True


class PasteCommand(DesignCommand):
    """Add a copied fragment: fresh ids, unique names, its internal connections, shifted by `offset`."""

    def __init__(self, design: Design, fragment: dict[str, Any], offset: Position = (0.0, 0.0),
                 verb: str = "Paste") -> None:
        self.fragment, self.offset = fragment, offset
        n = len(fragment.get("layers", []))
        super().__init__(design, f"{verb} {n} layer{'s' if n != 1 else ''}")
        self.layer_ids: list[str] = []

    def build(self) -> None:
        taken = {layer.name for layer in self.design.layers.values()}
        new_ids: dict[str, str] = {}
        adds: list[AddLayerStep] = []
        dx, dy = self.offset
        for item in self.fragment.get("layers", []):
            ltype = layer_type(item["type"])
            name = item.get("name")
            if ltype is not None and (not isinstance(name, str) or name in taken):
                name = _unique(ltype.prefix, taken)
            x, y = item.get("position", (0.0, 0.0))
            add = AddLayerStep(item["type"], name, item.get("params"), (x + dx, y + dy), layer_id=None)
            adds.append(add)
            if isinstance(name, str):
                taken.add(name)
        # Ids are chosen now so that redo after undo recreates exactly the same layers.
        for item, add in zip(self.fragment.get("layers", []), adds, strict=True):
            add.layer_id = _fresh_id(self.design, set(new_ids.values()))
            new_ids[item["id"]] = add.layer_id
        self.steps = list(adds)
        for source, target in self.fragment.get("connections", []):
            if source in new_ids and target in new_ids:
                self.steps.append(ConnectStep(new_ids[source], new_ids[target]))
        self.layer_ids = [add.layer_id for add in adds]


def _unique(prefix: str, taken: set[str]) -> str:
    n = 1
    while f"{prefix}{n}" in taken:
        n += 1
    return f"{prefix}{n}"


def _fresh_id(design: Design, reserved: set[str]) -> str:
    n = len(design.layers) + len(reserved) + 1
    while f"L{n}" in design.layers or f"L{n}" in reserved:
        n += 1
    return f"L{n}"


# ---- the design's dataset and training settings -------------------------------------------------------

_TITLES = {"features": "input features", "noise": "noise", "train_percent": "training %",
           "show_test_data": "Show test data", "discretize": "Discretize output"}


def _setting_title(section: str, key: str) -> str:
    if key in _TITLES:
        return _TITLES[key]
    spec = (DATASET_FIELDS if section == "dataset" else TRAINING_FIELDS).get(key)
    return spec.title.lower() if spec is not None else key.replace("_", " ")


class _SetSettingCommand(DesignCommand):
    """Set one field of the design's dataset spec or training configuration; a value equal to the old one
    (after the document's normalisation) changes nothing, so the command drops itself."""

    SECTION = ""
    MERGE_ID = 0

    def __init__(self, design: Design, key: str, value: Any) -> None:
        super().__init__(design, f"Change {_setting_title(self.SECTION, key)}")
        self.key = key
        self.step = SetSettingStep(self.SECTION, key, value)
        self.steps = [self.step]

    @property
    def value(self) -> Any:
        return self.step.value

    @property
    def old(self) -> Any:
        return self.step.old

    def redo(self) -> None:
        first = not self._done_once
        super().redo()
        if first and self.error is None:
            self.step.value = self.step.current(self.design)
            if self.step.value == self.step.old:
                self.setObsolete(True)

    def id(self) -> int:
        return self.MERGE_ID

    def mergeWith(self, other: QUndoCommand) -> bool:
        if type(other) is not type(self) or other.error is not None or other.key != self.key:
            return False
        if other.design is not self.design:
            return False
        self.step.value = other.step.value
        self.setObsolete(self.step.value == self.step.old)  # dragged back to where it started
        return True


class SetDatasetCommand(_SetSettingCommand):
    SECTION = "dataset"
    MERGE_ID = 0x4E4E10


class SetTrainingCommand(_SetSettingCommand):
    SECTION = "training"
    MERGE_ID = 0x4E4E11


class SetViewCommand(_SetSettingCommand):
    """A view setting that travels in the file (Show test data, Discretize output); not the canvas zoom."""

    SECTION = "view"
    MERGE_ID = 0x4E4E12


class SetInputFeaturesCommand(DesignCommand):
    """Change Playground's input features and, like Playground, give the Input layer that many features."""

    def __init__(self, design: Design, features: tuple[str, ...], input_id: str | None) -> None:
        super().__init__(design, "Change input features")
        self.step = SetFeaturesStep(features, input_id)
        self.steps = [self.step]
