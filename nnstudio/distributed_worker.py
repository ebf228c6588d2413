"""The program each torchrun worker runs for `nnstudio train --nproc-per-node N` (see nnstudio.ml.distributed).

    python -m torch.distributed.run --nproc-per-node N --standalone -m nnstudio.distributed_worker DESIGN ...

Rank 0 prints progress and the summary, records the run in the run store and writes --out and
--metrics-json. Teardown: on success every worker meets at a barrier, then calls
`destroy_process_group()`, so no worker exits while another still talks to it, and leaves with os._exit
(see `_leave`); on a failure the worker exits non-zero without the barrier (the others may be blocked in an
all-reduce) and torchrun's agent stops the rest.
Exit codes: 0 trained, 1 training failed, 2 the design or its data cannot be used.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


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
    import torch.distributed as dist

    from nnstudio.core.errors import NNStudioError
    from nnstudio.io import load_design
    from nnstudio.ml.distributed import backend_for, worker_device

    args = _parser().parse_args(argv)
    rank = int(os.environ.get("RANK", "0"))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))

    def fail(code: int, message: str) -> int:
        print(f"nnstudio train [rank {rank}]: {message}", file=sys.stderr, flush=True)
        return code

    path = Path(args.file)
    try:
        design = load_design(path)
        if args.epochs is not None:
            design.set_training(epochs=args.epochs)
        device = worker_device(args.device or design.training.device, local_rank)
    except NNStudioError as exc:
        return fail(EXIT_BAD_INPUT, str(exc))
    dist.init_process_group(backend_for(device))
    try:
        code = _train(args, design, path, device, rank, world, fail)
    except BaseException:
        dist.destroy_process_group()
        raise
    if code == EXIT_OK:
        dist.barrier()  # everyone is done with collectives before anyone leaves
    dist.destroy_process_group()
    return code


def _train(args: argparse.Namespace, design: Any, path: Path, device: Any, rank: int, world: int,
           fail: Any) -> int:
    import torch.distributed as dist

    from nnstudio.core.errors import NNStudioError, TrainingError
    from nnstudio.data import load_dataset
    from nnstudio.ml.distributed import distributed_trainer
    from nnstudio.train_cli import ProgressLine, _print_summary, _write_metrics

    try:
        dataset = load_dataset(design.dataset, base_dir=path.resolve().parent)
    except NNStudioError as exc:
        return fail(EXIT_BAD_INPUT, str(exc))
    callbacks: list[Any] = []
    recorder = progress = None
    if rank == 0:
        progress = ProgressLine(sys.stderr)
        callbacks.append(progress)
        if not args.no_record:
            from nnstudio.ml.run_recorder import recorder_for

            recorder = recorder_for(path, args.store, name=f"torchrun x{world}", changes={"workers": world})
            callbacks.append(recorder)
    try:
        trainer = distributed_trainer(design, dataset, rank=rank, world=world, device=device, callbacks=callbacks,
                                      publish_hz=4.0 if rank == 0 else 0, publish_epoch_end=rank == 0)
    except NNStudioError as exc:
        return fail(EXIT_BAD_INPUT, str(exc))
    try:
        trainer.fit()
    except TrainingError as exc:
        return fail(EXIT_FAILED, str(exc))
    finally:
        if recorder is not None:
            recorder.store.close()
    if rank != 0:
        return EXIT_OK
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


def _leave(code: int) -> None:
    """End a worker of several without Python's teardown: the gloo process group and its threads outlive
    destroy_process_group once DDP has wrapped a model, and the interpreter's exit then now and then aborts
    ("terminate called without an active exception"), which makes torchrun kill the other workers."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    _leave(main())
