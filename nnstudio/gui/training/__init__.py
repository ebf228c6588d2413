"""Training in the window: the training panel, the worker thread, live plots and checkpoints.

One entry point, `attach_training(window)`. Importing this package imports neither torch nor pyqtgraph:
pyqtgraph is loaded after the window's first paint, torch when training, a checkpoint or an export starts.
"""

from __future__ import annotations

from .controller import TrainingController
from .host import TrainingHost


def attach_training(window: TrainingHost) -> TrainingController:
    """Add training to a MainWindow: the Training panel and plot docks, the Train menu, toolbar and status
    widgets. The returned controller stops training and waits for its thread when the window closes
    (it listens to the window's `closing` signal); `controller.shutdown()` does the same on demand."""
    existing = window.qt_window().findChild(TrainingController)
    if existing is not None:
        return existing
    return TrainingController(window)


__all__ = ["TrainingController", "TrainingHost", "attach_training"]
