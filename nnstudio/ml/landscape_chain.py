"""Batched matmuls for the loss landscape of a chain of Linear layers and elementwise steps.

For a design that is one chain — Linear layers, each followed by its elementwise activation, with
Activation, Dropout (eval: identity), Identity and Flatten steps in between — the loss at many weight
points is a few batched matrix products instead of a `vmap` over `functional_call`:

- the steps before the first Linear have no weights, so they run once on the data, through the model's
  own modules;
- the first Linear sees the same input at every point, so all points' weights stack into one matrix
  and the layer is one GEMM: (points·out, in) @ (in, samples);
- every later Linear is one `torch.baddbmm` over the points' stacked weights, with activations kept as
  (points, features, samples) so that each product's long side is the samples and elementwise steps
  run over contiguous memory;
- between them the model's own activation functions and modules (the very objects its `forward` calls)
  run on the batched tensors, and the training loss function object is mapped over the points with
  `torch.vmap`.

Weight points are never loaded into the model; the weights come from the problem's own parameters and
directions (`center + Σ cᵢ·dᵢ`, one `addmm` per parameter). On the CPU, points are processed in tiles
whose activations fit the cache (about 1 MB): the chain of products and elementwise steps ran fastest
that way here (tiles of 1 MB vs the whole 41×41 grid at once: about 1.4× faster). `ChainLoss.plan`
returns None for any other model (convolutions, batch-norm, branches, …), and the caller falls back to
`vmap`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from .builder import ACTIVATION_FUNCTIONS, Activation, DesignModule, Identity

Elementwise = Callable[[torch.Tensor], torch.Tensor]
TILE_BYTES = 1 << 20  # one tile's widest activation (points × features × samples × 4 bytes), for the cache
MIN_TILE_POINTS = 8
# Modules that act on each value alone (or not at all, in eval mode): they run unchanged on batched tensors.
ELEMENTWISE_MODULES: tuple[type[nn.Module], ...] = (
    Activation, Identity, nn.Identity, nn.Dropout, nn.Tanh, nn.ReLU, nn.Sigmoid, nn.GELU, nn.ELU,
    nn.LeakyReLU, nn.Softplus, nn.SiLU)


@dataclass(frozen=True)
class LinearStep:
    """One Linear layer of the chain, by its parameters' names, and the elementwise steps after it."""

    weight: str
    bias: str | None
    in_features: int
    out_features: int
    after: tuple[Elementwise, ...]


def _chain_modules(model: nn.Module) -> list[tuple[nn.Module, Elementwise | None]] | None:
    """(module, activation applied after it) in execution order, or None if the model is no single chain."""
    if isinstance(model, DesignModule):
        previous = model.steps[0].name
        out: list[tuple[nn.Module, Elementwise | None]] = [(getattr(model, previous), None)]
        for step in model.steps[1:]:
            if step.inputs != (previous,):
                return None  # a branch, a merge (Add, Concatenate) or a skip connection
            activation = ACTIVATION_FUNCTIONS[step.activation] if step.activation is not None else None
            out.append((getattr(model, step.name), activation))
            previous = step.name
        return out
    if isinstance(model, nn.Sequential):
        return [(m, None) for m in model]
    return None


