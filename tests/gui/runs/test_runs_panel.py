"""The Runs panel in the window: every window run recorded, the table (sort, filter, rename, note, delete),
overlaid curves with a legend, the settings diff, the sweep view, restore, branch and a sweep from the window."""

from __future__ import annotations

import gc
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication, QEvent, Qt

from nnstudio.io import load_design, save_design

ROOT = Path(__file__).resolve().parents[3]
PLAYGROUND = ROOT / "resources" / "examples" / "playground-circle.nnstudio"
TIMEOUT_MS = 120_000


@pytest.fixture
def design_file(tmp_path: Path) -> Path:
    design = load_design(PLAYGROUND)
    design.set_training(epochs=3, until_paused=False)  # the example trains until paused, as Playground does
    path = tmp_path / "circle.nnstudio"
    save_design(design, path)
    return path


@pytest.fixture
def swept(design_file: Path) -> Path:
    """Four stored runs of a sweep (learning rate x optimizer), made before the window opens."""
    from nnstudio.ml.sweep import parse_set, run_sweep

    store = design_file.parent / "nnstudio-runs" / "runs.sqlite"
    run_sweep(design_file, [parse_set("training.learning_rate=0.01,0.3"), parse_set("training.optimizer=sgd,adam")],
              store_path=store, epochs=2)
    return store


@pytest.fixture
def studio(qtbot, monkeypatch, design_file):
    from nnstudio.gui.runs import attach_runs
    from nnstudio.gui.shell.mainwindow import MainWindow
    from nnstudio.gui.training import attach_training

    window = MainWindow()
    errors: list[tuple[str, str]] = []
    monkeypatch.setattr(window, "show_error", lambda title, message: errors.append((title, message)))
    monkeypatch.setattr(window, "ask_save_changes", lambda doing: "discard")
    monkeypatch.setattr(window, "ask_confirm", lambda *args: True)
    monkeypatch.setattr(window, "ask_recover", lambda entry: "later")
    qtbot.addWidget(window)
    training = attach_training(window)
    runs = attach_runs(window)
    assert attach_runs(window) is runs
    window.open_file(design_file, ask=False)
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    runs.dock.raise_()
    yield window, training, runs, errors
    runs.shutdown()
    training.shutdown()
    window.close()
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()


def _train(qtbot, training) -> None:
    with qtbot.waitSignal(training.run_finished, timeout=TIMEOUT_MS):
        training.train()


def _val_accuracy(weights: dict, design, base_dir: Path) -> float:
    """Accuracy of these weights on the validation set, computed here with numpy (tanh MLP, sigmoid output)."""
    from nnstudio.data import load_dataset

    dataset = load_dataset(design.dataset, base_dir=base_dir)
    x = np.asarray(dataset.x_val, dtype=np.float64)
    for name in ("hidden1", "hidden2"):
        x = np.tanh(x @ weights[f"{name}.weight"].T.astype(np.float64) + weights[f"{name}.bias"])
    logit = (x @ weights["output.weight"].T + weights["output.bias"]).reshape(-1)
    return float(np.mean((logit > 0) == (np.asarray(dataset.y_val).reshape(-1) > 0)))


def test_window_records_each_run_with_the_models_numbers(qtbot, studio, design_file) -> None:
    window, training, runs, errors = studio
    assert runs.store_path == design_file.parent / "nnstudio-runs" / "runs.sqlite"
    _train(qtbot, training)
    qtbot.waitUntil(lambda: runs.panel.model.rowCount() == 1, timeout=10_000)
    (run,) = runs.panel.model.runs
    assert (run.status, run.epochs, run.design_file) == ("finished", 3, "circle.nnstudio")
    history = runs.store.history(run.uid)
    # The window publishes at most 30 times a second: an epoch gets the last figures published in it, so a
    # fast epoch may have no row; the last epoch always has one (the final publication).
    epochs = [h.epoch for h in history]
    assert epochs == sorted(set(epochs)) and epochs[-1] == 3 and set(epochs) <= {1, 2, 3}
    assert history[-1].val_loss == run.val_loss
    # The stored final figures are the ones the window showed, and those of the saved weights.
    assert run.val_loss == pytest.approx(training.latest.val_loss)
    from nnstudio.ml.run_restore import restore_run

    weights = {k: v.numpy() for k, v in restore_run(runs.store, run).state_dict.items()}
    assert run.val_accuracy == pytest.approx(_val_accuracy(weights, window.design, design_file.parent), abs=1e-6)
    assert errors == []


