"""Callback dispatch for a fit: a callback's own failure is told apart from one of the training itself."""

from __future__ import annotations

from typing import Any

from ..callbacks import CallbackList, CancelTraining


class CallbackError(Exception):
    """A callback raised: carries which one and where, so the user is told plainly."""

    def __init__(self, hook: str, callback: object, error: BaseException) -> None:
        self.hook, self.callback, self.error = hook, callback, error
        name = type(getattr(callback, "__self__", callback)).__name__
        super().__init__(f"the {name} callback failed in {hook}: {type(error).__name__}: {error}")


class CallbackDispatch(CallbackList):
    """Dispatch that tells a callback's own failure apart from one of the training itself."""

    def __call__(self, hook: str, *args: Any) -> None:
        for fn in self.by_hook[hook]:
            try:
                fn(*args)
            except CancelTraining:
                raise
            except Exception as exc:
                raise CallbackError(hook, fn, exc) from exc

