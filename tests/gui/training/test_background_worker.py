"""The one background-work primitive: signals in order on the GUI thread, errors as signals, cooperative quit,
and the gc guard held while the work runs and released exactly once."""

from __future__ import annotations

import threading

import pytest

from nnstudio.core.errors import DataError
from nnstudio.gui.training import gcguard
from nnstudio.gui.training.background import BackgroundWorker


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
    before = gcguard.holders()
    ran_on: list[threading.Thread] = []
    worker = BackgroundWorker(lambda: ran_on.append(threading.current_thread()) or 6 * 7, "test-return")
    events = _record(worker)
    with qtbot.waitSignal(worker.finished, timeout=10_000):
        worker.start()
        assert gcguard.holders() == before + 1
    assert [(n, v) for n, v, _ in events] == [("started", None), ("returned", 42), ("finished", None)]
    assert all(on_gui for _, _, on_gui in events)
    assert ran_on[0] is not threading.main_thread() and worker.done
    assert gcguard.holders() == before
    with pytest.raises(RuntimeError, match="already started"):
        worker.start()


def test_an_exception_arrives_as_errored(qtbot) -> None:
    before = gcguard.holders()

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
    assert gcguard.holders() == before


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
    before = gcguard.holders()
    gate = threading.Event()
    worker = BackgroundWorker(lambda: gate.wait(10) and "done", "test-wait")
    returned = []
    worker.returned.connect(returned.append)
    worker.start()
    assert worker.running and not worker.wait(0.01)
    gate.set()
    assert worker.wait(10) and not worker.running
    assert gcguard.holders() == before  # released by wait, before the signals were delivered
    qtbot.waitUntil(lambda: worker.done, timeout=10_000)
    assert returned == ["done"] and gcguard.holders() == before  # and not released a second time
