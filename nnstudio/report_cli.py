"""`nnstudio report CKPT -o report.html`: one self-contained HTML report about a trained checkpoint.

Exit codes follow the other verbs: 0 written, 2 the checkpoint or its data cannot be used (one line on
stderr, no traceback), 1 the report could not be written.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from nnstudio.core.errors import NNStudioError, SaveError

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
PROG = "nnstudio report"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="a checkpoint (.safetensors) saved by NN Studio")
    parser.add_argument("-o", "--output", required=True, help="the HTML file to write")
    parser.add_argument("--data-dir", metavar="DIR",
                        help="folder the design's CSV/NPZ paths are relative to (default: the checkpoint's folder)")
    parser.add_argument("--no-diagram", action="store_true", help="leave the design diagram out (needs no Qt)")


def diagram_svg(design) -> str | None:
    """The design's diagram as SVG text, drawn offscreen with the window's own canvas code."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from nnstudio.gui.cnn.report_action import design_svg_text

    return design_svg_text(design)


def write_report(checkpoint_path: str | Path, output: str | Path, *, data_dir: str | Path | None = None,
                 diagram: bool = True) -> None:
    """Load, compute and write the report (atomically); NNStudioError for unusable input."""
    from nnstudio.data import load_dataset
    from nnstudio.io.atomic import write_atomic
    from nnstudio.ml.checkpoint import load_checkpoint
    from nnstudio.ml.report import collect_report, render_html

    checkpoint = load_checkpoint(checkpoint_path)
    base = Path(data_dir) if data_dir else Path(checkpoint_path).resolve().parent
    dataset = load_dataset(checkpoint.design.dataset, base_dir=base)
    data = collect_report(checkpoint, dataset)
    svg = diagram_svg(checkpoint.design) if diagram else None
    write_atomic(output, render_html(data, svg).encode("utf-8"))


def main(args: argparse.Namespace) -> int:
    try:
        write_report(args.checkpoint, args.output, data_dir=args.data_dir, diagram=not args.no_diagram)
    except SaveError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except NNStudioError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"wrote {args.output}")
    return EXIT_OK
