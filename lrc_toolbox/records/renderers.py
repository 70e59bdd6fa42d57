"""The renderers the batch manager supports, and the facts about each, defined once.

Everything that needs to know which renderers exist reads them from here: the dashboard's
renderer override, the worker's handler registry (:mod:`lrc_toolbox.worker.renderers`), the
log parser's per-renderer tables (:mod:`lrc_toolbox.utils.log_parser`) and the simulator
(:mod:`lrc_toolbox.sim`). Tests check that each of them covers exactly these renderers.

Sources (MAYA_REFERENCE.md is ``/work/shared/MAYA_REFERENCE.md``):

* ``name``: Maya's ``defaultRenderGlobals.currentRenderer`` value (``.ren`` in a .ma file;
  Maya's default is ``mayaSoftware``), MAYA_REFERENCE.md section 3.
* ``plugin``: the plug-in a render needs. Royal Render's ``kso_maya.py`` (v7, public
  copies on GitHub) loads ``mtoa``, ``vrayformaya`` and ``redshift4maya`` for these three
  renderers; Maya names the missing one in ``Plug-in, "mtoa", was not found on
  MAYA_PLUG_IN_PATH`` (section 6, from Thinkbox Deadline's MayaBatch plug-in).
* ``render_flag``: the ``Render -r`` name (``sw``, ``hw2``, ``arnold``, ...), section 4.
* ``devices``: Arnold renders on CPU or GPU (``defaultArnoldRenderOptions.renderDevice``
  0 CPU / 1 GPU, sections 4 and 5); V-Ray on CPU or GPU (``vraySettings.productionEngine``
  2 CUDA / 3 RTX, section 1; ``sys_max_threads`` for the CPU, section 5); Redshift on its
  GPUs (``REDSHIFT_GPUDEVICES``, section 5) and, with no GPU enabled, on the CPU (Maxon
  support, "When will my Redshift subscription be used vs. the included Redshift CPU?",
  support.maxon.net article 4716221065116); Maya Software on the CPU only (its one device
  setting is a thread count, ``Render -n``, section 4); Maya Hardware 2.0 on a GPU.
* ``cuda_pinned``: ``CUDA_VISIBLE_DEVICES`` hides GPUs from any CUDA renderer (section 5),
  so it chooses the GPU of Arnold, Redshift and V-Ray GPU renders. Maya Hardware 2.0 is
  "the batch/render view version of Viewport 2.0" (Autodesk Maya SDK help, "Overview of
  the Viewport 2.0 API"), which draws through OpenGL or DirectX 11 (Autodesk help, "Run
  Viewport 2.0 in OpenGL Core Profile mode"), not CUDA: it renders on the GPU the display
  driver gives it, whatever ``CUDA_VISIBLE_DEVICES`` says.
* ``log_format``: which of the log parser's pattern tables applies. Maya Software and
  Hardware 2.0 print the same frame lines (``Finished Rendering <image>``, section 6); the
  samples behind each table are cited in ``tests/test_log_parser.py``.

Standard library only: this module is part of :mod:`lrc_toolbox.records`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType

__all__ = [
    "MAYA_DEFAULT_RENDERER",
    "RENDERERS",
    "RENDERER_NAMES",
    "Device",
    "LogFormat",
    "RendererInfo",
    "UnknownRendererError",
    "find_renderer",
    "renderer_info",
]


#: ``defaultRenderGlobals.currentRenderer`` when a scene does not set it (MAYA_REFERENCE.md
#: section 3): what Maya, the scene reader, the worker and the simulator all fall back to.
MAYA_DEFAULT_RENDERER = "mayaSoftware"


class Device(str, Enum):
    """Where a render runs; the values are the worker's ``--device`` choices."""

    GPU = "gpu"
    CPU = "cpu"


class LogFormat(str, Enum):
    """The shape of the log lines a renderer prints (one pattern table of the log parser)."""

    ARNOLD = "arnold"
    REDSHIFT = "redshift"
    VRAY = "vray"
    MAYA_RENDER = "maya_render"
    """Maya's own renderers: ``Starting Rendering``, ``Finished Rendering <image>``."""


