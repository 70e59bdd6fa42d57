"""Render one farm task (a chunk of frames of one layer) with the lrc_toolbox worker.

An OpenJD step runs, per task::

    mayapy <bootstrap.py> <lrc_toolbox folder> --mayapy <mayapy> --layer BG --frames 1-10 \\
        -- --scene <scene> --scene-name shot010 --output-dir <images> --device gpu

(see :mod:`lrc_toolbox.farm.openjd`). This module is what the bootstrap calls. It starts the
SAME worker the local engine starts (``mayapy -m lrc_toolbox.worker ...``), sends it one
``render`` command with the chunk's frames and then ``quit`` (the protocol of
``docs/simulator.md``), relays every line the worker prints to its own stdout (so the farm's
task log shows the renderer's lines and the ``@lrc`` events, exactly as a local batch would)
and exits:

- 0 when every frame of the chunk is ``frame_done`` (or skipped because it exists);
- 1 when a frame failed or was never reported (the worker died, a fatal error);
- 2 for bad arguments; 3 when the worker could not be started or spoke another protocol;
- 4 when the worker printed nothing for ``--frame-timeout`` seconds (its tree is killed).

It runs inside mayapy (Python 3 in Maya 2022+), so it uses the standard library and this
package's pure-Python modules only. On SIGTERM (OpenJD's ``NOTIFY_THEN_TERMINATE``
cancelation) it stops the worker and exits.
"""

from __future__ import annotations

import argparse
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any, TextIO

from lrc_toolbox.farm.frames import FarmFrameError, parse_openjd_range_expr
from lrc_toolbox.records import protocol

EXIT_OK = 0
EXIT_FRAMES_FAILED = 1
EXIT_USAGE = 2
EXIT_WORKER = 3
EXIT_SILENT = 4

