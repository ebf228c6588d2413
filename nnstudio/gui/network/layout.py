"""Which designs the network view can draw, and where each neuron, feature and link sits (no Qt).

The view draws Playground's picture of a plain chain Input → Dense … → Output on Playground's 2-D data:
one column of input-feature squares, one column per Dense layer, the output last, every neuron linked to
every neuron of the next column. `network_layout` says why a design cannot be drawn, in words.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nnstudio.core.document import Design
from nnstudio.core.settings import PLAYGROUND_FEATURES

SMALL_UNITS = 8  # Playground's largest layer; a bigger one is drawn only when the user asks


@dataclass(frozen=True)
class Column:
    layer_id: str | None  # None for the input features
    name: str  # "features", or the layer's name (its parameters are "<name>.weight" / "<name>.bias")
    units: int
    activation: str


@dataclass
class NetworkLayout:
    columns: list[Column] = field(default_factory=list)
    features: tuple[str, ...] = ()  # the chosen input features, in Playground's order
    problem: str = ""  # why the view cannot draw this design ("" when it can)
    too_big: bool = False  # drawable, but a layer is larger than SMALL_UNITS

    @property
    def hidden(self) -> list[Column]:
        return self.columns[1:-1]


def _chain(design: Design) -> list[str] | str:
    inputs = [lid for lid, layer in design.layers.items() if layer.type == "Input"]
    if len(inputs) != 1:
        return "the network view draws a design with exactly one Input layer"
    order = [inputs[0]]
    while True:
        nxt = design.outputs_of(order[-1])
        if not nxt:
            break
        if len(nxt) > 1:
            return f"'{design.layers[order[-1]].name}' feeds {len(nxt)} layers; the network view draws a plain chain"
        order.append(nxt[0])
        if len(design.inputs_of(nxt[0])) > 1:
            return f"'{design.layers[nxt[0]].name}' has several inputs; the network view draws a plain chain"
    if len(order) != len(design.layers):
        return "some layers are not on the chain from the Input to the Output"
    return order


def network_layout(design: Design) -> NetworkLayout:
    """The columns of `design`, or a layout whose `problem` says why it cannot be drawn."""
    spec = design.dataset
    if spec.source != "playground":
        return NetworkLayout(problem="the network view draws designs on Playground's 2-D data")
    chain = _chain(design)
    if isinstance(chain, str):
        return NetworkLayout(problem=chain)
    first, last = design.layers[chain[0]], design.layers[chain[-1]]
    if first.params.get("mode") != "vector":
        return NetworkLayout(problem="the Input layer takes images; the network view draws feature vectors")
    if last.type != "Output" or last.params.get("units") != 1 or last.params.get("task") == "multiclass":
        return NetworkLayout(problem="the network view draws one output neuron (binary or regression)")
    columns = [Column(None, "features", len(spec.features), "")]
    for lid in chain[1:-1]:
        layer = design.layers[lid]
        if layer.type != "Dense":
            return NetworkLayout(problem=f"'{layer.name}' is a {layer.type}; the network view draws Dense layers")
        columns.append(Column(lid, layer.name, int(layer.params["units"]), str(layer.params["activation"])))
    columns.append(Column(last.id, last.name, 1, "output"))
    too_big = any(c.units > SMALL_UNITS for c in columns[1:])
    return NetworkLayout(columns=columns, features=tuple(f for f in PLAYGROUND_FEATURES if f in spec.features),
                         too_big=too_big)
