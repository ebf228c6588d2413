"""UI responsiveness while training: how late a 10 ms timer on the GUI thread fires, how fast Pause and Stop
are acknowledged, and how fast the window trains compared with the headless Trainer.

    python bench/gui_responsiveness.py [--rounds 3] [--epochs 150]     # offscreen unless --demo
    python bench/gui_responsiveness.py --demo [--example spiral]      # a real window that trains at once

The benchmark opens the main window on the Playground example with every plot visible (the plot docks
are laid side by side rather than tabbed), trains at full speed, and records:
- the extra lateness of a precise 10 ms QTimer (p50, p99) and the longest gap between two of its ticks,
  with training and without (idle baseline);
- time from pressing Pause / Stop to the worker's acknowledgement (the control's listener, in the
  training thread) and to the window knowing it (the queued signal);
- steps/s and epochs/s of the run in the window ÷ the headless Trainer on the same design, interleaved
  in one process; and the window's epochs/s beside TensorFlow Playground's ~60 epochs/s.
Prints figures only; it asserts nothing. Offscreen (QT_QPA_PLATFORM=offscreen) unless --demo is given.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
EXAMPLES = ROOT / "resources" / "examples"
PLAYGROUND_EPOCHS_PER_SECOND = 60.0  # one epoch per animation frame at 60 Hz (REFERENCE.md)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="window / headless rounds, interleaved")
    parser.add_argument("--epochs", type=int, default=150, help="epochs per measured run")
    parser.add_argument("--demo", action="store_true", help="open a real window and train (for screenshots)")
    parser.add_argument("--example", default="playground-circle", help="example design to open")
    parser.add_argument("--tab", default="", help="with --demo: raise this plot dock (loss, weights, ...)")
    return parser.parse_args()


def _isolate() -> None:
    """Settings and recovery files in a temporary folder: the user's own stay untouched."""
    folder = tempfile.mkdtemp(prefix="nnstudio-bench-")
    os.environ["NNSTUDIO_DATA_DIR"] = folder
    os.environ["NNSTUDIO_CONFIG_DIR"] = folder


def _open_window(example: str):
    from nnstudio.gui.shell.app import create_application
    from nnstudio.gui.shell.mainwindow import MainWindow
    from nnstudio.gui.training import attach_training

    app = create_application(["nnstudio-bench"])
    window = MainWindow()
    controller = attach_training(window)
    window.open_example(EXAMPLES / f"{example}.nnstudio", ask=False)
    return app, window, controller


def _wait(condition, timeout: float = 120.0) -> bool:
    """Run the event loop (idle, not spinning) until `condition()` holds."""
    from PySide6.QtCore import QEventLoop, QTimer

    if condition():
        return True
    loop = QEventLoop()
    deadline = time.perf_counter() + timeout
    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(lambda: (condition() or time.perf_counter() > deadline) and loop.quit())
    timer.start()
    loop.exec()
    timer.stop()
    return condition()


def _every_plot_visible(window, controller) -> None:
    """Lay the plot docks side by side (two rows) instead of tabbed, so every plot is drawn every frame."""
    from PySide6.QtCore import Qt

    docks = controller.plot_docks
    order = ["loss", "accuracy", "learningRate", "gradients", "weights", "output"]
    for key in order:
        window.removeDockWidget(docks[key])
    first = docks[order[0]]
    window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, first)
    first.show()
    previous = first
    for key in order[1:3]:
        window.splitDockWidget(previous, docks[key], Qt.Orientation.Horizontal)
        docks[key].show()
        previous = docks[key]
    window.splitDockWidget(first, docks["gradients"], Qt.Orientation.Vertical)
    docks["gradients"].show()
    previous = docks["gradients"]
    for key in order[4:]:
        window.splitDockWidget(previous, docks[key], Qt.Orientation.Horizontal)
        docks[key].show()
        previous = docks[key]


