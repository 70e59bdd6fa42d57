"""An Open Job Description job bundle for a planned batch (Deadline Cloud, ``openjd run``).

:func:`write_job_bundle` writes, for a :class:`~lrc_toolbox.records.batch.BatchPlan`:

- ``template.yaml``: ``specificationVersion: jobtemplate-2023-09`` with ONE STEP PER RENDER
  LAYER (layers may have different frame lists). Each step's task parameter ``Frame`` is
  ``INT`` (chunk size 1) or ``CHUNK[INT]`` with ``chunks: {defaultTaskCount: N,
  rangeConstraint: CONTIGUOUS}`` (chunk size N > 1, the ``TASK_CHUNKING`` extension, which
  is then listed in ``extensions``); its ``range`` is the layer's explicit frame list
  (:func:`lrc_toolbox.farm.frames.to_openjd_range_expr`).
- ``parameter_values.yaml``: the values for this batch, in the Deadline Cloud job bundle form
  ``parameterValues: [{name, value}, ...]`` (``deadline:priority`` and
  ``deadline:maxRetriesPerTask`` included).

- ``asset_references.yaml``: the files the scene reads (file references, file textures,
  Alembic / GPU caches, Arnold stand-ins) for job attachments (:func:`scene_asset_paths`).
- ``lrc_toolbox_bundle/lrc_toolbox/``: a copy of this package (its ``.py`` files, no Qt
  dashboard, no sample scenes), so a worker needs nothing but Maya. The hidden PATH
  parameter ``LrcToolboxPath`` (``dataFlow: IN``, default ``lrc_toolbox_bundle``: a relative
  default is resolved against the bundle folder by ``openjd run`` and by the deadline client,
  which uploads it with job attachments) names it on the worker.

Software on the worker: the parameters ``CondaPackages`` (default from the scene's Maya
version and renderer, e.g. ``maya=2025.* maya-mtoa``) and ``CondaChannels`` (default
``deadline-cloud``) are read by the queue's conda environment on service-managed fleets
(deadline-cloud-samples ``queue_environments/conda_queue_env_from_console.yaml``: an
environment with the same two parameters running ``conda-queue-env-enter``); nothing in
this template reads them.

One Maya per session: the job environment's ``onEnter`` runs ``{{Param.Mayapy}}
<bootstrap> {{Param.LrcToolboxPath}} session-start ...`` (:mod:`lrc_toolbox.farm.maya_session`):
one worker opens the scene once; each task runs ``{{Param.Mayapy}} <bootstrap>
{{Param.LrcToolboxPath}} --session-dir {{Session.WorkingDirectory}} --layer L --frames
{{Task.Param.Frame}} ... -- <worker arguments>``: the bootstrap puts the lrc_toolbox folder
on ``sys.path`` and calls :mod:`lrc_toolbox.farm.run_chunk`, which sends the chunk to that
worker (or, when none is up, starts ``mayapy -m lrc_toolbox.worker`` for the chunk exactly
as the local engine does), relays its output and fails the task if a frame failed.
``onExit`` quits the worker. So the farm renders, names files and logs like a local batch.
The worker applies ``{{Session.PathMappingRulesFile}}`` with Maya's ``dirmap`` before it
opens the scene (:mod:`lrc_toolbox.worker.path_mapping`).

No task timeout unless one is asked for (``task_timeout_seconds``): a healthy long frame is
never killed; ``run_chunk`` still kills a worker that prints nothing for ``frame_timeout``.
Chunks of more than :data:`MAX_FRAMES_PER_TASK` frames are refused (Deadline Cloud's limit).

Sources: the 2023-09 template schema (openjd-specifications ``wiki/2023-09-Template-Schemas
.md``: §3.3 host requirements ``amount.worker.gpu`` / ``amount.worker.vcpu`` (minimum 1),
§3.4.1.5 ``CHUNK[INT]`` and ``chunks``, §4 environments and their ``variables``, §5 actions:
``timeout`` (default: none for ``onRun``) and ``NOTIFY_THEN_TERMINATE`` with
``notifyPeriodInSeconds`` (at most 600), §6 embedded files and ``Task.File.<name>``); RFC 0001
"task chunking" and AWS "Task chunking for job templates" (with ``CONTIGUOUS``,
``{{Task.Param.Frame}}`` "always expands to a range in start-end format"); the job bundle
layout of AWS ``deadline-cloud-for-maya`` (``job_bundle_output_tests/*/expected_job_bundle``:
``template.yaml``, ``parameter_values.yaml``, ``asset_references.yaml``); its submitter
(``maya_render_submitter.py``: ``CondaPackages`` = ``maya={version}.*`` plus ``maya-mtoa`` /
``maya-vray`` / ``maya-redshift`` for the renderers used, ``CondaChannels`` =
``deadline-cloud``) and its template's step environment that starts Maya once per session;
AWS deadline-cloud-samples (``job_bundles``: a package shipped as a ``dataFlow: IN`` PATH
parameter and put on the path by a job environment); openjd-sessions
(``Session.PathMappingRulesFile``: ``{"version": "pathmapping-1.0", "path_mapping_rules":
[...]}``, always written, ``{}`` without rules); the deadline client's
``read_job_bundle_parameters`` (a relative PATH default must resolve inside the bundle)
and ``AssetReferences`` (``inputs.filenames`` / ``inputs.directories`` /
``outputs.directories`` / ``referencedPaths``).

No third-party import at module level: exporting needs the standard library only. The
optional :func:`validate_bundle` uses ``openjd-model`` when it is installed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lrc_toolbox.farm.frames import to_openjd_range_expr
from lrc_toolbox.records.batch import BatchPlan

__all__ = [
    "BOOTSTRAP_SCRIPT",
    "BUNDLED_PACKAGE_DIR",
    "DEFAULT_CONDA_CHANNELS",
    "MAX_FRAMES_PER_TASK",
    "MAYA_VARIABLES",
    "RENDERER_CONDA_PACKAGES",
    "SPECIFICATION_VERSION",
    "BundleError",
    "OpenJDOptions",
    "build_asset_references",
    "build_job_template",
    "build_parameter_values",
    "default_conda_packages",
    "dump_yaml",
    "openjd_cli_job_params",
    "package_root",
    "scene_asset_paths",
    "validate_bundle",
    "write_job_bundle",
    "write_simulated_mayapy",
]

SPECIFICATION_VERSION = "jobtemplate-2023-09"
TASK_CHUNKING = "TASK_CHUNKING"
#: Deadline Cloud refuses chunks of more frames per task than this
MAX_FRAMES_PER_TASK = 150
#: the folder of the bundle that holds the shipped ``lrc_toolbox`` package
BUNDLED_PACKAGE_DIR = "lrc_toolbox_bundle"
#: the conda channel of service-managed fleets (deadline-cloud-for-maya's default)
DEFAULT_CONDA_CHANNELS = "deadline-cloud"
#: renderer -> its conda package on the deadline-cloud channel (deadline-cloud-for-maya's
#: submitter); Maya Software / Hardware 2.0 come with ``maya``; others have none
RENDERER_CONDA_PACKAGES: dict[str, str] = {
    "arnold": "maya-mtoa",
    "redshift": "maya-redshift",
    "vray": "maya-vray",
}
#: the oldest Maya the deadline-cloud channel packages; older scenes get an unpinned ``maya``
OLDEST_CONDA_MAYA = 2024
#: OpenJD caps ``notifyPeriodInSeconds`` at 600 (schema §5.3.2)
MAX_NOTIFY_PERIOD_SECONDS = 600
#: ``amount.worker.vcpu`` minimum for CPU renders when no thread count is given
DEFAULT_MIN_VCPUS = 4

#: What Thinkbox's MayaBatch plug-in sets for every Maya it starts (DL-MB ``MayaBatch.py``
#: ``StartJob``), which the local engine sets too (``build_worker_environment``).
MAYA_VARIABLES: dict[str, str] = {
    "MAYA_DEBUG_ENABLE_CRASH_REPORTING": "0",
    "MAYA_DISABLE_CIP": "1",
    "MAYA_DISABLE_CER": "1",
    "MAYA_DISABLE_CLIC_IPM": "1",
    "REDSHIFT_FORCEQUITONINTERNALERROR": "1",
    "PYTHONUNBUFFERED": "1",
}

#: The embedded task script (run by mayapy). No ``{{`` in it: embedded data is a format string.
BOOTSTRAP_SCRIPT = """\
# LRC Toolbox farm action: render one chunk with the lrc_toolbox worker, or start /
# stop the session's Maya. argv: <folder holding lrc_toolbox> <run_chunk arguments...>
import os
import sys

