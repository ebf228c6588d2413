"""Filters & maps, Results and Health docks in the window, fed by a real training run."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gui_training_helpers import run_to_end

from nnstudio.core import Design
from nnstudio.data import load_dataset
from nnstudio.gui.cnn.wiring import attach_inside_views
from nnstudio.io import save_design
from nnstudio.ml import cnn_views
from nnstudio.ml.builder import build_model


def _chain(layers, name="test") -> Design:
    design = Design(name)
    prev = None
    for type_name, params in layers:
        layer = design.add_layer(type_name, params=params)
        if prev is not None:
            design.connect(prev.id, layer.id)
        prev = layer
    return design


def tiny_shapes_cnn() -> Design:
    design = _chain([
        ("Input", {"mode": "image", "channels": 3, "height": 32, "width": 32}),
        ("Conv2d", {"filters": 6, "kernel": 5, "padding": 2, "activation": "relu"}),
        ("MaxPool2d", {"kernel": 4, "stride": 4}),
        ("Flatten", {}),
        ("Output", {"task": "multiclass", "units": 4}),
    ], "Tiny shapes")
    design.set_dataset(source="builtin", name="shapes", samples=160, train_percent=75)
    design.set_training(epochs=2, optimizer="adam", learning_rate=0.003, batch_size=32, device="cpu")
    return design


def _open(window, design, tmp_path):
    path = tmp_path / "design.nnstudio"
    save_design(design, path)
    assert window.open_file(path, ask=False)


@pytest.fixture
def views(studio):
    window, controller = studio
    return window, controller, attach_inside_views(window)


def test_cnn_run_fills_maps_kernels_results_and_saliency(views, qtbot, tmp_path):
    window, controller, inside = views
    assert window.findChild(type(inside.maps_dock), "filtersMapsDock") is not None
    assert inside.report_action.objectName() == "actionSaveReport"
    _open(window, tiny_shapes_cnn(), tmp_path)
    inside.maps_dock.show()
    inside.maps_dock.raise_()
    outcome = run_to_end(qtbot, controller)
    assert outcome.status == "completed", outcome.message
    qtbot.waitUntil(lambda: inside.results.results is not None and inside.maps.copy.step == controller.trained.step,
                    timeout=10_000)
    view = inside.maps
    qtbot.waitUntil(lambda: "conv1" in view.grids, timeout=10_000)
    assert len(view.kernel_grid.images) == 6
    assert list(view.grids) == ["conv1", "maxpool1"]
    assert all(len(grid.images) == 6 for grid in view.grids.values())
    # The GUI's copy holds the run's final weights.
    for name, value in controller.trained.weights.items():
        assert np.array_equal(view.copy.model.state_dict()[name].numpy(), value)
    # Clicking a map explains it with the gradient of that map, recomputed here independently.
    grid = view.grids["conv1"]
    rect = grid.tile_rect(2)
    qtbot.mouseClick(grid, pytest.importorskip("PySide6.QtCore").Qt.MouseButton.LeftButton,
                     pos=rect.center().toPoint())
    assert view.selection == ("conv1", 2)
    model = build_model(controller.trained.design)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in controller.trained.weights.items()})
    model.eval()
    sample = torch.tensor(inside.data.x_val[0][None], requires_grad=True)
    conv = torch.relu(model.conv1(sample))
    conv[0, 2].mean().backward()
    expected = sample.grad[0].abs().amax(0).numpy()
    assert np.allclose(view.last_explanation, expected / expected.max(), atol=1e-5)
    # Results: the confusion matrix's row sums are the validation class counts.
    data = load_dataset(tiny_shapes_cnn().dataset)
    table = inside.results.confusion
    rows = [sum(int(table.item(i, j).text()) for j in range(4)) for i in range(4)]
    assert rows == np.bincount(data.y_val, minlength=4).tolist()
    assert inside.results.per_class.rowCount() == 4
    # A report of the window's weights.
    out = tmp_path / "report.html"
    from nnstudio.gui.cnn.report_action import save_report

    worker = save_report(window, controller, out, owner=inside)
    qtbot.waitUntil(lambda: worker.done, timeout=30_000)
    assert "Inside the convolutions" in out.read_text(encoding="utf-8")
    # Explaining with Grad-CAM agrees with the Qt-free function.
    view.mode_combo.setCurrentIndex(1)
    cam, _ = cnn_views.grad_cam(view.copy.model, inside.data.x_val[0], "conv1")
    assert np.allclose(view.last_explanation, cam)


def test_dead_relu_is_listed_and_drawn_on_its_block(views, qtbot, tmp_path):
    window, controller, inside = views
    design = _chain([("Input", {"features": 2}), ("Dense", {"units": 8, "activation": "relu"}),
                     ("Output", {"task": "binary", "units": 1})], "Dead")
    design.set_training(epochs=6, device="cpu")
    _open(window, design, tmp_path)

    class NegativeBias:  # the design built to cause dead units: the hidden layer's bias far below zero
        def __call__(self):
            from nnstudio.ml.callbacks import Callback

            class Push(Callback):
                def on_fit_start(self) -> None:
                    with torch.no_grad():
                        self.trainer.model.dense1.bias.fill_(-20.0)
            return Push()

    controller.callback_factories.insert(0, NegativeBias())
    outcome = run_to_end(qtbot, controller)
    assert outcome.status == "completed"
    qtbot.waitUntil(lambda: any(f.code == "dead_relu" for f in inside.health.findings), timeout=10_000)
    dense = window.design.layer_by_name("dense1")
    badge = inside.overlay.badges[dense.id]
    assert "Dead ReLU" in badge.text and "leaky" in badge.toolTip()
    assert badge.parentItem() is window.scene.blocks[dense.id]
    item = inside.health.list.item(0)
    assert "Fix:" in item.text()
    inside.health.list.itemClicked.emit(next(inside.health.list.item(i) for i in range(inside.health.list.count())
                                             if inside.health.list.item(i).data(0x0100) == "dense1"))
    assert window.scene.blocks[dense.id].isSelected()


def test_healthy_playground_run_has_no_findings(views, qtbot):
    window, controller, inside = views
    window.design.set_training(epochs=40)
    outcome = run_to_end(qtbot, controller)
    assert outcome.status == "completed"
    assert inside.health.records and inside.health.findings == []
    assert inside.overlay.badges == {}
    assert inside.results.points.isVisibleTo(inside.results)  # Playground data: the mistakes on the plane


def _trained_checkpoint(tmp_path):
    """A tiny shapes CNN trained headless and saved as a checkpoint; returns (path, trainer)."""
    from nnstudio.gui.training.state import save_state_checkpoint, snapshot_trainer
    from nnstudio.ml.trainer import Trainer

    trainer = Trainer(tiny_shapes_cnn())
    trainer.fit()
    path = tmp_path / "tiny.safetensors"
    save_state_checkpoint(snapshot_trainer(trainer), path)
    return path, trainer


def test_opened_checkpoint_fills_filters_maps_and_results(views, qtbot, tmp_path):
    window, controller, inside = views
    path, trainer = _trained_checkpoint(tmp_path)
    inside.maps_dock.show()
    inside.maps_dock.raise_()
    assert inside.results.results is None and not inside.maps.grids
    assert controller.open_checkpoint(path)
    qtbot.waitUntil(lambda: inside.results.results is not None and "conv1" in inside.maps.grids, timeout=30_000)
    view = inside.maps
    assert list(view.grids) == ["conv1", "maxpool1"] and len(view.kernel_grid.images) == 6
    assert not view.message.isVisible()
    model = trainer.model.cpu().eval()
    for name, value in model.state_dict().items():  # the docks show the checkpoint's weights
        assert np.array_equal(view.copy.model.state_dict()[name].numpy(), value.numpy())
    # The confusion matrix, recomputed here from the trainer's own model on the validation data.
    data = load_dataset(tiny_shapes_cnn().dataset)
    with torch.no_grad():
        predicted = model(torch.from_numpy(data.x_val)).argmax(1).numpy()
    expected = np.zeros((4, 4), dtype=int)
    np.add.at(expected, (data.y_val, predicted), 1)
    table = inside.results.confusion
    assert [[int(table.item(i, j).text()) for j in range(4)] for i in range(4)] == expected.tolist()
    # The first sample's feature maps are the trainer's model's.
    first = torch.relu(model.conv1(torch.from_numpy(data.x_val[:1])))[0].detach().numpy()
    maps, _ = cnn_views.feature_maps(view.copy.model, inside.data.x_val[0])
    assert np.allclose(maps["conv1"], first, atol=1e-5)


def test_opened_checkpoint_with_outside_data_asks_nothing_and_says_why(views, qtbot, tmp_path, monkeypatch):
    from nnstudio.gui.base import data_consent

    window, controller, inside = views
    path, _ = _trained_checkpoint(tmp_path)
    monkeypatch.setattr(data_consent, "outside_design_folder", lambda spec, base: tmp_path / "data.csv")
    monkeypatch.setattr(data_consent, "ask", lambda *args: False)  # no modal question in a test
    assert controller.open_checkpoint(path)
    assert inside.loading is None  # nothing was read
    assert "outside the design's folder" in inside.maps.message.text()
    assert "outside the design's folder" in inside.results.message.text()


def test_save_report_runs_on_a_background_worker_while_the_window_keeps_working(views, qtbot, tmp_path,
                                                                                monkeypatch, training_dialogs):
    import threading

    from PySide6.QtCore import QTimer

    from nnstudio.gui.cnn import report_action
    from nnstudio.ml import report

    window, controller, inside = views
    path, _ = _trained_checkpoint(tmp_path)
    assert controller.open_checkpoint(path)
    gate, threads = threading.Event(), []
    real = report.render_html

    def held(*args, **kwargs):  # the report waits until the test has seen the window respond
        threads.append(threading.current_thread())
        assert gate.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(report, "render_html", held)
    out = tmp_path / "report.html"
    monkeypatch.setattr(report_action.QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))
    inside.report_action.trigger()  # File ▸ Save Report…
    worker = inside.report_worker
    assert worker is not None and not worker.done and not out.exists()
    assert "Saving the report" in controller.panel.message.text()
    ticked = []
    QTimer.singleShot(0, lambda: ticked.append(True))
    qtbot.waitUntil(lambda: bool(ticked) and bool(threads), timeout=10_000)  # events flow while it is built
    assert threads[0] is not threading.main_thread()
    # A second report while this one is built is refused with a message, not started.
    assert report_action.save_report(window, controller, tmp_path / "second.html", owner=inside) is None
    assert "being saved already" in controller.panel.message.text()
    gate.set()
    qtbot.waitUntil(out.exists, timeout=30_000)
    qtbot.waitUntil(lambda: worker.done, timeout=10_000)
    assert "Inside the convolutions" in out.read_text(encoding="utf-8")
    assert "Saved report" in controller.panel.message.text() and not training_dialogs.errors
    # A failure is reported, not raised: a folder that does not exist.
    monkeypatch.setattr(report, "render_html", real)
    worker = report_action.save_report(window, controller, tmp_path / "missing" / "r.html", owner=inside)
    qtbot.waitUntil(lambda: worker.done, timeout=30_000)
    assert training_dialogs.errors and training_dialogs.errors[-1][0] == "Could not save the report"
    assert "Could not save the report" in controller.panel.message.text()

