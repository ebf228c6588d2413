"""Issue 9's start-up and look: the window in two stages, plots that follow the theme, the wheel guard in every
dock, a saved geometry that fits the screen."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPoint, QPointF, QRect, Qt
from PySide6.QtGui import QAction, QColor, QWheelEvent
from PySide6.QtWidgets import QApplication, QGraphicsView, QMenu

from nnstudio.gui.base import screen_fit
from nnstudio.gui.base.locations import default_design_path
from nnstudio.io import load_design


def _open(qtbot, monkeypatch, path=None, defer=False):
    from nnstudio.gui.shell.app import open_main_window

    window = open_main_window(path, defer=defer)
    monkeypatch.setattr(window, "ask_save_changes", lambda doing: "discard")
    qtbot.addWidget(window)
    return window


def _parts(window) -> tuple[list[str], list[str], list[str]]:
    actions = sorted(a.objectName() for a in window.findChildren(QAction) if a.objectName())
    menus = sorted(m.objectName() for m in window.findChildren(QMenu) if m.objectName())
    return sorted(window.docks), actions, menus


def test_the_staged_window_ends_as_the_synchronous_one_with_the_given_file_loaded(qtbot, monkeypatch):
    path = default_design_path()
    expected = len(load_design(path).layers)
    assert expected > 0
    synchronous = _open(qtbot, monkeypatch, str(path))
    assert synchronous.built and synchronous.loaded
    staged = _open(qtbot, monkeypatch, str(path), defer=True)
    assert not staged.built and not staged.loaded and not staged.docks  # the first stage only, so far
    assert [staged.menu(k).title() for k in ("file", "edit", "view", "layout", "help")] == [
        "&File", "&Edit", "&View", "&Layout", "&Help"]
    staged.show()
    qtbot.waitUntil(lambda: staged.loaded, timeout=60_000)
    assert _parts(staged) == _parts(synchronous)
    synchronous.show()
    qtbot.waitExposed(synchronous)

    def shown(window):
        return sorted(name for name, dock in window.docks.items() if dock.isVisible())

    # Panels built into the visible window show as those built before window.show() do.
    qtbot.waitUntil(lambda: shown(staged) == shown(synchronous))
    assert {"trainingDock", "lossDock", "outputDock", "paletteDock", "inspectorDock"} <= set(shown(staged))
    assert len(_parts(staged)[0]) >= 10 and "actionTrain" in _parts(staged)[1]
    for window in (staged, synchronous):
        assert window.current_path == path and len(window.design.layers) == expected
        assert window.centralWidget().objectName() != "loadingCanvas"
        window.close()
        window.deleteLater()


def test_the_first_paint_comes_before_pydantic_numpy_torch_pyqtgraph_and_the_rooms(tmp_path):
    """`nnstudio FILE` through the real CLI: what is imported when the window first paints, then the file."""
    code = textwrap.dedent("""
        import sys
        from PySide6.QtCore import QEvent, QObject, QTimer
        from PySide6.QtWidgets import QApplication
        WATCH = ("pydantic", "numpy", "torch", "pyqtgraph", "rich", "nnstudio.core", "nnstudio.io.design_file",
                 "nnstudio.gui.canvas", "nnstudio.gui.editor", "nnstudio.gui.training", "nnstudio.gui.shell.rooms")
        class Probe(QObject):
            window = None
            def eventFilter(self, watched, event):
                if (self.window is None and event.type() == QEvent.Type.Paint and watched.isWidgetType()
                        and watched.objectName() == "MainWindow"):
                    self.window, self.seen = watched, [m for m in WATCH if m in sys.modules]
                    self.built_at_paint = watched.built
                    QTimer.singleShot(0, self.wait)
                return False
            def wait(self):
                if not self.window.loaded:
                    QTimer.singleShot(5, self.wait)
                    return
                print("PAINT", self.built_at_paint, *self.seen)
                print("LOADED", self.window.current_path.name, len(self.window.design.layers),
                      "pydantic" in sys.modules)
                QApplication.instance().quit()
        app = QApplication(["test"])
        probe = Probe()
        app.installEventFilter(probe)
        from nnstudio.cli import main
        sys.exit(main([sys.argv[1]]))
    """)
    path = default_design_path()
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", NNSTUDIO_DATA_DIR=str(tmp_path / "data"),
               NNSTUDIO_CONFIG_DIR=str(tmp_path / "config"))
    done = subprocess.run([sys.executable, "-c", code, str(path)], env=env, capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, done.stderr
    lines = {line.split()[0]: line.split()[1:] for line in done.stdout.splitlines() if line[:1].isupper()}
    assert lines["PAINT"] == ["False"], lines["PAINT"]  # not built yet, and none of WATCH imported
    assert lines["LOADED"] == [path.name, str(len(load_design(path).layers)), "True"]


def _plot_views(window) -> list[pg.GraphicsView]:
    return [v for v in window.findChildren(QGraphicsView) if isinstance(v, pg.GraphicsView)]


def test_every_plot_follows_the_theme_at_once(qtbot, monkeypatch):
    from nnstudio.gui.shell import appearance
    from nnstudio.gui.training import TrainingController

    window = _open(qtbot, monkeypatch)
    window.show()
    qtbot.waitExposed(window)
    window.findChild(TrainingController).ensure_plots()
    views = [v for v in _plot_views(window) if v._background is not None]
    docks = {name for name, dock in window.docks.items() if any(dock.isAncestorOf(v) for v in views)}
    assert {"lossDock", "weightsDock", "landscapeDock", "outputDock"} <= docks, docks
    # The fixed palettes of View ▸ Theme (appearance.py): Base behind a plot, Text for its axes.
    looks = {"dark": (QColor("#1e1f22"), QColor("#e6e6e6")), "light": (QColor("#ffffff"), QColor("#1f2328"))}
    try:
        for theme, (base, text) in looks.items():
            appearance.choose_theme(window, theme)
            qtbot.waitUntil(lambda base=base: all(v.backgroundBrush().color() == base for v in views))
            axes = [item for v in views for item in v.scene().items() if isinstance(item, pg.AxisItem)]
            assert len(axes) >= len(docks) and all(a.textPen().color() == text for a in axes)
            assert all(a.pen().color() == text for a in axes)
            assert pg.mkColor(pg.getConfigOption("background")) == base  # plots built later start like this
    finally:
        appearance.choose_theme(window, "system")
    window.close()
    window.deleteLater()


def _wheel(widget, notches: int) -> None:
    centre = QPointF(widget.rect().center())
    event = QWheelEvent(centre, QPointF(widget.mapToGlobal(centre.toPoint())), QPoint(0, 0),
                        QPoint(0, 120 * notches), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def test_the_wheel_over_an_unfocused_control_in_a_plot_dock_changes_nothing(qtbot, monkeypatch):
    from PySide6.QtWidgets import QComboBox, QSpinBox

    from nnstudio.gui.training import TrainingController

    window = _open(qtbot, monkeypatch)
    window.show()
    qtbot.waitExposed(window)
    window.findChild(TrainingController).ensure_plots()
    kind = window.docks["weightsDock"].findChild(QComboBox, "weightsKind")
    grid = window.docks["landscapeDock"].findChild(QSpinBox, "landscapeGrid")
    assert kind.count() >= 2 and grid is not None
    for control, read in ((kind, kind.currentIndex), (grid, grid.value)):
        dock = next(d for d in window.docks.values() if d.isAncestorOf(control))
        dock.show()
        dock.raise_()
        qtbot.waitUntil(control.isVisible)
        window.canvas.setFocus()
        before = read()
        _wheel(control, -1)
        _wheel(control, 1)
        _wheel(control, 1)
        assert read() == before, control.objectName()
        assert control.focusPolicy() == Qt.FocusPolicy.StrongFocus  # the wheel never gives it focus
        control.setFocus()  # clicked or tabbed to: now the wheel is the user's way to change it
        qtbot.waitUntil(control.hasFocus)
        _wheel(control, -1 if control is kind else 1)
        assert read() != before, control.objectName()
    window.close()
    window.deleteLater()


@pytest.mark.parametrize("screen", [(1280, 720), (1600, 1000)])
def test_the_window_fills_the_screen_and_a_stale_small_geometry_is_refitted(qtbot, monkeypatch, screen):
    from nnstudio.gui.shell.mainwindow import MainWindow

    area = QRect(0, 0, *screen)
    monkeypatch.setattr(screen_fit, "screen_area", lambda window: QRect(area))
    fresh = MainWindow(defer=True)  # the first stage decides the geometry: no saved one yet
    qtbot.addWidget(fresh)
    small = screen[0] <= 1440
    want = (screen if small else (round(screen[0] * 0.85), round(screen[1] * 0.85)))
    assert (fresh.width(), fresh.height()) == want
    if not small:
        assert fresh.x() == (screen[0] - want[0]) // 2 and fresh.y() == (screen[1] - want[1]) // 2
    fresh.resize(1024, 576)  # an old default, saved by an earlier version or on a smaller screen
    fresh._save_settings()
    again = MainWindow(defer=True)
    qtbot.addWidget(again)
    assert (again.width(), again.height()) == want


def test_a_size_the_user_chose_is_kept(qtbot, monkeypatch):
    from nnstudio.gui.shell.mainwindow import MainWindow

    monkeypatch.setattr(screen_fit, "screen_area", lambda window: QRect(0, 0, 900, 800))
    first = MainWindow(defer=True)
    qtbot.addWidget(first)
    first.resize(780, 700)  # above 85 % of the screen both ways: the user's choice, not a stale size
    first._save_settings()
    second = MainWindow(defer=True)
    qtbot.addWidget(second)
    assert (second.width(), second.height()) == (780, 700)
