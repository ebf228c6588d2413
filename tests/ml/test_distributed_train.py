"""`nnstudio train --nproc-per-node 2`: torchrun, DDP and DistributedSampler reach single-process accuracy."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from training_helpers import chain, one_cpu_thread  # noqa: F401 - autouse fixture

from nnstudio import distributed_cli
from nnstudio.data import load_dataset
from nnstudio.io import save_design
from nnstudio.ml.checkpoint import load_checkpoint
from nnstudio.ml.distributed import DistributedShards
from nnstudio.ml.trainer import Trainer
from nnstudio.runs import RunStore

ROOT = Path(__file__).resolve().parents[2]
TOLERANCE = 0.02  # the issue's: same design and seed, validation accuracy within 0.02 of one process


def _digits_mlp(epochs: int = 8):
    design = chain([("Input", {"features": 64}), ("Dense", {"units": 32, "activation": "relu"}),
                    ("Output", {"task": "multiclass", "units": 10})], "digits-mlp")
    design.set_dataset(source="builtin", name="digits", standardize=True)
    design.set_training(optimizer="adam", learning_rate=0.01, batch_size=32, epochs=epochs, seed=0, device="cpu")
    return design


def test_shards_cover_the_training_set_equally_and_reshuffle() -> None:
    dataset = load_dataset(_digits_mlp().dataset)
    n = len(dataset.x_train)
    shards = [DistributedShards(dataset, rank, 2, seed=0) for rank in (0, 1)]
    for epoch in (0, 1):
        parts = [s.shard(epoch)[0] for s in shards]
        assert parts[0].shape == parts[1].shape == (-(-n // 2), 64)
        index = [list(s.sampler) for s in shards]  # the sampler's draw for this epoch (set by shard())
        assert set(index[0]) | set(index[1]) == set(range(n))
        assert torch.equal(parts[0], torch.as_tensor(dataset.x_train)[index[0]])
    assert not torch.equal(shards[0].shard(0)[0], shards[0].shard(1)[0])


def test_torchrun_command_for_several_computers() -> None:
    args = argparse.Namespace(nproc_per_node=4, nnodes="2", rdzv_endpoint="10.0.0.1:29400", rdzv_id="job7",
                              file="d.nnstudio", epochs=3, device=None, out="w.safetensors", metrics_json=None,
                              store=None)
    command = distributed_cli.torchrun_command(args)
    assert command[1:3] == ["-m", "torch.distributed.run"]
    joined = " ".join(command)
    assert "--nproc-per-node 4 --nnodes 2 --rdzv-backend c10d --rdzv-endpoint 10.0.0.1:29400 --rdzv-id job7" in joined
    assert "-m nnstudio.distributed_worker" in joined and "--standalone" not in joined


def _val_accuracy(checkpoint_path: Path) -> float:
    """Accuracy of the saved weights on the validation set, computed here (not by the trainer)."""
    from nnstudio.ml.builder import build_model

    checkpoint = load_checkpoint(checkpoint_path)
    model = build_model(checkpoint.design)
    model.load_state_dict(checkpoint.state_dict)
    dataset = load_dataset(checkpoint.design.dataset)
    with torch.no_grad():
        predicted = model(torch.as_tensor(dataset.x_val)).argmax(1).numpy()
    return float(np.mean(predicted == np.asarray(dataset.y_val)))


def test_two_processes_reach_single_process_accuracy(tmp_path: Path) -> None:
    design = _digits_mlp()
    path = tmp_path / "digits.nnstudio"
    save_design(design, path)
    single = Trainer(design, publish_hz=0)
    single.fit()
    single_acc = single.last_telemetry.val_accuracy

    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-m", "nnstudio", "train", str(path), "--nproc-per-node", "2",
                          "--out", str(tmp_path / "w.safetensors"), "--metrics-json", str(tmp_path / "m.json")],
                         capture_output=True, text=True, env=env, timeout=400)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "terminate called" not in out.stderr and "Traceback" not in out.stderr
    assert "workers         2 (DistributedDataParallel, gloo)" in out.stdout
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["epochs"] == 8 and len(metrics["history"]) == 8
    assert abs(metrics["val_accuracy"] - single_acc) <= TOLERANCE, (metrics["val_accuracy"], single_acc)
    assert metrics["val_accuracy"] == pytest.approx(_val_accuracy(tmp_path / "w.safetensors"), abs=1e-6)
    with RunStore(tmp_path / "nnstudio-runs" / "runs.sqlite") as store:  # rank 0 recorded it, once
        (run,) = store.runs()
        assert (run.name, run.status, run.epochs) == ("torchrun x2", "finished", 8)
        assert run.val_accuracy == pytest.approx(metrics["val_accuracy"])
        assert run.changes == {"workers": 2}


def test_bad_multi_node_options_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "digits.nnstudio"
    save_design(_digits_mlp(), path)
    for extra, match in ((["--nnodes", "2"], "needs --rdzv-endpoint"), (["--nproc-per-node", "0"], "at least 1"),
                         (["--rdzv-endpoint", "nohost"], "HOST:PORT")):
        argv = [sys.executable, "-m", "nnstudio", "train", str(path)] + (
            extra if "--nproc-per-node" in extra else ["--nproc-per-node", "2", *extra])
        out = subprocess.run(argv, capture_output=True, text=True, timeout=120,
                             env=dict(os.environ, PYTHONPATH=str(ROOT)))
        assert out.returncode == 2 and match in out.stderr and "Traceback" not in out.stderr
