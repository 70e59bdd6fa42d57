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

import importlib
import os
from dataclasses import dataclass
from typing import Any

from lrc_toolbox.records.renderers import UnknownRendererError, renderer_info

__all__ = [
    "HANDLERS",
    "RenderSettings",
    "RendererHandler",
    "RendererSettingError",
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
    """Best-effort setAttr, for OPTIONAL niceties only (log verbosity): answers False when
    the plug is absent or refuses the value. Settings the batch depends on use
    :func:`_require`."""
    try:
        if not cmds.objExists(plug):
            return False
        cmds.setAttr(plug, value, **kwargs)
        return True
    except Exception:
        return False


class RendererSettingError(RuntimeError):
    """A setting the batch depends on could not be applied. The message names the plug,
    the value and why it is needed; the session reports it as the frame's reason."""


def _require(cmds: Any, plug: str, value: Any, why: str, **kwargs: Any) -> None:
    """setAttr for a REQUIRED setting: raises :class:`RendererSettingError` when the plug
    does not exist or Maya refuses the value (locked, connected, wrong type)."""
    if not cmds.objExists(plug):
        raise RendererSettingError(
            f"cannot set {plug} = {value!r} ({why}): no such attribute or node in the scene"
        )
    try:
        cmds.setAttr(plug, value, **kwargs)
    except Exception as exc:
        text = str(exc).strip() or type(exc).__name__
        raise RendererSettingError(
            f"cannot set {plug} = {value!r} ({why}): Maya refused it: {text}"
        ) from exc


def _ensure_node(node: str, cmds: Any, create: Any, how: str) -> None:
    """Create a renderer's options node when the scene has none, with the renderer's own
    creation procedure (``how`` names it for the error). Raises RendererSettingError when
    the node still does not exist afterwards."""
    if cmds.objExists(node):
        return
    try:
        create()
    except Exception as exc:
        text = str(exc).strip() or type(exc).__name__
        raise RendererSettingError(f"cannot create {node} with {how}: {text}") from exc
    if not cmds.objExists(node):
        raise RendererSettingError(f"{how} did not create {node}")


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
        """Once per layer switch: devices, threads, verbosity.

        Raises:
            RendererSettingError: a required setting could not be applied.
        """
        if settings.threads:
            # DL GetThreadsCommand sets numCpusToUse for Maya Software; the slot's thread
            # limit is what keeps CPU workers from oversubscribing the machine: required.
            _require(
                cmds,
                "defaultRenderGlobals.numCpusToUse",
                settings.threads,
                "the worker's CPU thread limit",
            )

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
    """MtoA. Sources (MTOA = MtoA's sources in the history of ``sebastienblor/arnold-usd``,
    last commit holding them ``f0920e993c42``; see docs/maya-integration.md):

    - MtoA creates ``defaultArnoldRenderOptions`` itself only at render time, with its
      defaults (``ArnoldSession.cpp`` ``GetDefaultArnoldRenderOptions`` runs
      ``mtoa.core.createOptions()`` when the node is missing; ``ArnoldOptionsNode.cpp``:
      ``renderDevice`` defaults to 0 = CPU). Settings made before that would be lost, so
      the handler creates the node first with the same call (``scripts/mtoa/core.py``
      ``createOptions``: options, filter, driver and display driver, all shared nodes).
    - ``abortOnLicenseFail`` / ``skipLicenseCheck``: Arnold's ``abort_on_license_fail`` /
      ``skip_license_check`` made Maya attributes by ``ArnoldOptionsNode.cpp`` (names as
      in ``arnoldRenderer.xml`` ``-ai:alf`` / ``-ai:slc``). A skipped licence check
      renders watermarked frames; DCM ``arnold_handler.py`` sets abortOnLicenseFail too.
    - ``defaultRenderGlobals.skipExistingFrames``: ``ArnoldRenderCmd.cpp`` skips a batch
      frame whose first image exists when it is on (``arnoldRenderer.xml`` declares it on
      the render globals).
    - Devices: ``OptionsTranslator.cpp`` renders on the GPU when ``renderDevice`` is 1;
      with ``manual_gpu_devices`` on it selects GPUs by index from ``render_devices``,
      otherwise it auto-selects. A worker pinned to one GPU (``CUDA_VISIBLE_DEVICES``)
      sees only index 0, so a saved manual selection is cleared.
    """

    name = "arnold"
    beauty_pass = "beauty"
    options = "defaultArnoldRenderOptions"

    def create_options(self) -> None:
        """MtoA's own creation call (inside Maya ``mtoa`` is MtoA's scripts package)."""
        importlib.import_module("mtoa.core").createOptions()

    def configure(self, cmds: Any, mel: Any, settings: RenderSettings) -> None:
        opts = self.options
        _ensure_node(opts, cmds, self.create_options, "mtoa.core.createOptions()")
        # required: each decides what is rendered, where, on which device, or whether a
        # failure is seen
        _require(cmds, f"{opts}.renderType", 0, "render images, not an .ass export")
        _require(cmds, f"{opts}.log_to_console", 1, "the manager reads Arnold's log")
        _require(cmds, f"{opts}.abortOnLicenseFail", 1, "no watermarked frames")
        _require(cmds, f"{opts}.skipLicenseCheck", 0, "no watermarked frames")
        _require(
            cmds,
            "defaultRenderGlobals.skipExistingFrames",
            0,
            "an existing image must not stand in for this attempt's frame",
        )
        gpu = settings.device == "gpu"
        _require(
            cmds, f"{opts}.renderDevice", 1 if gpu else 0, f"the slot's device ({settings.device})"
        )
        if gpu:
            _require(
                cmds,
                f"{opts}.manual_gpu_devices",
                0,
                "the worker sees only its pinned GPU; Arnold must auto-select it",
            )
        if settings.threads:
            _require(cmds, f"{opts}.threads_autodetect", 0, "the worker's CPU thread limit")
            _require(cmds, f"{opts}.threads", settings.threads, "the worker's CPU thread limit")
        # optional: Info level only adds the "% done" progress lines
        if (_get(cmds, f"{opts}.log_verbosity", 0) or 0) < 2:
            _set(cmds, f"{opts}.log_verbosity", 2)

    def render(self, cmds: Any, mel: Any, camera: str, layer_node: str, frame: int) -> None:
        cmds.arnoldRender(batch=True, seq=str(frame), camera=camera)

    def extension(self, cmds: Any, mel: Any) -> str:
        translator = _get(cmds, "defaultArnoldDriver.aiTranslator", "exr") or "exr"
        return _ARNOLD_EXT.get(str(translator), str(translator))


class RedshiftHandler(RendererHandler):
    """Redshift. ``redshiftOptions`` is created with Redshift's MEL
    ``redshiftGetRedshiftOptionsNode(true)`` (DL ``MayaBatch.py`` initialisation, which
    calls it with the argument since Redshift 1.2.95). ``abortOnLicenseFail`` and
    ``skipExistingFrames`` on ``redshiftOptions``: a public copy of Royal Render's
    ``kso_maya.py`` (repository not named by the code search) sets both; DL's MayaBatch
    sets ``logLevel``.

    TODO(issue 11): which ``redshiftOptions.logLevel`` prints the "Block n/m" progress
    lines has no primary source found; the scene's level is left as it is.
    """

    name = "redshift"
    options = "redshiftOptions"

    def configure(self, cmds: Any, mel: Any, settings: RenderSettings) -> None:
        opts = self.options
        _ensure_node(
            opts,
            cmds,
            lambda: mel.eval("redshiftGetRedshiftOptionsNode(true);"),
            "redshiftGetRedshiftOptionsNode(true)",
        )
        _require(cmds, f"{opts}.abortOnLicenseFail", 1, "no watermarked frames")
        _require(
            cmds,
            f"{opts}.skipExistingFrames",
            0,
            "an existing image must not stand in for this attempt's frame",
        )
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
    """V-Ray. ``vraySettings`` is created with V-Ray's MEL ``vrayCreateVRaySettingsNode``
    when missing (DCM ``vray_handler.py`` ``vraySettingsNodeExists``; DL ``MayaBatch.py``
    initialisation). The settings below follow DCM ``vray_handler.py`` ``start_render``.

    Device: the RTX engine (3) becomes CUDA (2), as DCM does (unchanged). Which
    ``productionEngine`` value is V-Ray's CPU engine has no primary source found, so a CPU
    slot leaves the scene's engine as it is.
    """

    name = "vray"
    prefix_plug = "vraySettings.fileNamePrefix"
    options = "vraySettings"

    def configure(self, cmds: Any, mel: Any, settings: RenderSettings) -> None:
        opts = self.options
        _ensure_node(
            opts,
            cmds,
            lambda: mel.eval("vrayCreateVRaySettingsNode();"),
            "vrayCreateVRaySettingsNode",
        )
        if _get(cmds, f"{opts}.productionEngine") == 3:
            _require(cmds, f"{opts}.productionEngine", 2, "RTX -> CUDA, as DCM does")
        _require(cmds, f"{opts}.sys_distributed_rendering_on", 0, "render on this machine only")
        _require(cmds, f"{opts}.vrscene_render_on", 1, "render images, not a .vrscene export")
        _require(cmds, f"{opts}.vrscene_on", 0, "render images, not a .vrscene export")
        _require(cmds, f"{opts}.dontSaveImage", 0, "the frame's image must be written")
        if settings.threads:
            _require(
                cmds, f"{opts}.sys_max_threads", settings.threads, "the worker's CPU thread limit"
            )
        # optional: message level 3 only adds progress lines
        if (_get(cmds, f"{opts}.sys_message_level", 0) or 0) < 3:
            _set(cmds, f"{opts}.sys_message_level", 3)

    def prepare_frame(self, cmds: Any, frame: int) -> None:
        _require(cmds, f"{self.options}.animType", 2, "render specific frames")
        _require(cmds, f"{self.options}.animFrames", str(frame), "this frame", type="string")

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
