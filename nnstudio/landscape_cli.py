"""`nnstudio landscape CKPT`: the loss landscape around a checkpoint's weights, as a PNG and JSON.

The trajectory (needed for --directions pca, drawn in every picture) is replayed: the checkpoint's
design is trained again from its seed for the checkpoint's epochs on the CPU, recording the weights —
on the CPU the same seed repeats a run exactly, so the replay ends on the checkpoint's weights; when it
does not (the run was resumed, trained on a GPU or had its rate changed live) the command says so and
the path is drawn as replayed. Exit codes: 0 written, 1 failed, 2 bad input (one line, no traceback).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from nnstudio.core.errors import NNStudioError

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
PROG = "nnstudio landscape"
TRAJECTORY_POINTS = 150


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", metavar="CKPT", help="a checkpoint (.safetensors) saved by NN Studio")
    parser.add_argument("--grid", type=int, default=41, metavar="N", help="points per side (default 41)")
    parser.add_argument("--span", type=float, default=1.0, metavar="S",
                        help="the plane covers ±S along each direction (default 1)")
    parser.add_argument("--directions", choices=("random", "pca"), default="random",
                        help="filter-normalised random directions, or the training path's principal directions")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random directions (default 0)")
    parser.add_argument("--split", choices=("train", "val"), default="train", help="which data the loss uses")
    parser.add_argument("--samples", type=int, metavar="N",
                        help="evaluate the loss on the first N samples only (default: all of them)")
    parser.add_argument("--no-trajectory", action="store_true", help="do not replay the training path")
    parser.add_argument("--device", default="cpu", help="where to evaluate: cpu, cuda, cuda:N, mps or auto")
    parser.add_argument("-o", "--output", required=True, metavar="OUT.png", help="where to write the picture")
    parser.add_argument("--json", metavar="OUT.json", help="also write the grid, losses and trajectory as JSON")


def main(args: argparse.Namespace) -> int:
    err = sys.stderr

    def fail(code: int, message: str) -> int:
        print(f"{PROG}: {message}", file=err)
        return code

    if not Path(args.output).suffix.lower() == ".png":
        return fail(EXIT_BAD_INPUT, f"-o must name a .png file, not {args.output!r}")
    if not 2 <= args.grid <= 401:
        return fail(EXIT_BAD_INPUT, f"--grid must be 2 to 401, not {args.grid}")
    if not (math.isfinite(args.span) and args.span > 0):
        return fail(EXIT_BAD_INPUT, f"--span must be a positive number, not {args.span}")
    if args.samples is not None and args.samples < 1:
        return fail(EXIT_BAD_INPUT, f"--samples must be at least 1, not {args.samples}")
    if args.directions == "pca" and args.no_trajectory:
        return fail(EXIT_BAD_INPUT, "--directions pca needs the training path: leave out --no-trajectory")

    from nnstudio.core.errors import DataError, DesignError, FormatError
    from nnstudio.ml.checkpoint import load_checkpoint

    path = Path(args.checkpoint)
    try:
        checkpoint = load_checkpoint(path)
    except NNStudioError as exc:
        return fail(EXIT_BAD_INPUT, str(exc))
    base_dir = path.resolve().parent
    try:
        landscape, note = compute_for_checkpoint(checkpoint, base_dir, args)
    except (DataError, DesignError, FormatError) as exc:
        return fail(EXIT_BAD_INPUT, str(exc))
    except NNStudioError as exc:
        return fail(EXIT_FAILED, str(exc))
    if note:
        print(f"{PROG}: note: {note}", file=err)

    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from nnstudio.gui.landscape.render import render_landscape_png

    title = f"Loss landscape of {checkpoint.design.name or path.name}"
    try:
        render_landscape_png(landscape, args.output, title=title)
        if args.json:
            from nnstudio.io.atomic import write_atomic

            data = landscape.to_json()
            data["checkpoint"] = str(path)
            write_atomic(Path(args.json), (json.dumps(data, indent=1) + "\n").encode("utf-8"))
    except NNStudioError as exc:
        return fail(EXIT_FAILED, str(exc))
    lo = min((v for v in landscape.losses.ravel() if math.isfinite(v)), default=math.nan)
    print(f"{args.grid}×{args.grid} {args.directions} landscape, centre loss {landscape.center_loss:.6g}, "
          f"lowest {lo:.6g}, {landscape.points_per_second:,.0f} points/s; wrote {args.output}"
          + (f" and {args.json}" if args.json else ""))
    return EXIT_OK


def compute_for_checkpoint(checkpoint: Any, base_dir: Path, args: argparse.Namespace) -> tuple[Any, str]:
    """The landscape around the checkpoint's weights, and a note for the user (or "")."""
    import numpy as np

    from nnstudio.ml.landscape import LossProblem, compute_landscape, flatten
    from nnstudio.ml.trainer import Trainer

    trainer = Trainer(checkpoint.design, base_dir=base_dir, device=args.device, initial_state=checkpoint,
                      publish_hz=0, cuda_graphs="off")
    problem = LossProblem.from_trainer(trainer, args.split, max_samples=args.samples)
    trajectory, note = None, ""
    if not args.no_trajectory:
        trajectory, note = replay_trajectory(checkpoint, trainer.dataset, base_dir)
        if trajectory is not None and len(trajectory):
            end = trajectory.points()[-1]
            here = flatten(problem.weights())
            gap = float(np.linalg.norm(end - here) / max(1e-12, np.linalg.norm(here)))
            if gap > 1e-4:
                note = (f"the replayed training ends {gap:.2%} (relative distance) away from the checkpoint's "
                        "weights (resumed, trained on a GPU, or its learning rate changed while it ran): "
                        "the path is drawn as replayed")
            trajectory.append(trajectory.steps[-1], here.astype(np.float32))  # the path ends at the centre
    return compute_landscape(problem, grid=args.grid, span=args.span, directions=args.directions,
                             trajectory=trajectory, seed=args.seed), note


def replay_trajectory(checkpoint: Any, dataset: Any, base_dir: Path) -> tuple[Any, str]:
    """Train the checkpoint's design again from its seed to its epoch, recording the weights."""
    from nnstudio.ml.trainer import Trainer
    from nnstudio.ml.trajectory import TrajectoryRecorder

    state = checkpoint.training_state
    epochs = int(state.get("epoch", 0))
    if epochs <= 0:
        return None, "the checkpoint was saved before its first epoch ended: there is no path to draw"
    design = checkpoint.design.copy()
    live = state.get("hyperparameters", {})
    if "learning_rate" in live:  # the rate it last ran with; a rate changed mid-run cannot be replayed
        design.set_training(learning_rate=float(live["learning_rate"]))
    probe = Trainer(design, dataset=dataset, base_dir=base_dir, device="cpu", publish_hz=0, cuda_graphs="off")
    every = max(1, epochs * probe.batches_per_epoch // TRAJECTORY_POINTS)
    recorder = TrajectoryRecorder(every_steps=every, max_points=TRAJECTORY_POINTS * 2)
    probe.callbacks.append(recorder)
    probe.fit(epochs)
    return recorder.trajectory, ""
