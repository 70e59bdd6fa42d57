"""One handler per renderer: device and thread settings, log verbosity, the render call and
where the frame's image goes. Runs INSIDE mayapy; ``cmds``/``mel`` are passed in, so the
same code runs against real Maya and against the simulator's stand-in.

Which renderers exist, and the plug-in each needs, come from
:mod:`lrc_toolbox.records.renderers`; this module has one handler class per renderer there.

Sources (MAYA_REFERENCE.md §1, §4, §5): the render calls and attribute settings follow
AWS ``deadline-cloud-for-maya`` (``MayaClient/render_handlers/*``) and Thinkbox Deadline's
MayaBatch plug-in; the extension and prefix attributes follow OpenPype/AYON
``lib_renderproducts.py``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from lrc_toolbox.records.renderers import UnknownRendererError, renderer_info

__all__ = [
    "HANDLERS",
    "RenderSettings",
    "RendererHandler",
    "UnsupportedRendererError",
    "handler_for",
]

# Maya's defaultRenderGlobals.imageFormat codes for the formats people use (Maya's
# "imfKey" table); anything else falls back to imfPluginKey or "iff".
_IMAGE_FORMAT_EXT = {
    0: "gif",
    1: "pic",
    2: "rla",
    3: "tif",
    4: "tif",
    5: "sgi",
    6: "als",
    7: "iff",
    8: "jpg",
    9: "eps",
    10: "iff",
    11: "cin",
    12: "yuv",
    13: "sgi",
    19: "tga",
    20: "bmp",
    23: "avi",
    31: "psd",
    32: "png",
    35: "dds",
    36: "psd",
    40: "exr",
}

# Redshift's redshiftOptions.imageFormat codes, used only when the MEL helper
# redshiftGetImageExtension (what OpenPype calls) is unavailable. Assumption, not sourced.
_REDSHIFT_EXT = {0: "iff", 1: "exr", 2: "png", 3: "tga", 4: "jpg", 5: "tif"}

_ARNOLD_EXT = {"jpeg": "jpg", "exr": "exr", "deepexr": "exr", "png": "png", "tiff": "tif"}


class UnsupportedRendererError(RuntimeError):
    """The layer's renderer is not one this manager knows how to drive."""


@dataclass
class RenderSettings:
    """What the slot asks of the renderer (from the manager's command line)."""

    device: str = "gpu"  # "gpu" or "cpu"
    threads: int | None = None  # CPU threads for this worker; None = renderer default


def _get(cmds: Any, plug: str, default: Any = None) -> Any:
    """getAttr that answers ``default`` when the node or attribute does not exist."""
    try:
        if not cmds.objExists(plug):
            return default
        return cmds.getAttr(plug)
    except Exception:
        return default


def _set(cmds: Any, plug: str, value: Any, **kwargs: Any) -> bool:
    """setAttr that skips absent nodes (a renderer's options node may not exist yet)."""
    try:
        if not cmds.objExists(plug):
            return False
        cmds.setAttr(plug, value, **kwargs)
        return True
    except Exception:
        return False


class RendererHandler:
    """Base: Maya Software's behaviour; subclasses override what differs.

    ``name`` is the renderer's name in :data:`lrc_toolbox.records.renderers.RENDERERS`,
    where its other facts (the plug-in) are kept.
    """

    name = "mayaSoftware"
    prefix_plug = "defaultRenderGlobals.imageFilePrefix"
    beauty_pass = ""

    @property
    def plugin(self) -> str | None:
        """The Maya plug-in the renderer needs; None for Maya's built-in renderers."""
        return renderer_info(self.name).plugin

    def ensure_plugin(self, cmds: Any) -> None:
        """Load the renderer's plug-in if the scene did not.

        Raises:
            RuntimeError: with Maya's own wording, which the manager treats as fatal.
        """
        if not self.plugin:
            return
        try:
            if cmds.pluginInfo(self.plugin, query=True, loaded=True):
                return
            cmds.loadPlugin(self.plugin)
        except Exception as exc:
            raise RuntimeError(
                f'Plug-in, "{self.plugin}", was not found on MAYA_PLUG_IN_PATH ({exc})'
            ) from exc

    def version(self, cmds: Any) -> str | None:
        """The renderer's build as Maya reports it: the plug-in's version, or Maya's own for
        Maya's renderers; None when Maya cannot say (provenance only informs)."""
        try:
            if self.plugin:
                return str(cmds.pluginInfo(self.plugin, query=True, version=True))
            return str(cmds.about(version=True))
        except Exception:
            return None

    def configure(self, cmds: Any, mel: Any, settings: RenderSettings) -> None:
        """Once per layer switch: devices, threads, verbosity."""
        if settings.threads:
            _set(cmds, "defaultRenderGlobals.numCpusToUse", settings.threads)

    def prepare_frame(self, cmds: Any, frame: int) -> None:
        """Per frame, after the common globals are set."""

    def render(self, cmds: Any, mel: Any, camera: str, layer_node: str, frame: int) -> None:
        # No ``layer=`` flag: the layer is already current, and Autodesk's render command
        # reference says -layer "will be appended to the output image file name".
        cmds.render(camera)

    def set_prefix(self, cmds: Any, prefix: str) -> None:
        cmds.setAttr(self.prefix_plug, prefix, type="string")

    def prefix(self, cmds: Any) -> str:
        return str(_get(cmds, self.prefix_plug, "") or "")

    def extension(self, cmds: Any, mel: Any) -> str:
        key = _get(cmds, "defaultRenderGlobals.imfPluginKey", "")
        if key:
            return str(key)
        code = _get(cmds, "defaultRenderGlobals.imageFormat", 7)
        return _IMAGE_FORMAT_EXT.get(int(code), "iff")

    def padding(self, cmds: Any) -> int:
        return int(_get(cmds, "defaultRenderGlobals.extensionPadding", 1) or 1)


