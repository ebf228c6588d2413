"""The design document: layers with stable ids, connections forming a DAG, settings and view state.

Every change goes through an edit operation that validates first and raises a typed `DesignError`, then
notifies observers with a `DesignEvent`. The document imports no Qt: scripts, the CLI and tests use it as
it is, and the canvas mirrors it by subscribing.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .catalogue import LAYER_TYPES, layer_type
from .errors import (
    CycleError,
    DesignError,
    InvalidConnectionError,
    LayerNameError,
    ParameterError,
    UnknownLayerError,
    UnknownLayerTypeError,
)
from .schema import check_params
from .settings import DatasetSpec, TrainingConfig, ViewState
from .text import text_problem

# `\Z`, not `$`: `$` also matches before a trailing newline, which would let "fc1\n" through.
NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}\Z")
ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")
NAME_RULE = "letters, digits and underscores, starting with a letter or underscore, at most 64 characters"
# A layer name becomes an attribute in a class body (the builder's module, the generated model.py) and a
# node name in ONNX. Names starting with two underscores are mangled inside a class body (`self.__h`
# becomes `_Model__h`, so the weights' names no longer match), and these would shadow an attribute of
# torch's nn.Module (all of them, private ones included: tests/ml checks this list against torch), of the
# builder's module, or a name the generated forward() uses.
RESERVED_NAMES = frozenset({
    # nn.Module's public API
    "T_destination", "add_module", "apply", "bfloat16", "buffers", "call_super_init", "children", "compile",
    "cpu", "cuda", "double", "dump_patches", "eval", "extra_repr", "float", "forward", "get_buffer",
    "get_extra_state", "get_parameter", "get_submodule", "half", "ipu", "load_state_dict", "modules", "mtia",
    "named_buffers", "named_children", "named_modules", "named_parameters", "parameters",
    "register_backward_hook", "register_buffer", "register_forward_hook", "register_forward_pre_hook",
    "register_full_backward_hook", "register_full_backward_pre_hook", "register_load_state_dict_post_hook",
    "register_load_state_dict_pre_hook", "register_module", "register_parameter",
    "register_state_dict_post_hook", "register_state_dict_pre_hook", "requires_grad_", "set_extra_state",
    "set_submodule", "share_memory", "state_dict", "to", "to_empty", "train", "training", "type", "xpu",
    "zero_grad",
    # nn.Module's private attributes
    "_apply", "_backward_hooks", "_backward_pre_hooks", "_buffers", "_call_impl", "_compiled_call_impl",
    "_forward_hooks", "_forward_hooks_always_called", "_forward_hooks_with_kwargs", "_forward_pre_hooks",
    "_forward_pre_hooks_with_kwargs", "_get_backward_hooks", "_get_backward_pre_hooks", "_get_name",
    "_is_full_backward_hook", "_load_from_state_dict", "_load_state_dict_post_hooks",
    "_load_state_dict_pre_hooks", "_maybe_warn_non_full_backward_hook", "_modules", "_named_members",
    "_non_persistent_buffers_set", "_parameters", "_register_load_state_dict_pre_hook",
    "_register_state_dict_hook", "_replicate_for_data_parallel", "_save_to_state_dict", "_slow_forward",
    "_state_dict_hooks", "_state_dict_pre_hooks", "_version", "_wrapped_call_impl",
    # the builder's module and the generated model.py
    "self", "layers", "torch", "nn", "F", "x", "steps", "task", "predict", "input_shape", "input_name",
    "output_name", "output_activation", "forward_with_activations", "_run",
})


@dataclass
class Layer:
    id: str
    type: str
    name: str
    params: dict[str, Any]
    position: tuple[float, float] = (0.0, 0.0)

    def copy(self) -> Layer:
        return Layer(self.id, self.type, self.name, dict(self.params), self.position)


@dataclass(frozen=True)
class Connection:
    """A directed edge from `source`'s output to one of `target`'s inputs (merge layers take several)."""

    source: str
    target: str


@dataclass(frozen=True)
class DesignEvent:
    """What changed. `kind` is one of: layer_added, layer_removed, connected, disconnected,
    param_changed, renamed, moved, dataset_changed, training_changed, view_changed, meta_changed, reset."""

    kind: str
    layer_id: str | None = None
    connection: Connection | None = None
    key: str | None = None
    value: Any = None
    old: Any = None


Observer = Callable[[DesignEvent], None]


@dataclass
class Design:
    name: str = "Untitled"
    description: str = ""
    layers: dict[str, Layer] = field(default_factory=dict)
    connections: list[Connection] = field(default_factory=list)
    dataset: DatasetSpec = field(default_factory=DatasetSpec)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    view: ViewState = field(default_factory=ViewState)
    _observers: list[Observer] = field(default_factory=list, repr=False, compare=False)
    _next_id: int = field(default=1, repr=False, compare=False)
    # Indexes over `connections` so connecting stays cheap in designs of thousands of layers. The list is
    # the truth (its order is Concatenate's input order); change it only through the edit operations.
    _pred: dict[str, list[str]] = field(default_factory=dict, repr=False, compare=False)
    _succ: dict[str, list[str]] = field(default_factory=dict, repr=False, compare=False)
    _edges: set[Connection] = field(default_factory=set, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._reindex()

    def _reindex(self) -> None:
        self._pred, self._succ, self._edges = {}, {}, set(self.connections)
        for c in self.connections:
            self._pred.setdefault(c.target, []).append(c.source)
            self._succ.setdefault(c.source, []).append(c.target)

    # ---- observers ---------------------------------------------------------------------------------

    def subscribe(self, observer: Observer) -> None:
        self._observers.append(observer)

    def unsubscribe(self, observer: Observer) -> None:
        if observer in self._observers:
            self._observers.remove(observer)

    def _emit(self, event: DesignEvent) -> None:
        for observer in list(self._observers):
            observer(event)

    # ---- queries -----------------------------------------------------------------------------------

    def layer(self, layer_id: str) -> Layer:
        try:
            return self.layers[layer_id]
        except KeyError:
            raise UnknownLayerError(f"there is no layer with id {layer_id!r}", layer_id) from None

    def layer_by_name(self, name: str) -> Layer | None:
        # A name index would have to follow renames and undo; a scan of a few thousand layers is cheap.
        for layer in self.layers.values():
            if layer.name == name:
                return layer
        return None

    def inputs_of(self, layer_id: str) -> list[str]:
        """Source layer ids feeding `layer_id`, in connection order (the order Concatenate joins them)."""
        return list(self._pred.get(layer_id, ()))

    def outputs_of(self, layer_id: str) -> list[str]:
        return list(self._succ.get(layer_id, ()))

    def connections_of(self, layer_id: str) -> list[Connection]:
        return [c for c in self.connections if layer_id in (c.source, c.target)]

    def unique_name(self, prefix: str) -> str:
        taken = {layer.name for layer in self.layers.values()}
        n = 1 + sum(1 for name in taken if name.startswith(prefix)) if len(taken) > 64 else 1
        while f"{prefix}{n}" in taken:
            n += 1
        return f"{prefix}{n}"

    def new_id(self) -> str:
        while f"L{self._next_id}" in self.layers:
            self._next_id += 1
        return f"L{self._next_id}"

    def would_cycle(self, source: str, target: str) -> bool:
        """True if an edge source → target would close a cycle (target already reaches source)."""
        if source == target:
            return True
        seen, stack = set(), [target]
        while stack:
            node = stack.pop()
            if node == source:
                return True
            if node in seen:
                continue
            seen.add(node)
            stack.extend(self._succ.get(node, ()))
        return False

    # ---- edit operations ---------------------------------------------------------------------------

    def add_layer(
        self,
        type_name: str,
        name: str | None = None,
        params: dict[str, Any] | None = None,
        position: tuple[float, float] = (0.0, 0.0),
        layer_id: str | None = None,
        index: int | None = None,
    ) -> Layer:
        """Add a layer; `layer_id` and `index` let undo put a removed layer back exactly."""
        ltype = layer_type(type_name)
        if ltype is None:
            known = ", ".join(LAYER_TYPES)
            raise UnknownLayerTypeError(f"unknown layer type {type_name!r:.60} (known: {known})")
        if name is None:
            name = self.unique_name(ltype.prefix)
        self._check_name(name, None)
        if layer_id is None:
            layer_id = self.new_id()
        elif not ID_RE.match(layer_id):
            raise DesignError(f"layer id {layer_id!r:.70} must be 1–64 letters, digits, '_' or '-'")
        if layer_id in self.layers:
            raise DesignError(f"a layer with id {layer_id!r} already exists", layer_id)
        checked = check_params(ltype.params, params or {}, where=f"{name}.")
        layer = Layer(layer_id, type_name, name, checked, _position(position))
        if index is None or index >= len(self.layers):
            self.layers[layer_id] = layer
        else:
            items = list(self.layers.items())
            items.insert(max(0, index), (layer_id, layer))
            self.layers = dict(items)
        self._emit(DesignEvent("layer_added", layer_id))
        return layer

    def remove_layer(self, layer_id: str) -> tuple[Layer, int, list[tuple[int, Connection]]]:
        """Remove a layer and its connections; returns what undo needs to restore them exactly."""
        layer = self.layer(layer_id)
        removed = [(i, c) for i, c in enumerate(self.connections) if layer_id in (c.source, c.target)]
        for i, conn in reversed(removed):
            del self.connections[i]
            self._unindex(conn)
            self._emit(DesignEvent("disconnected", conn.target, connection=conn))
        index = list(self.layers).index(layer_id)
        del self.layers[layer_id]
        self._emit(DesignEvent("layer_removed", layer_id, value=layer))
        return layer, index, removed

    def check_connection(self, source: str, target: str) -> None:
        """Raise InvalidConnectionError if source → target may not be connected; return None if it may."""
        src, dst = self.layer(source), self.layer(target)
        dst_type = LAYER_TYPES[dst.type]
        if source == target:
            raise CycleError(f"'{src.name}' cannot feed itself: that would make a cycle", target)
        if LAYER_TYPES[src.type].name == "Output":
            raise InvalidConnectionError(f"Output '{src.name}' is the end of the network: nothing follows it",
                                         source)
        if dst_type.max_inputs == 0:
            raise InvalidConnectionError(f"{dst.type} '{dst.name}' takes no inputs", target)
        if Connection(source, target) in self._edges:
            raise InvalidConnectionError(f"'{src.name}' is already connected to '{dst.name}'", target)
        if dst_type.max_inputs == 1 and self.inputs_of(target):
            other = self.layers[self.inputs_of(target)[0]].name
            raise InvalidConnectionError(
                f"{dst.type} '{dst.name}' already takes its input from '{other}': "
                "disconnect that first, or join both with an Add or Concatenate", target)
        if self.would_cycle(source, target):
            raise CycleError(f"connecting '{src.name}' to '{dst.name}' would make a cycle", target)

    def connect(self, source: str, target: str, index: int | None = None) -> Connection:
        self.check_connection(source, target)
        conn = Connection(source, target)
        if index is None:
            self.connections.append(conn)
            self._pred.setdefault(target, []).append(source)
        else:
            self.connections.insert(max(0, min(index, len(self.connections))), conn)
            self._pred[target] = [c.source for c in self.connections if c.target == target]
        self._succ.setdefault(source, []).append(target)
        self._edges.add(conn)
        self._emit(DesignEvent("connected", target, connection=conn))
        return conn

    def disconnect(self, source: str, target: str) -> int:
        """Remove the connection; returns its index so undo can put it back in the same place."""
        conn = Connection(source, target)
        if conn not in self._edges:
            raise InvalidConnectionError(f"there is no connection from {source!r} to {target!r}", target)
        index = self.connections.index(conn)
        del self.connections[index]
        self._unindex(conn)
        self._emit(DesignEvent("disconnected", target, connection=conn))
        return index

    def set_param(self, layer_id: str, key: str, value: Any) -> Any:
        """Set one parameter; returns the old value."""
        layer = self.layer(layer_id)
        spec = LAYER_TYPES[layer.type].params.get(key)
        if spec is None:
            raise ParameterError(f"{layer.type} '{layer.name}' has no parameter {key!r:.40}", layer_id)
        try:
            value = spec.check(value, f"{layer.name}.")
        except ParameterError as exc:
            raise ParameterError(str(exc), layer_id) from None
        old = layer.params[key]
        if old != value or type(old) is not type(value):
            layer.params[key] = value
            self._emit(DesignEvent("param_changed", layer_id, key=key, value=value, old=old))
        return old

    def rename(self, layer_id: str, name: str) -> str:
        layer = self.layer(layer_id)
        self._check_name(name, layer_id)
        old = layer.name
        if old != name:
            layer.name = name
            self._emit(DesignEvent("renamed", layer_id, value=name, old=old))
        return old

    def move(self, layer_id: str, position: tuple[float, float]) -> tuple[float, float]:
        layer = self.layer(layer_id)
        old = layer.position
        new = _position(position)
        if new != old:
            layer.position = new
            self._emit(DesignEvent("moved", layer_id, value=new, old=old))
        return old

    def set_dataset(self, /, **changes: Any) -> DatasetSpec:
        return self._set_settings("dataset", changes)

    def set_training(self, /, **changes: Any) -> TrainingConfig:
        return self._set_settings("training", changes)

    def set_view(self, /, **changes: Any) -> ViewState:
        return self._set_settings("view", changes)

    def _set_settings(self, section: str, changes: dict[str, Any]) -> Any:
        """Validate and apply changes to one settings section; emits `<section>_changed`, returns the old."""
        old = getattr(self, section)
        new = old.with_changes(**changes)
        setattr(self, section, new)  # even when equal: -0.0 == 0.0, yet the file keeps what was set
        if new != old:
            self._emit(DesignEvent(f"{section}_changed", value=new, old=old))
        return old

    def set_meta(self, name: str | None = None, description: str | None = None) -> tuple[str, str]:
        old = (self.name, self.description)
        if name is not None:
            if not isinstance(name, str) or not name.strip() or len(name) > 200:
                raise DesignError("the design's name must be 1–200 characters")
            problem = text_problem(name)
            if problem:
                raise DesignError(f"the design's name {problem}")
            self.name = name
        if description is not None:
            if not isinstance(description, str) or len(description) > 100_000:
                raise DesignError("the description must be text of at most 100 000 characters")
            problem = text_problem(description, multiline=True)
            if problem:
                raise DesignError(f"the description {problem}")
            self.description = description
        if (self.name, self.description) != old:
            self._emit(DesignEvent("meta_changed", value=(self.name, self.description), old=old))
        return old

    def replace_with(self, other: Design) -> None:
        """Take over another design's content (opening a file into an existing window)."""
        self.name, self.description = other.name, other.description
        self.layers = {k: v.copy() for k, v in other.layers.items()}
        self.connections = list(other.connections)
        self._reindex()
        self.dataset, self.training, self.view = other.dataset, other.training, other.view
        self._next_id = 1
        self._emit(DesignEvent("reset"))

    # ---- helpers -----------------------------------------------------------------------------------

    def _unindex(self, conn: Connection) -> None:
        self._edges.discard(conn)
        self._pred[conn.target].remove(conn.source)
        self._succ[conn.source].remove(conn.target)

    def _check_name(self, name: Any, layer_id: str | None) -> None:
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise LayerNameError(f"layer name {name!r:.70} is not allowed: use {NAME_RULE}", layer_id)
        if name.startswith("__"):
            raise LayerNameError(f"layer name '{name}' may not start with two underscores: Python would rename "
                                 "it inside the model's class (so its weights could not be loaded)", layer_id)
        if keyword.iskeyword(name) or name in RESERVED_NAMES:
            raise LayerNameError(f"'{name}' is a reserved word in Python or PyTorch: choose another name",
                                 layer_id)
        other = self.layer_by_name(name)
        if other is not None and other.id != layer_id:
            raise LayerNameError(f"another layer is already called '{name}'", layer_id)

    def copy(self) -> Design:
        """A deep copy without observers."""
        twin = Design(self.name, self.description)
        twin.replace_with(self)
        return twin

    def same_content(self, other: Design) -> bool:
        return (
            self.name == other.name and self.description == other.description
            and list(self.layers) == list(other.layers)
            and all(self.layers[k] == other.layers[k] for k in self.layers)
            and self.connections == other.connections and self.dataset == other.dataset
            and self.training == other.training and self.view == other.view
        )


def _position(position: Iterable[float]) -> tuple[float, float]:
    try:
        x, y = (float(v) for v in position)
    except (TypeError, ValueError, OverflowError):
        raise DesignError(f"a position must be two numbers, not {position!r:.40}") from None
    if not (abs(x) < 1e7 and abs(y) < 1e7):
        raise DesignError(f"position ({x}, {y}) is off the canvas (at most 10 000 000 from the origin)")
    return (x, y)
