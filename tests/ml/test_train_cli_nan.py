"""`nnstudio train --out` when the loss turns NaN: the restored last finite weights are saved, and it says so."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import torch

from nnstudio.core import Design
from nnstudio.io import save_design
from nnstudio.ml.checkpoint import load_checkpoint
from nnstudio.train_cli import add_arguments, main

try:
    from training_helpers import one_cpu_thread  # noqa: F401 - autouse
except ImportError:  # tests/ml became a package
    from .training_helpers import one_cpu_thread  # noqa: F401


def test_nan_with_out_saves_the_last_finite_weights(tmp_path: Path, capsys) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 2))
    y = 1e6 * (x[:, 0] + 2 * x[:, 1])  # a learning rate of 10 on targets this large overflows in a few steps
    rows = "\n".join(f"{a:.6f},{b:.6f},{t:.6f}" for (a, b), t in zip(x, y, strict=True))
    (tmp_path / "big.csv").write_text("x1,x2,y\n" + rows + "\n", encoding="utf-8")
    design = Design("diverges")
    a = design.add_layer("Input", "inp", {"features": 2})
    b = design.add_layer("Output", "out", {"task": "regression", "units": 1})
    design.connect(a.id, b.id)
    design.set_dataset(source="csv", path="big.csv", target="y")
    design.set_training(optimizer="sgd", learning_rate=10.0, batch_size=8, epochs=50, device="cpu")
    save_design(design, tmp_path / "d.nnstudio")
    out = tmp_path / "run.safetensors"
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    code = main(parser.parse_args([str(tmp_path / "d.nnstudio"), "--out", str(out)]))
    captured = capsys.readouterr()
    assert code == 1 and "the loss became" in captured.err
    assert "saved the last finite weights" in captured.out and str(out) in captured.out
    weights = load_checkpoint(out).state_dict
    assert all(bool(torch.isfinite(t).all()) for t in weights.values())
    assert not math.isnan(float(weights["out.weight"].abs().sum()))
