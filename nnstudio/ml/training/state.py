"""What a checkpoint keeps of a fit and how a fit resumes from one: counters, random state, optimizer moments."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from nnstudio.core.errors import ParameterError, TrainingError
from nnstudio.core.live import LIVE_FIELDS

from ..optim import make_optimizer, schedule_factor

CHECKPOINT_HISTORY_TAIL = 200


class TrainerState:
    """Trainer part: the optimizer (built, rebuilt for graph mode, resumed) and the checkpointed state."""

    def _make_optimizer(self, for_graph: bool) -> torch.optim.Optimizer:
        config = self.config.with_changes(**self.live.to_dict())
        optimizer = make_optimizer(config, self.model, learning_rate=self._lr, device=self.device,
                                   for_graph=for_graph)
        if self._resume_optimizer is not None:
            load_optimizer_state(optimizer, self._resume_optimizer)
        return optimizer

    def _load_initial_state(self, state: Any) -> None:
        from ..checkpoint import Checkpoint

        if isinstance(state, Checkpoint):
            weights = state.state_dict
            # Moments of another optimizer kind would not fit (Adam's are not SGD's): start those afresh.
            if state.training_state.get("optimizer") == self.config.optimizer:
                self._resume_optimizer = state.optimizer_state or None
            self._restore_training_state(state.training_state, state.rng_state)
        elif isinstance(state, dict):
            weights = state
        else:
            raise TypeError("initial_state must be a Checkpoint or a state dict")
        try:
            self.model.load_state_dict({k: v for k, v in weights.items()}, strict=True)
        except RuntimeError as exc:
            raise TrainingError(f"the saved weights do not fit this design: {str(exc).splitlines()[0]}") from None

    def _restore_training_state(self, training: dict[str, Any], rng: dict[str, torch.Tensor]) -> None:
        self.epoch = int(training.get("epoch", 0))
        self.batch = int(training.get("batch", 0))
        self.step = int(training.get("step", 0))
        self.samples_seen = int(training.get("samples_seen", 0))
        saved = training.get("hyperparameters", {})
        try:
            self.live = self.live.with_changes({k: v for k, v in saved.items() if k in LIVE_FIELDS})
        except ParameterError as exc:
            raise TrainingError(f"the checkpoint's training_state.hyperparameters.{exc}") from None
        self._lr = self.live.learning_rate * schedule_factor(self.config, self.epoch)
        self.history.extend(training.get("history", []))
        if "generator" in rng:
            self.generator.set_state(rng["generator"])
        if "epoch" in rng:
            self._epoch_rng = rng["epoch"].clone()
        if "dropout" in rng:
            self._dropout_rng = rng["dropout"].clone()

    def training_state(self) -> dict[str, Any]:
        """The JSON-able counters and settings a checkpoint stores next to the weights."""
        return {
            "epoch": self.epoch, "batch": self.batch, "step": self.step, "samples_seen": self.samples_seen,
            "optimizer": self.config.optimizer, "seed": self.config.seed, "device": str(self.device),
            "graph_mode": self.graph_mode,
            "hyperparameters": self.live.to_dict(),
            "history": list(self.history)[-CHECKPOINT_HISTORY_TAIL:],
        }

    def rng_state(self) -> dict[str, torch.Tensor]:
        state = {"generator": self.generator.get_state(), "dropout": self._dropout_rng.clone()}
        if self._epoch_rng is not None and self.batch > 0:
            state["epoch"] = self._epoch_rng.clone()
        return state

    def save_checkpoint(self, path: str | Path) -> None:
        """Write weights, optimizer state, counters and random state (call between fits or from a
        callback in the training thread)."""
        from ..checkpoint import save_checkpoint

        save_checkpoint(path, self.model, self.design, self.training_state(),
                        optimizer_state=self.optimizer.state_dict(), rng_state=self.rng_state(),
                        learning_rate=self._lr)
    def _rebuild_optimizer(self, for_graph: bool, keep_state: bool = True) -> None:
        """Build the optimizer again (for graph mode or back), carrying its moments over unless told not to."""
        if keep_state and self.optimizer.state:
            self._resume_optimizer = portable_optimizer_state(self.optimizer)
        self.optimizer = self._make_optimizer(for_graph=for_graph)
        self._resume_optimizer = None
        self._optimizer_for_graph = for_graph


def portable_optimizer_state(optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """An optimizer's state dict with plain-number hyper-parameters (a tensor lr becomes a float)."""
    state = optimizer.state_dict()
    for group in state["param_groups"]:
        for key, value in list(group.items()):
            if isinstance(value, torch.Tensor):
                group[key] = float(value)
    return state


def load_optimizer_state(optimizer: torch.optim.Optimizer, saved: dict[str, Any]) -> None:
    """Load saved moments and step counts into an optimizer built for this device and mode.

    Only the per-parameter state is taken: hyper-parameters come from the design and the trainer, and
    implementation flags (fused, capturable, foreach) must stay those of the optimizer as built, or a
    state saved on a GPU would make a CPU optimizer 'capturable'.
    """
    current = optimizer.state_dict()
    groups = current["param_groups"]
    count = sum(len(g["params"]) for g in groups)
    state = {int(k): v for k, v in saved.get("state", {}).items() if int(k) < count}
    capturable = any(g.get("capturable") or g.get("fused") for g in groups)
    device = optimizer.param_groups[0]["params"][0].device
    for entry in state.values():
        step = entry.get("step")
        if isinstance(step, torch.Tensor):
            # Capturable and fused optimizers keep the step count on the device; the others on the CPU.
            entry["step"] = step.to(device if capturable else "cpu", torch.float32)
    try:
        optimizer.load_state_dict({"state": state, "param_groups": groups})
    except (ValueError, KeyError, RuntimeError) as exc:
        raise TrainingError(f"the saved optimizer state does not fit this design: {exc}") from None
