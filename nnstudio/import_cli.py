"""`nnstudio import MODEL.onnx|MODEL.pt2 -o DESIGN.nnstudio`: a model from elsewhere becomes a design + weights."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# Layout steps of the window's default block style (gui/blockstyle.py at a 9 pt font), so a design written
# here opens laid out; the window's Auto Layout (Ctrl+L) re-spaces it for the font in use.
COLUMN_STEP, ROW_STEP = 250.0, 110.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="an ONNX file (.onnx) or a torch.export program (.pt2)")
    parser.add_argument("-o", "--output", required=True, help="the design to write (DESIGN.nnstudio); the "
                        "weights go beside it as DESIGN.safetensors")
    parser.add_argument("--prefix", action="store_true",
                        help="if some nodes have no NN Studio layer, import the part before them (ended in "
                        "a fresh Output head) instead of failing")


def lay_out(design) -> None:  # noqa: ANN001 - a core Design
    """Place the layers with the window's auto-layout (columns by depth)."""
    from nnstudio.gui.canvas.layout import layered_layout  # Qt-free: it imports only core

    for layer_id, position in layered_layout(design, COLUMN_STEP, ROW_STEP).items():
        design.move(layer_id, position)


def main(args: argparse.Namespace) -> int:
    """Import, lay out, write the design and its checkpoint; print the report. User errors raise
    NNStudioError (the CLI prints one line per unsupported node and exits 2); nothing is written then."""
    from nnstudio.ml.importers import import_model
    from nnstudio.ml.importers.files import save_imported

    output = Path(args.output)
    if output.suffix.lower() != ".nnstudio":
        output = output.with_name(output.name + ".nnstudio")
    imported = import_model(args.model, prefix=args.prefix)
    lay_out(imported.design)
    design_path, checkpoint_path = save_imported(imported, output)
    for line in imported.report.lines():
        print(line, file=sys.stderr if line.startswith("unsupported") else sys.stdout)
    print(f"wrote {design_path} and {checkpoint_path} (the imported weights: open it with File ▸ Open "
          f"Checkpoint, or nnstudio train {design_path} --resume {checkpoint_path})")
    return 0
