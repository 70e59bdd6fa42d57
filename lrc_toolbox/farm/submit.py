"""One path from a :class:`RenderConfig` to a farm, shared by ``lrc-batch-render
export``/``submit`` (:mod:`lrc_toolbox.farm.cli`) and the dashboard's "Send to farm" dialog
(:mod:`lrc_toolbox.ui.dialogs.farm_dialog`), so both plan, check and report the same way.

- :func:`plan_for_farm`: the batch planned exactly as ``render`` plans it (layers, frames,
  output folder checked), for another machine (``local=False``).
- :class:`FarmRequest`: where to send it and the farm's options (the option records of
  :mod:`~lrc_toolbox.farm.openjd` and :mod:`~lrc_toolbox.farm.deadline10`, as they are).
- :func:`check_request`: what can be said before the scene is read (ids, folder, options,
  the ``deadline`` client); :func:`send_to_farm` checks, plans, exports or submits and
  returns a :class:`~lrc_toolbox.records.farm.FarmResult`.
- :func:`farm_failure`: the exit code and the one message for anything these raise.

Nothing here imports Qt widgets, Maya or a farm client at import time.
"""

from __future__ import annotations

import importlib.util
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from lrc_toolbox.farm.deadline10 import Deadline10Options
from lrc_toolbox.farm.openjd import OpenJDOptions
from lrc_toolbox.records.batch import ExitCode
from lrc_toolbox.records.farm import ExportFormat, FarmResult, FarmTarget
from lrc_toolbox.records.models import RenderConfig, ValidationError

if TYPE_CHECKING:  # pragma: no cover
    from lrc_toolbox.config.batch_render_defaults import Settings
    from lrc_toolbox.core.batch_planner import PlannedBatch

__all__ = [
    "DEFAULT_FARM_MAYAPY",
    "FarmInputError",
    "FarmRequest",
    "bundle_mayapy",
    "check_request",
    "deadline_client_missing",
    "deadline_cloud_defaults",
    "default_batch_name",
    "farm_failure",
    "plan_for_farm",
    "send_to_farm",
]

#: the ``Mayapy`` job parameter when none is chosen: the name the farm's PATH resolves
DEFAULT_FARM_MAYAPY = OpenJDOptions().mayapy

CLOUD_IDS_HINT = (
    "Deadline Cloud needs a farm id and a queue id: type them, or set them once with "
    "'deadline config set defaults.farm_id …' and 'defaults.queue_id …'"
)
NO_EXPORT_FOLDER = "choose the folder to write the farm files to"


class FarmInputError(ValueError):
    """A farm request that cannot go as it is (the message says what to set). Exit code 2."""


@dataclass
class FarmRequest:
    """Where a batch goes and the farm-side options that are not part of its RenderConfig.

    Attributes:
        target: Deadline Cloud, Deadline 10, or an export (files only).
        export_format: what an export writes (an OpenJD bundle or Deadline 10 files).
        folder: an export's destination (required); for a submission, a folder to keep
            the submitted files in ("" : a temporary folder, removed afterwards).
        openjd: the bundle's options (Deadline Cloud, an OpenJD export); ``mayapy`` left at
            :data:`DEFAULT_FARM_MAYAPY` means "not chosen" (with ``simulate``: the
            simulator's wrapper).
        deadline10: the Deadline 10 jobs' options (Deadline 10, a Deadline 10 export).
        farm_id, queue_id: the Deadline Cloud queue.
        auto_accept: Deadline Cloud: answer yes when the client asks to confirm uploads.
        deadlinecommand: Deadline 10: the ``deadlinecommand`` to run (None: found).
        simulate: plan with the simulated mayapy; the bundle runs the simulator.
    """

    target: FarmTarget
    export_format: ExportFormat = ExportFormat.OPENJD
    folder: str = ""
    openjd: OpenJDOptions = field(default_factory=OpenJDOptions)
    deadline10: Deadline10Options = field(default_factory=Deadline10Options)
    farm_id: str = ""
    queue_id: str = ""
    auto_accept: bool = False
    deadlinecommand: str | None = None
    simulate: bool = False

    @property
    def writes_openjd(self) -> bool:
        """Whether an OpenJD bundle is written (Deadline Cloud, or an OpenJD export)."""
        if self.target is FarmTarget.EXPORT:
            return self.export_format is ExportFormat.OPENJD
        return self.target is FarmTarget.DEADLINE_CLOUD


# --------------------------------------------------------------------------- checks


