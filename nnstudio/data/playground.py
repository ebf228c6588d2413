"""TensorFlow Playground's six 2-D datasets, its input features and the grid its heatmaps are drawn on.

The recipes follow Playground's `src/dataset.ts` (see REFERENCE.md). Generators return the raw points
`(n, 2)` and Playground's labels: +1 / -1 for classification, a number for regression. Every random
value is drawn whatever the noise level, so with one seed a noise change moves labels, never points.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from nnstudio.core.errors import DataError
from nnstudio.core.settings import PLAYGROUND_DATASETS, PLAYGROUND_FEATURES

PlaygroundGenerator = Callable[[int, float, np.random.Generator], tuple[np.ndarray, np.ndarray]]

# Playground's heatmap: 100 x 100 cells over [-6, 6]^2.
GRID_RESOLUTION = 100
GRID_EXTENT = 6.0

_REG_GAUSS_CENTRES = np.array([[-4.0, 2.5], [0.0, 2.5], [4.0, 2.5], [-4.0, -2.5], [0.0, -2.5], [4.0, -2.5]])
_REG_GAUSS_SIGNS = np.array([1.0, -1.0, 1.0, -1.0, 1.0, -1.0])


def _halves(samples: int) -> tuple[int, int]:
    # Playground loops `i < n / 2` per class, which makes n + 1 points when n is odd; we keep exactly n.
    return samples - samples // 2, samples // 2


def make_circle(samples: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Points inside radius 2.5 and in the ring 3.5..5; +1 where the jittered point is within 2.5."""
    radius = 5.0
    n_inside, n_outside = _halves(samples)
    r = np.concatenate([rng.uniform(0.0, radius * 0.5, n_inside), rng.uniform(radius * 0.7, radius, n_outside)])
    angle = rng.uniform(0.0, 2.0 * np.pi, samples)
    points = np.column_stack([r * np.sin(angle), r * np.cos(angle)])
    jitter = rng.uniform(-radius, radius, (samples, 2)) * noise
    inside = np.hypot(*(points + jitter).T) < radius * 0.5
    return points, np.where(inside, 1.0, -1.0)