class LatenessProbe:
    """A precise 10 ms timer on the GUI thread that records how late each tick is."""

    def __init__(self, interval_ms: int = 10) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.interval = interval_ms / 1000.0
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)
        self.gaps: list[float] = []
        self._last = 0.0

    def start(self) -> None:
        self.gaps = []
        self._last = time.perf_counter()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append(now - self._last)
        self._last = now

    def figures(self) -> tuple[float, float, float]:
        """p50 and p99 extra lateness and the longest gap, in ms."""
        if not self.gaps:
            return (float("nan"),) * 3
        late = sorted(max(0.0, g - self.interval) * 1000 for g in self.gaps)
        p = lambda q: late[min(len(late) - 1, int(q * len(late)))]
        return p(0.50), p(0.99), max(self.gaps) * 1000


class DrawCounter:
    """Counts how often each plot view draws (its refresh rate as the user sees it)."""

    def __init__(self, controller) -> None:
        self.counts: dict[str, int] = {}
        for key, view in controller.ensure_plots().views.items():
            original = view.draw

            def counted(*args, key=key, original=original):
                self.counts[key] = self.counts.get(key, 0) + 1
                return original(*args)

            view.draw = counted

    def rates(self, seconds: float) -> str:
        return ", ".join(f"{k} {n / seconds:.1f}/s" for k, n in sorted(self.counts.items()))


def _run_in_window(controller, epochs: int, probe: LatenessProbe | None = None) -> dict:
    """One run from fresh weights; steps/s over the fit itself (from the final telemetry)."""
    controller.reset_weights()
    controller.window.design.set_training(epochs=epochs)
    finished: list = []
    controller.run_finished.connect(finished.append)
    if probe is not None:
        probe.start()
    controller.train()
    _wait(lambda: bool(finished), timeout=600)
    if probe is not None:
        probe.stop()
    controller.run_finished.disconnect(finished.append)
    last = controller.latest
    return {"steps": last.step, "epochs": last.epoch, "seconds": last.elapsed, "frames": controller.frames}


def _run_headless(design, epochs: int) -> dict:
    from nnstudio.ml.trainer import Trainer

    trainer = Trainer(design)
    result = trainer.fit(epochs)
    return {"steps": result.steps, "epochs": result.epochs_completed, "seconds": result.final.elapsed}


def _acknowledgements(controller, epochs: int, repeats: int = 5) -> tuple[list[float], list[float], list[float],
                                                                           list[float]]:
    """Pause → paused (worker, window) and Stop → stopped (worker, window finished), in ms."""
    controller.reset_weights()
    controller.window.design.set_training(epochs=epochs)
    pause_worker, pause_window, stop_worker, stop_window = [], [], [], []
    for _ in range(repeats):
        controller.train()
        _wait(lambda: controller.phase == "running")
        _wait(lambda: False, timeout=0.3)  # let it run a little
        seen: dict[str, float] = {}
        control = controller.control
        control.add_listener(lambda state, seen=seen: seen.setdefault(state, time.perf_counter()))
        pressed = time.perf_counter()
        controller.pause()
        _wait(lambda: controller.phase == "paused")
        pause_window.append((time.perf_counter() - pressed) * 1000)
        pause_worker.append((seen.get("paused", float("nan")) - pressed) * 1000)
        controller.resume()
        _wait(lambda: controller.phase == "running")
        _wait(lambda: False, timeout=0.3)
        pressed = time.perf_counter()
        controller.stop()
        _wait(lambda: controller.phase == "idle")
        stop_window.append((time.perf_counter() - pressed) * 1000)
        stop_worker.append((seen.get("stopped", float("nan")) - pressed) * 1000)
        controller.reset_weights()
    return pause_worker, pause_window, stop_worker, stop_window


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def demo(args: argparse.Namespace) -> int:
    """A real window that starts training as soon as it is shown (for a look or a screenshot)."""
    from PySide6.QtCore import QTimer

    _isolate()
    app, window, controller = _open_window(args.example)
    window.resize(1600, 1000)
    window.design.set_training(epochs=max(args.epochs, 1000))
    window.show()

    def start() -> None:
        controller.ensure_plots()
        if args.tab and args.tab in controller.plot_docks:
            controller.plot_docks[args.tab].raise_()
        controller.train()

    QTimer.singleShot(500, start)
    return app.exec()


