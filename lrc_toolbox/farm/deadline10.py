"""Thinkbox Deadline 10: MayaBatch job info / plugin info files, and ``deadlinecommand``.

ONE JOB PER RENDER LAYER (layers may have different frames), grouped in the Monitor by a
shared ``BatchName``. The jobs use Deadline's own MayaBatch plug-in (a persistent
``mayabatch`` session per Worker that keeps the scene loaded between tasks), so on Deadline 10
the frames are rendered by Deadline's Maya integration, not by the lrc_toolbox worker; what
this module guarantees is that Deadline renders exactly the planned layers and frames.

Sources (DL-MB = Thinkbox's MayaBatch plug-in and submitters, public copy in
``applemin/Deadline_Development``):

- Job info keys ``Plugin``, ``Name``, ``BatchName``, ``Frames``, ``ChunkSize``,
  ``ConcurrentTasks``, ``Pool``, ``SecondaryPool``, ``Group``, ``Priority``,
  ``MachineLimit``, ``LimitGroups``, ``Comment``, ``Department``, ``InitialStatus``,
  ``TaskTimeoutMinutes``, ``OutputDirectory0``, ``OutputFilename0``:
  ``scripts/Submission/MayaSubmission.py`` (the Monitor's Maya submitter) and
  ``submission/Maya/Main/SubmitMayaToDeadline.mel``.
- ``OutputFilename0`` padding: the MEL submitter replaces the frame digits with ``#``; "In
  Deadline's representation, a contiguous sequence of hash characters represents a frame
  number with padding equivalent to the number of hash characters" (same file).
- Plugin info keys and their types: ``plugins/MayaBatch/MayaBatch.options`` (``SceneFile``,
  ``Version``, ``Build`` = None/32bit/64bit, ``ProjectPath``, ``OutputFilePath``,
  ``OutputFilePrefix``, ``Renderer``, ``Camera``, ``UseLegacyRenderLayers``, ``GPUsPerTask``,
  ``StrictErrorChecking``, ``StartupScript``, ``SkipExistingFrames``, ``MaxProcessors``);
  ``RenderLayer`` and
  ``UsingRenderLayers=1`` from the MEL submitter. ``MayaBatch.py`` lower-cases ``Renderer``
  and sets ``MAYA_ENABLE_LEGACY_RENDER_LAYERS`` from ``UseLegacyRenderLayers`` (which "must
  be the same value as in the file to render or it will fail", ``MayaBatch.options``).
  ``RenderLayer`` is the layer NODE (``rs_BG`` for Render Setup, ``defaultRenderLayer`` for
  the master layer), as AYON/OpenPype's Maya submitter sends it.
- Submission: ``deadlinecommand <job info file> <plugin info file>``; the output holds
  ``Result=Success`` and ``JobID=<id>`` (the MEL submitter's
  ``parseJobIDFromSubmissionOutput``; pipeline tools read ``JobID=(.*)``).
- Finding ``deadlinecommand``: Thinkbox's own submitters (Nuke, Cinema 4D, Blender, Draft
  ``GetDeadlineCommand``) look at the ``DEADLINE_PATH`` environment variable (the client's
  ``bin`` folder), then ``PATH``, then on macOS the file
  ``/Users/Shared/Thinkbox/DEADLINE_PATH``; the Deadline 10 client installs to
  ``C:\\Program Files\\Thinkbox\\Deadline10\\bin`` (Windows), ``/opt/Thinkbox/Deadline10/bin``
  (Linux) and ``/Applications/Thinkbox/Deadline10/Resources`` (macOS).

What MayaBatch does with the keys (``plugins/MayaBatch/MayaBatch.py``, DL-MB):

- **Arnold's device.** ``GPUsPerTask`` / ``GPUsSelectDevices`` are read only in the
  Redshift, Octane and iRay branches (``GetMiscCommands``, ``GetGpuOverrides``) and
  ``SkipExistingFrames`` only for Maya Software / mental ray / Maya Hardware
  (``GetSkipExistingFramesCommand``); for ``arnold`` they do nothing, and MayaBatch never
  sets ``defaultArnoldRenderOptions.renderDevice``: the scene's saved device is used. What
  MayaBatch does run for any renderer is the plugin info ``StartupScript``: a MEL file
  passed to ``mayabatch -file <scene> -script <file>`` (``RenderArgument``) or sourced
  right after the scene is loaded when path mapping loads the scene itself
  (``CreateDelayLoadSceneMelscript``); the path goes through Deadline's path mapping and a
  missing file fails the task ("Startup script ... does not exist"). So an Arnold layer gets
  ``StartupScript`` = a small MEL file (:func:`arnold_device_mel`) that sets
  ``renderDevice`` (1 GPU / 0 CPU) and ``manual_gpu_devices 0`` (Arnold picks the GPUs the
  Worker sees) — the same attributes the local worker sets (``ArnoldHandler.configure``).
  :func:`write_deadline10_files` writes it into the batch's output folder, which the
  Workers must already reach to write the images (``OutputFilePath``); a studio script can
  be named instead (``Deadline10Options.arnold_startup_script``), or the scene's device
  kept (``scene_arnold_device``; then the job's warnings say the device is NOT set).
  ``GPUsPerTask`` is still written (Redshift and friends read it). With ``--skip-existing``
  the same MEL file turns on ``defaultRenderGlobals.skipExistingFrames``, which MtoA's
  batch render honours (``ArnoldRenderCmd.cpp``, see ``ArnoldHandler``).
- **Version** picks the Maya executable on the Worker (``RenderExecutable<Version>_0`` of
  ``MayaBatch.param``): it must name the FARM's Maya, not the Maya that last saved the
  scene (an old scene saved by 2020 would ask for Maya 2020). Default
  (:func:`farm_maya_version`): ``--maya-version``, else the year in the path of the
  mayapy this batch was planned with (the submitting Maya, e.g. ``.../maya2025/bin/mayapy``),
  else the scene's version with a warning.
- **StrictErrorChecking**: when on (MayaBatch's default when the key is absent) a known
  "strict" error line fails the task even when the frame renders ("Strict error checking
  on, caught the following error or warning", ``HandleErrorMessage``); harmless
  ``Error:`` lines of plug-ins then fail healthy frames. Written as ``0`` unless asked
  (``strict_error_checking``; OpenPype's ``MayaPluginInfo`` defaults it to True, the
  deadline-cloud-for-maya adaptor has no such check).
- **Timeouts**: ``TaskTimeoutMinutes`` only when asked (``task_timeout_minutes``): a
  hard limit kills a healthy long frame, and the local "no output for this long"
  ``frame_timeout`` is not the same thing.
- More job info keys, as the Monitor's Maya submitter writes them
  (``scripts/Submission/MayaSubmission.py``): ``SecondaryPool``, ``MachineLimit``,
  ``LimitGroups`` (comma separated), ``Comment``, ``Department``, ``InitialStatus``
  (``Active`` or ``Suspended``).

A caution kept from reading ``MayaBatch.py``: a task is rendered from its start frame to its
end frame (``GetStartFrame``/``GetEndFrame``). With ``ChunkSize`` > 1 a task that spans a gap
in the frame list (``1,6,11`` in chunks of 2) could render the frames in between, so such a
layer is sent with ``ChunkSize=1`` and a warning (cheap with MayaBatch: the scene stays loaded
between tasks). Not verified against a real Deadline, which the tests do not have.
"""

