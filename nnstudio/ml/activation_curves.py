"""An activation function's curve and its derivative, and how much of a z distribution sits where it is flat.

The curve is the model's own function (`builder.ACTIVATION_FUNCTIONS`) and the derivative comes from
autograd through it — never a hand-written formula that could disagree with what trains. "Flat" means
f′(z) below a tenth of the function's largest slope: a ReLU's dead side, the saturated tails of tanh
and sigmoid, where almost no gradient passes back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .explain import activation_derivative

FLAT_SHARE_OF_MAX = 0.1
SLOPE_RANGE = 12.0  # the largest slope is looked for on [−SLOPE_RANGE, SLOPE_RANGE]
WORDS = {"relu": "dead", "leaky_relu": "nearly dead", "tanh": "saturated", "sigmoid": "saturated"}


@dataclass(frozen=True)
class Curve:
    name: str
    z: np.ndarray
    f: np.ndarray
    df: np.ndarray


def activation_curve(name: str, low: float = -4.0, high: float = 4.0, points: int = 401) -> Curve:
    from .builder import ACTIVATION_FUNCTIONS

    z = torch.linspace(low, high, points, dtype=torch.float64)
    with torch.no_grad():
        f = ACTIVATION_FUNCTIONS[name](z)
    return Curve(name, z.numpy(), f.numpy().copy(), activation_derivative(name, z).numpy())


def max_slope(name: str) -> float:
    z = torch.linspace(-SLOPE_RANGE, SLOPE_RANGE, 4801, dtype=torch.float64)
    return float(activation_derivative(name, z).abs().max())


def flat_share(name: str, counts: np.ndarray, low: float, high: float) -> float:
    """The share of a histogram's values (bins over [low, high]) where |f′(z)| < 10 % of its largest slope,
    judged at each bin's centre."""
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    if total <= 0:
        return 0.0
    edges = np.linspace(low, high, len(counts) + 1)
    centres = torch.as_tensor((edges[:-1] + edges[1:]) / 2, dtype=torch.float64)
    slope = activation_derivative(name, centres).abs().numpy()
    flat = slope < FLAT_SHARE_OF_MAX * max_slope(name)
    return float(counts[flat].sum() / total)


def flat_word(name: str) -> str:
    return WORDS.get(name, "flat")
