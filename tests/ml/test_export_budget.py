"""Exports that trace the model refuse, before allocating, a design whose one-sample activations are too big."""

from __future__ import annotations

from pathlib import Path

import pytest

from nnstudio.cli import main
from nnstudio.core.errors import ExportError
from nnstudio.ml.builder import build_model
from nnstudio.ml.checkpoint import save_checkpoint
from nnstudio.ml.export import export_onnx, export_pt2
from nnstudio.ml.export_budget import ACTIVATION_BUDGET_BYTES, activation_bytes, check_activation_budget

try:
    from training_helpers import chain, one_cpu_thread  # noqa: F401 - autouse
except ImportError:  # tests/ml became a package
    from .training_helpers import chain, one_cpu_thread  # noqa: F401


def _huge_input():
    # Passes every loader limit (67 MB of weights) but one sample is 4096×8192×8192 floats: 1.1 TB.
    return chain([("Input", {"mode": "image", "channels": 4096, "height": 8192, "width": 8192}),
                  ("Conv2d", {"filters": 1, "kernel": 64, "stride": 64}),
                  ("Conv2d", {"filters": 1, "kernel": 64, "stride": 64}),
                  ("Flatten", {}), ("Output", {"task": "regression", "units": 1})])


@pytest.mark.parametrize("exporter", [export_pt2, export_onnx])
def test_a_design_over_the_activation_budget_is_refused_before_any_allocation(tmp_path: Path, exporter) -> None:
    design = _huge_input()
    model = build_model(design)
    # Before the budget, torch.randn was asked for the 2.2 TB example batch and raised a RuntimeError.
    with pytest.raises(ExportError, match=r"one sample's activations would take 1\.1 TB .*input alone is "
                                          r"4096×8192×8192"):
        exporter(model, design, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_the_cli_prints_the_refusal_in_one_line(tmp_path: Path, capsys) -> None:
    design = _huge_input()
    checkpoint = tmp_path / "huge.safetensors"
    save_checkpoint(checkpoint, build_model(design), design, {})
    assert main(["export", str(checkpoint), "--format", "pt2", "-o", str(tmp_path / "m.pt2")]) == 2
    err = capsys.readouterr().err
    assert "allow at most 1.1 GB per sample" in err and "Traceback" not in err


def test_the_count_is_the_sum_of_every_layer_output() -> None:
    assert activation_bytes([(3, 4, 5), (10,)]) == (60 + 10) * 4
    assert check_activation_budget((2,), [(4,), (1,)]) == 7 * 4
    with pytest.raises(ExportError):
        check_activation_budget((ACTIVATION_BUDGET_BYTES // 4 + 1,), [])
