"""Start NN Studio: the application object, the main window on a design, and the event loop."""

from __future__ import annotations

import sys
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QWidget

from nnstudio.core import Design
from nnstudio.resources import RESOURCES

from ..base.locations import default_design_path
from ..cnn.wiring import attach_inside_views
from ..explain import attach_explain
from ..landscape import attach_optimization
from .model_import import attach_model_import
from ..network import attach_network_view
from ..runs import attach_runs
from ..training import attach_training
from .mainwindow import APP_NAME, MainWindow


def application_icon() -> QIcon:
    """NN Studio's icon at every size it is drawn in (resources/icons/nnstudio-SIZE.png)."""
    icon = QIcon()
    for png in sorted((RESOURCES / "icons").glob("nnstudio-*.png")):
        icon.addFile(str(png))
    return icon


def create_application(argv: list[str] | None = None) -> QApplication:
    """The QApplication, named so settings and recovery files land in NN Studio's folders."""
    app = QApplication.instance()
    if app is None:
        app = QApplication(list(argv) if argv is not None else sys.argv)
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    app.setDesktopFileName("nnstudio")
    app.setWindowIcon(application_icon())
    return app  # type: ignore[return-value]


class _AfterFirstPaint(QObject):
    """Runs a function once, just after the window's first paint (the window shows before the file loads)."""

    def __init__(self, window: QWidget, fn: Callable[[], object]) -> None:
        super().__init__(window)
        self.window, self.fn, self.done = window, fn, False
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window and event.type() == QEvent.Type.Paint and not self.done:
            self.done = True
            self.window.removeEventFilter(self)
            QTimer.singleShot(0, self.run)
        return False

    def run(self) -> None:
        self.fn()


def open_main_window(path: str | None = None, defer: bool = True,
                     after_load: Callable[[], object] | None = None,
                     design: Design | None = None) -> MainWindow:
    """A main window showing `design` (unsaved), `path`, or the Playground circle example.

    With `defer`, the file is read just after the window's first paint: the loader (and pydantic) are
    imported then, so the window appears sooner (bench/startup.py)."""
    window = MainWindow()
    controller = attach_training(window)
    attach_network_view(window, controller)
    attach_explain(window)
    attach_optimization(window)
    attach_inside_views(window)
    attach_model_import(window)
    attach_runs(window)  # issue 16: the Runs panel; every run the window trains is recorded
    window.canvas.show_hint = False  # no "drag layers here" flash before the design arrives

    def load() -> None:
        if design is not None:
            window.set_design(design, None, note="imported")
        elif path is not None:
            window.open_file(path, ask=False)
        else:
            example = default_design_path()
            if example.is_file():
                window.open_example(example, ask=False)
        window.loaded = True  # type: ignore[attr-defined]
        window.canvas.show_hint = True
        window.canvas.viewport().update()
        if after_load is not None:
            after_load()

    window.loaded = False  # type: ignore[attr-defined]
    if defer:
        window._first_paint_load = _AfterFirstPaint(window, load)  # type: ignore[attr-defined]
    else:
        load()
    return window


def run(path: str | None = None, argv: list[str] | None = None, smoke: bool = False,
        design: Design | None = None) -> int:
    """Run NN Studio until its window closes; returns the exit status. With `smoke`, the window opens,
    paints once and closes again (the packaged bundle's start-up check)."""
    app = create_application(argv)
    windows: list[MainWindow] = []
    # Recovery is offered once the window is on screen and its file is in, so the question appears over it
    # and a recovered design is not replaced by the file loading after it.
    window = open_main_window(path, design=design, after_load=None if smoke else
                              lambda: QTimer.singleShot(0, windows[0].offer_recovery))
    windows.append(window)
    window.show()
    if smoke:
        QTimer.singleShot(300, window.close)
        QTimer.singleShot(400, app.quit)
        code = app.exec()
        print("smoke: the window opened and closed" if code == 0 else f"smoke: the event loop ended with {code}")
        return code
    return app.exec()
