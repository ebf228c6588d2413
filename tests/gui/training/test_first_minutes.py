"""The first ten minutes in the window: complete curves, no silent wheel edits, one reset path, docks that hold."""

from __future__ import annotations

from pathlib import Path

import pytest
from gui_training_helpers import run_to_end
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QComboBox, QSlider

from nnstudio.gui.base import dock_layout


def _wheel(widget, notches: int = -3) -> None:
    centre = QPointF(widget.rect().center())
    event = QWheelEvent(centre, QPointF(widget.mapToGlobal(centre.toPoint())), QPoint(0, 0),
                        QPoint(0, 120 * notches), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def test_a_ten_epoch_run_keeps_ten_points_per_curve(studio, qtbot):
    window, controller = studio
    controller.panel.form.editor("epochs").setValue(10)
    assert window.design.training.epochs == 10
    outcome = run_to_end(qtbot, controller)
    assert outcome.status == "completed"
    history = controller.history
    x, _y = history.loss_train.data()
    assert list(x) == [float(e) for e in range(1, 11)]
    assert len(history.accuracy_train) == 10
    assert len(history.grad_norms) and all(len(s) == 10 for s in history.grad_norms.values())
    # The panel's final numbers are the trainer's last publication; the curve's last point is that epoch.
    assert controller.latest.epoch == 10 and len(history.rows) == 10


def test_the_wheel_over_an_unfocused_control_scrolls_the_panel_and_changes_nothing(studio, qtbot):
    window, controller = studio
    panel = controller.panel
    panel.resize(panel.width(), 200)  # room to scroll
    slider = panel.findChild(QSlider, "datasetTrainPercent")
    before = slider.value(), window.design.dataset.train_percent
    window.canvas.setFocus()
    assert not slider.hasFocus()
    bar = panel.verticalScrollBar()
    bar.setValue(0)
    _wheel(slider, -3)
    assert (slider.value(), window.design.dataset.train_percent) == before
    assert bar.maximum() > 0 and bar.value() > 0  # the wheel went to the panel, which scrolled
    combos = [c for c in panel.findChildren(QComboBox) if c.isVisibleTo(panel) and c.count() > 1]
    assert combos
    for combo in combos:
        index = combo.currentIndex()
        _wheel(combo, -1)
        assert combo.currentIndex() == index, combo.objectName()
    # Once the user clicks (focuses) the slider, the wheel is theirs to change it with.
    slider.setFocus()
    qtbot.waitUntil(slider.hasFocus)
    _wheel(slider, 1)
    assert slider.value() != before[0]


@pytest.mark.parametrize("size", [(1280, 720), (1600, 1000)])
def test_dock_widths_hold_when_training_numbers_appear(studio, qtbot, size):
    window, controller = studio
    window.resize(*size)
    qtbot.waitUntil(lambda: (window.width(), window.height()) == size)
    dock_layout.default_sizes(window)
    QApplication.processEvents()

    def widths():
        return {name: dock.width() for name, dock in window.docks.items()
                if dock.isVisible() and not dock.visibleRegion().isEmpty()}

    before = widths()
    assert {"paletteDock", "trainingDock", "lossDock", "outputDock"} <= set(before)
    assert before["paletteDock"] >= 7 * window.fontMetrics().height()
    controller.panel.form.editor("epochs").setValue(5)
    assert run_to_end(qtbot, controller).status == "completed"
    QApplication.processEvents()
    assert controller.plots.output.values.text()  # the header holds numbers now
    assert widths() == before
    assert window.width() == size[0]
    # The Training panel scrolls both ways rather than clipping its contents.
    assert controller.panel.horizontalScrollBarPolicy() == Qt.ScrollBarPolicy.ScrollBarAsNeeded


def test_a_squeezed_saved_layout_is_not_brought_back(studio, qtbot):
    window, _controller = studio
    window.resizeDocks([window.palette_dock], [20], Qt.Orientation.Horizontal)
    QApplication.processEvents()
    assert "paletteDock" in dock_layout.squeezed(window)
    dock_layout.default_sizes(window)
    QApplication.processEvents()
    assert not dock_layout.squeezed(window)


def _views_are_empty(controller) -> None:
    plots = controller.plots
    for view in (plots.loss, plots.accuracy, plots.learning_rate):
        assert all(len(curve.getData()[0] or []) == 0 for curve in view.curves.values()), view.objectName()
        assert view.values.text() == ""
    assert not plots.gradients.curves and plots.gradients.table.rowCount() == 0
    assert len(plots.weights.hist_curve.getData()[0] or []) == 0 and plots.weights.dist_image.image is None
    assert plots.weights.layer_combo.count() == 0
    assert not plots.output.has_boundary and plots.output.values.text() == ""
    assert controller.history.empty and controller.latest is None
    assert controller.panel.epoch_label.text() == "Epoch 0"


@pytest.mark.parametrize("how", ["reset", "new", "open"])
def test_reset_new_and_open_clear_every_view(studio, qtbot, how):
    from gui_training_helpers import ROOT

    window, controller = studio
    controller.panel.form.editor("epochs").setValue(3)
    assert run_to_end(qtbot, controller).status == "completed"
    for key in controller.plots.views:  # draw every tab once, so each holds the run's pictures
        controller.plots.views[key].refresh(controller.history, controller.latest, force=True)
    assert len(controller.plots.weights.hist_curve.getData()[0]) > 0
    if how == "reset":
        controller.reset_weights()
    elif how == "new":
        window.new_design()
    else:
        window.open_file(ROOT / "resources" / "examples" / "spiral.nnstudio", ask=False)
    _views_are_empty(controller)


def test_an_error_about_a_deleted_layer_does_not_stay(studio, qtbot):
    window, controller = studio
    output = next(layer for layer in window.design.layers.values() if layer.type == "Output")
    window.select_layers([output.id])
    window.delete_selection()
    assert not controller.train()
    assert controller.panel.message.isVisible() and controller.panel.message.property("error")
    window.undo_stack.undo()  # the design is whole again: the message was about what it was
    assert not controller.panel.message.isVisibleTo(controller.panel)


def test_step_says_what_it_did_and_draws_a_point(studio, qtbot):
    _window, controller = studio
    assert controller.step()
    qtbot.waitUntil(lambda: controller.phase == "paused" and "Stepped one batch" in controller.panel.message.text(),
                    timeout=90_000)
    assert "step 1," in controller.panel.message.text()
    assert len(controller.history.loss_train) == 1  # the single batch is on the curve
    assert controller.step()
    qtbot.waitUntil(lambda: "step 2," in controller.panel.message.text(), timeout=90_000)
    assert len(controller.history.loss_train) == 2
    controller.stop()
    qtbot.waitUntil(lambda: controller.phase == "idle", timeout=90_000)


def test_paste_never_lands_on_existing_blocks_and_says_pasted(studio):
    window, _controller = studio
    window.select_all()
    before = {layer.position for layer in window.design.layers.values()}
    count = len(before)
    assert window.copy_selection()
    assert window.paste()
    assert "Pasted" in window.status_label.text()
    pasted = [window.design.layers[i].position for i in window.scene.selected_layer_ids()]
    assert len(pasted) == count
    step = window.scene.style.grid * 3
    for x, y in pasted:
        assert all(abs(x - bx) >= step * 0.9 or abs(y - by) >= step * 0.9 for bx, by in before)


def test_examples_open_at_a_readable_zoom_and_exports_never_suggest_the_examples_folder(studio, qtbot):
    from gui_training_helpers import ROOT

    from nnstudio.gui.base.locations import examples_dir
    from nnstudio.gui.shell.mainwindow import READABLE_ZOOM

    window, controller = studio
    window.resize(1280, 720)
    for example in sorted((ROOT / "resources" / "examples").glob("*.nnstudio")):
        assert window.open_file(example, ask=False)
        qtbot.waitUntil(lambda: window.canvas.zoom >= READABLE_ZOOM - 1e-6, timeout=5_000)
        assert Path(controller._suggested(".onnx")).parent.resolve() != examples_dir().resolve()


def test_a_garbage_file_says_what_to_do(studio, tmp_path, training_dialogs):
    window, _controller = studio
    garbage = tmp_path / "photo.nnstudio"
    garbage.write_bytes(b"\xbf\xff\x00binary")
    assert not window.open_file(garbage, ask=False)
    _title, message = training_dialogs.errors[-1]
    assert "not an NN Studio design" in message and "open a .nnstudio file" in message
