"""Planning a batch without Qt: what ``render --dry-run`` runs, and what
:class:`~lrc_toolbox.core.batch_render_api.BatchRenderAPI` validates every request with.

Everything is validated BEFORE anything starts (frames, layers, mayapy, output folder, disk
space), so a bad request costs nothing and says what to fix. Kept apart from the API's
QObject so a dry run outside Maya imports no Qt at all (the command line's start-up,
``benchmarks/bench_startup.py``).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from lrc_toolbox.config.batch_render_defaults import Settings
from lrc_toolbox.core.system_detector import SystemDetector
from lrc_toolbox.records.batch import BatchPlan, ExitCode, PlannedWorker
from lrc_toolbox.records.frame_parser import FrameRangeError, parse_frames
from lrc_toolbox.records.models import RenderConfig, SystemInfo, ValidationError
from lrc_toolbox.records.renderers import RENDERER_NAMES, RENDERERS
from lrc_toolbox.scene.description import SceneDescription
from lrc_toolbox.scene.scene_source import SceneSourceError, scene_source_for
from lrc_toolbox.utils.output_paths import OutputSpec, expected_outputs, path_inside
from lrc_toolbox.utils.render_subprocess import MayapyNotFound, Slot, build_slots, find_mayapy
from lrc_toolbox.utils.temp_file_manager import check_disk_space

__all__ = [
    "SIMULATED_MAYAPY",
    "BadRequest",
    "BatchError",
    "BatchPlanner",
    "EnvironmentProblem",
    "OutputOutsideFolder",
    "PlannedBatch",
    "find_project",
]

#: the command that stands in for mayapy when simulating (tests, demo, benchmarks)
SIMULATED_MAYAPY = (sys.executable, "-m", "lrc_toolbox.sim.mayapy")


class BatchError(RuntimeError):
    """A batch could not start; ``exit_code`` is what the CLI returns."""

    exit_code: ExitCode = ExitCode.FAILED_FRAMES


class BadRequest(BatchError):
    """The request is wrong (frames, layers, config, paths): fix the input. Exit code 2."""

    exit_code = ExitCode.BAD_INPUT


class EnvironmentProblem(BatchError):
    """The machine cannot do it (no mayapy, no GPU, disk full). Exit code 3."""

    exit_code = ExitCode.ENVIRONMENT


class OutputOutsideFolder(BadRequest):
    """An image of the batch would be written outside its output folder. Exit code 2.

    Attributes:
        field: the RenderConfig field the offending value came from (``image_prefix``,
            ``scene_name``), or None when it came from the scene (its image prefix, its
            file name, a layer or camera name).
        source: what the message calls that origin; a caller that knows better (the
            CLI: ``--image-prefix``, a job file key) rebuilds it with :meth:`message`.
        value: the offending value (the prefix, or the name).
        path: the image path it gives; folder: the output folder.
    """

    def __init__(
        self,
        *,
        field: str | None,
        source: str,
        value: str,
        layer: str,
        path: str,
        folder: str,
        advice: str,
    ) -> None:
        self.field, self.source, self.value = field, source, value
        self.layer, self.path, self.folder, self.advice = layer, path, folder, advice
        super().__init__(self.message())

    def message(self, source: str | None = None) -> str:
        """The message, naming the value's origin as ``source`` (default: its own)."""
        return (
            f"{source or self.source} {self.value!r} puts images outside the output "
            f"folder: layer {self.layer} would write {self.path}, which is not inside "
            f"{self.folder}. {self.advice}"
        )


#: where a renderer reads its image prefix when it is not defaultRenderGlobals'
#: (the worker sets the same plug: lrc_toolbox.worker.renderers, ``prefix_plug``)
_PREFIX_PLUGS = {"vray": ("vraySettings", "fileNamePrefix")}
_DEFAULT_PREFIX_PLUG = "defaultRenderGlobals.imageFilePrefix"
_PREFIX_ADVICE = (
    "Every image must stay inside it: use a prefix relative to the output folder, "
    "without '..' (e.g. '<Scene>/<RenderLayer>/<RenderLayer>'), or choose another output "
    "folder."
)


@dataclass
class PlannedBatch:
    """A planned batch: the :class:`BatchPlan` record that goes out to listeners, plus what
    only the engine and the farm exporters use (the scene as read, the worker slots)."""

    plan: BatchPlan
    scene: SceneDescription
    slots: list[Slot]


def find_project(scene: Path) -> Path | None:
    """The Maya project of a scene: the nearest folder above it with a workspace.mel."""
    for folder in [scene.parent, *scene.parent.parents]:
        if (folder / "workspace.mel").is_file():
            return folder
    return None


