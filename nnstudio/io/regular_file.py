"""Opening a file for reading only when it is a regular file: FIFOs, devices, sockets and folders are refused
at once, before anything could block on them (opening a FIFO waits for a writer; reading a device never ends).
"""

from __future__ import annotations

import os
import stat
from typing import BinaryIO

_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # an open that could still reach a FIFO (a race) must not wait
_FLAGS = os.O_RDONLY | _NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


class NotRegularFileError(OSError):
    """The path names something other than a regular file; `strerror` says what, in words."""


def kind_of(mode: int) -> str | None:
    """What a non-regular file is, in words; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "it is a folder, not a file"
    if stat.S_ISFIFO(mode):
        return "it is a named pipe (FIFO), not a regular file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "it is a device, not a regular file"
    if stat.S_ISSOCK(mode):
        return "it is a socket, not a regular file"
    return "it is not a regular file"


def _refuse(mode: int, path: str | os.PathLike[str]) -> NotRegularFileError:
    return NotRegularFileError(0, kind_of(mode) or "it is not a regular file", os.fspath(path))


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """A binary reader for `path`, or OSError (NotRegularFileError for a FIFO, device, socket or folder).

    Checked twice: `stat` before opening (so a device is never even opened) and `fstat` on what was opened
    (so a file swapped for a FIFO in between is caught too). Symbolic links are followed, to whatever they
    point at, and that is checked.
    """
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        raise _refuse(mode, path)
    fd = os.open(path, _FLAGS)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise _refuse(mode, path)
        if _NONBLOCK:
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
