"""Start NN Studio: the application object, the main window on a design, and the event loop."""

from __future__ import annotations

import sys

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from nnstudio.resources import RESOURCES

from .locations import default_design_path
from .mainwindow import APP_NAME, MainWindow
from .model_import import attach_model_import
from .training import attach_training


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


def open_main_window(path: str | None = None) -> MainWindow:
    """A main window showing `path`, or the Playground circle example when no path is given."""
    window = MainWindow()
    attach_training(window)
    attach_model_import(window)
    if path is not None:
        window.open_file(path, ask=False)
    else:
        example = default_design_path()
        if example.is_file():
            window.open_example(example, ask=False)
    return window


def run(path: str | None = None, argv: list[str] | None = None, smoke: bool = False) -> int:
    """Run NN Studio until its window closes; returns the exit status. With `smoke`, the window opens,
    paints once and closes again (the packaged bundle's start-up check)."""
    app = create_application(argv)
    window = open_main_window(path)
    window.show()
    if smoke:
        QTimer.singleShot(300, window.close)
        QTimer.singleShot(400, app.quit)
        code = app.exec()
        print("smoke: the window opened and closed" if code == 0 else f"smoke: the event loop ended with {code}")
        return code
    # Offered once the window is on screen, so the question appears over it.
    QTimer.singleShot(0, window.offer_recovery)
    return app.exec()
