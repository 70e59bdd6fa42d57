"""``lrc-batch-render``: the command line of the batch render manager.

Also runs as ``python -m lrc_toolbox.cli.batch_render_cli`` and, inside Maya's own
interpreter, ``mayapy -m lrc_toolbox.cli.batch_render_cli``.

Exit codes: 0 success (every frame done), 1 some frames failed, 2 bad input (the message
says what and where), 3 environment problem (no mayapy, no usable GPU, disk full, an
unreadable job store), 130 interrupted (Ctrl-C). See docs/cli.md.

``render`` and ``resume`` run their batch in the local render service (started on demand;
the batch survives this command) unless ``--foreground`` or the ``render_service`` setting
says to run the engine in this process.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TextIO

from lrc_toolbox import __version__
from lrc_toolbox.cli.render_options import (
    OptionError,
    add_render_options,
    configs_from_args,
    value_source,
)
from lrc_toolbox.farm.cli import FARM_COMMANDS, add_farm_parsers, run_farm_command
from lrc_toolbox.records.batch import BatchPlan, ExitCode
from lrc_toolbox.records.frame_parser import format_frames
from lrc_toolbox.records.models import BatchState, FrameState, RenderConfig, SystemInfo
from lrc_toolbox.records.renderers import RENDERER_NAMES, RENDERERS

if TYPE_CHECKING:
    from argparse import _SubParsersAction

    from lrc_toolbox.config.batch_render_defaults import Settings
    from lrc_toolbox.core.batch_planner import BatchPlanner
    from lrc_toolbox.core.batch_render_api import BatchError, BatchRenderAPI
    from lrc_toolbox.core.job_store import BatchRecord, JobStore
    from lrc_toolbox.scene.description import SceneDescription

EXIT_OK = ExitCode.OK
EXIT_FAILED_FRAMES = ExitCode.FAILED_FRAMES
EXIT_BAD_INPUT = ExitCode.BAD_INPUT
EXIT_ENVIRONMENT = ExitCode.ENVIRONMENT
EXIT_INTERRUPTED = ExitCode.INTERRUPTED


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lrc-batch-render",
        description=(
            "LRC Toolbox Batch Render Manager: render Maya layers and frame lists in "
            "parallel, one mayapy worker per free GPU."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    info = sub.add_parser(
        "info",
        help="show CPUs, RAM and GPUs, and which are kept for Maya",
        description="Show the machine's CPUs, RAM and NVIDIA GPUs, and what stays with Maya.",
    )
    info.add_argument("--json", action="store_true", help="print JSON instead of a table")

    frames = sub.add_parser(
        "frames",
        help="expand a frame list (e.g. '1-100x5') and print the frames",
        description=(
            "Expand a frame list. Syntax: '1,5,10-20', '1-100x5' (a stepped range keeps its "
            "first and last frame), '10-1' (descending), '-5--1' (negative). "
            "See docs/frame-syntax.md."
        ),
    )
    frames.add_argument("expression", help="the frame list, quoted, e.g. '1-100x5'")
    frames.add_argument("--json", action="store_true", help='print {"frames": [...], "count": N}')

    layers = sub.add_parser(
        "layers",
        help="list a scene's render layers, renderers and frames",
        description=(
            "Read a scene and list what a batch render of it renders: each layer with its "
            "renderable flag, renderer, frames and image prefix. Maya ASCII (.ma) files are "
            "read directly; binary (.mb) files need --mayapy."
        ),
    )
    layers.add_argument("scene", help="the .ma (or, with --mayapy, .mb) scene")
    layers.add_argument("--json", action="store_true", help="print the description as JSON")
    layers.add_argument("--mayapy", help="mayapy to open scenes this tool cannot read itself")

    render = sub.add_parser(
        "render",
        help="render layers x frames in parallel, one mayapy worker per free GPU",
        description=(
            "Render a scene's layers and frames in parallel. Every worker keeps the scene "
            "loaded and takes the next frame when it is free; failed frames are retried, "
            "and the batch is recorded so 'resume' can finish it after a crash."
        ),
    )
    add_render_options(render)
    render.add_argument(
        "--dry-run",
        action="store_true",
        help="print the plan (workers, devices, frames per layer, snapshot) and start nothing",
    )
    _add_run_options(render)

    resume = sub.add_parser(
        "resume",
        help="finish a stopped, failed or interrupted batch",
        description="Render only the frames a batch left undone (orphan workers are reaped).",
    )
    resume.add_argument("batch_id", help="the batch id (a unique prefix is enough)")
    _add_run_options(resume)

    history = sub.add_parser(
        "history", help="list recent batches", description="List recent batches, newest first."
    )
    history.add_argument("--limit", type=int, default=20, metavar="N", help="how many (default 20)")
    history.add_argument("--json", action="store_true", help="print JSON")

    status = sub.add_parser(
        "status",
        help="show one batch: state, frames per layer, failures, workers, logs",
        description="Show a batch (default: the most recent one) as the job store records it.",
    )
    status.add_argument("batch_id", nargs="?", help="batch id or unique prefix (default: latest)")
    status.add_argument("--json", action="store_true", help="print JSON")
    status.add_argument(
        "--follow",
        action="store_true",
        help="print the batch's events live from the render service until it finishes",
    )
    from lrc_toolbox.cli.service_command import add_service_parser

    add_service_parser(sub)
    from lrc_toolbox.cli.gpu_command import add_gpu_parser

    add_gpu_parser(sub)
    add_farm_parsers(sub)

    _add_log_parser(sub)
    return parser


def _add_log_parser(sub: _SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``log FILE [--renderer R] [--json]`` (run by ``cli/log_command.py``, whose log
    parsing the other commands do not import)."""
    log = sub.add_parser(
        "log",
        help="say what a renderer log says: frames, images, errors and the fatal line",
        description=(
            "Read a Maya / renderer log and report the frames started and finished, the "
            "images written, the last progress, and the fatal, frame-failed, error and "
            "warning lines with their line numbers. Exit code 0: no fatal or frame-failed "
            "line; 1: at least one; 2: bad input."
        ),
    )
    log.add_argument("file", help="the log file (Windows \\r\\r\\n endings are fine)")
    log.add_argument(
        "--renderer",
        metavar="R",
        help=f"the renderer it rendered with ({', '.join(RENDERER_NAMES)}); "
        "default: guessed from the log",
    )
    log.add_argument("--json", action="store_true", help="print one JSON object")


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--simulate",
        action="store_true",
        help="run the workers in the simulated mayapy (no Maya needed)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON lines, one per event")
    talk = parser.add_mutually_exclusive_group()
    talk.add_argument("--verbose", action="store_true", help="print every frame and log line")
    talk.add_argument("--quiet", action="store_true", help="print only problems and the result")
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--foreground",
        action="store_true",
        help=(
            "run the engine in this process, not in the render service (cron, farm tasks): "
            "the batch stops with this command"
        ),
    )
    where.add_argument(
        "--detach",
        action="store_true",
        help="hand the batch to the render service, print its id and exit at once",
    )