def deadline_client_missing() -> str | None:
    """Why the AWS ``deadline`` client cannot be used here, or None when it can be imported."""
    from lrc_toolbox.farm.deadline_cloud import DEADLINE_CLIENT_HINT

    try:  # found, not imported: importing it takes most of a second (the dashboard asks
        # at each key press); a client that is found but breaks on import is reported by
        # the submission (DeadlineCloudUnavailable)
        found = importlib.util.find_spec("deadline.client.api") is not None
    except (ImportError, ValueError) as exc:
        return f"the AWS Deadline Cloud client is not installed ({exc}): {DEADLINE_CLIENT_HINT}"
    if not found:
        return f"the AWS Deadline Cloud client is not installed: {DEADLINE_CLIENT_HINT}"
    return None


def deadline_cloud_defaults() -> tuple[str, str]:
    """The farm and queue ids set with ``deadline config`` (``defaults.farm_id``,
    ``defaults.queue_id``); ``("", "")`` without the client or a configuration. Only
    reads the configuration."""
    try:
        from deadline.client.config import config_file
    except ImportError:
        return "", ""
    try:
        farm = config_file.get_setting("defaults.farm_id") or ""
        queue = config_file.get_setting("defaults.queue_id") or ""
    except Exception:  # a damaged config file: no defaults, the user types the ids
        return "", ""
    return str(farm).strip(), str(queue).strip()


def check_request(request: FarmRequest, config: RenderConfig) -> None:
    """Everything that can be checked without reading the scene, in the order a user fixes
    it: the batch, the target's ids or folder, the options, the ``deadline`` client.

    Raises:
        FarmInputError: a bad batch, missing ids or folder (exit code 2).
        ValueError: a bad option (``BundleError`` for the bundle's; exit code 2).
        DeadlineCloudUnavailable: no ``deadline`` client for Deadline Cloud (exit code 3).
    """
    try:
        config.validate()
    except ValidationError as exc:
        raise FarmInputError(str(exc)) from exc
    if request.target is FarmTarget.DEADLINE_CLOUD and (
        not request.farm_id.strip() or not request.queue_id.strip()
    ):
        raise FarmInputError(CLOUD_IDS_HINT)
    if request.target is FarmTarget.EXPORT and not request.folder.strip():
        raise FarmInputError(NO_EXPORT_FOLDER)
    if request.writes_openjd:
        request.openjd.validate()
    else:
        request.deadline10.validate()
    if request.target is FarmTarget.DEADLINE_CLOUD:
        missing = deadline_client_missing()
        if missing:
            from lrc_toolbox.farm.deadline_cloud import DeadlineCloudUnavailable

            raise DeadlineCloudUnavailable(missing)


# --------------------------------------------------------------------------- planning


def plan_for_farm(
    config: RenderConfig, settings: Settings | None = None, *, simulate: bool = False
) -> PlannedBatch:
    """Plan ``config`` exactly as ``render`` would, for a farm (no local mayapy needed for a
    .ma scene). Reads the scene: call it off the UI thread.

    Raises:
        BatchError: ``BadRequest`` (exit code 2) or ``EnvironmentProblem`` (3).
    """
    from lrc_toolbox.config.batch_render_defaults import load_settings
    from lrc_toolbox.core.batch_planner import BatchPlanner

    planner = BatchPlanner.for_settings(settings or load_settings().settings, simulate=simulate)
    return planner.plan_batch(config, local=False)


def default_batch_name(scene_name: str) -> str:
    """The Deadline 10 batch name when none is given: the scene and the time."""
    return f"{scene_name} {time.strftime('%Y-%m-%d %H:%M')}"


def bundle_mayapy(folder: Path, farm_mayapy: str | None, simulate: bool) -> str:
    """The bundle's ``Mayapy``: the one chosen, else the simulator's wrapper (written into
    ``folder``) when simulating, else ``mayapy``."""
    if farm_mayapy and farm_mayapy != DEFAULT_FARM_MAYAPY:
        return farm_mayapy
    if simulate:
        from lrc_toolbox.farm.openjd import write_simulated_mayapy

        return write_simulated_mayapy(folder)
    return DEFAULT_FARM_MAYAPY


# --------------------------------------------------------------------------- sending


def _openjd_options(request: FarmRequest, planned: PlannedBatch, folder: Path) -> OpenJDOptions:
    options = request.openjd
    return replace(
        options,
        mayapy=bundle_mayapy(folder, options.mayapy, request.simulate),
        min_vcpus=options.min_vcpus or planned.plan.config.cpu_threads,
    )


def _deadline10_options(request: FarmRequest, planned: PlannedBatch) -> Deadline10Options:
    options = request.deadline10
    name = (options.batch_name or "").strip() or default_batch_name(planned.plan.scene_name)
    return replace(options, batch_name=name)


