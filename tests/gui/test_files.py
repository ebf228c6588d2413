"""Opening, saving, reverting and dropping design files through the window."""

from __future__ import annotations

from gui_helpers import chain_design
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from nnstudio.gui.base.locations import example_paths
from nnstudio.io import dumps, save_design


def test_save_then_open_round_trips(window, tmp_path, make_window):
    window.scene.add_layer_at("Dropout", QPointF(300, 300))
    assert window.isWindowModified()
    path = tmp_path / "chain.nnstudio"
    assert window.save_to(path)
    assert not window.isWindowModified()
    assert window.windowTitle() == "chain.nnstudio[*] — NN Studio"
    saved = window.design.copy()
    other = make_window()
    assert other.open_file(path)
    assert other.design.same_content(saved)
    assert other.current_path == path
    assert set(other.scene.blocks) == set(saved.layers)
    assert str(path.resolve()) == other.recent_files()[0]


def test_save_as_asks_for_a_path_and_adds_the_suffix(window, tmp_path, monkeypatch):
    monkeypatch.setattr(window, "choose_save_path", lambda *args: tmp_path / "mine")
    assert window.current_path is None
    assert window.action("save").isEnabled()
    window.action("save").trigger()
    assert window.current_path == tmp_path / "mine.nnstudio"
    assert (tmp_path / "mine.nnstudio").is_file()


def test_a_corrupt_file_opens_nothing_and_the_window_stays_usable(window, tmp_path, dialogs):
    before = window.design.copy()
    broken = tmp_path / "broken.nnstudio"
    broken.write_text('{"format": "nnstudio.design", "version": 1, "layers": [', encoding="utf-8")
    assert not window.open_file(broken)
    assert len(dialogs.errors) == 1
    title, message = dialogs.errors[0]
    assert "Could not open" in title and str(broken) in message
    assert window.design.same_content(before)
    assert window.current_path is None
    assert window.status_label.property("error") is True
    # Still usable: edit and undo as usual.
    window.scene.add_layer_at("Dense", QPointF(0, 300))
    window.undo_stack.undo()
    assert window.design.same_content(before)


def test_an_invalid_value_names_its_json_path(window, tmp_path, dialogs):
    design = chain_design()
    text = dumps(design).replace('"units": 4', '"units": 0')
    bad = tmp_path / "bad.nnstudio"
    bad.write_text(text, encoding="utf-8")
    assert not window.open_file(bad)
    message = dialogs.errors[0][1]
    assert "layers[1].params.units" in message
    assert "at least 1" in message


def test_unsaved_changes_prompt_before_opening(window, tmp_path, dialogs):
    path = tmp_path / "other.nnstudio"
    save_design(chain_design(), path)
    window.scene.add_layer_at("Dense", QPointF(0, 300))
    dialogs.save_changes_answer = "cancel"
    assert not window.open_file(path)
    assert dialogs.save_changes_asked == ["opening another design"]
    assert window.isWindowModified()
    dialogs.save_changes_answer = "discard"
    assert window.open_file(path)
    assert not window.isWindowModified()


def test_revert_reloads_the_saved_file(window, tmp_path):
    path = tmp_path / "revert.nnstudio"
    assert window.save_to(path)
    saved = window.design.copy()
    assert window.action("revert").isEnabled()
    window.scene.add_layer_at("Dense", QPointF(0, 300))
    assert window.revert()
    assert window.design.same_content(saved)
    assert not window.isWindowModified()
    assert window.undo_stack.count() == 0


def test_new_design_is_empty_and_untitled(window):
    assert window.new_design()
    assert window.design.layers == {}
    assert window.windowTitle().startswith("Untitled")
    assert not window.action("revert").isEnabled()


def test_dropping_a_design_file_on_the_window_opens_it(window, tmp_path, qtbot):
    path = tmp_path / "dropped.nnstudio"
    design = chain_design()
    design.set_meta(name="Dropped")
    save_design(design, path)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    pos = QPointF(window.width() / 2, window.height() / 2)
    enter = QDragEnterEvent(pos.toPoint(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(window, QDropEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                                              Qt.KeyboardModifier.NoModifier))
    qtbot.waitUntil(lambda: window.current_path == path)
    assert window.design.name == "Dropped"


def test_examples_menu_opens_an_example_as_an_unsaved_copy(window):
    actions = [a for a in window.examples_menu.actions() if a.isEnabled()]
    paths = example_paths()
    if not paths:
        assert not actions
        return
    assert len(actions) == len(paths)
    actions[0].trigger()
    assert window.current_path is None
    assert "(example)" in window.windowTitle()
    assert window.design.layers


def test_recent_files_menu(window, tmp_path):
    path = tmp_path / "recent.nnstudio"
    window.save_to(path)
    window._fill_recent_menu()
    texts = [a.text() for a in window.recent_menu.actions()]
    assert any("recent.nnstudio" in t for t in texts)
    window.recent_menu.findChild(type(window.action("save")), "actionClearRecent").trigger()
    assert window.recent_files() == []


def test_export_diagram_from_the_window(window, tmp_path):
    assert window.export_diagram(".svg", tmp_path / "diagram.svg")
    assert window.export_diagram(".png", tmp_path / "diagram")
    assert (tmp_path / "diagram.svg").read_text(encoding="utf-8").lstrip().startswith("<?xml")
    assert (tmp_path / "diagram.png").read_bytes().startswith(b"\x89PNG")


def test_window_geometry_and_preferences_persist(make_window):
    first = make_window()
    first.resize(900, 700)
    first.action("showGrid").setChecked(False)
    first.close()
    second = make_window()
    assert not second.action("showGrid").isChecked()
    assert not second.scene.show_grid
    assert second.settings.value("window/state") is not None
