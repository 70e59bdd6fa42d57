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
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any, TextIO

from lrc_toolbox.farm import maya_session
from lrc_toolbox.farm.frames import FarmFrameError, parse_openjd_range_expr
from lrc_toolbox.records import protocol

EXIT_OK = 0
EXIT_FRAMES_FAILED = 1
EXIT_USAGE = 2
EXIT_WORKER = 3
EXIT_SILENT = 4

#: the folder that holds the ``lrc_toolbox`` package (put first on the worker's PYTHONPATH)
PACKAGE_ROOT = maya_session.PACKAGE_ROOT


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
    parser.add_argument(
        "--session-dir",
        help="send the frames to the Maya this OpenJD session keeps up there, when it is up",
    )
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
    return maya_session.worker_environment(base)


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
    session_dir: str | None = None,
) -> int:
    """Run ``frames`` of ``layer``; relay the worker's output; return the exit code.

    With ``session_dir``, the frames go to the session's Maya (:mod:`maya_session`) when
    one is up there; otherwise (or without it) this task starts its own worker.
    """
    out = sys.stdout if out is None else out
    print(f"lrc run_chunk: layer {layer}, frames {list(frames)}", file=out, flush=True)
    print(f"lrc run_chunk: lrc_toolbox from {PACKAGE_ROOT}", file=out, flush=True)
    fields: dict[str, Any] = {"layer": layer, "frames": list(frames)}
    if overrides:
        fields["overrides"] = overrides
    render = protocol.encode_command("render", **fields)
    if session_dir:
        opened = maya_session.connect(session_dir, render.strip())
        if opened is not None:
            conn, session = opened
            print(f"lrc run_chunk: sent to the session's Maya ({session_dir})", file=out)
            code = _session_chunk(conn, session, frames, frame_timeout, out)
            if code is not None:
                return code
            print("lrc run_chunk: the session's Maya is gone", file=out, flush=True)
        print(
            f"lrc run_chunk: no session Maya in {session_dir}; starting a worker for this task",
            file=out,
            flush=True,
        )
    command = [*mayapy, "-m", "lrc_toolbox.worker", *worker_args]
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
        return _relay(process, render, frames, frame_timeout, out)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _session_chunk(
    conn: socket.socket,
    session: dict[str, Any],
    frames: Sequence[int],
    frame_timeout: float,
    out: TextIO,
) -> int | None:
    """Judge a chunk rendered by the session's Maya: its lines end at the worker's next
    ``ready``; a silent or cancelled chunk stops that worker (later tasks start their own).
    ``None``: the session's worker was gone before it took the chunk (start one)."""

    def on_term(signum: int, _frame: Any) -> None:
        print(f"lrc run_chunk: cancelled (signal {signum}); stopping the worker", file=out)
        maya_session.kill_worker(session)
        sys.exit(128 + signum)

    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, on_term)
    lines: queue.Queue[str | None] = queue.Queue()
    stream = conn.makefile("rb")
    threading.Thread(target=maya_session.reader, args=(stream, lines), daemon=True).start()
    try:
        verdict = _judge(lines, frames, frame_timeout, out, greeted=True, until_ready=True)
        if verdict.silent:
            maya_session.kill_worker(session)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        # shut the socket first: the reader thread blocked in readline then sees the end
        # (closing the buffered stream under it would wait for its lock)
        try:
            conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        conn.close()
    if not (verdict.ready or verdict.silent or verdict.done or verdict.failed):
        return None
    return _verdict_code(verdict, frames, "the session's worker", out)


class _Verdict:
    def __init__(self) -> None:
        self.done: set[int] = set()
        self.failed: dict[int, str] = {}
        self.greeted = False
        self.silent = False
        #: the worker said ``ready`` (it took the command and is free again)
        self.ready = False
        self.code: int | None = None


def _judge(
    lines: queue.Queue[str | None],
    frames: Sequence[int],
    frame_timeout: float,
    out: TextIO,
    *,
    greeted: bool,
    until_ready: bool,
) -> _Verdict:
    """Relay the worker's lines and note its frame events (until the end of its output,
    or, ``until_ready``, its next ``ready``)."""
    verdict = _Verdict()
    verdict.greeted = greeted
    wanted = set(frames)
    while True:
        try:
            line = lines.get(timeout=frame_timeout)
        except queue.Empty:
            verdict.silent = True
            print(
                f"lrc run_chunk: the worker printed nothing for {frame_timeout:g} s; killing it",
                file=out,
                flush=True,
            )
            return verdict
        if line is None:
            return verdict
        out.write(line)
        out.flush()
        event = protocol.event_or_none(line)
        if event is None:
            continue
        if not verdict.greeted and event.name == "hello":
            try:
                protocol.check_hello(event)
            except protocol.ProtocolError as exc:
                print(f"lrc run_chunk: {exc}", file=out, flush=True)
                verdict.code = EXIT_WORKER
                return verdict
            verdict.greeted = True
        elif event.name == "frame_done" and event.get("frame") in wanted:
            verdict.done.add(event["frame"])
            verdict.failed.pop(event["frame"], None)
        elif event.name == "frame_failed" and event.get("frame") in wanted:
            verdict.failed[event["frame"]] = str(event.get("reason", ""))
        elif until_ready and event.name == "ready":
            verdict.ready = True
            return verdict


def _relay(
    process: subprocess.Popen[bytes],
    render: str,
    frames: Sequence[int],
    frame_timeout: float,
    out: TextIO,
) -> int:
    """Feed this task's own worker its commands, relay its output, and judge the chunk."""
    assert process.stdin is not None and process.stdout is not None
    try:
        process.stdin.write(render.encode())
        process.stdin.write(protocol.encode_command("quit").encode())
        process.stdin.close()
    except OSError:
        pass  # the worker died at once; its output says why
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=maya_session.reader, args=(process.stdout, lines), daemon=True).start()
    verdict = _judge(lines, frames, frame_timeout, out, greeted=False, until_ready=False)
    if verdict.code is not None:
        _stop(process)
        return verdict.code
    if verdict.silent:
        process.kill()
    code = process.wait()
    return _verdict_code(verdict, frames, f"the worker exited ({code})", out)


def _verdict_code(verdict: _Verdict, frames: Sequence[int], who: str, out: TextIO) -> int:
    if verdict.silent:
        return EXIT_SILENT
    if not verdict.greeted:
        print(
            f"lrc run_chunk: {who} before saying hello: Maya or the "
            "scene did not start; read the lines above",
            file=out,
        )
        return EXIT_WORKER
    done, failed = verdict.done, verdict.failed
    missing = [f for f in frames if f not in done and f not in failed]
    for frame, reason in failed.items():
        print(f"lrc run_chunk: frame {frame} failed: {reason}", file=out)
    if missing:
        print(f"lrc run_chunk: {who} without rendering frame(s) {missing}", file=out)
    if failed or missing:
        return EXIT_FRAMES_FAILED
    print(f"lrc run_chunk: {len(done)} frame(s) rendered", file=out, flush=True)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("session-start", "session-stop"):
        # the job environment's onEnter / onExit (the same bootstrap runs them)
        return maya_session.main(argv)
    args, worker_args = _parse_args(argv)
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
        session_dir=args.session_dir,
    )
    print(f"lrc run_chunk: exit {code} after {time.monotonic() - started:.1f} s", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
