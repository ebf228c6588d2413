"""`RunRecorder`: the Trainer callback that writes one fit into the run store (and its checkpoint beside it).

It records, from the trainer's own telemetry: the design snapshot and its hash, the full settings, seed
and device at fit start; one row per epoch (train/val loss and accuracy, learning rate, per-layer gradient
norms) from each publication (the last publication of an epoch wins, so a trainer that publishes at every
epoch end — the CLI and sweeps do — stores exact epoch-end figures, and the window's 30 Hz publications
give the latest figure of each epoch); and at fit end the outcome (finished / stopped / failed with its
message) and, when asked, the checkpoint (safetensors) with its SHA-256. Writes are queued to the store's
writer thread, so the training thread never waits for the disk, except at fit end (checkpoint, flush).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from nnstudio.runs import RunStore

from .callbacks import Callback


class RunRecorder(Callback):
    def __init__(self, store: RunStore, *, design_file: str = "", name: str = "", sweep_uid: str = "",
                 parent_uid: str = "", changes: dict[str, Any] | None = None,
                 checkpoint_dir: str | os.PathLike[str] | None = None) -> None:
        self.store = store
        self.design_file = design_file
        self.name = name
        self.sweep_uid = sweep_uid
        self.parent_uid = parent_uid
        self.changes = dict(changes or {})
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
        self.uid: str | None = None
        self.status: str | None = None
        self.checkpoint: Path | None = None
        self._error: str = ""
        self._start_step = 0

    def on_fit_start(self) -> None:
        from nnstudio.io import dumps

        trainer = self.trainer
        assert trainer is not None
        self._error = ""
        self.status = None
        design = trainer.design
        self._start_step = trainer.step
        self.uid = self.store.begin_run(
            design_json=dumps(design), design_file=self.design_file, design_name=design.name,
            settings={"training": trainer.config.to_dict(), "dataset": design.dataset.to_dict(),
                      "resumed_at": {"epoch": trainer.epoch, "step": trainer.step}},
            name=self.name or default_name(trainer.config), seed=trainer.config.seed, device=str(trainer.device),
            task=trainer.task,
            sweep_uid=self.sweep_uid, parent_uid=self.parent_uid, changes=self.changes)

    def on_publish(self, telemetry: Any) -> None:
        if self.uid is None or telemetry.reason == "start" or telemetry.step == 0:
            return
        # Between epochs the telemetry names the epoch just finished; mid-epoch, the one in progress.
        self.store.log_epoch(
            self.uid, epoch=telemetry.epoch, step=telemetry.step, elapsed=telemetry.elapsed,
            learning_rate=telemetry.learning_rate, train_loss=telemetry.train_loss, val_loss=telemetry.val_loss,
            train_accuracy=telemetry.train_accuracy, val_accuracy=telemetry.val_accuracy,
            grad_norms=dict(telemetry.grad_norms))

    def on_error(self, error: BaseException) -> None:
        self._error = str(error) or type(error).__name__

    def on_fit_end(self) -> None:
        if self.uid is None:
            return
        trainer = self.trainer
        assert trainer is not None
        final = trainer.last_telemetry
        if not self._error and trainer.step == self._start_step:
            # Train pressed and stopped before one step: nothing was learnt, nothing to remember.
            self.store.delete_run(self.uid)
            self.store.flush()
            self.uid, self.status = None, "empty"
            return
        if self._error:
            status, message = "failed", self._error
        elif final is None or trainer.epoch < final.epochs:
            status, message = "stopped", f"stopped after {trainer.epoch} epochs"
        else:
            status, message = "finished", ""
        checkpoint, digest = "", ""
        if self.checkpoint_dir is not None and status != "failed":
            from nnstudio.core.errors import SaveError

            path = self.checkpoint_dir / f"{self.uid}.safetensors"
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                trainer.save_checkpoint(path)
                digest = file_sha256(path)
                checkpoint = _relative(path, self.store.path.parent)
                self.checkpoint = path
            except (SaveError, OSError) as exc:
                message = f"{message}; the checkpoint could not be saved: {exc}".lstrip("; ")
        self.status = status
        self.store.finish_run(self.uid, status, message=message, checkpoint=checkpoint, checkpoint_sha256=digest)
        self.store.flush()  # the run is on disk before fit() returns (a CLI may exit right after)


def default_name(config: Any) -> str:
    """'adam, lr 0.03, seed 0': what a run is called until the user renames it."""
    return f"{config.optimizer}, lr {config.learning_rate:g}, seed {config.seed}"


def recorder_for(design_path: str | os.PathLike[str], store_path: str | os.PathLike[str] | None = None,
                 **options: Any) -> RunRecorder:
    """A recorder into the design's run store (or `store_path`), keeping checkpoints in the store's folder."""
    from nnstudio.runs import checkpoint_folder, design_key, store_path_for

    path = Path(store_path) if store_path else store_path_for(design_path)
    return RunRecorder(RunStore(path), design_file=design_key(design_path), checkpoint_dir=checkpoint_folder(path),
                       **options)


def file_sha256(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _relative(path: Path, folder: Path) -> str:
    try:
        return str(path.resolve().relative_to(folder.resolve()))
    except ValueError:
        return str(path.resolve())
