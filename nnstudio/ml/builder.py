"""Design → `torch.nn.Module`: runs the DAG with readable, stable parameter names taken from layer names.

A Dense layer named `fc1` becomes the attribute `fc1` (an `nn.Linear`), so its weights are `fc1.weight`
and `fc1.bias` — the same names the generated `model.py` and every checkpoint use.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from nnstudio.core.catalogue import OUTPUT_ACTIVATION, Shape, reshape_target
from nnstudio.core.document import Design
from nnstudio.core.errors import DesignError
from nnstudio.core.inference import InferenceResult, infer
from nnstudio.core.registry import LayerRegistry
from nnstudio.core.settings import INITIALIZATIONS

ACTIVATION_FUNCTIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "identity": lambda x: x,
    "relu": torch.relu,
    "leaky_relu": lambda x: nn.functional.leaky_relu(x, 0.01),
    "elu": nn.functional.elu,
    "gelu": nn.functional.gelu,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "softplus": nn.functional.softplus,
    "sine": torch.sin,
}


class Activation(nn.Module):
    """An activation function as a module, so `print(model)` and generated code read naturally."""

    def __init__(self, function: str) -> None:
        super().__init__()
        self.function = function
        self._fn = ACTIVATION_FUNCTIONS[function]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._fn(x)

    def extra_repr(self) -> str:
        return self.function


class Add(nn.Module):
    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


class Concatenate(nn.Module):
    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=1)


class Identity(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


@dataclass(frozen=True)
class Step:
    """One layer in execution order: its name, type, the names it reads and its activation."""

    name: str
    type: str
    inputs: tuple[str, ...]
    activation: str | None  # applied after the module (Dense / Conv2d); None for the rest
    shape: Shape


class DesignModule(nn.Module):
    """Runs a design's layers in topological order. `forward` returns the Output layer's raw scores
    (logits for classification); `predict` applies the task's activation (sigmoid / softmax)."""

    def __init__(self, steps: list[Step], task: str, input_shape: Shape) -> None:
        super().__init__()
        self.steps = steps
        self.task = task
        self.input_shape = input_shape
        self.input_name = steps[0].name
        self.output_name = steps[-1].name

    def _run(self, x: torch.Tensor, keep: bool) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        values: dict[str, torch.Tensor] = {self.input_name: x}
        for step in self.steps[1:]:
            module = getattr(self, step.name)
            out = module(*(values[i] for i in step.inputs))
            if step.activation is not None:
                out = ACTIVATION_FUNCTIONS[step.activation](out)
            values[step.name] = out
        return values[self.output_name], (values if keep else {})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._run(x, keep=False)[0]

    def forward_with_activations(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The output and every layer's output by layer name (for neuron heatmaps and dead-unit counts)."""
        return self._run(x, keep=True)

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        out = self.forward(x)
        if self.task == "binary":
            return torch.sigmoid(out)
        if self.task == "multiclass":
            return torch.softmax(out, dim=1)
        return out

    @property
    def output_activation(self) -> str:
        return OUTPUT_ACTIVATION[self.task]


# ---- the torch module of each layer type (the `ml` entry of the layer-type registry) ----------------------

ModuleBuilder = Callable[[dict, list[Shape]], tuple[nn.Module, "str | None"]]
BUILDERS: LayerRegistry[ModuleBuilder] = LayerRegistry("the torch module builder")
# Modules whose `weight` is a learned weight matrix/filter bank: initialised by `initialize` and the only
# ones L1 / L2 regularisation act on.
WEIGHTED_MODULES: tuple[type[nn.Module], ...] = (nn.Linear, nn.Conv1d, nn.Conv2d)


class Reshape(nn.Module):
    """Rearranges each sample's values into `shape` (the batch dimension stays)."""

    def __init__(self, shape: Shape) -> None:
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], *self.shape)

    def extra_repr(self) -> str:
        return "×".join(str(d) for d in self.shape)