def test_table_sorts_filters_renames_notes_and_deletes(qtbot, studio, swept) -> None:
    window, training, runs, errors = studio
    runs.refresh()
    panel = runs.panel
    assert panel.model.rowCount() == 4
    panel.table.sortByColumn(8, Qt.SortOrder.DescendingOrder)  # validation accuracy, best first
    shown = [panel.proxy.index(r, 8).data(Qt.ItemDataRole.UserRole + 1) for r in range(4)]
    assert shown == sorted((r.val_accuracy for r in panel.model.runs), reverse=True)
    panel.filter.setText("adam")
    assert panel.proxy.rowCount() == 2
    assert {panel.proxy.index(r, 4).data() for r in range(2)} == {"adam"}
    panel.filter.setText("adam 0.3")
    assert panel.proxy.rowCount() == 1
    uid = panel.proxy.index(0, 0).data(Qt.ItemDataRole.UserRole + 2)
    assert panel.proxy.setData(panel.proxy.index(0, 0), "fast adam")
    assert panel.proxy.setData(panel.proxy.index(0, 9), "diverges?")
    runs.store.flush()
    assert (runs.store.run(uid).name, runs.store.run(uid).note) == ("fast adam", "diverges?")
    panel.filter.clear()
    panel.select([uid])
    checkpoint = runs.store.checkpoint_path(runs.store.run(uid))
    assert checkpoint.is_file() and runs.actions["delete"].isEnabled()
    runs.actions["delete"].trigger()
    assert panel.model.rowCount() == 3 and runs.store.run(uid) is None and not checkpoint.exists()


def test_selected_runs_overlay_their_curves_and_diff_their_settings(qtbot, studio, swept) -> None:
    window, training, runs, errors = studio
    runs.refresh()
    chosen = [r for r in runs.panel.model.runs if r.settings["training"]["optimizer"] == "adam"]
    runs.panel.select([r.uid for r in chosen])
    curves = runs.panel.curves
    assert len(curves.items) == 2
    by_name = {item.name(): item for item in curves.items}
    assert set(by_name) == {r.name for r in chosen}
    for run in chosen:
        xs, ys = by_name[run.name].getData()
        history = runs.store.history(run.uid)
        assert list(xs) == [1, 2] and list(ys) == pytest.approx([h.val_loss for h in history])
    assert len(curves.legend.items) == 2
    curves.metric.setCurrentIndex(curves.metric.findData("val_accuracy"))
    assert [list(item.getData()[1]) for item in curves.items] == [
        pytest.approx([h.val_accuracy for h in runs.store.history(r.uid)]) for r in chosen]
    diff = runs.panel.diff.differing()
    assert set(diff) == {"training.learning_rate"}
    assert sorted(diff["training.learning_rate"]) == [0.01, 0.3]
    # The sweep view shows the whole sweep: one point per run, at its learning rate (log10), coloured by optimizer.
    points = runs.panel.scatter.points
    assert len(points) == 4 and {round(p[0], 6) for p in points} == {-2.0, round(np.log10(0.3), 6)}
    assert {p[2] for p in points} == {"sgd", "adam"}


