"""Start-up stays light: the training package and a window with training attached import no torch, and
pyqtgraph only once the window has been painted."""

from __future__ import annotations

import subprocess
import sys

from gui_training_helpers import PLAYGROUND, ROOT

SCRIPT = f"""
import os, sys, tempfile
os.environ["QT_QPA_PLATFORM"] = "offscreen"
folder = tempfile.mkdtemp()
os.environ["NNSTUDIO_DATA_DIR"] = folder
os.environ["NNSTUDIO_CONFIG_DIR"] = folder
import nnstudio.gui.training
assert "torch" not in sys.modules and "pyqtgraph" not in sys.modules, "package import"
from PySide6.QtCore import QTimer
from nnstudio.gui.shell.app import create_application
from nnstudio.gui.shell.mainwindow import MainWindow
from nnstudio.gui.training import attach_training
app = create_application([])
window = MainWindow()
controller = attach_training(window)
window.open_example({str(PLAYGROUND)!r}, ask=False)
assert "pyqtgraph" not in sys.modules, "before the first paint"
window.show()
def check():
    if controller.plots is None:
        return
    timer.stop()
    print("torch" in sys.modules, "pyqtgraph" in sys.modules)
    window.close()
    app.quit()
timer = QTimer()
timer.timeout.connect(check)
timer.start(20)
QTimer.singleShot(20000, app.quit)
app.exec()
"""


def test_window_with_training_starts_without_torch():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "True"], out.stdout + out.stderr
