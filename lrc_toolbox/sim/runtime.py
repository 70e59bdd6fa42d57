"""The state behind the simulator's ``maya`` stand-in: one open scene in one fake mayapy.

The stand-in modules (``lrc_toolbox/sim/maya_stub/maya/...``) are thin: every call lands
here. The scene comes from the real .ma reader; attributes the reader does not report take
Maya's defaults. Layer switches apply each layer's resolved overrides the way Render Setup
does. The render commands sleep by the cost model, print the renderer's real log format
(:mod:`lrc_toolbox.sim.renderer_logs`), inject the configured faults and write real image
files where Maya would (:mod:`lrc_toolbox.sim.naming`, the simulator's own model of Maya's
and MtoA's naming, which imports nothing from the worker or its prediction).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from lrc_toolbox.records.renderers import MAYA_DEFAULT_RENDERER, RENDERERS
from lrc_toolbox.sim.config import SimConfig, load_sim_config
from lrc_toolbox.sim.naming import (
    MASTER,
    ArnoldAovState,
    FrameNaming,
    arnold_outputs,
    maya_file_name,
)

SIM_MAYA_VERSION = "2024"
_PLUGIN_OF = {name: info.plugin for name, info in RENDERERS.items() if info.plugin}
#: the plug-in builds the simulated renderer logs announce (renderer_logs.startup_lines)
PLUGIN_VERSIONS = {"mtoa": "5.4.0", "redshift4maya": "3.5.19", "vrayformaya": "6.20.01"}
KNOWN_PLUGINS = (*_PLUGIN_OF.values(), "mayaHIK", "renderSetup")

# Maya's defaults for what a scene does not write (MAYA_REFERENCE §3). Only Maya's own
# nodes: they exist in every scene.
_DEFAULTS: dict[str, dict[str, Any]] = {
    "defaultRenderGlobals": {
        "currentRenderer": MAYA_DEFAULT_RENDERER,
        "animation": False,
        "startFrame": 1.0,
        "endFrame": 10.0,
        "byFrameStep": 1.0,
        "imageFilePrefix": "",
        "imageFormat": 7,
        "imfPluginKey": "",
        "extensionPadding": 1,
        "putFrameBeforeExt": True,
        "periodInExt": 1,
        "renderVersion": "",
        "preMel": "",
        "numCpusToUse": 0,
        # a Maya render globals attribute that MtoA reads (MTOA arnoldRenderer.xml declares
        # it on defaultRenderGlobals; ArnoldRenderCmd.cpp skips an existing image when on)
        "skipExistingFrames": False,
    },
    "defaultResolution": {"width": 640, "height": 480},
}

# The renderer plug-ins' option nodes, with the values a newly created node has. A node
# exists only when the scene file creates it or after the renderer's creation call
# (``mtoa.core.createOptions()``, ``vrayCreateVRaySettingsNode``,
# ``redshiftGetRedshiftOptionsNode(true)``); reading or setting it before raises like Maya.
# MTOA = MtoA's sources in the history of sebastienblor/arnold-usd @ f0920e993c42.
OPTION_NODE_DEFAULTS: dict[str, dict[str, Any]] = {
    # MTOA plugins/mtoa/nodes/options/ArnoldOptionsNode.cpp: renderType 0, threads 1,
    # threads_autodetect 1, log_verbosity 1, log_to_console 1, renderDevice 0 (CPU),
    # render_device_fallback 0 (Error), manual_gpu_devices 0, render_devices (array, empty).
    # abortOnLicenseFail / skipLicenseCheck are Arnold's abort_on_license_fail /
    # skip_license_check (MakeInput): their default is Arnold's, not stated in MTOA; off is
    # assumed here.
    "defaultArnoldRenderOptions": {
        "renderType": 0,
        "log_verbosity": 1,
        "log_to_console": True,
        "abortOnLicenseFail": False,
        "skipLicenseCheck": False,
        "renderDevice": 0,
        "render_device_fallback": 0,
        "manual_gpu_devices": False,
        "render_devices": [],
        "threads_autodetect": True,
        "threads": 1,
        "version": "",
    },
    # MTOA scripts/mtoa/core.py createOptions also creates these shared nodes; the default
    # translators (exr, gaussian) are the values the sample scene stores. The display
    # driver is set to "maya" / outputMode 0 by createOptions itself.
    "defaultArnoldDriver": {"aiTranslator": "exr"},
    "defaultArnoldFilter": {"aiTranslator": "gaussian"},
    "defaultArnoldDisplayDriver": {"aiTranslator": "maya", "outputMode": 0},
    # Redshift's defaults: not sourced (assumption); the attribute names are the ones DL
    # MayaBatch.py and Royal Render's kso_maya.py set.
    "redshiftOptions": {
        "imageFormat": 1,
        "abortOnLicenseFail": False,
        "skipExistingFrames": False,
        "logLevel": 1,
    },
    # V-Ray's defaults: attribute names from DCM vray_handler.py; values assumed.
    "vraySettings": {
        "fileNamePrefix": "",
        "imageFormatStr": "png",
        "fileNamePadding": 4,
        "sys_message_level": 2,
        "productionEngine": 0,
        "animType": 0,
        "animFrames": "",
        "sys_max_threads": 0,
        "sys_distributed_rendering_on": 0,
        "vrscene_render_on": 1,
        "vrscene_on": 0,
        "dontSaveImage": 0,
        "dontSaveRgbChannel": 0,
        "noAlpha": 0,
        "sys_progress_increment": 10,
    },
}
#: the nodes each renderer's creation call makes (MTOA core.py createOptions makes four)
OPTION_NODES_OF = {
    "arnold": (
        "defaultArnoldRenderOptions",
        "defaultArnoldFilter",
        "defaultArnoldDriver",
        "defaultArnoldDisplayDriver",
    ),
    "redshift": ("redshiftOptions",),
    "vray": ("vraySettings",),
}
# nodes that go with defaultArnoldRenderOptions in a scene file that has it (MtoA saves the
# four together); the .ma reader reports only the options node and the driver
_ARNOLD_COMPANIONS = ("defaultArnoldFilter", "defaultArnoldDisplayDriver")
_LAYER_ATTRS = {
    "renderer": "currentRenderer",
    "animation": "animation",
    "start_frame": "startFrame",
    "end_frame": "endFrame",
    "by_frame": "byFrameStep",
    "image_prefix": "imageFilePrefix",
}
_SHORT = {
    "ren": "currentRenderer",
    "an": "animation",
    "fs": "startFrame",
    "ef": "endFrame",
    "bfs": "byFrameStep",
    "ifp": "imageFilePrefix",
    "w": "width",
    "h": "height",
    "rndr": "renderable",
    "rnd": "renderable",
}


class MayaError(RuntimeError):
    """What maya.cmds raises: Maya's RuntimeError with Maya's wording."""


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


class SimMaya:
    """One simulated Maya session."""

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or load_sim_config()
        self.initialized = False
        #: when the start-up cost is paid (monotonic), until the scene has loaded
        self._ready_at: float | None = None
        self._initialized_at = 0.0
        self._slack = 0.0
        self.scene: Any = None  # SceneDescription once a file is open
        self.scene_path = ""
        self.attrs: dict[str, dict[str, Any]] = {}
        self.base: dict[str, Any] = {}
        self.current_layer = "defaultRenderLayer"
        self.current_time = 1.0
        self.project = os.getcwd()
        self.file_rules: dict[str, str] = {"images": "images"}
        missing = os.environ.get("LRC_SIM_MISSING_PLUGINS", "")
        self.missing_plugins = {p.strip() for p in missing.split(",") if p.strip()}
        self.loaded_plugins: set[str] = set()
        self.device = os.environ.get("CUDA_VISIBLE_DEVICES", "") or "CPU"
        self._renderable: set[str] = set()
        self._aov_nodes: list[str] = []
        self.layer_renderable: dict[str, bool] = {}
        # overrides / adjustments disabled or removed in this session, by layer node
        self.disabled: dict[str, set[str]] = {}
        # ``dirmap`` (ADSK dirmap reference): off when Maya starts, mappings in the order
        # given, not kept between sessions
        self.dirmap_enabled = False
        self.dirmaps: dict[str, str] = {}

    # ------------------------------------------------------------------ session

    def initialize(self) -> None:
        if self.initialized:
            return
        # the start-up cost is from exec to ready, as a real mayapy's, scene load included:
        # what this process already spent starting Python and importing counts towards
        # it, and so does reading the scene, so the rest is waited for once the scene
        # has loaded (:meth:`_started`), not here. A scene opened late (--await-scene)
        # still takes its load time: see _started
        seconds = max(0.0, self.config.startup_seconds() - _seconds_since_exec())
        slow = self.config.take_fault("slow_start", device=self.device)
        if slow:
            seconds += slow.seconds * self.config.time_scale
        now = time.monotonic()
        self._initialized_at = now
        self._ready_at = now + seconds
        # how long the open may wait unseen: what is left of Maya's own part of the start
        self._slack = max(0.0, seconds - self.config.scene_load_seconds())
        crash = self.config.take_fault("crash", device=self.device)
        if crash is not None and crash.frame is None:  # a crash fault without a frame
            sys.stdout.flush()  # fires at start-up, before hello
            os._exit(crash.exit_code)
        if self.config.take_fault("licence", device=self.device):
            from lrc_toolbox.sim import renderer_logs

            for line in renderer_logs.fatal_line("licence", "maya"):
                _out(line)
            sys.stdout.flush()
            os._exit(1)
        self.initialized = True

    def _require_init(self) -> None:
        if not self.initialized:
            raise MayaError("maya.standalone.initialize() has not been called")

    def _started(self, open_began: float | None = None) -> None:
        """Wait out what is left of the start-up (see :meth:`initialize`), once.

        Opened at once, the scene is ready at ``_ready_at`` (exec + ``startup``). An open
        that began ``waited`` seconds after ``initialize()`` (a worker waiting for its
        snapshot) hides the wait behind what was left of Maya's own part (``_slack``: the
        start-up less the scene load); beyond that, each second waited delays the ready time
        by a second, so the load still takes its ``scene_load`` after the open began."""
        ready_at = self._ready_at
        if ready_at is not None:
            self._ready_at = None
            waited = 0.0 if open_began is None else max(0.0, open_began - self._initialized_at)
            left = ready_at + max(0.0, waited - self._slack) - time.monotonic()
            if left > 0:
                time.sleep(left)

    # ------------------------------------------------------------------ files

    def open(self, path: str) -> str:
        self._require_init()
        began = time.monotonic()
        from lrc_toolbox.scene.ma_reader import MayaAsciiError, read_ma

        try:
            scene = read_ma(path)
        except MayaAsciiError as exc:
            raise MayaError(f"Error reading file. {exc}") from exc
        self.scene = scene
        self.scene_path = os.path.abspath(path)
        self._load_references(scene.references)
        self.attrs = {node: dict(values) for node, values in _DEFAULTS.items()}
        glob = self.attrs["defaultRenderGlobals"]
        for key, attr in _LAYER_ATTRS.items():
            glob[attr] = getattr(scene, key)
        raw = getattr(scene, "node_attributes", None) or {}
        # a renderer's options node exists only when the file creates it (the .ma reader
        # lists every options node the file has, even one without setAttr statements)
        for node in raw:
            if node in OPTION_NODE_DEFAULTS:
                self.attrs[node] = dict(OPTION_NODE_DEFAULTS[node])
        if "defaultArnoldRenderOptions" in raw:
            for node in _ARNOLD_COMPANIONS:
                self.attrs.setdefault(node, dict(OPTION_NODE_DEFAULTS[node]))
        for node, values in raw.items():
            self.attrs.setdefault(node, {}).update(values)
        # aiAOV nodes connected to the options node's aovList (MTOA ArnoldAOVNode.cpp:
        # "name", "enabled" default on)
        self._aov_nodes = []
        for aov in getattr(scene, "arnold_aovs", None) or []:
            self.attrs[aov.node] = {"name": aov.name, "enabled": bool(aov.enabled)}
            self._aov_nodes.append(aov.node)
        self.layer_renderable = {layer.node: bool(layer.renderable) for layer in scene.layers}
        self.disabled = {}
        self.attrs["defaultResolution"]["width"] = scene.resolution[0]
        self.attrs["defaultResolution"]["height"] = scene.resolution[1]
        self.base = dict(glob)
        self.current_time = float(scene.current_time)
        self.current_layer = "defaultRenderLayer"
        self.loaded_plugins = {p for p in scene.requires if p not in self.missing_plugins}
        self._renderable = set(scene.renderable_cameras)
        master = next((layer for layer in scene.layers if layer.master), None)
        if master is not None:
            self.switch_layer(master.node, charge=False)  # part of opening the scene
        self._started(began)
        return self.scene_path

    # ------------------------------------------------------------------ dirmap

    def convert_directory(self, path: str) -> str:
        """``dirmap -convertDirectory`` (ADSK): when mapping is enabled, a path holding a
        mapped directory comes back with that part replaced; otherwise it is returned as
        given. Existence is not checked; mapping is case-sensitive on every platform."""
        if not self.dirmap_enabled:
            return path
        for source, destination in self.dirmaps.items():
            if path == source or path.startswith(source.rstrip("/") + "/"):
                return destination.rstrip("/") + path[len(source.rstrip("/")) :]
        return path

    def _load_references(self, references: list[str]) -> None:
        """Load the scene's file references through ``dirmap``, as Maya does on open; a
        missing file is a warning, the scene still opens (Maya's "Reference file not
        found")."""
        for reference in references:
            resolved = self.convert_directory(reference)
            if os.path.isfile(resolved):
                _out(f"// Loading reference: {resolved}")
            else:
                _out(f'// Warning: file: Reference file not found: "{resolved}"')

    def rename(self, path: str) -> None:
        self.scene_path = os.path.abspath(path)

    # ------------------------------------------------------------------ workspace

    def open_workspace(self, project: str) -> None:
        self.project = os.path.abspath(project)

    def expand(self, rule: str) -> str:
        return rule if os.path.isabs(rule) else os.path.join(self.project, rule)

    # ------------------------------------------------------------------ nodes

    def _layer(self, node: str) -> Any:
        for layer in self.scene.layers if self.scene else []:
            if layer.node == node:
                return layer
        return None

    def _split(self, plug: str) -> tuple[str, str]:
        node, _, attr = plug.partition(".")
        return node, _SHORT.get(attr, attr)

    def exists(self, plug: str) -> bool:
        node, attr = self._split(plug)
        if self._layer(node) is not None:
            return attr in ("", "renderable")
        if node in self.camera_shapes() or node in self.cameras():
            return attr in ("", "renderable")
        return node in self.attrs and (not attr or attr in self.attrs[node])

    def get_attr(self, plug: str) -> Any:
        self._require_init()
        node, attr = self._split(plug)
        layer = self._layer(node)
        if layer is not None and attr == "renderable":
            return self.layer_renderable.get(node, bool(layer.renderable))
        if node in self.camera_shapes() and attr == "renderable":
            return node in self.renderable_shapes
        if node in self.attrs and attr in self.attrs[node]:
            return self.attrs[node][attr]
        raise MayaError(f"No object matches name: {plug}")

    def set_attr(self, plug: str, value: Any) -> None:
        self._require_init()
        node, attr = self._split(plug)
        if self._layer(node) is not None and attr == "renderable":
            self.layer_renderable[node] = bool(value)
            return
        if node in self.camera_shapes() and attr == "renderable":
            if value:
                self.renderable_shapes.add(node)
            else:
                self.renderable_shapes.discard(node)
            return
        if node not in self.attrs or attr not in self.attrs[node]:
            raise MayaError(f"No object matches name: {plug}")
        long_plug = f"{node}.{attr}"
        if long_plug in self.locked_plugs(self.current_layer):
            # RS-MODEL applyOverride.py isOverrideValueSettable: a set on a plug driven by
            # an override whose value plug is locked is refused (wording not checked
            # against Maya)
            raise MayaError(
                f"setAttr: The attribute '{long_plug}' is locked or connected and cannot be "
                "modified."
            )
        self.attrs[node][attr] = value
        if node == "defaultRenderGlobals":
            layer = self._layer(self.current_layer)
            overridden = layer is not None and attr in self._layer_values(layer)
            if not overridden:
                self.base[attr] = value

    def _layer_values(self, layer: Any) -> dict[str, Any]:
        values = {}
        for key, attr in _LAYER_ATTRS.items():
            value = self._layer_value(layer, key, attr)
            if value != self.base.get(attr):
                values[attr] = value
        return values

    def _layer_value(self, layer: Any, key: str, attr: str) -> Any:
        """The layer's value of a global: its override's (adjustment's) value, or the
        master value when it has none or it was disabled or removed."""
        plug = f"defaultRenderGlobals.{attr}"
        overridden = plug in (layer.overrides or {})
        if not overridden or plug in self.disabled.get(layer.node, set()):
            return self.base.get(attr, getattr(layer, key))
        return getattr(layer, key)

    def locked_plugs(self, node: str) -> set[str]:
        """Plugs a locked, still enabled override of the layer drives."""
        layer = self._layer(node)
        if layer is None:
            return set()
        locked = set(getattr(layer, "locked_overrides", None) or [])
        return locked - self.disabled.get(node, set())

    def overridden_plugs(self, node: str) -> list[str]:
        """The render-settings plugs the layer's overrides (adjustments) drive."""
        layer = self._layer(node)
        if layer is None:
            return []
        return [p for p in (layer.overrides or {}) if p not in self.disabled.get(node, set())]

    def disable_override(self, node: str, plug: str) -> None:
        """Render Setup ``override.setSelfEnabled(False)``: the layer no longer drives the
        plug, which takes its master value (DL DeadlineMayaBatchFunctions.py
        ``unlockRenderSetupOverrides`` does this for the plugs it sets)."""
        self.disabled.setdefault(node, set()).add(plug)
        if node == self.current_layer:
            node_name, attr = self._split(plug)
            if node_name == "defaultRenderGlobals" and attr in self.base:
                self.attrs["defaultRenderGlobals"][attr] = self.base[attr]

    def remove_adjustment(self, plug: str) -> None:
        """MEL ``removeRenderLayerAdjustmentAndUnlock``: a LEGACY layer's adjustment of the
        plug on the current layer is removed (the plug takes the master value) and the plug
        unlocked. Render Setup overrides are not adjustments: untouched."""
        self._require_init()
        node, attr = self._split(plug)
        long_plug = f"{node}.{attr}"
        layer = self._layer(self.current_layer)
        if layer is not None and layer.legacy and long_plug in (layer.overrides or {}):
            self.disable_override(self.current_layer, long_plug)

    def switch_layer(self, node: str, *, charge: bool = True) -> None:
        """Make ``node`` the current render layer. A switch to another layer costs
        ``layer_switch`` seconds (switching to the current one is a no-op)."""
        layer = self._layer(node)
        if layer is None:
            raise MayaError(f"editRenderLayerGlobals: render layer {node!r} does not exist")
        if charge and node != self.current_layer:
            time.sleep(self.config.layer_switch_seconds())
        glob = self.attrs["defaultRenderGlobals"]
        glob.update(self.base)
        for key, attr in _LAYER_ATTRS.items():
            glob[attr] = self._layer_value(layer, key, attr)
        # per-layer resolution and camera overrides, as Render Setup applies them
        self.attrs["defaultResolution"]["width"] = layer.resolution[0]
        self.attrs["defaultResolution"]["height"] = layer.resolution[1]
        self._renderable = set(layer.cameras)
        self.current_layer = node

    def create_options(self, renderer: str) -> list[str]:
        """The renderer's creation call: make its options nodes that do not exist yet, with
        the values a new node has (OPTION_NODE_DEFAULTS); existing ones are kept (MtoA
        creates them as shared nodes: "only created if it does not exist"). Returns the
        nodes created."""
        self._require_init()
        if not self.renderer_loaded(renderer):
            # the node types belong to the plug-in; without it createNode does not know
            # them (wording as Maya's createNode error; not checked against Maya)
            kind = {"arnold": "aiOptions", "redshift": "RedshiftOptions"}.get(renderer, renderer)
            raise MayaError(f"Unknown object type: {kind}")
        created = []
        for node in OPTION_NODES_OF[renderer]:
            if node not in self.attrs:
                self.attrs[node] = dict(OPTION_NODE_DEFAULTS[node])
                created.append(node)
        return created

    def layer_nodes(self) -> list[str]:
        return [layer.node for layer in self.scene.layers] if self.scene else []

    def display_name(self, node: str) -> str:
        layer = self._layer(node)
        if layer is None:
            raise MayaError(f"renderLayerDisplayName: {node!r} is not a render layer")
        return MASTER if layer.master else str(layer.name)

    # ------------------------------------------------------------------ cameras

    @property
    def renderable_shapes(self) -> set[str]:
        return self._renderable

    def camera_shapes(self) -> list[str]:
        shapes = list(self.scene.renderable_cameras) if self.scene else []
        for default in ("perspShape", "topShape", "frontShape", "sideShape"):
            if default not in shapes:
                shapes.append(default)
        return shapes

    def cameras(self) -> list[str]:
        return [self.transform_of(s) for s in self.camera_shapes()]

    @staticmethod
    def transform_of(shape: str) -> str:
        return shape[: -len("Shape")] if shape.endswith("Shape") and len(shape) > 5 else shape

    def shape_of(self, transform: str) -> str | None:
        for shape in self.camera_shapes():
            if self.transform_of(shape) == transform:
                return shape
        return None

    # ------------------------------------------------------------------ plug-ins

    def plugin_loaded(self, name: str) -> bool:
        return name in self.loaded_plugins

    def plugin_version(self, name: str) -> str:
        """``pluginInfo NAME -query -version``: the loaded plug-in's version string
        (Autodesk command reference, pluginInfo: "-version ... Returns the version string
        of the plug-in"). The values are the builds the simulated logs print."""
        if name not in self.loaded_plugins:
            raise MayaError(f'pluginInfo: Plug-in, "{name}", is not loaded.')
        return PLUGIN_VERSIONS.get(name, "1.0")

    def renderer_loaded(self, renderer: str) -> bool:
        """Whether the renderer's plug-in is loaded (always, for Maya's own renderers)."""
        plugin = _PLUGIN_OF.get(renderer)
        return plugin is None or self.plugin_loaded(plugin)

    def load_plugin(self, name: str) -> None:
        if name in self.missing_plugins or name not in KNOWN_PLUGINS:
            from lrc_toolbox.sim import renderer_logs

            for line in renderer_logs.fatal_line("missing_plugin", name):
                _out(line)
            raise MayaError(f'Plug-in, "{name}", was not found on MAYA_PLUG_IN_PATH.')
        self.loaded_plugins.add(name)

    # ------------------------------------------------------------------ rendering

    def render(self, renderer: str, camera: str, frame: int, *, temp: bool = False) -> list[str]:
        """Simulate one render of one frame and camera of the current layer; returns the
        files written. ``temp``: an interactive render, written under ``<images>/tmp/``
        (MTOA getFileName's 'temp' path type; ADSK renderSettings ``-fullPathTemp``)."""
        self._require_init()
        self._started()  # no scene was opened: the start-up still counts
        if not self.renderer_loaded(renderer):
            plugin = _PLUGIN_OF[renderer]
            raise MayaError(f"Cannot find procedure for {renderer}: plug-in {plugin} not loaded")
        from lrc_toolbox.sim import renderer_logs

        cfg = self.config
        layer = self._layer(self.current_layer)
        layer_name = self.display_name(self.current_layer)
        device = self.device
        if renderer == "arnold":
            device = self._arnold_device()
        outputs = self.products(renderer, camera, frame, temp=temp)
        # MTOA ArnoldRenderCmd.cpp: with skipExistingFrames on, a batch render skips the
        # frame when its first image exists, says so, and writes nothing
        skip = renderer == "arnold" and self.get_attr("defaultRenderGlobals.skipExistingFrames")
        if skip and outputs and Path(outputs[0]).exists():
            _out(f"[mtoa] Skipping existing image: {outputs[0]}")
            return []
        seconds = cfg.frame_seconds(layer_name, frame)
        log = renderer_logs.frame_log(
            renderer,
            frame=frame,
            layer=layer_name,
            camera=camera,
            outputs=outputs,
            device=device,
            seconds=seconds,
        )
        for line in log.start:
            _out(line)
        take = cfg.take_fault
        self._record_gpu_use(renderer, device, frame, layer_name)
        if take("garbage", frame=frame, layer=layer_name, device=self.device):
            sys.stdout.flush()
            sys.stdout.buffer.write(b"\xff\xfe\x00garbage\x1b[2K\r\n@lrc {not json\n\x00\x01\x02\n")
            sys.stdout.buffer.flush()
        crash = take("crash", frame=frame, layer=layer_name, device=self.device)
        hang = take("hang", frame=frame, layer=layer_name, device=self.device)
        steps = max(1, cfg.progress_steps)
        for step in range(1, steps + 1):
            time.sleep(seconds / steps)
            if crash and step > steps // 2:
                sys.stdout.flush()
                os._exit(crash.exit_code)
            if hang and step > steps // 2:
                sys.stdout.flush()
                while True:
                    time.sleep(3600)
            for line in log.progress(100.0 * step / steps):
                _out(line)
        if take("cuda_error", frame=frame, layer=layer_name, device=self.device):
            for line in renderer_logs.fatal_line("cuda", renderer):
                _out(line)
            raise MayaError(f"{renderer} render failed: CUDA error")
        if take("render_error", frame=frame, layer=layer_name, device=self.device):
            if renderer == "arnold":  # MtoA's arnoldRender reports a failed render so
                from lrc_toolbox.sim import renderer_logs  # (ArnoldRenderCmd.cpp, displayError)

                for line in renderer_logs.fatal_line("aborted", "arnold"):
                    _out(line)
            raise MayaError(f"Error: {renderer} render of frame {frame} failed (injected)")
        written: list[str] = []
        if not take("missing_output", frame=frame, layer=layer_name, device=self.device):
            from lrc_toolbox.sim.images import write_image

            width = int(self.get_attr("defaultResolution.width"))
            height = int(self.get_attr("defaultResolution.height"))
            scale = max(1, max(width, height) // 64)
            for path in outputs:
                write_image(path, width // scale, height // scale, frame)
                written.append(path)
        for line in log.end:
            _out(line)
        del layer
        return written

    def _record_gpu_use(self, renderer: str, device: str, frame: int, layer: str) -> None:
        """A CUDA renderer rendering on a GPU opens a context there, and NVML lists the
        process on that GPU until it exits: record it for the simulated NVML
        (:mod:`lrc_toolbox.sim.gpu_processes`). The ``wrong_gpu`` fault records it on
        another GPU too, as a renderer that ignores CUDA_VISIBLE_DEVICES would be."""
        state_dir = self.config.state_dir
        if not state_dir or device == "CPU" or not RENDERERS[renderer].cuda_pinned:
            return
        from lrc_toolbox.sim.gpu_processes import other_gpu, record_gpu_process, visible_gpus

        own = visible_gpus(self.device)
        for uuid in own:
            record_gpu_process(state_dir, uuid)
        wrong = self.config.take_fault("wrong_gpu", frame=frame, layer=layer, device=self.device)
        if wrong is not None and own:
            record_gpu_process(state_dir, other_gpu(own, wrong.gpu))

    def _arnold_device(self) -> str:
        """The device MtoA renders on: MTOA ArnoldSession.cpp creates the options node with
        its defaults when the render starts without one (renderDevice 0 = CPU), and
        OptionsTranslator.cpp renders on the GPU only when renderDevice is 1. The frame's
        log then shows the CPU line instead of the GPU line (renderer_logs)."""
        if "defaultArnoldRenderOptions" not in self.attrs:
            self.create_options("arnold")
        if int(self.get_attr("defaultArnoldRenderOptions.renderDevice") or 0) != 1:
            return "CPU"
        return self.device

    def layer_globals(self, node: str) -> dict[str, Any]:
        """defaultRenderGlobals as they are when ``node`` is the current layer."""
        if node == self.current_layer:
            return dict(self.attrs["defaultRenderGlobals"])
        values = dict(self.attrs["defaultRenderGlobals"])
        values.update(self.base)
        layer = self._layer(node)
        if layer is not None:
            for key, attr in _LAYER_ATTRS.items():
                values[attr] = self._layer_value(layer, key, attr)
        return values

    def batch_render(self, renderer: str, camera: str | None = None) -> list[str]:
        """A batch render as Maya's ``mayaBatchRenderProcedure`` and Redshift's ``rsRender
        -batch`` make it: every RENDERABLE layer (DCM PR #470: ``rsRender -batch`` renders
        every renderable layer, so the handler turns the others off), every frame from
        ``startFrame`` to ``endFrame`` by ``byFrameStep``, each renderable camera (or the
        one given). The current layer is restored afterwards."""
        self._require_init()
        start_layer = self.current_layer
        written: list[str] = []
        try:
            for node in self.layer_nodes():
                if not self.layer_renderable.get(node, False):
                    continue
                if node != self.current_layer:
                    self.switch_layer(node)
                glob = self.attrs["defaultRenderGlobals"]
                first = float(glob["startFrame"])
                last = float(glob["endFrame"])
                step = float(glob.get("byFrameStep") or 1.0) or 1.0
                if not glob.get("animation"):
                    last = first = self.current_time
                cameras = (
                    [camera]
                    if camera
                    else [self.transform_of(c) for c in sorted(self.renderable_shapes)]
                )
                frame = first
                while frame <= last + 1e-6:
                    for cam in cameras:
                        written += self.render(renderer, cam, round(frame))
                    frame += step
        finally:
            if self.current_layer != start_layer:
                self.switch_layer(start_layer)
        return written

    # ------------------------------------------------------------------ naming

    def naming(self, renderer: str, layer_node: str | None = None) -> FrameNaming:
        """What Maya's naming reads for the current (or the given) layer."""
        node = layer_node or self.current_layer
        glob = self.attrs["defaultRenderGlobals"]
        values = self.layer_globals(node)
        prefix = str(values.get("imageFilePrefix") or "")
        padding = int(glob.get("extensionPadding") or 1)
        if renderer == "vray" and "vraySettings" in self.attrs:
            # V-Ray's own prefix and padding (DCM vray_handler.py; AYON IMAGE_PREFIXES)
            prefix = str(self.attrs["vraySettings"].get("fileNamePrefix") or "")
            padding = int(self.attrs["vraySettings"].get("fileNamePadding") or 1)
        return FrameNaming(
            images_dir=self.expand(self.file_rules.get("images", "images")),
            scene=Path(self.scene_path).stem if self.scene_path else "untitled",
            prefix=prefix,
            layer_node=node,
            layer_display=self.display_name(node),
            # MTOA hooks.fileTokenRenderLayer: every layer connected to the manager
            connected_layers=len(self.layer_nodes()),
            # MTOA hooks.fileTokenCamera: camera shapes with renderable on, whole scene
            renderable_cameras=len(self.renderable_shapes),
            padding=padding,
            frame_before_ext=bool(glob.get("putFrameBeforeExt", True)),
            period_in_ext=int(glob.get("periodInExt", 1)),
            version=str(glob.get("renderVersion") or ""),
        )

    def aov_state(self) -> ArnoldAovState:
        """MtoA's AOV settings as its options translator reads them (``ProcessAOVs``)."""
        opts = self.attrs.get("defaultArnoldRenderOptions", {})
        driver = self.attrs.get("defaultArnoldDriver", {})
        aovs = tuple(
            (str(self.attrs[node].get("name", "")), bool(self.attrs[node].get("enabled", True)))
            for node in self.aov_nodes()
        )
        return ArnoldAovState(
            mode=int(opts.get("aovMode", 1)),
            variance=bool(opts.get("outputVarianceAOVs", False)),
            merge=bool(driver.get("mergeAOVs", False)),
            aovs=aovs,
        )

    def aov_nodes(self) -> list[str]:
        """aiAOV nodes connected to ``defaultArnoldRenderOptions.aovList``, in order."""
        if "defaultArnoldRenderOptions" not in self.attrs:
            return []
        return [n for n in self._aov_nodes if n in self.attrs]

    def extension(self, renderer: str) -> str:
        """The file extension each renderer writes, from its own settings."""
        if renderer == "arnold":
            # MTOA utils.translatorToExtension / OptionsTranslator.cpp: deepexr -> exr,
            # jpeg -> jpg, anything else as it is
            translator = str(self.attrs.get("defaultArnoldDriver", {}).get("aiTranslator") or "exr")
            return {"deepexr": "exr", "jpeg": "jpg"}.get(translator, translator)
        if renderer == "redshift":
            code = int(self.attrs.get("redshiftOptions", {}).get("imageFormat", 1) or 0)
            return REDSHIFT_EXTENSIONS.get(code, "exr")
        if renderer == "vray":
            fmt = str(self.attrs.get("vraySettings", {}).get("imageFormatStr") or "png")
            return "exr" if fmt.startswith("exr") else fmt
        glob = self.attrs["defaultRenderGlobals"]
        key = str(glob.get("imfPluginKey") or "")
        return key or MAYA_IMAGE_FORMATS.get(int(glob.get("imageFormat", 7)), "iff")

    def products(self, renderer: str, camera: str, frame: int, *, temp: bool = False) -> list[str]:
        """Every file the renderer writes for one frame and camera of the current layer."""
        naming = self.naming(renderer)
        ext = self.extension(renderer)
        if renderer == "arnold":
            return arnold_outputs(
                naming, self.aov_state(), camera=camera, ext=ext, frame=frame, batch=not temp
            )
        return [maya_file_name(naming, camera=camera, ext=ext, frame=frame, temp=temp)]


# Maya's defaultRenderGlobals.imageFormat codes (the "imfKey" table) for the formats the
# simulator writes; a code not listed is written as Maya's own IFF.
MAYA_IMAGE_FORMATS = {3: "tif", 4: "tif", 7: "iff", 8: "jpg", 19: "tga", 32: "png", 40: "exr"}
# Redshift imageFormat codes -> extension (simulator assumption, not sourced; real Redshift
# answers redshiftGetImageExtension itself)
REDSHIFT_EXTENSIONS = {0: "iff", 1: "exr", 2: "png", 3: "tga", 4: "jpg", 5: "tif"}


_SESSION: SimMaya | None = None


def session() -> SimMaya:
    """The process's one simulated Maya (created on first use)."""
    global _SESSION
    if _SESSION is None:
        _SESSION = SimMaya()
    return _SESSION


def reset_session(config: SimConfig | None = None) -> SimMaya:
    """A fresh session (tests)."""
    global _SESSION
    _SESSION = SimMaya(config)
    return _SESSION


def _seconds_since_exec() -> float:
    """Seconds since this process was created, from the kernel's own clock on Linux (its
    start time and the uptime are both counted from boot; psutil's ``create_time`` adds a
    boot time rounded to the second). Elsewhere 0: the whole start-up is charged."""
    from lrc_toolbox.utils.processes import proc_stat_fields

    fields = proc_stat_fields(os.getpid())
    if fields is None:
        return 0.0
    try:
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: starttime, ticks
    except (OSError, ValueError, IndexError):
        return 0.0
    return max(0.0, uptime - started)
