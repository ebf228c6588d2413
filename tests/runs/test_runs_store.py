"""The run store: round trip, schema version and migration, bad files set aside, interrupted runs, writers."""

from __future__ import annotations

import math
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from nnstudio.runs import APPLICATION_ID, SCHEMA_VERSION, RunStore, StoreError
from nnstudio.runs import schema as runs_schema
from nnstudio.runs.writer import owner_token


def _begin(store: RunStore, **kw) -> str:
    base = {"design_json": '{"format": "nnstudio.design"}\n', "settings": {"training": {"learning_rate": 0.1}},
            "design_file": "d.nnstudio", "seed": 3, "device": "cpu", "task": "binary"}
    base.update(kw)
    return store.begin_run(**base)


def test_round_trip_of_a_run_and_its_history(tmp_path: Path) -> None:
    with RunStore(tmp_path / "runs.sqlite") as store:
        uid = _begin(store, name="first")
        store.log_epoch(uid, epoch=1, step=25, train_loss=0.7, val_loss=0.69, val_accuracy=0.5,
                        learning_rate=0.1, grad_norms={"fc1": 3.0, "out": 4.0})
        store.log_epoch(uid, epoch=2, step=50, train_loss=0.5, val_loss=float("nan"), val_accuracy=0.75)
        store.log_epoch(uid, epoch=2, step=50, train_loss=0.4, val_loss=0.45, val_accuracy=0.8)  # replaces
        store.finish_run(uid, "finished", checkpoint="checkpoints/x.safetensors", checkpoint_sha256="ab")
        assert store.flush()
        (run,) = store.runs(design_file="d.nnstudio")
        assert store.runs(design_file="other.nnstudio") == []
        history = store.history(uid)
        assert store.errors == []
    assert (run.name, run.status, run.seed, run.epochs, run.steps) == ("first", "finished", 3, 2, 50)
    assert run.settings == {"training": {"learning_rate": 0.1}}
    assert run.val_accuracy == pytest.approx(0.8) and run.train_loss == pytest.approx(0.4)
    assert run.ended_at is not None and run.ended_at >= run.started_at
    assert [h.epoch for h in history] == [1, 2]
    assert history[0].grad_norm == pytest.approx(5.0) and history[0].grad_norms == {"fc1": 3.0, "out": 4.0}
    assert history[1].val_loss == pytest.approx(0.45)


def test_nan_metrics_are_stored_as_null(tmp_path: Path) -> None:
    with RunStore(tmp_path / "runs.sqlite") as store:
        uid = _begin(store)
        store.log_epoch(uid, epoch=1, step=1, train_loss=float("inf"), val_loss=float("nan"))
        store.flush()
        (h,) = store.history(uid)
    assert h.train_loss is None and h.val_loss is None


def test_fresh_store_carries_its_identity_and_version(tmp_path: Path) -> None:
    RunStore(tmp_path / "runs.sqlite").close()
    conn = sqlite3.connect(tmp_path / "runs.sqlite")
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def _v1_store(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(runs_schema._V1)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO runs (uid, design_json, design_hash, settings_json, started_at, status) "
                 "VALUES ('old1', '{}', 'h', '{}', 1.0, 'finished')")
    conn.commit()
    conn.close()


def test_version_1_store_migrates_forward_keeping_its_runs(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    _v1_store(path)
    with RunStore(path) as store:
        (old,) = store.runs()
        uid = _begin(store, sweep_uid="sweep-x", parent_uid="old1")
        store.flush()
        new = store.run(uid)
    assert old.uid == "old1" and old.sweep_uid == "" and old.parent_uid == ""
    assert (new.sweep_uid, new.parent_uid) == ("sweep-x", "old1")
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_newer_store_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    RunStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match=f"version {SCHEMA_VERSION + 5}.*up to {SCHEMA_VERSION}"):
        RunStore(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if "set-aside" in p.name) == []


