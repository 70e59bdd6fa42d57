"""One Maya per Open Job Description session: start the worker once, send it every task.

The job template's job environment runs, in ``onEnter``::

    mayapy <bootstrap> <lrc_toolbox folder> session-start --session-dir <Session.WorkingDirectory>
        --mayapy <mayapy> -- <worker arguments>

which starts a small detached BROKER (``mayapy -m lrc_toolbox.farm.maya_session serve``,
its output in ``lrc_maya_session.log``). The broker starts ``mayapy -m lrc_toolbox.worker``
(the scene opened once, path mapping applied), waits for its ``hello`` and first ``ready``,
then listens on a localhost TCP port and writes ``lrc_maya_session.json`` (port, a random
token, the pids). ``session-start`` returns 0 once that file exists, or 3 (with the log)
when Maya or the scene did not start.

Each task (:mod:`lrc_toolbox.farm.run_chunk` with ``--session-dir``) connects, sends one
protocol ``render`` command and reads the worker's lines back until the worker's next
``ready``: the chunk is over. ``onExit`` runs ``session-stop``: ``quit`` to the worker, then
the broker exits. This is how the Deadline Cloud Maya adaptor keeps Maya up across a
session's tasks (deadline-cloud-for-maya's template: a step environment whose ``onEnter``
runs ``MayaAdaptor daemon start`` and ``onExit`` ``daemon stop``; openjd-adaptor-runtime's
background daemon talks to it through a socket).

A task that finds no live session Maya (the broker died, or the file is missing) starts its
own worker for its chunk, as before, and says so in its log.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from lrc_toolbox.records import protocol

SESSION_FILE = "lrc_maya_session.json"
LOG_FILE = "lrc_maya_session.log"
EXIT_OK = 0
EXIT_USAGE = 2
EXIT_WORKER = 3
#: seconds ``session-stop`` waits for the worker to quit before killing it
STOP_WAIT_SECONDS = 120.0
#: how often an idle broker checks that its session and its worker still exist
ORPHAN_CHECK_SECONDS = 5.0

PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def worker_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for the broker and the worker: this package first on PYTHONPATH."""
    env = dict(os.environ if base is None else base)
    existing = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != PACKAGE_ROOT]
    env["PYTHONPATH"] = os.pathsep.join([PACKAGE_ROOT, *existing])
    env["PYTHONUNBUFFERED"] = "1"
    return env


def reader(stream: Any, lines: queue.Queue[str | None]) -> None:
    """Put each line of a binary stream on ``lines``; ``None`` at the end."""
    try:
        for raw in iter(stream.readline, b""):
            lines.put(raw.decode("utf-8", errors="replace"))
    except OSError:
        pass
    lines.put(None)


def read_session(session_dir: str) -> dict[str, Any] | None:
    """The live session's ``{port, token, broker_pid, worker_pid}``, or ``None``."""
    try:
        data = json.loads(Path(session_dir, SESSION_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and "port" in data and "token" in data else None


def connect(session_dir: str, command: str) -> tuple[socket.socket, dict[str, Any]] | None:
    """Send one protocol command line to the session's worker; returns the connection (its
    replies follow: the worker's lines) and the session, or ``None`` when no session Maya
    answers."""
    session = read_session(session_dir)
    if session is None:
        return None
    try:
        conn = socket.create_connection(("127.0.0.1", int(session["port"])), timeout=30)
        header = json.dumps({"token": session["token"], "command": command}) + "\n"
        conn.sendall(header.encode("utf-8"))
        conn.settimeout(None)
    except OSError:
        return None
    return conn, session


# --------------------------------------------------------------------------- start / stop


def start(
    session_dir: str, mayapy: str, worker_args: Sequence[str], out: TextIO | None = None
) -> int:
    """Start the broker and the worker; return when the worker is ready (0) or failed (3)."""
    out = sys.stdout if out is None else out
    folder = Path(session_dir)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / SESSION_FILE).unlink(missing_ok=True)
    log_path = folder / LOG_FILE
    # the broker runs in mayapy too: a worker needs nothing but Maya
    command = [mayapy, "-m", "lrc_toolbox.farm.maya_session", "serve"]
    command += ["--session-dir", str(folder), "--mayapy", mayapy, "--", *worker_args]
    print(f"lrc session: starting one Maya for this session: {mayapy}", file=out, flush=True)
    detach: dict[str, Any] = {}
    if os.name == "nt":
        detach["creationflags"] = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0) | getattr(
            subprocess, "DETACHED_PROCESS", 0
        )
    else:
        detach["start_new_session"] = True
    with open(log_path, "ab") as log:
        try:
            broker = subprocess.Popen(  # noqa: S603 - an argument list, never a shell
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=worker_environment(),
                cwd=str(folder),
                **detach,
            )
        except OSError as exc:
            print(
                f"lrc session: cannot start {mayapy} ({exc}): check --mayapy", file=out, flush=True
            )
            return EXIT_WORKER

    def on_term(signum: int, _frame: Any) -> None:
        # cancelled while Maya starts: leave nothing running behind the session
        print(f"lrc session: cancelled (signal {signum}); stopping Maya", file=out, flush=True)
        _kill(broker.pid)
        _kill((read_session(str(folder)) or {}).get("worker_pid"))
        sys.exit(128 + signum)

    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, on_term)
    try:
        return _wait_ready(folder, broker, log_path, out)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _wait_ready(folder: Path, broker: subprocess.Popen[bytes], log_path: Path, out: TextIO) -> int:
    shown = 0
    while True:
        shown = _show_log(log_path, shown, out)
        if read_session(str(folder)) is not None:
            _show_log(log_path, shown, out)
            print("lrc session: Maya is up; tasks send their frames to it", file=out, flush=True)
            return EXIT_OK
        if broker.poll() is not None:
            _show_log(log_path, shown, out)
            print(
                f"lrc session: Maya or the scene did not start (exit {broker.returncode}); "
                "read the lines above",
                file=out,
                flush=True,
            )
            return EXIT_WORKER
        time.sleep(0.05)