root = sys.argv[1] if len(sys.argv) > 1 else ""
if root and os.path.isdir(root) and root not in sys.path:
    sys.path.insert(0, root)
try:
    from lrc_toolbox.farm.run_chunk import main
except ImportError as exc:
    sys.stderr.write("lrc_toolbox is not importable on this worker (%s); install it or set the "
                     "LrcToolboxPath job parameter to a folder holding it\\n" % exc)
    sys.exit(3)
sys.exit(main(sys.argv[2:]))
"""


class BundleError(ValueError):
    """The batch cannot be expressed as a job bundle (the message says why)."""


@dataclass
class OpenJDOptions:
    """Farm-side choices that are not part of a local :class:`RenderConfig`.

    Attributes:
        mayapy: the ``Mayapy`` parameter: the command that runs mayapy ON THE FARM WORKERS
            (one executable, no arguments; a wrapper script for anything more).
        job_name: the job's name (default ``<scene> - LRC batch render``).
        priority: Deadline Cloud priority (0-100), ``deadline:priority``.
        gpus_per_task: ``amount.worker.gpu`` minimum for GPU renders.
        min_vcpus: ``amount.worker.vcpu`` minimum for CPU renders (default: the config's
            ``cpu_threads``, else :data:`DEFAULT_MIN_VCPUS`).
        target_runtime_seconds: ``chunks.targetRuntimeSeconds`` (adaptive chunk sizes).
        contiguous_chunks: ``rangeConstraint: CONTIGUOUS`` (a chunk is one ``a-b`` run, so
            a stepped frame list runs one frame per task); ``False``: ``NONCONTIGUOUS`` (any
            frames of the list in a chunk; :mod:`~lrc_toolbox.farm.run_chunk` reads both).
        notify_period_seconds: the grace period between SIGTERM and SIGKILL on cancel.
        lrc_toolbox_path: a folder holding ``lrc_toolbox`` ON THE WORKERS (a shared studio
            install); default ``None``: ship this package inside the bundle.
        conda_packages: the ``CondaPackages`` value (default: :func:`default_conda_packages`).
        conda_channels: the ``CondaChannels`` value.
        task_timeout_seconds: a hard limit for each task (``onRun.timeout``); default none.
        session_maya: keep one Maya per session (job environment); ``False``: each task
            starts its own.
    """

    mayapy: str = "mayapy"
    job_name: str | None = None
    priority: int = 50
    gpus_per_task: int = 1
    min_vcpus: int | None = None
    target_runtime_seconds: int | None = None
    contiguous_chunks: bool = True
    notify_period_seconds: int = 30
    lrc_toolbox_path: str | None = None
    conda_packages: str | None = None
    conda_channels: str = DEFAULT_CONDA_CHANNELS
    task_timeout_seconds: int | None = None
    session_maya: bool = True

    def validate(self) -> None:
        if not self.mayapy.strip():
            raise BundleError("the farm's mayapy command is empty")
        if not 0 <= self.priority <= 100:
            raise BundleError(f"priority must be 0-100, got {self.priority}")
        if self.gpus_per_task < 1:
            raise BundleError(f"GPUs per task must be 1 or more, got {self.gpus_per_task}")
        if self.min_vcpus is not None and self.min_vcpus < 1:
            raise BundleError(f"vCPUs must be 1 or more, got {self.min_vcpus}")
        if self.target_runtime_seconds is not None and self.target_runtime_seconds < 0:
            raise BundleError("the target chunk runtime must be 0 seconds or more")
        if not 1 <= self.notify_period_seconds <= MAX_NOTIFY_PERIOD_SECONDS:
            raise BundleError(
                f"the cancel notify period must be 1-{MAX_NOTIFY_PERIOD_SECONDS} seconds"
            )
        if self.task_timeout_seconds is not None and self.task_timeout_seconds < 1:
            raise BundleError(
                f"the task timeout must be 1 second or more, got {self.task_timeout_seconds}"
                " (leave it out for no limit)"
            )
        for label, value in (
            ("the conda packages", self.conda_packages),
            ("the conda channels", self.conda_channels),
        ):
            if value is not None and ("\n" in value or "\r" in value):
                raise BundleError(f"{label} must be one line of space-separated names: {value!r}")


def package_root() -> str:
    """The folder that holds this ``lrc_toolbox`` package."""
    return str(Path(__file__).resolve().parents[2])


def _read_scene(plan: BatchPlan) -> Any:
    """The scene's description from its .ma file, or ``None`` (a .mb, unreadable)."""
    from lrc_toolbox.scene.ma_reader import MayaAsciiError, read_ma

    try:
        return read_ma(_scene_path(plan))
    except (MayaAsciiError, OSError):
        return None


