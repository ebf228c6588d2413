"""What the run store holds, as plain dataclasses: one `RunRecord` per run, one `EpochRecord` per epoch."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

STATUSES = ("running", "finished", "stopped", "failed", "interrupted")
METRICS = ("train_loss", "val_loss", "train_accuracy", "val_accuracy")


@dataclass
class RunRecord:
    uid: str
    name: str
    note: str
    design_file: str
    design_name: str
    design_json: str
    design_hash: str
    settings: dict[str, Any]
    seed: int | None
    device: str
    task: str
    started_at: float
    ended_at: float | None
    status: str
    message: str
    epochs: int
    steps: int
    train_loss: float | None
    val_loss: float | None
    train_accuracy: float | None
    val_accuracy: float | None
    checkpoint: str
    checkpoint_sha256: str
    sweep_uid: str = ""
    parent_uid: str = ""
    changes: dict[str, Any] = field(default_factory=dict)
    owner: str = ""  # host:pid:start of the process that trained it

    @property
    def duration(self) -> float | None:
        return None if self.ended_at is None else max(0.0, self.ended_at - self.started_at)

    def summary(self) -> dict[str, Any]:
        """The JSON-able view `nnstudio runs --json` prints (the design snapshot left out: it is long)."""
        out = {k: v for k, v in self.__dict__.items() if k != "design_json"}
        out["duration"] = self.duration
        return out


@dataclass
class EpochRecord:
    epoch: int
    step: int
    elapsed: float | None
    learning_rate: float | None
    train_loss: float | None
    val_loss: float | None
    train_accuracy: float | None
    val_accuracy: float | None
    grad_norm: float | None
    grad_norms: dict[str, float] = field(default_factory=dict)


def design_hash(design_json: str) -> str:
    """SHA-256 of the design file's text: equal designs (the writer's stable form) hash equal."""
    return hashlib.sha256(design_json.encode("utf-8", "surrogatepass")).hexdigest()


def finite(value: Any) -> float | None:
    """A metric as SQLite should keep it: a finite float, or NULL (NaN and infinities are not values)."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, allow_nan=False, default=str)