class GlobalAvgPool2d(nn.Module):
    """The mean of each channel over height and width: (batch, C, H, W) → (batch, C)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))


@BUILDERS.register("Dense")
def _dense(p: dict, ins: list[Shape]) -> tuple[nn.Module, str | None]:
    return nn.Linear(ins[0][0], p["units"], bias=p["bias"]), p["activation"]


@BUILDERS.register("Output")
def _output(p: dict, ins: list[Shape]) -> tuple[nn.Module, str | None]:
    return nn.Linear(ins[0][0], p["units"], bias=p["bias"]), None


@BUILDERS.register("Conv2d")
def _conv2d(p: dict, ins: list[Shape]) -> tuple[nn.Module, str | None]:
    conv = nn.Conv2d(ins[0][0], p["filters"], p["kernel"], stride=p["stride"], padding=p["padding"],
                     bias=p["bias"])
    return conv, p["activation"]


@BUILDERS.register("Conv1d")
def _conv1d(p: dict, ins: list[Shape]) -> tuple[nn.Module, str | None]:
    conv = nn.Conv1d(ins[0][0], p["filters"], p["kernel"], stride=p["stride"], padding=p["padding"],
                     bias=p["bias"])
    return conv, p["activation"]


@BUILDERS.register("MaxPool2d")
def _maxpool(p: dict, ins: list[Shape]) -> tuple[nn.Module, str | None]:
    return nn.MaxPool2d(p["kernel"], stride=p["stride"], padding=p["padding"]), None


@BUILDERS.register("AvgPool2d")
def _avgpool(p: dict, ins: list[Shape]) -> tuple[nn.Module, str | None]:
    return nn.AvgPool2d(p["kernel"], stride=p["stride"], padding=p["padding"]), None


@BUILDERS.register("GlobalAvgPool2d")
def _global_avgpool(p: dict, ins: list[Shape]) -> tuple[nn.Module, str | None]:
    return GlobalAvgPool2d(), None


@BUILDERS.register("Reshape")
def _reshape(p: dict, ins: list[Shape]) -> tuple[nn.Module, str | None]:
    return Reshape(reshape_target(ins[0], p["shape"])), None


@BUILDERS.register("Flatten")
def _flatten(p: dict, ins: list[Shape]) -> tuple[nn.Module, str | None]:
    return nn.Flatten(), None


@BUILDERS.register("Dropout")
def _dropout(p: dict, ins: list[Shape]) -> tuple[nn.Module, str | None]:
    return nn.Dropout(p["rate"]), None


@BUILDERS.register("BatchNorm")
def _batchnorm(p: dict, ins: list[Shape]) -> tuple[nn.Module, str | None]:
    cls = nn.BatchNorm2d if len(ins[0]) == 3 else nn.BatchNorm1d  # BatchNorm1d takes (N, C) and (N, C, L)
    return cls(ins[0][0], momentum=p["momentum"]), None


@BUILDERS.register("Activation")
def _activation(p: dict, ins: list[Shape]) -> tuple[nn.Module, str | None]:
    return Activation(p["function"]), None


@BUILDERS.register("Add")
def _add(p: dict, ins: list[Shape]) -> tuple[nn.Module, str | None]:
    return Add(), None


@BUILDERS.register("Concatenate")
def _concatenate(p: dict, ins: list[Shape]) -> tuple[nn.Module, str | None]:
    return Concatenate(), None


@BUILDERS.register("Input")
def _input(p: dict, ins: list[Shape]) -> tuple[nn.Module, str | None]:
    return Identity(), None


def _make_module(layer_type: str, params: dict, in_shapes: list[Shape]) -> tuple[nn.Module, str | None]:
    make = BUILDERS.get(layer_type)
    if make is None:
        raise DesignError(f"the model builder does not know layer type {layer_type!r}")
    return make(params, in_shapes)


def contributing_layers(design: Design) -> set[str]:
    """Ids of the layers whose output reaches the Output layer (the rest would never train)."""
    keep = {lid for lid, layer in design.layers.items() if layer.type == "Output"}
    frontier = list(keep)
    while frontier:
        lid = frontier.pop()
        for src in design.inputs_of(lid):
            if src not in keep:
                keep.add(src)
                frontier.append(src)
    return keep


def build_model(design: Design, inference: InferenceResult | None = None) -> DesignModule:
    """Build the PyTorch module for a design; raises DesignError naming the first problem if the design
    has errors (shape inference's diagnostics)."""
    inference = inference or infer(design)
    errors = inference.errors()
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise DesignError(f"the design cannot be built: {errors[0].message}{more}", errors[0].layer_id)
    keep = contributing_layers(design)
    steps: list[Step] = []
    modules: list[tuple[str, nn.Module]] = []
    task = "regression"
    for lid in inference.order:
        if lid not in keep:
            continue
        layer = design.layers[lid]
        in_shapes = inference.input_shapes.get(lid, [])
        module, activation = _make_module(layer.type, layer.params, in_shapes)
        if layer.type == "Output":
            task = layer.params["task"]
        inputs = tuple(design.layers[s].name for s in design.inputs_of(lid))
        steps.append(Step(layer.name, layer.type, inputs, activation, inference.shapes[lid]))  # type: ignore[arg-type]
        modules.append((layer.name, module))
    model = DesignModule(steps, task, steps[0].shape)
    for name, module in modules:
        if hasattr(model, name):  # core reserves the common ones; this catches the rest of nn.Module's API
            raise DesignError(f"layer name '{name}' clashes with a PyTorch attribute: rename the layer")
        model.add_module(name, module)
    return model


def initialize(model: nn.Module, scheme: str, generator: torch.Generator | None = None) -> None:
    """Re-initialise weights: 'pytorch' keeps torch's defaults; 'playground' is TensorFlow Playground's
    U(−0.5, 0.5) weights with biases 0.1; 'xavier' and 'kaiming' are the usual uniform variants."""
    if scheme not in INITIALIZATIONS:
        raise DesignError(f"unknown initialisation {scheme!r}")
    init_weights(model, scheme, generator)


@torch.no_grad()
def init_weights(model: nn.Module, scheme: str, generator: torch.Generator | None = None) -> None:
    """'playground': U(-0.5, 0.5) weights and biases 0.1; 'xavier' / 'kaiming': uniform; 'pytorch': as built.
    (Generated train.py files hold a copy of this function's source, so it is written in plain torch.)"""
    if scheme == "pytorch":
        return
    for module in model.modules():
        if not isinstance(module, WEIGHTED_MODULES):
            continue
        weight = module.weight
        if scheme == "playground":
            weight.uniform_(-0.5, 0.5, generator=generator)
            if module.bias is not None:
                module.bias.fill_(0.1)
            continue
        fan_out, fan_in = weight.shape[0], weight[0].numel()
        receptive = weight[0, 0].numel() if weight.dim() > 2 else 1
        if scheme == "xavier":
            bound = math.sqrt(6.0 / (fan_in + fan_out * receptive))
        else:  # kaiming
            bound = math.sqrt(6.0 / fan_in)
        weight.uniform_(-bound, bound, generator=generator)
        if module.bias is not None:
            module.bias.zero_()
