"""Helpers shared by the training GUI tests."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PLAYGROUND = ROOT / "resources" / "examples" / "playground-circle.nnstudio"
# Generous: the first run of a test session imports torch in the training thread.
RUN_TIMEOUT_MS = 90_000


def run_to_end(qtbot, controller, start=None, timeout: int = RUN_TIMEOUT_MS):
    """Start (default: Train) and wait for the run's outcome."""
    with qtbot.waitSignal(controller.run_finished, timeout=timeout) as blocker:
        (start or controller.train)()
    return blocker.args[0]


def wait_running(qtbot, controller, steps: int = 1) -> None:
    """Wait until the run is training and has drawn a frame past `steps` steps."""
    qtbot.waitUntil(lambda: controller.phase == "running" and controller.latest is not None
                    and controller.latest.step >= steps, timeout=RUN_TIMEOUT_MS)
