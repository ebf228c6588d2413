"""Autosave and crash recovery: a session killed with unsaved work is offered back at the next start."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from gui_helpers import chain_design
from PySide6.QtCore import QPointF

from nnstudio.gui.base.locations import recovery_dir
from nnstudio.gui.editor.recovery import RecoveryStore

# A child process edits a design, autosaves, then dies without any clean-up (no atexit, no close).
CRASHING_SESSION = textwrap.dedent("""
    import os, sys
    from PySide6.QtCore import QPointF
    from nnstudio.core import Design
    from nnstudio.gui.shell.app import create_application
    from nnstudio.gui.shell.mainwindow import MainWindow

    app = create_application([])
    window = MainWindow()
    design = Design("Crashed work")
    window.set_design(design, None)
    window.scene.add_layer_at("Input", QPointF(0, 0))
    window.scene.add_layer_at("Dense", QPointF(300, 0))
    path = window.autosave_now()
    print(path, flush=True)
    os._exit(3)
""")


def _crash_a_session() -> str:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    done = subprocess.run([sys.executable, "-c", CRASHING_SESSION], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 3, done.stderr
    return done.stdout.strip().splitlines()[-1]


def _snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if not p.name.endswith(".lock")}


def test_autosave_writes_only_while_there_are_unsaved_changes(window):
    assert window.autosave_now() is None
    window.scene.add_layer_at("Dense", QPointF(0, 300))
    path = window.autosave_now()
    assert path is not None and path.is_file()
    assert path.parent == recovery_dir()
    window.undo_stack.undo()  # back to the clean state: nothing to recover
    assert not path.exists()


def test_autosave_timer_is_set_to_about_thirty_seconds(window):
    assert window._autosave_timer.isActive()
    assert window._autosave_timer.interval() == 30_000


def test_a_clean_exit_removes_its_recovery_file(window):
    window.scene.add_layer_at("Dense", QPointF(0, 300))
    path = window.autosave_now()
    assert path.exists()
    window.close()  # dialogs answer "discard"
    assert not path.exists()
    assert not list(recovery_dir().glob("*.lock"))


def test_recovery_after_a_crash_later_then_recover(make_window, dialogs):
    crashed_copy = _crash_a_session()
    folder = recovery_dir()
    original = _snapshot(folder)
    assert any(name.endswith(".nnstudio") for name in original)

    # "Later": nothing is touched and nothing is loaded.
    dialogs.recover_answer = "later"
    first = make_window(chain_design())
    first.scene.add_layer_at("Dense", QPointF(0, 300))
    first.autosave_now()  # this session's own copy must not overwrite the crashed one
    assert not first.offer_recovery()
    assert len(dialogs.recover_asked) == 1
    assert "Crashed work" in dialogs.recover_asked[0].describe()
    assert {k: v for k, v in _snapshot(folder).items() if k in original} == original
    assert first.design.name == "Chain"
    first.undo_stack.undo()

    # Next start: "Recover" brings the work back, unsaved; the crashed copy goes only after ours exists.
    dialogs.recover_answer = "recover"
    second = make_window(chain_design())
    assert second.offer_recovery()
    assert second.design.name == "Crashed work"
    assert [layer.type for layer in second.design.layers.values()] == ["Input", "Dense"]
    assert second.isWindowModified()
    assert "(recovered)" in second.windowTitle()
    assert not os.path.exists(crashed_copy)
    assert second.recovery.design_path.is_file()


def test_discard_deletes_the_crashed_copy(make_window, dialogs):
    crashed_copy = _crash_a_session()
    dialogs.recover_answer = "discard"
    window = make_window(chain_design())
    assert not window.offer_recovery()
    assert not os.path.exists(crashed_copy)
    assert window.design.name == "Chain"


def test_a_running_session_is_not_offered_as_a_crash(window, make_window, dialogs):
    window.scene.add_layer_at("Dense", QPointF(0, 300))
    window.autosave_now()
    other = make_window(chain_design())
    assert not other.offer_recovery()
    assert dialogs.recover_asked == []


@pytest.mark.parametrize("meta", ["not json", '{"saved_at": 5}'])
def test_a_damaged_recovery_note_still_offers_the_copy(tmp_path, meta):
    folder = tmp_path / "rec"
    folder.mkdir()
    (folder / "old.nnstudio").write_text("{}", encoding="utf-8")
    (folder / "old.json").write_text(meta, encoding="utf-8")
    store = RecoveryStore(folder)
    entries = store.orphans()
    assert [e.session_id for e in entries] == ["old"]
    store.release(entries[0])
    assert (folder / "old.nnstudio").exists()