def make_xor(samples: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Points in the four quadrants, kept 0.3 off the axes; +1 where the jittered x * y >= 0."""
    padding = 0.3
    points = rng.uniform(-5.0, 5.0, (samples, 2))
    points += np.where(points > 0, padding, -padding)
    jittered = points + rng.uniform(-5.0, 5.0, (samples, 2)) * noise
    return points, np.where(jittered[:, 0] * jittered[:, 1] >= 0, 1.0, -1.0)


def make_gauss(samples: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two Gaussian blobs around (2, 2) (+1) and (-2, -2) (-1); variance 0.5 at noise 0 up to 4 at 0.5."""
    variance = 0.5 + (4.0 - 0.5) * noise / 0.5
    n_pos, n_neg = _halves(samples)
    centres = np.concatenate([np.full((n_pos, 2), 2.0), np.full((n_neg, 2), -2.0)])
    points = centres + rng.standard_normal((samples, 2)) * np.sqrt(variance)
    return points, np.concatenate([np.ones(n_pos), -np.ones(n_neg)])


def make_spiral(samples: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved spirals of radius up to 5, 1.75 turns each; the second is turned by pi and is -1."""
    half = samples / 2
    n_pos, n_neg = _halves(samples)
    parts, labels = [], []
    for count, delta, label in ((n_pos, 0.0, 1.0), (n_neg, np.pi, -1.0)):
        i = np.arange(count)
        r = 5.0 * i / half
        t = 1.75 * i / half * 2.0 * np.pi + delta
        parts.append(np.column_stack([r * np.sin(t), r * np.cos(t)]))
        labels.append(np.full(count, label))
    points = np.concatenate(parts) + rng.uniform(-1.0, 1.0, (samples, 2)) * noise
    return points, np.concatenate(labels)


def make_reg_plane(samples: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Uniform points in [-6, 6]^2; target (x + y) / 10 of the jittered point (not clamped)."""
    radius = 6.0
    points = rng.uniform(-radius, radius, (samples, 2))
    jittered = points + rng.uniform(-radius, radius, (samples, 2)) * noise
    return points, jittered.sum(axis=1) / 10.0


def make_reg_gauss(samples: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Uniform points in [-6, 6]^2; target: the strongest of six signed bumps max(0, 1 - d / 2)."""
    radius = 6.0
    points = rng.uniform(-radius, radius, (samples, 2))
    jittered = points + rng.uniform(-radius, radius, (samples, 2)) * noise
    distance = np.linalg.norm(jittered[:, None, :] - _REG_GAUSS_CENTRES[None, :, :], axis=2)
    values = _REG_GAUSS_SIGNS * np.clip(1.0 - distance / 2.0, 0.0, 1.0)
    # Playground keeps the first bump of largest magnitude; argmax also picks the first on ties.
    strongest = np.argmax(np.abs(values), axis=1)
    return points, values[np.arange(samples), strongest]


GENERATORS: dict[str, PlaygroundGenerator] = {
    "circle": make_circle,
    "xor": make_xor,
    "gauss": make_gauss,
    "spiral": make_spiral,
    "reg-plane": make_reg_plane,
    "reg-gauss": make_reg_gauss,
}
if tuple(GENERATORS) != PLAYGROUND_DATASETS:  # pragma: no cover - a check that must run even under -O
    raise ImportError("nnstudio.data.playground: GENERATORS does not follow core.settings.PLAYGROUND_DATASETS")


def generate_playground(
    name: str, samples: int, noise: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Points `(n, 2)` and Playground labels `(n,)` (+1 / -1, or regression values) of one dataset."""
    if name not in GENERATORS:
        raise DataError(f"'{name}' is not a Playground dataset; choose one of {', '.join(GENERATORS)}")
    if samples < 2:
        raise DataError(f"a Playground dataset needs at least 2 samples, not {samples}")
    if not 0.0 <= noise <= 0.5:
        raise DataError(f"Playground noise must be between 0 and 0.5, not {noise}")
    return GENERATORS[name](samples, noise, rng)


_FEATURES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "x1": lambda x, y: x,
    "x2": lambda x, y: y,
    "x1^2": lambda x, y: x * x,
    "x2^2": lambda x, y: y * y,
    "x1*x2": lambda x, y: x * y,
    "sin(x1)": lambda x, y: np.sin(x),
    "sin(x2)": lambda x, y: np.sin(y),
}
if tuple(_FEATURES) != PLAYGROUND_FEATURES:  # pragma: no cover - a check that must run even under -O
    raise ImportError("nnstudio.data.playground: _FEATURES does not follow core.settings.PLAYGROUND_FEATURES")


def ordered_features(names: Iterable[str]) -> tuple[str, ...]:
    """The chosen feature names in Playground's order, each once; unknown names are refused."""
    chosen = set()
    for name in names:
        if name not in _FEATURES:
            raise DataError(f"unknown input feature '{name}'; the features are {', '.join(PLAYGROUND_FEATURES)}")
        chosen.add(name)
    if not chosen:
        raise DataError("choose at least one input feature (for example x1 and x2)")
    return tuple(f for f in PLAYGROUND_FEATURES if f in chosen)


def playground_features(xy: np.ndarray, names: Iterable[str]) -> np.ndarray:
    """The selected input features of 2-D points, as an `(n, k)` float64 matrix in Playground's order."""
    points = np.asarray(xy, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2:
        raise DataError(f"Playground features need 2-D points of shape (n, 2), not {points.shape}")
    x, y = points[:, 0], points[:, 1]
    columns = [_FEATURES[name](x, y) for name in ordered_features(names)]
    return np.column_stack(columns) if columns else np.empty((len(points), 0))


@dataclass(frozen=True, eq=False)
class PlaygroundGrid:
    """A square grid of points with their input features, for drawing a decision boundary or heatmap.

    Row `j * resolution + i` of `points` and `features` is the point `(xs[i], ys[j])`, so a network's
    outputs reshaped to `(resolution, resolution)` are indexed `[j, i]`, with `ys` increasing with `j`.
    """

    xs: np.ndarray  # (resolution,) x1 coordinates of the columns
    ys: np.ndarray  # (resolution,) x2 coordinates of the rows
    points: np.ndarray  # (resolution**2, 2) the grid points
    features: np.ndarray  # (resolution**2, k) their input features

    @property
    def resolution(self) -> int:
        return len(self.xs)


def playground_grid(
    features: Iterable[str], resolution: int = GRID_RESOLUTION, extent: float = GRID_EXTENT
) -> PlaygroundGrid:
    """The `resolution` x `resolution` grid over [-extent, extent]^2 with the chosen features computed."""
    if not 2 <= resolution <= 2000:
        raise DataError(f"the grid resolution must be between 2 and 2000, not {resolution}")
    if not extent > 0 or not np.isfinite(extent):
        raise DataError(f"the grid extent must be a positive number, not {extent}")
    xs = np.linspace(-extent, extent, resolution)
    ys = np.linspace(-extent, extent, resolution)
    gx, gy = np.meshgrid(xs, ys)
    points = np.column_stack([gx.ravel(), gy.ravel()])
    return PlaygroundGrid(xs=xs, ys=ys, points=points, features=playground_features(points, features))
