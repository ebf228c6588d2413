"""`nnstudio runs` and `nnstudio sweep` on the command line: table, JSON, and one-line errors with exit 2."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENV = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nnstudio", *args], capture_output=True, text=True, env=ENV,
                          timeout=300)


def test_parallel_sweep_then_runs_table_and_json(tmp_path: Path) -> None:
    design = Path(shutil.copy(ROOT / "resources/examples/playground-circle.nnstudio", tmp_path / "c.nnstudio"))
    out = _cli("sweep", str(design), "--set", "training.learning_rate=0.03,0.3", "--epochs", "2", "--jobs", "2")
    assert out.returncode == 0, out.stderr
    assert "[2/2] learning_rate=" in out.stdout and "val acc" in out.stdout and "2 at a time" in out.stdout
    table = _cli("runs", str(design))
    assert table.returncode == 0 and table.stdout.startswith("2 run(s) in ")
    assert "learning_rate=0.3" in table.stdout and "finished" in table.stdout
    data = json.loads(_cli("runs", str(design), "--json").stdout)
    assert sorted(r["settings"]["training"]["learning_rate"] for r in data) == [0.03, 0.3]
    assert all(len(r["history"]) == 2 and r["history"][-1]["val_loss"] == r["val_loss"] for r in data)
    assert "design_json" not in data[0]
    assert len({r["owner"] for r in data}) == 2  # each run trained in its own worker process
    other = Path(shutil.copy(design, tmp_path / "other.nnstudio"))
    assert json.loads(_cli("runs", str(other), "--json").stdout) == []  # runs are per design file
    assert len(json.loads(_cli("runs", str(other), "--json", "--all").stdout)) == 2


def test_user_mistakes_exit_2_with_one_line(tmp_path: Path) -> None:
    design = Path(shutil.copy(ROOT / "resources/examples/playground-circle.nnstudio", tmp_path / "c.nnstudio"))
    for args, words in (
        (["sweep", str(design)], "give at least one --set"),
        (["sweep", str(design), "--set", "training.optimizer=lbfgs"], "training.optimizer=lbfgs"),
        (["sweep", str(tmp_path / "missing.nnstudio"), "--set", "training.seed=1,2"], "could not read"),
        (["sweep", str(design), "--set", "training.seed=1", "--jobs", "0"], "--jobs must be at least 1"),
    ):
        out = _cli(*args)
        assert out.returncode == 2, (args, out.stderr)
        assert words in out.stderr and "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "nnstudio-runs").exists()  # nothing was trained or stored
    assert "no runs yet" in _cli("runs", str(design)).stdout


def test_train_record_stores_a_one_process_run(tmp_path: Path) -> None:
    from nnstudio.cli import main as cli_main
    from nnstudio.runs import RunStore

    design = Path(shutil.copy(ROOT / "resources/examples/playground-circle.nnstudio", tmp_path / "c.nnstudio"))
    metrics = tmp_path / "m.json"
    assert cli_main(["train", str(design), "--epochs", "3", "--record", "--metrics-json", str(metrics)]) == 0
    with RunStore(tmp_path / "nnstudio-runs" / "runs.sqlite") as store:
        (run,) = store.runs(design_file="c.nnstudio")
        history = store.history(run.uid)
    saved = json.loads(metrics.read_text())
    assert (run.status, run.epochs, run.name) == ("finished", 3, "sgd, lr 0.03, seed 0")
    assert [h.epoch for h in history] == [1, 2, 3]  # the CLI publishes at every epoch end: one row each
    assert [h.val_loss for h in history] == [e["val_loss"] for e in saved["history"]][-3:]
