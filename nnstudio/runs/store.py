"""`RunStore`: the run store's one API — writes queue to its writer thread, reads use their own connection.

    store = RunStore(path)                  # opens (creates, migrates, sets aside a bad file) off-thread
    uid = store.begin_run(design_json=..., settings={...}, ...)
    store.log_epoch(uid, epoch=1, step=25, train_loss=0.4, ...)
    store.finish_run(uid, "finished", checkpoint="...", ...)
    store.runs(design_file="circle.nnstudio")    # RunRecords, newest first

Every method that writes returns at once; `flush()` waits for the disk. Reads see every write this
store has flushed and, through WAL, every commit of other processes on the same file.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .records import METRICS, EpochRecord, RunRecord, design_hash, dumps, finite
from .writer import StoreWriter, connect, owner_token


class StoreError(Exception):
    """The run store cannot be used (a newer schema version, an unwritable folder, ...)."""


_RUN_COLUMNS = (
    "uid", "name", "note", "design_file", "design_name", "design_json", "design_hash", "settings_json", "seed",
    "device", "task", "started_at", "ended_at", "status", "message", "epochs", "steps", "train_loss",
    "val_loss", "train_accuracy", "val_accuracy", "checkpoint", "checkpoint_sha256", "sweep_uid", "parent_uid",
    "changes_json", "owner",
)
_EPOCH_COLUMNS = ("epoch", "step", "elapsed", "learning_rate", "train_loss", "val_loss", "train_accuracy",
                  "val_accuracy", "grad_norm", "grad_norms_json")
EDITABLE = ("name", "note")


class RunStore:
    def __init__(self, path: str | os.PathLike[str], *, on_error: Callable[[str], None] | None = None,
                 wait: bool = True) -> None:
        self.path = Path(path)
        self._writer = StoreWriter(self.path, on_error=on_error)
        self._read_lock = threading.Lock()
        self._reader = None
        if wait:
            self.wait_ready()

    # ---- state ---------------------------------------------------------------------------------------

    def wait_ready(self, timeout: float | None = 30.0) -> None:
        if not self._writer.wait_ready(timeout):
            raise StoreError(f"the run store {self.path} did not open within {timeout:.0f} s")
        if self._writer.failure is not None:
            failure = self._writer.failure
            raise StoreError(f"the run store {self.path} cannot be used: {failure}") from None

    @property
    def notice(self) -> str:
        """Set when a bad file was set aside on opening: tell the user once."""
        return self._writer.notice

    @property
    def errors(self) -> list[str]:
        return list(self._writer.errors)

    def flush(self, timeout: float | None = 30.0) -> bool:
        return self._writer.flush(timeout)

    def close(self) -> None:
        self._writer.close()
        with self._read_lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- writes (queued) -----------------------------------------------------------------------------

    def begin_run(self, *, design_json: str, settings: dict[str, Any], design_file: str = "",
                  design_name: str = "", name: str = "", seed: int | None = None, device: str = "",
                  task: str = "", sweep_uid: str = "", parent_uid: str = "",
                  changes: dict[str, Any] | None = None, started_at: float | None = None) -> str:
        uid = uuid.uuid4().hex[:12]
        row = {
            "uid": uid, "name": name, "design_file": design_file, "design_name": design_name,
            "design_json": design_json, "design_hash": design_hash(design_json), "settings_json": dumps(settings),
            "seed": seed, "device": device, "task": task,
            "started_at": time.time() if started_at is None else started_at, "status": "running",
            "owner": owner_token(), "sweep_uid": sweep_uid, "parent_uid": parent_uid,
            "changes_json": dumps(changes or {}),
        }
        sql = f"INSERT INTO runs ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})"
        values = tuple(row.values())
        self._writer.submit(lambda conn: conn.execute(sql, values))
        return uid

    def log_epoch(self, uid: str, *, epoch: int, step: int, elapsed: float | None = None,
                  learning_rate: float | None = None, train_loss: float | None = None,
                  val_loss: float | None = None, train_accuracy: float | None = None,
                  val_accuracy: float | None = None, grad_norms: dict[str, float] | None = None) -> None:
        """One epoch's measurements (a later call for the same epoch replaces the earlier one)."""
        norms = {k: v for k, v in ((k, finite(v)) for k, v in (grad_norms or {}).items()) if v is not None}
        total = finite(sum(v * v for v in norms.values()) ** 0.5) if norms else None
        values = (uid, int(epoch), int(step), finite(elapsed), finite(learning_rate), finite(train_loss),
                  finite(val_loss), finite(train_accuracy), finite(val_accuracy), total, dumps(norms))
        sql = (f"INSERT INTO epochs (run_id, {', '.join(_EPOCH_COLUMNS)}) "
               f"VALUES ((SELECT id FROM runs WHERE uid = ?), {', '.join('?' * len(_EPOCH_COLUMNS))}) "
               f"ON CONFLICT (run_id, epoch) DO UPDATE SET "
               + ", ".join(f"{c} = excluded.{c}" for c in _EPOCH_COLUMNS[1:]))
        metrics = (finite(train_loss), finite(val_loss), finite(train_accuracy), finite(val_accuracy))

        def write(conn: Any) -> None:
            conn.execute(sql, values)
            conn.execute("UPDATE runs SET epochs = max(epochs, ?), steps = ?, train_loss = ?, val_loss = ?, "
                         "train_accuracy = ?, val_accuracy = ? WHERE uid = ?", (int(epoch), int(step), *metrics, uid))

        self._writer.submit(write)

    def finish_run(self, uid: str, status: str, *, message: str = "", checkpoint: str = "",
                   checkpoint_sha256: str = "", ended_at: float | None = None) -> None:
        ended = time.time() if ended_at is None else ended_at
        values = (status, message, checkpoint, checkpoint_sha256, ended, uid)
        self._writer.submit(lambda conn: conn.execute(
            "UPDATE runs SET status = ?, message = ?, checkpoint = ?, checkpoint_sha256 = ?, ended_at = ? "
            "WHERE uid = ?", values))

    def update_run(self, uid: str, **fields: str) -> None:
        """Rename a run or change its note."""
        unknown = set(fields) - set(EDITABLE)
        if unknown:
            raise ValueError(f"only {', '.join(EDITABLE)} can be changed, not {', '.join(sorted(unknown))}")
        if not fields:
            return
        sets = ", ".join(f"{k} = ?" for k in fields)
        values = (*[str(v) for v in fields.values()], uid)
        self._writer.submit(lambda conn: conn.execute(f"UPDATE runs SET {sets} WHERE uid = ?", values))

    def delete_run(self, uid: str) -> None:
        """Delete a run, its history and its checkpoint file (when the store holds it)."""
        folder = self.path.parent.resolve()

        def write(conn: Any) -> None:
            row = conn.execute("SELECT checkpoint FROM runs WHERE uid = ?", (uid,)).fetchone()
            conn.execute("DELETE FROM epochs WHERE run_id = (SELECT id FROM runs WHERE uid = ?)", (uid,))
            conn.execute("DELETE FROM runs WHERE uid = ?", (uid,))
            if row and row[0]:
                checkpoint = Path(row[0])
                checkpoint = (checkpoint if checkpoint.is_absolute() else folder / checkpoint).resolve()
                if folder in checkpoint.parents and checkpoint.is_file():
                    checkpoint.unlink()

        self._writer.submit(write)

    def add_sweep(self, spec: dict[str, Any], design_file: str = "") -> str:
        uid = "sweep-" + uuid.uuid4().hex[:10]
        values = (uid, time.time(), design_file, dumps(spec))
        self._writer.submit(lambda conn: conn.execute(
            "INSERT INTO sweeps (uid, created_at, design_file, spec_json) VALUES (?, ?, ?, ?)", values))
        return uid

    # ---- reads ---------------------------------------------------------------------------------------

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._read_lock:
            if self._reader is None:
                self._reader = connect(self.path)
            return self._reader.execute(sql, params).fetchall()

    def runs(self, design_file: str | None = None, sweep_uid: str | None = None) -> list[RunRecord]:
        """Runs, newest first; only those of one design file or one sweep when given."""
        where, params = [], []
        if design_file is not None:
            where.append("design_file = ?")
            params.append(design_file)
        if sweep_uid is not None:
            where.append("sweep_uid = ?")
            params.append(sweep_uid)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = self._query(f"SELECT {', '.join(_RUN_COLUMNS)} FROM runs{clause} ORDER BY started_at DESC, id DESC",
                           tuple(params))
        return [_run_record(row) for row in rows]

    def run(self, uid: str) -> RunRecord | None:
        rows = self._query(f"SELECT {', '.join(_RUN_COLUMNS)} FROM runs WHERE uid = ?", (uid,))
        return _run_record(rows[0]) if rows else None

    def history(self, uid: str) -> list[EpochRecord]:
        rows = self._query(f"SELECT {', '.join(_EPOCH_COLUMNS)} FROM epochs WHERE run_id = "
                           f"(SELECT id FROM runs WHERE uid = ?) ORDER BY epoch", (uid,))
        return [EpochRecord(*row[:-1], grad_norms=json.loads(row[-1] or "{}")) for row in rows]

    def sweeps(self) -> list[dict[str, Any]]:
        rows = self._query("SELECT uid, created_at, design_file, spec_json FROM sweeps ORDER BY created_at")
        return [{"uid": u, "created_at": c, "design_file": d, "spec": json.loads(s)} for u, c, d, s in rows]

    def checkpoint_path(self, record: RunRecord) -> Path | None:
        if not record.checkpoint:
            return None
        path = Path(record.checkpoint)
        return path if path.is_absolute() else self.path.parent / path


def _run_record(row: tuple[Any, ...]) -> RunRecord:
    data = dict(zip(_RUN_COLUMNS, row, strict=True))
    data["settings"] = json.loads(data.pop("settings_json") or "{}")
    data["changes"] = json.loads(data.pop("changes_json") or "{}")
    for key in METRICS:
        data[key] = finite(data[key])
    return RunRecord(**data)
