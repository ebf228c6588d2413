"""The training panel: settings go into the design through undo commands, the preview follows the data,
and the run actions and menus are where a user looks for them."""

from __future__ import annotations

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QCheckBox, QComboBox, QSlider

from nnstudio.gui.editor.commands import SetDatasetCommand, SetTrainingCommand


def test_noise_slider_edits_the_design_and_one_drag_is_one_undo_step(studio):
    window, controller = studio
    slider = controller.panel.findChild(QSlider, "datasetNoise")
    stack = window.undo_stack
    before = stack.count()
    for position in (1, 2, 3, 5):  # one drag through four values
        slider.setValue(position)
    assert window.design.dataset.noise == 0.25
    assert controller.panel.noise_value.text() == "25"
    assert stack.count() == before + 1
    stack.undo()
    assert window.design.dataset.noise == 0.0 and slider.value() == 0
    stack.redo()
    assert window.design.dataset.noise == 0.25
    assert window.isWindowModified()  # the settings are part of the file


def test_learning_rate_and_optimizer_edits_undo(studio):
    window, controller = studio
    form = controller.panel.form
    form.editor("learning_rate").setValue(0.1)
    form.editor("learning_rate").setValue(0.3)
    assert window.design.training.learning_rate == 0.3
    optimizer = form.editor("optimizer")
    optimizer.setCurrentIndex(optimizer.findData("adam"))
    optimizer.activated.emit(optimizer.currentIndex())
    assert window.design.training.optimizer == "adam"
    window.undo_stack.undo()
    assert window.design.training.optimizer == "sgd"
    window.undo_stack.undo()
    assert window.design.training.learning_rate == 0.03
    assert form.editor("learning_rate").value() == 0.03


def test_rows_follow_the_settings(studio):
    window, controller = studio
    form = controller.panel.form
    assert not form.editor("momentum").isVisibleTo(controller.panel)  # plain SGD has none
    window.session.push(SetTrainingCommand(window.design, "optimizer", "momentum"))
    assert form.editor("momentum").isVisibleTo(controller.panel)
    assert not form.editor("regularization_rate").isVisibleTo(controller.panel)
    window.session.push(SetTrainingCommand(window.design, "regularization", "l2"))
    assert form.editor("regularization_rate").isVisibleTo(controller.panel)


def test_features_follow_playground_and_the_input_layer(studio):
    window, controller = studio
    box = controller.panel.findChild(QCheckBox, "datasetFeature_x1_sq")
    box.setChecked(True)
    assert window.design.dataset.features == ("x1", "x2", "x1^2")
    inputs = window.design.layer_by_name("inputs")
    assert inputs.params["features"] == 3
    assert window.session.inference.ok
    window.undo_stack.undo()
    assert window.design.dataset.features == ("x1", "x2") and inputs.params["features"] == 2
    assert not box.isChecked()


def test_a_refused_value_is_reported_and_not_kept(studio):
    window, controller = studio
    for name in ("x1", "x2"):  # no features at all is not allowed
        controller.panel.feature_boxes[name].setChecked(False)
    assert window.design.dataset.features == ("x2",)
    assert "at least one" in controller.panel.message.text()
    assert controller.panel.feature_boxes["x2"].isChecked()


def test_settings_commands_merge_only_the_same_field(studio):
    window, _controller = studio
    stack = window.undo_stack
    before = stack.count()
    for value in (1, 2, 3):
        window.session.push(SetDatasetCommand(window.design, "seed", value))
    window.session.push(SetTrainingCommand(window.design, "seed", 7))
    assert stack.count() == before + 2
    command = SetDatasetCommand(window.design, "samples", 5)  # below the minimum
    assert not window.session.push(command) and command.error is not None
    assert stack.count() == before + 2


def test_switching_source_picks_a_dataset_of_that_source(studio, qtbot):
    window, controller = studio
    combo = controller.panel.findChild(QComboBox, "datasetSource")
    combo.setCurrentIndex(combo.findData("builtin"))
    combo.activated.emit(combo.currentIndex())
    assert window.design.dataset.source == "builtin" and window.design.dataset.name == "iris"
    qtbot.waitUntil(lambda: controller.panel.loader.busy == 0 and controller.panel.dataset is not None
                    and controller.panel.dataset.name == "iris", timeout=30_000)
    assert controller.panel.preview.kind == "table"
    assert controller.panel.problems.isVisible()  # the 2-feature Input does not fit iris: said so
    window.undo_stack.undo()
    assert window.design.dataset.source == "playground" and window.design.dataset.name == "circle"


