"""The layer catalogue: for every layer type its parameters, ports, shape rule and parameter count.

This is the core entry of the layer-type registry (docs/architecture.md, "How to add a layer type"): the
packages above register the other concerns of a type (torch module, generated code, ONNX ops, block
summary) against these names, and their tests fail when a type lacks an entry.

Shapes exclude the batch dimension: a feature vector is `(features,)`, a sequence is `(channels, length)`,
an image is `(channels, height, width)`. Shape rules return the output shape or raise `ShapeProblem` with
a message a learner understands; shape inference turns those into diagnostics on the layer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .recipe_text import OUTPUT_ACTIVATION, TASK_LOSS, output_activation  # noqa: F401 - their old home
from .schema import ParamSpec

Shape = tuple[int, ...]

# Activation functions a hidden layer may use; softmax belongs to a multi-class Output alone.
ACTIVATIONS = ("identity", "relu", "leaky_relu", "elu", "gelu", "tanh", "sigmoid", "softplus", "sine")
ACTIVATION_TITLES = {
    "identity": "linear", "relu": "ReLU", "leaky_relu": "leaky ReLU", "elu": "ELU", "gelu": "GELU",
    "tanh": "tanh", "sigmoid": "sigmoid", "softplus": "softplus", "sine": "sine", "softmax": "softmax",
}
TASKS = ("regression", "binary", "multiclass")

MANY = -1  # `max_inputs` of merge layers


class ShapeProblem(Exception):
    """Raised by a shape rule; the message is shown on the layer."""


@dataclass(frozen=True)
class LayerType:
    name: str
    group: str
    description: str
    params: dict[str, ParamSpec]
    min_inputs: int
    max_inputs: int  # MANY for merge layers
    shape_rule: Callable[[str, list[Shape], dict[str, Any]], Shape]
    param_count: Callable[[list[Shape], dict[str, Any]], int]
    prefix: str  # default name prefix: dense -> dense1, dense2, ...
    # The parameter naming the activation the layer applies after its module (shown on its block).
    activation_param: str | None = None

    def defaults(self) -> dict[str, Any]:
        return {k: s.default for k, s in self.params.items()}

    def refuses_inputs(self, in_shapes: list[Shape]) -> bool:
        """True when these input shapes fail the shape rule whatever the layer's own settings (judged with
        the type's defaults): the problem is what flows in, so the canvas marks the connection."""
        try:
            self.shape_rule(self.name, in_shapes, self.defaults())
        except ShapeProblem:
            return True
        except (KeyError, TypeError, ValueError, ZeroDivisionError):
            return False
        return False

    @property
    def is_merge(self) -> bool:
        return self.max_inputs == MANY


def _p(*specs: ParamSpec) -> dict[str, ParamSpec]:
    return {s.name: s for s in specs}


def _act(default: str = "relu") -> ParamSpec:
    return ParamSpec("activation", "choice", default, "Function applied to each neuron's weighted sum.",
                     choices=ACTIVATIONS)


def _bias() -> ParamSpec:
    return ParamSpec("bias", "bool", True, "Add a learned bias to each neuron.")


def fmt_shape(shape: Shape | None) -> str:
    if shape is None:
        return "?"
    return "×".join(str(d) for d in shape)


def _describe(shape: Shape) -> str:
    if len(shape) == 3:
        return f"a {fmt_shape(shape)} image"
    if len(shape) == 2:
        return f"a {fmt_shape(shape)} sequence"
    return f"{shape[0]} features"


def _need_vector(kind: str, shape: Shape) -> None:
    if len(shape) != 1:
        raise ShapeProblem(f"{kind} receives {_describe(shape)}: add a Flatten before it")


def _need_image(kind: str, shape: Shape) -> None:
    if len(shape) != 3:
        raise ShapeProblem(f"{kind} needs an image (channels×height×width) but receives {_describe(shape)}")


def _need_sequence(kind: str, shape: Shape) -> None:
    if len(shape) != 2:
        hint = ": add a Reshape before it" if len(shape) == 1 else ""
        raise ShapeProblem(f"{kind} needs a sequence (channels×length) but receives {_describe(shape)}{hint}")


