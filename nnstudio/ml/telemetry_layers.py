"""Which layers each part of the telemetry watches: parameters, dead units, saturation, neuron maps, links."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from torch import nn

from .builder import DesignModule

# "Dead" means the unit's output is <= 0 for every sample of the probe batch: only meaningful for
# activations that are flat (or nearly so) below zero.
DEAD_UNIT_ACTIVATIONS = ("relu", "leaky_relu")
# "Saturated" values sit where the activation's slope is under ~5 % of its steepest: gradients barely pass.
SATURATION_LIMITS = {"tanh": (-0.98, 0.98), "sigmoid": (0.02, 0.98)}
# Per-neuron heatmaps are drawn for small Dense layers only, as Playground does.
NEURON_MAP_MAX_UNITS = 8
NEURON_MAP_MAX_TOTAL = 64
# Evaluation batches are sized so that no layer outputs more than this many values (e.g. 4096 samples of a
# 1024-unit layer): validating a large set, or the 10 000-point grid, never needs much memory.
EVAL_ELEMENTS_CAP = 1 << 22
# The weights and biases of a dense network this small ride along in every publication (the network view
# draws each link from its live weight); larger models send none.
PARAMETERS_CAP = 4096


@dataclass(frozen=True)
class _LayerParams:
    name: str
    params: tuple[nn.Parameter, ...]
    weight: nn.Parameter | None  # the tensor whose histogram is shown (None: layer has no `weight`)


def parameter_layers(model: DesignModule) -> list[_LayerParams]:
    """Layers that hold trainable parameters, in execution order."""
    out = []
    for step in model.steps:
        module = getattr(model, step.name)
        params = tuple(p for p in module.parameters() if p.requires_grad)
        if params:
            weight = getattr(module, "weight", None)
            out.append(_LayerParams(step.name, params, weight if isinstance(weight, nn.Parameter) else None))
    return out


def _activation_of(model: DesignModule, step: Any) -> str | None:
    if step.type == "Activation":
        return getattr(getattr(model, step.name), "function", None)
    return step.activation


def dead_unit_layers(model: DesignModule) -> list[str]:
    return [step.name for step in model.steps if _activation_of(model, step) in DEAD_UNIT_ACTIVATIONS]


def saturating_layers(model: DesignModule) -> list[tuple[str, str]]:
    """(layer name, activation) of the layers whose outputs can saturate (tanh, sigmoid)."""
    return [(step.name, act) for step in model.steps if (act := _activation_of(model, step)) in SATURATION_LIMITS]


def neuron_map_layers(model: DesignModule) -> list[str]:
    names, total = [], 0
    for step in model.steps:
        if step.type == "Dense" and step.shape[0] <= NEURON_MAP_MAX_UNITS:
            if total + step.shape[0] > NEURON_MAP_MAX_TOTAL:
                break
            names.append(step.name)
            total += step.shape[0]
    return names


def small_dense_parameters(model: DesignModule) -> list[tuple[str, nn.Parameter]]:
    """Every parameter of a model made only of Linear layers with at most PARAMETERS_CAP values; else none."""
    named = list(model.named_parameters())
    linear = {f"{name}.{kind}" for name, module in model.named_children() if isinstance(module, nn.Linear)
              for kind in ("weight", "bias")}
    if not named or any(name not in linear for name, _ in named):
        return []
    if sum(p.numel() for _, p in named) > PARAMETERS_CAP:
        return []
    return named


def eval_batch_size(model: DesignModule) -> int:
    """Samples per evaluation forward so that no layer's output exceeds EVAL_ELEMENTS_CAP values."""
    widest = max(math.prod(step.shape) for step in model.steps)
    return max(1, EVAL_ELEMENTS_CAP // max(1, widest))

