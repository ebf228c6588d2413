"""TensorFlow Playground's training semantics (`training.recipe = "playground"`): loss, batch order, updates.

Read from Playground's `nn.ts` and `playground.ts` (see REFERENCE.md):
- classification: the output neuron is tanh and the loss ½(out − t)² with targets t = ±1; regression: a
  linear output and ½(out − y)². The reported training and test losses are the mean of that loss over
  the whole training / test set, with the current weights (`getLoss`).
- the training set is shuffled once, when the data is made (NN Studio's loader already does that); every
  epoch walks it in that fixed order. Weights update after every `batch_size`-th point, and the derivatives
  of a trailing partial batch carry into the next epoch's first update, which then averages over
  remainder + batch_size points.
- L2 adds rate·w to the derivative (SGD's weight decay, identical arithmetic). L1 first takes the gradient
  step, then subtracts lr·rate·sign(w); a weight that this second step carries across zero is set to 0 and
  its link is dead from then on (no further updates).
- weights start U(−0.5, 0.5), biases 0.1 (`initialize(model, "playground")`).

The model itself is unchanged: it still returns the output layer's pre-activation z. The recipe applies
tanh inside its loss, and a boundary probability of (1 + tanh z) / 2 = sigmoid(2z); the predicted class
(z > 0) is the same either way.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from nnstudio.core.errors import TrainingError
from nnstudio.core.settings import TrainingConfig

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def initialisation(config: TrainingConfig) -> str:
    """The weight initialisation a configuration trains with: Playground's under its recipe."""
    return "playground" if config.playground else config.init


def playground_losses(task: str) -> tuple[LossFn, LossFn]:
    """(mean loss for a batch, summed loss for evaluation) of Playground's squared error.

    Targets come as `prepare_targets` makes them: 0/1 floats (n, 1) for binary, values (n, k) for regression.
    """
    if task not in ("binary", "regression"):
        raise TrainingError("the Playground recipe trains one output (binary classification or regression); a "
                            "multi-class Output needs the PyTorch recipe")
    return squared_losses(task)


def squared_losses(task):
    """Playground's ½(tanh(z) − t)² on t = ±1 (binary) or ½(z − y)² (regression): (batch mean, set sum).

    Written in plain torch: the generated train.py of a Playground-recipe design holds this very source.
    """
    if task == "binary":
        def mean(out, y):
            return 0.5 * (torch.tanh(out) - (2.0 * y - 1.0)).square().mean()

        def total(out, y):
            return 0.5 * (torch.tanh(out) - (2.0 * y - 1.0)).square().sum()

        return mean, total
    # Per sample ½ Σ_k (o_k − y_k)² / k: Playground's ½(o − y)² for its one output.
    return (lambda out, y: 0.5 * (out - y).square().mean(),
            lambda out, y: 0.5 * (out - y).square().sum() / out.shape[1])


def playground_probability(out: torch.Tensor) -> torch.Tensor:
    """Playground's output tanh(z) mapped to 0..1 for the decision boundary: (1 + tanh z) / 2."""
    return torch.sigmoid(2.0 * out)


def batch_bounds(n: int, batch_size: int, epoch: int) -> tuple[torch.Tensor, list[tuple[int, int]]]:
    """The sample order of 0-based `epoch` and each update's (start, stop) in it.

    With r = n mod batch_size, epoch 0 updates on [0, b), [b, 2b), … and leaves the last r points
    accumulated; every later epoch's first update takes those r points and the first b, so its order
    starts with them.
    """
    k = n // batch_size
    r = n - k * batch_size
    if epoch == 0 or r == 0:
        order = torch.arange(n)
        bounds = [(i * batch_size, (i + 1) * batch_size) for i in range(k)]
        return order, bounds
    order = torch.cat([torch.arange(n - r, n), torch.arange(0, n - r)])
    bounds = [(0, r + batch_size)] + [(r + i * batch_size, r + (i + 1) * batch_size) for i in range(1, k)]
    return order, bounds


class PlaygroundL1:
    """Playground's L1 update around the optimizer's step: the clamp at zero and the dead links it leaves.

    `before_step` remembers sign(w) (Playground takes the L1 derivative before the gradient step) and
    silences dead links' gradients; `after_step` applies −lr·rate·sign(w) and kills what crosses zero.
    """

    def __init__(self, weights: list[torch.nn.Parameter], resumed: bool = False) -> None:
        self.weights = weights
        # A resumed run's dead links are the weights at exactly 0 (a live weight is never exactly 0).
        with torch.no_grad():
            self.dead = [(w == 0) if resumed else torch.zeros_like(w, dtype=torch.bool) for w in weights]
        self._signs: list[torch.Tensor] = []

    @torch.no_grad()
    def before_step(self) -> None:
        self._signs = torch._foreach_sign(self.weights)
        for w, dead in zip(self.weights, self.dead, strict=True):
            if w.grad is not None:
                w.grad.masked_fill_(dead, 0.0)

    @torch.no_grad()
    def after_step(self, learning_rate: float, rate: float) -> None:
        step = learning_rate * rate
        for w, dead, sign in zip(self.weights, self.dead, self._signs, strict=True):
            moved = w - step * sign
            crossed = (w * moved) < 0
            dead |= crossed
            w.copy_(moved.masked_fill_(dead, 0.0))
        self._signs = []

    def dead_links(self) -> int:
        return int(sum(int(d.sum()) for d in self.dead))
