"""``lrc-batch-render export`` and ``lrc-batch-render submit``: send a batch to a farm.

Wired into :mod:`lrc_toolbox.cli.batch_render_cli` with :func:`add_farm_parsers` (adds the
two subcommands to its subparsers) and :func:`run_farm_command` (runs them). The batch is
planned with ``BatchRenderAPI.plan_batch`` exactly as a local render is, so layers, frames
and the output folder are validated the same way before anything is written or submitted.

Exit codes: 0 success; 1 the farm refused the job; 2 bad input (the message says what);
3 environment (no mayapy to read the scene, no ``deadlinecommand``, no ``deadline`` client or
AWS credentials).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from lrc_toolbox.cli.render_options import add_render_options, configs_from_args
from lrc_toolbox.records.batch import ExitCode

if TYPE_CHECKING:
    from lrc_toolbox.core.batch_planner import PlannedBatch

__all__ = ["FARM_COMMANDS", "add_farm_parsers", "run_farm_command"]

FARM_COMMANDS = ("export", "submit")

EXIT_OK = ExitCode.OK
EXIT_REFUSED = ExitCode.FAILED_FRAMES  # the farm refused the job
EXIT_BAD_INPUT = ExitCode.BAD_INPUT
EXIT_ENVIRONMENT = ExitCode.ENVIRONMENT


def _add_farm_options(parser: argparse.ArgumentParser) -> None:
    what = parser.add_argument_group("what to render (as for 'render', with the same defaults)")
    add_render_options(what)
    what.add_argument(
        "--simulate",
        action="store_true",
        help="plan with the simulated mayapy, and make the OpenJD bundle run the simulator "
        "(for testing the farm path without Maya)",
    )
    farm = parser.add_argument_group("farm options")
    farm.add_argument("--pool", help="Deadline 10 pool")
    farm.add_argument("--group", help="Deadline 10 group")
    farm.add_argument("--priority", type=int, default=50, help="job priority 0-100 (default 50)")
    farm.add_argument(
        "--gpus-per-task", type=int, default=1, metavar="N", help="GPUs per task (default 1)"
    )
    farm.add_argument(
        "--concurrent-tasks",
        type=int,
        default=1,
        metavar="N",
        help="Deadline 10 tasks per Worker at once (default 1)",
    )
    farm.add_argument("--batch-name", help="Deadline 10 batch / Deadline Cloud job name")
    farm.add_argument(
        "--maya-version",
        help="Deadline 10 Version: the Maya release the farm runs (default: the release of "
        "the mayapy the batch is planned with, else the one that saved the scene)",
    )
    # --- issue 15: Deadline 10 job keys and submission approval (one block) ---
    farm.add_argument("--secondary-pool", help="Deadline 10 secondary pool")
    farm.add_argument(
        "--machine-limit",
        type=int,
        default=0,
        metavar="N",
        help="Deadline 10: at most N Workers on a job at once (default 0: no limit)",
    )
    farm.add_argument(
        "--limit-groups",
        type=lambda text: [g.strip() for g in text.split(",") if g.strip()],
        default=[],
        metavar="A,B",
        help="Deadline 10 Limits the jobs need (comma separated, e.g. a licence limit)",
    )
    farm.add_argument("--comment", help="Deadline 10 job comment")
    farm.add_argument("--department", help="Deadline 10 department")
    farm.add_argument(
        "--initial-status",
        choices=("Active", "Suspended"),
        help="Deadline 10 initial job status (default: Deadline's, Active)",
    )
    farm.add_argument(
        "--strict-errors",
        action="store_true",
        help="Deadline 10 StrictErrorChecking: fail a task on any error line MayaBatch "
        "knows (default off: harmless 'Error:' lines of plug-ins would fail good frames)",
    )
    farm.add_argument(
        "--task-timeout-minutes",
        type=int,
        metavar="MINUTES",
        help="Deadline 10 TaskTimeoutMinutes: a hard limit per task (default: none)",
    )
    farm.add_argument(
        "--arnold-startup-script",
        metavar="PATH",
        help="Deadline 10, Arnold: a MEL file the Workers can read that sets the render "
        "device (default: one written into the output folder)",
    )
    farm.add_argument(
        "--scene-arnold-device",
        action="store_true",
        help="Deadline 10, Arnold: leave the device as saved in the scene (not set)",
    )
    # --- end issue 15 block ---
    farm.add_argument(
        "--farm-mayapy",
        help="mayapy command on the farm workers, for OpenJD / Deadline Cloud (default: "
        "mayapy; with --simulate: a wrapper that runs the simulator)",
    )
    farm.add_argument(
        "--lrc-toolbox-path",
        help="folder holding lrc_toolbox on the farm workers (default: ship this package "
        "inside the OpenJD bundle)",
    )
    farm.add_argument(
        "--target-chunk-seconds",
        type=int,
        metavar="SECONDS",
        help="OpenJD chunks.targetRuntimeSeconds (adaptive chunk sizes; with --chunk-size > 1)",
    )
    farm.add_argument(
        "--noncontiguous-chunks",
        action="store_true",
        help="OpenJD rangeConstraint NONCONTIGUOUS: chunk stepped frame lists too",
    )
    # OpenJD / Deadline Cloud bundle: software on the worker, task limit, Maya per session
    farm.add_argument(
        "--conda-packages",
        metavar="SPECS",
        help="OpenJD CondaPackages, space-separated (default: from the scene's Maya version "
        "and renderer, e.g. 'maya=2025.* maya-mtoa')",
    )
    farm.add_argument(
        "--conda-channels",
        metavar="CHANNELS",
        help="OpenJD CondaChannels, space-separated (default: deadline-cloud)",
    )
    farm.add_argument(
        "--task-timeout",
        type=int,
        metavar="SECONDS",
        help="OpenJD: fail a task that runs longer than this (default: no limit)",
    )
    farm.add_argument(
        "--maya-per-task",
        action="store_true",
        help="OpenJD: start Maya for every task instead of once per worker session",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def add_farm_parsers(subparsers: Any) -> None:
    """Add ``export`` and ``submit`` to the CLI's subparsers."""
    export = subparsers.add_parser(
        "export",
        help="write a farm job (OpenJD / Deadline Cloud bundle, Deadline 10 files)",
        description=(
            "Plan the batch exactly like 'render' and write it as farm jobs without "
            "submitting: an Open Job Description job bundle (one step per layer; Deadline "
            "Cloud can submit it: 'deadline bundle submit DIR') and/or Thinkbox Deadline 10 "
            "MayaBatch job and plugin info files (one job per layer). Frame lists are "
            "written out explicitly, never as stepped ranges. See docs/farm.md."
        ),
    )
    export.add_argument("--openjd", metavar="DIR", help="write the OpenJD job bundle here")
    export.add_argument(
        "--deadline10", metavar="DIR", help="write Deadline 10 .job/.plugin files here"
    )
    _add_farm_options(export)
    export.set_defaults(farm_command="export")

    submit = subparsers.add_parser(
        "submit",
        help="submit a batch to Deadline 10 or AWS Deadline Cloud",
        description=(
            "Plan the batch exactly like 'render' and submit it: to Thinkbox Deadline 10 "
            "with deadlinecommand (one MayaBatch job per layer, one batch), or to an AWS "
            "Deadline Cloud queue with the 'deadline' client (one job, one step per layer)."
        ),
    )
    target = submit.add_mutually_exclusive_group(required=True)
    target.add_argument("--deadline10", action="store_true", help="submit to Deadline 10")
    target.add_argument(
        "--deadline-cloud", action="store_true", help="submit to AWS Deadline Cloud"
    )
    submit.add_argument("--deadlinecommand", metavar="PATH", help="deadlinecommand to use")
    submit.add_argument(
        "--farm-id",
        help="Deadline Cloud farm id (farm-...; default: deadline config's defaults.farm_id)",
    )
    submit.add_argument(
        "--queue-id",
        help="Deadline Cloud queue id (queue-...; default: deadline config's defaults.queue_id)",
    )
    submit.add_argument(
        "--yes",
        "--approve-attachments",
        dest="yes",
        action="store_true",
        help="Deadline Cloud: approve job-attachment uploads from folders outside the "
        "storage profile (otherwise asked on a terminal, refused without one)",
    )
    submit.add_argument(
        "--keep-files", metavar="DIR", help="write the submitted files here and keep them"
    )
    _add_farm_options(submit)
    submit.set_defaults(farm_command="submit")


