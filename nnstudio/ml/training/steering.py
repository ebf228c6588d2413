"""Steering a running fit between two steps: stop, pause, single steps, live hyper-parameters and weight edits."""

from __future__ import annotations

import math
from dataclasses import replace

import torch

from ..callbacks import CancelTraining
from ..control import PARAMETER_EDITS, TrainingControl
from ..optim import schedule_factor, set_learning_rate, set_momentum, set_weight_decay


class Steering:
    """Trainer part: answers the control object that other threads use to steer the fit."""

    def _attend(self, control: TrainingControl) -> None:
        if control.stop_requested:
            raise CancelTraining("stop requested")
        pending = control.take_hyperparameters()
        if pending:
            self._apply_hyperparameters(pending)
        if not control.consume_step():
            control.wait_while_paused(on_pause=lambda: self._publish("paused"), apply=self._apply_hyperparameters)
            if control.stop_requested:
                raise CancelTraining("stop requested")
            control.consume_step()

    def _apply_hyperparameters(self, changes: dict[str, float]) -> None:
        """Apply live changes between two steps. A tensor learning rate is updated in place; anything a
        captured graph holds as a constant makes it capture again."""
        recapture = False
        edits = changes.pop(PARAMETER_EDITS, None)
        if edits:
            self._edit_parameters(edits)
        # Checked once already, in the caller's thread, by TrainingControl.set_hyperparameters.
        before, self.live = self.live, replace(self.live, **changes)
        if "learning_rate" in changes:
            self._lr = self.live.learning_rate * schedule_factor(self.config, self.epoch)
            set_learning_rate(self.optimizer, self._lr)
            recapture |= not isinstance(self.optimizer.param_groups[0]["lr"], torch.Tensor)
        if "momentum" in changes:
            recapture |= set_momentum(self.optimizer, self.config.optimizer, self.live.momentum)
        if "regularization_rate" in changes:
            if self.config.regularization == "l2":
                set_weight_decay(self.optimizer, self.live.regularization_rate)
            recapture |= self.config.regularization != "none"
        if "grad_clip" in changes:
            recapture |= before.grad_clip != self.live.grad_clip
        if recapture and self._graph is not None:
            self._graph.invalidate()

    @torch.no_grad()
    def _edit_parameters(self, edits: list[tuple[str, int, float]]) -> None:
        """Set single values of the live model (the network view's weight edits); unknown names or indexes
        are skipped. While paused, a publication shows the edit at once."""
        params = dict(self.model.named_parameters())
        for name, index, value in edits:
            p = params.get(name)
            if p is not None and 0 <= index < p.numel() and math.isfinite(value):
                p.view(-1)[index] = value  # in place: a captured CUDA graph reads the same memory
        if self.control is not None and self.control.state == "paused":
            self._publish("paused")

