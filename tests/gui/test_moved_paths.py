"""The gui's old flat module paths import as the very modules that moved into folders (gui/moved.py)."""

from __future__ import annotations

import importlib
import importlib.resources

import pytest

from nnstudio.gui.moved import MOVED


@pytest.mark.parametrize("old", sorted(MOVED))
def test_an_old_path_is_the_moved_module(old: str) -> None:
    moved = importlib.import_module(f"nnstudio.gui.{old}")
    new = importlib.import_module(f"nnstudio.gui.{MOVED[old]}")
    assert moved is new
    assert not (importlib.resources.files("nnstudio.gui") / (old.replace(".", "/") + ".py")).is_file()


def test_the_canvas_folder_still_offers_the_old_canvas_names() -> None:
    from nnstudio.gui.canvas import MIME_LAYER_TYPE, CanvasScene, CanvasView, scene

    assert (CanvasScene, CanvasView, MIME_LAYER_TYPE) == (scene.CanvasScene, scene.CanvasView, scene.MIME_LAYER_TYPE)
    with pytest.raises(AttributeError):
        importlib.import_module("nnstudio.gui.canvas").NoSuchName  # noqa: B018


def test_old_from_imports_work() -> None:
    from nnstudio.gui.commands import SetParamCommand
    from nnstudio.gui.mainwindow import MainWindow

    from nnstudio.gui.editor.commands import SetParamCommand as New
    from nnstudio.gui.shell.mainwindow import MainWindow as NewWindow

    assert SetParamCommand is New and MainWindow is NewWindow
