"""The optimization views in the window: the Landscape dock (compute, cancel, live path, line to a
checkpoint), the Optimizer Race and Seeds docks, and Train ▸ Find Learning Rate with an undoable Apply.
Every number is checked against an independent computation from the same weights."""

from __future__ import annotations

import numpy as np
import pytest
from gui_training_helpers import RUN_TIMEOUT_MS, run_to_end

JOB_TIMEOUT_MS = 120_000


@pytest.fixture
def views(studio):
    from nnstudio.gui.landscape import attach_optimization

    window, controller = studio
    window.design.set_training(epochs=3, learning_rate=0.3, device="cpu")
    return window, controller, attach_optimization(window)


def wait_job(qtbot, panel, attr: str = "job") -> None:
    qtbot.waitUntil(lambda: getattr(panel, attr) is None, timeout=JOB_TIMEOUT_MS)


def independent_loss(state) -> float:
    """The trained model's mean training loss, by hand from a model rebuilt from the snapshot: BCE, or under
    the Playground recipe Playground's ½(tanh z − t)² on ±1 targets."""
    import torch

    from nnstudio.data import load_dataset
    from nnstudio.gui.training.state import build_trained_model

    model = build_trained_model(state)
    data = load_dataset(state.design.dataset)
    x = torch.as_tensor(np.asarray(data.x_train), dtype=torch.float32)
    y = torch.as_tensor(np.asarray(data.y_train), dtype=torch.float64).reshape(-1, 1)
    with torch.no_grad():
        z = model(x).double()
    if state.design.training.recipe == "playground":
        return float((0.5 * (torch.tanh(z) - (2 * y - 1)) ** 2).mean())
    p = torch.sigmoid(z).clamp(1e-12, 1 - 1e-12)
    return float(-(y * p.log() + (1 - y) * (1 - p).log()).mean())


def test_landscape_dock_draws_the_plane_around_the_trained_weights(qtbot, views, tmp_path):
    window, controller, opt = views
    panel = opt.panels["landscape"]
    assert opt.docks["landscape"].isHidden()
    window.findChild(type(opt.actions["showLandscape"]), "actionShowLandscape").trigger()
    assert opt.docks["landscape"].isVisible()
    assert not panel.compute()  # nothing trained yet: told, not crashed
    assert "no trained weights" in panel.status.text()
    outcome = run_to_end(qtbot, controller)
    assert outcome.status == "completed"
    assert len(opt.trajectory) >= 3 and opt.trajectory.steps[-1] == controller.trained.step
    panel.grid.setValue(11)
    panel.directions.setCurrentIndex(panel.directions.findData("pca"))
    assert panel.compute()
    wait_job(qtbot, panel)
    landscape = panel.landscape
    assert landscape is not None and landscape.directions == "pca"
    assert landscape.losses.shape == (11, 11)
    expected = independent_loss(controller.trained)
    assert abs(landscape.losses[5, 5] - expected) < 1e-5
    assert f"{landscape.center_loss:.5g}" in panel.status.text()
    shown = panel.plane.image_values()
    assert shown.shape == (11, 11) and len(panel.plane.contours) > 0
    path = panel.plane.paths["path"].getData()
    assert np.allclose([path[0][-1], path[1][-1]], [0, 0], atol=1e-4)  # the path ends at the current point

    # The line to a checkpoint of the same weights is flat at the same loss at both ends.
    checkpoint = tmp_path / "same.safetensors"
    assert controller.save_checkpoint(checkpoint)
    assert panel.interpolate_to(checkpoint)
    wait_job(qtbot, panel)
    xs, ys = panel.line_curve.getData()
    assert len(xs) >= 41 and np.allclose(ys, expected, atol=1e-5)


def test_landscape_cancel(qtbot, views):
    window, controller, opt = views
    panel = opt.show("landscape").widget()
    run_to_end(qtbot, controller)
    panel.grid.setValue(201)
    # Cancel before the first chunk is evaluated: the job checks the flag between chunks.
    from nnstudio.gui.landscape import jobs

    original = jobs.BackgroundJob.start

    def start_cancelled(job):
        job.cancel()
        original(job)

    jobs.BackgroundJob.start = start_cancelled
    try:
        assert panel.compute()
    finally:
        jobs.BackgroundJob.start = original
    wait_job(qtbot, panel)
    assert panel.status.text() == "Cancelled." and panel.landscape is None
    assert panel.compute_button.isEnabled()


