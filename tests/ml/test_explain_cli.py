"""`nnstudio explain`: printed stages, the JSON layout recomputed with NumPy, and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nnstudio.cli import main
from nnstudio.io import save_design
from nnstudio.ml.builder import build_model
from nnstudio.ml.checkpoint import save_checkpoint
from nnstudio.ml.trainer import Trainer

try:
    from training_helpers import one_cpu_thread, playground  # noqa: F401 - autouse
except ImportError:  # tests/ml became a package
    from .training_helpers import one_cpu_thread, playground  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def circle_file(tmp_path: Path) -> Path:
    path = tmp_path / "circle.nnstudio"
    save_design(playground(hidden=(3, 2), activation="relu", init="playground", optimizer="momentum", seed=4), path)
    return path


def test_prints_every_stage(circle_file: Path, capsys) -> None:
    assert main(["explain", str(circle_file), "--sample", "5"]) == 0
    out = capsys.readouterr().out
    stages = [line for line in out.splitlines() if line.startswith("[")]
    assert [s.split("] ")[1].split(" (")[0] for s in stages] == [
        "Forward: dense1", "Forward: dense2", "Forward: output1", "Loss · binary cross-entropy",
        "Backward: output1", "Backward: dense2", "Backward: dense1",
        "Update: dense1", "Update: dense2", "Update: output1", "Apply the step"]
    assert "sample 5" in out.splitlines()[0] and "momentum" in out.splitlines()[0]


def test_json_recomputed_with_numpy(circle_file: Path, tmp_path: Path) -> None:
    """The JSON's weights alone reproduce its z, a, δ, gradients and (momentum's first) update."""
    out = tmp_path / "step.json"
    assert main(["explain", str(circle_file), "--sample", "7", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    for key in ("input", "target", "output", "loss", "loss_name", "optimizer", "learning_rate", "update", "layers"):
        assert key in data, key
    assert data["loss_name"] == "binary cross-entropy" and data["optimizer"] == "momentum"
    layers = data["layers"]
    assert [layer["name"] for layer in layers] == ["dense1", "dense2", "output1"]
    a = np.array(data["input"])
    zs, inputs = [], []
    for layer in layers:
        for key in ("name", "weight", "bias", "z", "a", "delta", "grad_weight", "grad_bias"):
            assert key in layer, key
        w, b = np.array(layer["weight"]), np.array(layer["bias"])
        assert w.shape == (len(layer["z"]), len(a))  # out × in
        inputs.append(a)
        z = w @ a + b
        np.testing.assert_allclose(layer["z"], z, atol=1e-9)
        a = np.maximum(z, 0) if layer["name"] != "output1" else 1 / (1 + np.exp(-z))
        np.testing.assert_allclose(layer["a"], a, atol=1e-9)
        zs.append(z)
    y = np.array(data["target"])
    p = a
    assert data["loss"] == pytest.approx(float(-(y * np.log(p) + (1 - y) * np.log(1 - p))[0]), abs=1e-9)
    delta = p - y
    for i in range(len(layers) - 1, -1, -1):
        layer = layers[i]
        np.testing.assert_allclose(layer["delta"], delta, atol=1e-9)
        np.testing.assert_allclose(layer["grad_weight"], np.outer(delta, inputs[i]), atol=1e-9)
        np.testing.assert_allclose(layer["grad_bias"], delta, atol=1e-9)
        # First momentum step: v = g, w ← w − η·v.
        np.testing.assert_allclose(data["update"][layer["name"]]["weight"],
                                   -data["learning_rate"] * np.outer(delta, inputs[i]), atol=1e-12)
        if i:
            delta = (np.array(layer["weight"]).T @ delta) * (zs[i - 1] > 0)


def test_explains_a_checkpoint_and_the_next_batch(circle_file: Path, tmp_path: Path, capsys) -> None:
    from nnstudio.io import load_design

    trainer = Trainer(load_design(circle_file), base_dir=tmp_path, device="cpu", publish_hz=0)
    trainer.fit(2)
    ckpt = tmp_path / "run.safetensors"
    trainer.save_checkpoint(ckpt)
    out = tmp_path / "batch.json"
    assert main(["explain", str(ckpt), "--batch", "--json", str(out), "--float32"]) == 0
    data = json.loads(out.read_text())
    assert len(data["samples"]) == 10 and data["dtype"] == "float32"
    weights = trainer.model.state_dict()
    np.testing.assert_array_equal(np.array(data["layers"][0]["weight"], dtype=np.float32), weights["dense1.weight"])
    assert "velocity" not in data  # the state is torch's own key
    assert data["optimizer_state"]["dense1"]["weight"]["momentum_buffer"]


def test_user_errors_are_one_line_and_exit_2(circle_file: Path, tmp_path: Path, capsys) -> None:
    assert main(["explain", str(circle_file), "--sample", "250"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "nnstudio explain: sample 250 is out of range: the training set has 250 samples (0–249)"
    assert main(["explain", str(circle_file), "--sample", "-1"]) == 2
    assert "out of range" in capsys.readouterr().err

    broken = playground()
    broken.set_param(next(lid for lid, layer in broken.layers.items() if layer.type == "Output"), "units", 3)
    bad = tmp_path / "bad.nnstudio"
    save_design(broken, bad)
    assert main(["explain", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "binary classifier and must have 1 unit" in err

    # A checkpoint whose weights were saved from another network than the design it carries.
    other = playground(hidden=(5,))
    mismatched = tmp_path / "mismatch.safetensors"
    save_checkpoint(mismatched, build_model(other), playground(hidden=(3, 2)), {"epoch": 0})
    assert main(["explain", str(mismatched)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not an NN Studio checkpoint" in err

    assert main(["explain", str(tmp_path / "missing.nnstudio")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_runs_as_a_command_without_traceback(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "nnstudio", "explain", str(tmp_path / "none.safetensors")],
                            capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
