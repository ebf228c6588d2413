"""`nnstudio train DESIGN --nproc-per-node N [--nnodes M --rdzv-endpoint HOST:PORT]`: launch with torchrun.

Nothing here is home-made: the command runs PyTorch's own launcher, `python -m torch.distributed.run`,
which starts N worker processes per node, performs the rendezvous (c10d, at HOST:PORT for several nodes;
`--standalone` on one) and watches them; each worker runs `nnstudio.distributed_worker`. The design
and its data are checked here first, so a mistake prints one line and exits 2 before anything starts.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
PROG = "nnstudio train"

MULTI_NODE_HELP = """\
--nproc-per-node N trains with N worker processes on this computer (DistributedDataParallel; gloo on
the CPU, nccl with one GPU per worker on CUDA). For several computers, run the same command on each, with
--nnodes M, the same --rdzv-endpoint HOST:PORT (HOST is one of them, reachable from all: it hosts
torchrun's c10d rendezvous on PORT) and the same --rdzv-id. Rank 0 prints progress, records the run in
the run store and writes --out. See docs/scaling.md."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("past one process (torchrun)", MULTI_NODE_HELP)
    group.add_argument("--nproc-per-node", type=int, metavar="N", help="worker processes on this computer")
    group.add_argument("--nnodes", default="1", metavar="M",
                       help="computers taking part (M, or MIN:MAX for an elastic job; default 1)")
    group.add_argument("--rdzv-endpoint", metavar="HOST:PORT", help="where the workers meet (several computers)")
    group.add_argument("--rdzv-id", default="nnstudio", metavar="ID", help="job id, the same on every computer")
    parser.add_argument("--record", action="store_true",
                        help="record the run in the run store (always on with --nproc-per-node)")
    parser.add_argument("--store", metavar="PATH",
                        help="the run store file (default: nnstudio-runs/runs.sqlite beside the design)")


def torchrun_command(args: argparse.Namespace) -> list[str]:
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(args.nproc_per_node),
               "--nnodes", str(args.nnodes)]
    if args.rdzv_endpoint:
        command += ["--rdzv-backend", "c10d", "--rdzv-endpoint", args.rdzv_endpoint, "--rdzv-id", args.rdzv_id]
    else:
        command += ["--standalone"]
    command += ["-m", "nnstudio.distributed_worker", str(Path(args.file).resolve())]
    for option, value in (("--epochs", args.epochs), ("--device", args.device), ("--out", args.out),
                          ("--metrics-json", args.metrics_json), ("--store", args.store)):
        if value is not None:
            command += [option, str(Path(value).resolve()) if option in ("--out", "--metrics-json", "--store")
                        else str(value)]
    return command


def launch(args: argparse.Namespace) -> int:
    def fail(code: int, message: str) -> int:
        print(f"{PROG}: {message}", file=sys.stderr)
        return code

    if args.nproc_per_node < 1:
        return fail(EXIT_BAD_INPUT, f"--nproc-per-node must be at least 1, not {args.nproc_per_node}")
    nnodes = str(args.nnodes)
    if not all(part.isdigit() and int(part) >= 1 for part in nnodes.split(":", 1)):
        return fail(EXIT_BAD_INPUT, f"--nnodes must be a number or MIN:MAX, not {nnodes!r}")
    if nnodes not in ("1", "1:1") and not args.rdzv_endpoint:
        return fail(EXIT_BAD_INPUT, "--nnodes above 1 needs --rdzv-endpoint HOST:PORT (the same on every computer)")
    if args.rdzv_endpoint and ":" not in args.rdzv_endpoint:
        return fail(EXIT_BAD_INPUT, f"--rdzv-endpoint must be HOST:PORT, not {args.rdzv_endpoint!r}")
    if args.resume:
        return fail(EXIT_BAD_INPUT, "--resume is not supported with --nproc-per-node yet")
    if args.epochs is not None and args.epochs < 1:
        return fail(EXIT_BAD_INPUT, f"--epochs must be at least 1, not {args.epochs}")
    from nnstudio.core.errors import NNStudioError
    from nnstudio.data import load_dataset
    from nnstudio.io import load_design

    path = Path(args.file)
    try:
        design = load_design(path)
        load_dataset(design.dataset, base_dir=path.resolve().parent)
    except NNStudioError as exc:
        return fail(EXIT_BAD_INPUT, str(exc))
    env = dict(os.environ)
    # One intra-op thread per worker unless the user chose otherwise: N workers share this computer's cores.
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // args.nproc_per_node)))
    code = subprocess.call(torchrun_command(args), env=env)
    if code == 0:
        return EXIT_OK
    if code < 0 or code == 130:
        return fail(130, "interrupted")
    return fail(EXIT_FAILED, f"torchrun ended with status {code} (a worker failed; its message is above)")