def default_conda_packages(plan: BatchPlan) -> str:
    """``CondaPackages`` for the plan: ``maya=<version>.*`` (the scene's saving Maya, when
    2024 or later; an unpinned ``maya`` otherwise) and the renderer's plug-in package
    (:data:`RENDERER_CONDA_PACKAGES`; none for Maya's own renderers or one without a
    package)."""
    scene = _read_scene(plan)
    version = str(getattr(scene, "maya_version", "") or "")
    match = re.match(r"(\d{4})", version)
    packages = ["maya"]
    if match and int(match.group(1)) >= OLDEST_CONDA_MAYA:
        packages = [f"maya={match.group(1)}.*"]
    renderer = (plan.config.renderer or plan.renderer or "").lower()
    if renderer in RENDERER_CONDA_PACKAGES:
        packages.append(RENDERER_CONDA_PACKAGES[renderer])
    return " ".join(packages)


def _scene_path(plan: BatchPlan) -> str:
    return str(Path(plan.config.scene).expanduser().resolve())


def _device(plan: BatchPlan) -> str:
    return "cpu" if plan.config.cpu_mode else "gpu"


def _check_format_safe(label: str, value: str | None) -> None:
    # every string in an action is an OpenJD format string; "{{" would start an expression
    if value and ("{{" in value or "}}" in value):
        raise BundleError(f"{label} may not contain '{{{{' or '}}}}': {value!r}")


