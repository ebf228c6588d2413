"""Atomic file replacement: the file on disk is always the old one or the new one, whole, never a mix.

A save killed half-way leaves its hidden temporary file (`.NAME.<12 hex>.tmp`) behind; the next successful
save of the same file removes such leftovers. A save in progress holds an advisory lock (`flock`) on its
temporary file until the rename, and the lock dies with its process, so only files no live save owns are
removed. Where there are no such locks (Windows), only leftovers older than an hour are.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import shutil
import stat
import time
from pathlib import Path

from nnstudio.core.errors import SaveError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

TEMP_SUFFIX = ".tmp"
STALE_WITHOUT_LOCKS_S = 3600.0


def temp_name(target: Path) -> Path:
    """A hidden sibling of `target`: same folder (so os.replace is a rename on one file system)."""
    return target.with_name(f".{target.name}.{secrets.token_hex(6)}{TEMP_SUFFIX}")


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace `path` with `data`; on any failure the old file is untouched and SaveError says why."""
    shown = os.fspath(path)
    # Saving through a symbolic link writes the file it points to; replacing the link itself would cut it.
    target = Path(os.path.realpath(path))
    try:
        old_mode: int | None = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        old_mode = None
    except OSError as exc:
        raise SaveError(_explain(shown, exc)) from None
    tmp: Path | None = None
    lock_fd: int | None = None
    try:
        tmp, fd = _create_temp(target)
        lock_fd = _hold_lock(fd)  # until the rename: the temporary file is in use, not stale
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            # The data must be on the disk before the rename is: otherwise a crash right after the rename
            # can leave a renamed but empty file.
            os.fsync(handle.fileno())
        if old_mode is not None:
            os.chmod(tmp, old_mode)
        os.replace(tmp, target)
        tmp = None
    except OSError as exc:
        raise SaveError(_explain(shown, exc, existed=old_mode is not None)) from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        if lock_fd is not None:
            os.close(lock_fd)
    _sync_folder(target.parent)
    remove_stale_temps(target)


def _hold_lock(fd: int) -> int | None:
    """A second descriptor of the new file holding an exclusive lock, or None where locks do not exist."""
    if fcntl is None:
        return None
    lock_fd = os.dup(fd)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # a file system without flock: the file is simply not marked
        pass
    return lock_fd


def stale_temp_pattern(target: Path) -> re.Pattern[str]:
    return re.compile(rf"\.{re.escape(target.name)}\.[0-9a-f]{{12}}{re.escape(TEMP_SUFFIX)}\Z")


def remove_stale_temps(target: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporary files that earlier, interrupted saves of `target` left; returns those removed.

    Best effort and never an error: the save itself has already succeeded.
    """
    target = Path(target)
    return remove_abandoned(target.parent, stale_temp_pattern(target))


def lock_folder(folder: Path) -> int | None:
    """Mark a staging folder as in use (an flock on it, held until the descriptor is closed); None if the
    system has no such locks."""
    if fcntl is None:
        return None
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    with contextlib.suppress(OSError):
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd


def remove_abandoned(folder: Path, pattern: re.Pattern[str]) -> list[Path]:
    """Remove the files and staging folders in `folder` whose names match `pattern` and that no live
    process holds (see the module docstring); returns those removed."""
    removed: list[Path] = []
    try:
        names = [entry.name for entry in os.scandir(folder) if pattern.match(entry.name)]
    except OSError:
        return removed
    for name in names:
        path = folder / name
        with contextlib.suppress(OSError):
            if _is_abandoned(path):
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    os.unlink(path)
                removed.append(path)
    return removed


def _is_abandoned(path: Path) -> bool:
    info = os.lstat(path)
    if not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
        return False
    if fcntl is None:
        return time.time() - info.st_mtime > STALE_WITHOUT_LOCKS_S
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0))
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # a live save holds it
        except OSError:  # no flock on this file system: fall back to the file's age
            return time.time() - info.st_mtime > STALE_WITHOUT_LOCKS_S
        return os.fstat(fd).st_ino == info.st_ino  # still the file that was checked
    finally:
        os.close(fd)


def _create_temp(target: Path) -> tuple[Path, int]:
    # O_EXCL: never reuse somebody else's file; mode 0o666 so the umask gives a new file the usual rights.
    for _ in range(100):
        tmp = temp_name(target)
        try:
            return tmp, os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temporary file next to {target}")


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable. Not every system can open a folder (Windows cannot): best effort."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


_ADVICE = {
    errno.ENOSPC: "the disk is full: free some space or save somewhere else",
    errno.EACCES: "no permission to write there: save somewhere else or change the folder's permissions",
    errno.EPERM: "no permission to write there: save somewhere else or change the folder's permissions",
    errno.EROFS: "the disk is read-only: save somewhere else",
}


def _explain(shown: str, exc: OSError, existed: bool = False) -> str:
    reason = exc.strerror or str(exc) or type(exc).__name__
    advice = _ADVICE.get(exc.errno or 0)
    text = f"could not save {shown}: {reason}" + (f" ({advice})" if advice else "") + "."
    return text + (" The previous version of the file is unchanged." if existed else "")
