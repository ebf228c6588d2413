"""The loss landscape: the loss of a model over many weight points at once, on a plane or along a line.

A landscape is the loss at θ = θ₀ + a·d₁ + b·d₂ for a grid of (a, b) (Li et al. 2018, "Visualizing the
Loss Landscape of Neural Nets"); a 1-D interpolation is θ = (1 − α)·θ_A + α·θ_B. Every weight point is a
row of coefficients over a few directions, and whole chunks of points are evaluated in one call:
`torch.func.functional_call` runs the model with a stacked set of parameters and `torch.vmap` maps it over
the stack, so a 41×41 grid of a small network is a few batched matmuls, not 1,681 weight loads. Chunks
are sized to a memory budget (parameters and activations of each point), so a model of 10⁶ parameters
is evaluated a few points at a time instead of failing.

Directions: filter-normalised random directions (Li et al.: each filter — a row of a weight matrix, one
output channel of a convolution — of a Gaussian direction is scaled to the norm of the same filter of the
weights; biases and other 1-D parameters get no direction, as in Li et al.'s default), or the two
principal directions of a recorded weight trajectory (see `trajectory.py`).

The loss is the training loss without regularisation, with the model in eval mode (dropout off,
batch-norm running statistics), summed over the data in slices and divided by the number of samples —
the same figure `model_loss` computes with a plain forward pass.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

from nnstudio.core.errors import NNStudioError

from .landscape_chain import ChainLoss, weight_points

Weights = dict[str, torch.Tensor]
Progress = Callable[[int, int], None]  # (points done, points in all)

DEFAULT_MEMORY_BUDGET = 256 << 20  # bytes one chunk of weight points may occupy
DATA_SLICE = 4096  # samples per forward pass; the loss is summed over slices
ACTIVATION_FACTOR = 3  # a layer's output, its activation and a temporary, per sample


class LandscapeCancelled(NNStudioError):
    """The user cancelled a landscape computation."""


@dataclass
class LossProblem:
    """A model (holding the centre weights), data on the model's device and the summed loss."""

    model: nn.Module
    x: torch.Tensor
    y: torch.Tensor
    loss_sum_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    split: str = "train"

    @property
    def device(self) -> torch.device:
        return self.x.device

    @property
    def samples(self) -> int:
        return int(self.x.shape[0])

    def weights(self) -> Weights:
        """The model's parameters (detached): the centre of a landscape."""
        return {name: p.detach() for name, p in self.model.named_parameters()}

    @classmethod
    def from_trainer(cls, trainer: Any, split: str = "train", max_samples: int | None = None) -> LossProblem:
        """The loss a trainer reports, on its training set (or its validation set with split="val");
        `max_samples` keeps only the set's first samples (a big set's landscape in less time)."""
        if split == "val":
            if trainer.x_val is None:
                raise NNStudioError("this dataset has no validation samples: use the training set")
            x, y = trainer.x_val, trainer.y_val
        elif split == "train":
            x, y = trainer.x_train, trainer.y_train
        else:
            raise ValueError(f"split must be 'train' or 'val', not {split!r}")
        if max_samples is not None and 0 < max_samples < len(x):  # a fixed subset: the first samples
            x, y = x[:max_samples], y[:max_samples]
        return cls(trainer.model, x, y, trainer.loss_sum_fn, split)