from __future__ import annotations

import ntpath
import os
import posixpath
import re
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lrc_toolbox.farm.frames import contiguous_runs, to_deadline_frames
from lrc_toolbox.utils.output_paths import OutputSpec, expand_prefix
from lrc_toolbox.utils.render_subprocess import platform_kind

if TYPE_CHECKING:  # pragma: no cover
    from lrc_toolbox.core.batch_planner import PlannedBatch

__all__ = [
    "INITIAL_STATUSES",
    "MACOS_DEADLINE_PATH_FILE",
    "Deadline10Job",
    "Deadline10Options",
    "DeadlineCommandNotFound",
    "DeadlineSubmitError",
    "arnold_device_mel",
    "arnold_script_name",
    "build_deadline10_jobs",
    "effective_chunk_size",
    "farm_maya_version",
    "find_deadlinecommand",
    "parse_submission_output",
    "submit_deadline10",
    "write_deadline10_files",
]

#: where Thinkbox's macOS client records its bin folder (read by Thinkbox's submitters)
MACOS_DEADLINE_PATH_FILE = "/Users/Shared/Thinkbox/DEADLINE_PATH"


class DeadlineCommandNotFound(RuntimeError):
    """No ``deadlinecommand``; ``searched`` lists every place looked."""

    def __init__(self, message: str, searched: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.searched = list(searched)


class DeadlineSubmitError(RuntimeError):
    """``deadlinecommand`` did not report ``Result=Success``; ``output`` is what it printed."""

    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(message)
        self.output = output


#: ``InitialStatus`` values Deadline accepts (job info file reference)
INITIAL_STATUSES = ("Active", "Suspended")


@dataclass
class Deadline10Options:
    """Deadline-side choices that are not part of a local :class:`RenderConfig`.

    Every field is one control of a submission form (the CLI's options, the dashboard's
    dialog); see the module docstring for what MayaBatch does with each.
    """

    batch_name: str | None = None  # default "<scene> - LRC batch render"
    pool: str | None = None
    secondary_pool: str | None = None
    group: str | None = None
    priority: int = 50
    concurrent_tasks: int = 1
    #: most Workers rendering the job at once; 0 = no limit (not written)
    machine_limit: int = 0
    #: Deadline Limits the job needs (e.g. a licence limit ``arnold``)
    limit_groups: list[str] = field(default_factory=list)
    comment: str | None = None
    department: str | None = None
    #: ``Active`` or ``Suspended``; None: Deadline's default (Active), not written
    initial_status: str | None = None
    gpus_per_task: int = 1  # written as 0 for CPU renders
    #: the farm's Maya (``Version``); None: :func:`farm_maya_version`
    maya_version: str | None = None
    strict_error_checking: bool = False
    #: ``TaskTimeoutMinutes``; None: no hard limit (not written)
    task_timeout_minutes: int | None = None
    #: Arnold layers: a MEL file the Workers can read, used as ``StartupScript`` instead
    #: of the one written into the output folder
    arnold_startup_script: str | None = None
    #: Arnold layers: keep the scene's saved device (no ``StartupScript``; a warning)
    scene_arnold_device: bool = False

    def validate(self) -> None:
        if not 0 <= self.priority <= 100:
            raise ValueError(f"priority must be 0-100, got {self.priority}")
        if not 1 <= self.concurrent_tasks <= 16:
            raise ValueError(f"concurrent tasks must be 1-16, got {self.concurrent_tasks}")
        if not 0 <= self.gpus_per_task <= 16:
            raise ValueError(f"GPUs per task must be 0-16, got {self.gpus_per_task}")
        if self.machine_limit < 0:
            raise ValueError(
                f"the machine limit must be 0 (no limit) or more, got {self.machine_limit}"
            )
        if self.task_timeout_minutes is not None and self.task_timeout_minutes < 1:
            raise ValueError(
                f"the task timeout must be 1 minute or more, got {self.task_timeout_minutes} "
                "(leave it out for no limit)"
            )
        if self.initial_status is not None and self.initial_status not in INITIAL_STATUSES:
            raise ValueError(
                f"the initial status must be Active or Suspended, got {self.initial_status!r}"
            )
        if self.maya_version is not None and not re.fullmatch(r"\d{4}(\.\d+)?", self.maya_version):
            raise ValueError(
                f"the Maya version must be a release like 2025 (or 2024.2), got "
                f"{self.maya_version!r}"
            )
        for label, value in (
            ("batch name", self.batch_name),
            ("pool", self.pool),
            ("secondary pool", self.secondary_pool),
            ("group", self.group),
            ("comment", self.comment),
            ("department", self.department),
            ("Arnold startup script", self.arnold_startup_script),
        ):
            if value is not None and ("\n" in value or "\r" in value):
                raise ValueError(f"the {label} may not contain a line break")
        for limit in self.limit_groups:
            if not limit.strip() or "," in limit or "\n" in limit or "\r" in limit:
                raise ValueError(
                    f"a limit group must be one name without commas or line breaks, got {limit!r}"
                )


_MAYA_YEAR = re.compile(r"maya[ _-]?(\d{4})", re.IGNORECASE)


def farm_maya_version(planned: PlannedBatch, explicit: str | None = None) -> tuple[str, str | None]:
    """(``Version``, a warning or None): the Maya the farm should start for this batch.

    ``explicit`` wins. Else the release in the path of the mayapy the batch was planned
    with, i.e. the Maya installed on the submitting machine (``/usr/autodesk/maya2025/bin/
    mayapy``, ``C:\\Program Files\\Autodesk\\Maya2025\\bin\\mayapy.exe``,
    ``/Applications/Autodesk/maya2025/Maya.app/...``): a studio runs the same release on
    workstations and farm. Else the release that saved the scene, with a warning: that is
    what the scene asks for, not necessarily what the farm runs.
    """
    if explicit:
        return explicit, None
    for part in planned.plan.mayapy[:1]:
        found = _MAYA_YEAR.search(str(part))
        if found:
            return found.group(1), None
    saved = planned.scene.maya_version or ""
    year = re.match(r"\d{4}", saved)
    version = year.group(0) if year else saved
    return version, (
        f"Deadline 10 Version={version or '(empty)'} is the Maya that saved the scene, not "
        "necessarily the farm's: pass --maya-version with the release the Workers run"
    )


def arnold_device_mel(gpu: bool, skip_existing: bool = False) -> str:
    """The MayaBatch ``StartupScript`` that sets Arnold's device (see the module docstring).

    Attribute names and values as :class:`~lrc_toolbox.worker.renderers.ArnoldHandler`
    sets them locally (MtoA ``ArnoldOptionsNode.cpp`` / ``OptionsTranslator.cpp``).
    """
    device = 1 if gpu else 0
    lines = [
        "// LRC Toolbox: Arnold's render device for Deadline 10 MayaBatch (StartupScript).",
        "// MayaBatch ignores GPUsPerTask for Arnold; this sets the device itself.",
        'if (!`pluginInfo -q -loaded "mtoa"`) { catch(`loadPlugin -quiet "mtoa"`); }',
        "if (!`objExists defaultArnoldRenderOptions`) {",
        '    catch(python("import mtoa.core; mtoa.core.createOptions()"));',
        "}",
        f"setAttr defaultArnoldRenderOptions.renderDevice {device};",
    ]
    if gpu:
        lines.append("setAttr defaultArnoldRenderOptions.manual_gpu_devices 0;")
    if skip_existing:
        lines.append("setAttr defaultRenderGlobals.skipExistingFrames 1;")
    label = "GPU" if gpu else "CPU"
    lines.append(f'print("LRC Toolbox: Arnold renderDevice {device} ({label})\\n");')
    return "\n".join(lines) + "\n"


def arnold_script_name(gpu: bool, skip_existing: bool) -> str:
    """The file :func:`write_deadline10_files` writes :func:`arnold_device_mel` to."""
    return f"lrc_deadline10_arnold_{'gpu' if gpu else 'cpu'}{'_skip' if skip_existing else ''}.mel"


@dataclass
class Deadline10Job:
    """One Deadline job: a layer's job info and plugin info, in file order."""

    layer: str
    job_info: dict[str, str]
    plugin_info: dict[str, str]
    warnings: list[str] = field(default_factory=list)
    #: (file name, MEL text) of the Arnold device script this job's ``StartupScript``
    #: names, when :func:`write_deadline10_files` must write it; else None
    startup_script: tuple[str, str] | None = None

    @staticmethod
    def _text(entries: Mapping[str, str]) -> str:
        return "".join(f"{key}={value}\n" for key, value in entries.items())

    def job_info_text(self) -> str:
        return self._text(self.job_info)

    def plugin_info_text(self) -> str:
        return self._text(self.plugin_info)


def effective_chunk_size(frames: Sequence[int], chunk_size: int) -> int:
    """``chunk_size`` if every task of that many consecutive list entries is a run of
    ascending consecutive frames (so MayaBatch's start-to-end render is exact), else 1."""
    if chunk_size <= 1:
        return 1
    for start in range(0, len(frames), chunk_size):
        chunk = list(frames[start : start + chunk_size])
        if len(chunk) > 1 and (len(contiguous_runs(chunk)) != 1 or chunk[1] < chunk[0]):
            return 1
    return chunk_size


def _absolute(path: str) -> str:
    """An absolute path without resolving links or changing its separators."""
    expanded = os.path.expanduser(path)
    if posixpath.isabs(expanded) or ntpath.isabs(expanded):
        return expanded
    return os.path.abspath(expanded)


def _join(folder: str, relative: str) -> str:
    """``folder`` + ``relative`` in ``folder``'s own separator style."""
    windows = "\\" in folder and "/" not in folder
    if windows:
        return ntpath.join(folder, relative.replace("/", "\\"))
    return posixpath.join(folder, relative)


class _SceneAttrs:
    """Just enough of ``maya.cmds`` for a renderer handler to read the scene's settings."""

    def __init__(self, attributes: Mapping[str, Mapping[str, Any]]) -> None:
        self.attributes = attributes

    def _split(self, plug: str) -> tuple[str, str]:
        node, _, attr = plug.partition(".")
        return node, attr

    def objExists(self, plug: str) -> bool:  # maya.cmds name
        node, attr = self._split(plug)
        return attr in self.attributes.get(node, {})

    def getAttr(self, plug: str) -> Any:  # maya.cmds name
        node, attr = self._split(plug)
        return self.attributes[node][attr]


class _NoMel:
    def eval(self, _command: str) -> Any:
        raise RuntimeError("no MEL outside Maya")


def output_pattern(planned: PlannedBatch, layer_name: str) -> tuple[str, str]:
    """(``OutputDirectory0``, ``OutputFilename0``) for a layer: where the worker-equivalent
    render writes, with the frame number as ``#`` padding (``BG.####.exr``)."""
    from lrc_toolbox.worker.renderers import UnsupportedRendererError, handler_for

    plan, scene = planned.plan, planned.scene
    layer = scene.layer(layer_name)
    renderer = plan.config.renderer or (layer.renderer if layer else scene.renderer)
    attrs = _SceneAttrs(scene.node_attributes)
    try:
        handler = handler_for(renderer)
        ext = handler.extension(attrs, _NoMel())
        padding = handler.padding(attrs)
        passes = [handler.beauty_pass]
    except UnsupportedRendererError:
        ext, padding, passes = "iff", 4, [""]
    cameras = (layer.cameras if layer else []) or list(scene.renderable_cameras)
    camera = plan.config.camera or (cameras[0] if cameras else "camera")
    spec = OutputSpec(
        images_dir=plan.output_dir,
        prefix=plan.config.image_prefix or (layer.image_prefix if layer else scene.image_prefix),
        scene=plan.scene_name,
        layer=layer.name if layer else layer_name,
        layer_node=layer.node if layer else layer_name,
        camera=camera,
        ext=ext,
        padding=padding,
        multiple_layers=len(scene.renderable_layers()) > 1,
        multiple_cameras=len(cameras) > 1 and not plan.config.camera,
        passes=passes,
    )
    stem = expand_prefix(spec, passes[0])
    folder, _, name = stem.rpartition("/")
    directory = _join(_absolute(plan.output_dir), folder) if folder else plan.output_dir
    return directory, f"{name}.{'#' * max(1, padding)}.{ext}"


def build_deadline10_jobs(
    planned: PlannedBatch, options: Deadline10Options | None = None
) -> list[Deadline10Job]:
    """The job info / plugin info entries for every layer of a planned batch.

    Raises:
        ValueError: a bad option (the message names it).
    """
    options = options or Deadline10Options()
    options.validate()
    plan, scene = planned.plan, planned.scene
    config = plan.config
    batch_name = options.batch_name or f"{plan.scene_name} - LRC batch render"
    version, version_warning = farm_maya_version(planned, options.maya_version)
    scene_file = _absolute(config.scene)
    jobs: list[Deadline10Job] = []
    for layer_name, frames in plan.frames_by_layer.items():
        layer = scene.layer(layer_name)
        warnings: list[str] = [version_warning] if version_warning else []
        chunk = effective_chunk_size(frames, config.chunk_size)
        if chunk != config.chunk_size:
            warnings.append(
                f"layer {layer_name}: frames per task reduced from {config.chunk_size} to 1: "
                "its frame list has gaps or runs backwards, and a MayaBatch task renders "
                "from its first to its last frame"
            )
        directory, filename = output_pattern(planned, layer_name)
        job_info: dict[str, str] = {
            "Plugin": "MayaBatch",
            "Name": f"{plan.scene_name} - {layer_name}",
            "BatchName": batch_name,
            "Frames": to_deadline_frames(frames),
            "ChunkSize": str(chunk),
            "ConcurrentTasks": str(options.concurrent_tasks),
            "OutputDirectory0": directory,
            "OutputFilename0": filename,
        }
        optional_job_keys = (
            ("Pool", options.pool),
            ("SecondaryPool", options.secondary_pool),
            ("Group", options.group),
            ("Priority", str(options.priority)),
            ("MachineLimit", str(options.machine_limit) if options.machine_limit else None),
            ("LimitGroups", ",".join(g.strip() for g in options.limit_groups) or None),
            ("Comment", options.comment),
            ("Department", options.department),
            ("InitialStatus", options.initial_status),
            (
                "TaskTimeoutMinutes",
                str(options.task_timeout_minutes) if options.task_timeout_minutes else None,
            ),
        )
        job_info.update({key: value for key, value in optional_job_keys if value})
        renderer = config.renderer or (layer.renderer if layer else scene.renderer)
        prefix = config.image_prefix or (layer.image_prefix if layer else scene.image_prefix)
        node = layer.node if layer else layer_name  # rs_BG; defaultRenderLayer for master
        plugin_info: dict[str, str] = {
            "SceneFile": scene_file,
            "Version": version,
            "Build": "64bit",
            "ProjectPath": plan.project or "",
            "OutputFilePath": plan.output_dir,
        }
        if prefix:
            plugin_info["OutputFilePrefix"] = prefix
        plugin_info.update(
            {
                "Renderer": renderer,
                "RenderLayer": node,
                "UsingRenderLayers": "1",
                "UseLegacyRenderLayers": "0" if scene.render_setup else "1",
                "Animation": "1",
            }
        )
        if config.camera:
            plugin_info["Camera"] = config.camera
        plugin_info["GPUsPerTask"] = "0" if config.cpu_mode else str(options.gpus_per_task)
        if config.cpu_mode and config.cpu_threads:
            plugin_info["MaxProcessors"] = str(config.cpu_threads)
        if config.skip_existing:
            plugin_info["SkipExistingFrames"] = "1"
        plugin_info["StrictErrorChecking"] = "1" if options.strict_error_checking else "0"
        startup: tuple[str, str] | None = None
        if renderer.lower() == "arnold":
            gpu = not config.cpu_mode
            if options.scene_arnold_device:
                warnings.append(
                    f"layer {layer_name}: Arnold's render device is NOT set on Deadline 10 "
                    "(MayaBatch ignores GPUsPerTask and SkipExistingFrames for Arnold): the "
                    "scene's saved defaultArnoldRenderOptions.renderDevice decides"
                )
            elif options.arnold_startup_script:
                plugin_info["StartupScript"] = options.arnold_startup_script
            else:
                name = arnold_script_name(gpu, config.skip_existing)
                plugin_info["StartupScript"] = _join(_absolute(plan.output_dir), name)
                startup = (name, arnold_device_mel(gpu, config.skip_existing))
        for key, value in (*job_info.items(), *plugin_info.items()):
            if "\n" in value or "\r" in value:
                raise ValueError(f"{key} may not contain a line break: {value!r}")
        jobs.append(Deadline10Job(layer_name, job_info, plugin_info, warnings, startup))
    return jobs


def _file_stem(scene_name: str, layer: str) -> str:
    return re.sub(r"[^0-9A-Za-z_.-]+", "_", f"{scene_name}_{layer}")


def write_deadline10_files(
    planned: PlannedBatch,
    folder: str | os.PathLike[str],
    options: Deadline10Options | None = None,
) -> list[tuple[Path, Path, Deadline10Job]]:
    """Write ``<scene>_<layer>.job`` and ``<scene>_<layer>.plugin`` per layer (UTF-8, LF),
    and the Arnold device script (:func:`arnold_device_mel`) into the output folder when a
    job's ``StartupScript`` names it."""
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    written = []
    jobs = build_deadline10_jobs(planned, options)
    for script in dict(job.startup_script for job in jobs if job.startup_script).items():
        # the output folder: the Workers write the images there, so they can read this
        name, text = script
        with open(
            Path(planned.plan.output_dir) / name, "w", encoding="utf-8", newline="\n"
        ) as handle:
            handle.write(text)
    for job in jobs:
        stem = _file_stem(planned.plan.scene_name, job.layer)
        job_path = target / f"{stem}.job"
        plugin_path = target / f"{stem}.plugin"
        for path, text in ((job_path, job.job_info_text()), (plugin_path, job.plugin_info_text())):
            with open(path, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
        written.append((job_path, plugin_path, job))
    return written


# --------------------------------------------------------------------------- deadlinecommand


_FIX_HINT = (
    "To fix: install the Deadline 10 client, set DEADLINE_PATH to the folder holding "
    "deadlinecommand, or pass --deadlinecommand PATH."
)


def _read_file(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError:
        return None


def find_deadlinecommand(
    explicit: str | None = None,
    *,
    env: Mapping[str, str] | None = None,
    platform: str | None = None,
    exists: Callable[[str], bool] = os.path.isfile,
    read_text: Callable[[str], str | None] = _read_file,
    which: Callable[[str, str | None], str | None] | None = None,
) -> str:
    """The ``deadlinecommand`` to submit with.

    Order: ``explicit`` (``--deadlinecommand``; a file, or a folder holding it; it must
    exist), ``$DEADLINE_PATH`` (a folder), on macOS the folder named in
    :data:`MACOS_DEADLINE_PATH_FILE`, ``PATH``, then the Deadline 10 install folders.

    Raises:
        DeadlineCommandNotFound: naming the explicit path that does not exist, or listing
            every place looked, with how to fix it.
    """
    env = os.environ if env is None else env
    kind = platform_kind(platform)
    path = ntpath if kind == "windows" else posixpath
    exe = "deadlinecommand.exe" if kind == "windows" else "deadlinecommand"

    if explicit:
        given = os.path.expanduser(explicit)
        for candidate in (given, path.join(given, exe)):
            if exists(candidate):
                return candidate
        raise DeadlineCommandNotFound(
            f"The deadlinecommand given with --deadlinecommand does not exist: {given}. "
            "Give the deadlinecommand file (or the Deadline client's bin folder).",
            [f"{given} (--deadlinecommand)"],
        )

    candidates: list[tuple[str, str]] = []
    folder = env.get("DEADLINE_PATH", "").strip()
    if folder:
        candidates.append((path.join(folder, exe), "DEADLINE_PATH"))
    if kind == "darwin":
        recorded = (read_text(MACOS_DEADLINE_PATH_FILE) or "").strip()
        if recorded:
            candidates.append((path.join(recorded, exe), MACOS_DEADLINE_PATH_FILE))
    search_path = env.get("PATH")
    if search_path:
        finder = which or (lambda name, where: shutil.which(name, path=where))
        found = finder(exe, search_path)
        if found:
            candidates.append((found, "PATH"))
        else:
            candidates.append((f"{exe} on PATH", "PATH"))
    if kind == "windows":
        roots = [env.get("ProgramFiles") or env.get("PROGRAMFILES") or "", r"C:\Program Files"]
        for root in dict.fromkeys(r for r in roots if r):
            candidates.append(
                (ntpath.join(root, "Thinkbox", "Deadline10", "bin", exe), "Deadline 10 default")
            )
    elif kind == "darwin":
        candidates.append(
            ("/Applications/Thinkbox/Deadline10/Resources/deadlinecommand", "Deadline 10 default")
        )
    else:
        candidates.append(("/opt/Thinkbox/Deadline10/bin/deadlinecommand", "Deadline 10 default"))

    searched: list[str] = []
    for candidate, source in candidates:
        searched.append(f"{candidate} ({source})")
        if candidate.endswith(" on PATH"):
            continue
        if exists(candidate):
            return candidate
    listing = "\n".join(f"  - {s}" for s in searched)
    raise DeadlineCommandNotFound(
        f"Could not find deadlinecommand. Looked in:\n{listing}\n{_FIX_HINT}", searched
    )


_JOB_ID = re.compile(r"^\s*JobID\s*=\s*(\S+)", re.MULTILINE)
_RESULT = re.compile(r"^\s*Result\s*=\s*(\S+)", re.MULTILINE)


def parse_submission_output(output: str) -> str:
    """The job id from ``deadlinecommand``'s output.

    Raises:
        DeadlineSubmitError: no ``Result=Success`` or no ``JobID=`` (the output is kept).
    """
    result = _RESULT.search(output)
    if result is None or result.group(1).lower() != "success":
        said = result.group(1) if result else "no Result= line"
        lines = [line for line in output.strip().splitlines() if line.strip()]
        detail = "\n".join(f"  {line}" for line in lines[-15:]) or "  (no output)"
        raise DeadlineSubmitError(
            f"Deadline did not accept the job ({said}). deadlinecommand said:\n{detail}", output
        )
    job_id = _JOB_ID.search(output)
    if job_id is None:
        raise DeadlineSubmitError(
            "deadlinecommand reported Result=Success but no JobID= line", output
        )
    return job_id.group(1)


def submit_deadline10(
    files: Sequence[tuple[Path, Path]],
    deadlinecommand: str,
    *,
    run: Callable[..., subprocess.CompletedProcess[str]] = subprocess.run,
    timeout: float = 300.0,
) -> list[str]:
    """Submit each (job info, plugin info) pair; returns the job ids in order.

    Raises:
        DeadlineSubmitError: a submission that failed (jobs submitted before it stay).
    """
    job_ids: list[str] = []
    for job_file, plugin_file in files:
        command = [deadlinecommand, str(job_file), str(plugin_file)]
        try:
            done = run(command, capture_output=True, text=True, timeout=timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise DeadlineSubmitError(f"could not run {deadlinecommand}: {exc}") from exc
        output = (done.stdout or "") + (done.stderr or "")
        try:
            job_id = parse_submission_output(output)
        except DeadlineSubmitError as exc:
            submitted = f" (already submitted: {', '.join(job_ids)})" if job_ids else ""
            raise DeadlineSubmitError(
                f"{job_file.name}: {exc} [exit code {done.returncode}]{submitted}", exc.output
            ) from exc
        job_ids.append(job_id)
    return job_ids