# --------------------------------------------------------------------------- running


def _openjd_options(args: argparse.Namespace, mayapy: str, planned: PlannedBatch) -> Any:
    from lrc_toolbox.farm.openjd import DEFAULT_CONDA_CHANNELS, OpenJDOptions

    return OpenJDOptions(
        mayapy=mayapy,
        job_name=args.batch_name,
        priority=args.priority,
        gpus_per_task=args.gpus_per_task,
        min_vcpus=planned.plan.config.cpu_threads,
        target_runtime_seconds=args.target_chunk_seconds,
        contiguous_chunks=not args.noncontiguous_chunks,
        lrc_toolbox_path=args.lrc_toolbox_path,
        conda_packages=args.conda_packages,
        conda_channels=args.conda_channels or DEFAULT_CONDA_CHANNELS,
        task_timeout_seconds=args.task_timeout,
        session_maya=not args.maya_per_task,
    )


def _deadline10_options(args: argparse.Namespace, scene_name: str) -> Any:
    from lrc_toolbox.farm.deadline10 import Deadline10Options
    from lrc_toolbox.farm.submit import default_batch_name

    return Deadline10Options(
        batch_name=args.batch_name or default_batch_name(scene_name),
        pool=args.pool,
        secondary_pool=args.secondary_pool,
        group=args.group,
        priority=args.priority,
        concurrent_tasks=args.concurrent_tasks,
        machine_limit=args.machine_limit,
        limit_groups=list(args.limit_groups),
        comment=args.comment,
        department=args.department,
        initial_status=args.initial_status,
        gpus_per_task=args.gpus_per_task,
        maya_version=args.maya_version,
        strict_error_checking=args.strict_errors,
        task_timeout_minutes=args.task_timeout_minutes,
        arnold_startup_script=args.arnold_startup_script,
        scene_arnold_device=args.scene_arnold_device,
    )


