"""The window names the Output's activation and the loss of the design's training recipe: the block on the
canvas, the inspector, the loss plot and the Output dock follow a change of recipe (and its undo)."""

from __future__ import annotations

from nnstudio.gui.editor.commands import SetTrainingCommand


def _output(window):
    return next(layer for layer in window.design.layers.values() if layer.type == "Output")


def test_block_inspector_and_plots_follow_the_recipe(studio):
    window, controller = studio
    assert window.design.training.recipe == "playground"
    output = _output(window)
    block = window.scene.blocks[output.id]
    axis = controller.plots.loss.plot.getPlotItem().getAxis("left")
    window.select_layers([output.id])
    expected = {
        "playground": ("Output · tanh", "Trains as: tanh output, ½(out − t)² on t = ±1 (Playground recipe)",
                       "½(out − t)²"),
        "pytorch": ("Output · sigmoid", "Trains as: logit (sigmoid) output, binary cross-entropy (PyTorch recipe)",
                    "cross-entropy"),
    }

    def check(recipe: str) -> None:
        subtitle, inspector, axis_label = expected[recipe]
        assert block.texts[1] == subtitle
        assert inspector in window.inspector.layer_info.text()
        assert axis.labelText == axis_label
        assert expected[recipe][1].removeprefix("Trains as: ") in controller.plots.output.values.toolTip()

    check("playground")
    window.session.push(SetTrainingCommand(window.design, "recipe", "pytorch"))
    check("pytorch")
    window.undo_stack.undo()
    check("playground")
    assert "getLoss" in controller.plots.loss.values.toolTip()  # the whole set's loss, as Playground's