class BatchPlanner:
    """Validates a request and plans its batch; starts and writes nothing (Qt-free).

    :class:`~lrc_toolbox.core.batch_render_api.BatchRenderAPI` is one; ``render --dry-run``
    makes a plain one (:meth:`for_settings`). No ``__init__`` of its own, so the QObject's
    cooperative initialisation in PySide6 never calls one with missing arguments: the
    attributes are set by :meth:`_setup_planner`.
    """

    settings: Settings
    simulate: bool
    detector: SystemDetector
    _system: SystemInfo | None
    #: False while plan_dry_run plans: nothing may be written
    _writes: bool

    def _setup_planner(
        self, settings: Settings, *, detector: SystemDetector | None, simulate: bool
    ) -> None:
        self.settings = settings
        self.simulate = simulate
        self.detector = detector or SystemDetector(settings)
        self._system = None
        self._writes = True

    @classmethod
    def for_settings(cls, settings: Settings, *, simulate: bool = False) -> BatchPlanner:
        """A planner alone (no job store, no Qt): what ``render --dry-run`` uses."""
        planner = cls()
        planner._setup_planner(settings, detector=None, simulate=simulate)
        return planner

    def get_system_info(self, refresh: bool = False) -> SystemInfo:
        if self._system is None or refresh:
            self._system = self.detector.detect()
        return self._system

    # ------------------------------------------------------------------ planning

    def plan_dry_run(self, config: RenderConfig, *, local: bool = True) -> PlannedBatch:
        """:meth:`plan_batch` that writes nothing at all (``--dry-run``): the output folder
        is checked (it exists and is writable, or could be created), not created."""
        self._writes = False
        try:
            return self.plan_batch(config, local=local)
        finally:
            self._writes = True

    def plan_batch(self, config: RenderConfig, *, local: bool = True) -> PlannedBatch:
        """Validate a request completely and say what would run; starts nothing.

        ``local=False`` plans for another machine (a farm): a missing local mayapy is then
        no error for a .ma scene, which is read without Maya (``plan.mayapy`` is
        ``["mayapy"]``, the name the farm resolves). It creates the output folder (the
        batch writes there next); :meth:`plan_dry_run` does not.

        Raises:
            BadRequest: bad frames, unknown layers, a missing or truncated scene, an
                unwritable output, an image path outside the output folder
                (:class:`OutputOutsideFolder`).
            EnvironmentProblem: no mayapy, no usable GPU for a GPU-only request, no disk.
        """
        try:
            config.validate()
        except ValidationError as exc:
            raise BadRequest(str(exc)) from exc
        scene_path = Path(config.scene).expanduser()
        try:
            mayapy = self._mayapy(config)
        except EnvironmentProblem:
            if local:
                raise
            mayapy = ["mayapy"]
        try:
            source = scene_source_for(scene_path, mayapy)
            scene = source.describe()
        except SceneSourceError as exc:
            raise BadRequest(str(exc)) from exc
        if scene.truncated:
            raise BadRequest(
                f"scene {scene_path} looks truncated ({scene.truncated}): what came after "
                "the cut (layers, cameras) is missing and every frame would fail; re-save "
                "it from Maya, or copy it again"
            )
        warnings = list(scene.warnings)
        frames_by_layer = self._frames_by_layer(config, scene, warnings)
        self._check_renderers(config, scene, frames_by_layer)
        self._check_camera(config, scene, warnings)
        system = self.get_system_info()
        devices = self._device_policy(config, scene, frames_by_layer, warnings)
        try:
            slots = build_slots(system, devices)
        except ValueError as exc:
            raise EnvironmentProblem(str(exc)) from exc
        project = (
            Path(config.project).expanduser()
            if config.project
            else find_project(scene_path.resolve())
        )
        folder = self._output_folder(config, scene_path, project)
        output_dir = str(folder.resolve())
        scene_name = config.scene_name or scene_path.stem
        # before the folder is made: a refused batch leaves nothing behind
        self._check_outputs_inside(config, scene, frames_by_layer, output_dir, scene_name)
        self._prepare_output(folder, create=self._writes)
        status = check_disk_space(
            Path(output_dir),
            min_free_mb=self.settings.min_free_disk_mb,
            warn_free_mb=self.settings.warn_free_disk_mb,
        )
        if status.error:
            raise EnvironmentProblem(status.error)
        if status.warning:
            warnings.append(status.warning)
        plan = BatchPlan(
            config=config,
            scene_name=scene_name,
            renderer=config.renderer or scene.renderer,
            frames_by_layer=frames_by_layer,
            workers=[PlannedWorker(id=s.id, device=s.label) for s in slots],
            mayapy=mayapy,
            output_dir=output_dir,
            project=str(project) if project else None,
            render_setup=scene.render_setup,
            warnings=warnings,
        )
        return PlannedBatch(plan=plan, scene=scene, slots=slots)

    def _mayapy(self, config: RenderConfig) -> list[str]:
        if self.simulate:
            return list(SIMULATED_MAYAPY)
        try:
            explicit = config.mayapy or self.settings.mayapy
            return [find_mayapy(explicit, running_executable=sys.executable)]
        except MayapyNotFound as exc:
            raise EnvironmentProblem(str(exc)) from exc

    @staticmethod
    def _frames_by_layer(
        config: RenderConfig, scene: SceneDescription, warnings: list[str]
    ) -> dict[str, list[int]]:
        if config.layers:
            layers = []
            for name in config.layers:
                layer = scene.layer(name)
                if layer is None:
                    known = ", ".join(layer.name for layer in scene.layers)
                    raise BadRequest(
                        f"layer {name!r} is not in {config.scene}; its layers are: {known}"
                    )
                if not layer.renderable:
                    warnings.append(
                        f"layer {layer.name} is not renderable in the scene; rendering it "
                        "because it was asked for by name"
                    )
                layers.append(layer)
        else:
            layers = scene.renderable_layers()
            if not layers:
                raise BadRequest(
                    f"no layer of {config.scene} is renderable: turn one on in Maya, or name "
                    "the layers to render (--layers)"
                )
        explicit: list[int] | None = None
        if config.frames.strip():
            try:
                explicit = parse_frames(config.frames)
            except FrameRangeError as exc:
                raise BadRequest(f"frames: {exc}") from exc
        plan: dict[str, list[int]] = {}
        for layer in layers:
            frames = list(explicit) if explicit is not None else list(layer.frames)
            if not frames:
                raise BadRequest(f"layer {layer.name} has no frames to render: give --frames")
            plan[layer.name] = frames
        return plan

    @staticmethod
    def _check_renderers(
        config: RenderConfig, scene: SceneDescription, frames_by_layer: dict[str, list[int]]
    ) -> None:
        """Every layer renders with a supported renderer (``--renderer`` was checked by
        ``RenderConfig.validate``), before any worker starts."""
        if config.renderer:
            return
        for name in frames_by_layer:
            layer = scene.layer(name)
            renderer = layer.renderer if layer is not None else scene.renderer
            if renderer not in RENDERERS:
                raise BadRequest(
                    f"layer {name} of {config.scene} renders with {renderer!r}, which the "
                    f"batch render manager does not support (supported: "
                    f"{', '.join(RENDERER_NAMES)}): choose one with --renderer, or change "
                    "the layer's renderer in Maya"
                )

    @staticmethod
    def _device_policy(
        config: RenderConfig,
        scene: SceneDescription,
        frames_by_layer: dict[str, list[int]],
        warnings: list[str],
    ) -> RenderConfig:
        """The config the worker slots are built from, after what the renderers can use
        (records.renderers): a batch whose renderers all render on the CPU only (Maya
        Software) gets CPU workers with their threads limited, not GPU workers; Maya
        Hardware 2.0 is not pinned by CUDA_VISIBLE_DEVICES, and the plan says so."""
        if config.renderer:
            names = {config.renderer}
        else:
            layers = [scene.layer(name) for name in frames_by_layer]
            names = {layer.renderer if layer else scene.renderer for layer in layers}
        infos = [RENDERERS[n] for n in sorted(names) if n in RENDERERS]
        if not infos:
            return config
        if not config.cpu_mode and not any(i.renders_on("gpu") for i in infos):
            labels = ", ".join(i.label for i in infos)
            warnings.append(
                f"{labels} renders on the CPU only: CPU workers are used (threads shared "
                "between them), not one per GPU"
            )
            return replace(config, cpu_mode=True)
        for info in infos:
            if not info.cuda_pinned and not config.cpu_mode:
                warnings.append(
                    f"{info.label} draws with the display GPU (OpenGL/DirectX), which "
                    "CUDA_VISIBLE_DEVICES does not choose: its workers share that GPU"
                )
            elif config.cpu_mode and not info.renders_on("cpu"):
                warnings.append(
                    f"{info.label} needs a GPU: CPU workers render it on the display GPU"
                )
        return config

    @staticmethod
    def _check_camera(config: RenderConfig, scene: SceneDescription, warnings: list[str]) -> None:
        """``--camera`` names a camera of the scene (shape or transform)."""
        camera = config.camera
        if not camera or not scene.cameras or camera in scene.cameras:
            return
        if scene.references:  # it may live in a referenced file, which is not read here
            warnings.append(
                f"camera {camera!r} is not in {config.scene} itself; rendering assumes it "
                "comes from a referenced file"
            )
            return
        raise BadRequest(
            f"camera {camera!r} is not in {config.scene}; its cameras are: "
            f"{', '.join(scene.cameras)}"
        )

    @staticmethod
    def _output_folder(config: RenderConfig, scene: Path, project: Path | None) -> Path:
        if config.output_dir:
            return Path(config.output_dir).expanduser()
        if project is not None:
            return project / "images"
        return scene.resolve().parent / "images"

    @staticmethod
    def _prepare_output(folder: Path, *, create: bool) -> None:
        """Make the output folder and prove it writable; with ``create`` False (a dry
        run) only check that it is, or could be made, without writing anything."""
        if not create:
            _check_writable_folder(folder)
            return
        try:
            folder.mkdir(parents=True, exist_ok=True)
            probe = folder / f".lrc_write_test_{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise BadRequest(
                f"cannot write to the output folder {folder}: {exc.strerror or exc}; choose "
                "another one (--output)"
            ) from exc

    @staticmethod
    def _check_outputs_inside(
        config: RenderConfig,
        scene: SceneDescription,
        frames_by_layer: dict[str, list[int]],
        output_dir: str,
        scene_name: str,
    ) -> None:
        """Every image of every planned layer and camera resolves inside the output
        folder after token expansion (the prediction, utils.output_paths), before any
        worker starts. Raises OutputOutsideFolder naming where the bad value came from."""
        globals_ = scene.node_attributes.get("defaultRenderGlobals", {})
        version = str(globals_.get("renderVersion") or "")
        multiple_layers = len(scene.renderable_layers()) > 1
        for name, frames in frames_by_layer.items():
            layer = scene.layer(name)
            if layer is None or not frames:
                continue
            renderer = config.renderer or layer.renderer
            node, attr = _PREFIX_PLUGS.get(renderer, ("", ""))
            if config.image_prefix:
                prefix = config.image_prefix
                origin: tuple[str | None, str] = ("image_prefix", "the image prefix")
            elif node:
                prefix = str(scene.node_attributes.get(node, {}).get(attr) or "")
                origin = (None, f"the image prefix of layer {name} in {scene.path} ({node}.{attr})")
            else:
                prefix = layer.image_prefix
                origin = (
                    None,
                    f"the image prefix of layer {name} in {scene.path} ({_DEFAULT_PREFIX_PLUG})",
                )
            cameras = [config.camera] if config.camera else (layer.cameras or ["camera"])
            for camera in cameras:
                spec = OutputSpec(
                    images_dir=output_dir,
                    prefix=prefix,
                    scene=scene_name,
                    layer=layer.name,
                    layer_node=layer.node,
                    camera=camera,
                    ext="exr",
                    multiple_layers=multiple_layers,
                    multiple_cameras=len(cameras) > 1,
                    version=version,
                )
                outside = _first_outside(spec, frames[0])
                if outside is None:
                    continue
                field, source = origin
                value, advice = prefix, _PREFIX_ADVICE
                for what, trial in (
                    ("name", replace(spec, scene="x")),
                    ("layer", replace(spec, layer="x", layer_node="x")),
                    ("camera", replace(spec, camera="x")),
                ):
                    if _first_outside(trial, frames[0]) is None:
                        value = {"name": scene_name, "layer": layer.name, "camera": camera}[what]
                        field, source, advice = _token_origin(config, what, value)
                        break
                raise OutputOutsideFolder(
                    field=field,
                    source=source,
                    value=value,
                    layer=name,
                    path=outside,
                    folder=output_dir,
                    advice=advice,
                )


