"""Only regular files are read: a FIFO, a device or a folder given to any verb is refused at once."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from nnstudio.cli import main

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")


def _run_bounded(argv: list[str]) -> int:
    """main(argv) in a thread: before the fix, opening a FIFO blocked forever; the test must not."""
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(main(argv)), daemon=True)
    thread.start()
    thread.join(timeout=60)
    if thread.is_alive():  # unblock it (a writer opens the FIFO and closes it), then fail
        for arg in argv:
            if Path(arg).is_fifo():
                with open(arg, "wb"):
                    pass
        thread.join(timeout=10)
        pytest.fail(f"{argv[0]} blocked on a non-regular file")
    return result[0]


@pytest.mark.parametrize("verb", ["validate", "train", "render", "export"])
def test_a_fifo_is_refused_at_once_by_every_verb(tmp_path: Path, verb: str, capsys) -> None:
    pipe = tmp_path / "pipe.nnstudio"
    os.mkfifo(pipe)
    argv = {"validate": ["validate", str(pipe)], "train": ["train", str(pipe)],
            "render": ["render", str(pipe), "-o", str(tmp_path / "x.svg")],
            "export": ["export", str(pipe), "--format", "pt", "-o", str(tmp_path / "x.pt")]}[verb]
    assert _run_bounded(argv) == 2
    err = capsys.readouterr().err
    assert "named pipe (FIFO), not a regular file" in err and "Traceback" not in err


def test_a_folder_and_a_device_are_refused(tmp_path: Path, capsys) -> None:
    assert _run_bounded(["validate", str(tmp_path)]) == 2
    assert "it is a folder, not a file" in capsys.readouterr().err
    if os.path.exists("/dev/zero"):
        assert _run_bounded(["validate", "/dev/zero"]) == 2
        assert "it is a device" in capsys.readouterr().err
        assert _run_bounded(["export", "/dev/zero", "--format", "pt", "-o", str(tmp_path / "x.pt")]) == 2
        assert "it is a device" in capsys.readouterr().err


def test_a_symlink_to_a_fifo_is_refused_too(tmp_path: Path, capsys) -> None:
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    link = tmp_path / "design.nnstudio"
    link.symlink_to(pipe)
    assert _run_bounded(["validate", str(link)]) == 2
    assert "named pipe" in capsys.readouterr().err


def test_a_utf16_design_file_is_named_as_such(tmp_path: Path) -> None:
    from nnstudio.core.errors import FormatError
    from nnstudio.io import loads

    for encoding in ("utf-16-le", "utf-16-be", "utf-16"):
        with pytest.raises(FormatError, match="the file is UTF-16 text"):
            loads('{"format": "nnstudio.design", "version": 1}'.encode(encoding))
