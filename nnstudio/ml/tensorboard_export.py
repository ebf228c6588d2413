"""TensorBoard export of stored runs: per-epoch scalars and final weight histograms, one folder per run.

Uses PyTorch's `SummaryWriter`, which needs the optional `tensorboard` package (`pip install
'nnstudio[tensorboard]'`); without it the export says so in one line. Scalars are written at step =
epoch with the store's values: loss/train, loss/val, accuracy/train, accuracy/val, learning_rate,
grad_norm/total and grad_norm/<layer>. Histograms: every parameter tensor of the run's checkpoint, at the
run's last epoch. Settings and final metrics go to TensorBoard's HParams tab.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from nnstudio.runs import RunRecord, RunStore

SCALARS = (("loss/train", "train_loss"), ("loss/val", "val_loss"), ("accuracy/train", "train_accuracy"),
           ("accuracy/val", "val_accuracy"), ("learning_rate", "learning_rate"), ("grad_norm/total", "grad_norm"))


class TensorBoardUnavailable(Exception):
    """The optional tensorboard package is not installed."""


def _summary_writer() -> Any:
    try:
        import tensorboard  # noqa: F401 - SummaryWriter needs it; ask for it by name
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise TensorBoardUnavailable("TensorBoard export needs the tensorboard package: "
                                     "pip install 'nnstudio[tensorboard]'") from None
    return SummaryWriter


def run_folder_name(run: RunRecord) -> str:
    label = re.sub(r"[^A-Za-z0-9._=-]+", "_", run.name or run.design_name or "run").strip("_")[:60]
    return f"{label}-{run.uid}" if label else run.uid


def export_runs(store: RunStore, runs: list[RunRecord], folder: Path) -> list[Path]:
    """Write each run's events under `folder/<name>-<uid>/`; returns the folders written."""
    SummaryWriter = _summary_writer()
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for run in runs:
        target = folder / run_folder_name(run)
        writer = SummaryWriter(log_dir=str(target))
        try:
            history = store.history(run.uid)
            for row in history:
                for tag, key in SCALARS:
                    value = getattr(row, key)
                    if value is not None:
                        writer.add_scalar(tag, value, row.epoch, walltime=run.started_at + (row.elapsed or 0.0))
                for layer, norm in sorted(row.grad_norms.items()):
                    writer.add_scalar(f"grad_norm/{layer}", norm, row.epoch)
            last_epoch = history[-1].epoch if history else run.epochs
            _histograms(writer, store, run, last_epoch)
            _hparams(writer, run)
        finally:
            writer.close()
        written.append(target)
    return written


def _histograms(writer: Any, store: RunStore, run: RunRecord, step: int) -> None:
    from nnstudio.core.errors import NNStudioError

    from .run_restore import restore_run

    if not run.checkpoint:
        return
    try:
        checkpoint = restore_run(store, run)
    except NNStudioError:
        return  # a missing or changed checkpoint: the scalars still go out
    for name, tensor in sorted(checkpoint.state_dict.items()):
        if tensor.is_floating_point() and tensor.numel() > 0:
            writer.add_histogram(f"weights/{name}", tensor.detach().float().numpy(), step)


def _hparams(writer: Any, run: RunRecord) -> None:
    training = run.settings.get("training", {})
    hparams = {k: v for k, v in training.items() if isinstance(v, (int, float, str, bool))}
    hparams.update({f"sweep/{k}": v if isinstance(v, (int, float, str, bool)) else str(v)
                    for k, v in run.changes.items()})
    metrics = {f"final/{k}": v for k, v in (("val_loss", run.val_loss), ("val_accuracy", run.val_accuracy),
                                            ("train_loss", run.train_loss)) if v is not None}
    if metrics:
        writer.add_hparams(hparams, metrics, run_name=".")
