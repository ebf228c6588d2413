"""GUI tests run offscreen, with settings and recovery files in a per-test temporary folder."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from gui_helpers import chain_design  # noqa: E402
from PySide6.QtCore import QStandardPaths  # noqa: E402

from nnstudio.core import Design  # noqa: E402


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path, monkeypatch):
    """Never touch the real user's settings or recovery folder."""
    QStandardPaths.setTestModeEnabled(True)
    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(tmp_path / "appdata"))
    monkeypatch.setenv("NNSTUDIO_CONFIG_DIR", str(tmp_path / "config"))
    return tmp_path


class DialogLog:
    """Stands in for the window's dialogs: records what would have been shown, answers as told."""

    def __init__(self) -> None:
        self.errors: list[tuple[str, str]] = []
        self.save_changes_answer = "discard"
        self.save_changes_asked: list[str] = []
        self.recover_answer = "later"
        self.recover_asked: list = []
        self.confirm_answer = True

    def install(self, window, monkeypatch) -> None:
        monkeypatch.setattr(window, "show_error", lambda title, message: self.errors.append((title, message)))
        monkeypatch.setattr(window, "ask_save_changes", self._ask_save)
        monkeypatch.setattr(window, "ask_recover", self._ask_recover)
        monkeypatch.setattr(window, "ask_confirm", lambda *args: self.confirm_answer)

    def _ask_save(self, doing: str) -> str:
        self.save_changes_asked.append(doing)
        return self.save_changes_answer

    def _ask_recover(self, entry) -> str:
        self.recover_asked.append(entry)
        return self.recover_answer


@pytest.fixture
def dialogs() -> DialogLog:
    return DialogLog()


@pytest.fixture
def make_window(qtbot, monkeypatch, dialogs):
    """Create shown main windows whose dialogs never block."""
    from nnstudio.gui.shell.mainwindow import MainWindow

    made: list[MainWindow] = []

    def make(design: Design | None = None) -> MainWindow:
        window = MainWindow()
        made.append(window)
        dialogs.install(window, monkeypatch)
        qtbot.addWidget(window)
        window.resize(1200, 800)
        if design is not None:
            window.set_design(design, None)
        window.show()
        qtbot.waitExposed(window)
        return window

    yield make
    # Delete windows here, on the GUI thread, and collect their garbage here too: left to the cyclic collector,
    # a window could be freed later on a training test's worker thread (see nnstudio/gui/base/background.py).
    import gc

    from PySide6.QtCore import QCoreApplication, QEvent

    for window in made:
        window.close()
        window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()


@pytest.fixture
def window(make_window):
    return make_window(chain_design())


@pytest.fixture(autouse=True)
def empty_clipboard():
    """Clipboard data made from Python must be freed while Python runs (see fragment._release_clipboard)."""
    yield
    from PySide6.QtWidgets import QApplication
    if QApplication.instance() is not None:
        QApplication.clipboard().clear()
