"""Keeps Python's cyclic garbage collector from freeing Qt objects on worker threads.

A collection runs in whichever thread happens to trigger it. If that is the training thread (or a data
loading thread) and the garbage holds a Qt widget — an old window in a reference cycle, say — the widget
is destroyed off the GUI thread, which Qt forbids and which can deadlock against the GUI thread (seen
here: a QMenu destructor on a loader thread waiting for the interpreter lock while the GUI thread, holding
it, waited for the QMenu's mutex). While any of our worker threads runs, everything that exists is moved
out of the collector's reach (`gc.freeze`); it comes back (`gc.unfreeze`) when the last one is done, and is
then collected as usual on the GUI thread. Objects created meanwhile are collected normally.
"""

from __future__ import annotations

import gc
import threading

_lock = threading.Lock()
_holders = 0


def hold() -> None:
    """Call on the GUI thread before starting a worker thread."""
    global _holders
    with _lock:
        if _holders == 0:
            gc.freeze()
        _holders += 1


def release() -> None:
    """Call once per `hold`, when that worker thread is done (from any thread: this frees nothing)."""
    global _holders
    with _lock:
        if _holders <= 0:
            return
        _holders -= 1
        if _holders == 0:
            gc.unfreeze()


def holders() -> int:
    return _holders
