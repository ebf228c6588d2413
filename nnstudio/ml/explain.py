"""One forward and backward pass of a real model, recorded stage by stage with the real numbers (no Qt).

`StepExplainer` takes a trainer (its model, optimizer, loss and live hyper-parameters) and a sample or a
batch of its training data, and records through hooks on the model itself: every layer's input, weighted
sum z (the module's output) and activation a, then — from one `loss.backward()` — every δ = ∂L/∂z,
∂L/∂a and parameter gradient. The optimizer's would-be update is computed by running the trainer's own
optimizer kind, with a copy of its state, on a copy of the model; `apply` then makes that exact step on
the trainer's model. `check_gradient` compares one ∂L/∂w with a central finite difference.

Nothing here re-implements the network: a mismatch between what is shown and what trains is impossible
by construction, and the tests cross-check the recorded values against autograd and NumPy.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from nnstudio.core.errors import DataError, TrainingError
from nnstudio.core.recipe_text import loss_title

from .builder import ACTIVATION_FUNCTIONS, DesignModule
from .optim import adjust_gradients, make_optimizer, schedule_factor, set_learning_rate, split_parameters
from .playground_recipe import batch_bounds

LOSS_NAMES = {"binary": "binary cross-entropy", "multiclass": "cross-entropy"}
REGRESSION_LOSS_NAMES = {"mse": "mean squared error", "mae": "mean absolute error", "huber": "Huber"}


@dataclass
class ParamTrace:
    """One parameter tensor (a layer's weight or bias) before and after the would-be step."""

    name: str  # "weight" or "bias"
    value: np.ndarray
    grad: np.ndarray  # ∂L/∂w from autograd (the loss alone)
    applied_grad: np.ndarray  # what the optimizer receives: after L1 and clipping
    new_value: np.ndarray
    state: dict[str, np.ndarray] = field(default_factory=dict)  # optimizer state after the step
    previous_state: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def update(self) -> np.ndarray:
        return self.new_value - self.value


@dataclass
class LayerTrace:
    """One layer of the pass. Arrays keep the batch dimension first."""

    name: str
    type: str
    inputs: tuple[str, ...]
    activation: str | None  # applied after the module (Dense / Conv2d), the task's for Output
    input: np.ndarray | None  # the layer's input a_prev (its first input for merge layers)
    z: np.ndarray  # the module's output (pre-activation)
    a: np.ndarray  # after the activation (the prediction for Output)
    grad_a: np.ndarray | None  # ∂L/∂a (None for the Output layer: its loss reads z)
    delta: np.ndarray  # ∂L/∂z
    fprime: np.ndarray | None  # f′(z) by autograd on the layer's activation function
    params: dict[str, ParamTrace] = field(default_factory=dict)

    @property
    def is_dense(self) -> bool:
        return self.type in ("Dense", "Output")


@dataclass(frozen=True)
class Stage:
    """One click of the stepper."""

    kind: str  # forward, loss, backward, update, apply
    layer: str | None
    title: str


@dataclass
class Explanation:
    indices: list[int]
    input: np.ndarray
    target: np.ndarray
    output: np.ndarray  # the prediction (after sigmoid / softmax for classifiers)
    loss: float
    loss_name: str
    task: str
    optimizer: str
    learning_rate: float
    hyperparameters: dict[str, float]
    layers: list[LayerTrace]
    dtype: str
    mode: str  # "train" or "eval" (BatchNorm cannot normalise a batch of one)

    def layer(self, name: str) -> LayerTrace:
        for trace in self.layers:
            if trace.name == name:
                return trace
        raise KeyError(name)

    def stages(self) -> list[Stage]:
        stages = [Stage("forward", t.name, f"Forward: {t.name}") for t in self.layers]
        stages.append(Stage("loss", None, f"Loss: {self.loss_name}"))
        stages += [Stage("backward", t.name, f"Backward: {t.name}") for t in reversed(self.layers)]
        stages += [Stage("update", t.name, f"Update: {t.name}") for t in self.layers if t.params]
        stages.append(Stage("apply", None, "Apply the step"))
        return stages


@dataclass(frozen=True)
class GradientCheck:
    layer: str
    param: str
    index: tuple[int, ...]
    backprop: float
    numeric: float
    epsilon: float
    loss_plus: float
    loss_minus: float

    @property
    def relative_error(self) -> float:
        scale = max(abs(self.backprop), abs(self.numeric), 1e-12)
        return abs(self.backprop - self.numeric) / scale


PLAYGROUND_LOSS = "Playground's squared error"  # every Playground loss name starts so (explain_text reads it)


def loss_name(task: str, regression_loss: str = "mse", playground: bool = False) -> str:
    if playground:  # ½(out − t)² on t = ±1, or ½(out − y)² for regression (nnstudio.core.recipe_text)
        return f"{PLAYGROUND_LOSS} {loss_title(task, 'playground')}"
    if task == "regression":
        return REGRESSION_LOSS_NAMES.get(regression_loss, regression_loss)
    return LOSS_NAMES[task]


def next_batch_indices(trainer: Any) -> list[int]:
    """The training-set indices of the batch the trainer's next eager step will take (its generator is
    left untouched: the permutation is drawn from a copy of its state)."""
    if getattr(trainer, "playground", False):  # Playground's one fixed order, and its carried partial batch
        order, bounds = batch_bounds(trainer.n_train, trainer.batch_size, trainer.epoch)
        start, stop = bounds[min(trainer.batch, len(bounds) - 1)]
        return [int(i) for i in order[start:stop]]
    generator = torch.Generator()
    epoch_rng = getattr(trainer, "_epoch_rng", None)
    generator.set_state(epoch_rng if trainer.batch > 0 and epoch_rng is not None else trainer.generator.get_state())
    perm = torch.randperm(trainer.n_train, generator=generator)
    lo = trainer.batch * trainer.batch_size
    return [int(i) for i in perm[lo:lo + trainer.batch_size]]


def _np(t: torch.Tensor | None) -> np.ndarray | None:
    return None if t is None else t.detach().to("cpu").numpy().copy()


@contextmanager
def _rng(state: torch.Tensor | None) -> Iterator[None]:
    """Dropout draws from the global RNG: run with the trainer's own stream, leaving the process's alone."""
    with torch.random.fork_rng(devices=[]):
        if state is not None:
            torch.set_rng_state(state)
        yield


def _optimizer_state(optimizer: torch.optim.Optimizer, p: torch.Tensor) -> dict[str, np.ndarray]:
    out = {}
    for key, value in optimizer.state.get(p, {}).items():
        if isinstance(value, torch.Tensor):
            out[key] = value.detach().to("cpu").numpy().copy()
        elif isinstance(value, (int, float)):
            out[key] = np.asarray(value)
    return out


class StepExplainer:
    """Explains one training step of `trainer` on the training samples `indices`.

    `dtype` (e.g. torch.float64) explains a converted copy; by default the model's own precision is used,
    so `apply` reproduces the trainer's step exactly.
    """

    def __init__(self, trainer: Any, indices: list[int], dtype: torch.dtype | None = None) -> None:
        n = int(trainer.n_train)
        if not indices:
            raise DataError("choose at least one training sample to explain")
        for i in indices:
            if not 0 <= int(i) < n:
                raise DataError(f"sample {i} is out of range: the training set has {n} samples (0–{n - 1})")
        self.trainer = trainer
        self.indices = [int(i) for i in indices]
        model: DesignModule = trainer.model
        self.dtype = dtype or next(model.parameters()).dtype
        self.device = trainer.device
        # Everything runs on a copy: the forward pass of a BatchNorm in training mode would move the live
        # running statistics, and the would-be step must not touch the live weights.
        self.model: DesignModule = copy.deepcopy(model).to(self.dtype)
        has_bn = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
        self.mode = "eval" if has_bn and len(self.indices) == 1 else "train"
        self.model.train(self.mode == "train")
        idx = torch.tensor(self.indices, dtype=torch.int64, device=self.device)
        self.x = trainer.x_train.index_select(0, idx).to(self.dtype)
        y = trainer.y_train.index_select(0, idx)
        self.y = y.to(self.dtype) if y.is_floating_point() else y
        self.loss_fn = trainer.loss_fn
        self.task = trainer.task
        config = trainer.config
        live = trainer.training_state()["hyperparameters"]
        self.config = config.with_changes(momentum=live["momentum"], regularization_rate=live["regularization_rate"])
        self.grad_clip = float(live["grad_clip"])
        self.learning_rate = float(trainer.learning_rate)
        if trainer.batch == 0:  # a new epoch: the trainer sets the schedule's rate before its first step
            self.learning_rate = float(live["learning_rate"]) * schedule_factor(config, trainer.epoch)
        self.dropout_rng = trainer.rng_state().get("dropout")
        self.dropout_rng_after: torch.Tensor | None = None
        self.explanation = self._explain()

    # ---- the pass ----------------------------------------------------------------------------------

    def _forward(self, model: DesignModule) -> tuple[torch.Tensor, dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        z_values: dict[str, torch.Tensor] = {}
        handles = []
        for step in model.steps[1:]:
            module = getattr(model, step.name)

            def hook(_module: nn.Module, _args: Any, output: torch.Tensor, name: str = step.name) -> None:
                z_values[name] = output

            handles.append(module.register_forward_hook(hook))
        try:
            with _rng(self.dropout_rng):
                out, values = model.forward_with_activations(self.x)
                self.dropout_rng_after = torch.get_rng_state()
        finally:
            for h in handles:
                h.remove()
        return out, values, z_values

    def _explain(self) -> Explanation:
        model = self.model
        out, values, z_values = self._forward(model)
        for t in list(z_values.values()) + list(values.values()):
            if t.requires_grad:
                t.retain_grad()
        loss = self.loss_fn(out, self.y)
        model.zero_grad(set_to_none=True)
        loss.backward()
        loss_value = float(loss.detach())
        if not math.isfinite(loss_value):
            raise TrainingError(f"the loss of this sample is {loss_value}: the weights have diverged")
        raw_grads = {p: p.grad.detach().clone() for p in model.parameters() if p.grad is not None}
        split = split_parameters(model)
        regularization = self.config.regularization
        if self.config.playground and regularization == "l1":
            regularization = "none"  # Playground's L1 acts after the step (with its clamp), not on the gradient
        adjust_gradients(split, regularization, self.config.regularization_rate, self.grad_clip)
        before = {p: p.detach().clone() for p in model.parameters()}
        optimizer = self._optimizer_copy(model)
        previous = {p: _optimizer_state(optimizer, p) for p in model.parameters()}
        applied = {p: p.grad.detach().clone() for p in model.parameters() if p.grad is not None}
        optimizer.step()
        self._copy_optimizer = optimizer

        layers: list[LayerTrace] = []
        for step in model.steps[1:]:
            module = getattr(model, step.name)
            z = z_values[step.name]
            a = values[step.name]
            activation = step.activation
            if step.type == "Output":
                activation = model.output_activation
                a = _task_activation(self.task, z.detach(), self.config.playground)
            elif step.type == "Activation":
                activation = getattr(module, "function", None)
            first_input = values.get(step.inputs[0]) if step.inputs else None
            fprime = None
            if activation is not None and step.type != "Output":
                fprime = activation_derivative(activation, z.detach())
            params = {}
            for pname, p in module.named_parameters(recurse=False):
                grad = raw_grads.get(p)
                params[pname] = ParamTrace(
                    name=pname, value=_np(before[p]),
                    grad=_np(grad) if grad is not None else np.zeros(tuple(p.shape)),
                    applied_grad=_np(applied[p]) if p in applied else np.zeros(tuple(p.shape)),
                    new_value=_np(p), state=_optimizer_state(optimizer, p), previous_state=previous[p])
            grad_a = None if step.type == "Output" else _np(values[step.name].grad)
            delta = z.grad if z.grad is not None else torch.zeros_like(z)
            layers.append(LayerTrace(
                name=step.name, type=step.type, inputs=step.inputs, activation=activation,
                input=_np(first_input), z=_np(z), a=_np(a),
                grad_a=grad_a if grad_a is not None or step.type == "Output" else np.zeros(tuple(z.shape)),
                delta=_np(delta), fprime=_np(fprime), params=params))
        with torch.no_grad():  # the step above changed the copy's weights: restore them for the checks
            for p, v in before.items():
                p.copy_(v)
        group = optimizer.param_groups[0]
        hyper = {k: float(group[k]) for k in ("momentum", "dampening", "weight_decay", "eps", "alpha")
                 if k in group and not isinstance(group[k], bool)}
        if "betas" in group:
            hyper["beta1"], hyper["beta2"] = (float(b) for b in group["betas"])
        if group.get("nesterov"):
            hyper["nesterov"] = 1.0
        if self.config.regularization == "l1":
            hyper["l1"] = float(self.config.regularization_rate)
        if self.grad_clip > 0:
            hyper["grad_clip"] = self.grad_clip
        return Explanation(
            indices=list(self.indices), input=_np(self.x), target=_np(self.y),
            output=_task_activation(self.task, out.detach(), self.config.playground).cpu().numpy(), loss=loss_value,
            loss_name=loss_name(self.task, self.config.regression_loss, self.config.playground), task=self.task,
            optimizer=self.config.optimizer, learning_rate=self.learning_rate, hyperparameters=hyper,
            layers=layers, dtype=str(self.dtype).replace("torch.", ""), mode=self.mode)

    def _optimizer_copy(self, model: DesignModule) -> torch.optim.Optimizer:
        """The trainer's optimizer kind and hyper-parameters, holding a copy of its state, for `model`."""
        optimizer = make_optimizer(self.config, model, learning_rate=self.learning_rate, device=self.device)
        live = self.trainer.optimizer
        state = copy.deepcopy(live.state_dict())
        groups = optimizer.state_dict()["param_groups"]
        optimizer.load_state_dict({"state": state["state"], "param_groups": groups})
        return optimizer

    # ---- the finite-difference check ----------------------------------------------------------------

    def loss_at(self, layer: str, param: str, index: tuple[int, ...], value: float) -> float:
        """The loss with one parameter entry set to `value` (the copy's weights are restored after)."""
        p = getattr(getattr(self.model, layer), param)
        with torch.no_grad():
            old = p[index].clone()
            p[index] = value
            try:
                with _rng(self.dropout_rng):
                    out = self.model(self.x)
                return float(self.loss_fn(out, self.y))
            finally:
                p[index] = old

    def check_gradient(self, layer: str, param: str, index: tuple[int, ...], epsilon: float | None = None
                       ) -> GradientCheck:
        """Backprop's ∂L/∂w against (L(w+ε) − L(w−ε)) / 2ε for one entry of one parameter."""
        trace = self.explanation.layer(layer)
        if param not in trace.params:
            raise KeyError(f"layer '{layer}' has no parameter {param!r}")
        index = tuple(int(i) for i in index)
        shape = trace.params[param].value.shape
        if len(index) != len(shape) or not all(0 <= i < n for i, n in zip(index, shape, strict=True)):
            raise DataError(f"{layer}.{param} has shape {list(shape)}: there is no entry {list(index)}")
        w = float(trace.params[param].value[index])
        backprop = float(trace.params[param].grad[index])
        if epsilon is None:
            tiny = torch.finfo(self.dtype).eps
            epsilon = max(abs(w), 1.0) * tiny ** (1 / 3)  # balances rounding against truncation error
        plus = self.loss_at(layer, param, index, w + epsilon)
        minus = self.loss_at(layer, param, index, w - epsilon)
        return GradientCheck(layer, param, index, backprop, (plus - minus) / (2 * epsilon), epsilon, plus, minus)

    # ---- applying the step --------------------------------------------------------------------------

    def apply(self) -> None:
        """Make the explained step on the trainer's model with the trainer's optimizer: the same gradients
        (after L1 and clipping) and, for BatchNorm, the running statistics the explained forward pass left."""
        trainer = self.trainer
        if self.dtype != next(trainer.model.parameters()).dtype:
            raise TrainingError("this explanation ran in another precision than the model: explain it again "
                                "in the model's own precision to apply it")
        optimizer = trainer.optimizer
        set_learning_rate(optimizer, self.learning_rate)
        optimizer.zero_grad(set_to_none=True)
        live = dict(trainer.model.named_parameters())
        for layer in self.explanation.layers:
            for pname, ptrace in layer.params.items():
                p = live[f"{layer.name}.{pname}"]
                p.grad = torch.as_tensor(ptrace.applied_grad, dtype=p.dtype, device=p.device).clone()
        l1 = getattr(trainer, "_l1", None)  # the Playground recipe's L1 update with its zero-crossing clamp
        if l1 is not None:
            l1.before_step()
            optimizer.step()
            l1.after_step(self.learning_rate, self.config.regularization_rate)
        else:
            optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        with torch.no_grad():
            buffers = dict(self.model.named_buffers())
            for name, b in trainer.model.named_buffers():
                if name in buffers and self.mode == "train":
                    b.copy_(buffers[name])
        trainer.step += 1
        trainer.samples_seen += len(self.indices)
        if self.mode == "train" and self.dropout_rng_after is not None and hasattr(trainer, "_dropout_rng"):
            trainer._dropout_rng = self.dropout_rng_after  # the trainer's step draws its dropout masks too


def _task_activation(task: str, z: torch.Tensor, playground: bool = False) -> torch.Tensor:
    if playground and task == "binary":
        return torch.tanh(z)  # Playground's output neuron is tanh, its targets ±1
    if task == "binary":
        return torch.sigmoid(z)
    if task == "multiclass":
        return torch.softmax(z, dim=1)
    return z


def activation_derivative(name: str, z: torch.Tensor) -> torch.Tensor:
    """f′(z) by autograd through the very function the model applies (builder.ACTIVATION_FUNCTIONS)."""
    fn = ACTIVATION_FUNCTIONS[name]
    with torch.enable_grad():
        x = z.detach().clone().requires_grad_(True)
        y = fn(x)
        if not y.requires_grad:  # identity returns its input
            return torch.ones_like(x).detach()
        (grad,) = torch.autograd.grad(y.sum(), x)
    return grad.detach()
