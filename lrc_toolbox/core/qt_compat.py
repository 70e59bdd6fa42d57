"""The few QtCore differences between PySide2 (Maya 2024) and PySide6 (Maya 2025+)
that Qt.py leaves to us, and the one binding bug we route around (``emit_signal``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lrc_toolbox.core.qtcore import QtCore

__all__ = ["emit_signal", "exec_loop", "in_event_loop"]


def exec_loop(loop: Any) -> int:
    """Run an event loop: ``exec()`` in PySide6 (whose ``exec_()`` is deprecated), ``exec_()``
    in PySide2 (which has no ``exec``)."""
    run = getattr(loop, "exec", None) or loop.exec_
    return int(run() or 0)


def in_event_loop(handler: Callable[[int], None]) -> Callable[[int, Any], None]:
    """A POSIX signal handler that runs ``handler(signum)`` from the Qt event loop.

    Python runs a signal handler between any two bytecodes of the main thread, so one that
    does real work can land inside a job-store transaction (a nested ``BEGIN`` fails and the
    batch never ends: seen in CI on SIGTERM) or in the middle of any other half-made change.
    The returned handler only posts ``handler`` to the event loop; it runs when the loop
    next turns (a loop that is not running yet runs it once it starts).
    """

    def on_signal(signum: int, _frame: Any) -> None:
        QtCore.QTimer.singleShot(0, lambda: handler(signum))

    return on_signal


#: (sender class, signal name, argument count) -> "2name(types)", found once per class
_SIGNATURES: dict[tuple[type, str, int], str] = {}


def emit_signal(sender: QtCore.QObject, name: str, *args: object) -> None:
    """Emit ``sender``'s signal ``name`` with ``args``: what ``sender.<name>.emit(*args)``
    does, without calling ``SignalInstance.emit``.

    PySide6 6.12.0's ``SignalInstance.emit`` returns ``True`` without the reference it owes
    the caller, so every call from Python takes one reference from ``True``; after a few
    hundred emits ``True``'s count reaches zero and the interpreter aborts with "Fatal Python
    error: bool_dealloc" (exit 134), at the latest while it shuts down. ``QObject.emit`` with
    the signal's signature, the call that ``SignalInstance.emit`` itself made up to 6.11,
    has no such bug on any supported binding (PySide2 5.15, PySide6 6.5 to 6.12) and delivers
    to the same connections, queued ones included.
    ``tests/test_refcounts.py`` measures it; ``docs/dependencies.md`` has the details.

    Raises ``AttributeError`` when ``sender`` has no signal ``name`` taking ``len(args)``
    arguments, ``RuntimeError`` when Qt does not emit it.
    """
    key = (type(sender), name, len(args))
    signature = _SIGNATURES.get(key)
    if signature is None:
        signature = _SIGNATURES[key] = _signature(sender, name, len(args))
    if not _qobject_emit(sender, signature, *args):
        raise RuntimeError(f"Qt did not emit {type(sender).__name__}.{signature[1:]}")


def _qobject_emit(sender: QtCore.QObject, signature: str, *args: object) -> bool:
    # the stubs type QObject.emit's arguments as None (they describe the no-argument form)
    emit: Any = QtCore.QObject.emit
    return bool(emit(sender, signature, *args))


def _signature(sender: QtCore.QObject, name: str, count: int) -> str:
    """``"2" + signature`` (Qt's SIGNAL() form) of ``sender``'s signal ``name`` that takes
    ``count`` arguments: with default arguments Qt lists one signal per count."""
    meta = sender.metaObject()
    found = []
    for index in range(meta.methodCount()):
        method = meta.method(index)
        if (
            method.methodType() == QtCore.QMetaMethod.MethodType.Signal
            and bytes(method.name().data()).decode() == name
            and method.parameterCount() == count
        ):
            found.append(bytes(method.methodSignature().data()).decode())
    if len(found) != 1:
        what = "no" if not found else f"{len(found)} overloads of the"
        raise AttributeError(
            f"{type(sender).__name__} has {what} signal {name!r} with {count} argument(s)"
        )
    return "2" + found[0]
