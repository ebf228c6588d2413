"""`nnstudio runs DESIGN`: the design's stored runs as a table, as JSON (`--json`), or as TensorBoard events.

Exit codes: 0 listed (or exported), 2 the store cannot be read or the export cannot be written.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from .cli_output import json_safe

EXIT_OK, EXIT_BAD_INPUT = 0, 2
PROG = "nnstudio runs"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="DESIGN", help="a .nnstudio design (its folder's store is read)")
    parser.add_argument("--json", action="store_true", help="print the runs (with per-epoch history) as JSON")
    parser.add_argument("--all", action="store_true", help="every run in the store, not only this design's")
    parser.add_argument("--tensorboard", metavar="DIR",
                        help="write TensorBoard event files (scalars and weight histograms), one folder per run "
                        "(needs the optional extra: pip install 'nnstudio[tensorboard]')")
    parser.add_argument("--store", metavar="PATH",
                        help="the run store file (default: nnstudio-runs/runs.sqlite beside the design)")


def main(args: argparse.Namespace) -> int:
    from nnstudio.runs import RunStore, StoreError, design_key, store_path_for

    def fail(message: str) -> int:
        print(f"{PROG}: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT

    path = Path(args.store) if args.store else store_path_for(args.file)
    if not path.exists():
        if args.json:
            print("[]")
        else:
            print(f"no runs yet: {path} does not exist (train in the window, or run `nnstudio sweep`)")
        return EXIT_OK
    try:
        store = RunStore(path)
    except StoreError as exc:
        return fail(str(exc))
    try:
        if store.notice:
            print(f"{PROG}: {store.notice}", file=sys.stderr)
        runs = store.runs(design_file=None if args.all else design_key(args.file))
        if args.tensorboard:
            from nnstudio.ml.tensorboard_export import TensorBoardUnavailable, export_runs

            try:
                written = export_runs(store, runs, Path(args.tensorboard))
            except TensorBoardUnavailable as exc:
                return fail(str(exc))
            except OSError as exc:
                return fail(f"could not write {args.tensorboard}: {exc.strerror or exc}")
            print(f"wrote {len(written)} run(s) to {args.tensorboard}: tensorboard --logdir {args.tensorboard}")
            return EXIT_OK
        if args.json:
            data = []
            for run in runs:
                item = run.summary()
                item["history"] = [h.__dict__ for h in store.history(run.uid)]
                data.append(item)
            print(json.dumps(json_safe(data), indent=2))
        else:
            print_table(runs, path)
    finally:
        store.close()
    return EXIT_OK


def print_table(runs: list[Any], path: Path) -> None:
    print(f"{len(runs)} run(s) in {path}")
    if not runs:
        return
    header = ["run", "name", "status", "started", "epochs", "optimizer", "lr", "seed", "val loss", "val acc"]
    rows = [header]
    for r in runs:
        training = r.settings.get("training", {})
        rows.append([r.uid, r.name or "-", r.status, time.strftime("%Y-%m-%d %H:%M", time.localtime(r.started_at)),
                     str(r.epochs), str(training.get("optimizer", "-")), f"{training.get('learning_rate', 0):g}",
                     str(r.seed), "-" if r.val_loss is None else f"{r.val_loss:.4g}",
                     "-" if r.val_accuracy is None else f"{r.val_accuracy:.3f}"])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())

