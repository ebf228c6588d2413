"""`nnstudio lr-find DESIGN`: Smith's learning-rate range test from the shell, with a suggested rate.

Prints the curve as a short table and the suggestions; `--json OUT` writes the whole curve. Exit codes:
0 done, 1 the test failed, 2 the design or its data cannot be used (one line, no traceback).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from nnstudio.core.errors import NNStudioError

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
PROG = "nnstudio lr-find"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="DESIGN", help="a .nnstudio design (its own initial weights are used)")
    parser.add_argument("--from", dest="checkpoint", metavar="CKPT",
                        help="start from a checkpoint's weights instead of the design's initial ones")
    parser.add_argument("--start", type=float, default=1e-6, help="first learning rate (default 1e-6)")
    parser.add_argument("--end", type=float, default=10.0, help="last learning rate (default 10)")
    parser.add_argument("--iterations", type=int, metavar="N",
                        help="optimizer steps of the sweep (default: about 40 epochs of a small set, 100-1000)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N, mps or auto (default cpu)")
    parser.add_argument("--json", metavar="OUT", help="write the curve and the suggestions as JSON")


def main(args: argparse.Namespace) -> int:
    out, err = sys.stdout, sys.stderr

    def fail(code: int, message: str) -> int:
        print(f"{PROG}: {message}", file=err)
        return code

    if not (math.isfinite(args.start) and math.isfinite(args.end) and 0 < args.start < args.end):
        return fail(EXIT_BAD_INPUT, f"--start and --end must satisfy 0 < start < end, not {args.start:g}, {args.end:g}")
    if args.iterations is not None and not 5 <= args.iterations <= 100_000:
        return fail(EXIT_BAD_INPUT, f"--iterations must be 5 to 100000, not {args.iterations}")
    from nnstudio.core.errors import DataError, DesignError, FormatError
    from nnstudio.io import load_design

    path = Path(args.file)
    try:
        design = load_design(path)
        weights = None
        if args.checkpoint:
            from nnstudio.ml.checkpoint import load_checkpoint

            checkpoint = load_checkpoint(args.checkpoint)
            weights = {k: v.numpy() for k, v in checkpoint.state_dict.items()}
    except NNStudioError as exc:
        return fail(EXIT_BAD_INPUT, str(exc))
    from nnstudio.ml.lrfind import find_learning_rate

    try:
        result = find_learning_rate(design, weights=weights, base_dir=path.resolve().parent, device=args.device,
                                    iterations=args.iterations, start_lr=args.start, end_lr=args.end)
    except (DataError, DesignError, FormatError) as exc:
        return fail(EXIT_BAD_INPUT, str(exc))
    except NNStudioError as exc:
        return fail(EXIT_FAILED, str(exc))
    n = len(result.learning_rates)
    print(f"{'learning rate':>14}  {'smoothed loss':>13}", file=out)
    for i in sorted({int(round(k * (n - 1) / 12)) for k in range(13)} if n else ()):
        print(f"{result.learning_rates[i]:>14.3g}  {result.smoothed[i]:>13.5g}", file=out)
    ending = (f"stopped at {result.stopped_at:.3g}: the loss diverged" if result.diverged
              else f"reached {result.stopped_at:.3g}")
    print(f"{result.iterations} steps, {ending}", file=out)

    def fmt(v: float | None) -> str:
        return f"{v:.3g}" if v is not None else "none"

    print(f"lowest smoothed loss at {fmt(result.minimum_lr)}; steepest descent at {fmt(result.steepest)}; "
          f"valley at {fmt(result.valley)}", file=out)
    print(f"suggested learning rate: {fmt(result.suggestion)} ({result.suggested_by})", file=out)
    for note in result.notes:
        print(f"note: {note}", file=out)
    if args.json:
        from nnstudio.io.atomic import write_atomic

        try:
            data = result.to_json()
            data["design"] = str(path)
            write_atomic(Path(args.json), (json.dumps(data, indent=1) + "\n").encode("utf-8"))
        except NNStudioError as exc:
            return fail(EXIT_FAILED, str(exc))
    return EXIT_OK
