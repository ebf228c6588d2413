"""Training one design across torchrun workers: the Trainer with DistributedDataParallel and a DistributedSampler.

`nnstudio train DESIGN --nproc-per-node N` starts `python -m torch.distributed.run ... -m
nnstudio.distributed_worker DESIGN ...`; torchrun's launcher and rendezvous set RANK, WORLD_SIZE,
LOCAL_RANK and MASTER_ADDR/PORT, and each worker process calls `distributed_trainer()` here:

- the process group: gloo on the CPU, nccl on CUDA (each worker on GPU LOCAL_RANK);
- the data: each worker trains on its shard of the training set, drawn by `DistributedSampler` (equal
  shard sizes, reshuffled across workers every epoch with `set_epoch`); the shard is copied in place into
  the trainer's resident training tensor at each epoch start, so the trainer's own batching runs unchanged;
- the batch: the design's batch size is the global one; each worker steps with batch // world size, and
  DDP averages the gradients, so one step sees as many samples as one single-process step;
- the model: `trainer.forward_module = DistributedDataParallel(trainer.model)`; validation, telemetry and
  checkpoints use the plain model (its weights are identical on every worker after each step);
- rank 0 alone prints progress, records the run and writes the checkpoint (`nnstudio.distributed_worker`,
  which also owns the process group's set-up and its clean teardown).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from typing import Any

import torch

from .callbacks import Callback


class DistributedShards(Callback):
    """Gives this worker its DistributedSampler shard of the training set at every epoch start."""

    def __init__(self, dataset: Any, rank: int, world: int, seed: int) -> None:
        from torch.utils.data import DistributedSampler

        self.x = torch.as_tensor(dataset.x_train)
        self.y = torch.as_tensor(dataset.y_train)
        self.sampler = DistributedSampler(range(len(self.x)), num_replicas=world, rank=rank, shuffle=True,
                                          seed=seed, drop_last=False)
        self._targets: torch.Tensor | None = None

    def shard(self, epoch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Features and raw targets of this worker's shard for the 0-based `epoch`."""
        self.sampler.set_epoch(epoch)
        index = torch.tensor(list(self.sampler), dtype=torch.int64)
        return self.x.index_select(0, index), self.y.index_select(0, index)

    def sharded_dataset(self, dataset: Any) -> Any:
        x, y = self.shard(0)
        return dataclasses.replace(dataset, x_train=x.numpy(), y_train=y.numpy(), grid=None)

    def on_fit_start(self) -> None:
        from .optim import prepare_targets

        trainer = self.trainer
        assert trainer is not None
        self._prepare = lambda y: prepare_targets(y, trainer.task).to(trainer.device)

    def on_epoch_start(self, epoch: int) -> None:
        trainer = self.trainer
        assert trainer is not None
        if epoch == 1 and trainer.step == 0:
            return  # the trainer was built on epoch 0's shard
        x, y = self.shard(epoch - 1)
        trainer.x_train.copy_(x.to(trainer.x_train.device, torch.float32))
        trainer.y_train.copy_(self._prepare(y))


def worker_device(spec: str | None, local_rank: int) -> torch.device:
    """CUDA device LOCAL_RANK when CUDA is asked for (or 'auto' finds it), else the CPU."""
    from nnstudio.core.errors import TrainingError

    text = str(spec or "auto").lower()
    if text.startswith("cuda") or (text == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise TrainingError("training on CUDA was requested, but this computer has no usable CUDA GPU")
        torch.cuda.set_device(local_rank)
        return torch.device("cuda", local_rank)
    return torch.device("cpu")


def backend_for(device: torch.device) -> str:
    return "nccl" if device.type == "cuda" else "gloo"


def distributed_trainer(design: Any, dataset: Any, *, rank: int, world: int, device: torch.device,
                        callbacks: Iterable[Callback] = (), **trainer_options: Any) -> Any:
    """A Trainer on this worker's shard, stepping with its share of the global batch through DDP.

    Call after `torch.distributed.init_process_group`; `callbacks` run on this worker (give rank 0 the
    recorder and progress line)."""
    from torch.nn.parallel import DistributedDataParallel

    from .trainer import Trainer

    shards = DistributedShards(dataset, rank, world, design.training.seed)
    trainer = Trainer(design, dataset=shards.sharded_dataset(dataset), callbacks=[shards, *callbacks],
                      device=device, cuda_graphs="off", **trainer_options)
    # The design's batch is the global batch: each of the `world` workers takes its share of it.
    trainer.batch_size = max(1, min(trainer.n_train, math.ceil(design.training.batch_size / world)))
    trainer.forward_module = DistributedDataParallel(
        trainer.model, device_ids=[device.index] if device.type == "cuda" else None)
    return trainer