def test_race_dock_runs_each_optimizer_like_a_single_run(qtbot, views):
    from nnstudio.ml.trainer import Trainer

    window, controller, opt = views
    panel = opt.show("race").widget()
    for i, (on, name, lr) in enumerate([(True, "sgd", 0.1), (True, "momentum", 0.1), (False, "adam", 0.01),
                                        (False, "sgd", 8.0)]):
        check, combo, rate = panel.rows[i]
        check.setChecked(on)
        combo.setCurrentIndex(combo.findData(name))
        rate.setValue(lr)
    panel.epochs.setValue(3)
    assert panel.start()
    wait_job(qtbot, panel)
    states = panel.result["states"]
    assert [s.label for s in states] == ["sgd 0.1", "momentum 0.1"]
    assert len(panel.curves) == 2
    for state, (name, lr) in zip(states, [("sgd", 0.1), ("momentum", 0.1)], strict=True):
        design = window.design.copy()
        design.set_training(optimizer=name, learning_rate=lr)
        single = Trainer(design, publish_hz=0)
        single.fit(3)
        assert state.final_loss == pytest.approx(single.last_telemetry.val_loss, abs=1e-6)
    assert panel.plane.image_values() is not None and set(panel.plane.paths) == {"sgd 0.1", "momentum 0.1"}
    assert "sgd 0.1: loss" in panel.status.text()


def test_seeds_dock_shows_where_each_seed_ends_and_the_line_between(qtbot, views):
    window, controller, opt = views
    panel = opt.show("seeds").widget()
    panel.count.setValue(2)
    panel.epochs.setValue(2)
    assert panel.start()
    wait_job(qtbot, panel)
    assert panel.table.rowCount() == 2 and panel.table.item(1, 0).text() == "seed 1"
    assert len(panel.boundary_labels) == 2
    a, b = (panel.result["weights"][i] for i in (0, 1))
    assert any(not np.array_equal(a[k], b[k]) for k in a)
    assert panel.interpolate(0, 1)
    wait_job(qtbot, panel, "line_job")
    xs, ys = panel.line_curve.getData()
    ends = panel.line_ends.getData()[1]
    assert len(xs) >= 41 and np.all(np.isfinite(ys))
    assert ys[np.argmin(np.abs(xs - 0.0))] == pytest.approx(ends[0], abs=1e-5)


def test_find_learning_rate_applies_the_suggestion_as_one_undo_step(qtbot, views):
    window, controller, opt = views
    before = window.design.training.learning_rate
    action = window.findChild(type(opt.actions["findLearningRate"]), "actionFindLearningRate")
    assert action in window.menus["train"].actions()
    action.trigger()
    dialog = opt.dialog
    assert dialog is not None and dialog.isVisible()
    wait_job(qtbot, dialog)
    result = dialog.result
    assert result is not None and result.suggestion is not None
    assert dialog.markers["suggestion"].isVisible()
    assert dialog.markers["suggestion"].value() == pytest.approx(np.log10(result.suggestion))
    xs, _ys = dialog.curve.getData()
    assert len(xs) == result.iterations
    assert dialog.apply()
    applied = window.design.training.learning_rate
    assert applied == pytest.approx(result.suggestion, rel=5e-3) and applied != before
    assert window.undo_stack.undoText() == "Change learning rate"
    window.undo_stack.undo()
    assert window.design.training.learning_rate == before
    dialog.close()


def test_training_still_runs_with_the_recorder(qtbot, views):
    """The trajectory callback must not break a plain run, and a reset starts a new path."""
    window, controller, opt = views
    run_to_end(qtbot, controller, timeout=RUN_TIMEOUT_MS)
    first = len(opt.trajectory)
    assert first >= 3
    controller.reset_weights()
    run_to_end(qtbot, controller, timeout=RUN_TIMEOUT_MS)
    assert opt.trajectory.steps[0] == 0 and len(opt.trajectory) == first