def _host_requirements(plan: BatchPlan, options: OpenJDOptions) -> dict[str, Any]:
    if plan.config.cpu_mode:
        vcpus = options.min_vcpus or plan.config.cpu_threads or DEFAULT_MIN_VCPUS
        return {"amounts": [{"name": "amount.worker.vcpu", "min": max(1, vcpus)}]}
    return {"amounts": [{"name": "amount.worker.gpu", "min": options.gpus_per_task}]}


def _worker_args(plan: BatchPlan) -> list[str]:
    config = plan.config
    args = ["--scene", "{{Param.MayaSceneFile}}", "--scene-name", plan.scene_name]
    if plan.project:
        args += ["--project", "{{Param.ProjectPath}}"]
    args += ["--output-dir", "{{Param.OutputDir}}"]
    if config.renderer:
        args += ["--renderer", config.renderer]
    args += ["--device", _device(plan)]
    if config.cpu_mode and config.cpu_threads:
        args += ["--threads", str(config.cpu_threads)]
    # always written by openjd-sessions ({} without rules): the worker maps with dirmap
    args += ["--path-mapping-rules", "{{Session.PathMappingRulesFile}}"]
    return args


def _task_args(plan: BatchPlan, layer: str, options: OpenJDOptions) -> list[str]:
    config = plan.config
    args = ["{{Task.File.Bootstrap}}", "{{Param.LrcToolboxPath}}", "--mayapy", "{{Param.Mayapy}}"]
    if options.session_maya:
        args += ["--session-dir", "{{Session.WorkingDirectory}}"]
    args += ["--layer", layer, "--frames", "{{Task.Param.Frame}}"]
    args += ["--frame-timeout", f"{config.frame_timeout:g}"]
    if config.camera:
        args += ["--camera", config.camera]
    if config.image_prefix:
        args += ["--image-prefix", config.image_prefix]
    if config.skip_existing:
        args.append("--skip-existing")
    return [*args, "--", *_worker_args(plan)]


def _bootstrap_file() -> dict[str, Any]:
    return {
        "name": "Bootstrap",
        "type": "TEXT",
        "filename": "lrc_run_chunk.py",
        "data": BOOTSTRAP_SCRIPT,
    }


def _session_script(plan: BatchPlan, options: OpenJDOptions) -> dict[str, Any]:
    """The job environment's script: one Maya for the session (``onEnter``), quit on
    ``onExit``."""
    head = ["{{Env.File.Bootstrap}}", "{{Param.LrcToolboxPath}}"]
    session = ["--session-dir", "{{Session.WorkingDirectory}}"]
    cancel = {
        "mode": "NOTIFY_THEN_TERMINATE",
        "notifyPeriodInSeconds": options.notify_period_seconds,
    }
    return {
        "embeddedFiles": [_bootstrap_file()],
        "actions": {
            "onEnter": {
                "command": "{{Param.Mayapy}}",
                "args": [
                    *head,
                    "session-start",
                    *session,
                    "--mayapy",
                    "{{Param.Mayapy}}",
                    "--",
                    *_worker_args(plan),
                ],
                "cancelation": cancel,
            },
            "onExit": {
                "command": "{{Param.Mayapy}}",
                "args": [*head, "session-stop", *session],
                "cancelation": cancel,
            },
        },
    }


