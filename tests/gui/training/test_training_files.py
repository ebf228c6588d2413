"""After training: checkpoints round-trip through the controller, models export, plots and metrics save."""

from __future__ import annotations

import csv

import numpy as np
from gui_training_helpers import run_to_end
from PySide6.QtGui import QImage


def _train(qtbot, window, controller, epochs: int = 4):
    window.design.set_training(epochs=epochs)
    outcome = run_to_end(qtbot, controller)
    assert outcome.status == "completed", outcome.message
    return outcome


def test_checkpoint_save_and_open_round_trip(studio, qtbot, tmp_path):
    window, controller = studio
    _train(qtbot, window, controller)
    saved = {k: v.copy() for k, v in controller.trained.weights.items()}
    path = tmp_path / "circle"  # the suffix is added
    assert controller.save_checkpoint(path)
    path = path.with_suffix(".safetensors")
    assert path.is_file()

    controller.reset_weights()
    window.design.set_dataset(noise=0.3)  # an unsaved change: the (test) dialog answers "discard"
    assert controller.open_checkpoint(path)
    assert controller.trained is not None and controller.trained.epoch == 4
    for name, value in saved.items():
        np.testing.assert_array_equal(controller.trained.weights[name], value)
    assert controller.trained.fits(window.design)
    assert window.design.dataset.noise == 0.0  # the checkpoint's own design came back
    assert not controller.history.empty  # its history tail is shown
    assert "4 epochs" in controller.panel.message.text()
    # Train continues from the checkpoint's weights, epoch counter and all.
    window.design.set_training(epochs=6)
    outcome = run_to_end(qtbot, controller)
    assert outcome.status == "completed" and outcome.epochs_completed == 6


def test_checkpoint_needs_trained_weights(studio, training_dialogs, tmp_path):
    _window, controller = studio
    assert not controller.save_checkpoint(tmp_path / "x.safetensors")
    assert "train the network first" in controller.panel.message.text()
    assert not controller.actions["saveCheckpoint"].isEnabled()


def test_a_bad_checkpoint_is_reported(studio, training_dialogs, tmp_path):
    window, controller = studio
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x80\x04 not a checkpoint")
    assert not controller.open_checkpoint(bad)
    assert training_dialogs.errors and "pickle" in training_dialogs.errors[0][1]
    assert window.design.layer_by_name("hidden1") is not None  # the design is untouched


def test_exports_write_files(studio, qtbot, tmp_path):
    window, controller = studio
    _train(qtbot, window, controller, epochs=2)
    for fmt, name in (("safetensors", "model.safetensors"), ("pt", "model.pt")):
        with qtbot.waitSignal(controller.panel.message_changed, timeout=60_000,
                              check_params_cb=lambda text, error: text.startswith(("Exported", "Could not"))):
            assert controller.export_model(fmt, tmp_path / name)
        assert (tmp_path / name).is_file(), controller.panel.message.text()
        assert "Exported" in controller.panel.message.text()


def test_export_menu_lists_every_format(studio):
    _window, controller = studio
    controller._fill_export_menu()
    names = [a.objectName() for a in controller.export_menu.actions()]
    assert names == [f"actionExport_{k}" for k in ("onnx", "safetensors", "pt", "pt2", "python")]
    assert not any(a.isEnabled() for a in controller.export_menu.actions())  # nothing trained yet


def test_plot_png_and_metrics_csv(studio, qtbot, tmp_path, training_dialogs):
    window, controller = studio
    _train(qtbot, window, controller, epochs=40)
    png = tmp_path / "loss.png"
    assert controller.save_plot_png(png, "loss")
    image = QImage(str(png))
    assert not image.isNull() and image.width() > 50
    training_dialogs.next_save_path = tmp_path / "boundary"
    assert controller.save_plot_png(view="output")
    assert (tmp_path / "boundary.png").is_file()
    metrics = tmp_path / "metrics.csv"
    assert controller.save_metrics_csv(metrics)
    rows = list(csv.DictReader(metrics.open(encoding="utf-8")))
    assert rows and {"epoch_position", "train_loss", "val_loss", "learning_rate"} <= set(rows[0])
    assert float(rows[-1]["epoch"]) == 40
