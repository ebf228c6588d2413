"""File ▸ Import Playground Link opens the link's design, unsaved, and says what it could not use."""

from __future__ import annotations

from nnstudio.gui.shell import playground_import


def test_the_file_menu_imports_a_link(window, monkeypatch):
    action = window.findChild(type(window.action("new")), "actionImportPlaygroundLink")
    assert action is not None and action in window.menus["file"].actions()
    monkeypatch.setattr(playground_import, "ask_for_link",
                        lambda _w: "#dataset=spiral&networkShape=8,8&sinX=true&foo=1&activation=relu")
    action.trigger()
    design = window.design
    assert design.name == "Playground: spiral" and design.training.recipe == "playground"
    assert [layer.params["units"] for layer in design.layers.values() if layer.type == "Dense"] == [8, 8]
    assert design.dataset.features == ("x1", "x2", "sin(x1)")
    assert window.current_path is None
    assert set(window.scene.blocks) == set(design.layers)
    assert window.last_import_notes == ["not Playground settings, ignored: foo"]


def test_a_non_link_leaves_the_design_alone(window, dialogs):
    before = window.design.copy()
    assert not playground_import.import_playground_link(window, "just words")
    assert window.design.same_content(before)
    assert dialogs.errors and "not a Playground link" in dialogs.errors[0][1]
