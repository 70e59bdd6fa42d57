"""LRC Toolbox start-up for interactive Maya (this module's ``scripts/`` folder).

Maya runs userSetup.py at start-up in batch mode too (``maya.app.startup.batch`` calls
``executeUserSetup``): mayapy, ``maya -batch`` and the Batch Render Manager's own render
workers. Those must not build menus, so this does nothing when ``LRC_WORKER_ID`` is set
(every worker has it) or when ``cmds.about(batch=True)``. Otherwise the menu, shelf
button and quit handler are set up once Maya's UI exists (``maya.utils.executeDeferred``).
Any problem prints one warning in the Script Editor; it never stops Maya from starting.

Names start with ``_lrc`` because Maya executes this file in its ``__main__`` namespace.
"""

from __future__ import annotations

import os


def _lrc_warn(problem: BaseException) -> None:
    print(
        "// Warning: LRC Toolbox: the menu and shelf button were not set up "
        f"({problem.__class__.__name__}: {problem}). Maya works as usual; to open the tool "
        "run  import lrc_toolbox; lrc_toolbox.show_batch_render()  or see maya/README.md."
    )


def _lrc_startup() -> None:
    try:
        from lrc_toolbox.maya_host import startup

        startup.startup()
    except Exception as problem:
        _lrc_warn(problem)


def _lrc_main() -> None:
    if os.environ.get("LRC_WORKER_ID"):
        return  # a render worker started by the Batch Render Manager
    try:
        import maya.cmds as cmds
        import maya.utils
    except ImportError:
        return  # not inside Maya
    try:
        if cmds.about(batch=True):
            return
        maya.utils.executeDeferred(_lrc_startup)
    except Exception as problem:
        _lrc_warn(problem)


_lrc_main()
