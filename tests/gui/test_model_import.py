"""File ▸ Import Model…: an ONNX file exported by torch becomes the window's design with its weights."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("onnxscript")


def test_import_model_opens_the_design_with_its_weights(make_window, tmp_path: Path) -> None:
    import torch
    from torch import nn

    from nnstudio.gui.shell.model_import import attach_model_import, import_model_into_window
    from nnstudio.gui.training import attach_training

    torch.manual_seed(0)
    module = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1), nn.Sigmoid()).eval()
    torch.onnx.export(module, (torch.randn(2, 2),), str(tmp_path / "tiny.onnx"), dynamo=True,
                      dynamic_shapes=({0: torch.export.Dim("batch", min=1)},))
    window = make_window()
    controller = attach_training(window)
    action = attach_model_import(window)
    assert action.objectName() == "actionImportModel" and action in window.menus["file"].actions()
    assert import_model_into_window(window, tmp_path / "tiny.onnx", tmp_path / "tiny.nnstudio")
    types = [layer.type for layer in window.design.layers.values()]
    assert types == ["Input", "Dense", "Output"]
    assert len({layer.position for layer in window.design.layers.values()}) == 3  # laid out
    assert controller.trained is not None  # the imported weights are kept: Train continues from them
    weights = controller.trained.weights
    dense = next(layer.name for layer in window.design.layers.values() if layer.type == "Dense")
    assert (weights[f"{dense}.weight"] == module[0].weight.detach().numpy()).all()
    assert (tmp_path / "tiny.nnstudio").is_file() and (tmp_path / "tiny.safetensors").is_file()


def test_a_model_that_cannot_be_imported_is_reported_in_the_window(make_window, tmp_path: Path,
                                                                   monkeypatch) -> None:
    from nnstudio.gui.shell.model_import import import_model_into_window

    window = make_window()
    shown: list[str] = []
    monkeypatch.setattr(window, "show_error", lambda title, message: shown.append(message))
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    assert not import_model_into_window(window, tmp_path / "junk.onnx", tmp_path / "junk.nnstudio")
    assert shown and "junk.onnx" in shown[0]
    assert not (tmp_path / "junk.nnstudio").exists()
