"""The one background-work primitive: signals in order on the GUI thread, errors as signals, cooperative quit,
progress and coalesced partial results, the gc guard held while the work runs and released exactly once, and
no other thread started anywhere in the window's code."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest

from nnstudio.core.errors import DataError
from nnstudio.gui.base.background import BackgroundWorker, guard_holders


def _record(worker: BackgroundWorker) -> list[tuple[str, object, bool]]:
    """(signal, value, delivered on the GUI thread) for every signal the worker sends."""
    events: list[tuple[str, object, bool]] = []
    gui = threading.main_thread()
    for name in ("started", "yielded", "returned", "errored", "finished"):
        signal = getattr(worker, name)
        if name in ("started", "finished"):
            signal.connect(lambda n=name: events.append((n, None, threading.current_thread() is gui)))
        else:
            signal.connect(lambda value, n=name: events.append((n, value, threading.current_thread() is gui)))
    return events


def test_a_function_returns_its_result_on_the_gui_thread(qtbot) -> None:
    before = guard_holders()
    ran_on: list[threading.Thread] = []
    worker = BackgroundWorker(lambda: ran_on.append(threading.current_thread()) or 6 * 7, "test-return")
    events = _record(worker)
    with qtbot.waitSignal(worker.finished, timeout=10_000):
        worker.start()
        assert guard_holders() == before + 1
    assert [(n, v) for n, v, _ in events] == [("started", None), ("returned", 42), ("finished", None)]
    assert all(on_gui for _, _, on_gui in events)
    assert ran_on[0] is not threading.main_thread() and worker.done
    assert guard_holders() == before
    with pytest.raises(RuntimeError, match="already started"):
        worker.start()


def test_an_exception_arrives_as_errored(qtbot) -> None:
    before = guard_holders()

    def fail() -> None:
        raise DataError("row 3: not a number")

    worker = BackgroundWorker(fail, "test-error")
    events = _record(worker)
    with qtbot.waitSignal(worker.finished, timeout=10_000):
        worker.start()
    names = [n for n, _, _ in events]
    assert names == ["started", "errored", "finished"]
    error = events[1][1]
    assert isinstance(error, DataError) and str(error) == "row 3: not a number"
    assert guard_holders() == before


def test_a_generator_yields_and_stops_when_asked(qtbot) -> None:
    release = threading.Event()
    produced: list[int] = []

    def count():
        for i in range(1000):
            produced.append(i)
            yield i
            if i == 2:
                release.wait(10)  # stay at 2 until the test has asked to quit

    worker = BackgroundWorker(count, "test-generator")
    events = _record(worker)
    worker.yielded.connect(lambda value: (worker.quit(), release.set()) if value == 2 else None)
    with qtbot.waitSignal(worker.finished, timeout=10_000):
        worker.start()
    yielded = [v for n, v, _ in events if n == "yielded"]
    assert yielded == [0, 1, 2, 3] or yielded == [0, 1, 2]  # it may have reached the next yield
    assert produced[-1] <= 3 and worker.abort_requested
    assert [n for n, _, _ in events][-2:] == ["returned", "finished"]


def test_wait_joins_the_thread_and_releases_the_guard_once(qtbot) -> None:
    before = guard_holders()
    gate = threading.Event()
    worker = BackgroundWorker(lambda: gate.wait(10) and "done", "test-wait")
    returned = []
    worker.returned.connect(returned.append)
    worker.start()
    assert worker.running and not worker.wait(0.01)
    gate.set()
    assert worker.wait(10) and not worker.running
    assert guard_holders() == before  # released by wait, before the signals were delivered
    qtbot.waitUntil(lambda: worker.done, timeout=10_000)
    assert returned == ["done"] and guard_holders() == before  # and not released a second time


def test_a_function_reports_progress_sends_and_posts_in_order(qtbot) -> None:
    gate = threading.Event()
    seen: list[tuple[str, object]] = []

    def work() -> str:
        worker.progress(1, 3)
        worker.send("first")
        for i in range(50):
            worker.post(i)  # coalesced: only the newest waiting value is delivered
        gate.wait(10)
        worker.progress(3, 3)
        return "ok"

    worker = BackgroundWorker(work, "test-progress")
    worker.progressed.connect(lambda done, total: seen.append(("progressed", (done, total))))
    worker.yielded.connect(lambda value: seen.append(("yielded", value)))
    worker.posted.connect(lambda value: (seen.append(("posted", value)), gate.set()))
    worker.returned.connect(lambda value: seen.append(("returned", value)))
    with qtbot.waitSignal(worker.finished, timeout=10_000):
        worker.start()
    assert seen[:2] == [("progressed", (1, 3)), ("yielded", "first")]
    posts = [v for n, v in seen if n == "posted"]
    assert posts and posts[-1] == 49 and len(posts) < 50 and posts == sorted(posts)
    assert seen[-2:] == [("progressed", (3, 3)), ("returned", "ok")]


def test_a_function_that_polls_the_abort_flag_stops(qtbot) -> None:
    before = guard_holders()
    def work() -> str:
        for i in range(10**10):  # far longer than the test waits: only the abort flag ends it in time
            if worker.abort_requested:
                return f"stopped at {i}"
            if i == 5:
                worker.send("asked")  # the test quits when it sees this
        return "ran to the end"

    worker = BackgroundWorker(work, "test-cancel")
    worker.yielded.connect(lambda _value: worker.quit())
    with qtbot.waitSignal(worker.returned, timeout=10_000) as blocker:
        worker.start()
    assert blocker.args[0].startswith("stopped at ")
    qtbot.waitUntil(lambda: worker.done, timeout=10_000)
    assert worker.wait(10) and worker.ended and guard_holders() == before


def test_a_deleted_worker_releases_the_guard_from_its_thread(qtbot) -> None:
    before = guard_holders()
    gate = threading.Event()
    worker = BackgroundWorker(lambda: gate.wait(10), "test-deleted")
    worker.start()
    thread = worker._thread
    assert guard_holders() == before + 1
    from shiboken6 import delete

    delete(worker)  # the receiver is gone before the work ends (a window closed under it)
    gate.set()
    thread.join(10)
    assert guard_holders() == before


def test_no_other_thread_is_started_in_the_window_code() -> None:
    root = Path(__file__).resolve().parents[2] / "nnstudio" / "gui"
    allowed = root / "base" / "background.py"
    pattern = re.compile(r"threading\.Thread\b|QThread\b|QThreadPool|QRunnable|concurrent\.futures")
    offenders = [f"{path.relative_to(root)}:{n}" for path in sorted(root.rglob("*.py")) if path != allowed
                 for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if pattern.search(line)]
    assert offenders == []
