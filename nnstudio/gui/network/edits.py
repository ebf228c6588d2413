"""Edits made in the network view: a weight or bias typed in (undoable, on the trained weights) and the
`+` / `−` / feature-toggle edits of the network itself (undo commands on the document, as on the canvas).
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from PySide6.QtGui import QUndoCommand

from nnstudio.core.document import Design
from nnstudio.gui.editor.commands import (
    AddLayerCommand,
    ConnectCommand,
    DisconnectCommand,
    MoveCommand,
    RemoveCommand,
    SetInputFeaturesCommand,
    SetParamCommand,
)

from .layout import SMALL_UNITS, network_layout

ApplyValue = Callable[[str, int, float], None]


class EditValueCommand(QUndoCommand):
    """Set one weight or bias of the trained network; undo puts the old value back."""

    def __init__(self, apply: ApplyValue, name: str, index: int, old: float, new: float, text: str) -> None:
        super().__init__(text)
        self.apply, self.name, self.index, self.old, self.new = apply, name, index, old, new

    def redo(self) -> None:
        self.apply(self.name, self.index, self.new)

    def undo(self) -> None:
        self.apply(self.name, self.index, self.old)


def set_value(weights: dict[str, Any], name: str, index: int, value: float) -> dict[str, Any]:
    """A copy of `weights` (numpy arrays) with one value changed (arrays other holders share stay as they are)."""
    import numpy as np

    out = dict(weights)
    array = np.array(out[name], copy=True)
    array.reshape(-1)[index] = value
    out[name] = array
    return out


def preview(design: Design, weights: dict[str, Any], base_dir: str | None = None) -> Any:
    """What the network computes over Playground's grid with these weights (torch, on the CPU): the same
    fields the view reads from a telemetry publication, for weights edited while no training runs."""
    import numpy as np
    import torch

    from nnstudio.data import load_dataset
    from nnstudio.ml.builder import build_model
    from nnstudio.ml.playground_recipe import playground_probability

    model = build_model(design)
    model.load_state_dict({k: torch.as_tensor(np.asarray(v)) for k, v in weights.items()}, strict=True)
    dataset = load_dataset(design.dataset, base_dir=base_dir)
    grid = torch.as_tensor(np.asarray(dataset.grid.features), dtype=torch.float32)
    r = dataset.grid.resolution
    with torch.no_grad():
        out, acts = model.forward_with_activations(grid)
    neurons = {}
    for column in network_layout(design).hidden:
        act = acts[column.name]
        neurons[column.name] = act.t().reshape(act.shape[1], r, r).numpy()
    if model.task == "binary":
        probability = playground_probability if design.training.playground else torch.sigmoid
        boundary = probability(out)[:, 0].reshape(r, r).numpy()
    else:
        boundary = out[:, 0].reshape(r, r).numpy()
    parameters = {k: np.asarray(v) for k, v in weights.items()}
    return SimpleNamespace(parameters=parameters, neuron_outputs=neurons, boundary=boundary)


# ---- editing the network ---------------------------------------------------------------------------------

def _chain_ends(design: Design) -> tuple[str, str, list[str]]:
    layout = network_layout(design)
    hidden = [c.layer_id for c in layout.hidden]
    output = layout.columns[-1].layer_id
    inputs = [lid for lid, layer in design.layers.items() if layer.type == "Input"]
    return inputs[0], output, hidden  # type: ignore[return-value]


def add_hidden_layer(session: Any) -> bool:
    """Playground's `+` above the hidden layers: a new layer of 2 neurons just before the output."""
    design = session.design
    first, output, hidden = _chain_ends(design)
    before = hidden[-1] if hidden else first
    activation = design.layers[hidden[-1]].params["activation"] if hidden else "tanh"
    out_x, out_y = design.layers[output].position
    stack = session.undo_stack
    stack.beginMacro("Add hidden layer")
    try:
        ok = session.push(DisconnectCommand(design, before, output))
        add = AddLayerCommand(design, "Dense", (out_x, out_y), params={"units": 2, "activation": activation})
        ok = ok and session.push(add)
        new = add.layer_id
        ok = ok and new is not None and session.push(ConnectCommand(design, before, new))
        ok = ok and session.push(ConnectCommand(design, new, output))
        ok = ok and session.push(MoveCommand(design, {output: ((out_x, out_y), (out_x + 240.0, out_y))}))
    finally:
        stack.endMacro()
    return bool(ok)


def remove_hidden_layer(session: Any) -> bool:
    """Playground's `−`: the last hidden layer goes; the one before it feeds the output."""
    design = session.design
    first, output, hidden = _chain_ends(design)
    if not hidden:
        return False
    doomed = hidden[-1]
    before = hidden[-2] if len(hidden) > 1 else first
    stack = session.undo_stack
    stack.beginMacro("Remove hidden layer")
    try:
        ok = session.push(RemoveCommand(design, [doomed]))
        ok = ok and session.push(ConnectCommand(design, before, output))
    finally:
        stack.endMacro()
    return bool(ok)


def change_units(session: Any, layer_id: str, delta: int) -> bool:
    """One neuron more or fewer in a hidden layer (1 to 8, as in Playground)."""
    units = int(session.design.layers[layer_id].params["units"]) + delta
    if not 1 <= units <= SMALL_UNITS:
        return False
    return session.push(SetParamCommand(session.design, layer_id, "units", units))


def toggle_feature(session: Any, name: str) -> str:
    """Switch an input feature on or off (the Input layer follows); '' or why not."""
    design = session.design
    chosen = list(design.dataset.features)
    if name in chosen:
        if len(chosen) == 1:
            return "keep at least one input feature on"
        chosen.remove(name)
    else:
        chosen.append(name)
    inputs = [lid for lid, layer in design.layers.items() if layer.type == "Input"]
    command = SetInputFeaturesCommand(design, tuple(chosen), inputs[0] if len(inputs) == 1 else None)
    if not session.push(command):
        return str(command.error)
    return ""
