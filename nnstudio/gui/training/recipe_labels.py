"""The plot docks name the loss they show: the design's Output activation and loss under its training recipe."""

from __future__ import annotations

from typing import Any

from nnstudio.core.recipe_text import design_output_and_loss, loss_title

# Short names for the loss plot's axis (a plot a few lines high has room for a dozen characters).
_AXIS_NAMES = {"½(out − t)² on t = ±1": "½(out − t)²", "binary cross-entropy": "cross-entropy",
               "mean squared error": "MSE", "mean absolute error": "MAE"}


def loss_axis_label(design: Any) -> str:
    """'½(out − t)²', 'cross-entropy', 'MSE' …: the loss plot's axis says which loss its curves are."""
    training = design.training
    for layer in design.layers.values():
        if layer.type == "Output":
            title = loss_title(str(layer.params.get("task", "")), training.recipe, training.regression_loss)
            return _AXIS_NAMES.get(title, title)
    return "loss"


def label_plots(plots: Any, design: Any) -> None:
    """Put the recipe's loss on the loss plot's axis and in the tooltips of the loss and Output values."""
    if plots is None:
        return
    trains_as = design_output_and_loss(design) or ""
    plots.loss.plot.getPlotItem().setLabel("left", loss_axis_label(design))
    whole = " — the mean over the whole set with the current weights, as Playground's getLoss" \
        if design.training.playground else ""
    tip = f"Output and loss: {trains_as}{whole}" if trains_as else ""
    plots.loss.values.setToolTip(tip)
    plots.output.values.setToolTip(tip)


def follow_recipe(controller: Any) -> None:
    """Label the controller's plots now and again whenever the recipe, the Output's task or the design changes."""
    label_plots(controller.plots, controller.window.design)

    def changed(event: Any) -> None:
        if event.kind in ("training_changed", "param_changed", "reset", "layer_added", "layer_removed"):
            label_plots(controller.plots, controller.window.design)

    controller.session.changed.connect(changed)
