"""Atomic file replacement: the file on disk is always the old one or the new one, whole, never a mix."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from pathlib import Path

from nnstudio.core.errors import SaveError

TEMP_SUFFIX = ".tmp"


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
    try:
        tmp, fd = _create_temp(target)
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
    _sync_folder(target.parent)


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
