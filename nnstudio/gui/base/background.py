"""The one way the window runs work off the GUI thread: a function or generator on a Python thread, reported by signals.

`BackgroundWorker(fn)` runs `fn()` on its own thread once `start()` is called (after superqt's
`create_worker`). Everything it reports arrives on the GUI thread, in the order it was sent: `started`,
any number of `yielded(value)` (a generator's items, or `send(value)` from a plain function),
`progressed(done, total)` (`progress`) and `posted(value)` (`post`: coalesced, only the newest is
delivered), then exactly one of `returned(result)` or `errored(exception)`, then `finished`. `quit()` asks
it to stop: a generator is closed at its next `yield` and then reports `returned(None)`; a plain function
polls `worker.abort_requested`. Every training run, preview, export, landscape job and sweep uses it.

It also holds the garbage-collector guard. A collection runs in whichever thread happens to trigger it; if
that is a worker thread and the garbage holds a Qt widget (an old window in a reference cycle, say), the
widget is destroyed off the GUI thread, which Qt forbids and which can deadlock against the GUI thread
(seen here: a QMenu destructor on a loader thread waiting for the interpreter lock while the GUI thread,
holding it, waited for the QMenu's mutex). So while any worker runs, everything that exists is moved out
of the collector's reach (`gc.freeze`); it comes back (`gc.unfreeze`) when the last one is done. The guard
is held from `start()` until the GUI thread has delivered `finished` (or `wait()` saw the thread end), and
released exactly once, inside the worker, so no caller can forget it or release it twice.
"""

from __future__ import annotations

import gc
import inspect
import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from nnstudio.core import NNStudioError

_guard_lock = threading.Lock()
_guard_holders = 0


def _hold_guard() -> None:
    global _guard_holders
    with _guard_lock:
        if _guard_holders == 0:
            gc.freeze()
        _guard_holders += 1


def _release_guard() -> None:
    global _guard_holders
    with _guard_lock:
        if _guard_holders <= 0:
            return
        _guard_holders -= 1
        if _guard_holders == 0:
            gc.unfreeze()


def guard_holders() -> int:
    """How many workers hold the gc guard now (for tests)."""
    return _guard_holders


class BackgroundWorker(QObject):
    """Runs `fn` on a Python thread; signals arrive on the thread this object lives in (the GUI thread)."""

    started = Signal()
    yielded = Signal(object)
    progressed = Signal(int, int)  # done, total
    posted = Signal(object)  # the newest value given to `post`
    returned = Signal(object)
    errored = Signal(object)  # the exception
    finished = Signal()
    _report = Signal(str, object)  # from the worker thread: (kind, value)

    def __init__(self, fn: Callable[[], Any], name: str = "nnstudio-background",
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self._fn = fn
        self._name = name
        self._abort = threading.Event()
        self._thread: threading.Thread | None = None
        self._holding = False
        self._lock = threading.Lock()
        self._posted: tuple[Any] | None = None
        self.done = False  # True once `finished` has been delivered
        self._report.connect(self._deliver)

    # ---- GUI thread ---------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError(f"{self._name} was already started")
        _hold_guard()
        self._holding = True
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self.started.emit()
        self._thread.start()

    def quit(self) -> None:
        """Ask the work to stop (cooperatively: a generator at its next yield, a function when it polls)."""
        self._abort.set()

    @property
    def abort_requested(self) -> bool:
        return self._abort.is_set()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def ended(self) -> bool:
        """The thread was started and has ended (its last signals may still be on their way)."""
        return self._thread is not None and not self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the thread has ended; True if it has. Its signals still arrive through the event loop
        (if it runs again); the guard is released here already, so a window that closes now leaks nothing."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        if self._thread.is_alive():
            return False
        self._release()
        return True

    def _deliver(self, kind: str, value: Any) -> None:
        if kind == "yielded":
            self.yielded.emit(value)
            return
        if kind == "progressed":
            self.progressed.emit(*value)
            return
        if kind == "posted":
            with self._lock:
                posted, self._posted = self._posted, None
            if posted is not None:
                self.posted.emit(posted[0])
            return
        try:
            (self.returned if kind == "returned" else self.errored).emit(value)
        finally:
            self._release()
            self.done = True
            self.finished.emit()

    def _release(self) -> None:
        with self._lock:  # from the GUI thread, or from the worker thread when the receiver is gone
            holding, self._holding = self._holding, False
        if holding:
            _release_guard()

    # ---- worker thread ------------------------------------------------------------------------------

    def send(self, value: Any) -> None:
        """From the work: deliver `value` through `yielded` (every value, in order)."""
        self._send("yielded", value)

    def progress(self, done: int, total: int) -> None:
        """From the work: deliver `progressed(done, total)`."""
        self._send("progressed", (int(done), int(total)))

    def post(self, value: Any) -> None:
        """From the work: a partial result; however fast the work posts, the GUI gets only the newest."""
        with self._lock:
            nudge = self._posted is None
            self._posted = (value,)
        if nudge:
            self._send("posted", None)

    def _run(self) -> None:
        kind, value = "returned", None
        try:
            result = self._fn()
            if inspect.isgenerator(result):
                for item in result:
                    self._send("yielded", item)
                    if self._abort.is_set():
                        result.close()
                        break
            else:
                value = result
        except BaseException as exc:  # noqa: BLE001 - reported through `errored`, never lost
            kind, value = "errored", exc
            if not isinstance(exc, (NNStudioError, OSError)):
                traceback.print_exc()
        if not self._send(kind, value):
            self._release()  # the receiver is gone: nobody on the GUI thread will release it

    def _send(self, kind: str, value: Any) -> bool:
        try:
            self._report.emit(kind, value)
        except RuntimeError:  # the QObject was deleted meanwhile
            return False
        return True