@dataclass
class Landscape:
    """A computed loss surface on a plane through `center` (all numbers plain, for plots and JSON)."""

    xs: np.ndarray  # coefficients along direction 1 (columns)
    ys: np.ndarray  # coefficients along direction 2 (rows)
    losses: np.ndarray  # (len(ys), len(xs)); row j is ys[j]; NaN/inf where the loss overflowed
    center_loss: float  # loss at the centre weights (a = b = 0), by a plain forward pass
    directions: str  # "random", "pca" or "custom"
    span: float
    split: str
    samples: int
    parameters: int
    trajectory: np.ndarray | None = None  # (T, 2) coordinates of recorded weights on the plane
    trajectory_steps: list[int] = field(default_factory=list)
    explained: tuple[float, float] | None = None  # PCA: share of the trajectory's variance per direction
    seconds: float = 0.0
    chunk_points: int = 0
    strategy: str = "vmap"  # how the points were evaluated: "matmul" or "vmap" (batched), "loop" (one at a time)
    plane_vectors: tuple[np.ndarray, np.ndarray] | None = None  # the two directions, flattened (not in JSON)

    @property
    def points_per_second(self) -> float:
        return self.losses.size / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        def finite(values: np.ndarray) -> list:
            return [[float(v) if math.isfinite(v) else None for v in row] for row in values]

        data: dict[str, Any] = {
            "format": "nnstudio.landscape", "version": 1,
            "directions": self.directions, "span": self.span, "split": self.split, "samples": self.samples,
            "parameters": self.parameters,
            "x": [float(v) for v in self.xs], "y": [float(v) for v in self.ys],
            "loss": finite(self.losses), "center_loss": self.center_loss,
            "trajectory": None, "seconds": self.seconds, "strategy": self.strategy,
        }
        if self.trajectory is not None:
            data["trajectory"] = {"steps": list(self.trajectory_steps),
                                  "coordinates": [[float(a), float(b)] for a, b in self.trajectory]}
        if self.explained is not None:
            data["explained_variance"] = [float(v) for v in self.explained]
        return data


# ---- plain evaluation (the reference) ----------------------------------------------------------------

@torch.no_grad()
def model_loss(problem: LossProblem, weights: Weights | None = None) -> float:
    """Mean loss of the model (with `weights` loaded into it, then put back) by plain forward passes."""
    model = problem.model
    saved = None
    if weights is not None:
        saved = {n: p.detach().clone() for n, p in model.named_parameters()}
        _load(model, weights)
    was_training = model.training
    model.eval()
    try:
        total = 0.0
        for lo in range(0, problem.samples, DATA_SLICE):
            out = model(problem.x[lo:lo + DATA_SLICE])
            total += float(problem.loss_sum_fn(out, problem.y[lo:lo + DATA_SLICE]))
        return total / max(1, problem.samples)
    finally:
        model.train(was_training)
        if saved is not None:
            _load(model, saved)


def _load(model: nn.Module, weights: Weights) -> None:
    params = dict(model.named_parameters())
    for name, value in weights.items():
        params[name].copy_(value)


def loop_losses(problem: LossProblem, center: Weights, directions: Sequence[Weights],
                coefficients: np.ndarray) -> np.ndarray:
    """The same losses as `batched_losses`, one weight point at a time (a benchmark's baseline)."""
    out = np.empty(len(coefficients))
    for i, row in enumerate(np.asarray(coefficients, dtype=np.float64)):
        point = {n: c + sum(float(a) * d[n] for a, d in zip(row, directions, strict=True)) for n, c in center.items()}
        out[i] = model_loss(problem, point)
    return out


# ---- batched evaluation --------------------------------------------------------------------------------

def activation_bytes_per_sample(model: nn.Module, sample: torch.Tensor) -> int:
    """Bytes of every leaf module's output for one sample (a forward pass with hooks, once)."""
    total = [0]

    def hook(_module: nn.Module, _inputs: Any, output: Any) -> None:
        if isinstance(output, torch.Tensor):
            total[0] += output.numel() * output.element_size()

    handles = [m.register_forward_hook(hook) for m in model.modules() if not list(m.children())]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(sample[:1])
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return max(total[0], sample[:1].numel() * 4)


