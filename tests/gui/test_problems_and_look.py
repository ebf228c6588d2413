"""The Problems panel lists every diagnostic; the theme switch and Reset Panel Layout."""

from __future__ import annotations

import pytest
from gui_helpers import chain_design
from PySide6.QtGui import QAction, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from nnstudio.core import Design
from nnstudio.gui.base import dock_layout
from nnstudio.gui.shell import appearance


def _broken_design() -> Design:
    design = Design("broken")
    first = design.add_layer("Dense", params={"units": 4}, name="lonely")
    second = design.add_layer("Dense", params={"units": 3}, name="other")
    assert first and second
    return design


def test_the_problems_panel_lists_every_diagnostic_and_selects_the_layer(make_window, qtbot):
    window = make_window(_broken_design())
    result = window.session.inference
    assert len(result.diagnostics) >= 2
    panel = window.problems_panel
    rows = [panel.item(i) for i in range(panel.count())]
    assert len(rows) == len(result.diagnostics)
    assert {r.data(panel_role()) for r in rows if r.data(panel_role())} == {
        d.layer_id for d in result.diagnostics if d.layer_id}
    # Clicking a row selects its layer on the canvas.
    target = next(r for r in rows if r.data(panel_role()))
    panel.itemClicked.emit(target)
    assert window.scene.selected_layer_ids() == [target.data(panel_role())]
    # The status bar's button opens the panel rather than jumping to one problem.
    window.problems_dock.hide()
    window.problems_button.click()
    assert window.problems_dock.isVisible()
    # The list follows the design: a valid one has no problems.
    window.set_design(chain_design(), None)
    qtbot.waitUntil(lambda: not window.session.inference.diagnostics)
    assert [panel.item(i).text() for i in range(panel.count())] == ["✓ The design has no problems"]


def panel_role():
    from nnstudio.gui.shell.problems import LAYER_ROLE

    return LAYER_ROLE


@pytest.fixture
def restore_theme():
    yield
    appearance.apply_theme("system")


def test_the_theme_switch_changes_the_palette_and_redraws_the_icons(make_window, restore_theme):
    window = make_window()
    train_like = window.action("new")
    light_text = QGuiApplication.palette().color(QPalette.ColorRole.WindowText)
    window.findChild(QAction, "actionThemeDark").trigger()
    palette = QGuiApplication.palette()
    assert palette.color(QPalette.ColorRole.Window).lightnessF() < 0.5
    assert window.settings.value("view/theme") == "dark"
    image = train_like.icon().pixmap(24, 24).toImage()
    bright = max(image.pixelColor(x, y).lightnessF() for x in range(24) for y in range(24)
                 if image.pixelColor(x, y).alphaF() > 0.5)
    assert bright > 0.7  # the drawn icon is light on the dark look
    window.findChild(QAction, "actionThemeLight").trigger()
    assert QGuiApplication.palette().color(QPalette.ColorRole.Window).lightnessF() > 0.5
    window.findChild(QAction, "actionThemeSystem").trigger()
    assert QGuiApplication.palette().color(QPalette.ColorRole.WindowText) == light_text


def test_reset_panel_layout_brings_back_floating_hidden_and_squeezed_panels(make_window, qtbot):
    window = make_window()
    window.resize(1280, 720)
    window.palette_dock.setFloating(True)
    window.inspector_dock.hide()
    window.problems_dock.hide()
    window.findChild(QAction, "actionResetLayout").trigger()
    QApplication.processEvents()
    for dock in (window.palette_dock, window.inspector_dock, window.problems_dock):
        assert dock.isVisible() and not dock.isFloating()
    assert window.dockWidgetArea(window.palette_dock) == dock_layout.LEFT
    assert not dock_layout.squeezed(window)


def test_the_window_paints_before_its_file_loads(qtbot):
    """open_main_window shows the window's first stage; the rooms and the file come after the paint."""
    from nnstudio.gui.shell.app import open_main_window

    window = open_main_window(None)
    qtbot.addWidget(window)
    assert not window.loaded and not window.built
    assert window.centralWidget().objectName() == "loadingCanvas"
    window.show()
    qtbot.waitUntil(lambda: window.loaded, timeout=30_000)
    assert window.built and window.centralWidget().objectName() != "loadingCanvas"
    assert window.design.layers and window.canvas.show_hint
    window.close()
    window.deleteLater()
