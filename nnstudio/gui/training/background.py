"""The one way the window runs work off the GUI thread: a function or generator on a Python thread, reported by signals.

`BackgroundWorker(fn)` runs `fn()` on its own thread once `start()` is called (after superqt's
`create_worker`). Everything it reports arrives on the GUI thread, in this order: `started`, any number
of `yielded(value)` (when `fn` is a generator function), then exactly one of `returned(result)` or
`errored(exception)`, then `finished`. `quit()` asks it to stop: a generator is closed at its next
`yield` and then reports `returned(None)`; a plain function may poll `worker.abort_requested`.

The garbage-collector guard (`gcguard`) is held from `start()` until the GUI thread has delivered
`finished`, and released inside the worker, so no caller can forget it or release it twice. `wait()`
blocks until the thread has ended (for closing the window, and for tests).
"""

from __future__ import annotations

import inspect
import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from nnstudio.core import NNStudioError

from . import gcguard


class BackgroundWorker(QObject):
    """Runs `fn` on a Python thread; signals arrive on the thread this object lives in (the GUI thread)."""

    started = Signal()
    yielded = Signal(object)
    returned = Signal(object)
    errored = Signal(object)  # the exception
    finished = Signal()
    _report = Signal(str, object)  # from the worker thread: ("yielded" | "returned" | "errored", value)

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
        self.done = False  # True once `finished` has been delivered
        self._report.connect(self._deliver)

    # ---- GUI thread ---------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError(f"{self._name} was already started")
        gcguard.hold()
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
            gcguard.release()

    # ---- worker thread ------------------------------------------------------------------------------

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
