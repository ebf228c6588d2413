"""Training faults: keeping the last finite weights, recognising out-of-memory, and the messages users see.

Design choice: the loss is never checked per step, because reading it would synchronise the device with
the host every step. Instead, at every publication the trainer copies the weights into a spare on-device
buffer and receives, in the publication's single transfer, the window's loss and every tensor's max |value|.
If all are finite the copy becomes "the last finite weights"; if not, those are put back. A NaN is thus
noticed within one publication interval (1/30 s to a fraction of a second, see the throttle in trainer.py),
and the restored weights are at most that old.
"""

from __future__ import annotations

import gc

import torch
from torch import nn

from nnstudio.core.errors import TrainingError


class LastFiniteWeights:
    """Double-buffered on-device copies of a model's parameters and float buffers."""

    def __init__(self, model: nn.Module) -> None:
        self.tensors = [p for p in model.parameters()] + [b for b in model.buffers() if b.is_floating_point()]
        with torch.no_grad():
            self._good = [t.detach().clone() for t in self.tensors]
            self._candidate = [t.detach().clone() for t in self.tensors]
        self.good_step = 0

    @torch.no_grad()
    def snapshot(self) -> None:
        """Copy the current state into the candidate buffer (a device copy; nothing waits for it)."""
        torch._foreach_copy_(self._candidate, [t.detach() for t in self.tensors])

    def confirm(self, step: int) -> None:
        """The candidate was checked finite: it becomes the state to return to."""
        self._good, self._candidate = self._candidate, self._good
        self.good_step = step

    @torch.no_grad()
    def restore(self) -> None:
        torch._foreach_copy_([t.detach() for t in self.tensors], self._good)

    def release(self) -> None:
        self._good = []
        self._candidate = []


def is_out_of_memory(exc: BaseException) -> bool:
    if isinstance(exc, MemoryError):
        return True
    oom_type = getattr(torch, "OutOfMemoryError", None) or getattr(torch.cuda, "OutOfMemoryError", None)
    if oom_type is not None and isinstance(exc, oom_type):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def release_memory(device: torch.device) -> None:
    """Give cached device memory back after a failure (the caller has dropped its tensors)."""
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
    elif device.type == "mps" and hasattr(torch, "mps"):
        torch.mps.empty_cache()


class DivergedError(TrainingError):
    """The loss became NaN or infinite; the model holds the last finite weights again (from `good_step`)."""

    def __init__(self, message: str, good_step: int = 0) -> None:
        super().__init__(message)
        self.good_step = good_step

    def __reduce__(self) -> tuple:  # copies and pickles (errors cross threads as signals) keep good_step
        return (type(self), (str(self), self.good_step))


def nan_error(epoch: int, step: int, good_step: int, what: str = "NaN") -> DivergedError:
    back = f"the weights from step {good_step}" if good_step else "the initial weights"
    return DivergedError(
        f"the loss became {what} at epoch {epoch}, step {step} — try a lower learning rate, gradient "
        f"clipping, or standardised inputs; training stopped and {back} were restored"
    )


def oom_error(device: torch.device, batch_size: int) -> TrainingError:
    where = "the GPU" if device.type in ("cuda", "mps") else "the computer"
    return TrainingError(
        f"{where} ran out of memory while training (batch size {batch_size}) — use a smaller batch size or "
        "a smaller model, or close other programs using it; the memory was released"
    )