@dataclass(frozen=True)
class RendererInfo:
    """What the batch manager knows about one supported renderer.

    Attributes:
        name: ``defaultRenderGlobals.currentRenderer`` as Maya stores it (case matters).
        label: The renderer's name for people (the dashboard shows it).
        plugin: The Maya plug-in the render needs; None for Maya's built-in renderers.
        render_flag: The renderer's name for ``Render -r``.
        log_format: Which log-line format it prints.
        devices: Where it can render (GPU listed before CPU).
        cuda_pinned: Whether ``CUDA_VISIBLE_DEVICES`` chooses the GPU it renders on.
    """

    name: str
    label: str
    plugin: str | None
    render_flag: str
    log_format: LogFormat
    devices: tuple[Device, ...]
    cuda_pinned: bool

    def renders_on(self, device: Device | str) -> bool:
        """Whether it can render on ``device`` (a :class:`Device` or ``"gpu"``/``"cpu"``)."""
        return Device(device) in self.devices


class UnknownRendererError(ValueError):
    """A renderer name that is not one of :data:`RENDERER_NAMES`; the message lists them."""


_GPU_CPU = (Device.GPU, Device.CPU)

_ALL = (
    RendererInfo(
        name="arnold",
        label="Arnold",
        plugin="mtoa",
        render_flag="arnold",
        log_format=LogFormat.ARNOLD,
        devices=_GPU_CPU,
        cuda_pinned=True,
    ),
    RendererInfo(
        name="redshift",
        label="Redshift",
        plugin="redshift4maya",
        render_flag="redshift",
        log_format=LogFormat.REDSHIFT,
        devices=_GPU_CPU,
        cuda_pinned=True,
    ),
    RendererInfo(
        name="vray",
        label="V-Ray",
        plugin="vrayformaya",
        render_flag="vray",
        log_format=LogFormat.VRAY,
        devices=_GPU_CPU,
        cuda_pinned=True,
    ),
    RendererInfo(
        name="mayaSoftware",
        label="Maya Software",
        plugin=None,
        render_flag="sw",
        log_format=LogFormat.MAYA_RENDER,
        devices=(Device.CPU,),
        cuda_pinned=False,
    ),
    RendererInfo(
        name="mayaHardware2",
        label="Maya Hardware 2.0",
        plugin=None,
        render_flag="hw2",
        log_format=LogFormat.MAYA_RENDER,
        devices=(Device.GPU,),
        cuda_pinned=False,
    ),
)

RENDERERS: Mapping[str, RendererInfo] = MappingProxyType({info.name: info for info in _ALL})
"""Every supported renderer by name, in a stable order (iterating gives the names)."""

RENDERER_NAMES: tuple[str, ...] = tuple(RENDERERS)
"""The supported renderers' names, in the order of :data:`RENDERERS`."""

_SPELLINGS: Mapping[str, RendererInfo] = MappingProxyType(
    {
        spelling.lower(): info
        for info in _ALL
        for spelling in (info.name, info.label, info.render_flag, info.plugin)
        if spelling
    }
)


def renderer_info(name: str) -> RendererInfo:
    """The facts about the renderer Maya calls ``name`` (exactly, as ``currentRenderer``).

    Raises:
        UnknownRendererError: a ValueError naming the supported renderers.
    """
    info = RENDERERS.get(name)
    if info is None:
        raise UnknownRendererError(
            f"renderer {name!r} is not supported by the batch render manager "
            f"(supported: {', '.join(RENDERER_NAMES)})"
        )
    return info


def find_renderer(spelling: str | None) -> RendererInfo | None:
    """The renderer a loose spelling means, or None.

    Accepts, in any case and with surrounding spaces, the name (``mayaSoftware``), the label
    (``V-Ray``), the ``Render -r`` flag (``sw``) or the plug-in (``mtoa``). For places that
    must tolerate whatever they are given (such as the log parser); use
    :func:`renderer_info` to validate a name.
    """
    if not spelling:
        return None
    return _SPELLINGS.get(spelling.strip().lower())
