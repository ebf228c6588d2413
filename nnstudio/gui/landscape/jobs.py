"""One background job of the optimization views: a function run on a Python thread, with progress, a
cooperative cancel flag, intermediate results and exactly one `done` report back on the GUI thread.

The function receives a `JobContext`: `ctx.progress(done, total)`, `ctx.cancelled()` and
`ctx.post(value)` (a partial result, e.g. the race after each turn). Posts are coalesced: however fast
the job posts, the GUI takes only the newest when it gets round to it. Nothing but plain values
(numpy arrays, dataclasses of them) is handed over; torch stays in the job's thread.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from nnstudio.core.errors import NNStudioError

from ..training import gcguard


class JobContext:
    def __init__(self, job: BackgroundJob) -> None:
        self._job = job

    def progress(self, done: int, total: int) -> None:
        self._job._emit(self._job.progressed, int(done), int(total))

    def cancelled(self) -> bool:
        return self._job.cancel_event.is_set()

    def post(self, value: Any) -> None:
        job = self._job
        with job._lock:
            nudge = job._posted is None
            job._posted = (value,)
        if nudge:
            job._emit(job._posted_signal)


class BackgroundJob(QObject):
    """`BackgroundJob(fn).start()`; `done(result, error)` arrives once, on the GUI thread."""

    progressed = Signal(int, int)
    posted = Signal(object)  # the newest partial result
    done = Signal(object, object)  # result, error (None or an exception)
    _posted_signal = Signal()

    def __init__(self, fn: Callable[[JobContext], Any], name: str = "nnstudio-job",
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.fn = fn
        self.cancel_event = threading.Event()
        self._lock = threading.Lock()
        self._posted: tuple[Any] | None = None
        self._posted_signal.connect(self._deliver_post)
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.finished = False

    def start(self) -> None:
        gcguard.hold()
        self.thread.start()

    def cancel(self) -> None:
        self.cancel_event.set()

    def wait(self, timeout: float | None = None) -> bool:
        if self.thread.is_alive():
            self.thread.join(timeout)
        return not self.thread.is_alive()

    @property
    def running(self) -> bool:
        return self.thread.is_alive()

    def _emit(self, signal: Any, *args: Any) -> None:
        try:
            signal.emit(*args)
        except RuntimeError:  # the window (and this object with it) is gone
            pass

    def _deliver_post(self) -> None:
        with self._lock:
            posted, self._posted = self._posted, None
        if posted is not None:
            self.posted.emit(posted[0])

    def _run(self) -> None:
        from ..training.worker import leave_core_for_gui

        result = error = None
        try:
            leave_core_for_gui()
            result = self.fn(JobContext(self))
        except BaseException as exc:  # noqa: BLE001 - reported in the window
            error = exc
            if not isinstance(exc, (NNStudioError, OSError)):
                traceback.print_exc()
        self._emit(self.done, result, error)
        gcguard.release()


def error_text(error: BaseException) -> str:
    if isinstance(error, NNStudioError):
        return str(error)
    first = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {first}"
