"""The supported public surface of LRC Toolbox, for scripts, shelves and other tools.

Import from here, not from the internal modules: names here stay stable across releases
(internal modules never import this file)::

    import lrc_toolbox.api as lrc

    lrc.show_batch_render()                     # the dashboard, docked in Maya
    frames = lrc.parse_frames("1-100x5")        # [1, 6, ..., 96, 100]
    summary = lrc.render({"scene": "/shots/s010.ma", "frames": "1-24"})   # blocks
    handle = lrc.submit(lrc.RenderConfig(scene="/shots/s010.ma", layers=["BG"]))
    handle.status(); handle.wait(); handle.stop()
    lrc.release_gpu(handle.batch_id, 2)         # give GPU 2 back to Maya mid-batch
    lrc.return_gpu(handle.batch_id, 2)          # and take it back
    lrc.read_ready("/shots/s010/images")        # the frames finished so far

``render`` and ``submit`` run the batch in the local render service by default (the
``render_service`` setting; it survives the caller, a Maya crash included); pass
``service=False`` to run the engine in the calling process, as a cron script may want.
"""

from __future__ import annotations

from typing import Any

from lrc_toolbox.core.batch_handle import (
    BatchHandle,
    release_gpu,
    render,
    return_gpu,
    submit,
)
from lrc_toolbox.core.batch_render_api import (
    BadRequest,
    BatchError,
    BatchRenderAPI,
    EnvironmentProblem,
)
from lrc_toolbox.core.ready_manifest import read_ready
from lrc_toolbox.records.batch import GpuHandback
from lrc_toolbox.records.frame_parser import FrameRangeError, format_frames, parse_frames
from lrc_toolbox.records.models import RenderConfig, ValidationError

__all__ = [
    "BadRequest",
    "BatchError",
    "BatchHandle",
    "BatchRenderAPI",
    "EnvironmentProblem",
    "FrameRangeError",
    "GpuHandback",
    "RenderConfig",
    "ValidationError",
    "format_frames",
    "parse_frames",
    "read_ready",
    "release_gpu",
    "render",
    "return_gpu",
    "show_batch_render",
    "submit",
]


def show_batch_render(**kwargs: Any) -> Any:
    """Show the Batch Render Manager in Maya (docked), or raise the one already open.

    Keyword arguments: ``dock`` (default True: a Maya workspace control; False: a window
    parented to Maya's main window) and ``api`` (default: the session's shared API, which
    renders the live scene). Returns the window. Only works inside an interactive Maya.
    """
    from lrc_toolbox.maya_host.ui import show_batch_render as show

    return show(**kwargs)
