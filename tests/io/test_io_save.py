"""Saving is atomic: a failed or killed save leaves the previous file whole; the user is told why."""

import errno
import os
import random
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from io_samples import big_design, every_layer_type, playground_mlp

import nnstudio
from nnstudio.core.errors import SaveError
from nnstudio.io import atomic, load_design, save_design


@pytest.fixture
def saved(tmp_path):
    """A folder holding one saved design; returns its path and bytes."""
    path = tmp_path / "net.nnstudio"
    save_design(playground_mlp(), path)
    return path, path.read_bytes()


def _failing(exc: OSError):
    def fail(*args, **kwargs):
        raise exc
    return fail


@pytest.mark.parametrize("where", ["write", "fsync", "replace"])
def test_a_failure_mid_save_leaves_the_old_file_and_no_temporary_file(monkeypatch, saved, where):
    path, before = saved
    listing = sorted(os.listdir(path.parent))
    disk_full = OSError(errno.ENOSPC, "No space left on device")
    if where == "write":
        real_fdopen = os.fdopen

        class HalfWritten:
            def __init__(self, fd, mode):
                self.handle = real_fdopen(fd, mode)

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.handle.close()

            def write(self, data):
                self.handle.write(data[: len(data) // 2])  # half of it reaches the temporary file, then:
                raise disk_full

        monkeypatch.setattr(atomic.os, "fdopen", HalfWritten)
    else:
        monkeypatch.setattr(atomic.os, where, _failing(disk_full))
    with pytest.raises(SaveError) as caught:
        save_design(every_layer_type(), path)
    message = str(caught.value)
    assert str(path) in message and "disk is full" in message and "previous version" in message
    assert path.read_bytes() == before
    assert sorted(os.listdir(path.parent)) == listing


def test_a_permission_error_is_a_save_error_that_says_so(monkeypatch, saved):
    path, before = saved
    monkeypatch.setattr(atomic.os, "open", _failing(PermissionError(errno.EACCES, "Permission denied")))
    with pytest.raises(SaveError, match="Permission denied"):
        save_design(every_layer_type(), path)
    assert path.read_bytes() == before


def test_saving_into_a_read_only_folder_fails_cleanly(saved):
    path, before = saved
    folder = path.parent
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running as a user (root) whom a read-only folder does not stop")
        with pytest.raises(SaveError, match="Permission denied|Read-only"):
            save_design(every_layer_type(), path)
        assert path.read_bytes() == before
        assert os.listdir(folder) == [path.name]
    finally:
        folder.chmod(0o755)


def test_a_missing_folder_is_a_save_error(tmp_path):
    with pytest.raises(SaveError, match="No such file or directory"):
        save_design(playground_mlp(), tmp_path / "no" / "such" / "net.nnstudio")


def test_saving_keeps_the_permissions_of_the_existing_file(saved):
    path, _ = saved
    path.chmod(0o640)
    save_design(every_layer_type(), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert load_design(path).same_content(every_layer_type())


def test_a_new_file_gets_the_usual_permissions(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    path = tmp_path / "new.nnstudio"
    save_design(playground_mlp(), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


@pytest.mark.skipif(not hasattr(os, "symlink") or sys.platform == "win32", reason="needs symbolic links")
def test_saving_through_a_symbolic_link_writes_the_file_it_points_to(saved):
    path, _ = saved
    link = path.parent / "link.nnstudio"
    link.symlink_to(path)
    save_design(every_layer_type(), link)
    assert link.is_symlink()
    assert load_design(path).same_content(every_layer_type())


def test_a_design_holding_a_value_json_cannot_store_is_a_save_error(saved):
    path, before = saved
    design = playground_mlp()
    next(iter(design.layers.values())).position = (float("nan"), 0.0)  # only possible by bypassing the edits
    with pytest.raises(SaveError, match="cannot store"):
        save_design(design, path)
    assert path.read_bytes() == before


# ---- killed while saving ----------------------------------------------------------------------------------

# The child saves two designs in turn, forever. Its file writes go 32 KiB at a time, each followed by a
# "chunk" line, so the parent can kill it in the middle of a write, not only between saves.
CHILD = textwrap.dedent("""
    import builtins, io, os, sys
    sys.path.insert(0, sys.argv[2])
    from io_samples import big_design
    from nnstudio.io import save_design

    class SlowWriter:
        def __init__(self, handle):
            self._handle = handle
        def __enter__(self):
            return self
        def __exit__(self, *exc):
            self._handle.close()
        def __getattr__(self, name):
            return getattr(self._handle, name)
        def write(self, data):
            for start in range(0, len(data), 32768):
                self._handle.write(data[start:start + 32768])
                self._handle.flush()
                print("chunk", flush=True)  # the parent kills after a chosen chunk: mid-write, on purpose
            return len(data)

    def slowed(opener):
        def open_slowly(file, mode="r", *args, **kwargs):
            handle = opener(file, mode, *args, **kwargs)
            return SlowWriter(handle) if any(c in mode for c in "wax+") else handle
        return open_slowly

    os.fdopen, builtins.open, io.open = slowed(os.fdopen), slowed(builtins.open), slowed(io.open)
    designs = [big_design(1), big_design(2)]
    count = 0
    while True:
        save_design(designs[count % 2], sys.argv[1])
        count += 1
        print("saved", flush=True)
""")


@pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")
def test_killing_the_process_while_it_saves_never_leaves_a_broken_file(tmp_path):
    path = tmp_path / "big.nnstudio"
    samples = str(Path(__file__).parent)
    paths = [str(Path(nnstudio.__file__).parent.parent), os.environ.get("PYTHONPATH", "")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in paths if p))
    rng = random.Random(20260525)
    expected = {1: big_design(1), 2: big_design(2)}
    later_saves = 0
    for _ in range(6):
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(path), samples], stdout=subprocess.PIPE,
                                 env=env)
        try:
            lines = iter(child.stdout.readline, b"")
            assert b"saved\n" in lines  # one save is complete: now kill after a randomly chosen chunk
            chunks = rng.randint(1, 120)
            for line in lines:
                chunks -= line == b"chunk\n"
                later_saves += line == b"saved\n"
                if chunks <= 0:
                    break
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
            later_saves += child.stdout.read().count(b"saved")
            child.stdout.close()
        design = load_design(path)  # whole: it loads, and it is exactly one of the designs saved
        assert design.same_content(expected[int(design.name.split()[-1])])
        leftovers = [p for p in os.listdir(tmp_path) if p != path.name]
        assert all(p.startswith(f".{path.name}.") and p.endswith(".tmp") for p in leftovers)
    assert later_saves > 0, "every kill came before a second save: the kills tested little"
    save_design(expected[1], path)  # the next successful save removes what the killed ones left
    assert os.listdir(tmp_path) == [path.name]


# ---- leftovers of interrupted saves ------------------------------------------------------------------------

def test_the_next_successful_save_removes_stale_temporary_files_and_nothing_else(saved):
    path, _ = saved
    folder = path.parent
    stale = [folder / f".{path.name}.{h}.tmp" for h in ("0123456789ab", "deadbeef0000")]
    others = [folder / ".other.nnstudio.0123456789ab.tmp", folder / f".{path.name}.xyz.tmp",
              folder / f"{path.name}.0123456789ab.tmp", folder / "notes.txt"]
    for file in stale + others:
        file.write_bytes(b"half a design")
    save_design(every_layer_type(), path)
    assert sorted(os.listdir(folder)) == sorted([path.name] + [p.name for p in others])


@pytest.mark.skipif(sys.platform == "win32", reason="flock")
def test_a_temporary_file_a_live_save_holds_is_left_alone(saved):
    import fcntl

    path, _ = saved
    busy = path.parent / f".{path.name}.aaaaaaaaaaaa.tmp"
    busy.write_bytes(b"being written")
    with open(busy, "rb") as holder:  # another open file description: as another process's save would hold
        fcntl.flock(holder.fileno(), fcntl.LOCK_EX)
        save_design(every_layer_type(), path)
        assert busy.exists()
    save_design(playground_mlp(), path)
    assert not busy.exists()