def _step(
    plan: BatchPlan, layer: str, frames: Sequence[int], options: OpenJDOptions
) -> dict[str, Any]:
    config = plan.config
    chunk = config.chunk_size
    frame_param: dict[str, Any] = {"name": "Frame", "range": to_openjd_range_expr(frames)}
    if chunk > 1:
        chunks: dict[str, Any] = {"defaultTaskCount": chunk}
        if options.target_runtime_seconds is not None:
            chunks["targetRuntimeSeconds"] = options.target_runtime_seconds
        chunks["rangeConstraint"] = "CONTIGUOUS" if options.contiguous_chunks else "NONCONTIGUOUS"
        frame_param = {"name": "Frame", "type": "CHUNK[INT]", **frame_param, "chunks": chunks}
    else:
        frame_param = {"name": "Frame", "type": "INT", **frame_param}
    on_run: dict[str, Any] = {
        "command": "{{Param.Mayapy}}",
        "args": _task_args(plan, layer, options),
    }
    if options.task_timeout_seconds is not None:
        on_run["timeout"] = options.task_timeout_seconds
    on_run["cancelation"] = {
        "mode": "NOTIFY_THEN_TERMINATE",
        "notifyPeriodInSeconds": options.notify_period_seconds,
    }
    return {
        "name": layer,
        "description": f"Render layer {layer}: {len(frames)} frame(s) with the lrc_toolbox worker",
        "parameterSpace": {"taskParameterDefinitions": [frame_param]},
        "hostRequirements": _host_requirements(plan, options),
        "script": {"embeddedFiles": [_bootstrap_file()], "actions": {"onRun": on_run}},
    }


def build_job_template(plan: BatchPlan, options: OpenJDOptions | None = None) -> dict[str, Any]:
    """The job template (a plain dict) for a planned batch.

    Raises:
        BundleError: a value that cannot go into a template (see the message).
    """
    options = options or OpenJDOptions()
    options.validate()
    config = plan.config
    for label, value in (
        ("the camera", config.camera),
        ("the image prefix", config.image_prefix),
        ("the renderer", config.renderer),
        ("the scene name", plan.scene_name),
        *((f"layer {name!r}", name) for name in plan.frames_by_layer),
    ):
        _check_format_safe(label, value)
    if not plan.frames_by_layer:
        raise BundleError("the plan has no layers to render")
    for layer in plan.frames_by_layer:
        if not 1 <= len(layer) <= 64:
            raise BundleError(f"layer name {layer!r} is too long for an OpenJD step name (64)")
    if config.chunk_size > MAX_FRAMES_PER_TASK:
        raise BundleError(
            f"chunks of {config.chunk_size} frames are more than Deadline Cloud's "
            f"{MAX_FRAMES_PER_TASK} frames per task: use a chunk size of "
            f"{MAX_FRAMES_PER_TASK} or less"
        )
    chunked = config.chunk_size > 1
    name = options.job_name or f"{plan.scene_name} - LRC batch render"
    if len(name) > 128:
        raise BundleError(f"the job name is longer than OpenJD's 128 characters: {name!r}")
    params: list[dict[str, Any]] = [
        {
            "name": "MayaSceneFile",
            "type": "PATH",
            "objectType": "FILE",
            "dataFlow": "IN",
            "description": "The Maya scene to render.",
        }
    ]
    if plan.project:
        params.append(
            {
                "name": "ProjectPath",
                "type": "PATH",
                "objectType": "DIRECTORY",
                "dataFlow": "NONE",
                "description": "The Maya project folder (workspace.mel).",
            }
        )
    params += [
        {
            "name": "OutputDir",
            "type": "PATH",
            "objectType": "DIRECTORY",
            "dataFlow": "OUT",
            "description": "The images folder the frames are written to.",
        },
        {
            "name": "Mayapy",
            "type": "STRING",
            "default": "mayapy",
            "minLength": 1,
            "description": "mayapy on the workers: one executable (no arguments).",
        },
        {
            "name": "CondaPackages",
            "type": "STRING",
            "default": options.conda_packages
            if options.conda_packages is not None
            else default_conda_packages(plan),
            "userInterface": {
                "control": "LINE_EDIT",
                "label": "Conda Packages",
                "groupLabel": "Software Environment",
            },
            "description": (
                "Space-separated conda package specs the queue's conda environment installs "
                "(Maya and the renderer's plug-in; maya-mtoa, maya-redshift or maya-vray). "
                "Renderers without a conda package must come from the fleet's own install."
            ),
        },
        {
            "name": "CondaChannels",
            "type": "STRING",
            "default": options.conda_channels,
            "userInterface": {
                "control": "LINE_EDIT",
                "label": "Conda Channels",
                "groupLabel": "Software Environment",
            },
            "description": (
                "Space-separated conda channels to install from; service-managed fleets "
                "provide 'deadline-cloud'."
            ),
        },
        _package_parameter(options),
    ]
    variables = dict(MAYA_VARIABLES)
    # Render Setup scenes need 0, legacy-layer scenes 1 (MAYA_REFERENCE §2; DL-MB).
    variables["MAYA_ENABLE_LEGACY_RENDER_LAYERS"] = "0" if plan.render_setup else "1"
    template: dict[str, Any] = {"specificationVersion": SPECIFICATION_VERSION}
    if chunked:
        template["extensions"] = [TASK_CHUNKING]
    template.update(
        {
            "name": name,
            "description": (
                f"LRC Toolbox batch render of {Path(config.scene).name}: "
                f"{len(plan.frames_by_layer)} layer(s), {plan.frame_count} frame(s)."
            ),
            "parameterDefinitions": params,
            "jobEnvironments": [_job_environment(plan, options, variables)],
            "steps": [
                _step(plan, layer, frames, options)
                for layer, frames in plan.frames_by_layer.items()
            ],
        }
    )
    return template


