"""Other kinds of data in the window: a Playground regression plane, and the digits CNN (images, ten classes)."""

from __future__ import annotations

import numpy as np
from gui_training_helpers import ROOT, run_to_end

DIGITS = ROOT / "resources" / "examples" / "digits-cnn.nnstudio"


def test_regression_plane_draws_its_output(studio, qtbot):
    window, controller = studio
    design = window.design
    design.set_dataset(name="reg-gauss")
    output = design.layer_by_name("output")
    design.set_param(output.id, "task", "regression")
    design.set_training(epochs=3, learning_rate=0.01)
    outcome = run_to_end(qtbot, controller)
    assert outcome.status == "completed", outcome.message
    assert controller.info.task == "regression"
    assert controller.plots.output.has_boundary
    image = controller.plots.output.image.image
    assert image.shape == (100, 100) and np.nanmax(np.abs(image)) <= 1.0
    assert len(controller.history.accuracy_train) == 0  # no accuracy for regression


def test_digits_cnn_trains_with_an_image_preview(studio, qtbot):
    window, controller = studio
    assert window.open_example(DIGITS, ask=False)
    qtbot.waitUntil(lambda: controller.panel.loader.busy == 0 and controller.panel.dataset is not None
                    and controller.panel.dataset.name == "digits", timeout=60_000)
    assert controller.panel.preview.kind == "images"
    assert controller.panel.findChild(type(controller.panel.images_check), "datasetAsImages").isVisibleTo(
        controller.panel)
    window.design.set_training(epochs=1)
    outcome = run_to_end(qtbot, controller)
    assert outcome.status == "completed", outcome.message
    assert controller.info.task == "multiclass" and controller.info.points_train is None
    assert controller.plots.output.stack.currentWidget() is controller.plots.output.samples
    assert not controller.overlay.strips  # no plane to draw neuron maps on
    assert {"conv1", "conv2", "fc1", "digit"} <= set(controller.history.weight_histograms)
    controller.plot_docks["weights"].raise_()
    qtbot.waitUntil(lambda: controller.plots.weights.layer == "conv1", timeout=10_000)
    assert controller.plots.weights.dist_image.image is not None
