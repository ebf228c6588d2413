"""Shape inference over the whole DAG: every layer's output shape, parameter count and diagnostics.

It never raises for a bad graph; it reports. Messages name the layer and say what is wrong in words a
learner understands. Pure Python integers, so a hostile 10⁹×10⁹ Dense layer costs nothing to check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .catalogue import LAYER_TYPES, Shape, ShapeProblem, fmt_shape
from .document import Design

Severity = Literal["error", "warning"]
# The same budget the file loader applies by default (nnstudio.io.Limits.max_params_gb = 8).
MAX_WEIGHT_BYTES = 8 * 10**9


@dataclass(frozen=True)
class Diagnostic:
    layer_id: str | None
    severity: Severity
    message: str
    # True when the layer refuses what flows into it (its type's shape rule fails for these input shapes
    # whatever its own settings): the problem belongs on the incoming connections as much as on the layer.
    refused_input: bool = False

    def __str__(self) -> str:
        return self.message


@dataclass
class InferenceResult:
    shapes: dict[str, Shape | None] = field(default_factory=dict)
    input_shapes: dict[str, list[Shape]] = field(default_factory=dict)
    params: dict[str, int] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    order: list[str] = field(default_factory=list)  # a topological order of the acyclic part

    @property
    def total_params(self) -> int:
        return sum(self.params.values())

    @property
    def ok(self) -> bool:
        return not any(d.severity == "error" for d in self.diagnostics)

    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    def for_layer(self, layer_id: str) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.layer_id == layer_id]

    def refuses_inputs(self, layer_id: str) -> bool:
        """True when the layer's error comes from what flows into it rather than from its own settings."""
        return any(d.refused_input for d in self.diagnostics if d.layer_id == layer_id)


def _label(design: Design, layer_id: str) -> str:
    layer = design.layers[layer_id]
    return f"{layer.type} '{layer.name}'"


def topological_order(design: Design) -> tuple[list[str], set[str]]:
    """Kahn's algorithm in document order; returns (order, ids on or behind a cycle)."""
    indegree = {lid: 0 for lid in design.layers}
    succ: dict[str, list[str]] = {lid: [] for lid in design.layers}
    for c in design.connections:
        if c.source in indegree and c.target in indegree:
            indegree[c.target] += 1
            succ[c.source].append(c.target)
    ready = [lid for lid, d in indegree.items() if d == 0]
    order: list[str] = []
    while ready:
        lid = ready.pop(0)
        order.append(lid)
        for nxt in succ[lid]:
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                ready.append(nxt)
    stuck = set(design.layers) - set(order)
    return order, stuck


def infer(design: Design) -> InferenceResult:
    result = InferenceResult()
    diags = result.diagnostics
    order, stuck = topological_order(design)
    result.order = order
    if stuck:
        names = ", ".join(sorted(f"'{design.layers[i].name}'" for i in stuck))
        for lid in sorted(stuck):
            diags.append(Diagnostic(lid, "error", f"{_label(design, lid)} is part of (or fed by) a cycle "
                                    f"among {names}: a network must flow one way"))
            result.shapes[lid] = None

    inputs = [lid for lid in design.layers if design.layers[lid].type == "Input"]
    outputs = [lid for lid in design.layers if design.layers[lid].type == "Output"]
    if not inputs:
        diags.append(Diagnostic(None, "error", "the design has no Input layer: add one where data enters"))
    for lid in inputs[1:]:
        diags.append(Diagnostic(lid, "error", f"{_label(design, lid)}: a design has exactly one Input; "
                                f"branch from '{design.layers[inputs[0]].name}' instead"))
    if not outputs:
        diags.append(Diagnostic(None, "error", "the design has no Output layer: add one to make predictions"))
    elif len(outputs) > 1:
        for lid in outputs[1:]:
            diags.append(Diagnostic(lid, "error", f"{_label(design, lid)}: a design has exactly one Output; "
                                    f"remove this one or '{design.layers[outputs[0]].name}'"))

    preds: dict[str, list[str]] = {lid: [] for lid in design.layers}
    for c in design.connections:
        if c.target in preds:
            preds[c.target].append(c.source)
    for lid in order:
        layer = design.layers[lid]
        ltype = LAYER_TYPES.get(layer.type)
        label = _label(design, lid)
        sources = preds[lid]
        if ltype is None:  # only possible for documents built by hand, never through edit operations
            diags.append(Diagnostic(lid, "error", f"{label} has an unknown type"))
            result.shapes[lid] = None
            continue
        if len(sources) < ltype.min_inputs:
            if not sources:
                msg = f"{label} has no input: connect a layer to it"
            else:
                msg = f"{label} joins only {len(sources)} input; it needs at least {ltype.min_inputs}"
            diags.append(Diagnostic(lid, "error", msg))
            result.shapes[lid] = None
            continue
        in_shapes = [result.shapes.get(s) for s in sources]
        if any(s is None for s in in_shapes):
            result.shapes[lid] = None  # the problem is reported upstream
            continue
        result.input_shapes[lid] = in_shapes  # type: ignore[assignment]
        try:
            shape = ltype.shape_rule(label, in_shapes, layer.params)  # type: ignore[arg-type]
        except ShapeProblem as exc:
            diags.append(Diagnostic(lid, "error", str(exc), refused_input=ltype.refuses_inputs(in_shapes)))
            result.shapes[lid] = None
            continue
        except (KeyError, TypeError, ValueError, ZeroDivisionError):
            diags.append(Diagnostic(lid, "error", f"{label} has parameters that do not fit together"))
            result.shapes[lid] = None
            continue
        if any(d <= 0 for d in shape):
            diags.append(Diagnostic(lid, "error", f"{label} would output an empty {fmt_shape(shape)} tensor: "
                                    "its input is too small for its settings"))
            result.shapes[lid] = None
            continue
        result.shapes[lid] = shape
        result.params[lid] = ltype.param_count(in_shapes, layer.params)  # type: ignore[arg-type]

    # Layers that lead nowhere (their output is unused) train nothing useful: warn.
    if outputs:
        reaches_output = set(outputs)
        frontier = list(outputs)
        while frontier:
            for src in preds[frontier.pop()]:
                if src not in reaches_output:
                    reaches_output.add(src)
                    frontier.append(src)
        for lid in design.layers:
            if lid not in reaches_output and lid not in stuck:
                diags.append(Diagnostic(lid, "warning", f"{_label(design, lid)} is not connected to the Output: "
                                        "it will not be trained"))
    if result.total_params * 4 > MAX_WEIGHT_BYTES:
        gb = result.total_params * 4 / 1e9
        diags.append(Diagnostic(None, "error", f"the weights would need {gb:,.1f} GB (float32), more than the "
                                f"{MAX_WEIGHT_BYTES / 1e9:g} GB a design may use: make the largest layers smaller"))
    diags.sort(key=lambda d: (d.severity != "error",))
    return result


def format_count(n: int) -> str:
    """12345 → '12,345'; the catalogue counts can be huge for hostile designs."""
    return f"{n:,}"
