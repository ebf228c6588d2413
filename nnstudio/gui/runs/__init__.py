"""Runs in the window: the Runs panel (table, overlaid curves, settings diff, sweep view), restore, branch
and sweeps, and the recording of every run the window trains into the run store.

One entry point, `attach_runs(window)`, called once after `attach_training(window)`.
"""

from __future__ import annotations

from .controller import RunsController
from .host import RunsHost


def attach_runs(window: RunsHost) -> RunsController:
    """Add the Runs panel to a window (attaching training first if it is not); idempotent."""
    existing = window.qt_window().findChild(RunsController)
    if existing is not None:
        return existing
    from ..training import attach_training

    return RunsController(window, attach_training(window))


__all__ = ["RunsController", "RunsHost", "attach_runs"]
