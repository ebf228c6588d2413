"""Read an ONNX file defensively: sizes, tensor data and external-data paths are checked before allocating.

The protobuf is parsed only after the file size is capped; every initializer's element count comes from
its declared dims and is checked against the byte budget and its stored bytes before any array exists;
external data must be a file inside the model's folder; the node graph must be acyclic.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnstudio.io.limits import DEFAULT_LIMITS, Limits
from nnstudio.ml.import_map import OnnxNode

from .report import ModelImportError

MAX_ONNX_BYTES = 2**31  # protobuf's own limit; bigger weights live in external data
MAX_NODES = 200_000
# ONNX TensorProto data types the importer reads, with their numpy types.
_DTYPES = {1: np.float32, 10: np.float16, 11: np.float64, 6: np.int32, 7: np.int64, 9: np.bool_}
_FIELDS = {1: "float_data", 10: "int32_data", 11: "double_data", 6: "int32_data", 7: "int64_data", 9: "int32_data"}


@dataclass
class OnnxGraph:
    """The parts of an ONNX model the importer uses; tensors are decoded on demand."""

    nodes: list[OnnxNode]  # in topological order
    inputs: list[tuple[str, tuple[int | str | None, ...]]]  # graph inputs that are not initializers
    outputs: list[str]
    metadata: dict[str, str]
    _tensors: dict[str, Any]  # name -> TensorProto (initializers and Constant values)
    _folder: Path
    _cache: dict[str, np.ndarray]

    def const(self, name: str) -> np.ndarray | None:
        if name in self._cache:
            return self._cache[name]
        proto = self._tensors.get(name)
        if proto is None:
            return None
        value = _decode(proto, self._folder)
        self._cache[name] = value
        return value

    def load_all(self) -> None:
        for name in self._tensors:
            self.const(name)

    def is_const(self, name: str) -> bool:
        return name in self._tensors


def read_onnx(path: str | os.PathLike[str], limits: Limits = DEFAULT_LIMITS) -> OnnxGraph:
    """Parse and check an ONNX file; ModelImportError (one line naming the problem) if it is refused."""
    shown = os.fspath(path)
    try:
        size = os.path.getsize(shown)
        if size > MAX_ONNX_BYTES:
            raise ModelImportError(f"{shown} is {size:,} bytes, over ONNX's 2 GB limit for one file")
        with open(shown, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise ModelImportError(f"could not read {shown}: {exc.strerror or exc}") from None
    try:
        from onnx import ModelProto, helper
    except ImportError:
        raise ModelImportError("importing ONNX needs the onnx package: pip install onnx") from None
    model = ModelProto()
    try:
        model.ParseFromString(data)
    except Exception as exc:  # noqa: BLE001 - protobuf's DecodeError and friends
        raise ModelImportError(f"{shown} is not an ONNX model (truncated or corrupted): {exc}") from None
    del data
    graph = model.graph
    if not graph.node:
        raise ModelImportError(f"{shown} holds no ONNX graph (no nodes)")
    if len(graph.node) > MAX_NODES:
        raise ModelImportError(f"{shown} has {len(graph.node):,} nodes, more than {MAX_NODES:,}")
    folder = Path(os.path.realpath(shown)).parent
    tensors: dict[str, Any] = {}
    budget = int(limits.max_params_gb * 1e9)
    used = 0
    for proto in graph.initializer:
        used += _check_tensor(proto, f"initializer '{proto.name[:80]}'", folder)
        tensors[proto.name] = proto
    nodes: list[OnnxNode] = []
    for index, node in enumerate(graph.node):
        name = node.name or f"{node.op_type}_{index}"
        attrs: dict[str, Any] = {}
        for attr in node.attribute:
            if attr.name == "value" and node.op_type == "Constant" and attr.type == attr.TENSOR:
                used += _check_tensor(attr.t, f"node '{name[:80]}' (Constant)", folder)
                if node.output:
                    tensors[node.output[0]] = attr.t
                continue
            if attr.type in (attr.GRAPH, attr.GRAPHS, attr.TENSOR, attr.TENSORS, attr.SPARSE_TENSOR):
                attrs[attr.name] = "<subgraph or tensor>"
                continue
            value = helper.get_attribute_value(attr)
            attrs[attr.name] = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        meta = {p.key: p.value for p in node.metadata_props}
        nodes.append(OnnxNode(node.op_type, name, tuple(node.input), tuple(node.output), attrs,
                              _scope(meta), _classes(meta)))
        if used > budget:
            break
    if used > budget:
        raise ModelImportError(f"{shown}'s tensors need {used / 1e9:.1f} GB, more than the "
                               f"{limits.max_params_gb:g} GB NN Studio allows")
    inputs = [(i.name, _dims(i)) for i in graph.input if i.name not in tensors]
    ordered = _topological(nodes, set(tensors) | {name for name, _ in inputs}, shown)
    metadata = {p.key: p.value for p in model.metadata_props}
    return OnnxGraph(ordered, inputs, [o.name for o in graph.output], metadata, tensors, folder, {})


def _scope(meta: dict[str, str]) -> tuple[str, ...]:
    """The module path of a node from torch's exporter metadata: name_scopes "['', 'fc1', 'linear']"."""
    text = meta.get("pkg.torch.onnx.name_scopes", "")
    parts = [p.strip().strip("'\"") for p in text.strip("[]").split(",")] if text else []
    return tuple(p for p in parts[1:-1] if p)


def _classes(meta: dict[str, str]) -> tuple[str, ...]:
    text = meta.get("pkg.torch.onnx.class_hierarchy", "")
    return tuple(p.strip().strip("'\"") for p in text.strip("[]").split(",") if p.strip())


