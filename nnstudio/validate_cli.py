"""`nnstudio validate FILE`: a per-layer table of shapes and parameters, then the design's problems."""

from __future__ import annotations

import sys
from pathlib import Path

from nnstudio.core.catalogue import fmt_shape, layer_activation
from nnstudio.core.inference import infer
from nnstudio.core.text import shown
from nnstudio.data import dataset_diagnostics
from nnstudio.data.path_policy import outside_notice
from nnstudio.io import load_design


def validate(path: str) -> int:
    design = load_design(path)
    result = infer(design)
    # Only a design whose layers are sound is checked against its data; the layer problems come first.
    if result.ok:
        notice = outside_notice(design.dataset, Path(path).resolve().parent)
        if notice:
            print(f"nnstudio validate: {notice}", file=sys.stderr)  # shown before the file is read
        result.diagnostics.extend(dataset_diagnostics(design, Path(path).resolve().parent))
    rows = [("name", "type", "output shape", "parameters", "")]
    for lid, layer in design.layers.items():
        act = layer_activation(layer.type, layer.params)
        mark = "!" if any(d.severity == "error" for d in result.for_layer(lid)) else ""
        kind = f"{layer.type} ({act})" if act and act != "identity" else layer.type
        params = f"{result.params[lid]:,}" if lid in result.params else "-"
        rows.append((layer.name, kind, fmt_shape(result.shapes.get(lid)), params, mark))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    out = sys.stdout
    print(f"{shown(design.name, None)} — {shown(path, None)}", file=out)
    for i, row in enumerate(rows):
        line = "  ".join([row[0].ljust(widths[0]), row[1].ljust(widths[1]), row[2].ljust(widths[2]),
                          row[3].rjust(widths[3]), row[4]])
        print(line.rstrip(), file=out)
        if i == 0:
            print("  ".join("-" * w for w in widths), file=out)
    print(f"total parameters: {result.total_params:,}", file=out)
    errors = [d for d in result.diagnostics if d.severity == "error"]
    warnings = [d for d in result.diagnostics if d.severity == "warning"]
    for d in result.diagnostics:
        print(f"{d.severity}: {shown(d.message, None)}", file=out)
    if errors:
        print(f"invalid: {len(errors)} error(s), {len(warnings)} warning(s)", file=out)
        return 1
    print("valid" + (f" ({len(warnings)} warning(s))" if warnings else ""), file=out)
    return 0
