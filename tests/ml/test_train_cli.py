"""`nnstudio train`: progress, final metrics, metrics JSON, checkpoints, and exit codes without tracebacks."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from nnstudio.io import save_design
from nnstudio.ml.checkpoint import load_checkpoint
from nnstudio.train_cli import ProgressLine, add_arguments, main

try:
    from training_helpers import one_cpu_thread, playground, vector_design  # noqa: F401 - autouse
except ImportError:  # tests/ml became a package
    from .training_helpers import one_cpu_thread, playground, vector_design  # noqa: F401


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="nnstudio train")
    add_arguments(parser)
    return main(parser.parse_args(list(argv)))


@pytest.fixture
def circle_file(tmp_path: Path) -> Path:
    path = tmp_path / "circle.nnstudio"
    save_design(playground(init="playground", epochs=3, seed=2), path)
    return path


def test_train_writes_metrics_json_and_a_checkpoint(circle_file: Path, tmp_path: Path, capsys) -> None:
    metrics, out = tmp_path / "m.json", tmp_path / "run.safetensors"
    assert run(str(circle_file), "--epochs", "4", "--device", "cpu", "--metrics-json", str(metrics),
               "--out", str(out)) == 0
    data = json.loads(metrics.read_text())
    assert data["epochs"] == 4 and data["steps"] == 100
    for key in ("train_loss", "val_loss", "val_accuracy", "train_accuracy", "steps_per_second"):
        assert isinstance(data[key], float), key
    assert data["device"] == "cpu" and data["graph_mode"] == "eager" and data["error"] is None
    assert [h["epoch"] for h in data["history"]] == [1, 2, 3, 4]
    assert data["history"][-1]["val_loss"] == data["val_loss"]
    captured = capsys.readouterr()
    assert "val accuracy" in captured.out and f"saved checkpoint {out}" in captured.out
    assert "epoch 4/4" in captured.err and "\r" not in captured.err  # not a terminal: plain lines
    assert load_checkpoint(out).training_state["epoch"] == 4


def test_resume_continues_from_a_checkpoint(circle_file: Path, tmp_path: Path) -> None:
    first, metrics = tmp_path / "first.safetensors", tmp_path / "m.json"
    assert run(str(circle_file), "--epochs", "2", "--out", str(first)) == 0
    assert run(str(circle_file), "--epochs", "3", "--resume", str(first), "--metrics-json", str(metrics)) == 0
    data = json.loads(metrics.read_text())
    assert data["epochs"] == 3 and data["steps"] == 75
    assert [h["epoch"] for h in data["history"]] == [3]


def test_regression_metrics_have_no_accuracy(tmp_path: Path) -> None:
    design = playground(dataset="reg-plane", task="regression", epochs=2)
    path = tmp_path / "plane.nnstudio"
    save_design(design, path)
    assert run(str(path), "--metrics-json", str(tmp_path / "m.json")) == 0
    data = json.loads((tmp_path / "m.json").read_text())
    assert "val_accuracy" not in data and isinstance(data["val_loss"], float)


def test_bad_input_exits_2_with_one_line(tmp_path: Path, capsys) -> None:
    assert run(str(tmp_path / "missing.nnstudio")) == 2
    err = capsys.readouterr().err
    assert err.startswith("nnstudio train: ") and len(err.strip().splitlines()) == 1
    broken = tmp_path / "broken.nnstudio"
    broken.write_text("{not json")
    assert run(str(broken)) == 2
    csv_design = vector_design(features=3)
    csv_design.set_dataset(source="csv", path="nowhere.csv")
    path = tmp_path / "csv.nnstudio"
    save_design(csv_design, path)
    assert run(str(path)) == 2
    assert "nowhere.csv" in capsys.readouterr().err
    assert run(str(path), "--epochs", "0") == 2
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x80\x04not a checkpoint")
    assert run(str(tmp_path / "csv.nnstudio"), "--resume", str(garbage)) == 2


def test_training_failure_exits_1(tmp_path: Path, capsys) -> None:
    design = playground(dataset="reg-plane", task="regression", optimizer="sgd", learning_rate=10.0, epochs=50)
    path = tmp_path / "diverges.nnstudio"
    save_design(design, path)
    # reg-plane targets are small; make the step explode with a linear output and a huge rate.
    metrics = tmp_path / "m.json"
    code = run(str(path), "--metrics-json", str(metrics))
    if code == 0:
        pytest.skip("this seed did not diverge")
    assert code == 1
    err = capsys.readouterr().err
    assert "the loss became" in err and "Traceback" not in err
    assert json.loads(metrics.read_text())["error"].startswith("the loss became")


def test_unavailable_device_exits_1(circle_file: Path, capsys) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is available")
    assert run(str(circle_file), "--device", "cuda") == 1
    assert "CUDA" in capsys.readouterr().err


def test_progress_line_redraws_on_a_terminal() -> None:
    class Terminal:
        def __init__(self) -> None:
            self.text = ""

        def isatty(self) -> bool:
            return True

        def write(self, s: str) -> None:
            self.text += s

        def flush(self) -> None:
            pass

    from nnstudio.ml.trainer import Trainer

    stream = Terminal()
    line = ProgressLine(stream)
    Trainer(playground(epochs=2), device="cpu", callbacks=[line], publish_epoch_end=True).fit()
    assert stream.text.count("\r") >= 3 and "\x1b[" in stream.text  # redrawn in place, in colour
    assert stream.text.rstrip("\x1b[?25h").endswith("\n")  # the bar's last state stays, then a new line
    assert "ETA" in stream.text and "epoch 2/2" in stream.text and "100%" in stream.text


def test_the_nnstudio_command_runs_train(circle_file: Path, tmp_path: Path) -> None:
    metrics = tmp_path / "m.json"
    proc = subprocess.run([sys.executable, "-m", "nnstudio", "train", str(circle_file), "--epochs", "1",
                           "--metrics-json", str(metrics)], capture_output=True, text=True, timeout=300,
                          cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 0, proc.stderr
    assert json.loads(metrics.read_text())["epochs"] == 1
