"""Run store cost: the window's Playground training with the run recorder ÷ without it, and store write rates.

Rounds alternate with / without the recorder (publications at the window's 30 Hz, and at every epoch end as
the CLI and sweeps publish) so drifts in machine load hit both; figures are medians. Then: epoch rows per
second through the writer thread, and runs listed per second by a reader.

    python bench/run_store_overhead.py [--rounds 5] [--epochs 60] [--threads 1]

Prints figures only; it asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nnstudio.io import load_design  # noqa: E402
from nnstudio.ml.run_recorder import RunRecorder  # noqa: E402
from nnstudio.ml.trainer import Trainer  # noqa: E402
from nnstudio.runs import RunStore  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[1] / "resources" / "examples" / "playground-circle.nnstudio"


def epochs_per_second(design, store: RunStore | None, folder: Path, epoch_end: bool) -> float:
    callbacks = [RunRecorder(store, checkpoint_dir=folder)] if store is not None else []
    trainer = Trainer(design, callbacks=callbacks, device="cpu", publish_hz=30.0, publish_epoch_end=epoch_end)
    started = time.perf_counter()
    trainer.fit()
    return design.training.epochs / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    design = load_design(EXAMPLE)
    design.set_training(epochs=args.epochs)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        store = RunStore(folder / "runs.sqlite")
        for epoch_end in (False, True):
            plain, recorded = [], []
            for _ in range(args.rounds):
                plain.append(epochs_per_second(design, None, folder, epoch_end))
                recorded.append(epochs_per_second(design, store, folder, epoch_end))
            p, r = statistics.median(plain), statistics.median(recorded)
            what = "30 Hz + every epoch end" if epoch_end else "30 Hz (the window)"
            print(f"Playground, publications {what}: with recorder {r:,.0f} epochs/s, without {p:,.0f} "
                  f"epochs/s, ratio {r / p:.3f} (includes one checkpoint per run)")
        uid = store.begin_run(design_json="{}", settings={})
        rows = 20_000
        started = time.perf_counter()
        for e in range(rows):
            store.log_epoch(uid, epoch=e, step=e, train_loss=1.0, val_loss=1.0, grad_norms={"a": 1.0, "b": 2.0})
        store.flush(None)
        seconds = time.perf_counter() - started
        print(f"writer thread: {rows / seconds:,.0f} epoch rows/s ({rows:,} rows in {seconds:.2f} s, "
              f"caller queued them in a fraction of that)")
        for i in range(500):
            store.begin_run(design_json="{}", settings={"i": i})
        store.flush(None)
        started = time.perf_counter()
        n = 20
        for _ in range(n):
            listed = store.runs()
        seconds = (time.perf_counter() - started) / n
        print(f"reader: lists {len(listed)} runs in {seconds * 1000:.1f} ms")
        store.close()


if __name__ == "__main__":
    main()
