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

__all__ = ["QtCore"]

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


if TYPE_CHECKING:
    # the type checker sees Qt.py's stubs, as for ``from Qt import QtCore``
    from Qt import QtCore
else:
    QtCore = load_qtcore()
