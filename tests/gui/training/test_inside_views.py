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

    assert save_report(window, controller, out)
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