def test_preview_shows_the_playground_points(studio, qtbot):
    _window, controller = studio
    qtbot.waitUntil(lambda: controller.panel.loader.busy == 0 and controller.panel.dataset is not None,
                    timeout=30_000)
    assert controller.panel.preview.kind == "scatter"
    assert controller.panel.preview.scatter.point_count == 500
    assert len(controller.plots.output.train_points.data) == 250  # the Output shows the data before training


def test_loss_is_shown_from_the_output_task(studio):
    window, controller = studio
    assert "½(out − t)², tanh output" in controller.panel.loss_label.text()  # the example: Playground's recipe
    window.design.set_training(recipe="pytorch")
    assert "binary cross-entropy" in controller.panel.loss_label.text()
    output = window.design.layer_by_name("output")
    window.design.set_param(output.id, "task", "regression")
    assert "mean squared error" in controller.panel.loss_label.text()
    assert controller.panel.form.editor("regression_loss").isVisibleTo(controller.panel)


def test_actions_menu_and_shortcuts(studio):
    window, controller = studio
    names = {a.objectName() for a in controller.menu.actions()}
    for name in ("actionTrain", "actionPause", "actionStep", "actionStop", "actionResetWeights",
                 "actionSaveCheckpoint", "actionOpenCheckpoint", "actionSavePlot", "actionSaveMetrics"):
        assert name in names
    assert "actionResume" not in names  # Train reads "Resume" while paused: one entry, not two
    assert window.menus["train"] is controller.menu
    assert controller.actions["train"].shortcut() == QKeySequence("F5")
    assert controller.actions["stop"].shortcut() == QKeySequence("Shift+F5")
    seen: dict[str, str] = {}
    for action in window.actions():
        for key in action.shortcuts():
            text = key.toString()
            assert text not in seen, f"{text} is bound to {seen[text]} and {action.objectName()}"
            seen[text] = action.objectName()
    assert controller.actions["pause"].isEnabled() is False
    assert controller.actions["step"].isEnabled() and controller.actions["train"].isEnabled()


def test_device_list_is_filled_on_demand(studio):
    _window, controller = studio
    combo = controller.panel.device_combo
    combo.list_devices()
    values = [combo.itemData(i) for i in range(combo.count())]
    assert values[:2] == ["auto", "cpu"]
    assert combo.devices_listed


def test_choosing_a_csv_file_previews_its_first_rows(studio, qtbot, tmp_path, monkeypatch):
    window, controller = studio
    data = tmp_path / "points.csv"
    rows = ["a,b,label"] + [f"{i % 7},{(i * 3) % 5},{'yes' if i % 2 else 'no'}" for i in range(40)]
    data.write_text("\n".join(rows) + "\n", encoding="utf-8")
    monkeypatch.setattr(controller.panel, "choose_data_file", lambda: str(data))
    controller.panel.browse_button.click()
    assert window.design.dataset.source == "csv" and window.design.dataset.path == str(data)
    window.undo_stack.undo()  # choosing a file is one undo step
    assert window.design.dataset.source == "playground"
    window.undo_stack.redo()
    controller.panel.target_edit.setText("label")
    controller.panel.target_edit.editingFinished.emit()
    assert window.design.dataset.target == "label"
    qtbot.waitUntil(lambda: controller.panel.loader.busy == 0 and controller.panel.dataset is not None
                    and controller.panel.dataset.source == "csv", timeout=30_000)
    assert controller.panel.preview.kind == "table"
    headers = [controller.panel.preview.table.horizontalHeaderItem(i).text()
               for i in range(controller.panel.preview.table.columnCount())]
    assert headers == ["a", "b", "target"]
    assert not controller.panel.samples_spin.isVisibleTo(controller.panel)  # a Playground-only setting
