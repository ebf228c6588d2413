"""Start-up: process start → first paint of NN Studio's main window (training attached), ÷ the same for a
minimal PySide6 window; and whether torch (or pyqtgraph) was imported by then.

    python bench/startup.py [--runs 7] [--platform offscreen]

Each run is a fresh interpreter; NN Studio and the minimal window alternate so drifts in machine load hit
both. A window's first paint is marked by an event filter that sees its Paint event and prints a timestamp
of the system-wide monotonic clock, which the parent compares with the moment it started the process.
Prints figures only; it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import sys, time
mode = sys.argv[1]
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow

class FirstPaint(QObject):
    done = False
    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Paint and not self.done:
            self.done = True
            print("PAINTED", time.monotonic_ns(), "torch" in sys.modules, "pyqtgraph" in sys.modules, flush=True)
            QTimer.singleShot(0, QApplication.instance().quit)
        return False

if mode == "minimal":
    app = QApplication(["bench"])
    window = QMainWindow()
    window.setWindowTitle("minimal")
elif mode == "window":  # the main window alone, training not attached (the yardstick for what training adds)
    import nnstudio.gui.shell.mainwindow as mainwindow
    from nnstudio.gui.base.locations import default_design_path
    app = QApplication(["bench"])
    window = mainwindow.MainWindow()
    window.open_example(default_design_path(), ask=False)
else:
    from nnstudio.gui.shell.app import create_application, open_main_window
    from nnstudio.gui.training import attach_training
    app = create_application(["bench"])
    window = open_main_window(None)  # the Playground example, as `nnstudio` opens it
    attach_training(window)  # idempotent: a MainWindow that attaches training itself keeps its own
window.resize(1600, 1000)
marker = FirstPaint()
window.installEventFilter(marker)
window.show()
app.exec()
"""


def _run(mode: str, env: dict[str, str]) -> tuple[float, bool, bool]:
    started = time.monotonic_ns()
    out = subprocess.run([sys.executable, "-c", CHILD, mode], capture_output=True, text=True, env=env, cwd=ROOT,
                         timeout=120)
    for line in out.stdout.splitlines():
        if line.startswith("PAINTED"):
            _, stamp, torch, pyqtgraph = line.split()
            return (int(stamp) - started) / 1e6, torch == "True", pyqtgraph == "True"
    raise RuntimeError(f"{mode}: no first paint\n{out.stdout}\n{out.stderr}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--platform", default=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="nnstudio-startup-")
    env = dict(os.environ, QT_QPA_PLATFORM=args.platform, NNSTUDIO_DATA_DIR=folder, NNSTUDIO_CONFIG_DIR=folder,
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    for mode in ("minimal", "window", "nnstudio"):  # warm the file cache before measuring
        _run(mode, env)
    minimal, bare, studio, torch_seen, pyqtgraph_seen = [], [], [], [], []
    for _ in range(args.runs):
        minimal.append(_run("minimal", env)[0])
        bare.append(_run("window", env)[0])
        ms, torch, pyqtgraph = _run("nnstudio", env)
        studio.append(ms)
        torch_seen.append(torch)
        pyqtgraph_seen.append(pyqtgraph)
    m, b, s = statistics.median(minimal), statistics.median(bare), statistics.median(studio)
    print(f"Start-up to first paint, Qt platform '{args.platform}', median of {args.runs} runs each (alternating):")
    print(f"  minimal PySide6 window:             {m:6.0f} ms  (min {min(minimal):.0f}, max {max(minimal):.0f})")
    print(f"  main window, no training attached:  {b:6.0f} ms  (min {min(bare):.0f}, max {max(bare):.0f})")
    print(f"  NN Studio as started (training):    {s:6.0f} ms  (min {min(studio):.0f}, max {max(studio):.0f})")
    print(f"  NN Studio / minimal:                {s / m:6.2f}  (aim <= 1.5)")
    print(f"  training's share:                   {s - b:+6.0f} ms ({s / b:.2f} x the bare main window)")
    print(f"  torch imported at first paint:     {'yes' if any(torch_seen) else 'no'} (must be no)")
    print(f"  pyqtgraph imported at first paint: {'yes' if any(pyqtgraph_seen) else 'no'} (plots are built after it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
