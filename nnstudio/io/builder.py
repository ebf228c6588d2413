"""Typed records to a Design under every rule of the editor's edit operations, in about linear time.

Replaying a file through `Design.add_layer` / `Design.connect` costs a scan of all names per layer and a
graph search per connection: seconds for a 10 000-layer chain listed backwards, far more for a hostile file.
So each rule is still checked by the core's own code, on small scratch documents: every layer by the real
`add_layer` next to only the layers it could clash with, every connection by the real `check_connection`
next to only the edges that rule looks at. Cycles, the one rule about the whole graph, are found for the
file at once, and the first edge that closes one is reported in `check_connection`'s words.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from nnstudio.core.catalogue import LAYER_TYPES
from nnstudio.core.document import ID_RE, Connection, Design, Layer
from nnstudio.core.errors import (
    DesignError,
    FormatError,
    LayerNameError,
    ParameterError,
    UnknownLayerTypeError,
)
from nnstudio.core.inference import format_count, infer
from nnstudio.core.settings import DatasetSpec, TrainingConfig, ViewState

from .limits import FLOAT32_BYTES, Limits
from .paths import json_path
from .records import ConnectionRecord, DesignRecord, LayerRecord


def build_design(record: DesignRecord, limits: Limits) -> Design:
    """The Design a validated record describes, or a FormatError at the JSON path of the first problem."""
    meta = Design()
    _set_meta(meta, record)
    layers = _build_layers(record.layers)
    connections = _build_connections(record.connections, layers)
    # The constructor indexes the connections the same way the edit operations keep them indexed.
    design = Design(meta.name, meta.description, layers=layers, connections=connections)
    _apply_settings(design, "dataset", record.dataset, design.set_dataset, DatasetSpec)
    _apply_settings(design, "training", record.training, design.set_training, TrainingConfig)
    _apply_settings(design, "view", record.view, design.set_view, ViewState)
    check_parameter_budget(design, limits)
    return design


def _set_meta(design: Design, record: DesignRecord) -> None:
    for key in ("name", "description"):
        try:
            design.set_meta(**{key: getattr(record, key)})
        except DesignError as exc:
            raise FormatError(str(exc), path=key) from None


# ---- layers ------------------------------------------------------------------------------------------

def _build_layers(records: list[LayerRecord]) -> dict[str, Layer]:
    layers: dict[str, Layer] = {}
    id_by_name: dict[str, str] = {}
    for index, rec in enumerate(records):
        # The only rules of add_layer that involve other layers are "unique id" and "unique name", so a
        # scratch document with just the layers this one could clash with reproduces every check.
        clashes = [i for i in (rec.id, id_by_name.get(rec.name)) if i is not None and i in layers]
        scratch = Design(layers={i: layers[i] for i in clashes})
        try:
            layer = scratch.add_layer(rec.type, rec.name, rec.params, tuple(rec.position), rec.id)
        except DesignError as exc:
            raise _layer_error(index, rec, exc, id_taken=rec.id in layers) from None
        layers[layer.id] = layer
        id_by_name[layer.name] = layer.id
    return layers


def _layer_error(index: int, rec: LayerRecord, exc: DesignError, id_taken: bool) -> FormatError:
    at = ("layers", index)
    if isinstance(exc, UnknownLayerTypeError):
        return FormatError(str(exc), path=json_path(at + ("type",)))
    if isinstance(exc, LayerNameError):
        return FormatError(str(exc), path=json_path(at + ("name",)))
    if isinstance(exc, ParameterError):
        return _param_error(at, rec, exc)
    # add_layer raises a plain DesignError for the id (bad form or taken) and for the position.
    if id_taken or not ID_RE.match(rec.id):
        return FormatError(str(exc), path=json_path(at + ("id",)))
    return FormatError(str(exc), path=json_path(at + ("position",)))


def _param_error(at: tuple[str | int, ...], rec: LayerRecord, exc: ParameterError) -> FormatError:
    """Find which parameter add_layer refused, and report it at that key without the layer-name prefix."""
    specs = LAYER_TYPES[rec.type].params
    for key, value in rec.params.items():
        spec = specs.get(key)
        if spec is None:
            known = ", ".join(specs) or "none"
            return FormatError(f"unknown parameter (known: {known})", path=json_path(at + ("params", key)))
        try:
            spec.check(value, None)  # where=None: the message without a "name.key: " prefix
        except ParameterError as one:
            return FormatError(str(one), path=json_path(at + ("params", key)))
    return FormatError(str(exc), path=json_path(at + ("params",)))  # pragma: no cover - defensive


# ---- connections -------------------------------------------------------------------------------------

def _build_connections(records: list[ConnectionRecord], layers: dict[str, Layer]) -> list[Connection]:
    accepted: list[Connection] = []
    existing: set[Connection] = set()
    first_input: dict[str, str] = {}
    refused: tuple[int, str, str] | None = None  # (index, JSON path, message) of the first refused edge
    for index, rec in enumerate(records):
        conn = Connection(rec.source, rec.target)
        refused = _unknown_end(index, rec, layers)
        if refused is not None:
            break
        try:
            _local_scratch(layers, conn, existing, first_input).check_connection(rec.source, rec.target)
        except DesignError as exc:
            refused = (index, json_path(("connections", index)), str(exc))
            break
        accepted.append(conn)
        existing.add(conn)
        first_input.setdefault(rec.target, rec.source)
    # The editor refuses the first edge that would close a cycle; if that comes before the first edge
    # refused for another reason, it is the one to report.
    cycle_at = first_cycle(layers, accepted)
    if cycle_at is not None:
        conn = accepted[cycle_at]
        try:
            _cycle_scratch(layers, conn).check_connection(conn.source, conn.target)
            message = "this connection would make a cycle"  # pragma: no cover - if the core stopped refusing
        except DesignError as exc:
            message = str(exc)
        refused = (cycle_at, json_path(("connections", cycle_at)), message)
    if refused is not None:
        raise FormatError(refused[2], path=refused[1])
    return accepted


def _unknown_end(index: int, rec: ConnectionRecord, layers: dict[str, Layer]) -> tuple[int, str, str] | None:
    for end, layer_id in (("from", rec.source), ("to", rec.target)):
        if layer_id not in layers:
            # Cut: an id in a hostile file may be a megabyte long.
            return index, json_path(("connections", index, end)), f"there is no layer with id {layer_id!r:.70}"
    return None


def _scratch_with(layers: dict[str, Layer], ids: list[str], edges: list[Connection]) -> Design:
    return Design(layers={i: layers[i] for i in dict.fromkeys(ids)}, connections=edges)


def _local_scratch(layers: dict[str, Layer], conn: Connection, existing: set[Connection],
                   first_input: dict[str, str]) -> Design:
    """A document where check_connection sees everything about `conn` except far-away cycles.

    It holds both ends, the same edge if the file already made it, and the target's first input: all that
    the rules about duplicates and occupied inputs look at. Cycles are found for the whole file at once.
    """
    ids, edges = [conn.source, conn.target], []
    if conn in existing:
        edges.append(conn)
    other = first_input.get(conn.target)
    if other is not None and other != conn.source:
        ids.append(other)
        edges.append(Connection(other, conn.target))
    return _scratch_with(layers, ids, edges)


def _cycle_scratch(layers: dict[str, Layer], conn: Connection) -> Design:
    """Both ends and the edge back: check_connection then says, in its words, that `conn` closes a cycle."""
    return _scratch_with(layers, [conn.source, conn.target], [Connection(conn.target, conn.source)])


def _is_acyclic(nodes: dict[str, Any], edges: list[Connection]) -> bool:
    indegree = dict.fromkeys(nodes, 0)
    successors: dict[str, list[str]] = {n: [] for n in nodes}
    for c in edges:
        indegree[c.target] += 1
        successors[c.source].append(c.target)
    ready = [n for n, d in indegree.items() if d == 0]
    seen = 0
    while ready:
        node = ready.pop()
        seen += 1
        for nxt in successors[node]:
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                ready.append(nxt)
    return seen == len(nodes)


def first_cycle(nodes: dict[str, Any], edges: list[Connection]) -> int | None:
    """Index of the first edge that closes a cycle when the edges are added in order, or None.

    "Edges[:k] has a cycle" only turns from false to true as k grows, so a binary search over prefixes
    finds it with O(log E) linear passes, where a search per edge would be quadratic.
    """
    if _is_acyclic(nodes, edges):
        return None
    lo, hi = 0, len(edges) - 1  # edges[:hi + 1] has a cycle; edges[:lo] has none
    while lo < hi:
        mid = (lo + hi) // 2
        if _is_acyclic(nodes, edges[:mid + 1]):
            lo = mid + 1
        else:
            hi = mid
    return lo


# ---- settings and budget -----------------------------------------------------------------------------

def _apply_settings(design: Design, section: str, values: dict[str, Any], setter: Any, spec_type: type) -> None:
    known = [f.name for f in fields(spec_type)]
    for key, value in values.items():
        path = json_path((section, key))
        if key not in known:  # checked here too: a key like "self" must not reach setter(**{key: ...})
            raise FormatError(f"unknown setting (known: {', '.join(known)})", path=path)
        try:
            setter(**{key: value})
        except DesignError as exc:
            message = str(exc)
            raise FormatError(message.removeprefix(f"{key}: "), path=path) from None


def check_parameter_budget(design: Design, limits: Limits) -> None:
    """Refuse a design whose float32 weights alone would exceed the limit — counted, never allocated."""
    counts = infer(design).params
    total = sum(counts.values())
    if not limits.params_over_budget(total):
        return
    biggest = max(counts, key=counts.__getitem__)
    layer = design.layers[biggest]
    gigabytes = total * FLOAT32_BYTES / 1e9
    raise FormatError(
        f"the weights would need {gigabytes:,.1f} GB (float32); the limit is {limits.max_params_gb:g} GB "
        f"({format_count(total)} parameters; the largest layer, {layer.type} '{layer.name}', has "
        f"{format_count(counts[biggest])})",
        path=json_path(("layers", list(design.layers).index(biggest))))

