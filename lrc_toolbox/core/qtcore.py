"""QtCore for the code that needs no widgets: ``from lrc_toolbox.core.qtcore import QtCore``.

The one documented exception to the rule "Qt only through Qt.py" (docs/architecture.md):
``import Qt`` imports QtWidgets, QtGui, QtNetwork, QtHelp, QtOpenGL and more of the binding
before it returns (about 380 ms and 100 MiB outside Maya), while the command line, the render
service and the engine use QtCore alone (about 150 ms and 35 MiB).

So this module imports just ``QtCore`` of the binding Qt.py would choose, when Qt.py has not
been imported yet:

- ``Qt`` already imported (inside Maya, the dashboard, the tests' Qt fixtures): Qt.py's
  ``QtCore``, nothing changes;
- otherwise the first binding of Qt.py's order that imports: ``QT_PREFERRED_BINDING``
  (``os.pathsep``-separated) or Qt.py's default order PySide6, PyQt6, PySide2, PyQt5. A
  PySide binding gives its own ``QtCore``; a PyQt one that is installed, a
  ``QT_PREFERRED_BINDING_JSON`` or an unknown name hand the choice back to Qt.py
  (``from Qt import QtCore``), which maps PyQt's names.

Qt.py's ``QtCore`` holds the binding's own classes (``Qt.QtCore.QObject is
PySide6.QtCore.QObject``), so a QObject, Signal or QTimer made here connects to widgets of a
dashboard that imports Qt.py later in the same process. ``tests/test_lean_start.py`` checks it
and that ``lrc-batch-render render --dry-run`` loads no QtWidgets or QtGui.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from types import ModuleType
from typing import TYPE_CHECKING

__all__ = ["NONE_RESERVED", "QtCore"]

#: Qt.py 2's default binding order (``Qt._install``)
QT_PY_DEFAULT_ORDER = ("PySide6", "PyQt6", "PySide2", "PyQt5")
_PYSIDE = ("PySide6", "PySide2")


def binding_order() -> list[str]:
    """The bindings Qt.py would try, in its order; empty when a ``QT_PREFERRED_BINDING_JSON``
    customisation leaves the choice to Qt.py."""
    if os.environ.get("QT_PREFERRED_BINDING_JSON"):
        return []
    preferred = os.environ.get("QT_PREFERRED_BINDING", "")
    return [name for name in preferred.split(os.pathsep) if name] or list(QT_PY_DEFAULT_ORDER)


def _qt_py_qtcore() -> ModuleType:
    from Qt import QtCore as qt_py_qtcore

    return qt_py_qtcore


def load_qtcore() -> ModuleType:
    """The ``QtCore`` module the rest of the package uses (see the module's docstring)."""
    if "Qt" in sys.modules:
        return _qt_py_qtcore()
    for name in binding_order():
        if name not in _PYSIDE:
            if name == "None" or importlib.util.find_spec(name) is not None:
                return _qt_py_qtcore()  # PyQt (or Qt.py's "None"): Qt.py maps its names
            continue
        if importlib.util.find_spec(name) is None:
            continue
        try:
            return importlib.import_module(f"{name}.QtCore")
        except ImportError:
            return _qt_py_qtcore()  # an installed binding that fails: Qt.py's error
    return _qt_py_qtcore()


#: void calls the probe makes; a binding with the bug takes one reference from None per call
_PROBE_CALLS = 64
#: references added to None once: at a million void calls a second, over eight years' worth
NONE_RESERVE = 1 << 48


def reserve_none_references(qtcore: ModuleType) -> bool:
    """Add :data:`NONE_RESERVE` references to ``None`` when ``qtcore``'s void methods take one
    from it; True when they did.

    PySide6 6.12.0 on Python 3.10 and 3.11 returns ``None`` from every method that returns
    nothing (``QTimer.stop``, ``QCoreApplication.processEvents``, ``setObjectName``,
    ``QProcessEnvironment.insert``, ...) without the reference it owes the caller. Once
    ``None``'s count reaches zero CPython aborts ("Fatal Python error: none_dealloc", exit
    134): a few thousand calls, minutes of an open dashboard. Python 3.12 made ``None``
    immortal (PEP 683), so there nothing is counted and nothing is done. Unlike ``True``'s
    (``qt_compat.emit_signal``), these calls cannot be avoided, so the count is topped up
    once: a probe of :data:`_PROBE_CALLS` calls decides, so a fixed release needs no change
    here. ``docs/dependencies.md`` has the measurements; ``tests/test_refcounts.py`` checks
    that the reserve is added exactly where the bug is and that a long run ends cleanly.
    """
    if sys.version_info >= (3, 12):
        return False
    probe = qtcore.QObject()
    before = sys.getrefcount(None)
    for _ in range(_PROBE_CALLS):
        probe.setObjectName("")
    if before - sys.getrefcount(None) < _PROBE_CALLS // 2:
        return False
    import ctypes

    count = ctypes.c_ssize_t.from_address(id(None))
    if count.value + 1 != sys.getrefcount(None):  # not where CPython keeps it (a debug build)
        return False
    count.value += NONE_RESERVE
    return True


if TYPE_CHECKING:
    # the type checker sees Qt.py's stubs, as for ``from Qt import QtCore``
    from Qt import QtCore
else:
    QtCore = load_qtcore()

#: whether this binding needed :func:`reserve_none_references` (PySide6 6.12.0 before 3.12)
NONE_RESERVED = reserve_none_references(QtCore)