def _cmd_info(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from lrc_toolbox.config.batch_render_defaults import load_settings
    from lrc_toolbox.core.system_detector import SystemDetector

    loaded = load_settings()
    for warning in loaded.warnings:
        print(f"warning: {warning}", file=err)
    info = SystemDetector(loaded.settings).detect()
    if args.json:
        data = info.to_dict()
        data["available_gpus"] = [g.index for g in info.available_gpus()]
        json.dump(data, out, indent=2)
        out.write("\n")
        return EXIT_OK
    out.write(format_system_info(info))
    return EXIT_OK


def format_system_info(info: SystemInfo) -> str:
    """The human table of ``lrc-batch-render info``."""
    cpu = info.cpu
    lines = [
        f"CPU   {cpu.name or 'unknown CPU'}",
        f"      {cpu.physical_cores} physical / {cpu.logical_cores} logical cores, "
        f"{info.reserved_cpu_cores} kept for Maya, {info.render_cpu_cores} for rendering"
        + (f", load {cpu.load_percent:.0f}%" if cpu.load_percent is not None else ""),
        f"RAM   {info.ram_available_mb / 1024:.1f} GiB free of {info.ram_total_mb / 1024:.1f} GiB",
    ]
    if info.gpus:
        driver = f" (driver {info.driver_version})" if info.driver_version else ""
        sim = " [simulated]" if info.simulated else ""
        lines.append(f"GPUs  {len(info.gpus)} NVIDIA GPU(s){driver}{sim}")
        available = {g.index for g in info.available_gpus()}
        header = f"      {'#':>2}  {'name':<36} {'memory used':>17} {'util':>5} {'temp':>5}  role"
        lines.append(header)
        for gpu in info.gpus:
            if gpu.error:
                role = f"unusable: {gpu.error}"
            elif gpu.index in available and gpu.index in info.reserved_gpus:
                role = "shared: Maya + rendering"
            elif gpu.index in available:
                role = "rendering"
            elif gpu.index in info.reserved_gpus:
                role = "kept for Maya" + (" (display)" if gpu.display_attached else "")
            else:
                role = "idle"
            mem = f"{gpu.memory_used_mb:,}/{gpu.memory_total_mb:,} MiB"
            util = f"{gpu.utilization_percent}%" if gpu.utilization_percent is not None else "-"
            temp = f"{gpu.temperature_c}C" if gpu.temperature_c is not None else "-"
            lines.append(
                f"      {gpu.index:>2}  {gpu.name[:36]:<36} {mem:>17} {util:>5} {temp:>5}  {role}"
            )
    else:
        lines.append("GPUs  none usable")
    if info.gpu_error:
        lines.append(f"      {info.gpu_error}")
    for note in info.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines) + "\n"


