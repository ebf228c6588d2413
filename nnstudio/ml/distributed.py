"""One torchrun worker: NN Studio's own Trainer with DistributedDataParallel and a DistributedSampler.

`nnstudio train DESIGN --nproc-per-node N` starts `python -m torch.distributed.run ... -m
nnstudio.ml.distributed DESIGN ...`; torchrun's launcher and rendezvous set RANK, WORLD_SIZE,
LOCAL_RANK and MASTER_ADDR/PORT, and each worker process runs `main()` here:

- the process group: gloo on the CPU, nccl on CUDA (each worker on GPU LOCAL_RANK);
- the data: each worker trains on its shard of the training set, drawn by `DistributedSampler` (equal
  shard sizes, reshuffled across workers every epoch with `set_epoch`); the shard is copied in place into
  the trainer's resident training tensor at each epoch start, so the trainer's own batching runs unchanged;
- the batch: the design's batch size is the global one; each worker steps with batch // world size, and
  DDP averages the gradients, so one step sees as many samples as one single-process step;
- the model: `trainer.forward_module = DistributedDataParallel(trainer.model)`; validation, telemetry and
  checkpoints use the plain model (its weights are identical on every worker after each step);
- rank 0 alone prints progress, records the run in the run store and writes the checkpoint and metrics.

Teardown: on success every worker meets at a barrier and then calls `destroy_process_group()`, so no
worker exits while another still talks to it. On a failure the worker exits non-zero without the barrier
(the others may be blocked in an all-reduce) and torchrun's agent stops the rest.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from nnstudio.core.errors import NNStudioError, TrainingError

from .callbacks import Callback

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


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


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="nnstudio train (torchrun worker)")
    p.add_argument("file")
    p.add_argument("--epochs", type=int)
    p.add_argument("--device")
    p.add_argument("--out")
    p.add_argument("--metrics-json")
    p.add_argument("--store")
    p.add_argument("--no-record", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    rank = int(os.environ.get("RANK", "0"))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    err = sys.stderr

    def fail(code: int, message: str) -> int:
        print(f"nnstudio train [rank {rank}]: {message}", file=err, flush=True)
        return code

    from nnstudio.io import load_design

    path = Path(args.file)
    try:
        design = load_design(path)
        if args.epochs is not None:
            design.set_training(epochs=args.epochs)
    except NNStudioError as exc:
        return fail(EXIT_BAD_INPUT, str(exc))
    device = _device(args.device or design.training.device, local_rank)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    try:
        code = _train(args, design, path, device, rank, world, fail)
    except BaseException:
        dist.destroy_process_group()
        raise
    if code == EXIT_OK:
        dist.barrier()  # everyone is done with collectives before anyone leaves
    dist.destroy_process_group()
    return code


def _device(spec: str, local_rank: int) -> torch.device:
    text = str(spec or "auto").lower()
    if text.startswith("cuda") or (text == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise SystemExit("nnstudio train: CUDA was requested but is not available")
        torch.cuda.set_device(local_rank)
        return torch.device("cuda", local_rank)
    return torch.device("cpu")


def _train(args: argparse.Namespace, design: Any, path: Path, device: torch.device, rank: int, world: int,
           fail: Any) -> int:
    from torch.nn.parallel import DistributedDataParallel

    from nnstudio.data import load_dataset

    from .trainer import Trainer

    base_dir = path.resolve().parent
    try:
        dataset = load_dataset(design.dataset, base_dir=base_dir)
    except NNStudioError as exc:
        return fail(EXIT_BAD_INPUT, str(exc))
    shards = DistributedShards(dataset, rank, world, design.training.seed)
    callbacks: list[Callback] = [shards]
    recorder = progress = None
    if rank == 0:
        from nnstudio.train_cli import ProgressLine

        progress = ProgressLine(sys.stderr)
        callbacks.append(progress)
        if not args.no_record:
            recorder = _recorder(args, path, world)
            callbacks.append(recorder)
    try:
        trainer = Trainer(design, dataset=shards.sharded_dataset(dataset), callbacks=callbacks, device=device,
                          publish_hz=4.0 if rank == 0 else 0, publish_epoch_end=rank == 0, cuda_graphs="off")
    except NNStudioError as exc:
        return fail(EXIT_BAD_INPUT, str(exc))
    # The design's batch is the global batch: each of the `world` workers takes its share of it.
    trainer.batch_size = max(1, min(trainer.n_train, math.ceil(design.training.batch_size / world)))
    trainer.forward_module = DistributedDataParallel(
        trainer.model, device_ids=[device.index] if device.type == "cuda" else None)
    try:
        trainer.fit()
    except TrainingError as exc:
        return fail(EXIT_FAILED, str(exc))
    finally:
        if recorder is not None:
            recorder.store.close()
    if rank != 0:
        return EXIT_OK
    from nnstudio.train_cli import _print_summary, _write_metrics

    final = trainer.last_telemetry
    if final is not None:
        _print_summary(sys.stdout, trainer, final)
        print(f"{'workers':<14}  {world} (DistributedDataParallel, {dist.get_backend()})", file=sys.stdout)
    if args.out:
        trainer.save_checkpoint(args.out)
        print(f"saved checkpoint {args.out}", file=sys.stdout)
    if args.metrics_json:
        _write_metrics(Path(args.metrics_json), trainer, progress.epochs if progress else [], final, None, 0)
    sys.stdout.flush()
    return EXIT_OK


def _recorder(args: argparse.Namespace, path: Path, world: int) -> Any:
    from .run_recorder import recorder_for

    return recorder_for(path, args.store, name=f"torchrun x{world}", changes={"workers": world})


if __name__ == "__main__":
    sys.exit(main())
