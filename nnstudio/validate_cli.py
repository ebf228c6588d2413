"""`nnstudio validate FILE`: a per-layer table of shapes and parameters, then the design's problems."""

from __future__ import annotations

import sys
from pathlib import Path

from nnstudio.core.catalogue import fmt_shape, layer_activation
from nnstudio.core.inference import infer
from nnstudio.core.recipe_text import design_output_and_loss
from nnstudio.core.text import shown
from nnstudio.data import dataset_diagnostics
from nnstudio.data.path_policy import outside_notice
from nnstudio.io import load_design

from .cli_output import console_for, styled, table


def validate(path: str) -> int:
    design = load_design(path)
    result = infer(design)
    # Only a design whose layers are sound is checked against its data; the layer problems come first.
    if result.ok:
        notice = outside_notice(design.dataset, Path(path).resolve().parent)
        if notice:
            print(f"nnstudio validate: {notice}", file=sys.stderr)  # shown before the file is read
        result.diagnostics.extend(dataset_diagnostics(design, Path(path).resolve().parent))
    console = console_for(sys.stdout)
    rows = []
    for lid, layer in design.layers.items():
        act = layer_activation(layer.type, layer.params, design.training.recipe)
        bad = any(d.severity == "error" for d in result.for_layer(lid))
        kind = f"{layer.type} ({act})" if act and act != "identity" else layer.type
        params = f"{result.params[lid]:,}" if lid in result.params else "-"
        name = styled(f"{shown(layer.name, None)} !" if bad else shown(layer.name, None), "bold red" if bad else "")
        rows.append((name, kind, fmt_shape(result.shapes.get(lid)), params))
    console.print(styled(f"{shown(design.name, None)} — {shown(path, None)}", "bold"))
    console.print(table([("name", "left"), ("type", "left"), ("output shape", "left"), ("parameters", "right")],
                        rows))
    console.print(f"total parameters: {result.total_params:,}")
    trained_as = design_output_and_loss(design)
    if trained_as is not None:
        console.print(f"trains as: {trained_as}")
    errors = [d for d in result.diagnostics if d.severity == "error"]
    warnings = [d for d in result.diagnostics if d.severity == "warning"]
    for d in result.diagnostics:
        console.print(styled(f"{d.severity}: {shown(d.message, None)}", "red" if d.severity == "error" else "yellow"))
    if errors:
        console.print(styled(f"invalid: {len(errors)} error(s), {len(warnings)} warning(s)", "bold red"))
        return 1
    console.print(styled("valid" + (f" ({len(warnings)} warning(s))" if warnings else ""), "bold green"))
    return 0
