"""LRC Toolbox: the Batch Render Manager for Autodesk Maya.

The supported surface for scripts and other tools is :mod:`lrc_toolbox.api`.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def show_batch_render(*args: Any, **kwargs: Any) -> Any:
    """Show the Batch Render Manager in Maya: see :func:`lrc_toolbox.api.show_batch_render`.

    Imports the API only when called, so ``import lrc_toolbox`` (in every Maya start-up,
    every worker and the CLI) stays light.
    """
    from lrc_toolbox import api

    return api.show_batch_render(*args, **kwargs)
