"""``lrc-batch-render``: the command line of the batch render manager.

Also runs as ``python -m lrc_toolbox.cli.batch_render_cli`` and, inside Maya's own
interpreter, ``mayapy -m lrc_toolbox.cli.batch_render_cli``.

Exit codes: 0 success (every frame done), 1 some frames failed, 2 bad input (the message
says what and where), 3 environment problem (no mayapy, no usable GPU, disk full, an
unreadable job store), 130 interrupted (Ctrl-C). See docs/cli.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from lrc_toolbox import __version__
from lrc_toolbox.farm.cli import FARM_COMMANDS, add_farm_parsers, run_farm_command

if TYPE_CHECKING:
    from lrc_toolbox.records.models import FrameState

EXIT_OK = 0
EXIT_FAILED_FRAMES = 1
EXIT_BAD_INPUT = 2
EXIT_ENVIRONMENT = 3
EXIT_INTERRUPTED = 130


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
    _add_render_options(render)

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
    add_farm_parsers(sub)
    return parser


def _gpu_list(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"GPU indices separated by commas, like '1,2' (see 'lrc-batch-render info'), "
            f"not {text!r}"
        ) from None


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


def _layer_list(text: str) -> list[str]:
    if text.strip().lower() == "all":
        return []
    return [name.strip() for name in text.split(",") if name.strip()]


def _add_render_options(parser: argparse.ArgumentParser) -> None:
    """Render options. Each defaults to 'not given' so that a job file's values survive
    unless the flag is on the command line (flags win)."""
    s = argparse.SUPPRESS
    parser.add_argument(
        "--config",
        metavar="JOB.json",
        help="JSON job file (one job, or several under 'jobs'); flags override its values",
    )
    parser.add_argument("--scene", default=s, help="the Maya scene (.ma, or .mb with mayapy)")
    parser.add_argument(
        "--layers",
        type=_layer_list,
        default=s,
        help="layer names, comma separated, or 'all' for every renderable layer (default)",
    )
    parser.add_argument(
        "--frames", default=s, help="frame list, e.g. '1-24' or '1-100x5' (default: the scene's)"
    )
    parser.add_argument(
        "--output", dest="output_dir", default=s, help="output folder (default: <project>/images)"
    )
    parser.add_argument("--renderer", default=s, help="render with this renderer, not the scene's")
    parser.add_argument(
        "--camera", default=s, help="render this camera instead of the renderable ones"
    )
    parser.add_argument(
        "--image-prefix", default=s, help="image file prefix, e.g. '<Scene>/<RenderLayer>'"
    )
    devices = parser.add_mutually_exclusive_group()
    devices.add_argument(
        "--gpus",
        type=_gpu_list,
        default=s,
        help="GPU indices to render on, e.g. '1,2' (default: every GPU not kept for Maya)",
    )
    devices.add_argument(
        "--cpu", dest="cpu_mode", action="store_true", default=s, help="render on the CPU"
    )
    parser.add_argument(
        "--threads", dest="cpu_threads", type=int, default=s, help="CPU threads per worker"
    )
    parser.add_argument(
        "--processes-per-gpu", type=int, default=s, metavar="N", help="workers per GPU (default 1)"
    )
    parser.add_argument(
        "--chunk-size", type=int, default=s, metavar="N", help="frames per hand-out (default 1)"
    )
    parser.add_argument(
        "--order",
        dest="frame_order",
        choices=("sequential", "preview-first"),
        default=s,
        help="frame order: sequential (default) or preview-first (first, last, middle, ...)",
    )
    parser.add_argument(
        "--max-attempts", type=int, default=s, metavar="N", help="tries per frame (default 3)"
    )
    parser.add_argument(
        "--frame-timeout",
        type=float,
        default=s,
        metavar="SECONDS",
        help="kill a worker that prints nothing for this long (default 1800)",
    )
    parser.add_argument(
        "--skip-existing", action="store_true", default=s, help="skip frames already on disk"
    )
    parser.add_argument("--mayapy", default=s, help="path of mayapy (default: found automatically)")
    parser.add_argument(
        "--scene-name",
        default=s,
        help="what <Scene> expands to in file names (default: the scene file's name)",
    )
    parser.add_argument(
        "--project", default=s, help="Maya project folder (default: found above the scene)"
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print the plan (workers, devices, frames per layer, snapshot) and start nothing",
    )
    _add_run_options(parser)


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


def format_system_info(info: object) -> str:
    """The human table of ``lrc-batch-render info``."""
    from lrc_toolbox.records.models import SystemInfo

    assert isinstance(info, SystemInfo)
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


def format_scene(scene: object) -> str:
    """The human view of ``lrc-batch-render layers``."""
    from lrc_toolbox.records.frame_parser import format_frames
    from lrc_toolbox.scene.description import SceneDescription

    assert isinstance(scene, SceneDescription)
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
    return "\n".join(lines) + "\n"


_CONFIG_FIELDS = (
    "scene", "layers", "frames", "renderer", "camera", "output_dir", "image_prefix", "gpus",
    "processes_per_gpu", "cpu_mode", "cpu_threads", "chunk_size", "frame_order", "max_attempts",
    "frame_timeout", "skip_existing", "mayapy", "scene_name", "project",
)  # fmt: skip


def _settings_defaults(settings: object) -> dict[str, object]:
    """The user's preferences as the lowest layer of a job's values."""
    from lrc_toolbox.config.batch_render_defaults import Settings

    assert isinstance(settings, Settings)
    values: dict[str, object] = {
        "processes_per_gpu": settings.processes_per_gpu,
        "chunk_size": settings.chunk_size,
        "frame_order": settings.frame_order.value,
        "max_attempts": settings.max_attempts,
        "frame_timeout": settings.frame_timeout,
    }
    if settings.mayapy:
        values["mayapy"] = settings.mayapy
    return values


def configs_from_args(args: argparse.Namespace, settings: object) -> list[object]:
    """The validated RenderConfigs of a render command: preferences < job file < flags.

    Raises:
        ValueError: (JobFileError / ValidationError) with the key path; the caller exits 2.
    """
    from lrc_toolbox.config.job_file import load_job_file, merge_job
    from lrc_toolbox.records.models import ValidationError

    flags = {key: getattr(args, key) for key in _CONFIG_FIELDS if hasattr(args, key)}
    base = _settings_defaults(settings)
    if args.config:
        return list(load_job_file(args.config, flags, base))
    if "scene" not in flags:
        raise ValidationError("scene", "no scene given: use --scene SCENE or --config JOB.json")
    return [merge_job(base, flags)]


def _cmd_run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from lrc_toolbox.cli.run_batch import run_batch
    from lrc_toolbox.config.batch_render_defaults import load_settings
    from lrc_toolbox.core.batch_render_api import BatchError, BatchRenderAPI

    loaded = load_settings()
    for warning in loaded.warnings:
        print(f"warning: {warning}", file=err)
    api = BatchRenderAPI(loaded.settings, simulate=args.simulate)
    if args.command == "resume":
        starts = [lambda: api.resume(args.batch_id)]
    else:
        try:
            configs = configs_from_args(args, loaded.settings)
        except ValueError as exc:
            return _fail(args, out, err, f"bad job: {exc}", EXIT_BAD_INPUT)
        if args.dry_run:
            return _dry_run(api, configs, args, out, err)
        starts = [lambda c=c: api.start_batch_render(c) for c in configs]  # type: ignore[misc]
    try:
        return run_batch(
            api, starts, out=out, err=err, as_json=args.json, verbose=args.verbose, quiet=args.quiet
        )
    except BatchError as exc:
        return _fail(args, out, err, str(exc), exc.exit_code)


def _fail(args: argparse.Namespace, out: TextIO, err: TextIO, message: str, code: int) -> int:
    if getattr(args, "json", False):
        out.write(json.dumps({"event": "error", "message": message, "exit_code": code}) + "\n")
    print(f"error: {message}", file=err)
    return code


def _dry_run(
    api: object, configs: list[object], args: argparse.Namespace, out: TextIO, err: TextIO
) -> int:
    """Validate and print what would run; no worker is started, nothing is written."""
    from lrc_toolbox.core.batch_render_api import BatchError, BatchRenderAPI
    from lrc_toolbox.utils.temp_file_manager import snapshot_name

    assert isinstance(api, BatchRenderAPI)
    for number, config in enumerate(configs, start=1):
        try:
            plan = api.plan_batch(config)  # type: ignore[arg-type]
        except BatchError as exc:
            return _fail(args, out, err, str(exc), exc.exit_code)
        layers = list(plan.frames_by_layer)
        label = layers[0] if len(layers) == 1 else f"{len(layers)}layers"
        data = plan.to_dict()
        data["snapshot"] = str(
            api.temp.root
            / "snapshots"
            / snapshot_name(plan.scene_name, label, os.getpid(), time.time())
        )
        if args.json:
            out.write(json.dumps({"event": "plan", "job": number, **data}) + "\n")
            continue
        if len(configs) > 1:
            out.write(f"job {number} of {len(configs)}\n")
        out.write(format_plan(data))
    return EXIT_OK


def format_plan(data: dict[str, object]) -> str:
    """The human view of a dry run."""
    lines = [
        f"scene     {data['scene']}",
        f"renderer  {data['renderer']}",
        f"output    {data['output_dir']}",
        f"snapshot  {data['snapshot']} (written when the batch starts)",
        f"mayapy    {' '.join(data['mayapy'])}",  # type: ignore[arg-type]
        "workers:",
    ]
    for worker in data["workers"]:  # type: ignore[attr-defined]
        lines.append(f"  {worker['id']:<8} {worker['device']}")
    lines.append("frames per layer:")
    for layer, info in data["layers"].items():  # type: ignore[attr-defined]
        lines.append(f"  {layer:<20} {info['count']:>6}  {info['frames']}")
    lines.append(f"total     {data['frame_count']} frame(s); nothing was started (dry run)")
    for warning in data["warnings"]:  # type: ignore[attr-defined]
        lines.append(f"warning: {warning}")
    return "\n".join(lines) + "\n"


def _open_store(err: TextIO) -> object:
    from lrc_toolbox.config.batch_render_defaults import load_settings
    from lrc_toolbox.core.job_store import JobStore, JobStoreError

    settings = load_settings().settings
    try:
        store = JobStore(settings.job_store_path)
        store.find_interrupted()
    except JobStoreError as exc:
        print(f"error: {exc}", file=err)
        return None
    return store


def _cmd_history(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from lrc_toolbox.core.job_store import JobStore

    store = _open_store(err)
    if not isinstance(store, JobStore):
        return EXIT_ENVIRONMENT
    with store:
        records = store.list_batches(limit=max(1, args.limit))
    if args.json:
        json.dump([_batch_json(r) for r in records], out, indent=2)
        out.write("\n")
        return EXIT_OK
    if not records:
        out.write("no batches yet\n")
        return EXIT_OK
    out.write(f"{'batch':<22} {'started':<16} {'state':<11} {'done':>9} {'failed':>6}  scene\n")
    for r in records:
        done = r.counts.get(_state("done"), 0) + r.counts.get(_state("skipped"), 0)
        started = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created))
        out.write(
            f"{r.id:<22} {started:<16} {r.state.value:<11} {f'{done}/{r.total}':>9} "
            f"{r.counts.get(_state('failed'), 0):>6}  {r.scene}\n"
        )
    return EXIT_OK


def _state(name: str) -> FrameState:
    from lrc_toolbox.records.models import FrameState

    return FrameState(name)


def _batch_json(record: object) -> dict[str, object]:
    r = record
    return {
        "id": r.id,  # type: ignore[attr-defined]
        "created": r.created,  # type: ignore[attr-defined]
        "updated": r.updated,  # type: ignore[attr-defined]
        "state": r.state.value,  # type: ignore[attr-defined]
        "scene": r.scene,  # type: ignore[attr-defined]
        "snapshot": r.snapshot,  # type: ignore[attr-defined]
        "total": r.total,  # type: ignore[attr-defined]
        "counts": {k.value: v for k, v in r.counts.items()},  # type: ignore[attr-defined]
        "error": r.error,  # type: ignore[attr-defined]
        "config": r.config.to_dict(),  # type: ignore[attr-defined]
    }


def _cmd_status(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from lrc_toolbox.core.job_store import JobStore
    from lrc_toolbox.records.frame_parser import format_frames

    store = _open_store(err)
    if not isinstance(store, JobStore):
        return EXIT_ENVIRONMENT
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
    layers: dict[str, dict[str, list[int]]] = {}
    for f in frames:
        layers.setdefault(f.layer, {}).setdefault(f.state.value, []).append(f.frame)
    failed = [
        {"layer": f.layer, "frame": f.frame, "attempts": f.attempts, "error": f.error}
        for f in frames
        if f.state.value == "failed"
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
        json.dump(data, out, indent=2)
        out.write("\n")
        return EXIT_OK
    out.write(f"batch   {record.id}  {record.state.value}\n")
    out.write(f"scene   {record.scene}\n")
    if record.error:
        out.write(f"error   {record.error}\n")
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
        out.write(f"  worker {w['id']:<8} {w['state']:<9} {w['device']}  log: {w['log']}\n")
    if record.state.value in ("failed", "cancelled", "interrupted"):
        out.write(f"resume with: lrc-batch-render resume {record.id}\n")
    return EXIT_OK


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


COMMANDS = ("info", "frames", "layers", "render", "resume", "history", "status", *FARM_COMMANDS)


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
    if args.command in FARM_COMMANDS:
        return run_farm_command(args, out, err)
    parser.print_help(err)
    return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
