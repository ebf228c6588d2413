"""An independent port of TensorFlow Playground's training loop (nn.ts, playground.ts) in numpy float64.

Two forms, written from Playground's source and from nothing in nnstudio:
- `LiteralNetwork`: nn.ts almost line by line — Node and Link objects, `forward_prop`, `back_prop` and
  `update_weights` per point, exactly as `oneStep` calls them. Slow; used on small cases to check the other.
- `PortNetwork`: the same arithmetic with one weight matrix per layer. Between two updates the weights do
  not change, so the derivatives Playground accumulates point by point are sums over those points; the
  accumulators persist across epochs, so a trailing partial batch carries into the next epoch as in
  Playground. This one is fast enough for the statistics in bench/playground_stats.py.

Both take weights as matrices `w[l]` of shape (fan_out, fan_in) and biases `b[l]`, PyTorch's layout, so a
test can start them from an NN Studio model's initial weights.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

ACTIVATIONS = {
    "tanh": (np.tanh, lambda x: 1.0 - np.tanh(x) ** 2),
    "relu": (lambda x: np.maximum(0.0, x), lambda x: (x > 0).astype(np.float64)),
    "sigmoid": (lambda x: 1.0 / (1.0 + np.exp(-x)),
                lambda x: (1.0 / (1.0 + np.exp(-x))) * (1.0 - 1.0 / (1.0 + np.exp(-x)))),
    "linear": (lambda x: x, lambda x: np.ones_like(x)),
}


def playground_init(shape: Sequence[int], rng: np.random.Generator) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Playground's initial weights: U(−0.5, 0.5) per link, drawn node by node as buildNetwork makes
    them; bias 0.1. `shape` is [inputs, hidden..., 1]."""
    weights, biases = [], []
    for fan_in, fan_out in zip(shape[:-1], shape[1:], strict=True):
        weights.append(rng.random((fan_out, fan_in)) - 0.5)  # row = destination node, in link order
        biases.append(np.full(fan_out, 0.1))
    return weights, biases


# ---- nn.ts, nearly line by line ------------------------------------------------------------------------

class _Node:
    def __init__(self, activation: str) -> None:
        self.input_links: list[_Link] = []
        self.outputs: list[_Link] = []
        self.bias = 0.1
        self.total_input = 0.0
        self.output = 0.0
        self.output_der = 0.0
        self.input_der = 0.0
        self.acc_input_der = 0.0
        self.num_accumulated_ders = 0
        self.activation = activation

    def update_output(self) -> float:
        self.total_input = self.bias
        for link in self.input_links:
            self.total_input += link.weight * link.source.output
        self.output = float(ACTIVATIONS[self.activation][0](self.total_input))
        return self.output


class _Link:
    def __init__(self, source: _Node, dest: _Node, weight: float) -> None:
        self.source, self.dest, self.weight = source, dest, weight
        self.is_dead = False
        self.error_der = 0.0
        self.acc_error_der = 0.0
        self.num_accumulated_ders = 0