#: the folder that holds the ``lrc_toolbox`` package (put first on the worker's PYTHONPATH)
PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _parse_args(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    args = list(argv)
    worker_args: list[str] = []
    if "--" in args:
        cut = args.index("--")
        args, worker_args = args[:cut], args[cut + 1 :]
    parser = argparse.ArgumentParser(
        prog="python -m lrc_toolbox.farm.run_chunk",
        description="Render a chunk of frames of one layer with the lrc_toolbox worker.",
    )
    parser.add_argument("--mayapy", default=sys.executable, help="mayapy that runs the worker")
    parser.add_argument("--layer", required=True, help="render layer (name or node)")
    parser.add_argument("--frames", required=True, help="OpenJD range expression, e.g. 1-10")
    parser.add_argument("--camera", help="render this camera instead of the renderable ones")
    parser.add_argument("--image-prefix", help="image file prefix override")
    parser.add_argument("--skip-existing", action="store_true", help="skip frames on disk")
    parser.add_argument(
        "--frame-timeout",
        type=float,
        default=1800.0,
        help="kill the worker when it prints nothing for this many seconds",
    )
    return parser.parse_args(args), worker_args


def worker_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """The worker's environment: this package first on PYTHONPATH, unbuffered output."""
    env = dict(os.environ if base is None else base)
    existing = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != PACKAGE_ROOT]
    env["PYTHONPATH"] = os.pathsep.join([PACKAGE_ROOT, *existing])
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _reader(stream: Any, lines: queue.Queue[str | None]) -> None:
    for raw in iter(stream.readline, b""):
        lines.put(raw.decode("utf-8", errors="replace"))
    lines.put(None)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run_chunk(
    mayapy: Sequence[str],
    layer: str,
    frames: Sequence[int],
    worker_args: Sequence[str],
    *,
    overrides: dict[str, Any] | None = None,
    frame_timeout: float = 1800.0,
    out: TextIO | None = None,
    env: dict[str, str] | None = None,
) -> int:
    """Run the worker for ``frames`` of ``layer``; relay its output; return the exit code."""
    out = sys.stdout if out is None else out
    command = [*mayapy, "-m", "lrc_toolbox.worker", *worker_args]
    print(f"lrc run_chunk: layer {layer}, frames {list(frames)}", file=out, flush=True)
    print(f"lrc run_chunk: {' '.join(command)}", file=out, flush=True)
    try:
        process = subprocess.Popen(  # noqa: S603 - an argument list, never a shell
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=worker_environment(env),
        )
    except OSError as exc:
        print(f"lrc run_chunk: cannot start the worker ({exc}): check --mayapy", file=out)
        return EXIT_WORKER

    def on_term(signum: int, _frame: Any) -> None:
        print(f"lrc run_chunk: cancelled (signal {signum}); stopping the worker", file=out)
        _stop(process)
        sys.exit(128 + signum)

    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, on_term)
    try:
        return _relay(process, layer, frames, overrides, frame_timeout, out)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _relay(
    process: subprocess.Popen[bytes],
    layer: str,
    frames: Sequence[int],
    overrides: dict[str, Any] | None,
    frame_timeout: float,
    out: TextIO,
) -> int:
    """Feed the worker its commands, relay its output, and judge the chunk."""
    fields: dict[str, Any] = {"layer": layer, "frames": list(frames)}
    if overrides:
        fields["overrides"] = overrides
    assert process.stdin is not None and process.stdout is not None
    try:
        process.stdin.write(protocol.encode_command("render", **fields).encode())
        process.stdin.write(protocol.encode_command("quit").encode())
        process.stdin.close()
    except OSError:
        pass  # the worker died at once; its output says why
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_reader, args=(process.stdout, lines), daemon=True).start()

    wanted = set(frames)
    done: set[int] = set()
    failed: dict[int, str] = {}
    greeted = False
    silent = False
    while True:
        try:
            line = lines.get(timeout=frame_timeout)
        except queue.Empty:
            silent = True
            print(
                f"lrc run_chunk: the worker printed nothing for {frame_timeout:g} s; killing it",
                file=out,
                flush=True,
            )
            process.kill()
            break
        if line is None:
            break
        out.write(line)
        out.flush()
        event = protocol.event_or_none(line)
        if event is None:
            continue
        if not greeted and event.name == "hello":
            try:
                protocol.check_hello(event)
            except protocol.ProtocolError as exc:
                print(f"lrc run_chunk: {exc}", file=out, flush=True)
                _stop(process)
                return EXIT_WORKER
            greeted = True
        elif event.name == "frame_done" and event.get("frame") in wanted:
            done.add(event["frame"])
            failed.pop(event["frame"], None)
        elif event.name == "frame_failed" and event.get("frame") in wanted:
            failed[event["frame"]] = str(event.get("reason", ""))
    code = process.wait()
    if silent:
        return EXIT_SILENT
    if not greeted:
        print(
            f"lrc run_chunk: the worker exited ({code}) before saying hello: Maya or the "
            "scene did not start; read the lines above",
            file=out,
        )
        return EXIT_WORKER
    missing = [f for f in frames if f not in done and f not in failed]
    for frame, reason in failed.items():
        print(f"lrc run_chunk: frame {frame} failed: {reason}", file=out)
    if missing:
        print(
            f"lrc run_chunk: the worker exited ({code}) without rendering frame(s) {missing}",
            file=out,
        )
    if failed or missing:
        return EXIT_FRAMES_FAILED
    print(f"lrc run_chunk: {len(done)} frame(s) rendered", file=out, flush=True)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args, worker_args = _parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        frames = parse_openjd_range_expr(args.frames)
    except FarmFrameError as exc:
        print(f"lrc run_chunk: bad --frames: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not worker_args:
        print("lrc run_chunk: give the worker's arguments after '--'", file=sys.stderr)
        return EXIT_USAGE
    overrides: dict[str, Any] = {}
    if args.camera:
        overrides["camera"] = args.camera
    if args.image_prefix:
        overrides["image_prefix"] = args.image_prefix
    if args.skip_existing:
        overrides["skip_existing"] = True
    started = time.monotonic()
    code = run_chunk(
        [args.mayapy],
        args.layer,
        frames,
        worker_args,
        overrides=overrides,
        frame_timeout=args.frame_timeout,
    )
    print(f"lrc run_chunk: exit {code} after {time.monotonic() - started:.1f} s", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