class ChainLoss:
    """The summed loss of a Linear chain at a stack of weight points, by batched matmuls."""

    def __init__(self, prefix: list[nn.Module], layers: list[LinearStep],
                 loss_sum_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
        self.prefix = prefix
        self.layers = layers
        self.widest = max(max(s.in_features, s.out_features) for s in layers)
        self._loss = torch.vmap(loss_sum_fn, in_dims=(0, None))

    @classmethod
    def plan(cls, model: nn.Module, loss_sum_fn: Callable) -> ChainLoss | None:
        """The plan for `model`, or None when it is not a chain of Linear layers and elementwise steps."""
        chain = _chain_modules(model)
        if chain is None or any(True for _ in model.buffers()):
            return None  # buffers (batch-norm statistics) mean a layer this path does not model
        names = {id(p): n for n, p in model.named_parameters()}
        prefix: list[nn.Module] = []
        layers: list[LinearStep] = []
        pending: list[Elementwise] = []
        covered: set[str] = set()
        for module, activation in chain:
            if isinstance(module, nn.Linear):
                if layers:
                    layers[-1] = _with_after(layers[-1], pending)
                pending = []
                weight = names[id(module.weight)]
                bias = names[id(module.bias)] if module.bias is not None else None
                covered.update(n for n in (weight, bias) if n is not None)
                layers.append(LinearStep(weight, bias, module.in_features, module.out_features, ()))
            elif isinstance(module, ELEMENTWISE_MODULES):
                if any(True for _ in module.parameters()):
                    return None  # e.g. PReLU-like modules with learned values
                (pending if layers else prefix).append(module)
            elif isinstance(module, nn.Flatten) and module.start_dim == 1 and module.end_dim == -1:
                if not layers:
                    prefix.append(module)  # after a Linear the features are already flat: nothing to do
            else:
                return None
            if activation is not None:
                (pending if layers else prefix).append(activation)
        if not layers or covered != set(names.values()):
            return None
        layers[-1] = _with_after(layers[-1], pending)
        return cls(prefix, layers, loss_sum_fn)

    def tile_points(self, samples: int) -> int:
        """Weight points per tile: the widest activation of a tile fits `TILE_BYTES`."""
        return max(MIN_TILE_POINTS, TILE_BYTES // max(1, 4 * self.widest * samples))

    @torch.no_grad()
    def fits(self, x: torch.Tensor) -> bool:
        """Whether the data reaches the first Linear as flat feature vectors of the right width."""
        x = x[:1]
        for module in self.prefix:
            if not isinstance(module, nn.Dropout):  # keeps the shape; in training mode it would draw random numbers
                x = module(x)
        return x.dim() == 2 and x.shape[1] == self.layers[0].in_features

    def shared_input(self, x: torch.Tensor) -> torch.Tensor:
        """The data through the weightless steps before the first Linear, as (features, samples)."""
        for module in self.prefix:
            x = module(x)
        return x.reshape(x.shape[0], -1).t().contiguous()

    def outputs(self, params: dict[str, torch.Tensor], xt: torch.Tensor) -> torch.Tensor:
        """The model's output at every point, (points, samples, outputs); `xt` from `shared_input`."""
        first, *rest = self.layers
        weight = params[first.weight]
        points = weight.shape[0]
        stacked = weight.reshape(points * first.out_features, first.in_features)
        if first.bias is None:
            h = torch.mm(stacked, xt)
        else:
            h = torch.addmm(params[first.bias].reshape(-1, 1), stacked, xt)
        h = h.view(points, first.out_features, -1)
        for step in first.after:
            h = step(h)
        for layer in rest:
            if layer.bias is None:
                h = torch.bmm(params[layer.weight], h)
            else:
                h = torch.baddbmm(params[layer.bias].unsqueeze(2), params[layer.weight], h)
            for step in layer.after:
                h = step(h)
        return h.transpose(1, 2)

    def sums(self, params: dict[str, torch.Tensor], xt: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The summed loss over the samples at each point (float64), tile by tile."""
        points = next(iter(params.values())).shape[0]
        tile = points if xt.is_cuda else self.tile_points(xt.shape[1])  # a GPU wants few, big kernels
        outs = [self.outputs({n: t[lo:lo + tile] for n, t in params.items()}, xt) for lo in range(0, points, tile)]
        out = outs[0] if len(outs) == 1 else torch.cat(outs)
        return self._loss(out, y).to(torch.float64)


def _with_after(layer: LinearStep, after: Sequence[Elementwise]) -> LinearStep:
    return LinearStep(layer.weight, layer.bias, layer.in_features, layer.out_features, tuple(after))


def weight_points(center: dict[str, torch.Tensor], stacked: dict[str, torch.Tensor | None],
                  coefficients: torch.Tensor) -> dict[str, torch.Tensor]:
    """center + coefficients @ directions for every parameter: (points, *shape), one addmm each."""
    out = {}
    for name, c in center.items():
        directions = stacked[name]
        points = coefficients.shape[0]
        if directions is None:
            out[name] = c.unsqueeze(0).expand(points, *c.shape)
            continue
        flat = torch.addmm(c.reshape(1, -1), coefficients, directions.reshape(directions.shape[0], -1))
        out[name] = flat.view(points, *c.shape)
    return out