class MayaHardware2Handler(RendererHandler):
    """Maya Hardware 2.0 (viewport renderer) through ``ogsRender``."""

    name = "mayaHardware2"

    def configure(self, cmds: Any, mel: Any, settings: RenderSettings) -> None:
        pass

    def render(self, cmds: Any, mel: Any, camera: str, layer_node: str, frame: int) -> None:
        cmds.currentTime(frame)
        cmds.ogsRender(camera=camera, currentFrame=True)


class ArnoldHandler(RendererHandler):
    name = "arnold"
    beauty_pass = "beauty"

    def configure(self, cmds: Any, mel: Any, settings: RenderSettings) -> None:
        opts = "defaultArnoldRenderOptions"
        _set(cmds, f"{opts}.renderType", 0)  # images, not .ass export
        if (_get(cmds, f"{opts}.log_verbosity", 0) or 0) < 2:
            _set(cmds, f"{opts}.log_verbosity", 2)  # Info: needed for "% done" lines
        _set(cmds, f"{opts}.log_to_console", 1)
        _set(cmds, f"{opts}.abortOnLicenseFail", 1)  # no silent watermarked frames
        _set(cmds, f"{opts}.renderDevice", 1 if settings.device == "gpu" else 0)
        if settings.threads:
            _set(cmds, f"{opts}.threads_autodetect", 0)
            _set(cmds, f"{opts}.threads", settings.threads)

    def render(self, cmds: Any, mel: Any, camera: str, layer_node: str, frame: int) -> None:
        cmds.arnoldRender(batch=True, seq=str(frame), camera=camera)

    def extension(self, cmds: Any, mel: Any) -> str:
        translator = _get(cmds, "defaultArnoldDriver.aiTranslator", "exr") or "exr"
        return _ARNOLD_EXT.get(str(translator), str(translator))


class RedshiftHandler(RendererHandler):
    name = "redshift"

    def configure(self, cmds: Any, mel: Any, settings: RenderSettings) -> None:
        if settings.device == "gpu":
            # The manager pins one GPU with CUDA_VISIBLE_DEVICES, so the worker sees it as
            # device 0 (REDSHIFT_GPUDEVICES is set to match).
            visible = os.environ.get("REDSHIFT_GPUDEVICES", "0")
            ids = ",".join(p.strip() for p in visible.split(",") if p.strip()) or "0"
            try:
                mel.eval(f"redshiftSelectCudaDevices({{{ids}}});")
            except Exception:
                pass  # older Redshift: the environment variable alone selects the device

    def prepare_frame(self, cmds: Any, frame: int) -> None:
        cmds.currentTime(frame)

    def render(self, cmds: Any, mel: Any, camera: str, layer_node: str, frame: int) -> None:
        cmds.render(camera)

    def extension(self, cmds: Any, mel: Any) -> str:
        code = int(_get(cmds, "redshiftOptions.imageFormat", 1) or 0)
        try:
            ext = mel.eval(f"redshiftGetImageExtension({code})")
            if ext:
                return str(ext).lstrip(".")
        except Exception:
            pass
        return _REDSHIFT_EXT.get(code, "exr")


class VRayHandler(RendererHandler):
    name = "vray"
    prefix_plug = "vraySettings.fileNamePrefix"

    def configure(self, cmds: Any, mel: Any, settings: RenderSettings) -> None:
        if (_get(cmds, "vraySettings.sys_message_level", 0) or 0) < 3:
            _set(cmds, "vraySettings.sys_message_level", 3)
        if _get(cmds, "vraySettings.productionEngine") == 3:
            _set(cmds, "vraySettings.productionEngine", 2)  # RTX -> CUDA, as DCM does
        _set(cmds, "vraySettings.sys_distributed_rendering_on", 0)
        _set(cmds, "vraySettings.vrscene_render_on", 1)
        _set(cmds, "vraySettings.vrscene_on", 0)
        _set(cmds, "vraySettings.dontSaveImage", 0)
        if settings.threads:
            _set(cmds, "vraySettings.sys_max_threads", settings.threads)

    def prepare_frame(self, cmds: Any, frame: int) -> None:
        _set(cmds, "vraySettings.animType", 2)  # specific frames
        _set(cmds, "vraySettings.animFrames", str(frame), type="string")

    def render(self, cmds: Any, mel: Any, camera: str, layer_node: str, frame: int) -> None:
        cmds.vrend(camera=camera)

    def extension(self, cmds: Any, mel: Any) -> str:
        fmt = str(_get(cmds, "vraySettings.imageFormatStr", "") or "png")
        return "exr" if fmt.startswith("exr") else fmt

    def padding(self, cmds: Any) -> int:
        return int(_get(cmds, "vraySettings.fileNamePadding", 4) or 4)


HANDLERS: dict[str, type[RendererHandler]] = {
    cls.name: cls
    for cls in (
        ArnoldHandler,
        RedshiftHandler,
        VRayHandler,
        RendererHandler,
        MayaHardware2Handler,
    )
}
"""Handler class by renderer name: one for each supported renderer (a test checks)."""


def handler_for(renderer: str) -> RendererHandler:
    """The handler for a renderer name as Maya stores it (``currentRenderer``).

    Raises:
        UnsupportedRendererError: e.g. ``mentalRay``, with what to do about it.
    """
    try:
        info = renderer_info(renderer)
    except UnknownRendererError as exc:
        raise UnsupportedRendererError(
            f"{exc}; switch the layer to a supported renderer, or pass --renderer to override it"
        ) from exc
    return HANDLERS[info.name]()
