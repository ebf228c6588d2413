"""The canvas mirrors the document, and mouse gestures become undoable edits."""

from __future__ import annotations

from gui_helpers import drag_mouse, send_mouse
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QDragEnterEvent, QDragMoveEvent, QDropEvent, QMouseEvent, QPalette, QWheelEvent
from PySide6.QtWidgets import QApplication

from nnstudio.core import Design
from nnstudio.gui.canvas.fragment import MIME_FRAGMENT
from nnstudio.gui.canvas.items import BlockItem
from nnstudio.gui.editor.commands import MoveCommand, SetParamCommand


def _drop(view, mime: QMimeData, pos: QPoint) -> None:
    """Deliver the drag-enter / move / drop sequence a real drag from the palette produces."""
    viewport = view.viewport()
    actions = Qt.DropAction.CopyAction
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    QApplication.sendEvent(viewport, QDragEnterEvent(pos, actions, mime, buttons, mods))
    QApplication.sendEvent(viewport, QDragMoveEvent(pos, actions, mime, buttons, mods))
    QApplication.sendEvent(viewport, QDropEvent(QPointF(pos), actions, mime, buttons, mods))


def _ids(window, *names: str) -> list[str]:
    return [window.design.layer_by_name(n).id for n in names]


def test_scene_mirrors_the_document(window):
    design = window.design
    assert set(window.scene.blocks) == set(design.layers)
    assert set(window.scene.connection_items) == set(design.connections)
    layer = design.add_layer("Dense", position=(100, 300))  # a direct edit (a script), not a command
    assert layer.id in window.scene.blocks
    assert window.scene.blocks[layer.id].pos() == QPointF(100, 300)
    design.remove_layer(layer.id)
    assert layer.id not in window.scene.blocks


