"""Trainer overhead: steps/s of NN Studio's Trainer (all telemetry on) ÷ steps/s of a bare PyTorch loop.

Same model (built from the same design), same data resident on the device, same batch size and device.
The bare loop is the yardstick of REFERENCE.md: random index batches, SGD with momentum, cross-entropy,
nothing else. Rounds alternate bare / trainer so drifts in machine load hit both; the figures are medians.

    python bench/trainer_overhead.py [--device cpu] [--rounds 5] [--seconds 1.5] [--threads N] [--case ...]
                                     [--view-frames]

Prints figures only; it asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nnstudio.core import Design  # noqa: E402
from nnstudio.data import Dataset, load_dataset  # noqa: E402
from nnstudio.ml.builder import build_model  # noqa: E402
from nnstudio.ml.callbacks import LambdaCallback  # noqa: E402
from nnstudio.ml.trainer import Trainer, resolve_device  # noqa: E402


@dataclass
class Case:
    name: str
    design: Design
    dataset: Dataset


def _chain(design: Design, layers: list[tuple[str, dict]]) -> Design:
    prev = None
    for type_name, params in layers:
        layer = design.add_layer(type_name, params=params)
        if prev is not None:
            design.connect(prev.id, layer.id)
        prev = layer
    return design


def playground_case() -> Case:
    design = _chain(Design("playground"), [
        ("Input", {"features": 2}), ("Dense", {"units": 4, "activation": "tanh"}),
        ("Dense", {"units": 2, "activation": "tanh"}), ("Output", {"task": "multiclass", "units": 2})])
    design.set_dataset(source="playground", name="circle", samples=500)
    design.set_training(optimizer="momentum", learning_rate=0.03, batch_size=10)
    return Case("Playground MLP 2-4-2-2, batch 10", design, load_dataset(design.dataset))


def digits_case() -> Case:
    design = _chain(Design("digits"), [
        ("Input", {"mode": "image", "channels": 1, "height": 8, "width": 8}),
        ("Conv2d", {"filters": 16, "kernel": 3, "padding": 1, "activation": "relu"}),
        ("MaxPool2d", {"kernel": 2, "stride": 2}), ("Flatten", {}),
        ("Dense", {"units": 64, "activation": "relu"}), ("Output", {"task": "multiclass", "units": 10})])
    design.set_dataset(source="builtin", name="digits", as_images=True, train_percent=80)
    design.set_training(optimizer="momentum", learning_rate=0.05, batch_size=64)
    return Case("digits CNN 1x8x8, batch 64", design, load_dataset(design.dataset))


def mlp784_case() -> Case:
    design = _chain(Design("mlp784"), [
        ("Input", {"features": 784}), ("Dense", {"units": 128, "activation": "relu"}),
        ("Output", {"task": "multiclass", "units": 10})])
    design.set_training(optimizer="momentum", learning_rate=0.05, batch_size=256)
    rng = np.random.default_rng(0)
    n_train, n_val = 8192, 1024
    x = rng.standard_normal((n_train + n_val, 784), dtype=np.float32)
    y = rng.integers(0, 10, n_train + n_val).astype(np.int64)
    dataset = Dataset(name="synthetic", source="npz", task="multiclass", x_train=x[:n_train], y_train=y[:n_train],
                      x_val=x[n_train:], y_val=y[n_train:], num_classes=10,
                      class_names=tuple(str(i) for i in range(10)), feature_names=(), input_shape=(784,))
    return Case("MLP 784-128-10 (synthetic), batch 256", design, dataset)


CASES = {"playground": playground_case, "digits": digits_case, "mlp784": mlp784_case}


def bare_loop(case: Case, device: torch.device, steps: int) -> float:
    """steps/s of the yardstick loop."""
    torch.manual_seed(0)
    model = build_model(case.design).to(device)
    config = case.design.training
    optimizer = torch.optim.SGD(model.parameters(), lr=config.learning_rate, momentum=0.9)
    x = torch.as_tensor(case.dataset.x_train, device=device)
    y = torch.as_tensor(case.dataset.y_train, device=device)
    n, bs = len(x), config.batch_size
    perm = torch.randperm(n, device=device)
    position = 0
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        if position + bs > n:
            perm = torch.randperm(n, device=device)
            position = 0
        idx = perm[position:position + bs]
        position += bs
        loss = F.cross_entropy(model(x[idx]), y[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    _sync(device)
    return steps / (time.perf_counter() - start)


def trainer_run(case: Case, device: torch.device, epochs: int, view_frames: bool = False) -> tuple[float, int, str]:
    """steps/s of Trainer.fit with every telemetry on (publications at up to 30/s), and the publications.
    With `view_frames`, a listener takes the network view's light frames too, as the window does."""
    callbacks = [LambdaCallback(on_view_frame=lambda frame: None)] if view_frames else []
    trainer = Trainer(case.design, dataset=case.dataset, device=device, callbacks=callbacks)
    _sync(device)
    start = time.perf_counter()
    result = trainer.fit(epochs)
    _sync(device)
    return result.steps / (time.perf_counter() - start), len(result.history), result.graph_mode


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=1.5, help="rough length of each timed run")
    parser.add_argument("--case", action="append", choices=sorted(CASES), help="run only these cases")
    parser.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's choice)")
    parser.add_argument("--view-frames", action="store_true",
                        help="also make the network view's light frames (a listener takes them, as the window's does)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    print(f"device: {device}, torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"{args.rounds} interleaved rounds{', network-view frames on' if args.view_frames else ''}")
    for key in args.case or list(CASES):
        case = CASES[key]()
        n, bs = len(case.dataset.x_train), case.design.training.batch_size
        per_epoch = -(-n // bs)
        bare_loop(case, device, 20)  # warm up kernels and allocator
        # Size the runs from the fastest of three probes: a probe slowed by a burst of other work on the
        # machine would make every run too short for the trainer's fixed start and end costs.
        probe = max(bare_loop(case, device, max(200, per_epoch)) for _ in range(3))
        epochs = max(1, round(args.seconds * probe / per_epoch))
        steps = epochs * per_epoch
        bare, ours, pubs = [], [], []
        mode = "eager"
        for _ in range(args.rounds):
            bare.append(bare_loop(case, device, steps))
            rate, published, mode = trainer_run(case, device, epochs, args.view_frames)
            ours.append(rate)
            pubs.append(published)
        b, t = statistics.median(bare), statistics.median(ours)
        ratios = [o / r for o, r in zip(ours, bare, strict=True)]
        print(f"{case.name}: bare {b:,.0f} steps/s, trainer {t:,.0f} steps/s ({mode}), "
              f"ratio {t / b:.3f} (per-round median {statistics.median(ratios):.3f}, "
              f"min {min(ratios):.3f}, max {max(ratios):.3f}); {steps} steps per run, "
              f"~{statistics.median(pubs):.0f} publications per run")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
