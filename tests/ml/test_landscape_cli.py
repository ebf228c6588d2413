"""`nnstudio landscape` and `nnstudio lr-find`: the files they write, the centre's loss equal to the
checkpoint's own loss, the replayed trajectory ending at the checkpoint, and one-line errors (exit 2)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from training_helpers import one_cpu_thread, playground  # noqa: F401

from nnstudio.cli import main
from nnstudio.io import save_design
from nnstudio.ml.checkpoint import load_checkpoint
from nnstudio.ml.landscape import LossProblem, model_loss
from nnstudio.ml.trainer import Trainer

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("landscape")
    design = playground(init="playground", learning_rate=0.3, epochs=3, device="cpu")
    path = folder / "circle.nnstudio"
    save_design(design, path)
    trainer = Trainer(design, publish_hz=0)
    trainer.fit(3)
    checkpoint = folder / "circle.safetensors"
    trainer.save_checkpoint(checkpoint)
    return path, checkpoint


def checkpoint_loss(checkpoint: Path) -> float:
    ckpt = load_checkpoint(checkpoint)
    return model_loss(LossProblem.from_trainer(Trainer(ckpt.design, initial_state=ckpt, publish_hz=0)))


@pytest.mark.parametrize("directions", ["random", "pca"])
def test_landscape_writes_png_and_json_centred_on_the_checkpoints_loss(files, tmp_path, capsys, directions):
    _design, checkpoint = files
    png, out = tmp_path / "l.png", tmp_path / "l.json"
    code = main(["landscape", str(checkpoint), "--grid", "9", "--span", "0.5", "--directions", directions,
                 "-o", str(png), "--json", str(out)])
    assert code == 0, capsys.readouterr().err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads(out.read_text())
    assert data["directions"] == directions and len(data["x"]) == len(data["y"]) == 9
    assert data["x"][0] == -0.5 and data["x"][-1] == 0.5
    loss = np.array(data["loss"], dtype=float)
    assert loss.shape == (9, 9)
    expected = checkpoint_loss(checkpoint)
    assert abs(data["center_loss"] - expected) < 1e-5
    assert abs(loss[4, 4] - expected) < 1e-5
    coords = data["trajectory"]["coordinates"]
    assert len(coords) > 3
    assert np.allclose(coords[-1], [0, 0], atol=1e-5)  # the replayed path ends on the checkpoint
    assert "note" not in capsys.readouterr().err  # the replay reproduced the run exactly
    if directions == "pca":
        assert max(abs(v) for point in coords for v in point) == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("argv, message", [
    (["--grid", "1"], "--grid"),
    (["--span", "0"], "--span"),
    (["-o", "picture.jpg"], ".png"),
])
def test_landscape_bad_arguments_exit_2(files, tmp_path, capsys, argv, message):
    _design, checkpoint = files
    args = ["landscape", str(checkpoint), "-o", str(tmp_path / "x.png"), *argv]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1


def test_landscape_of_a_file_that_is_not_a_checkpoint_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a checkpoint")
    assert main(["landscape", str(bad), "-o", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nnstudio landscape: ") and "Traceback" not in err


def test_lr_find_prints_and_writes_the_curve(files, tmp_path, capsys):
    design, _ = files
    out = tmp_path / "lr.json"
    assert main(["lr-find", str(design), "--iterations", "60", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "suggested learning rate" in text
    data = json.loads(out.read_text())
    assert len(data["learning_rate"]) == len(data["smoothed_loss"]) == data["iterations"] <= 60
    assert data["learning_rate"][0] == pytest.approx(1e-6)
    if data["minimum_over_10"] is not None:
        assert data["suggestion"] == pytest.approx(data["lowest_loss_at"] / 10)
    else:  # 60 steps from scratch: the loss may never fall below its start, and the CLI says so
        assert data["suggestion"] == pytest.approx(max(data["valley"], 1e-6)) and "note:" in text


def test_lr_find_bad_input_exits_2(files, tmp_path, capsys):
    design, _ = files
    assert main(["lr-find", str(design), "--start", "1", "--end", "0.1"]) == 2
    assert main(["lr-find", str(tmp_path / "missing.nnstudio")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("nnstudio lr-find: ") == 2