@pytest.mark.parametrize("kind", ["garbage", "foreign", "truncated"])
def test_bad_store_file_is_set_aside_never_deleted(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "runs.sqlite"
    if kind == "garbage":
        path.write_bytes(b"this is not a database at all\n" * 10)
    elif kind == "foreign":
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE invoices (id INTEGER, amount REAL)")
        conn.execute("INSERT INTO invoices VALUES (1, 9.5)")
        conn.commit()
        conn.close()
    else:
        RunStore(path).close()
        data = path.read_bytes()
        path.write_bytes(data[:100] + b"\xff" * 50)  # header intact, the rest damaged
    original = path.read_bytes()
    with RunStore(path) as store:
        assert "set aside" in store.notice and "nothing was deleted" in store.notice
        uid = _begin(store)
        store.flush()
        assert [r.uid for r in store.runs()] == [uid]
    (aside,) = [p for p in tmp_path.iterdir() if ".set-aside-" in p.name and not p.name.endswith(("-wal", "-shm"))]
    assert aside.read_bytes() == original
    if kind == "foreign":
        assert sqlite3.connect(aside).execute("SELECT amount FROM invoices").fetchone() == (9.5,)


def test_run_of_a_vanished_process_is_marked_interrupted(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(child.stdout)
    host, _, _ = owner_token().split(":")
    with RunStore(path) as store:
        dead = _begin(store)
        alive = _begin(store)
        store.flush()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE runs SET owner = ? WHERE uid = ?", (f"{host}:{dead_pid}:1", dead))
    conn.commit()
    conn.close()
    with RunStore(path) as store:
        assert store.run(dead).status == "interrupted"
        assert "ended while this run was training" in store.run(dead).message
        assert store.run(alive).status == "running"  # this process is alive: its run is left alone


def test_one_bad_write_does_not_lose_the_others(tmp_path: Path) -> None:
    errors: list[str] = []
    with RunStore(tmp_path / "runs.sqlite", on_error=errors.append) as store:
        uid = _begin(store)
        store.log_epoch("no-such-run", epoch=1, step=1, train_loss=1.0)  # violates NOT NULL run_id
        store.log_epoch(uid, epoch=1, step=1, train_loss=0.5)
        store.flush()
        assert [h.train_loss for h in store.history(uid)] == [0.5]
    assert len(errors) == 1 and "write failed" in errors[0]


def test_rename_note_and_delete(tmp_path: Path) -> None:
    with RunStore(tmp_path / "runs.sqlite") as store:
        ckpt = tmp_path / "checkpoints" / "a.safetensors"
        ckpt.parent.mkdir()
        ckpt.write_bytes(b"x")
        keep, gone = _begin(store), _begin(store)
        store.log_epoch(gone, epoch=1, step=1)
        store.finish_run(gone, "stopped", checkpoint="checkpoints/a.safetensors")
        store.update_run(keep, name="baseline", note="tanh, lr 0.03")
        store.delete_run(gone)
        store.flush()
        assert [(r.uid, r.name, r.note) for r in store.runs()] == [(keep, "baseline", "tanh, lr 0.03")]
        assert store.history(gone) == []
        with pytest.raises(ValueError):
            store.update_run(keep, status="finished")
    assert not ckpt.exists()


_WRITER = textwrap.dedent("""
    import sys
    from nnstudio.runs import RunStore
    store = RunStore(sys.argv[1])
    for i in range(int(sys.argv[2])):
        uid = store.begin_run(design_json="{}", settings={"i": i}, design_file=sys.argv[3])
        for e in range(1, 4):
            store.log_epoch(uid, epoch=e, step=e * 10, train_loss=1.0 / e)
        store.finish_run(uid, "finished")
        if i % 10 == 0:
            store.flush()
    store.close()
    print("errors", len(store.errors))
""")


def test_two_processes_and_a_reader_share_one_store(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    RunStore(path).close()
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(path), "60", f"w{i}.nnstudio"],
                              stdout=subprocess.PIPE, text=True) for i in range(2)]
    seen = 0
    with RunStore(path) as reader:
        while any(p.poll() is None for p in procs):
            seen = max(seen, len(reader.runs()))  # reads while both write: never an error
        outs = [p.communicate(timeout=120)[0] for p in procs]
        runs = reader.runs()
    assert all(p.returncode == 0 for p in procs) and outs == ["errors 0\n", "errors 0\n"]
    assert len(runs) == 120 and {r.design_file for r in runs} == {"w0.nnstudio", "w1.nnstudio"}
    assert all(r.status == "finished" and r.epochs == 3 and math.isclose(r.train_loss, 1 / 3) for r in runs)


def test_run_store_imports_neither_torch_nor_qt() -> None:
    code = ("import sys, nnstudio.runs, nnstudio.runs.store, nnstudio.runs.writer; "
            "print([m for m in ('torch', 'PySide6', 'pyqtgraph') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr


def test_a_busy_store_is_never_set_aside(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nnstudio.runs import writer

    path = tmp_path / "runs.sqlite"
    RunStore(path).close()
    before = path.read_bytes()

    def busy(conn) -> int:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(writer, "prepare", busy)
    with pytest.raises(StoreError, match="database is locked"):
        RunStore(path)
    assert path.read_bytes() == before and not [p for p in tmp_path.iterdir() if "set-aside" in p.name]
