"""``lrc-batch-render``: the command line of the batch render manager.

Also runs as ``python -m lrc_toolbox.cli.batch_render_cli`` and, inside Maya's own
interpreter, ``mayapy -m lrc_toolbox.cli.batch_render_cli``.

Exit codes: 0 success, 2 bad input (the message says what and where), 3 environment
problem. Later subcommands add 1 (some frames failed) and 130 (interrupted).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from typing import TextIO

from lrc_toolbox import __version__

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


def _add_render_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scene", required=True, help="the Maya scene (.ma, or .mb with mayapy)")
    parser.add_argument(
        "--layers",
        default="all",
        help="layer names, comma separated, or 'all' for every renderable layer (default)",
    )
    parser.add_argument(
        "--frames", default="", help="frame list, e.g. '1-24' or '1-100x5' (default: the scene's)"
    )
    parser.add_argument("--output", help="output folder (default: the project's images folder)")
    parser.add_argument("--renderer", help="render with this renderer instead of the scene's")
    parser.add_argument("--camera", help="render this camera instead of the renderable ones")
    parser.add_argument("--image-prefix", help="image file prefix, e.g. '<Scene>/<RenderLayer>'")
    devices = parser.add_mutually_exclusive_group()
    devices.add_argument(
        "--gpus", type=_gpu_list, help="GPU indices to render on, e.g. '1,2' (default: all free)"
    )
    devices.add_argument("--cpu", action="store_true", help="render on the CPU")
    parser.add_argument("--threads", type=int, help="CPU threads per worker (with --cpu)")
    parser.add_argument("--processes-per-gpu", type=int, default=1, metavar="N")
    parser.add_argument("--chunk-size", type=int, default=1, metavar="N")
    parser.add_argument(
        "--order", choices=("sequential", "preview-first"), default="sequential", help="frame order"
    )
    parser.add_argument("--max-attempts", type=int, default=3, metavar="N")
    parser.add_argument(
        "--frame-timeout",
        type=float,
        default=1800.0,
        metavar="SECONDS",
        help="kill a worker that prints nothing for this long (default 1800)",
    )
    parser.add_argument("--skip-existing", action="store_true", help="skip frames already on disk")
    parser.add_argument("--mayapy", help="path of mayapy (default: found automatically)")
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
    from lrc_toolbox.core.models import SystemInfo

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
    from lrc_toolbox.utils.frame_parser import FrameRangeError, parse_frames, preview_frames

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
    from lrc_toolbox.scene.description import SceneDescription
    from lrc_toolbox.utils.frame_parser import format_frames

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


def _config_from_args(args: argparse.Namespace) -> object:
    from lrc_toolbox.core.models import FrameOrder, RenderConfig

    layers = (
        []
        if args.layers.strip().lower() == "all"
        else [name.strip() for name in args.layers.split(",") if name.strip()]
    )
    return RenderConfig(
        scene=args.scene,
        layers=layers,
        frames=args.frames,
        renderer=args.renderer,
        camera=args.camera,
        output_dir=args.output,
        image_prefix=args.image_prefix,
        gpus=args.gpus,
        processes_per_gpu=args.processes_per_gpu,
        cpu_mode=args.cpu,
        cpu_threads=args.threads,
        chunk_size=args.chunk_size,
        frame_order=FrameOrder(args.order),
        max_attempts=args.max_attempts,
        frame_timeout=args.frame_timeout,
        skip_existing=args.skip_existing,
        mayapy=args.mayapy,
    )


def _cmd_run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from lrc_toolbox.cli.run_batch import run_batch
    from lrc_toolbox.config.batch_render_defaults import load_settings
    from lrc_toolbox.core.batch_render_api import BatchError, BatchRenderAPI
    from lrc_toolbox.core.models import RenderConfig

    loaded = load_settings()
    for warning in loaded.warnings:
        print(f"warning: {warning}", file=err)
    api = BatchRenderAPI(loaded.settings, simulate=args.simulate)
    if args.command == "render":
        config = _config_from_args(args)
        assert isinstance(config, RenderConfig)

        def start() -> str:
            return api.start_batch_render(config)
    else:

        def start() -> str:
            return api.resume(args.batch_id)

    try:
        return run_batch(
            api, start, out=out, err=err, as_json=args.json, verbose=args.verbose, quiet=args.quiet
        )
    except BatchError as exc:
        if args.json:
            out.write(
                json.dumps({"event": "error", "message": str(exc), "exit_code": exc.exit_code})
            )
            out.write("\n")
        print(f"error: {exc}", file=err)
        return exc.exit_code


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


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
    args = parser.parse_args(_protect_negative_frames(list(sys.argv[1:] if argv is None else argv)))
    out, err = sys.stdout, sys.stderr
    if args.command == "info":
        return _cmd_info(args, out, err)
    if args.command == "frames":
        return _cmd_frames(args, out, err)
    if args.command == "layers":
        return _cmd_layers(args, out, err)
    if args.command in ("render", "resume"):
        return _cmd_run(args, out, err)
    parser.print_help(err)
    return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