def plan_chunks(parameter_bytes: int, activation_bytes: int, samples: int,
                memory_budget: int = DEFAULT_MEMORY_BUDGET) -> tuple[int, int]:
    """(weight points per chunk, samples per forward slice) that fit the memory budget."""
    data_slice = max(1, min(samples, DATA_SLICE))
    per_point = lambda s: parameter_bytes * 2 + activation_bytes * ACTIVATION_FACTOR * s  # noqa: E731
    while data_slice > 1 and per_point(data_slice) > memory_budget:
        data_slice = max(1, data_slice // 2)
    points = max(1, memory_budget // max(1, per_point(data_slice)))
    return int(points), int(data_slice)


class BatchedLoss:
    """Evaluates the problem's loss at many weight points per call (chunked to a memory budget).

    Three ways, all computing the same sums from the model's own parameters and loss function:
    - "matmul": a chain of Linear layers and elementwise steps (`landscape_chain.ChainLoss`) runs as a
      few batched matrix products per tile of points — the fastest, chosen whenever the model is one;
    - "vmap": `functional_call` mapped over the stacked weights with `torch.vmap`, for any model; it turns
      a layer with a stack of weights into one batched kernel, a big win for dense layers;
    - "loop": `functional_call` one point at a time (no weights copied). A convolution with stacked
      weights becomes a grouped convolution, which on some CPUs is no faster than one convolution per
      point: so for a model that is no chain, given enough chunks, the first is timed with vmap and the
      second one point at a time, and the faster way does the rest (`self.used` says which).
    """

    def __init__(self, problem: LossProblem, memory_budget: int = DEFAULT_MEMORY_BUDGET,
                 max_points: int | None = None, strategy: str = "auto") -> None:
        if strategy not in ("auto", "matmul", "vmap", "loop"):
            raise ValueError(f"strategy must be auto, matmul, vmap or loop, not {strategy!r}")
        self.problem = problem
        model = problem.model
        self.chain = ChainLoss.plan(model, problem.loss_sum_fn) if strategy in ("auto", "matmul") else None
        if self.chain is not None and not self.chain.fits(problem.x):
            self.chain = None
        if strategy == "matmul" and self.chain is None:
            raise ValueError("the matmul strategy needs a chain of Linear layers and elementwise steps")
        self.strategy = "matmul" if self.chain is not None else strategy
        self.names = [n for n, _ in model.named_parameters()]
        self.buffers = {n: b.detach() for n, b in model.named_buffers()}
        parameter_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
        activations = activation_bytes_per_sample(model, problem.x)
        self.chunk_points, self.data_slice = plan_chunks(parameter_bytes, activations, problem.samples,
                                                         memory_budget)
        if max_points is not None:
            self.chunk_points = max(1, min(self.chunk_points, int(max_points)))
        loss_sum = problem.loss_sum_fn

        def one_point(params: Weights, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
            out = functional_call(model, (params, self.buffers), (xb,))
            return loss_sum(out, yb)

        self._one = one_point
        self._many = torch.vmap(one_point, in_dims=(0, None, None))
        self.used = self.strategy if self.strategy != "auto" else "vmap"

    def _slices(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The data in slices of `data_slice` samples (for the matmul path: its shared input, transposed)."""
        problem = self.problem
        out = []
        for start in range(0, problem.samples, self.data_slice):
            xb = problem.x[start:start + self.data_slice]
            out.append((self.chain.shared_input(xb) if self.chain is not None else xb,
                        problem.y[start:start + self.data_slice]))
        return out

    def _sums(self, params: Weights, count: int, mode: str,
              slices: list[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
        total = torch.zeros(count, dtype=torch.float64, device=self.problem.device)
        for xb, yb in slices:
            if mode == "matmul":
                total += self.chain.sums(params, xb, yb)
            elif mode == "loop":
                for i in range(count):
                    total[i] += self._one({n: t[i] for n, t in params.items()}, xb, yb).to(torch.float64)
            else:
                total += self._many(params, xb, yb).to(torch.float64)
        return total

    @torch.no_grad()
    def __call__(self, center: Weights, directions: Sequence[Weights], coefficients: np.ndarray,
                 progress: Progress | None = None, cancelled: Callable[[], bool] | None = None) -> np.ndarray:
        """Mean loss at center + Σ coefficients[k, i]·directions[i], for every row k."""
        coeffs = np.asarray(coefficients, dtype=np.float64)
        if coeffs.ndim != 2 or coeffs.shape[1] != len(directions):
            raise ValueError(f"coefficients must be (points, {len(directions)}), not {coeffs.shape}")
        problem, model = self.problem, self.problem.model
        device = problem.device
        base = {n: center[n].to(device) for n in self.names}
        stacked = {n: torch.stack([d[n].to(device, base[n].dtype) for d in directions]) if directions else None
                   for n in self.names}
        result = np.empty(len(coeffs))
        chunks = range(0, len(coeffs), self.chunk_points)
        choosing = self.strategy == "auto" and len(chunks) >= 3
        mode = self.strategy if self.strategy != "auto" else "vmap"
        per_point: dict[str, float] = {}
        was_training = model.training
        model.eval()
        try:
            slices = self._slices()
            for index, lo in enumerate(chunks):
                if cancelled is not None and cancelled():
                    raise LandscapeCancelled("landscape cancelled")
                dtype = next(iter(base.values())).dtype if base else torch.float32
                chunk = torch.as_tensor(coeffs[lo:lo + self.chunk_points], dtype=dtype, device=device)
                params = weight_points(base, stacked, chunk)
                if mode != "matmul":  # vmap and functional_call want real (not broadcast) stacks
                    params = {n: t.contiguous() for n, t in params.items()}
                if choosing and index < 2:
                    mode = "vmap" if index == 0 else "loop"
                started = time.perf_counter()
                total = self._sums(params, len(chunk), mode, slices)
                result[lo:lo + len(chunk)] = (total / max(1, problem.samples)).cpu().numpy()
                if choosing and index < 2:
                    per_point[mode] = (time.perf_counter() - started) / len(chunk)
                    if index == 1:
                        mode = min(per_point, key=per_point.get)
                if progress is not None:
                    progress(min(len(coeffs), lo + len(chunk)), len(coeffs))
        finally:
            model.train(was_training)
        self.used = mode
        return result


# ---- directions ----------------------------------------------------------------------------------------

def filter_normalized_direction(weights: Weights, generator: torch.Generator) -> Weights:
    """A Gaussian direction with each filter scaled to the norm of the weights' filter (Li et al. 2018)."""
    direction = {}
    for name, w in weights.items():
        if w.dim() <= 1:  # biases, normalisation scales: no direction (Li et al.'s "ignore biasbn")
            direction[name] = torch.zeros_like(w)
            continue
        d = torch.randn(w.shape, generator=generator, dtype=w.dtype).to(w.device)
        w_norms = w.reshape(w.shape[0], -1).norm(dim=1)
        d_norms = d.reshape(d.shape[0], -1).norm(dim=1)
        scale = w_norms / (d_norms + 1e-10)
        direction[name] = d * scale.reshape(-1, *([1] * (w.dim() - 1)))
    return direction


def random_directions(weights: Weights, seed: int = 0) -> tuple[Weights, Weights]:
    generator = torch.Generator().manual_seed(seed)
    return filter_normalized_direction(weights, generator), filter_normalized_direction(weights, generator)


def flatten(weights: Weights, names: Sequence[str] | None = None) -> np.ndarray:
    names = list(weights) if names is None else list(names)
    return np.concatenate([weights[n].detach().cpu().reshape(-1).double().numpy() for n in names])


def unflatten(vector: np.ndarray, like: Weights) -> Weights:
    out, offset = {}, 0
    for name, w in like.items():
        n = w.numel()
        out[name] = torch.as_tensor(vector[offset:offset + n], dtype=w.dtype).reshape(w.shape).to(w.device)
        offset += n
    return out


def project(points: np.ndarray, center: np.ndarray, d1: np.ndarray, d2: np.ndarray) -> np.ndarray:
    """Least-squares coordinates (a, b) of each point − center on the plane spanned by d1, d2."""
    basis = np.stack([d1, d2], axis=1)  # (P, 2)
    # Through the pseudo-inverse, not lstsq per call: a non-finite point (a diverged run) gives NaN
    # coordinates for itself only.
    return (np.asarray(points, dtype=np.float64) - center) @ np.linalg.pinv(basis).T


# ---- landscapes ----------------------------------------------------------------------------------------

def grid_coefficients(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Rows (a, b) in row-major order: row j of the surface is ys[j]."""
    a, b = np.meshgrid(xs, ys)
    return np.stack([a.ravel(), b.ravel()], axis=1)


def compute_landscape(
    problem: LossProblem,
    *,
    grid: int = 41,
    span: float = 1.0,
    directions: str = "random",
    trajectory: Any = None,
    seed: int = 0,
    plane: tuple[Weights, Weights] | None = None,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> Landscape:
    """The loss on a grid×grid plane through the problem's current weights, ±span along each direction.

    directions="random": two filter-normalised random directions (from `seed`); "pca": the trajectory's
    two principal directions, scaled so that its farthest point lies at 1 (needs `trajectory`, a
    `Trajectory` recorded while training, whose last point should be the current weights); or pass
    `plane` (two directions) for a plane of your own. The trajectory, if given, is projected on the plane.
    """
    from .trajectory import pca_plane

    if grid < 2 or grid > 401:
        raise NNStudioError(f"the grid must have 2 to 401 points per side, not {grid}")
    if not (math.isfinite(span) and span > 0):
        raise NNStudioError(f"the span must be a positive number, not {span}")
    started = time.perf_counter()
    center = problem.weights()
    names = list(center)
    center_flat = flatten(center, names)
    explained = None
    kind = directions
    if plane is not None:
        d1, d2 = plane
        kind = "custom"
    elif directions == "random":
        d1, d2 = random_directions(center, seed)
    elif directions == "pca":
        if trajectory is None or len(trajectory) < 3:
            raise NNStudioError("PCA directions need a weight trajectory of at least 3 recorded points: "
                                "train first, or use random directions")
        v1, v2, explained = pca_plane(trajectory.points(), center_flat)
        d1, d2 = unflatten(v1, center), unflatten(v2, center)
    else:
        raise NNStudioError(f"directions must be random or pca, not {directions!r}")
    xs = np.linspace(-span, span, grid)
    ys = np.linspace(-span, span, grid)
    evaluate = BatchedLoss(problem, memory_budget)
    values = evaluate(center, [d1, d2], grid_coefficients(xs, ys), progress, cancelled)
    coords, steps = None, []
    flat1, flat2 = flatten(d1, names), flatten(d2, names)
    if trajectory is not None and len(trajectory) > 0:
        coords = project(trajectory.points(), center_flat, flat1, flat2)
        steps = list(trajectory.steps)
    return Landscape(
        xs=xs, ys=ys, losses=values.reshape(grid, grid), center_loss=model_loss(problem),
        directions=kind, span=float(span), split=problem.split, samples=problem.samples,
        parameters=int(center_flat.size), trajectory=coords, trajectory_steps=steps, explained=explained,
        seconds=time.perf_counter() - started, chunk_points=evaluate.chunk_points, plane_vectors=(flat1, flat2),
        strategy=getattr(evaluate, "used", "vmap"))


@dataclass
class Interpolation:
    """The loss along the straight line from weights A (α = 0) to weights B (α = 1)."""

    alphas: np.ndarray
    losses: np.ndarray
    loss_a: float
    loss_b: float

    @property
    def barrier(self) -> float:
        """How far the line rises above the worse of its two ends (0 when it never does)."""
        inside = self.losses[(self.alphas >= 0) & (self.alphas <= 1)]
        return float(max(0.0, np.nanmax(inside) - max(self.loss_a, self.loss_b))) if inside.size else 0.0

    def to_json(self) -> dict[str, Any]:
        return {"alpha": [float(a) for a in self.alphas],
                "loss": [float(v) if math.isfinite(v) else None for v in self.losses],
                "loss_a": self.loss_a, "loss_b": self.loss_b, "barrier": self.barrier}


def interpolate(problem: LossProblem, weights_a: Weights, weights_b: Weights, points: int = 41,
                margin: float = 0.25, memory_budget: int = DEFAULT_MEMORY_BUDGET,
                progress: Progress | None = None, cancelled: Callable[[], bool] | None = None) -> Interpolation:
    """1-D interpolation θ(α) = θ_A + α·(θ_B − θ_A) for α from −margin to 1 + margin."""
    names = [n for n, _ in problem.model.named_parameters()]
    missing = [n for n in names if n not in weights_a or n not in weights_b]
    if missing:
        raise NNStudioError(f"the two weight sets do not fit this model: {missing[0]} is missing")
    device = problem.device
    a = {n: weights_a[n].to(device, torch.float32) for n in names}
    b = {n: weights_b[n].to(device, torch.float32) for n in names}
    direction = {n: b[n] - a[n] for n in names}
    alphas = np.linspace(-margin, 1 + margin, points)
    if 0.0 not in alphas or 1.0 not in alphas:  # make sure both ends are evaluated exactly
        alphas = np.unique(np.concatenate([alphas, [0.0, 1.0]]))
    losses = BatchedLoss(problem, memory_budget)(a, [direction], alphas[:, None], progress, cancelled)
    return Interpolation(alphas=alphas, losses=losses, loss_a=model_loss(problem, a), loss_b=model_loss(problem, b))
