"""Start-up: process start → first paint of NN Studio's main window, ÷ the same for a minimal PySide6 window;
what was imported by then (pydantic, numpy, torch, pyqtgraph must not be), and when the window was complete.

    python bench/startup.py [--runs 7] [--platform offscreen]

Each run is a fresh interpreter; NN Studio and the minimal window alternate so drifts in machine load hit
both. NN Studio starts as `nnstudio` does (`nnstudio.cli.main([])`: the Playground example, the window in
two stages). An application event filter sees the first Paint event of the top-level window and prints a
timestamp of the system-wide monotonic clock, which the parent compares with the moment it started the
process; for NN Studio it then waits for the second stage (every room built, the example loaded). Prints
figures only; it asserts nothing.
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
WATCHED = ("pydantic", "numpy", "torch", "pyqtgraph")

CHILD = r"""
import sys, time
mode = sys.argv[1]
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow

WATCHED = ("pydantic", "numpy", "torch", "pyqtgraph")

class FirstPaint(QObject):
    window = None
    def eventFilter(self, watched, event):
        if (event.type() == QEvent.Type.Show and watched.isWidgetType() and watched.isWindow()
                and watched.objectName() == "MainWindow"):
            watched.resize(1600, 1000)  # both windows paint the same area, whatever the screen
        if (self.window is None and event.type() == QEvent.Type.Paint and watched.isWidgetType()
                and watched.isWindow() and watched.objectName() in ("MainWindow", "minimal")):
            self.window = watched
            print("PAINTED", time.monotonic_ns(), *(name in sys.modules for name in WATCHED), flush=True)
            QTimer.singleShot(0, self.wait_until_loaded)
        return False
    def wait_until_loaded(self):
        if getattr(self.window, "loaded", True):
            print("LOADED", time.monotonic_ns(), flush=True)
            QApplication.instance().quit()
        else:
            QTimer.singleShot(2, self.wait_until_loaded)

app = QApplication(["bench"])
marker = FirstPaint()
app.installEventFilter(marker)
if mode == "minimal":
    window = QMainWindow()
    window.setObjectName("minimal")
    window.setWindowTitle("minimal")
    window.resize(1600, 1000)
    window.show()
    app.exec()
else:  # as `nnstudio` starts
    from nnstudio.cli import main
    main([])
"""


def _run(mode: str, env: dict[str, str]) -> tuple[float, float, list[bool]]:
    started = time.monotonic_ns()
    out = subprocess.run([sys.executable, "-c", CHILD, mode], capture_output=True, text=True, env=env, cwd=ROOT,
                         timeout=120)
    painted = loaded = None
    seen: list[bool] = []
    for line in out.stdout.splitlines():
        if line.startswith("PAINTED"):
            _, stamp, *flags = line.split()
            painted, seen = (int(stamp) - started) / 1e6, [flag == "True" for flag in flags]
        elif line.startswith("LOADED"):
            loaded = (int(line.split()[1]) - started) / 1e6
    if painted is None or loaded is None:
        raise RuntimeError(f"{mode}: no first paint\n{out.stdout}\n{out.stderr}")
    return painted, loaded, seen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--platform", default=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="nnstudio-startup-")
    env = dict(os.environ, QT_QPA_PLATFORM=args.platform, NNSTUDIO_DATA_DIR=folder, NNSTUDIO_CONFIG_DIR=folder,
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               PYTHONPYCACHEPREFIX=str(Path(folder) / "pycache"))
    # Bytecode is cached (in the temporary folder) as an installed package has it: a process that compiled
    # NN Studio's sources at every start would be compared with a PySide6 that comes compiled.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    for mode in ("minimal", "nnstudio"):  # warm the file and bytecode caches before measuring
        _run(mode, env)
    minimal, studio, complete, seen = [], [], [], [False] * len(WATCHED)
    for _ in range(args.runs):
        minimal.append(_run("minimal", env)[0])
        painted, loaded, flags = _run("nnstudio", env)
        studio.append(painted)
        complete.append(loaded)
        seen = [a or b for a, b in zip(seen, flags, strict=True)]
    m, s, c = statistics.median(minimal), statistics.median(studio), statistics.median(complete)
    print(f"Start-up to first paint, Qt platform '{args.platform}', median of {args.runs} runs each (alternating):")
    print(f"  minimal PySide6 window:             {m:6.0f} ms  (min {min(minimal):.0f}, max {max(minimal):.0f})")
    print(f"  NN Studio, first paint:             {s:6.0f} ms  (min {min(studio):.0f}, max {max(studio):.0f})")
    print(f"  NN Studio / minimal:                {s / m:6.2f}  (aim <= 1.5)")
    print(f"  NN Studio complete (rooms + file):  {c:6.0f} ms  (min {min(complete):.0f}, max {max(complete):.0f})")
    for name, imported in zip(WATCHED, seen, strict=True):
        print(f"  {name + ' imported at first paint:':34} {'yes' if imported else 'no'} (must be no)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