def _plan(args: argparse.Namespace, err: TextIO) -> PlannedBatch | int:
    """The planned batch, or an exit code after printing why."""
    from lrc_toolbox.config.batch_render_defaults import load_settings
    from lrc_toolbox.core.batch_planner import BatchError
    from lrc_toolbox.farm.submit import plan_for_farm
    from lrc_toolbox.records.frame_parser import preview_frames

    loaded = load_settings()
    for warning in loaded.warnings:
        print(f"warning: {warning}", file=err)
    try:
        configs = configs_from_args(args, loaded.settings)
    except ValueError as exc:
        print(f"error: bad job: {exc}", file=err)
        return EXIT_BAD_INPUT
    if len(configs) != 1:
        print(
            f"error: the job file holds {len(configs)} jobs; a farm hand-off takes one "
            "(split the file, or export each job with its own --config)",
            file=err,
        )
        return EXIT_BAD_INPUT
    try:
        planned = plan_for_farm(configs[0], loaded.settings, simulate=args.simulate)
    except BatchError as exc:
        print(f"error: {exc}", file=err)
        return exc.exit_code
    for warning in planned.plan.warnings:
        print(f"warning: {warning}", file=err)
    for layer, frames in planned.plan.frames_by_layer.items():
        print(f"layer {layer}: {preview_frames(frames)}", file=err)
    return planned


def _bundle_mayapy(args: argparse.Namespace, folder: Path) -> str:
    from lrc_toolbox.farm.submit import bundle_mayapy

    return bundle_mayapy(folder, args.farm_mayapy, args.simulate)


def _export(args: argparse.Namespace, plan: PlannedBatch, out: TextIO, err: TextIO) -> int:
    from lrc_toolbox.farm.deadline10 import write_deadline10_files
    from lrc_toolbox.farm.deadline_cloud import export_bundle

    result: dict[str, Any] = {}
    if args.openjd:
        folder = Path(args.openjd)
        options = _openjd_options(args, _bundle_mayapy(args, folder), plan)
        export_bundle(plan, folder, options)
        result["openjd"] = str(folder.resolve())
        if not args.json:
            print(f"OpenJD job bundle: {folder}", file=out)
            print(f"  submit: deadline bundle submit {folder}", file=out)
    if args.deadline10:
        written = write_deadline10_files(
            plan, args.deadline10, _deadline10_options(args, plan.plan.scene_name)
        )
        result["deadline10"] = [[str(j), str(p)] for j, p, _ in written]
        _print_job_warnings([job for _, _, job in written], err)
        for job_file, plugin_file, _ in written:
            if not args.json:
                print(f"Deadline 10 job: {job_file}  {plugin_file}", file=out)
    if args.json:
        json.dump(result, out)
        out.write("\n")
    return EXIT_OK


def _print_job_warnings(jobs: list[Any], err: TextIO) -> None:
    """Each Deadline 10 warning once (the Maya version one is the same for every layer),
    and where Arnold's device is set (MayaBatch itself ignores GPUsPerTask for Arnold)."""
    for warning in dict.fromkeys(w for job in jobs for w in job.warnings):
        print(f"warning: {warning}", file=err)
    for script in dict.fromkeys(
        job.plugin_info["StartupScript"] for job in jobs if "StartupScript" in job.plugin_info
    ):
        print(
            f"note: Arnold's render device is set by the MayaBatch StartupScript {script} "
            "(MayaBatch ignores GPUsPerTask for Arnold); the Workers must be able to read it",
            file=err,
        )


