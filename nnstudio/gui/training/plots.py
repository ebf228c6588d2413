"""The live plots of a training run, together: one view per plot dock, redrawn from the history when visible.

The views: loss, accuracy, learning rate and gradient norms (`curve_plots`), weight distributions
(`weights_plot`) and the Output dock (`output_plot`; Playground's heatmap, other data: `output_views`),
all built on `plot_base`. One item per curve, updated in place with `setData`; long curves use peak
downsampling and clip-to-view; heatmaps are `ImageItem`s with fixed levels. Each view redraws only while
it is visible and only when the history moved, so hidden tabs cost nothing. These modules import
pyqtgraph, so the controller imports them only after the window is on screen.
"""

from __future__ import annotations

from typing import Any

from .curve_plots import AccuracyView, CurvesView, GradientsView, LearningRateView, LossView
from .history import TrainingHistory
from .output_plot import OutputView
from .plot_base import PlotView, add_curve, make_plot
from .weights_plot import WeightsView

__all__ = ["AccuracyView", "CurvesView", "GradientsView", "LearningRateView", "LossView", "OutputView",
           "PlotView", "TrainingPlots", "WeightsView", "add_curve", "make_plot"]


class TrainingPlots:
    """The plot views and the docks they live in; redraws the visible ones from the history."""

    def __init__(self) -> None:
        self.loss = LossView()
        self.accuracy = AccuracyView()
        self.learning_rate = LearningRateView()
        self.gradients = GradientsView()
        self.weights = WeightsView()
        self.output = OutputView()
        self.views: dict[str, PlotView] = {
            "loss": self.loss, "accuracy": self.accuracy, "learningRate": self.learning_rate,
            "gradients": self.gradients, "weights": self.weights, "output": self.output,
        }

    def refresh(self, history: TrainingHistory, latest: Any, visible: set[str], force: bool = False) -> list[str]:
        """Redraw the visible views whose data moved; returns their keys."""
        return [key for key, view in self.views.items() if key in visible and view.refresh(history, latest, force)]

    def reset(self) -> None:
        for view in self.views.values():
            view.reset()
