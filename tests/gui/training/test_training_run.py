"""Training from the window: a run to the end, pause / resume / step / stop, closing mid-run, NaN, live
learning rate and edits of the network while training."""

from __future__ import annotations

import numpy as np
from gui_training_helpers import RUN_TIMEOUT_MS, run_to_end, wait_running

from nnstudio.gui.editor.commands import SetParamCommand

LONG = 100_000  # epochs: a run that only ends when told to


def _layer_id(window, name: str) -> str:
    return window.design.layer_by_name(name).id


def test_train_runs_to_completion_and_plots_hold_data(studio, qtbot):
    window, controller = studio
    window.design.set_training(epochs=60)
    outcome = run_to_end(qtbot, controller)
    assert outcome.status == "completed", outcome.message
    assert outcome.epochs_completed == 60
    assert controller.phase == "idle" and controller.thread is None
    assert controller.trained is not None and controller.trained.epoch == 60
    assert all(isinstance(v, np.ndarray) for v in controller.trained.weights.values())
    x, y = controller.plots.loss.curves["train"].getData()
    assert x is not None and len(x) >= 2 and np.isfinite(y).any()
    output = controller.plots.output
    assert output.has_boundary and output.image.image is not None and output.image.image.shape == (100, 100)
    assert output.train_points.data.size > 0
    # Playground's per-neuron maps sit on the hidden layers' blocks (and the output's).
    mapped = {window.design.layers[lid].name for lid in controller.overlay.strips}
    assert {"hidden1", "hidden2", "output"} <= mapped
    assert len(controller.overlay.strips[_layer_id(window, "hidden1")].images) == 4
    assert "finished" in controller.panel.message.text()
    assert controller.panel.epoch_label.text().startswith("Epoch 60")


def test_pause_stops_telemetry_and_resume_restarts_it(studio, qtbot):
    window, controller = studio
    window.design.set_training(epochs=LONG)
    controller.train()
    wait_running(qtbot, controller)
    assert controller.pause()
    qtbot.waitUntil(lambda: controller.phase == "paused" and controller.control.paused_event.is_set()
                    and controller.latest.reason == "paused", timeout=RUN_TIMEOUT_MS)
    published = controller.mailbox.published
    step = controller.latest.step
    qtbot.wait(400)
    assert controller.mailbox.published == published  # nothing arrives while paused
    assert controller.latest.step == step
    assert controller.actions["train"].text().replace("&", "") == "Resume"
    assert controller.trained is not None and controller.trained.step == controller.latest.step
    assert controller.resume()
    qtbot.waitUntil(lambda: controller.mailbox.published > published and controller.latest.step > step,
                    timeout=RUN_TIMEOUT_MS)
    assert controller.phase == "running"
    with qtbot.waitSignal(controller.run_finished, timeout=RUN_TIMEOUT_MS):
        controller.stop()


def test_step_runs_exactly_one_batch(studio, qtbot):
    window, controller = studio
    window.design.set_training(epochs=LONG)
    controller.step()  # from idle: starts, trains one batch, pauses
    qtbot.waitUntil(lambda: controller.phase == "paused" and controller.latest is not None
                    and controller.latest.reason == "paused", timeout=RUN_TIMEOUT_MS)
    assert controller.latest.step == 1
    controller.step()
    qtbot.waitUntil(lambda: controller.latest.step == 2 and controller.latest.reason == "paused"
                    and controller.phase == "paused", timeout=RUN_TIMEOUT_MS)
    qtbot.wait(200)
    assert controller.latest.step == 2
    with qtbot.waitSignal(controller.run_finished, timeout=RUN_TIMEOUT_MS) as blocker:
        controller.stop()
    assert blocker.args[0].status == "stopped" and blocker.args[0].steps == 2


def test_stop_ends_the_worker_thread_promptly(studio, qtbot):
    window, controller = studio
    window.design.set_training(epochs=LONG)
    controller.train()
    wait_running(qtbot, controller)
    thread = controller.thread
    assert controller.stop()
    assert controller.phase == "stopping"
    assert thread.wait(10)  # the run ends within about a batch, without the GUI's help
    assert thread.ended
    with qtbot.waitSignal(controller.run_finished, timeout=RUN_TIMEOUT_MS) as blocker:
        pass
    assert blocker.args[0].status == "stopped"
    assert controller.phase == "idle" and controller.thread is None
    assert controller.trained is not None and controller.trained.step > 0


def test_closing_the_window_mid_training_leaves_no_thread_running(studio, qtbot):
    window, controller = studio
    window.design.set_training(epochs=LONG)
    controller.train()
    wait_running(qtbot, controller)
    thread = controller.thread
    assert window.close()
    assert controller.closed
    assert thread.ended


