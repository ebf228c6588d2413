"""Loss landscape and optimizer race: how fast the batched landscape is, and what racing costs.

1. Landscape grid points per second for the Playground example: the batched evaluation (`BatchedLoss`,
   which picks batched matmuls over the model's stacked weights for a chain of Linear layers — the
   Playground network is one — and `torch.func.functional_call` + `vmap` otherwise; chunks sized to a
   memory budget) ÷ a plain Python loop that loads each point's weights into the model and runs the loss
   under no_grad — same points, same data, same loss, rounds interleaved, medians. Measured with one
   intra-op thread (what the window gives the worker on a 2-core machine) and, where the machine has
   more cores, with all of them (the CLI's default); the loop always runs with one thread, its fastest.
2. Seconds for a 41×41 landscape of the digits CNN example (convolutions: vmap or the loop, whichever
   the first chunks show is faster).
3. The optimizer race: total steps/s of 4 optimizers racing (`MultiRun`, turns of epochs) ÷ the steps/s
   of one trainer running alone — 1.0 means racing four costs exactly four single runs.

    python bench/landscape_race.py [--threads 1,all] [--rounds 7] [--loop-points 300] [--race-epochs 20]
                                   [--cases playground,race,digits]

Prints figures only; it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nnstudio.io import load_design  # noqa: E402
from nnstudio.ml.landscape import (  # noqa: E402
    BatchedLoss,
    LossProblem,
    compute_landscape,
    grid_coefficients,
    random_directions,
)
from nnstudio.ml.race import MultiRun, race_contenders  # noqa: E402
from nnstudio.ml.trainer import Trainer  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[1] / "resources" / "examples"


def trained(name: str, epochs: int) -> Trainer:
    design = load_design(EXAMPLES / f"{name}.nnstudio")
    design.set_training(device="cpu")
    trainer = Trainer(design, publish_hz=0)
    trainer.fit(epochs)
    return trainer


@torch.no_grad()
def loop_rate(problem: LossProblem, center, d1, d2, coeffs: np.ndarray) -> float:
    """Points per second of the plain loop: load each point's weights, run the loss, read it."""
    model = problem.model
    model.eval()
    params = dict(model.named_parameters())
    started = time.perf_counter()
    for a, b in coeffs:
        for name, p in params.items():
            p.copy_(center[name] + float(a) * d1[name] + float(b) * d2[name])
        float(problem.loss_sum_fn(model(problem.x), problem.y)) / problem.samples
    seconds = time.perf_counter() - started
    for name, p in params.items():
        p.copy_(center[name])
    return len(coeffs) / seconds


def batched_rate(problem: LossProblem, center, d1, d2, coeffs: np.ndarray) -> tuple[float, str]:
    evaluate = BatchedLoss(problem)
    started = time.perf_counter()
    evaluate(center, [d1, d2], coeffs)
    return len(coeffs) / (time.perf_counter() - started), evaluate.used


