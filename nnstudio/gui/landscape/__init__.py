"""Seeing the optimizer: loss landscape, optimizer race, N seeds and the learning-rate finder in the window.

One entry point, `attach_optimization(window)`. Importing this package imports neither torch nor pyqtgraph.
"""

from __future__ import annotations

from .views import OptimizationViews, attach_optimization

__all__ = ["OptimizationViews", "attach_optimization"]