def _show_log(path: Path, offset: int, out: TextIO) -> int:
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            data = handle.read()
    except OSError:
        return offset
    # only whole lines; the rest is shown next time
    cut = data.rfind(b"\n") + 1
    if cut:
        out.write(data[:cut].decode("utf-8", errors="replace"))
        out.flush()
    return offset + cut


def stop(session_dir: str, out: TextIO | None = None) -> int:
    """Quit the session's worker and let the broker exit (always 0: leaving never fails)."""
    out = sys.stdout if out is None else out
    session = read_session(session_dir)
    if session is None:
        print("lrc session: no session Maya to stop", file=out, flush=True)
        return EXIT_OK
    opened = connect(session_dir, protocol.encode_command("quit").strip())
    quitted = False
    if opened is not None:
        conn, _ = opened
        conn.settimeout(STOP_WAIT_SECONDS)
        try:
            with conn.makefile("rb") as stream:
                for raw in iter(stream.readline, b""):
                    out.write(raw.decode("utf-8", errors="replace"))
            quitted = True  # the broker closes the connection once the worker has exited
        except OSError:
            pass
        finally:
            conn.close()
    if not quitted:
        # no answer, or none in time: stop them (a broker that exits removes the file, so
        # these pids are still the session's own)
        print("lrc session: Maya did not quit; stopping it", file=out, flush=True)
        for key in ("worker_pid", "broker_pid"):
            _kill(session.get(key))
    Path(session_dir, SESSION_FILE).unlink(missing_ok=True)
    print("lrc session: Maya stopped", file=out, flush=True)
    return EXIT_OK


def _kill(pid: Any) -> None:
    if not isinstance(pid, int) or pid <= 0:
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except OSError:
        pass  # already gone


def kill_worker(session: dict[str, Any]) -> None:
    """Stop the session's worker (a silent or cancelled chunk); the broker then exits."""
    _kill(session.get("worker_pid"))


# --------------------------------------------------------------------------- the broker


