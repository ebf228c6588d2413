"""A guard against a PySide6 build that drops a reference to `None` on every call of a void method.

Seen with the PySide6 6.12 wheels on Python 3.11: each call such as `painter.drawPath(...)` or
`label.setText(...)` lowers None's reference count by one, so after a few thousand calls the interpreter
aborts with "Fatal Python error: none_dealloc". Python 3.12 made None immortal, which is evidently what
those wheels assume; on older Pythons we give None the same practical immortality. The probe runs once
and does nothing when the binding is sound.
"""

from __future__ import annotations

import ctypes
import sys

_IMMORTAL_MARGIN = 1 << 40  # more void calls than a process can make


def guard_none_refcount() -> bool:
    """Detect the leak and, if present, make None's reference count unreachable; True if it acted."""
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    from PySide6.QtCore import QObject

    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(16):
        probe.setObjectName("probe")
    if before - sys.getrefcount(None) < 16:
        return False
    # ob_refcnt is the first field of every object in a release build; check that before writing it.
    cell = ctypes.c_ssize_t.from_address(id(None))
    if not hasattr(sys, "gettotalrefcount") and cell.value == sys.getrefcount(None) - 1:
        cell.value += _IMMORTAL_MARGIN
    else:
        for _ in range(1_000_000):  # a slower, layout-independent reserve
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(None))
    return True


NONE_GUARDED = guard_none_refcount()
