"""The dataset spec, training configuration and view state that a design carries beside its layers.

Each is a frozen dataclass whose fields are described by `ParamSpec`s, so the training panel, the file
loader and `with_changes` validate the same way. A dataset is described, never embedded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from typing import Any

from .errors import ParameterError
from .schema import ParamSpec

PLAYGROUND_DATASETS = ("circle", "xor", "gauss", "spiral", "reg-plane", "reg-gauss")
PLAYGROUND_REGRESSION = ("reg-plane", "reg-gauss")
BUILTIN_DATASETS = ("iris", "wine", "breast_cancer", "diabetes", "digits", "shapes")
# Built-in sets that are generated from the spec's samples, noise and seed (no file behind them).
GENERATED_BUILTINS = ("shapes",)
BUILTIN_REGRESSION = ("diabetes",)
# Playground's input features, in Playground's order.
PLAYGROUND_FEATURES = ("x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)")

DATASET_FIELDS: dict[str, ParamSpec] = {
    s.name: s
    for s in (
        ParamSpec("source", "choice", "playground", "Where the data comes from.",
                  choices=("playground", "builtin", "csv", "npz")),
        ParamSpec("name", "choice", "circle", "Which dataset (for Playground and built-in sets).",
                  choices=PLAYGROUND_DATASETS + BUILTIN_DATASETS),
        ParamSpec("samples", "int", 500, "How many points a Playground dataset (or images the shapes set) has.",
                  10, 100_000),
        ParamSpec("noise", "float", 0.0,
                  "Playground noise, 0 to 0.5 (the slider's 0–50 divided by 100); pixel noise and clutter for shapes.",
                  0.0, 0.5),
        ParamSpec("train_percent", "int", 50, "Percentage of samples used for training; the rest validate.",
                  10, 90, label="Training %"),
        ParamSpec("seed", "int", 0, "Seed for generating, shuffling and splitting the data.", 0, 2**31 - 1),
        ParamSpec("path", "str", "", "CSV or NPZ file, relative to the design file's folder.",
                  max_length=4096),
        ParamSpec("target", "str", "", "CSV column to predict (empty: the last column).", max_length=256),
        ParamSpec("standardize", "bool", False,
                  "Scale each feature to mean 0 and variance 1, fitted on the training part only."),
        ParamSpec("as_images", "bool", False, "Give digits as 1×8×8 images (for CNNs) instead of 64 features.",
                  label="As images"),
    )
}

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop", "adagrad")
SCHEDULES = ("constant", "step", "exponential", "cosine")
REGULARIZATIONS = ("none", "l1", "l2")
REGRESSION_LOSSES = ("mse", "mae", "huber")
INITIALIZATIONS = ("pytorch", "playground", "xavier", "kaiming")
# "pytorch": the loss follows the Output task (cross-entropy on logits), a new shuffle every epoch, the
# `init` setting. "playground": TensorFlow Playground's semantics (see nnstudio/ml/playground_recipe.py).
RECIPES = ("pytorch", "playground")
# What the window asks the trainer for when a design trains until paused: more epochs than anyone waits for.
UNLIMITED_EPOCHS = 10**9
# ASCII digits and \Z: `\d` takes any Unicode digit and `$` matches before a trailing newline.
_DEVICE = re.compile(r"(auto|cpu|mps|cuda(:[0-9]{1,2})?)\Z")

TRAINING_FIELDS: dict[str, ParamSpec] = {
    s.name: s
    for s in (
        ParamSpec("recipe", "choice", "pytorch",
                  "How training behaves: PyTorch's usual way (cross-entropy, a shuffle every epoch, the chosen "
                  "initialisation), or TensorFlow Playground's exactly (tanh output with ½(out − t)² on ±1 "
                  "labels, one shuffle, its L1/L2 updates, U(−0.5, 0.5) weights and bias 0.1).",
                  choices=RECIPES),
        ParamSpec("optimizer", "choice", "sgd",
                  "How weights follow the gradient: plain SGD, SGD with momentum, Nesterov, Adam, ...",
                  choices=OPTIMIZERS),
        ParamSpec("learning_rate", "float", 0.03, "Step size of each update; changeable while training.",
                  1e-6, 10.0, log_scale=True, live=True),
        ParamSpec("momentum", "float", 0.9, "How much of the previous step carries into the next (SGD).",
                  0.0, 0.999, live=True),
        ParamSpec("batch_size", "int", 10, "Samples per gradient step.", 1, 65_536),
        ParamSpec("epochs", "int", 100, "Passes over the training data.", 1, 1_000_000),
        ParamSpec("until_paused", "bool", False,
                  "Train until Pause or Stop, as Playground's Play does (the window only; the command line "
                  "trains the epochs set above).", label="Epochs: unlimited"),
        ParamSpec("regularization", "choice", "none", "Penalty on weight size: none, L1 or L2.",
                  choices=REGULARIZATIONS),
        ParamSpec("regularization_rate", "float", 0.0, "Strength of the weight penalty.", 0.0, 10.0, live=True),
        ParamSpec("schedule", "choice", "constant", "How the learning rate changes over epochs.",
                  choices=SCHEDULES),
        ParamSpec("step_size", "int", 10, "Epochs between learning-rate drops (step schedule).", 1, 100_000),
        ParamSpec("gamma", "float", 0.5, "Factor applied to the learning rate per drop / per epoch.",
                  1e-4, 1.0),
        ParamSpec("grad_clip", "float", 0.0, "Clip the gradient norm to this value (0: off).", 0.0, 1e6,
                  live=True),
        ParamSpec("regression_loss", "choice", "mse", "Loss for regression outputs: MSE, MAE or Huber.",
                  choices=REGRESSION_LOSSES),
        ParamSpec("init", "choice", "pytorch",
                  "Weight initialisation: PyTorch's default, Playground's U(-0.5, 0.5) with bias 0.1, "
                  "Xavier or Kaiming.", choices=INITIALIZATIONS),
        ParamSpec("seed", "int", 0, "Seed for weights and batch order; the same seed repeats a CPU run.",
                  0, 2**31 - 1),
        ParamSpec("device", "str", "auto", "auto, cpu, cuda, cuda:N or mps.", max_length=8),
    )
}

VIEW_FIELDS: dict[str, ParamSpec] = {
    s.name: s
    for s in (
        ParamSpec("zoom", "float", 1.0, "Canvas zoom factor.", 0.05, 20.0),
        ParamSpec("center_x", "float", 0.0, "Canvas centre, x.", -1e7, 1e7),
        ParamSpec("center_y", "float", 0.0, "Canvas centre, y.", -1e7, 1e7),
        ParamSpec("show_test_data", "bool", False,
                  "Draw the test points over the output heatmaps (Playground's Show test data)."),
        ParamSpec("discretize", "bool", False,
                  "Show the output heatmap as its two classes only (Playground's Discretize output)."),
    )
}


class _Settings:
    """Shared behaviour: validated construction from a dict and validated `with_changes`."""

    FIELDS: dict[str, ParamSpec] = {}

    def with_changes(self, /, **changes: Any):
        checked = {k: self._check_field(k, v) for k, v in changes.items()}
        return replace(self, **checked)

    @classmethod
    def _check_field(cls, key: str, value: Any) -> Any:
        if key not in cls.FIELDS:
            raise ParameterError(f"{key}: unknown setting (known: {', '.join(cls.FIELDS)})")
        return cls.FIELDS[key].check(value, "")

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        return cls().with_changes(**data)

    def to_dict(self) -> dict[str, Any]:
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out


@dataclass(frozen=True)
class DatasetSpec(_Settings):
    source: str = "playground"
    name: str = "circle"
    samples: int = 500
    noise: float = 0.0
    train_percent: int = 50
    seed: int = 0
    path: str = ""
    target: str = ""
    standardize: bool = False
    as_images: bool = False
    features: tuple[str, ...] = ("x1", "x2")

    FIELDS = DATASET_FIELDS

    @classmethod
    def _check_field(cls, key: str, value: Any) -> Any:
        if key == "features":
            return check_features(value)
        return super()._check_field(key, value)

    @property
    def is_regression(self) -> bool:
        if self.source == "playground":
            return self.name in PLAYGROUND_REGRESSION
        if self.source == "builtin":
            return self.name in BUILTIN_REGRESSION
        return False


def check_features(value: Any) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)) or isinstance(value, str):
        raise ParameterError(f"features: must be a list of feature names, not {value!r:.40}")
    out = []
    for item in value:
        if item not in PLAYGROUND_FEATURES:
            raise ParameterError(
                f"features: unknown feature {item!r:.40} (known: {', '.join(PLAYGROUND_FEATURES)})")
        if item in out:
            raise ParameterError(f"features: {item} is listed twice")
        out.append(item)
    if not out:
        raise ParameterError("features: choose at least one input feature")
    # Playground's order, whatever order the user clicked them in.
    return tuple(f for f in PLAYGROUND_FEATURES if f in out)


@dataclass(frozen=True)
class TrainingConfig(_Settings):
    recipe: str = "pytorch"
    optimizer: str = "sgd"
    learning_rate: float = 0.03
    momentum: float = 0.9
    batch_size: int = 10
    epochs: int = 100
    until_paused: bool = False
    regularization: str = "none"
    regularization_rate: float = 0.0
    schedule: str = "constant"
    step_size: int = 10
    gamma: float = 0.5
    grad_clip: float = 0.0
    regression_loss: str = "mse"
    init: str = "pytorch"
    seed: int = 0
    device: str = "auto"

    FIELDS = TRAINING_FIELDS

    @classmethod
    def _check_field(cls, key: str, value: Any) -> Any:
        value = super()._check_field(key, value)
        if key == "device" and not _DEVICE.match(value):
            raise ParameterError(f"device: must be auto, cpu, cuda, cuda:N or mps, not {value!r}")
        return value

    @property
    def playground(self) -> bool:
        """True under the Playground recipe."""
        return self.recipe == "playground"


@dataclass(frozen=True)
class ViewState(_Settings):
    zoom: float = 1.0
    center_x: float = 0.0
    center_y: float = 0.0
    show_test_data: bool = False
    discretize: bool = False

    FIELDS = VIEW_FIELDS