def _package_parameter(options: OpenJDOptions) -> dict[str, Any]:
    if options.lrc_toolbox_path:
        return {
            "name": "LrcToolboxPath",
            "type": "PATH",
            "objectType": "DIRECTORY",
            "dataFlow": "NONE",
            "description": "Folder holding the lrc_toolbox package on the workers.",
        }
    return {
        "name": "LrcToolboxPath",
        "type": "PATH",
        "objectType": "DIRECTORY",
        "dataFlow": "IN",
        "default": BUNDLED_PACKAGE_DIR,
        "userInterface": {"control": "HIDDEN"},
        "description": "The lrc_toolbox package shipped in this bundle (job attachments).",
    }


def _job_environment(
    plan: BatchPlan, options: OpenJDOptions, variables: dict[str, str]
) -> dict[str, Any]:
    environment: dict[str, Any] = {"name": "LRC Maya batch environment"}
    if options.session_maya:
        environment["description"] = "One Maya for the session: the tasks send it their frames."
        environment["script"] = _session_script(plan, options)
    environment["variables"] = variables
    return environment


def build_parameter_values(
    plan: BatchPlan, options: OpenJDOptions | None = None
) -> list[dict[str, Any]]:
    """``[{"name": ..., "value": ...}, ...]`` for ``parameter_values.yaml``."""
    options = options or OpenJDOptions()
    values: list[dict[str, Any]] = [
        {"name": "deadline:priority", "value": options.priority},
        {"name": "deadline:maxRetriesPerTask", "value": max(0, plan.config.max_attempts - 1)},
        {"name": "MayaSceneFile", "value": _scene_path(plan)},
    ]
    if plan.project:
        values.append({"name": "ProjectPath", "value": plan.project})
    values += [
        {"name": "OutputDir", "value": plan.output_dir},
        {"name": "Mayapy", "value": options.mayapy},
        {
            "name": "CondaPackages",
            "value": options.conda_packages
            if options.conda_packages is not None
            else default_conda_packages(plan),
        },
        {"name": "CondaChannels", "value": options.conda_channels},
    ]
    if options.lrc_toolbox_path:
        # a shipped package is the parameter's relative default: no path of this machine
        values.append({"name": "LrcToolboxPath", "value": options.lrc_toolbox_path})
    return values


#: createNode type -> the attribute (short name) holding a file it reads
_FILE_ATTRIBUTES: dict[str, str] = {
    "file": ".ftn",  # fileTextureName
    "AlembicNode": ".fn",  # abc_File
    "gpuCache": ".cfn",  # cacheFileName
    "aiStandIn": ".dso",
    "aiImage": ".filename",
    "RedshiftProxyMesh": ".fp",
    "VRayMesh": ".fn2",
}
_CREATE_NODE = re.compile(r"^createNode\s+(\w+)")
_SET_STRING = re.compile(r'^\s*setAttr\s+"([^"]+)"\s+-type\s+"string"\s+"((?:[^"\\]|\\.)*)"')
#: texture file tokens that name several files (UDIM tiles, frame numbers)
_TOKEN = re.compile(r"<[A-Za-z]+>|#|%0?\d*d|\$F", re.IGNORECASE)