def _measure_layout(controller, window, args, title: str) -> None:
    """Lateness, speed ratio and plot refresh rates for the docks as they are now."""
    probe = LatenessProbe()
    counter = DrawCounter(controller)
    visible = ", ".join(sorted(controller._visible))
    window_runs, headless_runs, lateness = [], [], []
    counter.counts.clear()
    for _ in range(args.rounds):
        window_runs.append(_run_in_window(controller, args.epochs, probe))
        lateness.append(probe.figures())
        headless_runs.append(_run_headless(window.design, args.epochs))
    seconds = sum(r["seconds"] for r in window_runs)

    def rate(runs: list[dict], key: str) -> float:
        return _median([r[key] / r["seconds"] for r in runs])

    win_steps, head_steps = rate(window_runs, "steps"), rate(headless_runs, "steps")
    win_epochs, head_epochs = rate(window_runs, "epochs"), rate(headless_runs, "epochs")
    print(f"\n[{title}] window {window.width()}x{window.height()}, plots visible: {visible}")
    print(f"  10 ms timer while training:  extra lateness p50 {_median([x[0] for x in lateness]):.2f} ms, "
          f"p99 {_median([x[1] for x in lateness]):.2f} ms (aim <= 16), longest gap "
          f"{max(x[2] for x in lateness):.1f} ms (aim < 100)")
    print(f"  speed in window:             {win_steps:,.0f} steps/s, {win_epochs:,.1f} epochs/s")
    print(f"  speed of headless Trainer:   {head_steps:,.0f} steps/s, {head_epochs:,.1f} epochs/s")
    print(f"  window / headless:           {win_steps / head_steps:.2f} (aim >= 0.9)")
    print(f"  window / Playground (60/s):  {win_epochs / PLAYGROUND_EPOCHS_PER_SECOND:.2f}")
    print(f"  plot refreshes:              {counter.rates(seconds)}")


def main() -> int:
    args = _arguments()
    if args.demo:
        return demo(args)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    _isolate()
    app, window, controller = _open_window(args.example)
    window.resize(1600, 1000)
    window.show()
    _wait(lambda: controller.plots is not None, timeout=30)
    _wait(lambda: False, timeout=0.5)
    print(f"NN Studio GUI responsiveness — {args.example}, {args.epochs} epochs per run, {args.rounds} rounds "
          f"interleaved with the headless Trainer; Qt platform '{app.platformName()}'")

    probe = LatenessProbe()
    probe.start()
    _wait(lambda: False, timeout=2.0)
    probe.stop()
    idle = probe.figures()
    print(f"10 ms timer, idle window: extra lateness p50 {idle[0]:.2f} ms, p99 {idle[1]:.2f} ms, "
          f"longest gap {idle[2]:.1f} ms")

    # Warm-up: imports torch in the training thread and runs the first trainer once.
    _run_in_window(controller, 5)
    _run_headless(window.design, 5)

    pause_worker, pause_window, stop_worker, stop_window = _acknowledgements(controller, 100_000)
    print(f"Pause -> acknowledged: worker {_median(pause_worker):.1f} ms, window {_median(pause_window):.1f} ms; "
          f"Stop -> worker {_median(stop_worker):.1f} ms, run finished in the window "
          f"{_median(stop_window):.1f} ms (medians of {len(pause_window)})")

    _measure_layout(controller, window, args, "default docks: Loss and Output shown, other plots tabbed")
    window.resize(2400, 1500)
    _every_plot_visible(window, controller)
    _wait(lambda: False, timeout=0.5)
    _measure_layout(controller, window, args, "every plot visible")
    controller.shutdown()
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
