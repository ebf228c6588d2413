"""One background job of the optimization views: a function given a `JobContext`, run on a `BackgroundWorker`,
with progress, a cooperative cancel flag, intermediate results and exactly one `done` report on the GUI thread.

The function receives a `JobContext`: `ctx.progress(done, total)`, `ctx.cancelled()` and
`ctx.post(value)` (a partial result, e.g. the race after each turn). Posts are coalesced: however fast
the job posts, the GUI takes only the newest when it gets round to it. Nothing but plain values
(numpy arrays, dataclasses of them) is handed over; torch stays in the job's thread. The thread, its gc
guard and its error catching are the window's one worker primitive (`gui/base/background.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from nnstudio.core.errors import NNStudioError

from ..base.background import BackgroundWorker


class JobContext:
    def __init__(self, worker: BackgroundWorker) -> None:
        self._worker = worker

    def progress(self, done: int, total: int) -> None:
        self._worker.progress(done, total)

    def cancelled(self) -> bool:
        return self._worker.abort_requested

    def post(self, value: Any) -> None:
        self._worker.post(value)


class BackgroundJob(QObject):
    """`BackgroundJob(fn).start()`; `done(result, error)` arrives once, on the GUI thread."""

    progressed = Signal(int, int)
    posted = Signal(object)  # the newest partial result
    done = Signal(object, object)  # result, error (None or an exception)

    def __init__(self, fn: Callable[[JobContext], Any], name: str = "nnstudio-job",
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.fn = fn
        self.worker = BackgroundWorker(self._work, name, self)
        self.worker.progressed.connect(self.progressed)
        self.worker.posted.connect(self.posted)
        self.worker.returned.connect(lambda result: self.done.emit(result, None))
        self.worker.errored.connect(lambda error: self.done.emit(None, error))

    def _work(self) -> Any:
        from ..training.worker import leave_core_for_gui

        leave_core_for_gui()
        return self.fn(JobContext(self.worker))

    def start(self) -> None:
        self.worker.start()

    def cancel(self) -> None:
        self.worker.quit()

    def wait(self, timeout: float | None = None) -> bool:
        return self.worker.wait(timeout)

    @property
    def running(self) -> bool:
        return self.worker.running


def error_text(error: BaseException) -> str:
    if isinstance(error, NNStudioError):
        return str(error)
    first = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {first}"
