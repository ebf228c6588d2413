"""Playground recipe vs a port of Playground: epochs to a threshold and test loss, over many seeds, side by side.

For each dataset and seed, the same data (NN Studio's generator, noise 0, 500 points, 50 % split) trains
twice, each side with its own random initial weights: once with NN Studio's Trainer under
`training.recipe = "playground"`, once with the float64 port of Playground's nn.ts / playground.ts in
tests/ml/playground_port.py (Playground's initialisation). Networks as the issue measured them: tanh,
SGD 0.03, batch 10; [4, 2] on x1, x2 for circle, xor and gauss; [8, 8, 8] on all seven features for spiral.

Printed per dataset: the first epoch whose test loss is < 0.05 or accuracy >= 0.98 ("never" within the
epochs run), and the test loss at epochs 100 and 300, as p5 / p10 / median / p90 / p95 for each side, and
whether NN Studio's median lies inside the port's p5–p95 band.

    python bench/playground_stats.py [--seeds 20] [--epochs 300] [--datasets circle,xor,gauss,spiral]

Prints figures only; it asserts nothing. The full run (20 seeds x 4 datasets x 300 epochs) takes a few
minutes on one core.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "ml"))

from playground_port import PortNetwork, epochs_to_threshold, playground_init  # noqa: E402

from nnstudio.core import Design  # noqa: E402
from nnstudio.data import load_dataset  # noqa: E402
from nnstudio.ml.callbacks import Callback  # noqa: E402
from nnstudio.ml.trainer import Trainer  # noqa: E402

ALL_FEATURES = ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"]
CASES = {
    "circle": ((4, 2), ["x1", "x2"]),
    "xor": ((4, 2), ["x1", "x2"]),
    "gauss": ((4, 2), ["x1", "x2"]),
    "spiral": ((8, 8, 8), ALL_FEATURES),
}


def design_for(name: str, seed: int) -> Design:
    hidden, features = CASES[name]
    design = Design(f"stats {name}")
    prev = design.add_layer("Input", params={"features": len(features)})
    for units in hidden:
        layer = design.add_layer("Dense", params={"units": units, "activation": "tanh"})
        design.connect(prev.id, layer.id)
        prev = layer
    out = design.add_layer("Output", params={"task": "binary", "units": 1})
    design.connect(prev.id, out.id)
    design.set_dataset(source="playground", name=name, samples=500, noise=0.0, train_percent=50, seed=seed,
                       features=features)
    design.set_training(recipe="playground", learning_rate=0.03, batch_size=10, seed=seed, device="cpu")
    return design


class _PerEpoch(Callback):
    def __init__(self) -> None:
        self.loss: list[float] = []
        self.accuracy: list[float] = []

    def on_publish(self, telemetry) -> None:
        if telemetry.reason in ("epoch_end", "end") and len(self.loss) < telemetry.epoch:
            self.loss.append(telemetry.val_loss)
            self.accuracy.append(telemetry.val_accuracy)


def run_nnstudio(name: str, seed: int, epochs: int) -> tuple[list[float], list[float]]:
    design = design_for(name, seed)
    # Without the heatmap grid each per-epoch publication is just the two evaluations this needs.
    dataset = dataclasses.replace(load_dataset(design.dataset), grid=None)
    record = _PerEpoch()
    Trainer(design, dataset, callbacks=[record], publish_hz=0, publish_epoch_end=True).fit(epochs)
    return record.loss, record.accuracy


def run_port(name: str, seed: int, epochs: int) -> tuple[list[float], list[float]]:
    design = design_for(name, seed)
    ds = load_dataset(design.dataset)
    x, xv = ds.x_train.astype(np.float64), ds.x_val.astype(np.float64)
    t, tv = 2.0 * ds.y_train - 1.0, 2.0 * ds.y_val - 1.0
    hidden, features = CASES[name]
    # Its own initial weights, from a stream unrelated to the trainer's.
    weights, biases = playground_init([len(features), *hidden, 1], np.random.default_rng([seed, 7919]))
    net = PortNetwork(weights, biases, "tanh", "tanh")
    losses, accuracies = [], []
    for _ in range(epochs):
        net.one_step(x, t, 10, 0.03, 0.0)
        losses.append(net.loss(xv, tv))
        accuracies.append(net.accuracy(xv, tv))
    return losses, accuracies


PERCENTILES = (5, 10, 50, 90, 95)


def _pct(values: list[float]) -> list[float]:
    # "never" (inf) sorts last, as it should: a percentile that lands on it reads "never".
    ordered = np.sort(np.asarray(values, dtype=np.float64))
    out = []
    for p in PERCENTILES:
        rank = (len(ordered) - 1) * p / 100
        lo, hi = math.floor(rank), math.ceil(rank)
        if math.isinf(ordered[hi]) or math.isinf(ordered[lo]):
            out.append(ordered[hi] if math.isinf(ordered[hi]) else ordered[lo])
        else:
            out.append(float(ordered[lo] + (ordered[hi] - ordered[lo]) * (rank - lo)))
    return out


def _show(values: list[float], digits: int) -> str:
    return " / ".join("never" if math.isinf(v) else (f"{v:.0f}" if digits == 0 else f"{v:.{digits}f}")
                      for v in values)


def _inside(ours: list[float], band: list[float]) -> str:
    median, low, high = ours[2], band[0], band[-1]
    if math.isinf(median):
        return "yes" if math.isinf(high) else "NO"
    return "yes" if low <= median <= high else "NO"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--datasets", default="circle,xor,gauss,spiral")
    args = parser.parse_args()
    torch.set_num_threads(1)
    names = [n.strip() for n in args.datasets.split(",") if n.strip()]
    marks = [e for e in (100, 300) if e <= args.epochs]
    print(f"{args.seeds} seeds, {args.epochs} epochs; columns are p5 / p10 / median / p90 / p95")
    started = time.perf_counter()
    for name in names:
        results = {"NN Studio": [], "port": []}
        for seed in range(args.seeds):
            results["NN Studio"].append(run_nnstudio(name, seed, args.epochs))
            results["port"].append(run_port(name, seed, args.epochs))
        print(f"\n{name} {list(CASES[name][0])} on {len(CASES[name][1])} features")
        rows = {}
        for side, runs in results.items():
            rows[side] = {"epochs to test loss < 0.05 or accuracy >= 0.98":
                          _pct([epochs_to_threshold(loss, acc) for loss, acc in runs])}
            for mark in marks:
                rows[side][f"test loss at epoch {mark}"] = _pct([loss[mark - 1] for loss, _ in runs])
        for metric in rows["port"]:
            digits = 0 if metric.startswith("epochs") else 4
            print(f"  {metric}")
            for side in ("NN Studio", "port"):
                print(f"    {side:<10} {_show(rows[side][metric], digits)}")
            print(f"    NN Studio's median inside the port's p5-p95 band: "
                  f"{_inside(rows['NN Studio'][metric], rows['port'][metric])}")
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
