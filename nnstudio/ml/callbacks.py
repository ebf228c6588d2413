"""Training events and the callbacks that listen to them (fastai / Keras style).

A callback overrides the hooks it cares about; the trainer asks each callback once, at fit start, which
hooks it overrides and dispatches only those, so an idle hook costs nothing per batch. A callback may end
training early by raising `CancelTraining`; `on_fit_end` still runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from nnstudio.core.document import Design

    from .telemetry import Telemetry
    from .view_frames import ViewFrame


class TrainerView(Protocol):
    """What a callback reads from the trainer that runs it (`nnstudio.ml.trainer.Trainer`); typed here so
    this module need not import the trainer, which imports it."""

    design: Design
    model: torch.nn.Module
    device: torch.device
    task: str
    epoch: int
    step: int
    n_train: int
    graph_mode: str
    last_telemetry: Telemetry | None

    @property
    def batches_per_epoch(self) -> int: ...

    def training_state(self) -> dict[str, Any]: ...

    def rng_state(self) -> dict[str, torch.Tensor]: ...

    def save_checkpoint(self, path: str | Path) -> None: ...

HOOKS = (
    "on_fit_start", "on_fit_end", "on_epoch_start", "on_epoch_end", "on_batch_start", "on_batch_end",
    "after_backward", "after_step", "on_publish", "on_view_frame", "on_error",
)
# Hooks that would run between backward and the optimizer step: a CUDA graph cannot host them.
HOOKS_INSIDE_STEP = ("after_backward",)


class CancelTraining(Exception):  # noqa: N818 - it is a signal, not an error
    """Raised by a callback (or on a stop request) to end training cleanly; `fit` returns normally."""


class Callback:
    """Base class: every hook does nothing. `self.trainer` is set when a fit starts.

    Hooks run in the training thread. Telemetry reaches `on_publish` as plain Python / numpy values,
    so a GUI callback can hand it to another thread as it is.
    """

    trainer: TrainerView | None = None

    def on_fit_start(self) -> None: ...
    def on_fit_end(self) -> None: ...
    def on_epoch_start(self, epoch: int) -> None: ...
    def on_epoch_end(self, epoch: int) -> None: ...
    def on_batch_start(self, step: int) -> None: ...
    def on_batch_end(self, step: int) -> None: ...
    def after_backward(self) -> None: ...
    def after_step(self) -> None: ...
    def on_publish(self, telemetry: Telemetry) -> None: ...
    # The network view's light frames (nnstudio.ml.view_frames), made only while a callback listens here.
    def on_view_frame(self, frame: ViewFrame) -> None: ...
    def on_error(self, error: BaseException) -> None: ...

    def overrides(self, hook: str) -> bool:
        """True if this callback does something on `hook` (checked once per fit, like Keras)."""
        return getattr(type(self), hook, None) is not getattr(Callback, hook)


class LambdaCallback(Callback):
    """A callback made of plain functions: ``LambdaCallback(on_publish=frames.append)``."""

    def __init__(self, **hooks: Callable[..., Any]) -> None:
        unknown = set(hooks) - set(HOOKS)
        if unknown:
            raise TypeError(f"unknown callback hooks: {', '.join(sorted(unknown))} (known: {', '.join(HOOKS)})")
        self._hooks = hooks
        for name, fn in hooks.items():
            setattr(self, name, fn)

    def overrides(self, hook: str) -> bool:
        return hook in self._hooks


class CallbackList:
    """The callbacks of one fit, with the per-hook dispatch lists computed once."""

    def __init__(self, callbacks: Iterable[Callback]) -> None:
        self.callbacks = list(callbacks)
        self.by_hook: dict[str, list[Callable[..., Any]]] = {
            hook: [getattr(cb, hook) for cb in self.callbacks if cb.overrides(hook)] for hook in HOOKS
        }

    def attach(self, trainer: TrainerView) -> None:
        for cb in self.callbacks:
            cb.trainer = trainer

    def has(self, hook: str) -> bool:
        return bool(self.by_hook[hook])

    def __call__(self, hook: str, *args: Any) -> None:
        for fn in self.by_hook[hook]:
            fn(*args)
