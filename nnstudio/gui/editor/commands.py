"""Undo commands: every edit the GUI makes to a design, as steps that only call Design edit operations.

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

Position = tuple[float, float]


# ---- steps: one edit operation each, with its exact inverse ---------------------------------------------

class _Step:
    def do(self, design: Design) -> None:
        raise NotImplementedError

    def undo(self, design: Design) -> None:
        raise NotImplementedError


class _AddLayer(_Step):
    def __init__(self, type_name: str, name: str | None, params: dict[str, Any] | None, position: Position,
                 layer_id: str | None = None) -> None:
        self.type_name, self.name, self.params, self.position = type_name, name, params, position
        self.layer_id = layer_id
        self.index: int | None = None

    def do(self, design: Design) -> None:
        layer = design.add_layer(self.type_name, self.name, self.params, self.position, layer_id=self.layer_id,
                                 index=self.index)
        # Redo must recreate the very same layer: same id, name, parameters and place.
        self.layer_id, self.name, self.params = layer.id, layer.name, dict(layer.params)
        self.index = list(design.layers).index(layer.id)

    def undo(self, design: Design) -> None:
        design.remove_layer(self.layer_id)


class _RemoveLayer(_Step):
    def __init__(self, layer_id: str) -> None:
        self.layer_id = layer_id
        self.removed: tuple | None = None

    def do(self, design: Design) -> None:
        self.removed = design.remove_layer(self.layer_id)

    def undo(self, design: Design) -> None:
        layer, index, connections = self.removed
        design.add_layer(layer.type, layer.name, layer.params, layer.position, layer_id=layer.id, index=index)
        for i, conn in connections:  # ascending indices: each lands where it was
            design.connect(conn.source, conn.target, index=i)


class _Connect(_Step):
    def __init__(self, source: str, target: str) -> None:
        self.source, self.target = source, target
        self.index: int | None = None

    def do(self, design: Design) -> None:
        design.connect(self.source, self.target, index=self.index)
        self.index = design.connections.index(Connection(self.source, self.target))

    def undo(self, design: Design) -> None:
        design.disconnect(self.source, self.target)


class _Disconnect(_Step):
    def __init__(self, source: str, target: str) -> None:
        self.source, self.target = source, target
        self.index = 0

    def do(self, design: Design) -> None:
        self.index = design.disconnect(self.source, self.target)

    def undo(self, design: Design) -> None:
        design.connect(self.source, self.target, index=self.index)


class _ConnectIfAllowed(_Step):
    """Feed a just-added layer from `source` if the document allows it; decided once, replayed the same."""

    def __init__(self, source: str, added: _AddLayer) -> None:
        self.source, self.added = source, added
        self.allowed: bool | None = None

    def do(self, design: Design) -> None:
        if self.allowed is None:
            try:
                design.check_connection(self.source, self.added.layer_id)
                self.allowed = True
            except DesignError:
                self.allowed = False  # adding still works; the user connects it by hand
        if self.allowed:
            design.connect(self.source, self.added.layer_id)

    def undo(self, design: Design) -> None:
        if self.allowed:
            design.disconnect(self.source, self.added.layer_id)


class _SetParam(_Step):
    def __init__(self, layer_id: str, key: str, value: Any) -> None:
        self.layer_id, self.key, self.value = layer_id, key, value
        self.old: Any = None

    def do(self, design: Design) -> None:
        self.old = design.set_param(self.layer_id, self.key, self.value)

    def undo(self, design: Design) -> None:
        design.set_param(self.layer_id, self.key, self.old)


class _Rename(_Step):
    def __init__(self, layer_id: str, name: str) -> None:
        self.layer_id, self.name = layer_id, name
        self.old = ""

    def do(self, design: Design) -> None:
        self.old = design.rename(self.layer_id, self.name)

    def undo(self, design: Design) -> None:
        design.rename(self.layer_id, self.old)


class _Move(_Step):
    def __init__(self, layer_id: str, old: Position, new: Position) -> None:
        self.layer_id, self.old, self.new = layer_id, old, new

    def do(self, design: Design) -> None:
        design.move(self.layer_id, self.new)

    def undo(self, design: Design) -> None:
        design.move(self.layer_id, self.old)


class _SetMeta(_Step):
    def __init__(self, name: str | None, description: str | None) -> None:
        self.name, self.description = name, description
        self.old: tuple[str, str] = ("", "")

    def do(self, design: Design) -> None:
        self.old = design.set_meta(self.name, self.description)

    def undo(self, design: Design) -> None:
        design.set_meta(*self.old)


# ---- commands ---------------------------------------------------------------------------------------------

class _SetSetting(_Step):
    """One field of the dataset spec ("dataset") or the training configuration ("training")."""

    def __init__(self, section: str, key: str, value: Any) -> None:
        self.section, self.key, self.value = section, key, value
        self.old: Any = None

    def current(self, design: Design) -> Any:
        return getattr(getattr(design, self.section), self.key)

    def _apply(self, design: Design, value: Any) -> None:
        if self.section == "dataset":
            design.set_dataset(**{self.key: value})
        elif self.section == "view":
            design.set_view(**{self.key: value})
        else:
            design.set_training(**{self.key: value})

    def do(self, design: Design) -> None:
        self.old = self.current(design)
        self._apply(design, self.value)

    def undo(self, design: Design) -> None:
        self._apply(design, self.old)


class _SetFeatures(_Step):
    """Playground's input features and, like Playground, that many features on the Input layer."""

    def __init__(self, features: tuple[str, ...], input_id: str | None) -> None:
        self.features, self.input_id = tuple(features), input_id
        self.old_features: tuple[str, ...] | None = None
        self.old_count: int | None = None

    def do(self, design: Design) -> None:
        first = self.old_features is None
        if first:
            self.old_features = design.dataset.features
        design.set_dataset(features=self.features)
        self.features = design.dataset.features
        if self.input_id is not None and self.input_id in design.layers:
            old = design.set_param(self.input_id, "features", len(self.features))
            if first:
                self.old_count = old

    def undo(self, design: Design) -> None:
        if self.input_id is not None and self.old_count is not None and self.input_id in design.layers:
            design.set_param(self.input_id, "features", self.old_count)
        if self.old_features is not None:
            design.set_dataset(features=self.old_features)


