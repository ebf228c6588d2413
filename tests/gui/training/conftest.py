"""Training GUI tests: offscreen, settings and recovery in a per-test folder, dialogs that never block."""

from __future__ import annotations

import gc
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from gui_training_helpers import PLAYGROUND  # noqa: E402
from PySide6.QtCore import QCoreApplication, QEvent  # noqa: E402
from shiboken6 import isValid  # noqa: E402

# Settings and recovery folders are isolated per test by tests/gui/conftest.py's autouse fixture.


class Dialogs:
    """Records what the window would have asked or shown; answers as told."""

    def __init__(self) -> None:
        self.errors: list[tuple[str, str]] = []
        self.save_paths: list[Path] = []
        self.next_save_path: Path | None = None

    def install(self, window, monkeypatch) -> None:
        monkeypatch.setattr(window, "show_error", lambda title, message: self.errors.append((title, message)))
        monkeypatch.setattr(window, "ask_save_changes", lambda doing: "discard")
        monkeypatch.setattr(window, "ask_confirm", lambda *args: True)
        monkeypatch.setattr(window, "ask_recover", lambda entry: "later")
        monkeypatch.setattr(window, "choose_save_path", self._choose_save)

    def _choose_save(self, title: str, suggested: str, file_filter: str) -> Path | None:
        self.save_paths.append(Path(suggested))
        return self.next_save_path


@pytest.fixture
def training_dialogs() -> Dialogs:
    return Dialogs()


@pytest.fixture
def studio(qtbot, monkeypatch, training_dialogs):
    """A shown main window on the Playground example with training attached; returns (window, controller).

    At the end the controller is shut down before the window goes, whatever the test left running."""
    from nnstudio.gui.shell.mainwindow import MainWindow
    from nnstudio.gui.training import attach_training

    window = MainWindow()
    training_dialogs.install(window, monkeypatch)
    qtbot.addWidget(window)
    controller = attach_training(window)
    window.open_example(PLAYGROUND, ask=False)
    window.design.set_training(until_paused=False)  # the example trains until paused; tests run to an end
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: controller.plots is not None, timeout=10_000)
    yield window, controller
    controller.shutdown()
    assert controller.thread is None or controller.thread.ended
    # Delete the window here, on the GUI thread, and collect its Python garbage here too: left to the cyclic
    # collector, it could be freed on a later test's worker thread (see nnstudio/gui/base/background.py).
    window.close()
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert not isValid(window)
    gc.collect()
