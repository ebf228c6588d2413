"""Shapes CNN example: wall time until the validation accuracy first reaches 0.95, and where it ends.

    python bench/shapes_example.py [--seeds 1] [--threads N] [--epochs E]

Trains resources/examples/shapes-cnn.nnstudio headless on the CPU (data generation included in the
total), once per seed (the training seed and the data seed both set to it), and how readable the trained
first-layer kernels are: their low-frequency energy share (1 = smooth colour blobs and edges, about 0.18 =
the random 7×7 start) and their correlation with the start. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nnstudio.data import clear_cache  # noqa: E402
from nnstudio.io import load_design  # noqa: E402
from nnstudio.ml.builder import build_model  # noqa: E402
from nnstudio.ml.callbacks import Callback  # noqa: E402
from nnstudio.ml.cnn_views import conv_layers, initial_weights, kernel_labels, low_frequency_share  # noqa: E402
from nnstudio.ml.trainer import Trainer  # noqa: E402

TARGET = 0.95


class FirstAbove(Callback):
    def __init__(self, start: float) -> None:
        self.start, self.reached, self.epoch = start, None, None

    def on_publish(self, t) -> None:
        if self.reached is None and t.val_accuracy is not None and t.val_accuracy >= TARGET:
            self.reached, self.epoch = time.perf_counter() - self.start, t.epoch


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=0)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    for seed in range(args.seeds):
        design = load_design(ROOT / "resources" / "examples" / "shapes-cnn.nnstudio")
        design.set_training(seed=seed, device="cpu", **({"epochs": args.epochs} if args.epochs else {}))
        design.set_dataset(seed=seed)
        clear_cache()
        first = f"{conv_layers(build_model(design))[0]}.weight"
        init = initial_weights(design)[first].numpy()
        start = time.perf_counter()
        probe = FirstAbove(start)
        trainer = Trainer(design, callbacks=[probe], publish_hz=0, publish_epoch_end=True)
        trainer.fit()
        total = time.perf_counter() - start
        final = trainer.last_telemetry.val_accuracy
        reached = f"{probe.reached:.1f} s (epoch {probe.epoch})" if probe.reached is not None else "never"
        print(f"seed {seed}: val accuracy {final:.3f} after {trainer.epoch} epochs in {total:.1f} s; "
              f">= {TARGET} first at {reached}", flush=True)
        w = trainer.model.state_dict()[first].detach().cpu().numpy()
        corr = sum(float(np.corrcoef(a.ravel(), b.ravel())[0, 1]) for a, b in zip(w, init, strict=True)) / len(w)
        layer = first.split(".")[0]
        print(f"  {layer}: low-frequency share {low_frequency_share(w):.2f} (start {low_frequency_share(init):.2f}), "
              f"correlation with the start {corr:.2f}; labels {', '.join(kernel_labels(trainer.model, layer))}",
              flush=True)


if __name__ == "__main__":
    main()
