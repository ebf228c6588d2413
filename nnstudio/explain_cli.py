"""`nnstudio explain FILE`: one training step of a design or checkpoint, stage by stage, as text or JSON.

The forward pass layer by layer, the loss, the backward pass from the output back and the optimizer's
would-be update, for one training sample (`--sample N`) or the batch the trainer would take next
(`--batch`). Every value comes from the real model through `nnstudio.ml.explain` (hooks and autograd).
Exit codes: 0 explained, 2 the file, its data or the sample cannot be used (one line, no traceback).
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
PROG = "nnstudio explain"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="DESIGN_OR_CHECKPOINT",
                        help="a .nnstudio design (fresh weights from its seed) or a checkpoint saved by NN Studio")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--sample", type=int, default=0, metavar="N", help="the training sample to explain (default 0)")
    which.add_argument("--batch", action="store_true",
                       help="explain the batch the trainer would take next instead of one sample")
    parser.add_argument("--json", metavar="OUT", help="write the stages as JSON to OUT instead of printing them")
    parser.add_argument("--float32", action="store_true",
                        help="compute in the model's float32 (default: float64, the exact reference)")


def _is_checkpoint(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            head = handle.read(64).lstrip()
    except OSError:
        return False
    return not head.startswith(b"{")


def build_trainer(path: Path) -> Any:
    """A CPU trainer for a design (weights initialised from its seed) or a checkpoint (its weights and
    optimizer state)."""
    from nnstudio.ml.trainer import Trainer

    if _is_checkpoint(path):
        from nnstudio.ml.checkpoint import load_checkpoint

        checkpoint = load_checkpoint(path)
        return Trainer(checkpoint.design, base_dir=path.resolve().parent, device="cpu", initial_state=checkpoint,
                       publish_hz=0)
    from nnstudio.io import load_design

    design = load_design(path)
    return Trainer(design, base_dir=path.resolve().parent, device="cpu", publish_hz=0)


def main(args: argparse.Namespace) -> int:
    def fail(code: int, message: str) -> int:
        print(f"{PROG}: {message}", file=sys.stderr)
        return code

    path = Path(args.file)
    if not path.is_file():
        return fail(EXIT_BAD_INPUT, f"{path}: no such file")
    try:
        import torch

        from nnstudio.ml.explain import StepExplainer, next_batch_indices

        trainer = build_trainer(path)
        indices = next_batch_indices(trainer) if args.batch else [args.sample]
        explainer = StepExplainer(trainer, indices, dtype=None if args.float32 else torch.float64)
    except NNStudioError as exc:
        return fail(EXIT_BAD_INPUT, str(exc))
    ex = explainer.explanation
    if args.json:
        from nnstudio.core.errors import SaveError
        from nnstudio.io.atomic import write_atomic

        text = json.dumps(explanation_json(ex), indent=1) + "\n"
        try:
            write_atomic(args.json, text.encode("utf-8"))
        except SaveError as exc:
            return fail(EXIT_FAILED, str(exc))
        print(f"wrote {args.json}")
        return EXIT_OK
    try:
        print_explanation(ex, trainer.design.name)
        sys.stdout.flush()
    except BrokenPipeError:  # `nnstudio explain … | head`: the reader has what it wanted
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return EXIT_OK


def print_explanation(ex: Any, title: str, out: Any = None) -> None:
    from nnstudio.ml.explain_text import num, stage_lines

    out = out or sys.stdout
    which = f"sample {ex.indices[0]}" if len(ex.indices) == 1 else f"a batch of {len(ex.indices)} samples"
    print(f"{title} — one {ex.optimizer} step on {which} (η = {num(ex.learning_rate)}, {ex.dtype})", file=out)
    if len(ex.indices) == 1:
        print(f"input  {[num(v) for v in ex.input[0].reshape(-1)[:16]]}", file=out)
        print(f"target {ex.target[0].tolist()}   prediction {[num(v) for v in ex.output[0]]}", file=out)
    for i, stage in enumerate(ex.stages(), 1):
        lines = stage_lines(ex, stage)
        print(f"\n[{i}] " + lines[0], file=out)
        for line in lines[1:]:
            print(line, file=out)


def _plain(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, np.generic):
        return _plain(value.item())
    return value


def explanation_json(ex: Any) -> dict[str, Any]:
    """The JSON layout of `nnstudio explain --json`: per layer in order name, weight (out × in), bias, z, a,
    delta, grad_weight, grad_bias; at the top input, target, output, loss and the optimizer's update."""
    single = len(ex.indices) == 1

    def sample(values: Any) -> Any:
        return values[0] if single and values is not None else values

    layers, update, state = [], {}, {}
    for t in ex.layers:
        entry: dict[str, Any] = {"name": t.name, "type": t.type, "activation": t.activation}
        for pname in ("weight", "bias"):
            p = t.params.get(pname)
            entry[pname] = p.value if p is not None else None
        entry.update(z=sample(t.z), a=sample(t.a), delta=sample(t.delta), grad_a=sample(t.grad_a),
                     fprime=sample(t.fprime))
        for pname in ("weight", "bias"):
            p = t.params.get(pname)
            entry[f"grad_{pname}"] = p.grad if p is not None else None
        for pname, p in t.params.items():
            if pname not in ("weight", "bias"):
                entry[pname] = p.value
                entry[f"grad_{pname}"] = p.grad
        layers.append(entry)
        if t.params:
            update[t.name] = {pname: p.update for pname, p in t.params.items()}
            state[t.name] = {pname: p.state for pname, p in t.params.items() if p.state}
    return _plain({
        "samples": ex.indices, "dtype": ex.dtype, "mode": ex.mode, "task": ex.task,
        "input": sample(ex.input), "target": sample(ex.target), "output": sample(ex.output),
        "loss": ex.loss, "loss_name": ex.loss_name, "optimizer": ex.optimizer,
        "learning_rate": ex.learning_rate, "hyperparameters": ex.hyperparameters,
        "layers": layers, "update": update, "optimizer_state": state,
    })
