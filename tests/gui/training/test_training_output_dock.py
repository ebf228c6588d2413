"""The Output dock for data without Playground's plane: digits images, tabular regression and tabular
classification show the model's predictions for validation samples, checked against an independent forward
pass of the trained weights; Reset, File ▸ New and Open clear them."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gui_training_helpers import ROOT, run_to_end
from PySide6.QtCore import Qt

from nnstudio.data import load_dataset
from nnstudio.gui.training.state import build_trained_model

DIGITS = ROOT / "resources" / "examples" / "digits-cnn.nnstudio"
WINE = ROOT / "resources" / "examples" / "residual-mlp.nnstudio"


def train_and_show(qtbot, window, controller, epochs: int):
    """Train to the end; return (samples view, the final publication's outputs, model, validation data)."""
    window.design.set_training(epochs=epochs, device="cpu")
    outcome = run_to_end(qtbot, controller)
    assert outcome.status == "completed", outcome.message
    view = controller.plots.output.samples
    qtbot.waitUntil(lambda: controller.latest is not None and controller.latest.reason == "end"
                    and view.samples is controller.latest.outputs, timeout=30_000)
    # Independent of the trainer: the dataset loaded again from the design, the weights from the snapshot.
    dataset = load_dataset(window.design.dataset)
    model = build_trained_model(controller.trained)
    return view, controller.latest.outputs, model, dataset


def test_digits_show_a_grid_of_validation_images_with_predicted_and_true_classes(studio, qtbot):
    window, controller = studio
    assert window.open_example(DIGITS, ask=False)
    view, samples, model, dataset = train_and_show(qtbot, window, controller, epochs=2)
    assert view.currentWidget() is view.image_page
    with torch.no_grad():
        probs = torch.softmax(model(torch.as_tensor(dataset.x_val)), dim=1).numpy()
    predicted, true = probs[:32].argmax(1), dataset.y_val[:32]
    names = dataset.class_names
    expected = [names[p] if p == t else f"{names[t]}→{names[p]}" for p, t in zip(predicted, true, strict=True)]
    assert view.images.captions() == expected
    assert view.image_legend.text().startswith(f"32 validation images, {int((predicted != true).sum())} wrong")
    np.testing.assert_allclose(samples.confidence, probs[:32].max(1), rtol=1e-4)
    np.testing.assert_allclose(samples.inputs, dataset.x_val[:32])
    # The grid is painted: 32 cells, and a red frame exactly when some shown sample is wrong.
    view.images.resize(400, 300)
    cols, side, _caption = view.images.layout_cells()
    assert side > 10 and cols * side <= 400
    image = view.images.grab().toImage()
    reds = sum(1 for x in range(0, image.width(), 2) for y in range(0, image.height(), 2)
               if image.pixelColor(x, y).name() == "#d62728")
    assert (reds > 0) == bool((predicted != true).any())


def test_tabular_regression_plots_predicted_against_true(studio, qtbot):
    window, controller = studio
    assert window.open_example(WINE, ask=False)
    design = window.design
    design.set_dataset(name="diabetes")
    design.set_param(design.layer_by_name("inputs").id, "features", 10)
    out = design.layer_by_name("wine_class")
    design.set_param(out.id, "task", "regression")
    design.set_param(out.id, "units", 1)
    view, _samples, model, dataset = train_and_show(qtbot, window, controller, epochs=3)
    assert view.currentWidget() is view.scatter
    with torch.no_grad():
        predicted = model(torch.as_tensor(dataset.x_val)).numpy()[:, 0]
    true = np.asarray(dataset.y_val, dtype=np.float64).reshape(-1)
    xs, ys = view.scatter.points.getData()
    assert len(xs) == len(true) <= 500  # diabetes has 133 validation rows: all of them
    np.testing.assert_allclose(xs, true)
    np.testing.assert_allclose(ys, predicted, rtol=1e-4, atol=1e-4)
    r2 = 1 - np.sum((predicted - true) ** 2) / np.sum((true - true.mean()) ** 2)
    assert f"R² {r2:.3f}" in view.scatter.summary.text()
    assert f"mean |error| {np.mean(np.abs(predicted - true)):.4g}" in view.scatter.summary.text()


def test_tabular_classification_lists_rows_and_per_class_accuracy(studio, qtbot):
    window, controller = studio
    assert window.open_example(WINE, ask=False)
    view, _samples, model, dataset = train_and_show(qtbot, window, controller, epochs=3)
    assert view.currentWidget() is view.table
    with torch.no_grad():
        probs = torch.softmax(model(torch.as_tensor(dataset.x_val)), dim=1).numpy()
    rows, names = view.table.rows, dataset.class_names
    assert rows.rowCount() == len(dataset.y_val)  # 54 rows: all of them (at most 200)
    predicted = probs.argmax(1)
    for r in range(rows.rowCount()):
        wrong = "  ✗" if predicted[r] != dataset.y_val[r] else ""
        assert rows.text(r, 1) == names[dataset.y_val[r]]
        assert rows.text(r, 2) == names[predicted[r]] + wrong
        assert rows.text(r, 3) == f"{probs[r].max():.1%}"
        assert rows.text(r, 4) == f"{dataset.x_val[r, 0]:.3g}"
    assert rows.headerData(4, Qt.Orientation.Horizontal) == dataset.feature_names[0]
    summary = view.table.per_class.text()
    for c, name in enumerate(names):
        mine = dataset.y_val == c
        assert f"{name} {(predicted[mine] == c).mean():.0%} of {mine.sum()}" in summary


@pytest.mark.parametrize("how", ["reset", "new", "open"])
def test_reset_new_and_open_clear_the_samples(studio, qtbot, how):
    window, controller = studio
    assert window.open_example(WINE, ask=False)
    view, *_ = train_and_show(qtbot, window, controller, epochs=1)
    assert view.table.rows.rowCount() > 0
    if how == "reset":
        assert controller.reset_weights()
    elif how == "new":
        assert window.new_design()
    else:
        assert window.open_example(DIGITS, ask=False)
    qtbot.waitUntil(lambda: view.samples is None, timeout=10_000)
    assert view.currentWidget() is view.message
    assert view.table.rows.rowCount() == 0 and view.images.captions() == []
    assert view.scatter.summary.text() == "" and view.table.per_class.text() == ""
