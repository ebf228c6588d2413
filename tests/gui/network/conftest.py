"""Network-view tests: a shown window on the Playground example with training and the Network tab."""

from __future__ import annotations

import gc
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from PySide6.QtCore import QCoreApplication, QEvent  # noqa: E402
from shiboken6 import isValid  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[3] / "resources" / "examples" / "playground-circle.nnstudio"


@pytest.fixture
def network_studio(qtbot, monkeypatch):
    """(window, controller, panel) on the Playground example, its Network tab showing."""
    from nnstudio.gui.network import attach_network_view
    from nnstudio.gui.shell.mainwindow import MainWindow
    from nnstudio.gui.training import attach_training

    window = MainWindow()
    monkeypatch.setattr(window, "ask_save_changes", lambda doing: "discard")
    monkeypatch.setattr(window, "show_error", lambda title, message: None)
    qtbot.addWidget(window)
    controller = attach_training(window)
    panel = attach_network_view(window, controller)
    window.open_example(EXAMPLE, ask=False)
    window.resize(1400, 900)
    window.show()
    panel.tabs.setCurrentIndex(1)
    qtbot.waitExposed(window)
    yield window, controller, panel
    controller.shutdown()
    assert controller.thread is None or controller.thread.ended
    window.close()
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert not isValid(window)
    gc.collect()
