"""How each layer type is written in a generated `model.py` (the code-writer entry of the layer-type registry).

Every entry gives the constructor line of the layer's module (None for layers written as plain
expressions in `forward`) and the expression `forward` computes from its inputs. Numbers enter the code
only through `code_int` / `code_float`, which refuse anything but checked ints and finite floats.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nnstudio.core.catalogue import Shape, reshape_target
from nnstudio.core.errors import ExportError
from nnstudio.core.registry import LayerRegistry

# Activation name → how it reads in hand-written PyTorch; `{}` is the argument.
ACTIVATION_CODE: dict[str, str] = {
    "identity": "{}",
    "relu": "torch.relu({})",
    "leaky_relu": "F.leaky_relu({}, 0.01)",
    "elu": "F.elu({})",
    "gelu": "F.gelu({})",
    "tanh": "torch.tanh({})",
    "sigmoid": "torch.sigmoid({})",
    "softplus": "F.softplus({})",
    "sine": "torch.sin({})",
}


@dataclass(frozen=True)
class Node:
    """One contributing layer in execution order, with everything the code needs."""

    name: str
    type: str
    params: dict[str, Any]
    inputs: tuple[str, ...]
    in_shapes: tuple[Shape, ...]
    shape: Shape

    @property
    def where(self) -> str:
        return f"layer '{self.name}'"


@dataclass(frozen=True)
class LayerCode:
    """`module(node)`: the constructor, or None; `forward(node, args)`: the expression over the input
    variables `args`; `merges`: True when the layer joins several inputs (they get named variables)."""

    module: Callable[[Node], str | None]
    forward: Callable[[Node, list[str]], str]
    merges: bool = False


CODE_WRITERS: LayerRegistry[LayerCode] = LayerRegistry("the code generator")


def code_int(value: Any, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ExportError(f"{what} must be a whole number, not {value!r:.40}")
    return str(int(value))


def code_float(value: Any, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
        raise ExportError(f"{what} must be a finite number, not {value!r:.40}")
    return repr(float(value))


def activation_code(name: Any, argument: str, where: str) -> str:
    if name not in ACTIVATION_CODE:
        raise ExportError(f"{where} uses an unknown activation {name!r:.40}")
    return ACTIVATION_CODE[name].format(argument)


def _no_module(node: Node) -> None:
    return None


def _call_module(node: Node, args: list[str]) -> str:
    return f"self.{node.name}({args[0]})"


def _call_then_activate(node: Node, args: list[str]) -> str:
    return activation_code(node.params["activation"], f"self.{node.name}({args[0]})", node.where)


def _bias(node: Node) -> str:
    return "" if node.params.get("bias", True) is True else ", bias=False"


def _linear(node: Node) -> str:
    return f"nn.Linear({code_int(node.in_shapes[0][0], node.where)}, {code_int(node.params['units'], node.where)}" \
           f"{_bias(node)})"


def _conv(kind: str) -> Callable[[Node], str]:
    def module(node: Node) -> str:
        p, where = node.params, node.where
        parts = [code_int(node.in_shapes[0][0], where), code_int(p["filters"], where),
                 f"kernel_size={code_int(p['kernel'], where)}"]
        if p["stride"] != 1:
            parts.append(f"stride={code_int(p['stride'], where)}")
        if p["padding"] != 0:
            parts.append(f"padding={code_int(p['padding'], where)}")
        return f"nn.{kind}({', '.join(parts)}{_bias(node)})"

    return module


def _pool(node: Node) -> str:
    p, where = node.params, node.where
    parts = [code_int(p["kernel"], where)]
    if p["stride"] != p["kernel"]:
        parts.append(f"stride={code_int(p['stride'], where)}")
    if p["padding"] != 0:
        parts.append(f"padding={code_int(p['padding'], where)}")
    return f"nn.{node.type}({', '.join(parts)})"


def _batchnorm(node: Node) -> str:
    kind = "BatchNorm2d" if len(node.in_shapes[0]) == 3 else "BatchNorm1d"
    momentum = "" if node.params["momentum"] == 0.1 else f", momentum={code_float(node.params['momentum'], node.where)}"
    return f"nn.{kind}({code_int(node.in_shapes[0][0], node.where)}{momentum})"


def _reshape(node: Node, args: list[str]) -> str:
    dims = ", ".join(code_int(d, node.where) for d in reshape_target(node.in_shapes[0], node.params["shape"]))
    return f"{args[0]}.reshape({args[0]}.shape[0], {dims})"


CODE_WRITERS.add("Input", LayerCode(_no_module, lambda node, args: args[0]))
CODE_WRITERS.add("Output", LayerCode(_linear, _call_module))
CODE_WRITERS.add("Dense", LayerCode(_linear, _call_then_activate))
CODE_WRITERS.add("Conv2d", LayerCode(_conv("Conv2d"), _call_then_activate))
CODE_WRITERS.add("Conv1d", LayerCode(_conv("Conv1d"), _call_then_activate))
CODE_WRITERS.add("MaxPool2d", LayerCode(_pool, _call_module))
CODE_WRITERS.add("AvgPool2d", LayerCode(_pool, _call_module))
CODE_WRITERS.add("GlobalAvgPool2d", LayerCode(_no_module, lambda node, args: f"{args[0]}.mean(dim=(2, 3))"))
CODE_WRITERS.add("Reshape", LayerCode(_no_module, _reshape))
CODE_WRITERS.add("Flatten", LayerCode(_no_module, lambda node, args: f"torch.flatten({args[0]}, 1)"))
CODE_WRITERS.add("Dropout", LayerCode(
    lambda node: f"nn.Dropout({code_float(node.params['rate'], node.where)})", _call_module))
CODE_WRITERS.add("BatchNorm", LayerCode(_batchnorm, _call_module))
CODE_WRITERS.add("Activation", LayerCode(
    _no_module, lambda node, args: activation_code(node.params["function"], args[0], node.where)))
CODE_WRITERS.add("Add", LayerCode(_no_module, lambda node, args: " + ".join(args), merges=True))
CODE_WRITERS.add("Concatenate", LayerCode(
    _no_module, lambda node, args: f"torch.cat([{', '.join(args)}], dim=1)", merges=True))
