"""Runs in the window: the Runs panel (table, overlaid curves, settings diff, sweep view), restore, branch
and sweeps, and the recording of every run the window trains into the run store.

One entry point, `attach_runs(window)`, called once after `attach_training(window)`.
"""

from __future__ import annotations

from typing import Any

from .controller import RunsController


def attach_runs(window: Any) -> RunsController:
    """Add the Runs panel to a MainWindow that has training attached; idempotent."""
    existing = window.findChild(RunsController)
    if existing is not None:
        return existing
    from ..training import attach_training

    return RunsController(window, attach_training(window))


__all__ = ["RunsController", "attach_runs"]
