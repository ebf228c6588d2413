"""The run store's one writer: a thread that opens the file (create, migrate, set aside) and applies writes.

Callers never wait for the disk: each write is queued and the thread applies whatever has queued up in
one transaction (one savepoint per write, so a bad write does not take the others with it). SQLite's WAL
journal lets other processes read meanwhile, and the busy timeout lets two writers (two windows, a sweep
and a window) take turns. A write that fails is recorded in `errors` and handed to `on_error`; it never
raises into the training thread.

Opening: a file that is not SQLite, is damaged, or is another program's database is renamed to
`runs.sqlite.set-aside-<time>` (with its -wal/-shm files) and a new store is started; `notice` says so.
A store written by a newer NN Studio is refused (`StoreVersionError`), never touched. Runs left "running"
by a process of this computer that no longer exists are marked "interrupted".
"""

from __future__ import annotations

import contextlib
import os
import queue
import socket
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .schema import ForeignStoreError, StoreVersionError, identify, prepare

BUSY_TIMEOUT_S = 15.0
SQLITE_MAGIC = b"SQLite format 3\x00"
_STOP = object()

Write = Callable[[sqlite3.Connection], None]


def connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    if read_only:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S,
                               isolation_level=None, check_same_thread=False)
    else:
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def owner_token() -> str:
    """host:pid:start — the start time (Linux) tells a reused process id from the run's own process."""
    return f"{socket.gethostname()}:{os.getpid()}:{_process_start(os.getpid())}"


def owner_alive(token: str) -> bool | None:
    """True/False for a process of this computer; None when the run belongs to another computer."""
    host, _, rest = token.partition(":")
    pid_text, _, start = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return None
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by another user
    except OSError:
        return False
    return not start or _process_start(pid) in ("", start)


def _process_start(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        return fields[19].decode()
    except (OSError, IndexError):
        return ""


def set_aside(path: Path) -> Path:
    """Rename a store file (and its journal files) out of the way; nothing is deleted."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.set-aside-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.set-aside-{stamp}-{n}")
    os.replace(path, target)
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            os.replace(side, target.with_name(target.name + suffix))
    return target


def open_for_writing(path: Path) -> tuple[sqlite3.Connection, str]:
    """Open (creating, migrating or setting aside) the store; returns the connection and a notice ('' if none)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    notice = ""
    for attempt in range(2):
        reason = _unreadable_reason(path)
        conn = None
        if reason is None:
            try:
                conn = connect(path)
                identify(conn)
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
                prepare(conn)
                check = conn.execute("PRAGMA quick_check").fetchone()[0]
                if check != "ok":
                    reason = f"it is damaged ({check})"
            except ForeignStoreError as exc:
                reason = str(exc)
            except StoreVersionError:
                if conn is not None:
                    conn.close()
                raise
            except sqlite3.DatabaseError as exc:
                if conn is not None:
                    conn.close()
                if not _is_damage(exc):  # busy, locked, no permission: the file is fine, leave it alone
                    raise
                reason = f"it is not a readable SQLite database ({exc})"
                conn = None
        if reason is None:
            return conn, notice
        if conn is not None:
            conn.close()
        if attempt:
            break
        moved = set_aside(path)
        notice = (f"the run store {path} could not be used: {reason}. It was set aside as {moved.name} "
                  f"(nothing was deleted) and a new store was started.")
    raise sqlite3.DatabaseError(f"could not create a run store at {path}")


def _is_damage(exc: sqlite3.DatabaseError) -> bool:
    text = str(exc).lower()
    return any(word in text for word in ("not a database", "malformed", "corrupt", "encrypted"))


def _unreadable_reason(path: Path) -> str | None:
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"it cannot be read ({exc.strerror or exc})"
    if head and head != SQLITE_MAGIC[: len(head)] or 0 < len(head) < len(SQLITE_MAGIC):
        return "it is not an SQLite database"
    return None


def mark_interrupted(conn: sqlite3.Connection) -> int:
    """Runs still 'running' whose process of this computer has gone: mark them interrupted."""
    rows = conn.execute("SELECT uid, owner FROM runs WHERE status = 'running'").fetchall()
    gone = [uid for uid, owner in rows if owner_alive(owner) is False]
    if gone:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("UPDATE runs SET status = 'interrupted', message = ? WHERE uid = ? AND status = 'running'",
                         [("the program ended while this run was training", uid) for uid in gone])
        conn.execute("COMMIT")
    return len(gone)


class StoreWriter:
    """The thread that owns the store's write connection. Start it, `wait_ready()`, then `submit` writes."""

    def __init__(self, path: Path, on_error: Callable[[str], None] | None = None) -> None:
        self.path = path
        self.on_error = on_error
        self.errors: list[str] = []
        self.notice = ""
        self.failure: BaseException | None = None
        self._queue: queue.Queue[Any] = queue.Queue()
        self._ready = threading.Event()
        self._idle = threading.Condition()
        self._pending = 0
        self._thread = threading.Thread(target=self._run, name=f"run-store-writer:{path.name}", daemon=True)
        self._thread.start()

    def wait_ready(self, timeout: float | None = 30.0) -> bool:
        return self._ready.wait(timeout)

    def submit(self, write: Write) -> None:
        if self.failure is not None:
            return
        with self._idle:
            self._pending += 1
        self._queue.put(write)

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Wait until every write submitted so far is on disk (or has failed)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._idle:
            while self._pending and self._thread.is_alive():
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def close(self, timeout: float | None = 30.0) -> None:
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join(timeout)

    # ---- the thread ----------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            conn, self.notice = open_for_writing(self.path)
            mark_interrupted(conn)
        except BaseException as exc:  # noqa: BLE001 - reported to the owner, never raised in this thread
            self.failure = exc
            self._ready.set()
            self._drain_failed()
            return
        self._ready.set()
        try:
            while True:
                item = self._queue.get()
                batch = [item]
                while not self._queue.empty() and len(batch) < 500:
                    batch.append(self._queue.get_nowait())
                stop = any(w is _STOP for w in batch)
                writes = [w for w in batch if w is not _STOP]
                if writes:
                    self._apply(conn, writes)
                if stop:
                    break
        finally:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("PRAGMA optimize")
            conn.close()
            with self._idle:
                self._pending = 0
                self._idle.notify_all()

    def _apply(self, conn: sqlite3.Connection, writes: list[Write]) -> None:
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            self._report(f"the run store is busy or unwritable: {exc}")
            self._done(len(writes))
            return
        for write in writes:
            try:
                conn.execute("SAVEPOINT one")
                write(conn)
                conn.execute("RELEASE one")
            except Exception as exc:  # noqa: BLE001 - one bad write must not lose the others
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK TO one")
                    conn.execute("RELEASE one")
                self._report(f"a run store write failed: {type(exc).__name__}: {exc}")
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            self._report(f"the run store could not be written: {exc}")
        self._done(len(writes))

    def _drain_failed(self) -> None:
        # The store could not be opened: writes are dropped (the owner was told through `failure`).
        while self._queue.get() is not _STOP:
            self._done(1)
        self._done(self._pending)

    def _done(self, n: int) -> None:
        with self._idle:
            self._pending = max(0, self._pending - n)
            self._idle.notify_all()

    def _report(self, message: str) -> None:
        self.errors.append(message)
        if self.on_error is not None:
            with contextlib.suppress(Exception):
                self.on_error(message)
