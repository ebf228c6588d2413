"""The network view draws the trainer's light view frames while training, and the mailbox never hands it
an older picture than the one the controller drew."""

from __future__ import annotations

import numpy as np

TIMEOUT = 60_000


def test_the_mailbox_hands_the_newest_picture() -> None:
    from nnstudio.gui.training.worker import TelemetryMailbox

    class Full:
        points = ()

    mailbox = TelemetryMailbox()
    first, view, second = Full(), object(), Full()
    mailbox.put(first)
    assert mailbox.peek() is first
    mailbox.put_view(view)
    assert mailbox.peek() is view and mailbox.waiting  # a view frame newer than the full one
    rows, latest = mailbox.take()
    assert latest is first and mailbox.peek() is view  # still newer than what the controller took
    mailbox.put(second)
    assert mailbox.peek() is second  # a full publication is newer than every earlier view frame
    mailbox.take()
    assert mailbox.peek() is None and mailbox.view_frames == 1


def test_the_network_view_draws_view_frames_of_the_live_model(network_studio, qtbot) -> None:
    from nnstudio.ml.view_frames import ViewFrame

    window, controller, panel = network_studio
    window.design.set_training(until_paused=True, epochs=1)
    drawn: list = []
    original = panel.view.set_telemetry

    def spy(telemetry, task, *args):
        drawn.append(telemetry)
        original(telemetry, task, *args)

    panel.view.set_telemetry = spy
    panel.play_or_pause()
    qtbot.waitUntil(lambda: sum(isinstance(t, ViewFrame) for t in drawn) >= 3, timeout=TIMEOUT)
    panel.play_or_pause()
    qtbot.waitUntil(lambda: controller.phase == "paused", timeout=TIMEOUT)
    frame = next(t for t in reversed(drawn) if isinstance(t, ViewFrame))
    assert controller.mailbox.view_frames >= 3
    # What the view keeps is the frame's live weights, and its maps were drawn from the frame's arrays.
    assert set(panel.view.parameters) == set(frame.parameters)
    assert all(np.isfinite(v).all() for v in frame.parameters.values())
    side = frame.boundary.shape[-1]
    assert panel.view.output_map is not None and panel.view.output_map.width() == side
    with qtbot.waitSignal(controller.run_finished, timeout=TIMEOUT):
        controller.stop()
