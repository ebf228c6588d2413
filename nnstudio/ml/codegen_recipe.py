"""The training recipe's part of a generated train.py: its loss, batch order and update, and its usage text.

Under the PyTorch recipe train.py gets the template's cross-entropy loss, a shuffle every epoch and the
plain optimizer step; under TensorFlow Playground's it gets the source of the very functions NN Studio's
trainer uses (`nnstudio.ml.playground_recipe`: the squared loss, the fixed batch order with its carried
partial batch, the clamped L1 update), so the exported script trains as NN Studio does.
"""

from __future__ import annotations

import inspect
import textwrap
from typing import Any

from nnstudio.core.errors import ExportError
from nnstudio.core.settings import TrainingConfig
from nnstudio.ml import playground_recipe
from nnstudio.ml.templates import train_template

# Each training recipe's template functions (copied before `main`) and the names train.py binds to them.
RECIPE_FUNCTIONS = {"pytorch": ("make_loss", "add_l1_gradient", "shuffled_batches", "plain_update"),
                    "playground": ("make_playground_loss", "playground_batches", "playground_update")}
RECIPE_BINDINGS = {"pytorch": (("epoch_batches", "shuffled_batches"), ("make_update", "plain_update")),
                   "playground": (("make_loss", "make_playground_loss"), ("epoch_batches", "playground_batches"),
                                  ("make_update", "playground_update"))}
# What the Playground recipe's functions call, copied from nnstudio.ml.playground_recipe (the trainer's own).
PLAYGROUND_RECIPE_SOURCES = ("squared_losses", "batch_bounds", "PlaygroundL1")


def function_source(function: Any) -> str:
    """The source of a real function (decorators included), as it stands in its module."""
    return textwrap.dedent(inspect.getsource(function)).rstrip() + "\n"


def recipe_code(training: TrainingConfig, task: str) -> list[str]:
    """The recipe's loss, batch order and update for train.py; the Playground recipe's from the trainer's own
    functions (nnstudio.ml.playground_recipe), so train.py trains as NN Studio does."""
    recipe = training.recipe
    parts = []
    if recipe == "playground":
        if task not in ("binary", "regression"):
            raise ExportError("the Playground recipe trains one output (binary classification or regression); "
                              "a multi-class Output needs the PyTorch recipe")
        parts += [function_source(getattr(playground_recipe, name)) for name in PLAYGROUND_RECIPE_SOURCES]
    parts += [function_source(getattr(train_template, f)) for f in RECIPE_FUNCTIONS[recipe]]
    bindings = "".join(f"{name} = {target}\n" for name, target in RECIPE_BINDINGS[recipe])
    parts.append(f"# the {recipe} recipe's loss, batch order and update (TRAINING['recipe'])\n{bindings}")
    return parts


def train_usage(training: TrainingConfig) -> list[str]:
    """The usage lines of train.py's docstring: one process or torchrun, or the Playground recipe's words."""
    usage = [
        "    python train.py                              # one process: the GPU if there is one, else the CPU",
        "    torchrun --nproc-per-node 4 train.py         # DistributedDataParallel, 4 processes on this machine",
        "    torchrun --nnodes 2 --node-rank 0 --nproc-per-node 8 \\\\",
        "        --master-addr HOST --master-port 29500 train.py   # several machines (node-rank 1 on the other)",
        "",
        "With several processes each takes its share of every batch (nccl on GPUs, gloo on CPUs); only the first",
        "prints and saves. Settings below come from the design; most can also be given on the command line.",
    ]
    if training.playground:
        usage = [
            "    python train.py                              # the GPU if there is one, else the CPU",
            "",
            "It trains as TensorFlow Playground does (TRAINING['recipe'] 'playground'): tanh output and",
            "½(out − t)² on t = ±1 (regression: linear output, ½(out − y)²), the training set walked in one",
            "fixed order, Playground's L1 / L2 updates, U(−0.5, 0.5) weights and biases 0.1 — the very",
            "functions NN Studio trains with, in one process. Settings below come from the design; most can",
            "also be given on the command line.",
        ]
    return usage
