"""ONNX graph → design + weights: each node is mapped through the import entry of the layer-type registry.

Nodes are visited in topological order. For each, the registry entries that list its op type try their
converter; the first that applies gives a layer draft (type, parameters, weights, nodes it takes over).
An activation right after a Dense or convolution is folded into that layer; the last dense layer becomes
the Output. A node nothing maps is reported with its name, op type and the converters' reasons; the import
then fails whole, or with `prefix=True` keeps what does not depend on such a node and ends it in a fresh
Output head. Layer names come from the exporter's module names or the node names, made valid and unique.
"""

from __future__ import annotations

import keyword
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from nnstudio.core.catalogue import LAYER_TYPES, Shape, ShapeProblem
from nnstudio.core.document import NAME_RE, RESERVED_NAMES, Design
from nnstudio.core.errors import NNStudioError
from nnstudio.core.inference import infer
from nnstudio.ml.builder import build_model
from nnstudio.ml.import_map import (
    IMPORT_OPS,
    NNSTUDIO_ACTIVATION_CLASS,
    PASSTHROUGH_ONNX,
    LayerDraft,
    NotMapped,
    OnnxNode,
)

from .onnx_file import OnnxGraph, read_onnx
from .report import ImportReport, ModelImportError, Unsupported

# Names generated model.py uses itself (ml/codegen.py refuses them as layer names).
CODE_NAMES = frozenset({"x", "self", "torch", "nn", "F"})
DESIGN_METADATA_KEY = "nnstudio.design"  # what NN Studio's own ONNX export stores (ml/export.py)


@dataclass
class ImportedModel:
    """An imported design, the state_dict its model loads strictly, and the report."""

    design: Design
    state_dict: dict[str, torch.Tensor]
    report: ImportReport


@dataclass
class _Entry:
    draft: LayerDraft
    name: str
    sources: list[int]
    shape: Shape
    value: str  # the graph value that holds this layer's output
    node: OnnxNode | None = None
    fresh: bool = False  # added by the importer (no weights from the file)


@dataclass
class _Site:
    """`import_map.OnnxSite` for one node."""

    node: OnnxNode
    in_shape: Shape
    task_hint: str | None
    graph: OnnxGraph
    users: dict[str, list[OnnxNode]] = field(repr=False)

    def const(self, value: str) -> np.ndarray | None:
        return self.graph.const(value)

    def consumers(self, value: str) -> list[OnnxNode]:
        return list(self.users.get(value, ()))

    def is_graph_output(self, value: str) -> bool:
        return value in self.graph.outputs


def _candidates(op_type: str) -> list[str]:
    """Layer types whose registry entry lists this op type, the ones it identifies first."""
    first = [t for t in IMPORT_OPS if IMPORT_OPS[t].from_onnx and IMPORT_OPS[t].onnx[:1] == (op_type,)]
    rest = [t for t in IMPORT_OPS if IMPORT_OPS[t].from_onnx and op_type in IMPORT_OPS[t].onnx[1:]]
    return first + [t for t in rest if t not in first]


def import_onnx(path: str | os.PathLike[str], *, prefix: bool = False, name: str | None = None) -> ImportedModel:
    """Import an ONNX file; ModelImportError (with the report) if any node has no NN Studio layer and
    `prefix` is off, or if the file is malformed or hostile."""
    graph = read_onnx(path)
    return import_graph(graph, Path(path).name, prefix=prefix, name=name or Path(path).stem)