def _cmd_frames(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from lrc_toolbox.config.batch_render_defaults import load_settings
    from lrc_toolbox.records.frame_parser import FrameRangeError, parse_frames, preview_frames

    max_frames = load_settings().settings.max_frames
    try:
        frames = parse_frames(args.expression, max_frames=max_frames)
    except FrameRangeError as exc:
        print(f"error: bad frame list: {exc.message}", file=err)
        print(_indent(exc.pointer()), file=err)
        return EXIT_BAD_INPUT
    if args.json:
        json.dump({"frames": frames, "count": len(frames)}, out)
        out.write("\n")
    else:
        out.write(", ".join(str(f) for f in frames) + "\n")
        print(f"({preview_frames(frames).split(':')[0]})", file=err)
    return EXIT_OK


def _cmd_layers(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from lrc_toolbox.scene.scene_source import SceneSourceError, scene_source_for

    try:
        source = scene_source_for(args.scene, [args.mayapy] if args.mayapy else None)
        scene = source.describe()
    except SceneSourceError as exc:
        print(f"error: {exc}", file=err)
        return EXIT_BAD_INPUT
    if args.json:
        json.dump(scene.to_dict(), out, indent=2)
        out.write("\n")
        return EXIT_OK
    out.write(format_scene(scene))
    return EXIT_OK


def format_scene(scene: SceneDescription) -> str:
    """The human view of ``lrc-batch-render layers``."""
    anim = (
        f"animation {scene.start_frame:g}-{scene.end_frame:g} by {scene.by_frame:g}"
        if scene.animation
        else f"animation off (renders the current frame, {scene.current_time:g})"
    )
    lines = [
        f"Scene     {scene.path}",
        f"Maya      {scene.maya_version or 'unknown'}, time unit {scene.time_unit} "
        f"({scene.fps:g} fps), {'Render Setup' if scene.render_setup else 'legacy'} layers",
        f"Renderer  {scene.renderer}, {anim}",
        f"Output    prefix {scene.image_prefix or '(Maya default: <Scene>)'}, "
        f"{scene.resolution[0]}x{scene.resolution[1]}, "
        f"cameras: {', '.join(scene.renderable_cameras) or 'none renderable'}",
        "",
        f"  {'layer':<24} {'renderable':<10} {'renderer':<14} {'frames':<20} image prefix",
    ]
    for layer in scene.layers:
        frames = format_frames(layer.frames) or "-"
        lines.append(
            f"  {layer.name[:24]:<24} {'yes' if layer.renderable else 'no':<10} "
            f"{layer.renderer:<14} {frames[:20]:<20} {layer.image_prefix or '-'}"
        )
    renderable = scene.renderable_layers()
    total = sum(len(layer.frames) for layer in renderable)
    lines.append("")
    lines.append(f"{len(renderable)} renderable layer(s), {total} frame(s) in a plain batch render")
    for warning in scene.warnings:
        lines.append(f"warning: {warning}")
    unsupported = sorted({layer.renderer for layer in renderable} - set(RENDERERS))
    if unsupported:
        lines.append(
            f"warning: renderer {', '.join(unsupported)} is not supported by the batch render "
            f"manager (supported: {', '.join(RENDERER_NAMES)}); render with --renderer"
        )
    return "\n".join(lines) + "\n"


def _cmd_run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from lrc_toolbox.config.batch_render_defaults import load_settings

    loaded = load_settings()
    for warning in loaded.warnings:
        print(f"warning: {warning}", file=err)
    if args.command != "resume" and args.dry_run:
        # planning only: no job store, no event loop, so no Qt is imported at all
        from lrc_toolbox.core.batch_planner import BatchPlanner

        configs = _configs(args, loaded.settings, out, err)
        if isinstance(configs, int):
            return configs
        planner = BatchPlanner.for_settings(loaded.settings, simulate=args.simulate)
        return _dry_run(planner, configs, args, out, err)
    from lrc_toolbox.cli.run_batch import run_batch
    from lrc_toolbox.core.batch_render_api import BatchError, BatchRenderAPI

    in_service = _uses_service(args, loaded.settings.render_service)
    api: BatchRenderAPI
    if in_service:
        from lrc_toolbox.cli.service_command import make_service_api, service_folder_problem

        problem = service_folder_problem(loaded.settings)
        if problem is not None:
            return _fail(args, out, err, problem, EXIT_ENVIRONMENT)
        api = make_service_api(loaded.settings, simulate=args.simulate, verbose=args.verbose)
    else:
        api = BatchRenderAPI(loaded.settings, simulate=args.simulate)
    current = [0]
    if args.command == "resume":
        starts = [lambda: api.resume(args.batch_id)]
        # resume needs the store before anything else: one that cannot be used is exit 3
        # here (render opens it only once its request passed: a refused request writes
        # nothing, and the API says a store moved aside with the batch's warnings)
        failed = _open_api_store(api, args, out, err)
        if failed is not None:
            return failed
    else:
        configs = _configs(args, loaded.settings, out, err)
        if isinstance(configs, int):
            return configs
        if in_service:  # the service runs elsewhere: relative paths are this folder's
            from lrc_toolbox.core.batch_handle import absolute_config

            configs = [absolute_config(c) for c in configs]
        starts = [
            functools.partial(_start_job, api, c, n, current, err) for n, c in enumerate(configs)
        ]
    if in_service and not (args.detach or args.verbose):  # --verbose prints the API's line
        starts = [functools.partial(_say_queued, api, start, err) for start in starts]
    try:
        if args.detach:
            from lrc_toolbox.cli.service_command import submit_detached
            from lrc_toolbox.core.service_api import ServiceBatchAPI

            assert isinstance(api, ServiceBatchAPI)
            return submit_detached(api, starts, args, out, err)
        return run_batch(
            api, starts, out=out, err=err, as_json=args.json, verbose=args.verbose, quiet=args.quiet
        )
    except BatchError as exc:
        return _fail(args, out, err, _batch_error_text(exc, args, current[0]), exc.exit_code)


def _configs(
    args: argparse.Namespace, settings: Settings, out: TextIO, err: TextIO
) -> list[RenderConfig] | int:
    """The batches the command line or its job file asks for, or the exit code of a bad
    request (said once)."""
    try:
        return configs_from_args(args, settings)
    except OptionError as exc:
        return _fail(args, out, err, str(exc), EXIT_BAD_INPUT)
    except ValueError as exc:
        return _fail(args, out, err, f"bad job: {exc}", EXIT_BAD_INPUT)


def _uses_service(args: argparse.Namespace, render_service: bool) -> bool:
    """Whether this render / resume runs its batch in the render service: by default
    (the ``render_service`` setting), never for ``--foreground`` or a dry run (which
    contacts nothing), always for ``--detach``."""
    if getattr(args, "dry_run", False) or args.foreground:
        return False
    return bool(args.detach or render_service)


def _start_job(
    api: BatchRenderAPI, config: RenderConfig, job: int, current: list[int], err: TextIO
) -> str:
    current[0] = job  # which job of the file a BatchError comes from, for its message
    batch_id = api.start_batch_render(config)
    # a damaged job store moved aside when this start opened it: the batch's warnings
    # carry it (a log event with --json); the terminal hears it once too
    for note in api.told_store_notices:
        print(f"warning: {note}", file=err)
    api.told_store_notices = []
    return batch_id


def _say_queued(api: BatchRenderAPI, start: Callable[[], str], err: TextIO) -> str:
    """Run ``start``; a batch that waits in the render service behind another says so
    (on stderr, so that --json lines on stdout stay the same)."""
    batch_id = start()
    if getattr(api, "queued", False):
        print(
            f"batch {batch_id} waits in the render service for the batch before it",
            file=err,
            flush=True,
        )
    return batch_id


def _batch_error_text(exc: BatchError, args: argparse.Namespace, job: int) -> str:
    """The message of a BatchError; an image path outside the output folder names the
    option or job-file key its value came from, when the command line gave it."""
    from lrc_toolbox.core.batch_planner import OutputOutsideFolder

    if isinstance(exc, OutputOutsideFolder) and exc.field is not None:
        source = value_source(args, exc.field, job)
        if source is not None:
            return exc.message(source)
    return str(exc)


def _fail(args: argparse.Namespace, out: TextIO, err: TextIO, message: str, code: int) -> int:
    if getattr(args, "json", False):
        out.write(json.dumps({"event": "error", "message": message, "exit_code": code}) + "\n")
    print(f"error: {message}", file=err)
    return code


def _dry_run(
    planner: BatchPlanner,
    configs: Sequence[RenderConfig],
    args: argparse.Namespace,
    out: TextIO,
    err: TextIO,
) -> int:
    """Validate and print what would run; no worker is started, nothing is written."""
    from lrc_toolbox.core.batch_planner import BatchError
    from lrc_toolbox.utils.temp_file_manager import snapshot_name

    temp_root = planner.settings.resolved_temp_root()  # named, not created: nothing written
    for number, config in enumerate(configs, start=1):
        try:
            plan = planner.plan_dry_run(config).plan
        except BatchError as exc:
            return _fail(args, out, err, _batch_error_text(exc, args, number - 1), exc.exit_code)
        name = snapshot_name(plan.scene_name, plan.snapshot_label, os.getpid(), time.time())
        plan.snapshot = str(temp_root / "snapshots" / name)
        if args.json:
            out.write(json.dumps({"event": "plan", "job": number, **plan.to_dict()}) + "\n")
            continue
        if len(configs) > 1:
            out.write(f"job {number} of {len(configs)}\n")
        out.write(format_plan(plan))
    return EXIT_OK


def format_plan(plan: BatchPlan) -> str:
    """The human view of a dry run."""
    lines = [
        f"scene     {plan.scene}",
        f"renderer  {plan.renderer}",
        f"output    {plan.output_dir}",
        f"snapshot  {plan.snapshot} (written when the batch starts)",
        f"mayapy    {' '.join(plan.mayapy)}",
        "workers:",
    ]
    for worker in plan.workers:
        lines.append(f"  {worker.id:<8} {worker.device}")
    lines.append("frames per layer:")
    for layer, frames in plan.frames_by_layer.items():
        lines.append(f"  {layer:<20} {len(frames):>6}  {format_frames(frames)}")
    lines.append(f"total     {plan.frame_count} frame(s); nothing was started (dry run)")
    for warning in plan.warnings:
        lines.append(f"warning: {warning}")
    return "\n".join(lines) + "\n"


def _open_api_store(
    api: BatchRenderAPI, args: argparse.Namespace, out: TextIO, err: TextIO
) -> int | None:
    """Open the job store before a batch starts: one that cannot be used or made stops the
    command with exit 3; a damaged one moved aside is told here, once. None: go on."""
    from lrc_toolbox.core.job_store import JobStoreError

    try:
        api.store  # noqa: B018 - opens it
    except JobStoreError as exc:
        return _fail(args, out, err, str(exc), EXIT_ENVIRONMENT)
    for note in api.take_store_notices():
        if args.json:
            event = {"event": "log", "time": round(time.time(), 3), "level": "warning"}
            out.write(json.dumps({**event, "worker": "", "text": note}) + "\n")
        print(f"warning: {note}", file=err)
    return None


def _open_store(args: argparse.Namespace, out: TextIO, err: TextIO) -> JobStore | None:
    """The job store for history and status; a damaged file is moved aside (said once on
    stderr); None after printing why it cannot be used."""
    from lrc_toolbox.config.batch_render_defaults import load_settings
    from lrc_toolbox.core.job_store import JobStore, JobStoreError

    settings = load_settings().settings
    try:
        store = JobStore(settings.job_store_path, recover=True)
        if store.recovered is not None:
            print(f"warning: {store.recovered.message()}", file=err)
        store.find_interrupted()
    except JobStoreError as exc:
        _fail(args, out, err, str(exc), EXIT_ENVIRONMENT)
        return None
    return store


def _cmd_history(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from lrc_toolbox.core.job_store import JobStoreError

    store = _open_store(args, out, err)
    if store is None:
        return EXIT_ENVIRONMENT
    try:
        with store:
            records = store.list_batches(limit=max(1, args.limit))
    except JobStoreError as exc:
        return _fail(args, out, err, str(exc), EXIT_ENVIRONMENT)
    if args.json:
        json.dump([_batch_json(r) for r in records], out, indent=2)
        out.write("\n")
        return EXIT_OK
    if not records:
        out.write("no batches yet\n")
        return EXIT_OK
    out.write(f"{'batch':<22} {'started':<16} {'state':<11} {'done':>9} {'failed':>6}  scene\n")
    for r in records:
        done = r.counts.done + r.counts.skipped
        started = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created))
        out.write(
            f"{r.id:<22} {started:<16} {r.state.value:<11} {f'{done}/{r.total}':>9} "
            f"{r.counts.failed:>6}  {r.scene}\n"
        )
    return EXIT_OK


def _batch_json(r: BatchRecord) -> dict[str, object]:
    counts = {s.value: r.counts.count(s) for s in FrameState}
    return {
        "id": r.id,
        "created": r.created,
        "updated": r.updated,
        "state": r.state.value,
        "scene": r.scene,
        "snapshot": r.snapshot,
        "total": r.total,
        "counts": counts,
        "error": r.error,
        "config": r.config.to_dict(),
    }


def _cmd_status(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from lrc_toolbox.core.job_store import JobStoreError

    if args.follow:
        from lrc_toolbox.cli.service_command import follow_in_service

        followed = follow_in_service(args, out, err)
        if followed is not None:
            return followed

    store = _open_store(args, out, err)
    if store is None:
        return EXIT_ENVIRONMENT
    try:
        with store:
            if args.batch_id:
                try:
                    record = store.get_batch(args.batch_id)
                except KeyError as exc:
                    print(f"error: {exc.args[0] if exc.args else exc}", file=err)
                    return EXIT_BAD_INPUT
            else:
                latest = store.list_batches(limit=1)
                if not latest:
                    out.write("no batches yet\n")
                    return EXIT_OK
                record = latest[0]
            frames = store.frames(record.id)
            workers = store.workers(record.id)
    except JobStoreError as exc:
        return _fail(args, out, err, str(exc), EXIT_ENVIRONMENT)
    layers: dict[str, dict[str, list[int]]] = {}
    for f in frames:
        layers.setdefault(f.layer, {}).setdefault(f.state.value, []).append(f.frame)
    failed = [
        {"layer": f.layer, "frame": f.frame, "attempts": f.attempts, "error": f.error}
        for f in frames
        if f.state is FrameState.FAILED
    ]
    worker_rows = [
        {
            "id": w.worker_id,
            "device": w.device,
            "pid": w.pid,
            "state": w.state.value,
            "exit_code": w.exit_code,
            "reason": w.reason,
            "log": w.log_path,
        }
        for w in workers
    ]
    if args.json:
        data = _batch_json(record)
        data["layers"] = {
            layer: {state: format_frames(fs) for state, fs in states.items()}
            for layer, states in layers.items()
        }
        data["failed_frames"] = failed
        data["workers"] = worker_rows
        manager = record.manager
        data["manager"] = None if manager is None else dataclasses.asdict(manager)
        json.dump(data, out, indent=2)
        out.write("\n")
        return EXIT_OK
    out.write(f"batch   {record.id}  {record.state.value}\n")
    out.write(f"scene   {record.scene}\n")
    if record.error:
        out.write(f"error   {record.error}\n")
    if record.manager is not None and record.state in (BatchState.PENDING, BatchState.RUNNING):
        out.write(f"manager {record.manager.describe()}\n")
    for layer, states in layers.items():
        total = sum(len(v) for v in states.values())
        parts = ", ".join(f"{state} {format_frames(fs)}" for state, fs in states.items())
        out.write(f"  {layer:<20} {total:>5} frames: {parts}\n")
    for item in failed:
        out.write(
            f"  failed {item['layer']} frame {item['frame']} after {item['attempts']} "
            f"attempt(s): {item['error']}\n"
        )
    for w in worker_rows:
        # a GPU given back to Maya is no failure: say so where the state alone would not
        given_back = f" ({w['reason']})" if w["state"] == "released" else ""
        out.write(
            f"  worker {w['id']:<8} {w['state']:<9} {w['device']}{given_back}  log: {w['log']}\n"
        )
    if record.state.resumable:
        out.write(f"resume with: lrc-batch-render resume {record.id}\n")
    return EXIT_OK


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


COMMANDS = (
    "info",
    "frames",
    "layers",
    "render",
    "resume",
    "history",
    "status",
    "service",
    "gpu",
    *FARM_COMMANDS,
    "log",
)


def _original_form(argv: list[str]) -> list[str]:
    """The feature's original form renders: ``--scene shot001.ma --layers L --frames 1-24``."""
    if argv and argv[0].startswith("--") and argv[0] not in ("--help", "--version"):
        return ["render", *argv]
    return argv


def _protect_negative_frames(argv: list[str]) -> list[str]:
    """Let ``frames -10--1`` through: argparse would take ``-10--1`` for an option."""
    if argv[:1] == ["frames"] and "--" not in argv:
        for i, arg in enumerate(argv[1:], start=1):
            if re.match(r"-\d", arg):
                return [*argv[:i], *argv[i + 1 :], "--", arg]
    return argv


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (the console script passes it to ``sys.exit``)."""
    parser = _build_parser()
    words = _original_form(list(sys.argv[1:] if argv is None else argv))
    args = parser.parse_args(_protect_negative_frames(words))
    out, err = sys.stdout, sys.stderr
    if args.command == "info":
        return _cmd_info(args, out, err)
    if args.command == "frames":
        return _cmd_frames(args, out, err)
    if args.command == "layers":
        return _cmd_layers(args, out, err)
    if args.command in ("render", "resume"):
        return _cmd_run(args, out, err)
    if args.command == "history":
        return _cmd_history(args, out, err)
    if args.command == "status":
        return _cmd_status(args, out, err)
    if args.command == "service":
        from lrc_toolbox.cli.service_command import run_service_command

        return run_service_command(args, out, err)
    if args.command == "gpu":
        from lrc_toolbox.cli.gpu_command import run_gpu_command

        return run_gpu_command(args, out, err)
    if args.command in FARM_COMMANDS:
        return run_farm_command(args, out, err)
    if args.command == "log":
        from lrc_toolbox.cli.log_command import run_log_command

        return run_log_command(args, out, err)
    parser.print_help(err)
    return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
