"""Which layers apply an activation function, and their pre-activations z on a probe batch (no Qt).

The trainer's telemetry histograms these z values at each publication, so the inspector can draw the
distribution under the activation's curve while training: the share of a ReLU layer's z below zero (no
gradient passes there) or of a tanh / sigmoid layer's z far out on its flat tails becomes visible.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .builder import DesignModule


def activation_layers(model: DesignModule) -> list[tuple[str, str]]:
    """(layer name, activation) for every layer that applies one of the elementwise activations: Dense and
    Conv2d (their module's output is z) and Activation layers (their input is z)."""
    out = []
    for step in model.steps:
        if step.activation is not None and step.type in ("Dense", "Conv2d"):
            out.append((step.name, step.activation))
        elif step.type == "Activation":
            out.append((step.name, getattr(getattr(model, step.name), "function", "identity")))
    return out


def forward_with_preactivations(model: DesignModule, x: torch.Tensor, layers: list[str]
                                ) -> tuple[torch.Tensor, dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """The output, every layer's output and the pre-activations z of `layers`, from one forward pass."""
    z: dict[str, torch.Tensor] = {}
    handles = []
    kinds = {step.name: step.type for step in model.steps}
    for name in layers:
        module: nn.Module = getattr(model, name)
        if kinds.get(name) == "Activation":
            def hook(_m: nn.Module, args: Any, _out: Any, name: str = name) -> None:
                z[name] = args[0]
        else:
            def hook(_m: nn.Module, _args: Any, out: Any, name: str = name) -> None:
                z[name] = out
        handles.append(module.register_forward_hook(hook))
    try:
        out, values = model.forward_with_activations(x)
    finally:
        for h in handles:
            h.remove()
    return out, values, z