def import_graph(graph: OnnxGraph, source: str, *, prefix: bool = False, name: str = "Imported model") -> ImportedModel:
    report = ImportReport(source)
    design = Design(name[:200] or "Imported model", f"Imported from {source[:200]}")
    hint = _nnstudio_design(graph, design)
    if len(graph.inputs) != 1:
        raise ModelImportError(f"{source} takes {len(graph.inputs)} inputs: NN Studio designs take one")
    if len(graph.outputs) != 1:
        raise ModelImportError(f"{source} has {len(graph.outputs)} outputs: NN Studio designs have one")
    input_name, dims = graph.inputs[0]
    entries = [_input_entry(source, input_name, dims)]
    owner: dict[str, int] = {input_name: 0}
    users: dict[str, list[OnnxNode]] = {}
    for node in graph.nodes:
        for value in node.inputs:
            users.setdefault(value, []).append(node)
    absorbed: set[int] = set()
    failed: set[str] = set()
    for node in graph.nodes:
        if id(node) in absorbed or node.op_type == "Constant":
            continue
        tensors = [v for v in node.inputs if v and not graph.is_const(v)]
        if any(v in failed or v not in owner for v in tensors):
            failed.update(node.outputs)  # downstream of an unsupported node: reported once, at its cause
            continue
        if not tensors:
            report.unsupported.append(Unsupported(node.name, node.op_type, "it reads no tensor of the model"))
            failed.update(node.outputs)
            continue
        if node.op_type in PASSTHROUGH_ONNX:
            owner[node.outputs[0]] = owner[tensors[0]]
            continue
        sources = [owner[v] for v in tensors]
        if len(set(sources)) < len(sources):
            report.unsupported.append(Unsupported(node.name, node.op_type, "it combines one layer's output with "
                                                  "itself: a design connects a layer to another once"))
            failed.update(node.outputs)
            continue
        site = _Site(node, entries[sources[0]].shape, hint, graph, users)
        draft, reasons = _convert(site)
        if draft is None:
            report.unsupported.append(Unsupported(node.name, node.op_type, reasons))
            failed.update(node.outputs)
            continue
        out = draft.output or node.outputs[0]
        if _fold(entries, sources, tensors, draft, node, users):
            owner[out] = sources[0]
            entries[sources[0]].value = out
            absorbed.update(id(n) for n in draft.absorbed)
            continue
        try:
            shape = LAYER_TYPES[draft.type].shape_rule(draft.type, [entries[s].shape for s in sources], draft.params)
        except (ShapeProblem, KeyError, TypeError, ValueError) as exc:
            report.unsupported.append(Unsupported(node.name, node.op_type, f"as {draft.type}: {exc}"))
            failed.update(node.outputs)
            continue
        taken = {e.name for e in entries}
        entries.append(_Entry(draft, _layer_name(node, draft, taken), sources, tuple(shape), out, node))
        owner[out] = len(entries) - 1
        absorbed.update(id(n) for n in draft.absorbed)
    _check_end(graph, entries, owner, failed, report)
    if report.unsupported and not prefix:
        raise ModelImportError(
            f"{source} cannot be imported: {len(report.unsupported)} node(s) have no NN Studio layer "
            "(nothing was written; import the supported part with --prefix)", report)
    if not any(e.draft.type == "Output" for e in entries):
        _add_head(entries, report)
    design_entries = _build_design(design, entries, report)
    state = _weights(design, design_entries, report)
    return ImportedModel(design, state, report)


def _convert(site: _Site) -> tuple[LayerDraft | None, str]:
    candidates = _candidates(site.node.op_type)
    if not candidates:
        return None, f"no NN Studio layer type maps the ONNX op {site.node.op_type}"
    reasons = []
    for type_name in candidates:
        try:
            return IMPORT_OPS[type_name].from_onnx(site), ""  # type: ignore[misc]
        except NotMapped as exc:
            reasons.append((type_name, str(exc)))
    unique = list(dict.fromkeys(reason for _, reason in reasons))
    if len(unique) == 1:
        return None, unique[0]
    return None, "; ".join(f"as {t}: {r}" for t, r in reasons)


def _fold(entries: list[_Entry], sources: list[int], tensors: list[str], draft: LayerDraft,
          node: OnnxNode, users: dict[str, list[OnnxNode]]) -> bool:
    """An Activation right after a layer that applies one (Dense, Conv) becomes that layer's activation,
    unless the producer's output is used elsewhere or the file says it was an Activation block."""
    if draft.type != "Activation" or len(sources) != 1 or NNSTUDIO_ACTIVATION_CLASS in node.classes:
        return False
    producer = entries[sources[0]]
    param = LAYER_TYPES[producer.draft.type].activation_param
    if param is None or producer.draft.params.get(param) != "identity" or producer.value != tensors[0]:
        return False
    own = {id(node)} | {id(n) for n in draft.absorbed}
    if any(id(n) not in own for n in users.get(tensors[0], ())):
        return False
    producer.draft.params[param] = draft.params["function"]
    return True


def _input_entry(source: str, name: str, dims: tuple[int | str | None, ...]) -> _Entry:
    sample = dims[1:]
    if not dims or not all(isinstance(d, int) and d > 0 for d in sample):
        raise ModelImportError(f"{source}: input '{name[:80]}' has shape {list(dims)}: NN Studio needs a batch "
                               "axis followed by fixed sizes")
    if len(sample) == 1:
        params = {"mode": "vector", "features": sample[0]}
    elif len(sample) == 3:
        params = {"mode": "image", "channels": sample[0], "height": sample[1], "width": sample[2]}
    else:
        raise ModelImportError(f"{source}: input '{name[:80]}' has shape {list(dims)}: NN Studio takes feature "
                               "vectors (batch, features) or images (batch, channels, height, width)")
    shape = LAYER_TYPES["Input"].shape_rule("Input", [], {**LAYER_TYPES["Input"].defaults(), **params})
    return _Entry(LayerDraft("Input", params), _clean_name(name, "input", set()), [], tuple(shape), name)


