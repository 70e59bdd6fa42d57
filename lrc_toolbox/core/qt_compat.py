"""The few QtCore differences between PySide2 (Maya 2024) and PySide6 (Maya 2025+)
that Qt.py leaves to us."""

from __future__ import annotations

from typing import Any

__all__ = ["exec_loop"]


def exec_loop(loop: Any) -> int:
    """Run an event loop: ``exec()`` in PySide6 (whose ``exec_()`` is deprecated), ``exec_()``
    in PySide2 (which has no ``exec``)."""
    run = getattr(loop, "exec", None) or loop.exec_
    return int(run() or 0)
