"""How each layer type's block sums up its key parameters in a few words (the gui entry of the layer registry)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nnstudio.core.catalogue import parse_dims
from nnstudio.core.registry import LayerRegistry

Summary = Callable[[dict[str, Any]], str]
SUMMARIES: LayerRegistry[Summary] = LayerRegistry("the block summary")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


@SUMMARIES.register("Input")
def _input(p: dict[str, Any]) -> str:
    if p.get("mode") == "image":
        return f"image {p['channels']}×{p['height']}×{p['width']}"
    return _plural(p["features"], "feature")


@SUMMARIES.register("Output")
def _output(p: dict[str, Any]) -> str:
    return f"{p['task']}, {_plural(p['units'], 'unit')}"


@SUMMARIES.register("Dense")
def _dense(p: dict[str, Any]) -> str:
    return _plural(p["units"], "unit") + ("" if p.get("bias", True) else ", no bias")


def _strided(text: str, p: dict[str, Any], always_stride: bool = False) -> str:
    if always_stride or p["stride"] != 1:
        text += f" /{p['stride']}"
    return text + (f" pad {p['padding']}" if p["padding"] else "")


@SUMMARIES.register("Conv2d")
def _conv2d(p: dict[str, Any]) -> str:
    return _strided(f"{p['filters']} filters {p['kernel']}×{p['kernel']}", p)


@SUMMARIES.register("Conv1d")
def _conv1d(p: dict[str, Any]) -> str:
    return _strided(f"{p['filters']} filters of {p['kernel']}", p)


@SUMMARIES.register("MaxPool2d", "AvgPool2d")
def _pool(p: dict[str, Any]) -> str:
    return _strided(f"window {p['kernel']}×{p['kernel']}", p, always_stride=True)


@SUMMARIES.register("GlobalAvgPool2d")
def _global_pool(p: dict[str, Any]) -> str:
    return "mean per channel"


@SUMMARIES.register("Reshape")
def _reshape(p: dict[str, Any]) -> str:
    try:
        return "to " + "×".join("…" if d == -1 else str(d) for d in parse_dims(p["shape"]))
    except Exception:  # a target that does not parse: the block's diagnostic says why
        return f"to {p['shape']!s:.20}"


@SUMMARIES.register("Dropout")
def _dropout(p: dict[str, Any]) -> str:
    return f"drop {p['rate']:g}"


@SUMMARIES.register("BatchNorm")
def _batchnorm(p: dict[str, Any]) -> str:
    return f"momentum {p['momentum']:g}"


SUMMARIES.add("Flatten", lambda p: "to one vector")
SUMMARIES.add("Add", lambda p: "element-wise sum")
SUMMARIES.add("Concatenate", lambda p: "join inputs")
SUMMARIES.add("Activation", lambda p: "element-wise")
