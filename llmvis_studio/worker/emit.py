"""`safe_emit(signal, *args)`: emit a Qt signal without PySide6 6.12's lost reference to True.

PySide6 6.12.0's `SignalInstance.emit()` returns `True` without taking a reference to it, so every emit from
Python lowers `True`'s reference count by one. An editor process holds about 2,000 references to `True`;
a few thousand emits later (progress reports, say) the interpreter aborts with "Fatal Python error:
bool_dealloc: deallocating True or False". A probe at import time measures whether this PySide6 has the
bug; if it does, `safe_emit` gives the reference back. Where the bug is fixed, it is a plain emit.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any

from PySide6.QtCore import QObject, Signal

_PROBES = 8


class _Probe(QObject):
    signal = Signal()


def _emit_loses_a_reference() -> bool:
    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(_PROBES):
        probe.signal.emit()
    lost = before - sys.getrefcount(True)
    for _ in range(max(0, lost)):  # give back what the probe itself took
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(True))
    return lost >= _PROBES


EMIT_LOSES_A_REFERENCE = _emit_loses_a_reference()


def safe_emit(signal: Any, *args: Any) -> Any:
    result = signal.emit(*args)
    if EMIT_LOSES_A_REFERENCE and isinstance(result, bool):
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(result))
    return result