def landscape_case(name: str, epochs: int, rounds: int, loop_points: int, samples: int | None = None,
                   threads: tuple[int, ...] = (1,)) -> None:
    """The batched rate at each thread count ÷ the plain loop's at one thread (its best: its ops are tiny,
    and more threads only make them wait on each other), measured in the same rounds."""
    trainer = trained(name, epochs)
    problem = LossProblem.from_trainer(trainer, max_samples=samples)
    center = {n: p.detach().clone() for n, p in problem.weights().items()}
    d1, d2 = random_directions(center, 0)
    coeffs = grid_coefficients(np.linspace(-1, 1, 41), np.linspace(-1, 1, 41))
    loop_coeffs = coeffs[np.linspace(0, len(coeffs) - 1, loop_points).astype(int)]
    looped: list[float] = []
    batched: dict[int, list[float]] = {n: [] for n in threads}
    seconds: dict[int, list[float]] = {n: [] for n in threads}
    used = chose = "?"
    before = torch.get_num_threads()
    try:
        for count in threads:  # warm both up first (one-time set-up: vmap's tracing, kernel choices, caches)
            torch.set_num_threads(count)
            batched_rate(problem, center, d1, d2, coeffs)
        torch.set_num_threads(1)
        loop_rate(problem, center, d1, d2, loop_coeffs[:20])
        for _ in range(rounds):
            torch.set_num_threads(1)
            looped.append(loop_rate(problem, center, d1, d2, loop_coeffs))
            for count in threads:
                torch.set_num_threads(count)
                rate, used = batched_rate(problem, center, d1, d2, coeffs)
                batched[count].append(rate)
                started = time.perf_counter()
                chose = compute_landscape(problem, grid=41, span=1.0).strategy
                seconds[count].append(time.perf_counter() - started)
    finally:
        torch.set_num_threads(before)
    lo = statistics.median(looped)
    params = sum(p.numel() for p in trainer.model.parameters())
    print(f"{name} ({params:,} parameters, loss on {problem.samples} training samples), "
          f"plain loop (1 thread) {lo:,.0f} points/s:")
    for count in threads:
        b = statistics.median(batched[count])
        ratios = ", ".join(f"{x / y:.1f}" for x, y in zip(batched[count], looped, strict=True))
        print(f"  {count} thread(s): batched ({used}) {b:,.0f} points/s   ratio {b / lo:.1f}x (rounds: {ratios})")
        print(f"    41x41 landscape (compute_landscape, incl. directions and centre, chose {chose}): "
              f"{statistics.median(seconds[count]):.3f} s (rounds: {', '.join(f'{s:.3f}' for s in seconds[count])})")


def race_case(epochs: int, rounds: int) -> None:
    design = load_design(EXAMPLES / "playground-circle.nnstudio")
    design.set_training(device="cpu")
    entries = [("sgd", 0.1), ("momentum", 0.1), ("nesterov", 0.1), ("adam", 0.01)]
    alone_rates, race_rates = [], []
    for _ in range(rounds):
        single = design.copy()
        single.set_training(optimizer="momentum", learning_rate=0.1)
        trainer = Trainer(single, publish_hz=0)
        started = time.perf_counter()
        trainer.fit(epochs)
        alone_rates.append(trainer.step / (time.perf_counter() - started))
        race = MultiRun(design, race_contenders(entries))
        started = time.perf_counter()
        race.run(epochs, epochs_per_turn=None)  # adaptive turns, as the window runs it
        seconds = time.perf_counter() - started
        race_rates.append(sum(s.steps for s in race.states) / seconds)
    a, r = statistics.median(alone_rates), statistics.median(race_rates)
    print(f"optimizer race, Playground example, {epochs} epochs, 4 optimizers (adaptive turns of ~0.1 s each):")
    print(f"  race {r:,.0f} steps/s in all   one trainer alone {a:,.0f} steps/s   "
          f"race / (4 x one trainer's time) = {r / a:.2f}")


def thread_counts(text: str) -> list[int]:
    cores = os.cpu_count() or 1
    counts = [cores if part.strip() == "all" else int(part) for part in text.split(",") if part.strip()]
    return list(dict.fromkeys(max(1, min(cores, n)) for n in counts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default="1,all",
                        help="torch intra-op threads for the batched Playground landscape, comma-separated; 'all' = "
                             "every core (default 1,all); the loop, the race and the digits CNN use the first")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--loop-points", type=int, default=300)
    parser.add_argument("--race-epochs", type=int, default=20)
    parser.add_argument("--digits-rounds", type=int, default=1, help="rounds of the (slow) digits CNN case")
    parser.add_argument("--cases", default="playground,race,digits", help="which cases, comma-separated")
    args = parser.parse_args()
    threads = thread_counts(args.threads)
    print(f"torch {torch.__version__}, CPU with {os.cpu_count()} core(s)")
    cases = set(args.cases.split(","))
    if "playground" in cases:
        landscape_case("playground-circle", 30, args.rounds, args.loop_points, threads=tuple(threads))
    torch.set_num_threads(threads[0])
    if "race" in cases:
        race_case(args.race_epochs, args.rounds)
    if "digits" in cases:
        landscape_case("digits-cnn", 3, args.digits_rounds, 20, samples=256)
        landscape_case("digits-cnn", 3, args.digits_rounds, 20)


if __name__ == "__main__":
    main()
