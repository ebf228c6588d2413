"""`nnstudio sweep DESIGN --set KEY=V1,V2 ...`: train every combination into the run store, then a results table.

Exit codes: 0 every run finished, 1 some run failed or stopped, 2 the design or a --set cannot be used,
130 interrupted (finished runs stay stored; the interrupted one is marked when the store is next opened).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from nnstudio.core.errors import NNStudioError

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
PROG = "nnstudio sweep"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="DESIGN", help="a .nnstudio design")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=V1,V2",
                        help="a setting and its values, e.g. training.learning_rate=0.01,0.03,0.1 or "
                        "layers.hidden1.units=2,4,8 (repeat --set for a grid of two or more)")
    parser.add_argument("--repeats", type=int, default=1, metavar="N",
                        help="train each combination N times with seeds seed, seed+1, ... (default 1)")
    parser.add_argument("--jobs", type=int, default=1, metavar="N",
                        help="worker processes training at once (default 1: one after another)")
    parser.add_argument("--epochs", type=int, metavar="N", help="epochs per run (default: the design's)")
    parser.add_argument("--store", metavar="PATH",
                        help="the run store file (default: nnstudio-runs/runs.sqlite beside the design)")


def store_path(args: argparse.Namespace) -> Path:
    from nnstudio.runs import store_path_for

    return Path(args.store) if args.store else store_path_for(args.file)


def main(args: argparse.Namespace) -> int:
    from nnstudio.ml.sweep import parse_set, run_sweep

    def fail(code: int, message: str) -> int:
        print(f"{PROG}: {message}", file=sys.stderr)
        return code

    if not args.sets:
        return fail(EXIT_BAD_INPUT, "give at least one --set KEY=V1,V2,...")
    if args.jobs < 1:
        return fail(EXIT_BAD_INPUT, f"--jobs must be at least 1, not {args.jobs}")
    if args.epochs is not None and args.epochs < 1:
        return fail(EXIT_BAD_INPUT, f"--epochs must be at least 1, not {args.epochs}")
    path = store_path(args)
    try:
        axes = [parse_set(text) for text in args.sets]
    except NNStudioError as exc:
        return fail(EXIT_BAD_INPUT, str(exc))

    def started(sweep_uid: str, points: list[Any]) -> None:
        print(f"sweep {sweep_uid}: {len(points)} runs, {args.jobs} at a time; store {path}", flush=True)

    def progress(outcome: Any, done: int, total: int) -> None:
        print(f"[{done}/{total}] {outcome.name}: {outcome.status}  {_metric(outcome)}"
              + (f"  ({outcome.message})" if outcome.message and outcome.status != "finished" else ""), flush=True)

    from nnstudio.runs import StoreError

    try:
        _, outcomes = run_sweep(args.file, axes, store_path=path, repeats=args.repeats, jobs=args.jobs,
                                epochs=args.epochs, on_result=progress, on_start=started)
    except (NNStudioError, StoreError) as exc:
        return fail(EXIT_BAD_INPUT, str(exc))
    except KeyboardInterrupt:
        return fail(EXIT_INTERRUPTED, "interrupted: finished runs are in the store")
    print_results(outcomes, [a.key for a in axes] + (["training.seed"] if args.repeats > 1 else []))
    return EXIT_OK if all(o.status == "finished" for o in outcomes) else EXIT_FAILED


def _metric(outcome: Any) -> str:
    if outcome.val_accuracy is not None:
        return f"val acc {outcome.val_accuracy:.3f}  val loss {_num(outcome.val_loss)}"
    return f"val loss {_num(outcome.val_loss)}"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def print_results(outcomes: list[Any], keys: list[str]) -> None:
    """The results table: one row per run, best validation figure first."""
    def rank(o: Any) -> tuple[float, float]:
        acc = o.val_accuracy if o.val_accuracy is not None else float("-inf")
        loss = o.val_loss if o.val_loss is not None else float("inf")
        return (-acc, loss)

    header = [k.rsplit(".", 1)[-1] for k in keys] + ["status", "epochs", "val loss", "val acc", "run"]
    rows = [header]
    for o in sorted(outcomes, key=rank):
        rows.append([str(o.changes.get(k, "")) for k in keys]
                    + [o.status, str(o.epochs), _num(o.val_loss),
                       "-" if o.val_accuracy is None else f"{o.val_accuracy:.3f}", o.uid or "-"])
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