def test_a_diverging_run_shows_its_message_and_the_window_keeps_working(studio, qtbot):
    window, controller = studio
    design = window.design
    design.set_dataset(name="reg-plane")
    for layer in list(design.layers.values()):
        if layer.type == "Dense":
            design.set_param(layer.id, "activation", "identity")
        elif layer.type == "Output":
            design.set_param(layer.id, "task", "regression")
    design.set_training(learning_rate=10.0, epochs=40)
    outcome = run_to_end(qtbot, controller)
    assert outcome.status == "failed" and outcome.kind == "training"
    assert "NaN" in outcome.message or "infinite" in outcome.message
    assert outcome.message in controller.panel.message.text()
    assert controller.panel.message.isVisible() and controller.panel.message.property("error")
    assert window.status_label.text() == outcome.message
    assert controller.phase == "idle" and controller.thread is None
    # Still works: a sane learning rate trains on from the restored weights.
    design.set_training(learning_rate=0.01, epochs=5)
    controller.reset_weights()
    assert run_to_end(qtbot, controller).status == "completed"


def test_a_data_error_is_reported_not_raised(studio, qtbot):
    window, controller = studio
    window.design.set_dataset(source="csv", path="no-such-file.csv")
    outcome = run_to_end(qtbot, controller)
    assert outcome.status == "failed" and outcome.kind == "data"
    assert "no-such-file.csv" in controller.panel.message.text()


def test_a_design_with_errors_is_not_started(studio, qtbot):
    window, controller = studio
    window.design.disconnect(_layer_id(window, "hidden2"), _layer_id(window, "output"))
    window.session.refresh()
    assert not controller.train()
    assert controller.phase == "idle" and controller.thread is None
    assert "cannot be trained" in controller.panel.message.text()


def test_changing_the_learning_rate_mid_run_reaches_the_optimizer(studio, qtbot):
    window, controller = studio
    window.design.set_training(epochs=LONG)
    controller.train()
    wait_running(qtbot, controller)
    editor = controller.panel.form.editor("learning_rate")
    assert editor.isEnabled()  # live while training
    assert not controller.panel.form.editor("batch_size").isEnabled()
    editor.setValue(0.25)
    assert window.design.training.learning_rate == 0.25
    qtbot.waitUntil(lambda: abs(controller.latest.learning_rate - 0.25) < 1e-12, timeout=RUN_TIMEOUT_MS)
    with qtbot.waitSignal(controller.run_finished, timeout=RUN_TIMEOUT_MS):
        controller.stop()


def test_editing_the_network_while_training_stops_the_run(studio, qtbot):
    window, controller = studio
    window.design.set_training(epochs=LONG)
    controller.train()
    wait_running(qtbot, controller)
    hidden1 = _layer_id(window, "hidden1")
    with qtbot.waitSignal(controller.run_finished, timeout=RUN_TIMEOUT_MS) as blocker:
        assert window.session.push(SetParamCommand(window.design, hidden1, "units", 3))
    assert blocker.args[0].status == "stopped"
    assert "network changed" in controller.panel.message.text()
    assert not controller.trained.fits(window.design)
    assert window.design.layers[hidden1].params["units"] == 3
    # Undo puts the network back: the kept weights fit again and Train continues them.
    window.undo_stack.undo()
    assert controller.trained.fits(window.design)
    # Edited again while idle: the next run starts afresh on the new network.
    window.undo_stack.redo()
    window.design.set_training(epochs=3)
    outcome = run_to_end(qtbot, controller)
    assert outcome.status == "completed" and outcome.epochs_completed == 3
    assert "new weights" in controller.panel.message.text() or controller.trained.fits(window.design)


def test_reset_weights_forgets_weights_and_plots(studio, qtbot):
    window, controller = studio
    window.design.set_training(epochs=3)
    run_to_end(qtbot, controller)
    assert controller.trained is not None and not controller.history.empty
    controller.reset_weights()
    assert controller.trained is None and controller.history.empty
    assert not controller.plots.output.has_boundary and not controller.overlay.strips
    assert controller.panel.epoch_label.text() == "Epoch 0"


def test_train_continues_from_kept_weights(studio, qtbot):
    window, controller = studio
    window.design.set_training(epochs=4)
    assert run_to_end(qtbot, controller).epochs_completed == 4
    outcome = run_to_end(qtbot, controller)  # all epochs done: Train runs the same number again
    assert outcome.status == "completed" and outcome.epochs_completed == 8
    assert controller.trained.epoch == 8
    assert len(controller.history.rows) > 2  # one history across both runs


def test_reset_while_training_stops_then_forgets(studio, qtbot):
    window, controller = studio
    window.design.set_training(epochs=LONG)
    controller.train()
    wait_running(qtbot, controller)
    with qtbot.waitSignal(controller.run_finished, timeout=RUN_TIMEOUT_MS):
        assert controller.reset_weights()
    assert controller.phase == "idle" and controller.trained is None and controller.history.empty


def test_opening_a_checkpoint_is_refused_while_training(studio, qtbot, tmp_path):
    window, controller = studio
    window.design.set_training(epochs=LONG)
    controller.train()
    wait_running(qtbot, controller)
    assert not controller.open_checkpoint(tmp_path / "any.safetensors")
    assert "Stop training" in controller.panel.message.text()
    assert not controller.actions["openCheckpoint"].isEnabled()
    with qtbot.waitSignal(controller.run_finished, timeout=RUN_TIMEOUT_MS):
        controller.stop()
