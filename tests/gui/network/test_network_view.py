"""The network view mirrors the document, draws live weights and heatmaps, and edits weights undoably."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF

from nnstudio.core.settings import PLAYGROUND_FEATURES
from nnstudio.gui.network.view import link_colour, link_width

TIMEOUT = 90_000


def _dense_units(design):
    return [layer.params["units"] for layer in design.layers.values() if layer.type == "Dense"]


def _find(panel, cls, name):
    found = panel.findChild(cls, name)
    assert found is not None, name
    return found


def test_columns_follow_the_document_and_its_undo(network_studio):
    window, _controller, panel = network_studio
    view = panel.view
    assert [c.units for c in view.layout_info.columns] == [2, 4, 2, 1]
    assert view.layout_info.features == ("x1", "x2")
    add_neuron = _find(view, type(panel.undo_button), "networkAddNeuron_hidden1")
    add_neuron.click()
    assert _dense_units(window.design) == [5, 2]
    assert [c.units for c in view.layout_info.columns] == [2, 5, 2, 1]
    window.undo_stack.undo()
    assert [c.units for c in view.layout_info.columns] == [2, 4, 2, 1]
    panel.layer_buttons.add_layer.click()
    assert _dense_units(window.design) == [4, 2, 2]
    assert window.session.inference.errors() == []
    assert panel.layer_buttons.label.text() == "3 hidden layers"
    panel.layer_buttons.remove_layer.click()
    panel.layer_buttons.remove_layer.click()
    assert _dense_units(window.design) == [4]
    assert window.session.inference.errors() == []
    for _ in range(3):
        window.undo_stack.undo()
    assert _dense_units(window.design) == [4, 2]
    assert set(window.scene.blocks) == set(window.design.layers)  # the canvas mirrored it all too


def test_clicking_a_feature_square_switches_it(network_studio):
    window, _controller, panel = network_studio
    view = panel.view
    sin_x1 = PLAYGROUND_FEATURES.index("sin(x1)")
    point = view.node_rect(0, sin_x1).center()
    hit = view.hit(point)
    assert hit is not None and hit.kind == "feature" and hit.row == sin_x1
    assert "off" in view.describe(hit)
    view.mousePressEvent(_press(point))
    assert window.design.dataset.features == ("x1", "x2", "sin(x1)")
    assert window.design.layer_by_name("inputs").params["features"] == 3
    assert [c.units for c in view.layout_info.columns][0] == 3
    window.undo_stack.undo()
    assert window.design.dataset.features == ("x1", "x2")


def _press(point: QPointF):
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QMouseEvent

    return QMouseEvent(QMouseEvent.Type.MouseButtonPress, point, point, Qt.MouseButton.LeftButton,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)


def test_designs_it_cannot_draw_say_why(network_studio):
    window, _controller, panel = network_studio
    hidden1 = window.design.layer_by_name("hidden1").id
    window.design.set_param(hidden1, "units", 12)
    assert "more than 8 neurons" in panel.view.layout_info.problem
    assert panel.show_anyway.isVisibleTo(panel)
    panel.show_anyway.click()
    assert panel.view.layout_info.problem == "" and panel.view.layout_info.columns[1].units == 12
    window.design.set_dataset(source="builtin", name="iris")
    assert "Playground's 2-D data" in panel.view.layout_info.problem


def test_a_step_epoch_draws_the_live_weights_and_an_edit_reaches_the_model(network_studio, qtbot, tmp_path):
    window, controller, panel = network_studio
    window.design.set_training(until_paused=True)
    assert panel.step_epoch()  # from idle: one whole epoch, then pause
    qtbot.waitUntil(lambda: controller.phase == "paused" and controller.latest is not None
                    and controller.latest.reason == "paused" and controller.trained is not None,
                    timeout=TIMEOUT)
    latest = controller.latest
    assert (latest.epoch, latest.batch, latest.step) == (1, 0, 25)  # 250 points, batch 10
    view = panel.view
    qtbot.waitUntil(lambda: panel.bar.counter.text() == "Epoch 1 · batch 0/25 · step 25", timeout=TIMEOUT)
    trained = controller.trained.weights
    # What the view draws is the real model's weights, as the snapshot of the live model has them.
    np.testing.assert_array_equal(view.parameters["hidden2.weight"], trained["hidden2.weight"])
    w = float(trained["hidden2.weight"][1, 3])
    assert view.weight(2, 1, 3) == w
    assert link_width(w) == pytest.approx(1 + min(abs(w), 5) * 9 / 5)
    assert link_colour(w) == link_colour(w if w else 1e-9)
    assert len(view.neuron_maps["hidden1"]) == 4 and view.output_map is not None
    # Hover, then click the link hidden1[3] → hidden2[1] and type 0.
    dest, src = view.node_rect(2, 1), view.node_rect(1, 3)
    middle = QPointF((src.right() + dest.left()) / 2, (src.center().y() + dest.center().y()) / 2)
    hit = view.hit(middle)
    assert hit is not None and (hit.kind, hit.column, hit.row, hit.source) == ("link", 2, 1, 3)
    assert f"weight {w:.4g}" in view.describe(hit)
    panel.ask_value = lambda title, label, value: 0.0
    view.mousePressEvent(_press(middle))
    qtbot.waitUntil(lambda: controller.latest.parameters["hidden2.weight"][1, 3] == 0.0, timeout=TIMEOUT)
    assert controller.latest.step == 25  # the edit republished while paused, without training
    panel.value_edits.undo()
    qtbot.waitUntil(lambda: controller.latest.parameters["hidden2.weight"][1, 3] == np.float32(w), timeout=TIMEOUT)
    panel.value_edits.redo()
    qtbot.waitUntil(lambda: controller.latest.parameters["hidden2.weight"][1, 3] == 0.0, timeout=TIMEOUT)
    with qtbot.waitSignal(controller.run_finished, timeout=TIMEOUT):
        controller.stop()
    assert controller.trained.weights["hidden2.weight"][1, 3] == 0.0
    path = tmp_path / "edited.safetensors"
    assert controller.save_checkpoint(path)
    from nnstudio.ml.checkpoint import load_checkpoint

    assert float(load_checkpoint(path).state_dict["hidden2.weight"][1, 3]) == 0.0


def test_an_edit_while_idle_redraws_from_the_real_model(network_studio, qtbot):
    window, controller, panel = network_studio
    assert panel.step_epoch()
    qtbot.waitUntil(lambda: controller.phase == "paused" and controller.trained is not None, timeout=TIMEOUT)
    with qtbot.waitSignal(controller.run_finished, timeout=TIMEOUT):
        controller.stop()
    before = panel.view.output_map.copy()
    panel.ask_value = lambda title, label, value: 5.0
    panel._edit_bias(3, 0)  # the output neuron's bias
    assert controller.trained.weights["output.bias"][0] == 5.0
    assert panel.view.bias(3, 0) == 5.0
    assert panel.view.output_map != before  # recomputed by the model with the new bias
    import torch

    from nnstudio.ml.builder import build_model

    model = build_model(window.design)
    model.load_state_dict({k: torch.as_tensor(v) for k, v in controller.trained.weights.items()})
    assert float(model.output.bias.detach()) == 5.0


def test_the_playground_bar_edits_the_design(network_studio):
    window, _controller, panel = network_studio
    bar = panel.bar
    bar.learning_rate.activated.emit(bar.learning_rate.findData(0.1))
    assert window.design.training.learning_rate == 0.1
    bar.activation.activated.emit(bar.activation.findData("relu"))
    assert {layer.params["activation"] for layer in window.design.layers.values() if layer.type == "Dense"} == {"relu"}
    bar.problem.activated.emit(bar.problem.findData("regression"))
    spec = window.design.dataset
    assert (spec.name, spec.samples) == ("reg-plane", 1200)
    assert window.design.layer_by_name("output").params["task"] == "regression"
    seed = spec.seed
    bar.regenerate.click()
    assert window.design.dataset.seed != seed
    bar.batch_size.setValue(25)
    assert window.design.training.batch_size == 25
    for _ in range(5):
        window.undo_stack.undo()
    assert window.design.dataset.name == "circle" and window.design.training.learning_rate == 0.03


def test_until_paused_trains_past_the_epochs_setting_and_counts_without_an_end(network_studio, qtbot):
    window, controller, panel = network_studio
    window.design.set_training(until_paused=True, epochs=1)
    panel.play_or_pause()
    qtbot.waitUntil(lambda: controller.latest is not None and controller.latest.epoch >= 3, timeout=TIMEOUT)
    assert controller.phase == "running" and controller.latest.epochs >= 10**9
    qtbot.waitUntil(lambda: controller.panel.epoch_label.text().startswith("Epoch ")
                    and "/" not in controller.panel.epoch_label.text(), timeout=TIMEOUT)
    assert panel.bar.play.text() == "Pause"
    panel.play_or_pause()
    qtbot.waitUntil(lambda: controller.phase == "paused", timeout=TIMEOUT)
    with qtbot.waitSignal(controller.run_finished, timeout=TIMEOUT) as blocker:
        controller.stop()
    assert blocker.args[0].status == "stopped" and blocker.args[0].epochs_completed >= 2


def test_the_recipe_follows_the_data_source_and_regression_sets_get_1200_points(network_studio):
    window, controller, _panel = network_studio
    training_panel = controller.panel
    training_panel._set_source("builtin")
    assert window.design.training.recipe == "pytorch" and not window.design.training.until_paused
    training_panel._set_source("playground")
    assert window.design.training.recipe == "playground" and window.design.training.until_paused
    training_panel._set_name("reg-gauss")
    assert window.design.dataset.samples == 1200
    training_panel._set_name("xor")
    assert window.design.dataset.samples == 500
    window.undo_stack.undo()
    assert window.design.dataset.samples == 1200
    assert window.new_design() and window.design.training.recipe == "playground"