def _write(
    request: FarmRequest, planned: PlannedBatch, folder: Path
) -> tuple[FarmResult, list[tuple[Path, Path]]]:
    """Write the request's files into ``folder``: the result without job ids, and the
    Deadline 10 (job file, plugin file) pairs in submission order."""
    from lrc_toolbox.farm.deadline10 import write_deadline10_files
    from lrc_toolbox.farm.deadline_cloud import export_bundle

    layers = list(planned.plan.frames_by_layer)
    result = FarmResult(
        target=request.target,
        folder=str(folder.resolve()),
        layers=layers,
        warnings=list(planned.plan.warnings),
    )
    if request.writes_openjd:
        result.export_format = ExportFormat.OPENJD
        export_bundle(planned, folder, _openjd_options(request, planned, folder))
        result.files = sorted(str(p.resolve()) for p in folder.iterdir() if p.is_file())
        return result, []
    result.export_format = ExportFormat.DEADLINE10
    written = write_deadline10_files(planned, folder, _deadline10_options(request, planned))
    result.layers = [job.layer for _, _, job in written]
    for job_file, plugin_file, job in written:
        result.files += [str(job_file.resolve()), str(plugin_file.resolve())]
        result.warnings += job.warnings
    return result, [(job_file, plugin_file) for job_file, plugin_file, _ in written]


def send_to_farm(
    request: FarmRequest,
    config: RenderConfig,
    settings: Settings | None = None,
    *,
    print_function: Callable[[str], None] = print,
) -> FarmResult:
    """Check, plan, then export or submit. Reads the scene and may wait on the farm: call it
    off the UI thread. ``print_function`` gets the Deadline Cloud client's messages.

    Raises:
        whatever :func:`check_request` and :func:`plan_for_farm` raise; BundleError,
        FarmFrameError (2); DeadlineCommandNotFound, DeadlineCloudUnavailable, OSError (3);
        DeadlineSubmitError, DeadlineCloudError (1). :func:`farm_failure` words each.
    """
    check_request(request, config)
    planned = plan_for_farm(config, settings, simulate=request.simulate)
    if request.target is FarmTarget.EXPORT:
        return _write(request, planned, Path(request.folder).expanduser())[0]
    with tempfile.TemporaryDirectory(prefix="lrc_farm_") as scratch:
        kept = request.folder.strip()
        folder = Path(kept).expanduser() if kept else Path(scratch)
        result, pairs = _write(request, planned, folder)
        if not kept:
            result.folder, result.files = "", []
        if request.target is FarmTarget.DEADLINE10:
            from lrc_toolbox.farm.deadline10 import find_deadlinecommand, submit_deadline10

            command = find_deadlinecommand(request.deadlinecommand)
            result.job_ids = submit_deadline10(pairs, command)
            return result
        from lrc_toolbox.farm.deadline_cloud import known_asset_paths, submit_to_deadline_cloud

        # no question from here (a worker thread): unapproved uploads are refused with the
        # list of files, and the dialog's "approve uploads" box answers the next try
        result.job_ids = [
            submit_to_deadline_cloud(
                folder,
                request.farm_id.strip() or None,
                request.queue_id.strip() or None,
                priority=request.openjd.priority,
                approve_attachments=request.auto_accept,
                known_paths=known_asset_paths(planned),
                print_function=print_function,
            )
        ]
        return result


# --------------------------------------------------------------------------- failures


def farm_failure(exc: BaseException) -> tuple[ExitCode, str] | None:
    """The exit code and the message (without ``error:``) for an exception of a farm
    hand-off; None for one that is a bug, not a farm failure."""
    from lrc_toolbox.core.batch_planner import BatchError
    from lrc_toolbox.farm.deadline10 import DeadlineCommandNotFound, DeadlineSubmitError
    from lrc_toolbox.farm.deadline_cloud import DeadlineCloudError, DeadlineCloudUnavailable

    if isinstance(exc, BatchError):
        return exc.exit_code, str(exc)
    if isinstance(exc, ValueError):  # FarmInputError, BundleError, FarmFrameError, options
        return ExitCode.BAD_INPUT, str(exc)
    if isinstance(exc, (DeadlineCommandNotFound, DeadlineCloudUnavailable)):
        return ExitCode.ENVIRONMENT, str(exc)
    if isinstance(exc, (DeadlineSubmitError, DeadlineCloudError)):
        return ExitCode.FAILED_FRAMES, str(exc)
    if isinstance(exc, OSError):
        return ExitCode.ENVIRONMENT, f"cannot write the farm files: {exc}"
    return None
