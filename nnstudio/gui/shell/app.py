"""Start NN Studio: the application object, the main window on a design, and the event loop.

Two stages (issue 9): the window's frame paints first; the rooms and the design file come just after.
What this module imports at the top is all the first stage needs (no pydantic, numpy, torch, pyqtgraph).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QWidget

from nnstudio.resources import RESOURCES

from ..base.locations import default_design_path
from .frame import APP_NAME
from .mainwindow import MainWindow

if TYPE_CHECKING:
    from nnstudio.core import Design


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
    """Runs a function once, just after the window's first paint (the window shows before the rooms load)."""

    def __init__(self, window: QWidget, fn: Callable[[], object]) -> None:
        super().__init__(window)
        self.window, self.fn, self.done = window, fn, False
        self.timer = QTimer(self)  # its own: a window closed and deleted before it fires takes it along
        self.timer.setSingleShot(True)
        self.timer.setInterval(0)
        self.timer.timeout.connect(self.run)
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window and event.type() == QEvent.Type.Paint and not self.done:
            self.done = True
            self.window.removeEventFilter(self)
            self.timer.start()
        return False

    def run(self) -> None:
        self.fn()


def open_main_window(path: str | None = None, defer: bool = True,
                     after_load: Callable[[], object] | None = None,
                     design: Design | None = None) -> MainWindow:
    """A main window showing `design` (unsaved), `path`, or the Playground circle example.

    With `defer` (how `nnstudio` starts) the window returned is its first stage only (frame.py: title,
    geometry, menu bar, toolbar, a "Loading…" canvas), so it paints at once; just after that first paint the
    second stage imports and builds the rooms into the same window (rooms.py) and loads the file, then
    `window.loaded` turns True and `after_load` runs. Without `defer`, all of it happens before returning."""
    window = MainWindow(defer=True)

    def build_and_load() -> None:
        from .rooms import build_rooms

        build_rooms(window)
        window.canvas.show_hint = False  # no "drag layers here" flash before the design arrives
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
        window._first_paint_load = _AfterFirstPaint(window, build_and_load)  # type: ignore[attr-defined]
    else:
        build_and_load()
    return window


def run(path: str | None = None, argv: list[str] | None = None, smoke: bool = False,
        design: Design | None = None) -> int:
    """Run NN Studio until its window closes; returns the exit status. With `smoke`, the window opens,
    builds every room, loads its design and closes again (the packaged bundle's start-up check)."""
    app = create_application(argv)
    windows: list[MainWindow] = []

    def loaded() -> None:
        if smoke:
            QTimer.singleShot(300, windows[0].close)
            QTimer.singleShot(400, app.quit)
        else:
            # Recovery is offered once the window is on screen and its file is in, so the question appears
            # over it and a recovered design is not replaced by the file loading after it.
            QTimer.singleShot(0, windows[0].offer_recovery)

    window = open_main_window(path, design=design, after_load=loaded)
    windows.append(window)
    window.show()
    code = app.exec()
    if smoke:
        print("smoke: the window opened and closed" if code == 0 else f"smoke: the event loop ended with {code}")
    return code