class DesignCommand(QUndoCommand):
    """An undoable edit made of steps; subclasses fill `self.steps` (or build them on first redo)."""

    def __init__(self, design: Design, text: str) -> None:
        super().__init__(text)
        self.design = design
        self.steps: list[_Step] = []
        self.error: DesignError | None = None
        self._done_once = False

    def build(self) -> None:
        """Create the steps, just before the first redo (when the document is in its 'before' state)."""

    def redo(self) -> None:
        if not self._done_once:
            self._done_once = True
            self.build()
            done: list[_Step] = []
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
        add = _AddLayer(self.type_name, name, self.params, self.position)
        self.steps = [add]
        if self.connect_from is not None:
            self.steps.append(_ConnectIfAllowed(self.connect_from, add))
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
        self.steps = [_Disconnect(c.source, c.target) for c in reversed(touching)]
        self.steps += [_RemoveLayer(lid) for lid in self.layer_ids]


class ConnectCommand(DesignCommand):
    def __init__(self, design: Design, source: str, target: str) -> None:
        src, dst = design.layer(source).name, design.layer(target).name
        super().__init__(design, f"Connect '{src}' to '{dst}'")
        self.steps = [_Connect(source, target)]


class DisconnectCommand(DesignCommand):
    def __init__(self, design: Design, source: str, target: str) -> None:
        src, dst = design.layer(source).name, design.layer(target).name
        super().__init__(design, f"Disconnect '{src}' from '{dst}'")
        self.steps = [_Disconnect(source, target)]


class SetParamCommand(DesignCommand):
    """Change one parameter; consecutive changes of the same field merge into one undo step."""

    MERGE_ID = 0x4E4E01

    def __init__(self, design: Design, layer_id: str, key: str, value: Any) -> None:
        layer = design.layer(layer_id)
        spec = layer_type(layer.type).params.get(key) if layer_type(layer.type) else None
        title = spec.title.lower() if spec else key
        super().__init__(design, f"Change {title} of '{layer.name}'")
        self.layer_id, self.key = layer_id, key
        self.step = _SetParam(layer_id, key, value)
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
        self.steps = [_Rename(layer_id, name)]


class MoveCommand(DesignCommand):
    """Move layers; one drag of any number of blocks is one command."""

    def __init__(self, design: Design, moves: dict[str, tuple[Position, Position]], text: str | None = None) -> None:
        moves = {lid: (old, new) for lid, (old, new) in moves.items() if old != new}
        super().__init__(design, text or f"Move {_quoted(design, moves)}")
        self.steps = [_Move(lid, old, new) for lid, (old, new) in moves.items()]


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
        self.step = _SetMeta(name, description)
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
        adds: list[_AddLayer] = []
        dx, dy = self.offset
        for item in self.fragment.get("layers", []):
            ltype = layer_type(item["type"])
            name = item.get("name")
            if ltype is not None and (not isinstance(name, str) or name in taken):
                name = _unique(ltype.prefix, taken)
            x, y = item.get("position", (0.0, 0.0))
            add = _AddLayer(item["type"], name, item.get("params"), (x + dx, y + dy), layer_id=None)
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
                self.steps.append(_Connect(new_ids[source], new_ids[target]))
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
        self.step = _SetSetting(self.SECTION, key, value)
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
        self.step = _SetFeatures(features, input_id)
        self.steps = [self.step]