def serve(session_dir: str, mayapy: str, worker_args: Sequence[str]) -> int:
    """Run the worker and hand it the tasks' commands (its output goes to our stdout, the
    session log, and to the task that sent the command)."""
    folder = Path(session_dir)
    command = [mayapy, "-m", "lrc_toolbox.worker", *worker_args]
    print(f"lrc session: {' '.join(command)}", flush=True)
    try:
        process = subprocess.Popen(  # noqa: S603 - an argument list, never a shell
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=worker_environment(),
        )
    except OSError as exc:
        print(f"lrc session: cannot start the worker ({exc}): check the Mayapy parameter")
        return EXIT_WORKER
    assert process.stdin is not None and process.stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=reader, args=(process.stdout, lines), daemon=True).start()
    greeted = False
    while True:
        line = lines.get()
        if line is None:
            print(f"lrc session: the worker exited ({process.wait()}) before it was ready")
            return EXIT_WORKER
        sys.stdout.write(line)
        sys.stdout.flush()
        event = protocol.event_or_none(line)
        if event is None:
            continue
        if event.name == "hello":
            try:
                protocol.check_hello(event)
            except protocol.ProtocolError as exc:
                print(f"lrc session: {exc}")
                process.kill()
                return EXIT_WORKER
            greeted = True
        elif event.name == "ready" and greeted:
            break
    server = socket.create_server(("127.0.0.1", 0))
    token = secrets.token_hex(16)
    info = {
        "port": server.getsockname()[1],
        "token": token,
        "broker_pid": os.getpid(),
        "worker_pid": process.pid,
    }
    staging = folder / (SESSION_FILE + ".tmp")
    staging.write_text(json.dumps(info), encoding="utf-8")
    os.replace(staging, folder / SESSION_FILE)
    try:
        return _serve_tasks(folder, server, token, process, lines)
    finally:
        server.close()
        (folder / SESSION_FILE).unlink(missing_ok=True)
        if process.poll() is None:
            process.kill()


def _serve_tasks(
    folder: Path,
    server: socket.socket,
    token: str,
    process: subprocess.Popen[bytes],
    lines: queue.Queue[str | None],
) -> int:
    assert process.stdin is not None
    server.settimeout(ORPHAN_CHECK_SECONDS)
    while True:
        try:
            conn, _ = server.accept()
        except TimeoutError:
            if not folder.is_dir() or process.poll() is not None:
                # the session ended without onExit (its folder is gone), or Maya died
                print("lrc session: the session or its worker is gone; exiting", flush=True)
                return EXIT_WORKER
            continue
        conn.settimeout(None)
        with conn:
            try:
                header = json.loads(conn.makefile("rb").readline().decode("utf-8"))
                command = str(header["command"]).strip() + "\n"
                if header.get("token") != token:
                    continue
                op = protocol.decode_command(command).op
            except (OSError, ValueError, KeyError, TypeError, protocol.ProtocolError):
                continue
            try:
                process.stdin.write(command.encode("utf-8"))
                if op == "quit":
                    process.stdin.close()
                else:
                    process.stdin.flush()
            except OSError:
                return EXIT_WORKER
            ended = _relay(conn, lines, until_ready=op != "quit")
            if ended or op == "quit":
                code = process.wait()
                print(f"lrc session: the worker exited ({code})", flush=True)
                return EXIT_OK if op == "quit" else EXIT_WORKER


def _relay(conn: socket.socket, lines: queue.Queue[str | None], until_ready: bool) -> bool:
    """Pass the worker's lines to the task until its next ``ready``; True: the worker ended."""
    connected = True
    while True:
        line = lines.get()
        if line is None:
            return True
        sys.stdout.write(line)
        sys.stdout.flush()
        if connected:
            try:
                conn.sendall(line.encode("utf-8"))
            except OSError:
                connected = False  # the task went away; keep the worker in step anyway
        event = protocol.event_or_none(line)
        if until_ready and event is not None and event.name == "ready":
            return False


# --------------------------------------------------------------------------- command line


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    worker_args: list[str] = []
    if "--" in args:
        cut = args.index("--")
        args, worker_args = args[:cut], args[cut + 1 :]
    parser = argparse.ArgumentParser(
        prog="python -m lrc_toolbox.farm.maya_session",
        description="Keep one lrc_toolbox worker (one Maya) up for an OpenJD session.",
    )
    parser.add_argument("action", choices=("session-start", "session-stop", "serve"))
    parser.add_argument("--session-dir", required=True, help="the session's working folder")
    parser.add_argument("--mayapy", default=sys.executable, help="mayapy that runs the worker")
    try:
        parsed = parser.parse_args(args)
    except SystemExit as exc:
        return EXIT_USAGE if exc.code else EXIT_OK
    if parsed.action == "session-stop":
        return stop(parsed.session_dir)
    if not worker_args:
        print("lrc session: give the worker's arguments after '--'", file=sys.stderr)
        return EXIT_USAGE
    if parsed.action == "session-start":
        return start(parsed.session_dir, parsed.mayapy, worker_args)
    return serve(parsed.session_dir, parsed.mayapy, worker_args)


if __name__ == "__main__":
    sys.exit(main())