def _first_outside(spec: OutputSpec, frame: int) -> str | None:
    return next(
        (p for p in expected_outputs(spec, frame) if not path_inside(p, spec.images_dir)), None
    )


def _token_origin(config: RenderConfig, what: str, value: str) -> tuple[str | None, str, str]:
    """(field, source, advice) when a token's value, not the prefix, leads out."""
    if what == "name" and config.scene_name:
        return "scene_name", "the scene name", "Choose a scene name without '..'."
    if what == "name":
        return (
            None,
            "the scene file's name",
            "<Scene> becomes the scene file's name: choose another with --scene-name "
            "(the job key scene_name), or rename the file.",
        )
    return None, f"the {what} name", f"Rename the {what} in Maya."


def _check_writable_folder(folder: Path) -> None:
    """Raise BadRequest unless ``folder`` is, or could be created as, a writable folder;
    creates nothing (a dry run writes nothing)."""
    current = Path(os.path.abspath(folder))
    while not current.exists() and current.parent != current:
        current = current.parent
    if not current.is_dir():
        raise BadRequest(
            f"cannot use the output folder {folder}: {current} is a file, not a folder; "
            "choose another one (--output)"
        )
    if not os.access(current, os.W_OK | os.X_OK):
        what = "write to" if current == Path(os.path.abspath(folder)) else "create"
        raise BadRequest(
            f"cannot {what} the output folder {folder}: {current} is not writable; choose "
            "another one (--output)"
        )