def _dims(value_info: Any) -> tuple[int | str | None, ...]:
    shape = value_info.type.tensor_type.shape
    return tuple(d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in shape.dim)


def _numel(proto: Any, what: str) -> int:
    if any(d < 0 for d in proto.dims):
        raise ModelImportError(f"{what} has a negative dimension {list(proto.dims)}")
    if len(proto.dims) > 8:
        raise ModelImportError(f"{what} has {len(proto.dims)} dimensions")
    return math.prod(proto.dims)


def _check_tensor(proto: Any, what: str, folder: Path) -> int:
    """Bytes the tensor will take; refuses sizes that do not match its stored data, and external data
    outside the model's folder. Nothing is allocated."""
    numel = _numel(proto, what)
    dtype = _DTYPES.get(proto.data_type)
    itemsize = np.dtype(dtype).itemsize if dtype is not None else 4
    nbytes = numel * itemsize
    if proto.data_location == proto.EXTERNAL:
        info = {e.key: e.value for e in proto.external_data}
        location = info.get("location", "")
        target = _external_path(location, folder, what)
        offset, length = int(info.get("offset", 0) or 0), int(info.get("length", nbytes) or nbytes)
        if length != nbytes:
            raise ModelImportError(f"{what}: its external data holds {length:,} bytes, its shape needs {nbytes:,}")
        if offset < 0 or target.stat().st_size < offset + length:
            raise ModelImportError(f"{what}: {location} is too short for its data (truncated?)")
        return nbytes
    if dtype is None:
        return nbytes  # refused later if the importer needs its value
    if proto.raw_data:
        if len(proto.raw_data) != nbytes:
            raise ModelImportError(f"{what} declares {list(proto.dims)} ({nbytes:,} bytes) but stores "
                                   f"{len(proto.raw_data):,} bytes")
    else:
        stored = len(getattr(proto, _FIELDS[proto.data_type]))
        if stored != numel:
            raise ModelImportError(f"{what} declares {numel:,} values but stores {stored:,}")
    return nbytes


def _external_path(location: str, folder: Path, what: str) -> Path:
    if not location or os.path.isabs(location) or "\x00" in location:
        raise ModelImportError(f"{what}: external data path {location!r:.80} must be a file beside the model")
    target = Path(os.path.realpath(folder / location))
    if folder not in target.parents:
        raise ModelImportError(f"{what}: external data path {location!r:.80} points outside the model's folder")
    if not target.is_file():
        raise ModelImportError(f"{what}: external data file {location!r:.80} is missing")
    return target


def _decode(proto: Any, folder: Path) -> np.ndarray:
    dtype = _DTYPES.get(proto.data_type)
    if dtype is None:
        raise ModelImportError(f"tensor '{proto.name[:80]}' has ONNX data type {proto.data_type}, "
                               "which NN Studio does not read")
    shape = tuple(proto.dims)
    if proto.data_location == proto.EXTERNAL:
        info = {e.key: e.value for e in proto.external_data}
        target = _external_path(info.get("location", ""), folder, f"tensor '{proto.name[:80]}'")
        count = math.prod(shape)
        with open(target, "rb") as handle:
            handle.seek(int(info.get("offset", 0) or 0))
            raw = handle.read(count * np.dtype(dtype).itemsize)
        return np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<")).reshape(shape).astype(dtype)
    if proto.raw_data:
        return np.frombuffer(proto.raw_data, dtype=np.dtype(dtype).newbyteorder("<")).reshape(shape).astype(dtype)
    values = getattr(proto, _FIELDS[proto.data_type])
    if proto.data_type == 10:  # float16 is stored as its bit patterns in int32_data
        return np.asarray(values, dtype=np.uint16).view(np.float16).reshape(shape)
    return np.asarray(values, dtype=dtype).reshape(shape)


def _topological(nodes: list[OnnxNode], available: set[str], shown: str) -> list[OnnxNode]:
    """Kahn's order of the nodes; ModelImportError naming a node on a cycle (or reading a missing value)."""
    producer: dict[str, int] = {}
    for i, node in enumerate(nodes):
        for out in node.outputs:
            if out:
                producer[out] = i
    waiting = [0] * len(nodes)
    users: dict[int, list[int]] = {}
    for i, node in enumerate(nodes):
        for value in node.inputs:
            if not value or value in available and value not in producer:
                continue
            if value not in producer:
                raise ModelImportError(f"{shown}: node '{node.name}' ({node.op_type}) reads '{value[:80]}', "
                                       "which nothing produces")
            waiting[i] += 1
            users.setdefault(producer[value], []).append(i)
    ready = [i for i, n in enumerate(waiting) if n == 0]
    order: list[int] = []
    while ready:
        i = ready.pop()
        order.append(i)
        for j in users.get(i, ()):
            waiting[j] -= 1
            if waiting[j] == 0:
                ready.append(j)
    if len(order) != len(nodes):
        stuck = next(n for i, n in enumerate(nodes) if waiting[i] > 0)
        raise ModelImportError(f"{shown}: the graph has a cycle through node '{stuck.name}' ({stuck.op_type})")
    return _stable(nodes, range(len(nodes)), producer)


def _stable(nodes: list[OnnxNode], order: range, producer: dict[str, int]) -> list[OnnxNode]:
    """A topological order that stays as close to the file's order as possible."""
    placed: set[int] = set()
    result: list[OnnxNode] = []

    def place(i: int) -> None:
        stack = [(i, False)]
        while stack:
            j, expanded = stack.pop()
            if j in placed:
                continue
            if expanded:
                placed.add(j)
                result.append(nodes[j])
                continue
            stack.append((j, True))
            for value in nodes[j].inputs:
                k = producer.get(value)
                if k is not None and k not in placed:
                    stack.append((k, False))

    for i in order:
        place(i)
    return result
