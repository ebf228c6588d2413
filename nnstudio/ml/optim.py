"""Loss, optimizer and learning-rate schedule of a training configuration.

The loss follows from the Output layer's task: regression uses the configured MSE / MAE / Huber loss,
a binary classifier binary cross-entropy on its single logit, a multi-class classifier cross-entropy.
Regularisation applies to weights only (not biases or normalisation scales), as in TensorFlow
Playground: L2 is the optimizer's weight decay (AdamW's decoupled decay), L1 adds rate * sign(w) to the
gradient. Neither is added to the reported loss.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from nnstudio.core.errors import TrainingError
from nnstudio.core.settings import TrainingConfig
from nnstudio.ml.builder import WEIGHTED_MODULES

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def make_losses(task: str, regression_loss: str = "mse") -> tuple[LossFn, LossFn]:
    """(mean loss for training, summed loss for validation) for an Output task.

    Targets are prepared by `prepare_targets`: float (n, 1) for binary, int64 (n,) for multi-class,
    float (n, k) for regression.
    """
    if task == "binary":
        return (lambda out, y: F.binary_cross_entropy_with_logits(out, y),
                lambda out, y: F.binary_cross_entropy_with_logits(out, y, reduction="sum"))
    if task == "multiclass":
        return (lambda out, y: F.cross_entropy(out, y),
                lambda out, y: F.cross_entropy(out, y, reduction="sum"))
    if task != "regression":
        raise TrainingError(f"unknown output task {task!r}")
    fn = {"mse": F.mse_loss, "mae": F.l1_loss, "huber": F.huber_loss}.get(regression_loss)
    if fn is None:
        raise TrainingError(f"unknown regression loss {regression_loss!r} (choose mse, mae or huber)")
    # Per-sample sums over the k outputs, averaged like the mean loss: sum over all / k.
    return (lambda out, y: fn(out, y),
            lambda out, y: fn(out, y, reduction="sum") / out.shape[1])


def prepare_targets(y: torch.Tensor, task: str) -> torch.Tensor:
    if task == "binary":
        return y.reshape(-1, 1).to(torch.float32)
    if task == "multiclass":
        return y.reshape(-1).to(torch.int64)
    y = y.to(torch.float32)
    return y.reshape(-1, 1) if y.dim() == 1 else y


def schedule_factor(config: TrainingConfig, epoch: int) -> float:
    """Learning-rate multiplier for the 0-based `epoch` (the schedule changes once per epoch)."""
    if config.schedule == "step":
        return config.gamma ** (epoch // config.step_size)
    if config.schedule == "exponential":
        return config.gamma ** epoch
    if config.schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * min(epoch, config.epochs) / config.epochs))
    return 1.0


@dataclass
class ParameterSplit:
    """Weights (regularised) and the rest (biases, normalisation scales and shifts)."""

    weights: list[nn.Parameter]
    others: list[nn.Parameter]


def split_parameters(model: nn.Module) -> ParameterSplit:
    weights, others = [], []
    for module in model.modules():
        for name, p in module.named_parameters(recurse=False):
            if not p.requires_grad:
                continue
            is_weight = name == "weight" and isinstance(module, WEIGHTED_MODULES)
            (weights if is_weight else others).append(p)
    return ParameterSplit(weights, others)


def make_optimizer(
    config: TrainingConfig,
    model: nn.Module,
    *,
    learning_rate: float,
    device: torch.device,
    for_graph: bool = False,
) -> torch.optim.Optimizer:
    """Build the configured optimizer.

    With `for_graph`, the learning rate is a device tensor and the implementation is one whose step
    reads it on the device (fused SGD, capturable Adam / AdamW / RMSprop), so a CUDA graph replays with
    whatever rate the tensor holds. Otherwise the multi-tensor (foreach) implementation is used on every
    device: on the CPU it runs one kernel per parameter list rather than per parameter, which matters
    for the small models NN Studio trains step by step.
    """
    name = config.optimizer
    l2 = config.regularization == "l2"
    split = split_parameters(model)
    decay = config.regularization_rate if l2 else 0.0
    if config.regularization != "none":
        groups = [{"params": split.weights, "weight_decay": decay, "regularised": True},
                  {"params": split.others, "weight_decay": 0.0, "regularised": False}]
        groups = [g for g in groups if g["params"]]
    else:
        groups = [{"params": split.weights + split.others, "weight_decay": 0.0, "regularised": False}]
    lr: float | torch.Tensor = learning_rate
    if for_graph:
        lr = torch.tensor(learning_rate, dtype=torch.float32, device=device)
    impl: dict[str, bool] = {"fused": True} if for_graph else {"foreach": True}
    capturable: dict[str, bool] = {"capturable": True, "foreach": True} if for_graph else {"foreach": True}
    if name in ("sgd", "momentum", "nesterov"):
        momentum = 0.0 if name == "sgd" else config.momentum
        if name == "nesterov" and momentum <= 0.0:
            raise TrainingError("Nesterov momentum needs a momentum above 0: set the momentum, or use SGD")
        return torch.optim.SGD(groups, lr=lr, momentum=momentum, nesterov=name == "nesterov", **impl)
    if name == "adam":
        return torch.optim.Adam(groups, lr=lr, **capturable)
    if name == "adamw":
        return torch.optim.AdamW(groups, lr=lr, **capturable)
    if name == "rmsprop":
        return torch.optim.RMSprop(groups, lr=lr, **capturable)
    if name == "adagrad":
        return torch.optim.Adagrad(groups, lr=lr, foreach=True)
    raise TrainingError(f"unknown optimizer {name!r}")


def adjust_gradients(split: ParameterSplit, regularization: str, rate: float, grad_clip: float) -> None:
    """What happens to the gradients between backward and the optimizer step: L1 adds rate * sign(w) to
    the weights' gradients, then all gradients are clipped to a total norm of `grad_clip` (if above 0)."""
    if regularization == "l1" and rate > 0:
        weights = [p for p in split.weights if p.grad is not None]
        torch._foreach_add_([p.grad for p in weights], torch._foreach_sign(weights), alpha=rate)
    if grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(split.weights + split.others, grad_clip, foreach=True)


def set_learning_rate(optimizer: torch.optim.Optimizer, value: float) -> None:
    """Set every group's rate; a tensor rate (graph mode) is filled in place so captured graphs see it."""
    for group in optimizer.param_groups:
        lr = group["lr"]
        if isinstance(lr, torch.Tensor):
            lr.fill_(value)
        else:
            group["lr"] = value


def set_momentum(optimizer: torch.optim.Optimizer, name: str, value: float) -> bool:
    """Apply a live momentum change; True if the optimizer uses momentum (SGD with momentum / Nesterov)."""
    if name not in ("momentum", "nesterov"):
        return False
    for group in optimizer.param_groups:
        group["momentum"] = value
    return True


def set_weight_decay(optimizer: torch.optim.Optimizer, value: float) -> None:
    for group in optimizer.param_groups:
        if group.get("regularised"):
            group["weight_decay"] = value
