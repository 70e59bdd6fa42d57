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
from lrc_toolbox.scene.description import ArnoldAov
from lrc_toolbox.worker.mel import mel_call

__all__ = [
    "HANDLERS",
    "ProductQuery",
    "RenderSettings",
    "RendererHandler",
    "RendererSettingError",
    "UnsupportedRendererError",
    "arnold_aovs",
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


@dataclass(frozen=True)
class ProductQuery:
    """What a handler needs to ask Maya for one frame's files of one camera."""

    layer_node: str
    camera: str
    frame: int
    scene: str


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


def arnold_aovs(cmds: Any) -> list[ArnoldAov]:
    """The aiAOV nodes connected to ``defaultArnoldRenderOptions.aovList``, in order, with
    their ``name`` and ``enabled`` (MTOA ``ArnoldAOVNode.cpp``); empty without the node."""
    plug = f"{ArnoldHandler.options}.aovList"
    if not cmds.objExists(ArnoldHandler.options):
        return []
    nodes = cmds.listConnections(plug, source=True, destination=False) or []
    return [
        ArnoldAov(
            node=str(node),
            name=str(_get(cmds, f"{node}.name", "") or ""),
            enabled=bool(_get(cmds, f"{node}.enabled", True)),
        )
        for node in nodes
    ]


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

    #: one render call renders every renderable camera (Maya's batch procedure does);
    #: otherwise the session calls :meth:`render` once per camera
    renders_every_camera = True

    def render(self, cmds: Any, mel: Any, camera: str, layer_node: str, frame: int) -> None:
        """Maya's own batch render, as Deadline's MayaBatch makes it (DL
        ``GetRenderCommand``): ``setMayaSoftwareLayers`` with this layer only, then
        ``mayaBatchRenderProcedure(0, "", "", "<renderer>", "")``, which renders the
        globals' range (start = end = this frame) for every renderable camera to the
        batch path. ``render camera`` without ``-batch`` would be an interactive render of
        the current time, written as a preview under ``images/tmp/`` (ADSK render and
        renderSettings ``-fullPathTemp``)."""
        mel.eval(mel_call("setMayaSoftwareLayers", layer_node, ""))
        mel.eval(mel_call("mayaBatchRenderProcedure", 0, "", "", self.name, ""))

    def products(self, cmds: Any, mel: Any, query: ProductQuery) -> list[str] | None:
        """Every file one frame writes for one camera, as MAYA names them: ``renderSettings
        -firstImageName -fullPath -layer L -camera C`` (ADSK renderSettings reference; the
        first image is this frame's, since start = end = the frame). None: Maya has no
        such query for this renderer and the session falls back to the prediction
        (:mod:`lrc_toolbox.utils.output_paths`)."""
        names = cmds.renderSettings(
            firstImageName=True, fullPath=True, layer=query.layer_node, camera=query.camera
        )
        return [os.path.normpath(str(n)) for n in names or [] if str(n).strip()]

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
    """Maya Hardware 2.0 (viewport renderer), rendered through Maya's batch procedure as
    DL does (``mayaBatchRenderProcedure(0, "", "", "mayaHardware2", $ogsRenderOptions)``);
    where ``ogsRender`` writes has no source."""

    name = "mayaHardware2"

    def configure(self, cmds: Any, mel: Any, settings: RenderSettings) -> None:
        pass


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

    renders_every_camera = False

    def render(self, cmds: Any, mel: Any, camera: str, layer_node: str, frame: int) -> None:
        cmds.arnoldRender(batch=True, seq=str(frame), camera=camera)

    def extension(self, cmds: Any, mel: Any) -> str:
        translator = _get(cmds, "defaultArnoldDriver.aiTranslator", "exr") or "exr"
        return _ARNOLD_EXT.get(str(translator), str(translator))

    def aov_names(self, cmds: Any) -> tuple[list[str], bool]:
        """The AOVs MtoA writes and its ``strictAOVs`` flag, read as MtoA's options
        translator reads them (MTOA ``OptionsTranslator.cpp`` ``ProcessAOVs``): the beauty
        always; an aiAOV connected to ``aovList`` other than the beauty makes AOVs "in use"
        even when disabled (so does ``outputVarianceAOVs``); it is written when
        ``aovMode`` is enabled (1, or 2 = batch only: this is a batch) and the AOV is.
        ``strictAOVs`` is off, adding a ``<RenderPass>/`` folder, only when AOVs are
        enabled, in use and ``defaultArnoldDriver.mergeAOVs`` is off."""
        opts = self.options
        mode = int(_get(cmds, f"{opts}.aovMode", 1) or 0)
        enabled = mode in (1, 2)
        in_use = bool(_get(cmds, f"{opts}.outputVarianceAOVs", False))
        names = ["beauty"]
        for aov in arnold_aovs(cmds):
            if not aov.name or aov.name == "beauty":
                continue
            in_use = True
            if enabled and aov.enabled and aov.name not in names:
                names.append(aov.name)
        merge = bool(_get(cmds, "defaultArnoldDriver.mergeAOVs", False))
        return names, not (enabled and in_use and not merge)

    def products(self, cmds: Any, mel: Any, query: ProductQuery) -> list[str] | None:
        """Each AOV's file from MtoA's own path function, called as MtoA's options
        translator calls it (MTOA ``plugins/mtoa/utils/MayaUtils.cpp`` ``getFileName``:
        tokens ``RenderPass``, ``RenderLayer`` = the layer NODE, ``Camera``, ``Extension``,
        ``Scene``; ``path`` = the image prefix, MtoA's default ``<Scene>`` when empty).
        ``getFileName`` then adds the ``<RenderPass>/``, ``<Camera>/`` and
        ``<RenderLayer>/`` folders and names the layer by its display name. Per-AOV
        drivers with their own prefix, light groups and stereo eyes are not listed."""
        utils = importlib.import_module("mtoa.utils")
        names, strict = self.aov_names(cmds)
        prefix = self.prefix(cmds) or "<Scene>"
        ext = self.extension(cmds, mel)
        paths: list[str] = []
        for name in names:
            path = utils.getFileName(
                "full",
                {
                    "RenderPass": name,
                    "RenderLayer": query.layer_node,
                    "Camera": query.camera,
                    "Extension": ext,
                    "Scene": query.scene,
                },
                path=prefix,
                frame=query.frame,
                fileType="images",
                strictAOVs=strict,
                createDirectory=False,
            )
            path = os.path.normpath(str(path))
            if path not in paths:  # merged AOVs share one file
                paths.append(path)
        return paths


class RedshiftHandler(RendererHandler):
    """Redshift. ``redshiftOptions`` is created with Redshift's MEL
    ``redshiftGetRedshiftOptionsNode(true)`` (DL ``MayaBatch.py`` initialisation, which
    calls it with the argument since Redshift 1.2.95). ``abortOnLicenseFail`` and
    ``skipExistingFrames`` on ``redshiftOptions``: a public copy of Royal Render's
    ``kso_maya.py`` (repository not named by the code search) sets both.

    Log level: DL ``GetVerboseCommand`` sets ``redshiftOptions.logLevel`` to its
    ``RedshiftVerbose`` (default 2, capped at 2) and reads progress from Redshift's
    ``Block n/m ... rendered`` lines (``HandleRedshiftBlockRendered``); a scene saved
    below 2 is raised to 2 (best effort: only the progress lines depend on it).
    """

    name = "redshift"
    options = "redshiftOptions"

    def configure(self, cmds: Any, mel: Any, settings: RenderSettings) -> None:
        opts = self.options
        _ensure_node(
            opts,
            cmds,
            lambda: mel.eval(mel_call("redshiftGetRedshiftOptionsNode", True)),
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
            ids = [int(p) for p in visible.replace(" ", "").split(",") if p.isdigit()] or [0]
            try:
                mel.eval(mel_call("redshiftSelectCudaDevices", ids))
            except Exception:
                pass  # older Redshift: the environment variable alone selects the device
        if (_get(cmds, f"{opts}.logLevel", 0) or 0) < 2:
            _set(cmds, f"{opts}.logLevel", 2)

    renders_every_camera = False

    def render(self, cmds: Any, mel: Any, camera: str, layer_node: str, frame: int) -> None:
        """``rsRender -render -batch -animation -camera`` over the globals' range (start =
        end = this frame), as DCM ``redshift_handler.py`` (PR #277) does. ``rsRender
        -batch`` renders EVERY renderable layer (DCM PR #470), so only this layer is left
        renderable first."""
        for node in cmds.ls(type="renderLayer") or []:
            if ":" in str(node):
                continue
            want = 1 if node == layer_node else 0
            if bool(_get(cmds, f"{node}.renderable", want)) != bool(want):
                cmds.setAttr(f"{node}.renderable", want)
        cmds.rsRender(render=True, batch=True, animation=True, camera=camera)

    def products(self, cmds: Any, mel: Any, query: ProductQuery) -> list[str] | None:
        return None  # no naming query found for Redshift: the prediction is used

    def extension(self, cmds: Any, mel: Any) -> str:
        code = int(_get(cmds, "redshiftOptions.imageFormat", 1) or 0)
        try:
            ext = mel.eval(mel_call("redshiftGetImageExtension", code))
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
            lambda: mel.eval(mel_call("vrayCreateVRaySettingsNode")),
            "vrayCreateVRaySettingsNode",
        )
        if _get(cmds, f"{opts}.productionEngine") == 3:
            _require(cmds, f"{opts}.productionEngine", 2, "RTX -> CUDA, as DCM does")
        _require(cmds, f"{opts}.sys_distributed_rendering_on", 0, "render on this machine only")
        _require(cmds, f"{opts}.vrscene_render_on", 1, "render images, not a .vrscene export")
        _require(cmds, f"{opts}.vrscene_on", 0, "render images, not a .vrscene export")
        _require(cmds, f"{opts}.dontSaveImage", 0, "the frame's image must be written")
        # DCM vray_handler.py start_render sets both: without them V-Ray can leave the
        # colour (RGB) or alpha channel out of the saved image
        _require(cmds, f"{opts}.dontSaveRgbChannel", 0, "the image must hold its colour")
        _require(cmds, f"{opts}.noAlpha", 0, "the image must hold its alpha")
        if settings.threads:
            _require(
                cmds, f"{opts}.sys_max_threads", settings.threads, "the worker's CPU thread limit"
            )
        # optional: message level 3 (DCM) and a 1 % progress increment (DL
        # GetVerboseCommand) only add progress lines
        if (_get(cmds, f"{opts}.sys_message_level", 0) or 0) < 3:
            _set(cmds, f"{opts}.sys_message_level", 3)
        _set(cmds, f"{opts}.sys_progress_increment", 1)

    def prepare_frame(self, cmds: Any, frame: int) -> None:
        _require(cmds, f"{self.options}.animType", 2, "render specific frames")
        _require(cmds, f"{self.options}.animFrames", str(frame), "this frame", type="string")

    renders_every_camera = False

    def render(self, cmds: Any, mel: Any, camera: str, layer_node: str, frame: int) -> None:
        cmds.vrend(camera=camera)

    def products(self, cmds: Any, mel: Any, query: ProductQuery) -> list[str] | None:
        return None  # no naming query found for V-Ray: the prediction is used

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
