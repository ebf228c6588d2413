"""GPU lever: steps/s of NN Studio's Trainer (the whole step in a CUDA graph, telemetry on) ÷ a bare eager loop.

Cases: Playground MLP 2-4-2-2 batch 10, and a CNN (2 conv + 2 dense) on 1x28x28 synthetic images, batch 128.
Rounds alternate bare / trainer; medians are printed. Without a CUDA device it says so and exits 0.

    python bench/gpu_lever.py [--rounds 5] [--seconds 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from trainer_overhead import Case, _chain, bare_loop, playground_case, trainer_run  # noqa: E402

from nnstudio.core import Design  # noqa: E402
from nnstudio.data import Dataset  # noqa: E402


def cnn28_case(batch: int = 128) -> Case:
    design = _chain(Design("cnn28"), [
        ("Input", {"mode": "image", "channels": 1, "height": 28, "width": 28}),
        ("Conv2d", {"filters": 16, "kernel": 3, "padding": 1, "activation": "relu"}),
        ("MaxPool2d", {"kernel": 2, "stride": 2}),
        ("Conv2d", {"filters": 32, "kernel": 3, "padding": 1, "activation": "relu"}),
        ("MaxPool2d", {"kernel": 2, "stride": 2}), ("Flatten", {}),
        ("Dense", {"units": 128, "activation": "relu"}), ("Output", {"task": "multiclass", "units": 10})])
    design.set_training(optimizer="momentum", learning_rate=0.05, batch_size=batch)
    rng = np.random.default_rng(0)
    n_train, n_val = 8192, 1024
    x = rng.standard_normal((n_train + n_val, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, n_train + n_val).astype(np.int64)
    dataset = Dataset(name="synthetic", source="npz", task="multiclass", x_train=x[:n_train], y_train=y[:n_train],
                      x_val=x[n_train:], y_val=y[n_train:], num_classes=10,
                      class_names=tuple(str(i) for i in range(10)), feature_names=(), input_shape=(1, 28, 28))
    return Case(f"CNN 2 conv + 2 dense on 1x28x28 (synthetic), batch {batch}", design, dataset)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print("no CUDA device: nothing to measure")
        return 0
    device = torch.device("cuda", torch.cuda.current_device())
    print(f"device: {torch.cuda.get_device_name(device)}, torch {torch.__version__}, {args.rounds} rounds")
    for case in (playground_case(), cnn28_case()):
        n, bs = len(case.dataset.x_train), case.design.training.batch_size
        per_epoch = -(-n // bs)
        bare_loop(case, device, 50)
        trainer_run(case, device, 1)  # first capture, cuDNN and allocator warm-up
        probe = max(bare_loop(case, device, max(200, per_epoch)) for _ in range(3))
        epochs = max(1, round(args.seconds * probe / per_epoch))
        bare, ours, modes = [], [], set()
        for _ in range(args.rounds):
            bare.append(bare_loop(case, device, epochs * per_epoch))
            rate, _, mode = trainer_run(case, device, epochs)
            ours.append(rate)
            modes.add(mode)
        b, t = statistics.median(bare), statistics.median(ours)
        print(f"{case.name}: bare eager {b:,.0f} steps/s, trainer {t:,.0f} steps/s ({', '.join(sorted(modes))}), "
              f"lever x{t / b:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
