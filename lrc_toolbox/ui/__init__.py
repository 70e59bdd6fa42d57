"""The dashboard: Qt widgets (through Qt.py) that talk to ``BatchRenderAPI`` by signals.

- :class:`~lrc_toolbox.ui.main_window.MainWindow`: the small LRC Toolbox window, menu
  Render > Batch Render Manager.
- :class:`~lrc_toolbox.ui.dialogs.batch_render_dialog.BatchRenderDialog`: the dashboard.
- ``python -m lrc_toolbox.ui``: both, on the simulator (a demo outside Maya).

Names are imported lazily, so ``import lrc_toolbox.ui`` costs nothing until one is used.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BatchRenderDialog", "MainWindow"]


def __getattr__(name: str) -> Any:
    if name == "BatchRenderDialog":
        from lrc_toolbox.ui.dialogs.batch_render_dialog import BatchRenderDialog

        return BatchRenderDialog
    if name == "MainWindow":
        from lrc_toolbox.ui.main_window import MainWindow

        return MainWindow
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
