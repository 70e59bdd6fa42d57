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
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from lrc_toolbox.cli.render_options import add_render_options, configs_from_args
from lrc_toolbox.records.batch import ExitCode

if TYPE_CHECKING:
    from lrc_toolbox.core.batch_render_api import PlannedBatch

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
    farm.add_argument("--maya-version", help="Deadline 10 Maya version (default: the scene's)")
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
    submit.add_argument("--farm-id", help="Deadline Cloud farm id (farm-...)")
    submit.add_argument("--queue-id", help="Deadline Cloud queue id (queue-...)")
    submit.add_argument(
        "--yes", action="store_true", help="Deadline Cloud: confirm uploads without asking"
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

    return Deadline10Options(
        batch_name=args.batch_name or f"{scene_name} {time.strftime('%Y-%m-%d %H:%M')}",
        pool=args.pool,
        group=args.group,
        priority=args.priority,
        concurrent_tasks=args.concurrent_tasks,
        gpus_per_task=args.gpus_per_task,
        maya_version=args.maya_version,
    )


def _plan(args: argparse.Namespace, err: TextIO) -> PlannedBatch | int:
    """The planned batch, or an exit code after printing why."""
    from lrc_toolbox.config.batch_render_defaults import load_settings
    from lrc_toolbox.core.batch_render_api import BatchError, BatchRenderAPI
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
    api = BatchRenderAPI(loaded.settings, simulate=args.simulate)
    try:
        planned = api.plan_batch(configs[0], local=False)
    except BatchError as exc:
        print(f"error: {exc}", file=err)
        return exc.exit_code
    for warning in planned.plan.warnings:
        print(f"warning: {warning}", file=err)
    for layer, frames in planned.plan.frames_by_layer.items():
        print(f"layer {layer}: {preview_frames(frames)}", file=err)
    return planned


def _bundle_mayapy(args: argparse.Namespace, folder: Path) -> str:
    if args.farm_mayapy:
        return str(args.farm_mayapy)
    if args.simulate:
        from lrc_toolbox.farm.openjd import write_simulated_mayapy

        return write_simulated_mayapy(folder)
    return "mayapy"


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
        for job_file, plugin_file, job in written:
            for warning in job.warnings:
                print(f"warning: {warning}", file=err)
            if not args.json:
                print(f"Deadline 10 job: {job_file}  {plugin_file}", file=out)
    if args.json:
        json.dump(result, out)
        out.write("\n")
    return EXIT_OK


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
    for _, _, job in written:
        for warning in job.warnings:
            print(f"warning: {warning}", file=err)
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
    from lrc_toolbox.farm.deadline_cloud import export_bundle, submit_to_deadline_cloud

    export_bundle(plan, folder, _openjd_options(args, _bundle_mayapy(args, folder), plan))
    job_id = submit_to_deadline_cloud(
        folder,
        args.farm_id,
        args.queue_id,
        priority=args.priority,
        auto_accept=args.yes,
        print_function=lambda text: print(text, file=err),
    )
    if args.json:
        json.dump({"deadline_cloud": job_id}, out)
        out.write("\n")
    else:
        print(f"Deadline Cloud job {job_id}", file=out)
    return EXIT_OK


def run_farm_command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Run ``export`` or ``submit``; returns the exit code (see the module docstring)."""
    from lrc_toolbox.farm.deadline10 import DeadlineCommandNotFound, DeadlineSubmitError
    from lrc_toolbox.farm.deadline_cloud import DeadlineCloudError, DeadlineCloudUnavailable
    from lrc_toolbox.farm.frames import FarmFrameError
    from lrc_toolbox.farm.openjd import BundleError

    command = getattr(args, "farm_command", None) or getattr(args, "command", None)
    if command not in FARM_COMMANDS:
        print(f"error: not a farm command: {command!r}", file=err)
        return EXIT_BAD_INPUT
    if command == "submit" and args.deadline_cloud and (not args.farm_id or not args.queue_id):
        print("error: --deadline-cloud needs --farm-id and --queue-id", file=err)
        return EXIT_BAD_INPUT
    if command == "export" and not args.openjd and not args.deadline10:
        print("error: say what to write: --openjd DIR and/or --deadline10 DIR", file=err)
        return EXIT_BAD_INPUT
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
    except (BundleError, FarmFrameError, ValueError) as exc:
        print(f"error: {exc}", file=err)
        return EXIT_BAD_INPUT
    except (DeadlineCommandNotFound, DeadlineCloudUnavailable) as exc:
        print(f"error: {exc}", file=err)
        return EXIT_ENVIRONMENT
    except (DeadlineSubmitError, DeadlineCloudError) as exc:
        print(f"error: {exc}", file=err)
        return EXIT_REFUSED
    except OSError as exc:
        print(f"error: cannot write the farm files: {exc}", file=err)
        return EXIT_ENVIRONMENT
