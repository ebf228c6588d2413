"""Sweeps into the run store: the plan, the 3 x 2 x 2 Playground sweep restored run by run, parallel jobs,
and a sweep killed mid-run (no finished run lost, the interrupted one marked)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from training_helpers import one_cpu_thread  # noqa: F401 - autouse fixture

from nnstudio.core.errors import DesignError
from nnstudio.data import load_dataset
from nnstudio.ml.builder import build_model
from nnstudio.ml.run_restore import restore_run, run_design
from nnstudio.ml.sweep import SweepAxis, parse_set, plan, point_design, run_sweep
from nnstudio.ml.trainer import Trainer
from nnstudio.runs import RunStore, checkpoint_folder

EXAMPLE = Path(__file__).resolve().parents[2] / "resources" / "examples" / "playground-circle.nnstudio"


@pytest.fixture
def circle(tmp_path: Path) -> Path:
    return Path(shutil.copy(EXAMPLE, tmp_path / "circle.nnstudio"))


def test_parse_set_and_plan() -> None:
    lr = parse_set("training.learning_rate=0.01,0.03,0.1")
    opt = parse_set("training.optimizer=sgd,adam")
    assert lr == SweepAxis("training.learning_rate", (0.01, 0.03, 0.1))
    points = plan([lr, opt], repeats=2, base_seed=5)
    assert len(points) == 12 and len({p.name for p in points}) == 12
    assert points[0].changes == {"training.learning_rate": 0.01, "training.optimizer": "sgd", "training.seed": 5}
    assert points[1].changes["training.seed"] == 6
    assert parse_set("layers.hidden1.units=2,4").values == (2, 4)


@pytest.mark.parametrize("text, match", [
    ("training.learning_rate", "KEY=VALUE"),
    ("training.learning_rate=", "at least one value"),
    ("training.optimizer=sgd,sgd", "listed twice"),
])
def test_malformed_set_is_refused(text: str, match: str) -> None:
    with pytest.raises(DesignError, match=match):
        parse_set(text)


@pytest.mark.parametrize("text, match", [
    ("training.learning_rate=-1", r"--set training.learning_rate=-1: .*learning_rate"),
    ("training.optimizer=lbfgs", "must be one of"),
    ("training.colour=red", "unknown setting"),
    ("layers.nope.units=3", "no layer named 'nope'"),
    ("units=3", "training.NAME, dataset.NAME or layers.LAYER.PARAMETER"),
])
def test_bad_setting_names_the_option(text: str, match: str) -> None:
    from nnstudio.io import load_design

    design = load_design(EXAMPLE)
    (point,) = plan([parse_set(text)])
    with pytest.raises(DesignError, match=match):
        point_design(design, point)


def _accuracy(model: torch.nn.Module, dataset) -> float:
    """Validation accuracy computed here, from the restored weights (the store's figure must equal it)."""
    with torch.no_grad():
        logits = model(torch.as_tensor(dataset.x_val)).numpy().reshape(-1)
    return float(np.mean((logits > 0) == (np.asarray(dataset.y_val).reshape(-1) > 0)))


def test_sweep_of_twelve_runs_each_restorable_to_its_checkpoint(circle: Path, tmp_path: Path) -> None:
    store_path = tmp_path / "store" / "runs.sqlite"
    axes = [parse_set("training.learning_rate=0.01,0.03,0.1"), parse_set("training.optimizer=sgd,adam")]
    seen: list[tuple[int, int]] = []
    sweep_uid, outcomes = run_sweep(circle, axes, store_path=store_path, repeats=2, epochs=4,
                                    on_result=lambda o, done, total: seen.append((done, total)))
    assert seen == [(i, 12) for i in range(1, 13)]
    with RunStore(store_path) as store:
        runs = store.runs(design_file="circle.nnstudio", sweep_uid=sweep_uid)
        assert len(runs) == 12 and {r.status for r in runs} == {"finished"}
        assert {(r.settings["training"]["learning_rate"], r.settings["training"]["optimizer"], r.seed)
                for r in runs} == {(lr, opt, s) for lr in (0.01, 0.03, 0.1) for opt in ("sgd", "adam") for s in (0, 1)}
        dataset = load_dataset(run_design(runs[0]).dataset, base_dir=circle.parent)
        for run in runs:
            history = store.history(run.uid)
            assert [h.epoch for h in history] == [1, 2, 3, 4]
            assert history[-1].val_accuracy == run.val_accuracy and history[-1].grad_norm > 0
            checkpoint = restore_run(store, run)
            assert Path(store.checkpoint_path(run)).parent == checkpoint_folder(store_path)
            model = build_model(run_design(run))
            model.load_state_dict(checkpoint.state_dict)
            for name, tensor in model.state_dict().items():
                assert torch.equal(tensor, checkpoint.state_dict[name]), name
            assert run.val_accuracy == pytest.approx(_accuracy(model, dataset), abs=1e-6)
        # The stored snapshot and settings are complete: training it again gives the very same weights.
        for run in runs[:2]:
            again = Trainer(run_design(run), base_dir=circle.parent, publish_hz=0)
            again.fit()
            saved = restore_run(store, run).state_dict
            assert all(torch.equal(t, saved[n]) for n, t in again.model.state_dict().items())


def test_changed_checkpoint_is_refused_on_restore(circle: Path, tmp_path: Path) -> None:
    from nnstudio.core.errors import FormatError

    store_path = tmp_path / "runs.sqlite"
    _, (outcome,) = run_sweep(circle, [parse_set("training.learning_rate=0.1")], store_path=store_path, epochs=1)
    with RunStore(store_path) as store:
        run = store.run(outcome.uid)
        path = store.checkpoint_path(run)
        path.write_bytes(path.read_bytes() + b" ")
        with pytest.raises(FormatError, match="changed after the run saved it"):
            restore_run(store, run)


def test_killed_sweep_loses_no_finished_run_and_marks_the_interrupted_one(circle: Path, tmp_path: Path) -> None:
    store_path = tmp_path / "runs.sqlite"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]), OMP_NUM_THREADS="1")
    child = subprocess.Popen(
        [sys.executable, "-m", "nnstudio", "sweep", str(circle), "--set", "training.learning_rate=0.01,0.03,0.1",
         "--epochs", "60", "--store", str(store_path)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    try:
        while True:  # wait for: one run finished and the next one training, with epochs stored
            assert child.poll() is None, child.stderr.read().decode()
            assert time.monotonic() < deadline, "the sweep did not reach its second run in time"
            if store_path.exists():
                with RunStore(store_path) as store:
                    runs = store.runs()
                    running = [r for r in runs if r.status == "running" and r.epochs >= 1]
                    if any(r.status == "finished" for r in runs) and running:
                        break
            try:  # wait on the child: returns at once if it dies, else re-reads the store in 50 ms
                child.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                pass
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
        child.stderr.close()
    with RunStore(store_path) as store:  # opening it marks the dead process's run
        runs = store.runs()
        finished = [r for r in runs if r.status == "finished"]
        interrupted = [r for r in runs if r.status == "interrupted"]
        assert finished and len(interrupted) == 1 and len(finished) + 1 == len(runs)
        for run in finished:
            assert run.epochs == 60 and len(store.history(run.uid)) == 60
            restore_run(store, run)  # its checkpoint is whole and is the one it wrote
        assert interrupted[0].epochs >= 1 and not interrupted[0].checkpoint


def test_a_parallel_sweep_stops_cooperatively_and_stores_every_run_it_started(circle: Path, tmp_path: Path) -> None:
    store_path = tmp_path / "store" / "runs.sqlite"
    axes = [parse_set("training.learning_rate=0.01,0.02,0.03,0.05,0.1,0.3")]
    results: list[str] = []
    sweep_uid, outcomes = run_sweep(circle, axes, store_path=store_path, jobs=2, epochs=40,
                                    on_result=lambda o, done, total: results.append(o.status),
                                    should_stop=lambda: len(results) >= 1)
    assert 1 <= len(outcomes) < 6  # the points not started when it stopped were skipped
    with RunStore(store_path) as store:
        runs = store.runs(design_file="circle.nnstudio", sweep_uid=sweep_uid)
        # Every run a worker started ended on its own and is stored as such: none left running or interrupted.
        assert len(runs) == len(outcomes)
        assert {r.status for r in runs} <= {"finished", "stopped"}, {r.status for r in runs}
        assert sorted(r.status for r in runs) == sorted(results)