def _check_end(graph: OnnxGraph, entries: list[_Entry], owner: dict[str, int], failed: set[str],
               report: ImportReport) -> None:
    out = graph.outputs[0]
    if out in failed or out not in owner:
        return
    last = entries[owner[out]]
    if last.draft.type != "Output":
        node = last.node
        report.unsupported.append(Unsupported(
            node.name if node else out, node.op_type if node else "input",
            "the graph ends here, but a design ends in an Output layer: a dense layer, optionally followed "
            "by Softmax (multi-class) or Sigmoid (binary)"))


def _add_head(entries: list[_Entry], report: ImportReport) -> None:
    """End an imported prefix in a fresh Output (regression, one unit), flattening an image first."""
    last = len(entries) - 1
    taken = {e.name for e in entries}
    if len(entries[last].shape) != 1:
        flat = LayerDraft("Flatten", {})
        entries.append(_Entry(flat, _clean_name("flatten", "flatten", taken), [last],
                              (math.prod(entries[last].shape),), "", fresh=True))
        last += 1
        taken.add(entries[-1].name)
    head = LayerDraft("Output", {"task": "regression", "units": 1, "bias": True})
    entries.append(_Entry(head, _clean_name("output", "output", taken), [last], (1,), "", fresh=True))
    report.notes.append(f"the supported part ends in a new Output '{entries[-1].name}' (regression, 1 unit, "
                        "fresh weights): set its task and units in the inspector")


def _build_design(design: Design, entries: list[_Entry], report: ImportReport) -> list[tuple[_Entry, str]]:
    made: list[tuple[_Entry, str]] = []
    for entry in entries:
        try:
            layer = design.add_layer(entry.draft.type, entry.name, entry.draft.params)
            for source in entry.sources:
                design.connect(made[source][1], layer.id)
        except NNStudioError as exc:
            where = f"node '{entry.node.name}' ({entry.node.op_type})" if entry.node else f"layer '{entry.name}'"
            raise ModelImportError(f"{report.source}: {where} cannot become a layer: {exc}", report) from None
        made.append((entry, layer.id))
    result = infer(design)
    if result.errors():
        raise ModelImportError(f"{report.source}: the imported design is not valid: {result.errors()[0].message}",
                               report)
    report.layers = len(design.layers)
    report.parameters = result.total_params
    return made


def _weights(design: Design, made: list[tuple[_Entry, str]], report: ImportReport) -> dict[str, torch.Tensor]:
    """The state_dict of the design's model with the file's weights, checked name by name and shape by shape."""
    model = build_model(design)
    state = model.state_dict()
    for entry, _ in made:
        for suffix, array in entry.draft.weights.items():
            key = f"{entry.name}.{suffix}"
            if key not in state or tuple(state[key].shape) != tuple(array.shape):
                raise ModelImportError(f"{report.source}: weight {key} of shape {list(array.shape)} does not fit "
                                       "the imported design", report)
            state[key] = torch.from_numpy(np.array(array, dtype=np.float32))
    report.parameters = sum(p.numel() for p in model.parameters())
    return {k: v.clone() for k, v in state.items()}


_INVALID = re.compile(r"[^A-Za-z0-9_]+")


def _layer_name(node: OnnxNode, draft: LayerDraft, taken: set[str]) -> str:
    """From the exporter's module path (fc1, features.0), else the weight's name (fc1.weight), else the node."""
    raw = "_".join(node.scope) if node.scope else ""
    if not raw and len(node.inputs) > 1 and "." in node.inputs[1]:
        raw = node.inputs[1].rsplit(".", 1)[0]
    return _clean_name(raw or node.name, LAYER_TYPES[draft.type].prefix, taken)


def _clean_name(raw: str, prefix: str, taken: set[str]) -> str:
    name = _INVALID.sub("_", raw).strip("_")[:56]
    if not name or not (name[0].isalpha() or name[0] == "_"):
        name = f"{prefix}_{name}" if name else prefix
    if keyword.iskeyword(name) or name in RESERVED_NAMES or name in CODE_NAMES:
        name = f"{name}_layer"
    base, n = name, 1
    while name in taken or not NAME_RE.match(name):
        n += 1
        name = f"{base[:56]}_{n}"
    taken.add(name)
    return name


def _nnstudio_design(graph: OnnxGraph, design: Design) -> str | None:
    """NN Studio's own exports carry their design: take its dataset and training settings (so the imported
    model trains on the same data) and its Output task (the graph holds logits). The structure always
    comes from the graph."""
    text = graph.metadata.get(DESIGN_METADATA_KEY)
    if not text:
        return None
    try:
        from nnstudio.io import loads

        original = loads(text)
    except (NNStudioError, ValueError):
        return None
    design.dataset, design.training = original.dataset, original.training
    design.set_meta(name=original.name, description=original.description)
    tasks = [layer.params.get("task") for layer in original.layers.values() if layer.type == "Output"]
    return tasks[0] if len(tasks) == 1 else None