class LiteralNetwork:
    """nn.ts's Node/Link network with `oneStep`'s loop."""

    def __init__(self, weights: list[np.ndarray], biases: list[np.ndarray], activation: str,
                 output_activation: str, regularization: str | None) -> None:
        self.regularization = regularization
        sizes = [weights[0].shape[1]] + [w.shape[0] for w in weights]
        self.layers: list[list[_Node]] = [[_Node("linear") for _ in range(sizes[0])]]
        for index, (w, b) in enumerate(zip(weights, biases, strict=True)):
            last = index == len(weights) - 1
            layer = []
            for i in range(w.shape[0]):
                node = _Node(output_activation if last else activation)
                node.bias = float(b[i])
                for j, prev in enumerate(self.layers[-1]):
                    link = _Link(prev, node, float(w[i, j]))
                    prev.outputs.append(link)
                    node.input_links.append(link)
                layer.append(node)
            self.layers.append(layer)

    def forward_prop(self, inputs: Sequence[float]) -> float:
        for node, value in zip(self.layers[0], inputs, strict=True):
            node.output = float(value)
        for layer in self.layers[1:]:
            for node in layer:
                node.update_output()
        return self.layers[-1][0].output

    def back_prop(self, target: float) -> None:
        out = self.layers[-1][0]
        out.output_der = out.output - target  # Errors.SQUARE.der
        for index in range(len(self.layers) - 1, 0, -1):
            layer = self.layers[index]
            for node in layer:
                node.input_der = node.output_der * float(ACTIVATIONS[node.activation][1](node.total_input))
                node.acc_input_der += node.input_der
                node.num_accumulated_ders += 1
            for node in layer:
                for link in node.input_links:
                    if link.is_dead:
                        continue
                    link.error_der = node.input_der * link.source.output
                    link.acc_error_der += link.error_der
                    link.num_accumulated_ders += 1
            if index == 1:
                continue
            for node in self.layers[index - 1]:
                node.output_der = 0.0
                for link in node.outputs:
                    node.output_der += link.weight * link.dest.input_der

    def update_weights(self, learning_rate: float, regularization_rate: float) -> None:
        for layer in self.layers[1:]:
            for node in layer:
                if node.num_accumulated_ders > 0:
                    node.bias -= learning_rate * node.acc_input_der / node.num_accumulated_ders
                    node.acc_input_der = 0.0
                    node.num_accumulated_ders = 0
                for link in node.input_links:
                    if link.is_dead:
                        continue
                    w = link.weight
                    regul_der = 0.0
                    if self.regularization == "l1":
                        regul_der = -1.0 if w < 0 else (1.0 if w > 0 else 0.0)
                    elif self.regularization == "l2":
                        regul_der = w
                    if link.num_accumulated_ders > 0:
                        link.weight = w - (learning_rate / link.num_accumulated_ders) * link.acc_error_der
                        new_weight = link.weight - (learning_rate * regularization_rate) * regul_der
                        if self.regularization == "l1" and link.weight * new_weight < 0:
                            link.weight = 0.0
                            link.is_dead = True
                        else:
                            link.weight = new_weight
                        link.acc_error_der = 0.0
                        link.num_accumulated_ders = 0

    def one_step(self, x: np.ndarray, t: np.ndarray, batch_size: int, learning_rate: float,
                 regularization_rate: float) -> None:
        for i in range(len(x)):
            self.forward_prop(x[i])
            self.back_prop(float(t[i]))
            if (i + 1) % batch_size == 0:
                self.update_weights(learning_rate, regularization_rate)

    def parameters(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        weights = [np.array([[link.weight for link in node.input_links] for node in layer])
                   for layer in self.layers[1:]]
        biases = [np.array([node.bias for node in layer]) for layer in self.layers[1:]]
        return weights, biases


# ---- the same, with matrices ---------------------------------------------------------------------------

class PortNetwork:
    """Playground's network and `oneStep` with one matrix per layer (float64)."""

    def __init__(self, weights: list[np.ndarray], biases: list[np.ndarray], activation: str = "tanh",
                 output_activation: str = "tanh", regularization: str | None = None) -> None:
        self.w = [np.array(w, dtype=np.float64) for w in weights]
        self.b = [np.array(b, dtype=np.float64) for b in biases]
        self.acts = [activation] * (len(weights) - 1) + [output_activation]
        self.regularization = regularization
        self.dead = [np.zeros(w.shape, dtype=bool) for w in self.w]
        self.acc_w = [np.zeros_like(w) for w in self.w]
        self.acc_b = [np.zeros_like(b) for b in self.b]
        self.count = 0  # points accumulated since the last update (the same for every node and link)

    def forward(self, x: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        outputs, totals = [np.asarray(x, dtype=np.float64)], []
        for w, b, act in zip(self.w, self.b, self.acts, strict=True):
            total = outputs[-1] @ w.T + b
            totals.append(total)
            outputs.append(ACTIVATIONS[act][0](total))
        return outputs, totals

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)[0][-1][:, 0]

    def accumulate(self, x: np.ndarray, t: np.ndarray) -> None:
        if len(x) == 0:
            return
        outputs, totals = self.forward(x)
        output_der = outputs[-1] - t.reshape(-1, 1)
        for layer in range(len(self.w) - 1, -1, -1):
            input_der = output_der * ACTIVATIONS[self.acts[layer]][1](totals[layer])
            self.acc_b[layer] += input_der.sum(axis=0)
            self.acc_w[layer] += np.where(self.dead[layer], 0.0, input_der.T @ outputs[layer])
            output_der = input_der @ self.w[layer]
        self.count += len(x)

    def update(self, learning_rate: float, regularization_rate: float) -> None:
        if self.count == 0:
            return
        for layer in range(len(self.w)):
            self.b[layer] -= learning_rate * self.acc_b[layer] / self.count
            w = self.w[layer]
            if self.regularization == "l1":
                regul_der = np.sign(w)
            elif self.regularization == "l2":
                regul_der = w.copy()
            else:
                regul_der = np.zeros_like(w)
            live = ~self.dead[layer]  # a dead link is skipped: it keeps its weight, 0
            stepped = w - (learning_rate / self.count) * self.acc_w[layer]
            new = stepped - (learning_rate * regularization_rate) * regul_der
            if self.regularization == "l1":
                crossed = live & (stepped * new < 0)
                new = np.where(crossed, 0.0, new)
                self.dead[layer] |= crossed
            self.w[layer] = np.where(live, new, w)
            self.acc_w[layer][:] = 0.0
            self.acc_b[layer][:] = 0.0
        self.count = 0

    def one_step(self, x: np.ndarray, t: np.ndarray, batch_size: int, learning_rate: float,
                 regularization_rate: float) -> None:
        """One epoch: points in order, an update after every batch_size-th (`(i + 1) % batchSize === 0`)."""
        start = 0
        for stop in range(batch_size, len(x) + 1, batch_size):
            self.accumulate(x[start:stop], t[start:stop])
            self.update(learning_rate, regularization_rate)
            start = stop
        self.accumulate(x[start:], t[start:])  # carried into the next epoch's first update

    def loss(self, x: np.ndarray, t: np.ndarray) -> float:
        """Playground's getLoss: the mean of ½(out − t)²."""
        return float(np.mean(0.5 * (self.predict(x) - t) ** 2))

    def accuracy(self, x: np.ndarray, t: np.ndarray) -> float:
        return float(np.mean((self.predict(x) > 0) == (t > 0)))


def epochs_to_threshold(losses: Sequence[float], accuracies: Sequence[float], loss_below: float = 0.05,
                        accuracy_at_least: float = 0.98) -> float:
    """The first 1-based epoch whose test loss is below the threshold or accuracy at least the other;
    infinity if none."""
    for epoch, (loss, acc) in enumerate(zip(losses, accuracies, strict=True), start=1):
        if loss < loss_below or acc >= accuracy_at_least:
            return float(epoch)
    return math.inf