def _submit_deadline10(
    args: argparse.Namespace, plan: PlannedBatch, folder: Path, out: TextIO, err: TextIO
) -> int:
    from lrc_toolbox.farm.deadline10 import (
        find_deadlinecommand,
        submit_deadline10,
        write_deadline10_files,
    )

    command = find_deadlinecommand(args.deadlinecommand)
    options = _deadline10_options(args, plan.plan.scene_name)
    written = write_deadline10_files(plan, folder, options)
    _print_job_warnings([job for _, _, job in written], err)
    job_ids = submit_deadline10([(j, p) for j, p, _ in written], command)
    if args.json:
        layers = [job.layer for _, _, job in written]
        json.dump({"deadline10": dict(zip(layers, job_ids, strict=True))}, out)
        out.write("\n")
    else:
        for (_, _, job), job_id in zip(written, job_ids, strict=True):
            print(f"Deadline 10 job {job_id}: layer {job.layer}", file=out)
    return EXIT_OK


def _submit_cloud(
    args: argparse.Namespace, plan: PlannedBatch, folder: Path, out: TextIO, err: TextIO
) -> int:
    from lrc_toolbox.farm.deadline_cloud import (
        export_bundle,
        known_asset_paths,
        submit_to_deadline_cloud,
    )

    export_bundle(plan, folder, _openjd_options(args, _bundle_mayapy(args, folder), plan))
    job_id = submit_to_deadline_cloud(
        folder,
        args.farm_id,
        args.queue_id,
        priority=args.priority,
        approve_attachments=args.yes,
        ask=_terminal_question(err),
        known_paths=known_asset_paths(plan),
        print_function=lambda text: print(text, file=err),
    )
    if args.json:
        json.dump({"deadline_cloud": job_id}, out)
        out.write("\n")
    else:
        print(f"Deadline Cloud job {job_id}", file=out)
    return EXIT_OK


def _terminal_question(err: TextIO) -> Callable[[str], bool] | None:
    """Ask on the terminal when there is one (stdin and stderr); None without one."""
    if not (sys.stdin.isatty() and err.isatty()):
        return None

    def ask(message: str) -> bool:
        print(message, file=err)
        print("Upload these files and submit the job? [y/N] ", end="", file=err, flush=True)
        try:
            answer = sys.stdin.readline()
        except (OSError, KeyboardInterrupt):
            return False
        return answer.strip().lower() in ("y", "yes")

    return ask


def run_farm_command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Run ``export`` or ``submit``; returns the exit code (see the module docstring)."""
    from lrc_toolbox.farm.submit import farm_failure

    command = getattr(args, "farm_command", None) or getattr(args, "command", None)
    if command not in FARM_COMMANDS:
        print(f"error: not a farm command: {command!r}", file=err)
        return EXIT_BAD_INPUT
    if command == "export" and not args.openjd and not args.deadline10:
        print("error: say what to write: --openjd DIR and/or --deadline10 DIR", file=err)
        return EXIT_BAD_INPUT
    if command == "submit" and args.deadline_cloud:
        from lrc_toolbox.farm.deadline_cloud import (
            DeadlineCloudSetupError,
            DeadlineCloudUnavailable,
            resolve_farm_and_queue,
        )

        try:  # before planning: a missing farm or queue costs nothing
            args.farm_id, args.queue_id = resolve_farm_and_queue(args.farm_id, args.queue_id)
        except DeadlineCloudSetupError as exc:
            print(f"error: {exc}", file=err)
            return EXIT_BAD_INPUT
        except DeadlineCloudUnavailable as exc:
            print(f"error: {exc}", file=err)
            return EXIT_ENVIRONMENT
    planned = _plan(args, err)
    if isinstance(planned, int):
        return planned
    try:
        if command == "export":
            return _export(args, planned, out, err)
        with tempfile.TemporaryDirectory(prefix="lrc_farm_") as scratch:
            folder = Path(args.keep_files) if args.keep_files else Path(scratch)
            if args.deadline10:
                return _submit_deadline10(args, planned, folder, out, err)
            return _submit_cloud(args, planned, folder, out, err)
    except Exception as exc:
        failure = farm_failure(exc)
        if failure is None:
            raise
        print(f"error: {failure[1]}", file=err)
        return failure[0]