def test_dropping_a_palette_item_adds_a_layer(window):
    view = window.canvas
    before = set(window.design.layers)
    mime = window.layer_palette.mime_for("Conv2d")
    target = QPoint(view.viewport().width() // 2, view.viewport().height() - 60)
    _drop(view, mime, target)
    added = set(window.design.layers) - before
    assert len(added) == 1
    layer = window.design.layers[added.pop()]
    assert layer.type == "Conv2d"
    block = window.scene.blocks[layer.id]
    assert block.sceneBoundingRect().contains(view.mapToScene(target))
    assert window.scene.selected_layer_ids() == [layer.id]
    assert window.undo_stack.undoText() == f"Add Conv2d '{layer.name}'"
    window.undo_stack.undo()
    assert layer.id not in window.design.layers and layer.id not in window.scene.blocks


def test_double_click_in_palette_adds_after_selection_and_connects(window):
    dense2, output = _ids(window, "dense2", "output1")
    window.design.disconnect(dense2, output)
    window.select_layers([dense2])
    new_id = window.add_layer_from_palette("Dropout")
    assert window.design.layers[new_id].type == "Dropout"
    assert window.design.inputs_of(new_id) == [dense2]
    window.undo_stack.undo()
    assert new_id not in window.design.layers
    assert window.design.outputs_of(dense2) == []


def test_palette_search_filters_by_name_and_description(window):
    palette = window.layer_palette
    palette.search.setText("pool")
    assert set(palette.visible_types()) == {"MaxPool2d", "AvgPool2d", "GlobalAvgPool2d"}
    palette.search.setText("overfitting")
    assert palette.visible_types() == ["Dropout"]
    palette.search.clear()
    assert len(palette.visible_types()) == len(palette._items)


def test_connecting_through_the_canvas_api(window):
    scene = window.scene
    design = window.design
    dense1, dense2 = _ids(window, "dense1", "dense2")
    design.disconnect(dense1, dense2)
    scene.begin_connection(dense1)
    assert scene.update_connection(scene.blocks[dense2].input_anchor()) is None
    assert scene.blocks[dense2].input_port.state == "accept"
    assert scene.finish_connection(scene.blocks[dense2].input_anchor())
    assert design.inputs_of(dense2) == [dense1]
    assert window.undo_stack.undoText() == "Connect 'dense1' to 'dense2'"


def test_refused_connection_shows_red_and_the_reason(window):
    scene = window.scene
    input1, dense2 = _ids(window, "input1", "dense2")
    scene.begin_connection(input1)
    message = scene.update_connection(scene.blocks[dense2].input_anchor())
    assert message and "already takes its input from 'dense1'" in message
    assert scene.blocks[dense2].input_port.state == "refuse"
    assert scene._drag_line.state == "refuse"
    assert "already takes its input" in window.status_label.text()
    assert window.status_label.property("error") is True
    count = window.undo_stack.count()
    assert not scene.finish_connection(scene.blocks[dense2].input_anchor())
    assert window.undo_stack.count() == count
    assert not scene.connecting


def test_cycle_is_refused(window):
    dense2, dense1 = _ids(window, "dense2", "dense1")
    window.scene.begin_connection(dense2)
    message = window.scene.update_connection(window.scene.blocks[dense1].input_anchor())
    assert "already takes its input" in message or "cycle" in message


def test_connecting_by_mouse_drag(window, qtbot):
    design = window.design
    view = window.canvas
    dense1, dense2 = _ids(window, "dense1", "dense2")
    design.disconnect(dense1, dense2)
    window.canvas.fit_all()
    qtbot.waitUntil(lambda: view.zoom > 0)
    start = view.mapFromScene(window.scene.blocks[dense1].output_anchor())
    end = view.mapFromScene(window.scene.blocks[dense2].input_anchor())
    drag_mouse(view, start, end)
    assert design.inputs_of(dense2) == [dense1]
    assert window.scene._drag_line is None


def test_merge_layers_accept_several_inputs(window):
    design = window.design
    dense1, dense2 = _ids(window, "dense1", "dense2")
    add_id = window.scene.add_layer_at("Add", QPointF(600, 300))
    assert window.scene.connect_layers(dense1, add_id)
    assert window.scene.connect_layers(dense2, add_id)
    assert design.inputs_of(add_id) == [dense1, dense2]
    assert window.scene.blocks[add_id].input_port.accepts_many


def test_incompatible_shapes_are_marked_on_the_connection_and_block(make_window):
    design = Design("Mismatch")
    image = design.add_layer("Input", params={"mode": "image"}, position=(0, 0))
    dense = design.add_layer("Dense", position=(240, 0))
    output = design.add_layer("Output", position=(480, 0))
    design.connect(image.id, dense.id)
    design.connect(dense.id, output.id)
    window = make_window(design)
    conn_item = window.scene.connection_items[design.connections[0]]
    assert conn_item.problem and "Flatten" in conn_item.problem
    assert conn_item.label == "1×28×28"
    block = window.scene.blocks[dense.id]
    assert block.severity == "error"
    assert "add a Flatten before it" in block.toolTip()
    assert "error" in window.problems_button.text()
    # A parameter problem (binary output with 3 units) is the layer's, not the connection's.
    window.session.push(SetParamCommand(design, output.id, "units", 3))
    assert window.scene.connection_items[design.connections[1]].problem is None


def test_blocks_show_shapes_params_and_badges(window):
    design = window.design
    block = window.scene.blocks[design.layer_by_name("dense1").id]
    name, subtitle, summary, shape, count = block.texts
    assert (name, subtitle, summary, shape, count) == ("dense1", "Dense · tanh", "4 units", "→ 4", "12 params")
    item = window.scene.connection_items[design.connections[1]]
    assert item.label == "4"
    loose = window.scene.add_layer_at("Dense", QPointF(300, 400))
    assert window.scene.blocks[loose].severity == "error"  # no input
    assert "has no input" in window.scene.blocks[loose].toolTip()


def test_dragging_blocks_is_one_undo_step(window, qtbot):
    design = window.design
    view = window.canvas
    dense1, dense2 = _ids(window, "dense1", "dense2")
    window.select_layers([dense1, dense2])
    before = {lid: design.layers[lid].position for lid in (dense1, dense2)}
    count = window.undo_stack.count()
    block = window.scene.blocks[dense1]
    start = view.mapFromScene(block.sceneBoundingRect().center() + QPointF(0, -10))
    # Pressing an already selected block keeps the selection: the drag moves every selected block.
    drag_mouse(view, start, start + QPoint(0, 80), steps=10)
    assert window.undo_stack.count() == count + 1
    assert window.undo_stack.undoText() == "Move 2 layers"
    for lid in (dense1, dense2):
        assert design.layers[lid].position[1] > before[lid][1]
        assert design.layers[lid].position[1] % 10 == 0  # snapped to the grid
    window.undo_stack.undo()
    assert {lid: design.layers[lid].position for lid in (dense1, dense2)} == before
    assert window.scene.blocks[dense1].pos() == QPointF(*before[dense1])


def test_rubber_band_selects_blocks(window):
    view = window.canvas
    scene = window.scene
    rect = scene.blocks[_ids(window, "input1")[0]].sceneBoundingRect().united(
        scene.blocks[_ids(window, "dense1")[0]].sceneBoundingRect())
    start = view.mapFromScene(rect.topLeft() + QPointF(-30, -30))
    end = view.mapFromScene(rect.bottomRight() + QPointF(10, 10))
    drag_mouse(view, start, end)
    assert scene.selected_layer_ids() == _ids(window, "input1", "dense1")


def test_delete_restores_exact_indices_on_undo(window):
    design = window.design
    snapshot = design.copy()
    window.select_layers(_ids(window, "dense1"))
    window.action("delete").trigger()
    assert design.layer_by_name("dense1") is None
    assert len(design.connections) == 1
    window.undo_stack.undo()
    assert design.same_content(snapshot)


def test_copy_paste_gives_fresh_ids_unique_names_and_internal_connections(window):
    design = window.design
    dense1, dense2 = _ids(window, "dense1", "dense2")
    window.select_layers([dense1, dense2])
    window.action("copy").trigger()
    assert window.action("paste").isEnabled()
    before = set(design.layers)
    window.action("paste").trigger()
    new = [lid for lid in design.layers if lid not in before]
    assert len(new) == 2
    names = {design.layers[lid].name for lid in new}
    assert not names & {"dense1", "dense2"}
    assert design.inputs_of(new[1]) == [new[0]]
    assert window.scene.selected_layer_ids() == new
    assert design.layers[new[0]].params == design.layers[dense1].params


def test_cut_then_paste_and_duplicate(window):
    design = window.design
    dense2 = _ids(window, "dense2")[0]
    window.select_layers([dense2])
    window.action("cut").trigger()
    assert design.layer_by_name("dense2") is None
    assert window.undo_stack.undoText().startswith("Cut")
    window.action("paste").trigger()
    assert design.layer_by_name("dense2") is not None  # the name was free again
    window.action("duplicate").trigger()
    assert len([lay for lay in design.layers.values() if lay.type == "Dense"]) == 3


def test_pasting_garbage_is_refused_quietly(window):
    mime = QMimeData()
    mime.setData(MIME_FRAGMENT, b'{"format": "nnstudio.fragment", "layers": [{"id": 1}]}')
    QApplication.clipboard().setMimeData(mime)
    count = len(window.design.layers)
    assert not window.paste()
    assert len(window.design.layers) == count


def test_zoom_keys_and_fit(window):
    view = window.canvas
    view.set_zoom(1.0)
    window.action("zoomIn").trigger()
    assert view.zoom > 1.0
    window.action("zoomOut").trigger()
    window.action("zoomOut").trigger()
    assert view.zoom < 1.0
    window.action("fitView").trigger()
    rect = window.scene.blocks_rect()
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    assert visible.contains(rect)
    assert window.zoom_label.text() == f"{view.zoom * 100:.0f} %"
    shortcuts = {s.toString() for s in window.action("zoomIn").shortcuts()}
    assert "Ctrl+=" in shortcuts
    assert window.action("fitView").shortcut().toString() == "Ctrl+0"


def test_auto_layout_orders_columns_by_depth(window):
    design = window.design
    for lid in design.layers:
        design.move(lid, (0, 0))
    assert window.auto_layout()
    xs = [design.layers[lid].position[0] for lid in design.layers]
    assert xs == sorted(xs) and len(set(xs)) == 4
    assert window.undo_stack.undoText() == "Auto Layout"
    window.undo_stack.undo()
    assert all(layer.position == (0, 0) for layer in design.layers.values())


def test_selection_drives_the_inspector(window):
    dense1 = _ids(window, "dense1")[0]
    window.select_layers([dense1])
    assert window.inspector.pages.currentWidget() is window.inspector.layer_page
    window.scene.clearSelection()
    assert window.inspector.pages.currentWidget() is window.inspector.design_page
    window.select_layers(list(window.design.layers)[:2])
    assert window.inspector.pages.currentWidget() is window.inspector.many_page


def test_blocks_follow_a_palette_change(window):
    dark = QPalette()
    dark.setColor(QPalette.ColorRole.Window, QColor("#202124"))
    dark.setColor(QPalette.ColorRole.Base, QColor("#2b2c2f"))
    dark.setColor(QPalette.ColorRole.Text, QColor("#e8eaed"))
    window.canvas.setPalette(dark)
    assert window.scene.style.colours.dark
    assert all(isinstance(b, BlockItem) and b.style is window.scene.style for b in window.scene.blocks.values())


def test_wheel_zooms_and_middle_drag_pans(window):
    view = window.canvas
    view.set_zoom(1.0)
    centre = QPointF(view.viewport().rect().center())
    wheel = QWheelEvent(centre, view.viewport().mapToGlobal(centre), QPoint(0, 0), QPoint(0, 120),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(view.viewport(), wheel)
    assert view.zoom > 1.1
    before = view.mapToScene(view.viewport().rect().center())
    vp = view.viewport()
    middle = Qt.MouseButton.MiddleButton
    send_mouse(vp, QMouseEvent.Type.MouseButtonPress, centre, middle)
    send_mouse(vp, QMouseEvent.Type.MouseMove, centre + QPointF(80, 40), Qt.MouseButton.NoButton, middle)
    send_mouse(vp, QMouseEvent.Type.MouseButtonRelease, centre + QPointF(80, 40), middle)
    after = view.mapToScene(view.viewport().rect().center())
    assert after.x() < before.x() and after.y() < before.y()


def test_space_drag_pans_instead_of_selecting(window, qtbot):
    view = window.canvas
    view.setFocus()
    before = view.mapToScene(view.viewport().rect().center())
    qtbot.keyPress(view, Qt.Key.Key_Space)
    start = QPoint(view.viewport().width() // 2, 40)
    drag_mouse(view, start, start + QPoint(-100, 0))
    qtbot.keyRelease(view, Qt.Key.Key_Space)
    after = view.mapToScene(view.viewport().rect().center())
    assert after.x() > before.x()
    assert window.scene.selected_layer_ids() == []


def test_delete_key_works_on_the_canvas_but_not_in_the_inspector(window, qtbot):
    dense1 = _ids(window, "dense1")[0]
    window.select_layers([dense1])
    units = window.inspector.param_editor("units")
    units.setFocus()
    qtbot.keyClick(units, Qt.Key.Key_Delete)
    assert dense1 in window.design.layers
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_Delete)
    assert dense1 not in window.design.layers


def test_connecting_backwards_from_an_input_port(window):
    scene = window.scene
    dense1, dense2 = _ids(window, "dense1", "dense2")
    window.design.disconnect(dense1, dense2)
    scene.begin_connection(dense2, from_output=False)
    assert scene.update_connection(scene.blocks[dense1].output_anchor()) is None
    assert scene.blocks[dense1].output_port.state == "accept"
    assert scene.finish_connection(scene.blocks[dense1].output_anchor())
    assert window.design.inputs_of(dense2) == [dense1]


def test_dropping_on_a_block_without_a_matching_port_explains_why(window):
    scene = window.scene
    dense2, input1 = _ids(window, "dense2", "input1")
    scene.begin_connection(dense2)
    message = scene.update_connection(scene.blocks[input1].sceneBoundingRect().center())
    assert message == "Input 'input1' takes no inputs"
    assert scene._drag_line.state == "refuse"
    scene.cancel_connection()


def test_a_click_without_moving_records_no_move(window, qtbot):
    design = window.design
    dense1 = _ids(window, "dense1")[0]
    window.session.push(MoveCommand(design, {dense1: (design.layers[dense1].position, (243.5, 7.25))}))
    count = window.undo_stack.count()
    view = window.canvas
    point = view.mapFromScene(window.scene.blocks[dense1].sceneBoundingRect().center())
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert window.scene.selected_layer_ids() == [dense1]
    assert window.undo_stack.count() == count
    assert design.layers[dense1].position == (243.5, 7.25)


def test_the_registrys_new_layer_types_are_in_the_palette(window):
    palette = window.layer_palette
    for type_name in ("Reshape", "GlobalAvgPool2d", "Conv1d"):
        assert palette.item_for(type_name) is not None
        assert palette.mime_for(type_name) is not None


def test_a_refused_input_of_a_new_layer_type_is_marked_from_the_core_diagnostic(make_window):
    design = Design("Sequence mismatch")
    inp = design.add_layer("Input", params={"features": 12}, position=(0, 0))
    conv = design.add_layer("Conv1d", position=(240, 0))
    reshape = design.add_layer("Reshape", params={"shape": "5,-1"}, position=(480, 0))
    output = design.add_layer("Output", position=(720, 0))
    for a, b in [(inp, conv), (conv, reshape), (reshape, output)]:
        design.connect(a.id, b.id)
    window = make_window(design)
    items = window.scene.connection_items
    assert items[design.connections[0]].problem and "add a Reshape before it" in items[design.connections[0]].problem
    # A Reshape whose target cannot hold its input is at fault itself, not the connection into it.
    design2 = Design("Reshape settings")
    inp2 = design2.add_layer("Input", params={"features": 12}, position=(0, 0))
    bad = design2.add_layer("Reshape", params={"shape": "5,-1"}, position=(240, 0))
    out2 = design2.add_layer("Output", position=(480, 0))
    design2.connect(inp2.id, bad.id)
    design2.connect(bad.id, out2.id)
    window2 = make_window(design2)
    assert window2.scene.connection_items[design2.connections[0]].problem is None
    assert "not a multiple of 5" in window2.scene.blocks[bad.id].toolTip()
