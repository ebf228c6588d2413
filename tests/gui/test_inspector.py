"""The inspector edits the selected layer through undo commands and shows shapes and problems."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QCheckBox, QComboBox, QDoubleSpinBox, QLabel, QSpinBox


def _select(window, name: str) -> str:
    layer_id = window.design.layer_by_name(name).id
    window.select_layers([layer_id])
    return layer_id


def test_editors_follow_the_schema(window):
    _select(window, "dense1")
    units = window.inspector.param_editor("units")
    assert isinstance(units, QSpinBox)
    assert (units.minimum(), units.maximum()) == (1, 1_000_000)
    assert units.objectName() == "param_units"
    assert units.toolTip() == "Number of neurons."
    hint = window.inspector.findChild(QLabel, "param_units_hint")
    assert hint is not None and "Number of neurons." in hint.text()
    assert isinstance(window.inspector.param_editor("bias"), QCheckBox)
    activation = window.inspector.param_editor("activation")
    assert isinstance(activation, QComboBox)
    assert activation.currentData() == "tanh"
    _select(window, "output1")
    assert isinstance(window.inspector.param_editor("task"), QComboBox)


def test_editing_a_parameter_changes_document_and_shapes(window, qtbot):
    design = window.design
    dense1 = _select(window, "dense1")
    dense2 = design.layer_by_name("dense2").id
    units = window.inspector.param_editor("units")
    units.setValue(16)
    assert design.layers[dense1].params["units"] == 16
    assert window.session.inference.shapes[dense1] == (16,)
    assert window.scene.blocks[dense1].texts[3] == "→ 16"
    assert window.scene.blocks[dense1].texts[2] == "16 units"
    assert window.scene.blocks[dense2].texts[4] == "34 params"  # 16×2 + 2
    assert window.scene.connection_items[design.connections[1]].label == "16"
    assert "Output: 16" in window.inspector.layer_info.text()
    assert window.undo_stack.undoText() == "Change units of 'dense1'"
    assert window.params_label.text().startswith(f"{window.session.inference.total_params:,}")


def test_consecutive_edits_of_one_field_merge(window):
    design = window.design
    dense1 = _select(window, "dense1")
    count = window.undo_stack.count()
    units = window.inspector.param_editor("units")
    for value in (5, 6, 7, 8):
        units.setValue(value)
    assert window.undo_stack.count() == count + 1
    window.undo_stack.undo()
    assert design.layers[dense1].params["units"] == 4
    assert units.value() == 4  # the editor follows the document


def test_choice_and_bool_editors(window):
    design = window.design
    dense1 = _select(window, "dense1")
    combo = window.inspector.param_editor("activation")
    index = combo.findData("relu")
    combo.setCurrentIndex(index)
    combo.activated.emit(index)
    assert design.layers[dense1].params["activation"] == "relu"
    assert window.scene.blocks[dense1].texts[1] == "Dense · ReLU"
    window.inspector.param_editor("bias").setChecked(False)
    assert design.layers[dense1].params["bias"] is False


def test_float_editor_keeps_the_schema_range(window):
    dropout = window.scene.add_layer_at("Dropout", window.canvas.mapToScene(10, 10))
    window.select_layers([dropout])
    rate = window.inspector.param_editor("rate")
    assert isinstance(rate, QDoubleSpinBox)
    assert (rate.minimum(), rate.maximum()) == (0.0, 0.95)
    rate.setValue(0.25)
    assert window.design.layers[dropout].params["rate"] == 0.25


def test_input_mode_hides_irrelevant_rows(window):
    _select(window, "input1")
    form = window.inspector.form
    assert form.form.isRowVisible(form._rows["features"])
    assert not form.form.isRowVisible(form._rows["channels"])
    mode = window.inspector.param_editor("mode")
    mode.setCurrentIndex(mode.findData("image"))
    mode.activated.emit(mode.findData("image"))
    assert not form.form.isRowVisible(form._rows["features"])
    assert form.form.isRowVisible(form._rows["height"])


def test_invalid_name_is_refused_inline(window, qtbot):
    design = window.design
    dense1 = _select(window, "dense1")
    name = window.inspector.name_edit
    name.setText("dense2")
    name.editingFinished.emit()
    assert design.layers[dense1].name == "dense1"
    error = window.inspector.name_error
    assert not error.isHidden()
    assert error.text() == "another layer is already called 'dense2'"
    name.setText("2bad name")
    name.editingFinished.emit()
    assert "is not allowed" in error.text()
    qtbot.keyClicks(name, "x")  # typing again clears the message
    assert error.isHidden()
    name.setText("hidden")
    name.editingFinished.emit()
    assert design.layers[dense1].name == "hidden"
    assert window.scene.blocks[dense1].texts[0] == "hidden"
    assert window.undo_stack.undoText() == "Rename 'dense1' to 'hidden'"
    window.undo_stack.undo()
    assert name.text() == "dense1"


def test_nothing_selected_shows_the_design(window):
    inspector = window.inspector
    window.scene.clearSelection()
    assert inspector.pages.currentWidget() is inspector.design_page
    assert inspector.design_name.text() == "Chain"
    assert "Layers: 4" in inspector.design_totals.text()
    inspector.design_name.setText("Renamed")
    inspector.design_name.editingFinished.emit()
    assert window.design.name == "Renamed"
    inspector.design_description.setPlainText("notes")
    assert window.design.description == "notes"
    window.undo_stack.undo()
    assert window.design.description == "A small test network"
    assert inspector.design_description.toPlainText() == "A small test network"


def test_layer_problems_are_listed(window):
    loose = window.scene.add_layer_at("Dense", window.canvas.mapToScene(20, 20))
    window.select_layers([loose])
    problems = window.inspector.layer_problems
    assert not problems.isHidden()
    assert "has no input" in problems.text()
    window.scene.clearSelection()
    assert "has no input" in window.inspector.design_problems.text()


def test_wheel_over_unfocused_editor_does_not_change_it(window, qtbot):
    dense1 = _select(window, "dense1")
    units = window.inspector.param_editor("units")
    window.canvas.setFocus()
    event = QWheelEvent(QPointF(5, 5), QPointF(units.mapToGlobal(QPoint(5, 5))), QPoint(0, 0), QPoint(0, 120),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(units, event)
    assert window.design.layers[dense1].params["units"] == 4
