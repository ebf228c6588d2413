"""Diagram export without a window, the application's start, and what the window must not import."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from gui_helpers import chain_design
from PySide6.QtGui import QAction, QImage

from nnstudio.core import ExportError
from nnstudio.gui.base.locations import example_paths, examples_dir
from nnstudio.gui.canvas.render import render_design

EXAMPLES = ["playground-circle", "spiral", "digits-cnn", "residual-mlp", "wide-and-deep"]


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_example_renders_to_png(name, tmp_path, qapp):
    path = examples_dir() / f"{name}.nnstudio"
    if not path.is_file():
        pytest.skip(f"{path.name} is not installed yet")
    from nnstudio.io import load_design
    out = render_design(load_design(path), tmp_path / f"{name}.png")
    image = QImage(str(out))
    assert not image.isNull()
    assert image.width() > 400 and image.height() > 100


def test_render_svg_of_a_built_design(tmp_path, qapp):
    out = render_design(chain_design(), tmp_path / "chain.svg")
    text = out.read_text(encoding="utf-8")
    assert "<svg" in text and "dense1" in text and "Chain" in text


def test_render_refuses_other_formats(tmp_path, qapp):
    with pytest.raises(ExportError, match="use a .svg or .png"):
        render_design(chain_design(), tmp_path / "chain.jpg")
    assert not (tmp_path / "chain.jpg").exists()


def test_render_works_without_an_application(tmp_path):
    """The CLI calls render_design in a fresh process with no QApplication and no display."""
    out = tmp_path / "cli.png"
    code = textwrap.dedent(f"""
        from nnstudio.core import Design
        from nnstudio.gui.canvas.render import render_design
        d = Design("CLI")
        a = d.add_layer("Input"); b = d.add_layer("Output", position=(240, 0)); d.connect(a.id, b.id)
        render_design(d, {str(out)!r})
    """)
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY")}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes().startswith(b"\x89PNG")


def test_creating_the_window_does_not_import_torch():
    code = textwrap.dedent("""
        import sys
        from nnstudio.gui.shell.app import create_application, open_main_window
        app = create_application([])
        window = open_main_window(None)
        window.show()
        import time
        deadline = time.monotonic() + 60
        while not window.loaded and time.monotonic() < deadline:  # the file loads after the first paint
            app.processEvents()
        print("torch" in sys.modules, len(window.design.layers) > 0)
    """)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    torch_loaded, has_layers = done.stdout.split()
    assert torch_loaded == "False"
    if example_paths():
        assert has_layers == "True"


def test_actions_and_key_widgets_have_object_names(window):
    for action in window.findChildren(QAction):
        if action.text() and not action.isSeparator() and action.menu() is None:
            parent_menu = action.parent()
            if parent_menu in (window.recent_menu, window.examples_menu):
                continue
            assert action.objectName(), f"action {action.text()!r} has no objectName"
    for name in ("actionSave", "actionUndo", "actionRedo", "actionOpen", "actionNew", "actionAutoLayout",
                 "actionFitView", "actionExportSvg", "actionExportPng", "actionDelete", "actionPaste"):
        assert window.findChild(QAction, name) is not None, name
    for name in ("palette", "canvas", "inspector", "paletteDock", "inspectorDock", "statusParams",
                 "statusProblems", "mainToolBar", "problemsDock", "problemsPanel"):
        assert window.findChild(object, name) is not None, name
    assert window.objectName() == "MainWindow"


def test_menus_and_standard_shortcuts(window):
    assert [window.menu(k).title() for k in ("file", "edit", "view", "layout", "help")] == [
        "&File", "&Edit", "&View", "&Layout", "&Help"]
    assert window.action("save").shortcut().toString() == "Ctrl+S"
    assert window.action("undo").shortcut().toString() == "Ctrl+Z"
    assert window.action("copy").shortcut().toString() == "Ctrl+C"


def test_add_dock_lists_the_panel_in_the_view_menu(window):
    from PySide6.QtWidgets import QLabel
    dock = window.add_dock(QLabel("plots"), "Plots", "plotsDock")
    assert window.docks["plotsDock"] is dock
    toggles = [a.text() for a in window._panels_menu.actions()]
    assert toggles == ["Layers", "Inspector", "Problems", "Plots"]