def parse_dims(text: str) -> tuple[int, ...]:
    """A Reshape target such as '1,28,28', '4×16' or '1, -1' (one -1 takes what is left); ShapeProblem (a
    message that follows the layer's label) if it is not one to three whole numbers."""
    parts = [t.strip() for t in str(text).replace("×", ",").replace("x", ",").split(",")]
    try:
        dims = tuple(int(t) for t in parts)
    except ValueError:
        raise ShapeProblem(f"has a target shape {text!r:.40}: write 1 to 3 whole numbers such as 1,28,28") from None
    if not 1 <= len(dims) <= 3 or dims.count(-1) > 1 or any(d == 0 or d < -1 for d in dims):
        raise ShapeProblem(f"has a target shape {text!r:.40}: write 1 to 3 positive whole numbers (one may be -1)")
    return dims


# ---- shape rules -------------------------------------------------------------------------------------

def _input_shape(kind: str, ins: list[Shape], p: dict[str, Any]) -> Shape:
    if p["mode"] == "image":
        return (p["channels"], p["height"], p["width"])
    return (p["features"],)


def _dense_shape(kind: str, ins: list[Shape], p: dict[str, Any]) -> Shape:
    _need_vector(kind, ins[0])
    return (p["units"],)


def _conv_out(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def _conv_shape(kind: str, ins: list[Shape], p: dict[str, Any]) -> Shape:
    _need_image(kind, ins[0])
    c, h, w = ins[0]
    k, s, pad = p["kernel"], p["stride"], p["padding"]
    if k > h + 2 * pad or k > w + 2 * pad:
        raise ShapeProblem(
            f"{kind}'s {k}×{k} kernel is larger than its {h}×{w} input (padding {pad}): "
            "use a smaller kernel, add padding, or pool less before it")
    return (p["filters"], _conv_out(h, k, s, pad), _conv_out(w, k, s, pad))


def _pool_shape(kind: str, ins: list[Shape], p: dict[str, Any]) -> Shape:
    _need_image(kind, ins[0])
    c, h, w = ins[0]
    k, s, pad = p["kernel"], p["stride"], p["padding"]
    if 2 * pad > k:
        raise ShapeProblem(f"{kind}'s padding {pad} must be at most half its kernel {k}")
    if k > h + 2 * pad or k > w + 2 * pad:
        raise ShapeProblem(
            f"{kind}'s {k}×{k} window is larger than its {h}×{w} input: use a smaller window or pool less")
    return (c, _conv_out(h, k, s, pad), _conv_out(w, k, s, pad))


def _conv1d_shape(kind: str, ins: list[Shape], p: dict[str, Any]) -> Shape:
    _need_sequence(kind, ins[0])
    c, length = ins[0]
    k, s, pad = p["kernel"], p["stride"], p["padding"]
    if k > length + 2 * pad:
        raise ShapeProblem(f"{kind}'s kernel of {k} is longer than its sequence of {length} (padding {pad}): "
                           "use a smaller kernel or add padding")
    return (p["filters"], _conv_out(length, k, s, pad))


def _global_pool_shape(kind: str, ins: list[Shape], p: dict[str, Any]) -> Shape:
    _need_image(kind, ins[0])
    return (ins[0][0],)


def reshape_target(in_shape: Shape, text: str) -> Shape:
    """The shape a Reshape to `text` gives an input of `in_shape` (its -1 resolved); ShapeProblem if the
    values do not fit."""
    total = 1
    for d in in_shape:
        total *= d
    dims = parse_dims(text)
    known = 1
    for d in dims:
        known *= d if d != -1 else 1
    if -1 in dims:
        if total % known:
            raise ShapeProblem(f"cannot spread {total} values over {fmt_shape(dims)}: "
                               f"{total} is not a multiple of {known}")
        return tuple(total // known if d == -1 else d for d in dims)
    if known != total:
        raise ShapeProblem(f"receives {total} values but its target {fmt_shape(dims)} holds {known}")
    return dims


def _reshape_shape(kind: str, ins: list[Shape], p: dict[str, Any]) -> Shape:
    try:
        return reshape_target(ins[0], p["shape"])
    except ShapeProblem as exc:
        raise ShapeProblem(f"{kind} {exc}") from None


def _flatten_shape(kind: str, ins: list[Shape], p: dict[str, Any]) -> Shape:
    n = 1
    for d in ins[0]:
        n *= d
    return (n,)


def _same_shape(kind: str, ins: list[Shape], p: dict[str, Any]) -> Shape:
    return ins[0]


def _add_shape(kind: str, ins: list[Shape], p: dict[str, Any]) -> Shape:
    first = ins[0]
    for other in ins[1:]:
        if other != first:
            joined = " and ".join(fmt_shape(s) for s in ins)
            raise ShapeProblem(f"{kind} joins shapes {joined}: every input of Add must have the same shape")
    return first


def _concat_shape(kind: str, ins: list[Shape], p: dict[str, Any]) -> Shape:
    ranks = {len(s) for s in ins}
    joined = " and ".join(fmt_shape(s) for s in ins)
    if len(ranks) > 1:
        raise ShapeProblem(f"{kind} joins vectors with images ({joined}): flatten the images first")
    if len(ins[0]) == 1:
        return (sum(s[0] for s in ins),)
    if len({s[1:] for s in ins}) > 1:
        raise ShapeProblem(f"{kind} joins images of different sizes ({joined}): heights and widths must match")
    return (sum(s[0] for s in ins),) + ins[0][1:]


def _output_shape(kind: str, ins: list[Shape], p: dict[str, Any]) -> Shape:
    _need_vector(kind, ins[0])
    if p["task"] == "binary" and p["units"] != 1:
        raise ShapeProblem(f"{kind} is a binary classifier and must have 1 unit, not {p['units']}")
    if p["task"] == "multiclass" and p["units"] < 2:
        raise ShapeProblem(f"{kind} is a multi-class classifier and needs one unit per class (at least 2)")
    return (p["units"],)


# ---- parameter counts --------------------------------------------------------------------------------

def _none(ins: list[Shape], p: dict[str, Any]) -> int:
    return 0


def _dense_count(ins: list[Shape], p: dict[str, Any]) -> int:
    return ins[0][0] * p["units"] + (p["units"] if p["bias"] else 0)


def _conv_count(ins: list[Shape], p: dict[str, Any]) -> int:
    return ins[0][0] * p["filters"] * p["kernel"] ** 2 + (p["filters"] if p["bias"] else 0)


def _conv1d_count(ins: list[Shape], p: dict[str, Any]) -> int:
    return ins[0][0] * p["filters"] * p["kernel"] + (p["filters"] if p["bias"] else 0)


def _batchnorm_count(ins: list[Shape], p: dict[str, Any]) -> int:
    return 2 * ins[0][0]


LAYER_TYPES: dict[str, LayerType] = {}


def _register(t: LayerType) -> None:
    LAYER_TYPES[t.name] = t


_register(LayerType(
    "Input", "Input & output", "Where data enters: a feature vector or a C×H×W image.",
    _p(ParamSpec("mode", "choice", "vector", "A vector of features, or an image.", choices=("vector", "image")),
       ParamSpec("features", "int", 2, "Number of input features (vector mode).", 1, 1_000_000),
       ParamSpec("channels", "int", 1, "Image channels (image mode).", 1, 4096),
       ParamSpec("height", "int", 28, "Image height in pixels (image mode).", 1, 8192),
       ParamSpec("width", "int", 28, "Image width in pixels (image mode).", 1, 8192)),
    0, 0, _input_shape, _none, "input"))
_register(LayerType(
    "Output", "Input & output",
    "The prediction: regression values, or class scores; the loss follows from the task.",
    _p(ParamSpec("task", "choice", "binary", "Regression, binary or multi-class classification.", choices=TASKS),
       ParamSpec("units", "int", 1, "Outputs: 1 for binary, one per class for multi-class.", 1, 100_000),
       _bias()),
    1, 1, _output_shape, _dense_count, "output"))
_register(LayerType(
    "Dense", "Core", "Fully connected neurons: each sums all inputs times its weights, plus a bias.",
    _p(ParamSpec("units", "int", 4, "Number of neurons.", 1, 1_000_000), _bias(), _act("tanh")),
    1, 1, _dense_shape, _dense_count, "dense", activation_param="activation"))
_register(LayerType(
    "Activation", "Core", "Applies an activation function to each value on its own.",
    _p(ParamSpec("function", "choice", "relu", "The activation function.", choices=ACTIVATIONS)),
    1, 1, _same_shape, _none, "act", activation_param="function"))
_register(LayerType(
    "Dropout", "Regularisation", "Randomly zeroes a fraction of values while training, to fight overfitting.",
    _p(ParamSpec("rate", "float", 0.5, "Fraction of values dropped while training.", 0.0, 0.95)),
    1, 1, _same_shape, _none, "dropout"))
_register(LayerType(
    "BatchNorm", "Regularisation", "Normalises each feature or channel over the batch, then scales and shifts.",
    _p(ParamSpec("momentum", "float", 0.1, "How fast the running statistics follow the batches.", 0.0, 1.0)),
    1, 1, _same_shape, _batchnorm_count, "bn"))
_register(LayerType(
    "Conv2d", "Convolution", "Slides learned filters over an image; each filter makes one output channel.",
    _p(ParamSpec("filters", "int", 8, "Number of filters (output channels).", 1, 65_536),
       ParamSpec("kernel", "int", 3, "Filter size in pixels (k×k).", 1, 64),
       ParamSpec("stride", "int", 1, "Step between filter positions.", 1, 64),
       ParamSpec("padding", "int", 0, "Zero pixels added on each side.", 0, 64),
       _bias(), _act("relu")),
    1, 1, _conv_shape, _conv_count, "conv", activation_param="activation"))
_register(LayerType(
    "MaxPool2d", "Convolution", "Keeps the largest value of each window: a smaller image.",
    _p(ParamSpec("kernel", "int", 2, "Window size in pixels.", 1, 64),
       ParamSpec("stride", "int", 2, "Step between windows.", 1, 64),
       ParamSpec("padding", "int", 0, "Padding on each side.", 0, 32)),
    1, 1, _pool_shape, _none, "maxpool"))
_register(LayerType(
    "AvgPool2d", "Convolution", "Averages each window: a smaller, smoother image.",
    _p(ParamSpec("kernel", "int", 2, "Window size in pixels.", 1, 64),
       ParamSpec("stride", "int", 2, "Step between windows.", 1, 64),
       ParamSpec("padding", "int", 0, "Padding on each side.", 0, 32)),
    1, 1, _pool_shape, _none, "avgpool"))
_register(LayerType(
    "GlobalAvgPool2d", "Convolution", "Averages each channel over the whole image: one value per channel.",
    {}, 1, 1, _global_pool_shape, _none, "gap"))
_register(LayerType(
    "Conv1d", "Convolution", "Slides learned filters along a sequence; each filter makes one output channel.",
    _p(ParamSpec("filters", "int", 8, "Number of filters (output channels).", 1, 65_536),
       ParamSpec("kernel", "int", 3, "Filter length.", 1, 1024),
       ParamSpec("stride", "int", 1, "Step between filter positions.", 1, 1024),
       ParamSpec("padding", "int", 0, "Zeros added at each end.", 0, 1024),
       _bias(), _act("relu")),
    1, 1, _conv1d_shape, _conv1d_count, "conv1d", activation_param="activation"))
_register(LayerType(
    "Reshape", "Core", "Rearranges the values into a new shape, e.g. 64 features into a 1×8×8 image.",
    _p(ParamSpec("shape", "str", "1,-1",
                 "Target shape without the batch: 1 to 3 numbers such as 1,8,8; one -1 takes what is left.",
                 max_length=64)),
    1, 1, _reshape_shape, _none, "reshape"))
_register(LayerType(
    "Flatten", "Core", "Turns a C×H×W image into one long feature vector.",
    {}, 1, 1, _flatten_shape, _none, "flatten"))
_register(LayerType(
    "Add", "Merge", "Adds its inputs element by element (a residual or skip connection).",
    {}, 2, MANY, _add_shape, _none, "add"))
_register(LayerType(
    "Concatenate", "Merge", "Joins its inputs: vectors end to end, images along their channels.",
    {}, 2, MANY, _concat_shape, _none, "concat"))

GROUPS = ("Input & output", "Core", "Convolution", "Merge", "Regularisation")


def layer_type(name: str) -> LayerType | None:
    return LAYER_TYPES.get(name)


def layer_activation(type_name: str, params: dict[str, Any], recipe: str = "pytorch") -> str | None:
    """The activation a layer applies, as shown on its block (None for layers without one); an Output's
    depends on the training recipe (nnstudio.core.recipe_text)."""
    ltype = LAYER_TYPES.get(type_name)
    if ltype is not None and ltype.activation_param is not None:
        return params.get(ltype.activation_param)
    if type_name == "Output":
        return output_activation(str(params.get("task", "")), recipe)
    return None
