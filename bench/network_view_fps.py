"""Network view: frames per second of Playground's network picture while the Playground example trains.

Opens the real window (offscreen by default) on the Playground circle example with its Network tab
showing, presses Train, and for `--seconds` counts the view's repaints (each frame redraws every neuron's
heatmap and every link from the live weights), the time one paint takes, and the training speed. Then
the same window trains with the Canvas tab showing, for the training-speed ratio side by side.

    python bench/network_view_fps.py [--seconds 8] [--example playground-circle|spiral]
                                     [--antialias on|off] [--pull on|off]

Prints figures only; it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402

from nnstudio.gui.network import NetworkPanel  # noqa: E402
from nnstudio.gui.shell.app import create_application, open_main_window  # noqa: E402
from nnstudio.gui.training import TrainingController  # noqa: E402


def _wait(app, seconds: float, until=None) -> None:
    end = time.perf_counter() + seconds
    loop = QEventLoop()
    while time.perf_counter() < end and not (until and until()):
        QTimer.singleShot(5, loop.quit)
        loop.exec()


def measure(window, controller, tab: int, seconds: float) -> dict[str, float]:
    panel = window.findChild(NetworkPanel)
    panel.tabs.setCurrentIndex(tab)
    view = panel.view
    controller.train()
    _wait(None, 120, lambda: controller.latest is not None and controller.latest.step > 0
          and controller.phase == "running")
    paints, paint_seconds = view.paints, view.paint_seconds
    frames_in, frame_seconds = view.telemetry_frames, view.telemetry_seconds
    step, frames = controller.latest.step, controller.frames
    mailbox = controller.mailbox
    view_frames, published = mailbox.view_frames, mailbox.published
    started = time.perf_counter()
    _wait(None, seconds)
    elapsed = time.perf_counter() - started
    result = {
        "view_fps": (view.paints - paints) / elapsed,
        "ms_per_paint": (view.paint_seconds - paint_seconds) / max(1, view.paints - paints) * 1000,
        "ms_per_frame_in": (view.telemetry_seconds - frame_seconds) / max(1, view.telemetry_frames - frames_in) * 1000,
        "controller_frames_per_s": (controller.frames - frames) / elapsed,
        "steps_per_s": (controller.latest.step - step) / elapsed,
        "view_frames_per_s": (mailbox.view_frames - view_frames) / elapsed,
        "publications_per_s": (mailbox.published - published) / elapsed,
    }
    controller.stop()
    _wait(None, 30, lambda: controller.phase == "idle")
    controller.reset_weights()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--example", default="playground-circle")
    parser.add_argument("--antialias", choices=("on", "off"), default="on", help="smooth links (the default)")
    parser.add_argument("--pull", choices=("on", "off"), default="on",
                        help="the view draws the newest publication at its own pace (on, the default) or only "
                             "in the training controller's frames (off)")
    args = parser.parse_args()
    app = create_application([])
    window = open_main_window(str(ROOT / "resources" / "examples" / f"{args.example}.nnstudio"), defer=False)
    window.resize(1600, 1000)
    window.show()
    controller = window.findChild(TrainingController)
    panel = window.findChild(NetworkPanel)
    panel.view.antialias = args.antialias == "on"
    panel.pull_frames = args.pull == "on"
    _wait(app, 30, lambda: controller.plots is not None)
    network = measure(window, controller, 1, args.seconds)
    canvas = measure(window, controller, 0, args.seconds)
    print(f"{args.example}, {args.seconds:g} s each, {os.environ['QT_QPA_PLATFORM']} platform, "
          f"antialiased links {args.antialias}, own frame pace {args.pull}")
    print(f"  network view: {network['view_fps']:.1f} frames/s ({network['ms_per_paint']:.2f} ms per paint), "
          f"controller frames {network['controller_frames_per_s']:.1f}/s, training {network['steps_per_s']:,.0f} "
          "steps/s")
    print(f"  the trainer sent {network['view_frames_per_s']:.1f} view frames/s and "
          f"{network['publications_per_s']:.1f} full publications/s")
    print(f"  canvas tab:   training {canvas['steps_per_s']:,.0f} steps/s, controller frames "
          f"{canvas['controller_frames_per_s']:.1f}/s")
    cost = network["ms_per_paint"] + network["ms_per_frame_in"]
    print(f"  one network frame costs {cost:.2f} ms ({network['ms_per_frame_in']:.2f} ms images from the telemetry + "
          f"{network['ms_per_paint']:.2f} ms paint): the view alone could draw {1000 / max(cost, 1e-6):,.0f} frames/s; "
          "with --pull off it draws one per frame the training controller delivers")
    if canvas["steps_per_s"]:
        print(f"  training speed with the network view ÷ with the canvas: "
              f"{network['steps_per_s'] / canvas['steps_per_s']:.2f}")
    controller.shutdown()
    window.close()


if __name__ == "__main__":
    main()
