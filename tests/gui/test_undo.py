"""Every edit is one undo step, and undo / redo restore the exact document each time."""

from __future__ import annotations

from PySide6.QtCore import QPointF
from PySide6.QtGui import QUndoStack

from nnstudio.core import Design
from nnstudio.gui.canvas.fragment import make_fragment
from nnstudio.gui.editor.commands import (
    AddLayerCommand,
    ConnectCommand,
    DisconnectCommand,
    MoveCommand,
    PasteCommand,
    RemoveCommand,
    RenameCommand,
    SetParamCommand,
)


def test_undo_redo_sequence_restores_every_snapshot(window):
    design = window.design
    stack = window.undo_stack
    scene = window.scene
    snapshots = [design.copy()]
    texts = []

    def step() -> None:
        snapshots.append(design.copy())
        texts.append(stack.undoText())
        assert stack.count() == len(snapshots) - 1, "each edit must be exactly one undo step"

    ids = {layer.name: layer.id for layer in design.layers.values()}
    added = scene.add_layer_at("Dense", QPointF(300, 300))
    step()
    assert scene.connect_layers(ids["dense1"], added)
    step()
    window.select_layers([ids["dense1"]])
    units = window.inspector.param_editor("units")
    units.setValue(9)
    units.setValue(10)  # merges with the edit above
    step()
    window.inspector.name_edit.setText("hidden1")
    window.inspector.name_edit.editingFinished.emit()
    step()
    window.select_layers([added, ids["dense2"]])
    for lid in (added, ids["dense2"]):
        block = scene.blocks[lid]
        block.setPos(block.pos() + QPointF(40, 60))
    assert scene.commit_moves()
    step()
    window.select_layers([ids["dense1"], ids["dense2"]])
    window.duplicate_selection()
    step()
    window.select_layers([ids["dense2"]])  # in the middle of the chain: connections on both sides
    window.delete_selection()
    step()
    assert window.auto_layout(fit=False)
    step()
    window.select_layers([])
    window.inspector.design_name.setText("Edited chain")
    window.inspector.design_name.editingFinished.emit()
    step()

    assert texts[:5] == ["Add Dense 'dense3'", "Connect 'dense1' to 'dense3'", "Change units of 'dense1'",
                         "Rename 'dense1' to 'hidden1'", "Move 2 layers"]
    assert texts[5:] == ["Duplicate 2 layers", "Delete 'dense2'", "Auto Layout", "Rename Design"]

    for i in range(len(snapshots) - 1, 0, -1):
        assert window.action("undo").text() == f"&Undo {texts[i - 1]}"
        window.action("undo").trigger()
        assert design.same_content(snapshots[i - 1]), f"undo of {texts[i - 1]!r} did not restore the document"
        assert set(scene.blocks) == set(design.layers)
        assert set(scene.connection_items) == set(design.connections)
    assert not window.isWindowModified()
    for i in range(1, len(snapshots)):
        window.action("redo").trigger()
        assert design.same_content(snapshots[i]), f"redo of {texts[i - 1]!r} did not restore the document"
        assert all(scene.blocks[lid].pos() == QPointF(*layer.position) for lid, layer in design.layers.items())
    assert window.isWindowModified()


def test_commands_alone_on_a_bare_design():
    """The commands need no window: they only call the document's edit operations."""
    design = Design()
    stack = QUndoStack()
    stack.push(AddLayerCommand(design, "Input", (0, 0)))
    stack.push(AddLayerCommand(design, "Dense", (200, 0)))
    stack.push(AddLayerCommand(design, "Concatenate", (400, 0)))
    a, b, c = list(design.layers)
    stack.push(ConnectCommand(design, a, b))
    stack.push(ConnectCommand(design, b, c))
    stack.push(ConnectCommand(design, a, c))
    snapshot = design.copy()
    stack.push(DisconnectCommand(design, b, c))  # the first of Concatenate's inputs: order matters
    stack.push(ConnectCommand(design, b, c))
    assert design.inputs_of(c) == [a, b]
    stack.undo()
    stack.undo()
    assert design.same_content(snapshot)
    assert design.inputs_of(c) == [b, a]
    stack.push(RemoveCommand(design, [b]))
    stack.undo()
    assert design.same_content(snapshot)
    stack.push(SetParamCommand(design, b, "units", 7))
    stack.push(RenameCommand(design, b, "wide"))
    stack.push(MoveCommand(design, {b: ((200, 0), (200, 100))}))
    stack.push(PasteCommand(design, make_fragment(design, [a, b]), (0, 300)))
    assert len(design.layers) == 5
    while stack.canUndo():
        stack.undo()
    assert design.layers == {}


def test_refused_edit_leaves_no_undo_step():
    design = Design()
    stack = QUndoStack()
    stack.push(AddLayerCommand(design, "Input", (0, 0)))
    command = RenameCommand(design, list(design.layers)[0], "class")
    stack.push(command)
    assert command.error is not None and "reserved word" in str(command.error)
    assert stack.count() == 1
    assert list(design.layers.values())[0].name == "input1"


def test_set_param_back_to_start_is_dropped():
    design = Design()
    stack = QUndoStack()
    stack.push(AddLayerCommand(design, "Dense", (0, 0)))
    lid = list(design.layers)[0]
    stack.push(SetParamCommand(design, lid, "units", 9))
    stack.push(SetParamCommand(design, lid, "units", 4))
    assert stack.count() == 1


def test_clean_state_drives_the_modified_marker(window):
    assert not window.isWindowModified()
    assert "[*]" in window.windowTitle()
    window.scene.add_layer_at("Dense", QPointF(0, 300))
    assert window.isWindowModified()
    window.undo_stack.undo()
    assert not window.isWindowModified()