def test_restore_then_branch_continues_from_the_run(qtbot, studio, swept, design_file) -> None:
    window, training, runs, errors = studio
    runs.refresh()
    run = next(r for r in runs.panel.model.runs if r.name == "learning_rate=0.3 optimizer=adam")
    runs.panel.select([run.uid])
    assert runs.actions["restore"].isEnabled()
    assert runs.restore()
    from nnstudio.ml.run_restore import restore_run, run_design

    assert window.design.same_content(run_design(run))
    saved = restore_run(runs.store, run).state_dict
    assert set(training.trained.weights) == set(saved)
    assert all(np.array_equal(training.trained.weights[k], saved[k].numpy()) for k in saved)
    assert runs.store_path.parent == design_file.parent / "nnstudio-runs"  # an untitled restore keeps its store
    runs.panel.select([run.uid])
    assert runs.branch() and runs.branch_parent == run.uid
    _train(qtbot, training)
    runs.refresh()
    child = next(r for r in runs.panel.model.runs if r.parent_uid == run.uid)
    assert child.status == "finished" and child.settings["resumed_at"]["epoch"] == 2
    epochs = [h.epoch for h in runs.store.history(child.uid)]  # numbering continues from the parent's 2
    assert epochs[-1] == 4 and set(epochs) <= {3, 4} and child.epochs == 4
    assert runs.branch_parent == "" and errors == []


def test_sweep_from_the_window_lands_in_the_store(qtbot, studio) -> None:
    from nnstudio.gui.runs.sweep_dialog import SweepDialog

    window, training, runs, errors = studio
    dialog = SweepDialog(window.design)
    dialog.set_axis(0, "layers.hidden1.units", "2,3")
    dialog.set_axis(1, "training.optimizer", "sgd,adam")
    dialog.epochs.setValue(2)
    dialog.axes = dialog.parsed()
    assert runs.sweep(dialog)
    assert runs.panel.progress_row.isVisibleTo(runs.panel)
    with qtbot.waitSignal(runs.sweep_runner.finished, timeout=TIMEOUT_MS) as done:
        pass
    outcomes, message = done.args
    assert message == "" and [o.status for o in outcomes] == ["finished"] * 4
    qtbot.waitUntil(lambda: runs.panel.model.rowCount() == 4, timeout=10_000)
    assert not runs.panel.progress_row.isVisibleTo(runs.panel)
    units = sorted(load_design_units(r) for r in runs.panel.model.runs)
    assert units == [2, 2, 3, 3]
    assert len(runs.panel.scatter.points) == 4


def load_design_units(run) -> int:
    from nnstudio.ml.run_restore import run_design

    design = run_design(run)
    return design.layer_by_name("hidden1").params["units"]


def test_bad_sweep_values_are_named_in_the_dialog(qtbot, studio) -> None:
    from nnstudio.gui.runs.sweep_dialog import SweepDialog

    window, training, runs, errors = studio
    dialog = SweepDialog(window.design)
    qtbot.addWidget(dialog)
    dialog.set_axis(0, "training.learning_rate", "0.1,0.1")
    dialog._accept()
    assert "listed twice" in dialog.error.text() and dialog.result() == 0


def test_corrupt_store_is_set_aside_and_the_user_told(qtbot, monkeypatch, tmp_path, design_file) -> None:
    store = design_file.parent / "nnstudio-runs" / "runs.sqlite"
    store.parent.mkdir()
    store.write_bytes(b"not a database" * 100)
    from nnstudio.gui.runs import attach_runs
    from nnstudio.gui.shell.mainwindow import MainWindow

    window = MainWindow()  # deleted below, on the GUI thread (not handed to qtbot)
    runs = attach_runs(window)
    said: list[str] = []
    monkeypatch.setattr(runs.training, "say", lambda text, error=False: said.append(text))
    window.open_file(design_file, ask=False)
    assert any("set aside" in s for s in said)
    assert [p for p in store.parent.iterdir() if ".set-aside-" in p.name]
    runs.shutdown()
    runs.training.shutdown()
    window.close()
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()


