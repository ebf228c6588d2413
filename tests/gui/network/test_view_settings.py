"""Playground's "Show test data" and "Discretize output": read from a share link into the design's view
settings, toggled (undoably) from the Playground bar or the Output dock, and honoured by the network view's
output square, its heatmaps and the 2-D decision plot."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage

from nnstudio.io.playground_link import design_from_link

TIMEOUT = 90_000
LINK = ("https://playground.tensorflow.org/#activation=tanh&batchSize=10&dataset=circle&learningRate=0.03&"
        "networkShape=4,2&showTestData=true&discretize=true&x=true&y=true&percTrainData=50&hideText=true")


def _black_pixels(panel) -> int:
    """Pure-black pixels inside the output square: only the rims of drawn test points are pure black."""
    view = panel.view
    columns = len(view.layout_info.columns)
    rect = view.node_rect(columns - 1, 0).adjusted(3, 3, -3, -3).toAlignedRect()
    image = view.grab().toImage().copy(rect).convertToFormat(QImage.Format.Format_RGBA8888)
    rows = np.frombuffer(image.constBits(), dtype=np.uint8)[: image.sizeInBytes()]
    rgb = rows.reshape(image.height(), image.bytesPerLine())[:, : image.width() * 4]
    rgb = rgb.reshape(image.height(), image.width(), 4)[:, :, :3]
    return int((rgb.max(axis=2) < 30).sum())


def _colours(image) -> int:
    converted = image.convertToFormat(QImage.Format.Format_RGBA8888)
    data = np.frombuffer(converted.constBits(), dtype=np.uint8)[: converted.sizeInBytes()]
    return len(np.unique(data.reshape(-1, 4), axis=0))


def test_a_links_view_keys_reach_every_checkbox_and_the_pictures(network_studio, qtbot):
    window, controller, panel = network_studio
    qtbot.waitUntil(lambda: controller.plots is not None, timeout=10_000)
    output = controller.plots.output
    checks = (panel.bar.show_test, panel.bar.discretize, output.test_check, output.discrete_check)
    assert not any(c.isChecked() for c in checks)  # the example shows neither, as Playground's default
    assert panel.view.test_points is None
    design, _state = design_from_link(LINK)
    window.set_design(design, None)
    assert (window.design.view.show_test_data, window.design.view.discretize) == (True, True)
    assert all(c.isChecked() for c in checks)
    assert output.test_points.isVisible()  # the 2-D decision plot's test points
    # The network view's output square carries the test points: the validation split's, as the panel loads it.
    qtbot.waitUntil(lambda: controller.panel.dataset is not None and panel.view.test_points is not None
                    and len(panel.view.test_points[0]) == len(controller.panel.dataset.points_val), timeout=TIMEOUT)
    points, targets, task = panel.view.test_points
    assert task == "binary" and set(np.unique(targets)) <= {0, 1}
    assert np.array_equal(points, controller.panel.dataset.points_val)
    assert _black_pixels(panel) > 0
    # One epoch, so that there are heatmaps: discretized, the output square has two colours only.
    assert panel.step_epoch()
    qtbot.waitUntil(lambda: controller.phase == "paused" and panel.view.output_map is not None
                    and controller.latest is not None and controller.latest.boundary is not None
                    and output.image.image is not None, timeout=TIMEOUT)  # the view may draw before the plots' turn
    assert _colours(panel.view.output_map) == 2
    assert all(_colours(image) <= 2 for image in panel.view.neuron_maps["hidden1"])
    plot_values = output.image.image
    assert plot_values is not None and set(np.unique(plot_values)) <= {-1.0, 1.0}
    # Off from the Playground bar: one undoable edit, every box and picture follows.
    panel.bar.discretize.click()
    panel.bar.show_test.click()
    assert not window.design.view.discretize and not window.design.view.show_test_data
    assert not output.discrete_check.isChecked() and not output.test_check.isChecked()
    assert window.undo_stack.undoText() == "Change Show test data"
    assert panel.view.test_points is None and _black_pixels(panel) == 0
    assert _colours(panel.view.output_map) > 2  # the same publication drawn again, continuous
    assert len(np.unique(output.image.image)) > 2
    window.undo_stack.undo()
    window.undo_stack.undo()
    assert window.design.view.discretize and window.design.view.show_test_data
    assert all(c.isChecked() for c in checks) and _colours(panel.view.output_map) == 2
    with qtbot.waitSignal(controller.run_finished, timeout=TIMEOUT):
        controller.stop()


def test_the_output_dock_checkbox_edits_the_design_too(network_studio, qtbot):
    window, controller, panel = network_studio
    qtbot.waitUntil(lambda: controller.plots is not None, timeout=10_000)
    controller.plots.output.test_check.click()
    assert window.design.view.show_test_data and panel.bar.show_test.isChecked()
    assert window.isWindowModified()  # a view setting that travels in the file
    window.undo_stack.undo()
    assert not window.design.view.show_test_data and not panel.bar.show_test.isChecked()
