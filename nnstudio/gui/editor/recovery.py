"""Crash recovery: autosaved copies of unsaved work, and finding the ones a crashed session left behind.

Each running window owns one entry in the recovery folder: `<id>.nnstudio` (a normal design file),
`<id>.json` (where it came from, when) and `<id>.lock`, a QLockFile held for the session's whole life.
A clean exit removes all three. At start-up, an entry whose lock can be taken belongs to a session that
is gone (QLockFile recognises a lock whose process has died); its files are left exactly as they are
until the user chooses Recover, Discard or Later.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QLockFile

from nnstudio.io.atomic import write_atomic

RECOVERY_FORMAT = "nnstudio.recovery"
_counter = itertools.count(1)


@dataclass
class RecoveryEntry:
    """Unsaved work left by a session that did not exit cleanly."""

    session_id: str
    design_path: Path
    meta_path: Path
    source: Path | None
    title: str
    saved_at: datetime
    _lock: QLockFile | None = field(default=None, repr=False)

    def describe(self) -> str:
        when = self.saved_at.strftime("%Y-%m-%d %H:%M")
        where = f" (from {self.source})" if self.source else ""
        return f"'{self.title}'{where}, autosaved {when}"


class RecoveryStore:
    """This session's autosave slot in `folder`, and the orphans of crashed sessions."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.session_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{next(_counter)}"
        self._lock: QLockFile | None = None
        self.has_copy = False

    @property
    def design_path(self) -> Path:
        return self.folder / f"{self.session_id}.nnstudio"

    @property
    def meta_path(self) -> Path:
        return self.folder / f"{self.session_id}.json"

    def _lock_path(self, session_id: str) -> Path:
        return self.folder / f"{session_id}.lock"

    def _hold_own_lock(self) -> None:
        if self._lock is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            lock = QLockFile(str(self._lock_path(self.session_id)))
            lock.setStaleLockTime(0)  # held for hours: only a dead process makes it stale
            if lock.tryLock(0):
                self._lock = lock

    def write(self, design_text: str, source: Path | None, title: str) -> Path:
        """Save this session's recovery copy (atomically: a crash mid-write leaves the previous copy)."""
        self._hold_own_lock()
        write_atomic(self.design_path, design_text.encode("utf-8"))
        meta = {"format": RECOVERY_FORMAT, "version": 1, "source": str(source) if source else None,
                "title": title, "saved_at": datetime.now().isoformat(timespec="seconds"), "pid": os.getpid()}
        write_atomic(self.meta_path, json.dumps(meta, indent=2).encode("utf-8"))
        self.has_copy = True
        return self.design_path

    def clear(self) -> None:
        """Remove this session's copy (the work was saved or discarded); keep holding the slot."""
        for path in (self.meta_path, self.design_path):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        self.has_copy = False

    def close(self) -> None:
        """A clean exit: remove this session's copy and release its lock."""
        self.clear()
        if self._lock is not None:
            self._lock.unlock()
            self._lock = None

    # ---- orphans ---------------------------------------------------------------------------------

    def orphans(self) -> list[RecoveryEntry]:
        """Entries of sessions that are gone, newest first. Each is locked by this session until
        `discard` or `release` is called, so two windows never offer the same entry."""
        if not self.folder.is_dir():
            return []
        found = []
        for meta_path in self.folder.glob("*.json"):
            session_id = meta_path.stem
            if session_id == self.session_id:
                continue
            design_path = meta_path.with_suffix(".nnstudio")
            if not design_path.is_file():
                continue
            lock = QLockFile(str(self._lock_path(session_id)))
            lock.setStaleLockTime(0)
            if not lock.tryLock(0):
                continue  # its session is still running
            entry = _read_entry(session_id, meta_path, design_path)
            if entry is None:
                lock.unlock()
                continue
            entry._lock = lock
            found.append(entry)
        found.sort(key=lambda e: e.saved_at, reverse=True)
        return found

    def discard(self, entry: RecoveryEntry) -> None:
        """Delete an orphan's files (the user chose Discard, or its content now lives in this session)."""
        for path in (entry.meta_path, entry.design_path):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        self.release(entry)

    def release(self, entry: RecoveryEntry) -> None:
        """Leave an orphan for a later start (the user chose Later); its files stay untouched."""
        if entry._lock is not None:
            entry._lock.unlock()
            entry._lock = None


def _read_entry(session_id: str, meta_path: Path, design_path: Path) -> RecoveryEntry | None:
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        meta = {}
    if not isinstance(meta, dict):
        meta = {}
    source = meta.get("source")
    title = meta.get("title") if isinstance(meta.get("title"), str) else design_path.stem
    try:
        saved_at = datetime.fromisoformat(meta["saved_at"])
    except (KeyError, TypeError, ValueError):
        saved_at = datetime.fromtimestamp(design_path.stat().st_mtime)
    return RecoveryEntry(session_id, design_path, meta_path, Path(source) if isinstance(source, str) else None,
                         title[:200], saved_at)
