"""Health findings of every bundled example, trained to its design's epochs (healthy runs should show none).

    python bench/health_examples.py [NAME ...]

Prints each example's findings (or "none") and its final losses; asserts nothing.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nnstudio.io import load_design  # noqa: E402
from nnstudio.ml.health import HealthMonitor  # noqa: E402
from nnstudio.ml.trainer import Trainer  # noqa: E402


def main() -> None:
    torch.set_num_threads(1)
    names = sys.argv[1:] or sorted(p.stem for p in (ROOT / "resources" / "examples").glob("*.nnstudio"))
    for name in names:
        design = load_design(ROOT / "resources" / "examples" / f"{name}.nnstudio")
        monitor = HealthMonitor()
        start = time.perf_counter()
        trainer = Trainer(design, callbacks=[monitor], publish_hz=30, publish_epoch_end=True, device="cpu")
        trainer.fit()
        t = trainer.last_telemetry
        findings = monitor.findings()
        print(f"{name}: {trainer.epoch} epochs in {time.perf_counter() - start:.1f} s, train loss {t.train_loss:.4g}, "
              f"val loss {t.val_loss:.4g}; findings: {', '.join(f.line for f in findings) or 'none'}", flush=True)


if __name__ == "__main__":
    main()