def scene_asset_paths(scene: str | os.PathLike[str]) -> dict[str, list[str]]:
    """The files a Maya ASCII scene reads: ``{"filenames": existing files, "directories":
    folders of tokenized names (UDIM, frame numbers), "referenced": paths not found here}``
    from its file references and the file attributes of :data:`_FILE_ATTRIBUTES` nodes.
    A Maya Binary scene gives nothing (it cannot be read without Maya)."""
    from lrc_toolbox.scene.ma_reader import MayaAsciiError, read_ma

    found: list[str] = []
    try:
        found += list(read_ma(Path(scene)).references)
    except (MayaAsciiError, OSError):
        return {"filenames": [], "directories": [], "referenced": []}
    node_type = ""
    with open(scene, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            created = _CREATE_NODE.match(line)
            if created:
                node_type = created.group(1)
                continue
            wanted = _FILE_ATTRIBUTES.get(node_type)
            if wanted is None:
                continue
            match = _SET_STRING.match(line)
            if match and match.group(1) == wanted and match.group(2):
                found.append(match.group(2).replace('\\"', '"').replace("\\\\", "\\"))
    result: dict[str, list[str]] = {"filenames": [], "directories": [], "referenced": []}
    for path in dict.fromkeys(found):
        if _TOKEN.search(Path(path).name):
            folder = str(Path(path).parent)
            key = "directories" if os.path.isdir(folder) else "referenced"
            result[key].append(folder)
        elif os.path.isfile(path):
            result["filenames"].append(path)
        else:
            result["referenced"].append(path)
    return {key: list(dict.fromkeys(paths)) for key, paths in result.items()}


def build_asset_references(plan: BatchPlan) -> dict[str, Any]:
    """``asset_references.yaml`` (the deadline client's ``AssetReferences`` form): the
    scene and the files it reads in, the images folder out."""
    scene = _scene_path(plan)
    assets = scene_asset_paths(scene)
    filenames = list(dict.fromkeys([scene, *assets["filenames"]]))
    return {
        "assetReferences": {
            "inputs": {"filenames": filenames, "directories": assets["directories"]},
            "outputs": {"directories": [plan.output_dir]},
            "referencedPaths": assets["referenced"],
        }
    }


#: folders of the package a farm worker never needs
_NOT_SHIPPED = {"__pycache__", "ui", "scenes"}


def _ship_package(folder: Path) -> None:
    """Copy this package's Python files into ``folder/BUNDLED_PACKAGE_DIR/lrc_toolbox``."""
    source = Path(__file__).resolve().parents[1]
    target = folder / BUNDLED_PACKAGE_DIR / "lrc_toolbox"
    if target.exists():
        shutil.rmtree(target)
    for root, dirs, files in os.walk(source):
        dirs[:] = sorted(d for d in dirs if d not in _NOT_SHIPPED)
        relative = Path(root).relative_to(source)
        for name in sorted(files):
            if name.endswith((".py", ".json")) or name == "py.typed":
                destination = target / relative / name
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(Path(root, name), destination)


def write_job_bundle(
    plan: BatchPlan, bundle_dir: str | os.PathLike[str], options: OpenJDOptions | None = None
) -> Path:
    """Write ``template.yaml``, ``parameter_values.yaml``, ``asset_references.yaml`` and
    (unless ``options.lrc_toolbox_path`` names a worker install) the shipped package into
    ``bundle_dir`` (created)."""
    options = options or OpenJDOptions()
    template = build_job_template(plan, options)
    values = build_parameter_values(plan, options)
    folder = Path(bundle_dir)
    folder.mkdir(parents=True, exist_ok=True)
    _write_text(folder / "template.yaml", dump_yaml(template))
    _write_text(folder / "parameter_values.yaml", dump_yaml({"parameterValues": values}))
    _write_text(folder / "asset_references.yaml", dump_yaml(build_asset_references(plan)))
    if not options.lrc_toolbox_path:
        _ship_package(folder)
    return folder


def _write_text(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)


def write_simulated_mayapy(folder: str | os.PathLike[str], python: str | None = None) -> str:
    """Write an executable that runs the SIMULATED mayapy (``python -m lrc_toolbox.sim.mayapy``)
    and return its path, for ``--simulate`` bundles and tests: OpenJD's ``Mayapy`` parameter
    is one command, so the interpreter and its ``-m`` arguments go into a wrapper.

    POSIX: a ``/bin/sh`` script; Windows: a ``.cmd`` file (not exercised by the tests).
    """
    python = python or sys.executable
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    if os.name == "nt":
        path = target / "sim_mayapy.cmd"
        _write_text(path, f'@"{python}" -m lrc_toolbox.sim.mayapy %*\r\n')
        return str(path)
    path = target / "sim_mayapy"
    quoted = "'" + python.replace("'", "'\\''") + "'"
    _write_text(path, f'#!/bin/sh\nexec {quoted} -m lrc_toolbox.sim.mayapy "$@"\n')
    path.chmod(0o755)
    return str(path)


def openjd_cli_job_params(bundle_dir: str | os.PathLike[str]) -> list[str]:
    """``["-p", "Name=Value", ...]`` for ``openjd run`` from a bundle's parameter values.

    ``openjd run`` reads parameters as ``Name=Value`` (or a JSON/YAML mapping), not the job
    bundle's ``parameterValues`` list; ``deadline:*`` values are for Deadline Cloud only.
    Needs PyYAML (``openjd-cli`` depends on it).
    """
    import yaml

    text = (Path(bundle_dir) / "parameter_values.yaml").read_text(encoding="utf-8")
    args: list[str] = []
    for entry in yaml.safe_load(text)["parameterValues"]:
        if not str(entry["name"]).startswith("deadline:"):
            args += ["-p", f"{entry['name']}={entry['value']}"]
    return args


def validate_bundle(bundle_dir: str | os.PathLike[str]) -> Any:
    """Decode the template and create the job with openjd-model; returns the ``Job``.

    Raises:
        ImportError: openjd-model (and PyYAML) are not installed.
        BundleError: the template or the values do not validate (openjd-model's message).
    """
    import yaml
    from openjd.model import (
        DecodeValidationError,
        create_job,
        decode_job_template,
        preprocess_job_parameters,
    )

    folder = Path(bundle_dir)
    template_obj = yaml.safe_load((folder / "template.yaml").read_text(encoding="utf-8"))
    values = yaml.safe_load((folder / "parameter_values.yaml").read_text(encoding="utf-8"))
    inputs = {
        str(v["name"]): str(v["value"])
        for v in values["parameterValues"]
        if not str(v["name"]).startswith("deadline:")
    }
    try:
        template = decode_job_template(template=template_obj, supported_extensions=[TASK_CHUNKING])
        prepared = preprocess_job_parameters(
            job_template=template,
            job_parameter_values=inputs,
            job_template_dir=folder,
            current_working_dir=folder,
        )
        return create_job(job_template=template, job_parameter_values=prepared)
    except (DecodeValidationError, ValueError) as exc:
        raise BundleError(f"the job bundle in {folder} does not validate: {exc}") from exc


# --------------------------------------------------------------------------- YAML


_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _quote(text: str) -> str:
    """A YAML double-quoted scalar (JSON-compatible escapes; control and line-separator
    characters escaped so both YAML 1.1 and 1.2 readers see the same string)."""
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ch in "\x7f\x85\u2028\u2029":
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return json.dumps(value)
    if isinstance(value, str):
        return _quote(value)
    raise TypeError(f"cannot write {type(value).__name__} to YAML")


def _key(key: str) -> str:
    return key if _PLAIN_KEY.fullmatch(key) else _quote(key)


def _block(text: str, indent: str) -> str | None:
    """A literal block scalar (``|``) for multi-line text, when it round-trips exactly."""
    if "\n" not in text.rstrip("\n") or not text.endswith("\n") or text.endswith("\n\n"):
        return None
    lines = text[:-1].split("\n")
    if lines[0].startswith(" ") or any(
        ch in line for line in lines for ch in "\t\r\x85\u2028\u2029"
    ):
        return None
    body = "\n".join(f"{indent}{line}" if line else "" for line in lines)
    return f"|\n{body}"


def _emit(prefix: str, value: Any, column: str, lines: list[str]) -> None:
    """Append ``prefix`` (the line so far: indentation and ``key:`` or ``-``) and ``value``.

    ``column`` is the indentation of the key or dash in ``prefix``; nested content goes two
    columns further in.
    """
    inner = column + "  "
    if isinstance(value, Mapping):
        items = [(str(k), v) for k, v in value.items() if v is not None]
        if not items:
            lines.append(f"{prefix} {{}}")
            return
        key_column = inner
        for position, (key, item) in enumerate(items):
            if position == 0 and prefix.endswith("-"):
                # "- key: ..." : the mapping's keys line up after the dash
                key_column = " " * (len(prefix) + 1)
                _emit(f"{prefix} {_key(key)}:", item, key_column, lines)
                continue
            if position == 0:
                lines.append(prefix)
            _emit(f"{key_column}{_key(key)}:", item, key_column, lines)
        return
    if isinstance(value, (list, tuple)):
        if not value:
            lines.append(f"{prefix} []")
            return
        lines.append(prefix)
        for item in value:
            _emit(f"{inner}-", item, inner, lines)
        return
    if isinstance(value, str):
        block = _block(value, inner)
        if block is not None:
            lines.append(f"{prefix} {block}")
            return
    lines.append(f"{prefix} {_scalar(value)}")


def dump_yaml(data: Mapping[str, Any]) -> str:
    """Deterministic block-style YAML for plain data (dicts keep their order; ``None``
    values are left out). Every string is double-quoted, except multi-line text, written
    as a literal block. Output parses back to ``data`` with any YAML 1.1/1.2 reader."""
    lines: list[str] = []
    for key, value in data.items():
        if value is not None:
            _emit(f"{_key(str(key))}:", value, "", lines)
    return "\n".join(lines) + "\n"
