"""Undo steps: one Design edit operation each, with its exact inverse (indices included); Qt-free.

`DesignCommand`s (`commands.py`) are made of these steps; a step calls only the document's own edit
operations, so undoing it restores the design exactly as it was.
"""

from __future__ import annotations

from typing import Any

from nnstudio.core import Connection, Design, DesignError

Position = tuple[float, float]


class Step:
    def do(self, design: Design) -> None:
        raise NotImplementedError

    def undo(self, design: Design) -> None:
        raise NotImplementedError


class AddLayerStep(Step):
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


class RemoveLayerStep(Step):
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


class ConnectStep(Step):
    def __init__(self, source: str, target: str) -> None:
        self.source, self.target = source, target
        self.index: int | None = None

    def do(self, design: Design) -> None:
        design.connect(self.source, self.target, index=self.index)
        self.index = design.connections.index(Connection(self.source, self.target))

    def undo(self, design: Design) -> None:
        design.disconnect(self.source, self.target)


class DisconnectStep(Step):
    def __init__(self, source: str, target: str) -> None:
        self.source, self.target = source, target
        self.index = 0

    def do(self, design: Design) -> None:
        self.index = design.disconnect(self.source, self.target)

    def undo(self, design: Design) -> None:
        design.connect(self.source, self.target, index=self.index)


class ConnectIfAllowedStep(Step):
    """Feed a just-added layer from `source` if the document allows it; decided once, replayed the same."""

    def __init__(self, source: str, added: AddLayerStep) -> None:
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


class SetParamStep(Step):
    def __init__(self, layer_id: str, key: str, value: Any) -> None:
        self.layer_id, self.key, self.value = layer_id, key, value
        self.old: Any = None

    def do(self, design: Design) -> None:
        self.old = design.set_param(self.layer_id, self.key, self.value)

    def undo(self, design: Design) -> None:
        design.set_param(self.layer_id, self.key, self.old)


class RenameStep(Step):
    def __init__(self, layer_id: str, name: str) -> None:
        self.layer_id, self.name = layer_id, name
        self.old = ""

    def do(self, design: Design) -> None:
        self.old = design.rename(self.layer_id, self.name)

    def undo(self, design: Design) -> None:
        design.rename(self.layer_id, self.old)


class MoveStep(Step):
    def __init__(self, layer_id: str, old: Position, new: Position) -> None:
        self.layer_id, self.old, self.new = layer_id, old, new

    def do(self, design: Design) -> None:
        design.move(self.layer_id, self.new)

    def undo(self, design: Design) -> None:
        design.move(self.layer_id, self.old)


class SetMetaStep(Step):
    def __init__(self, name: str | None, description: str | None) -> None:
        self.name, self.description = name, description
        self.old: tuple[str, str] = ("", "")

    def do(self, design: Design) -> None:
        self.old = design.set_meta(self.name, self.description)

    def undo(self, design: Design) -> None:
        design.set_meta(*self.old)


# ---- commands ---------------------------------------------------------------------------------------------

class SetSettingStep(Step):
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


class SetFeaturesStep(Step):
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


