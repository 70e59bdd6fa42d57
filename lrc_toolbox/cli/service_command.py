"""The command line's side of the local render service (issue 13): ``render`` / ``resume``
through it, ``--detach``, ``status --follow`` and ``lrc-batch-render service status|stop|
start``.

The service itself lives in :mod:`lrc_toolbox.service`; the CLI reaches it through
:class:`~lrc_toolbox.core.service_api.ServiceBatchAPI` (batches) and
:class:`~lrc_toolbox.service.client.ServiceClient` (the ``service`` commands).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from lrc_toolbox.records.batch import ExitCode

if TYPE_CHECKING:
    from lrc_toolbox.config.batch_render_defaults import Settings
    from lrc_toolbox.core.qtcore import QtCore
    from lrc_toolbox.core.service_api import ServiceBatchAPI
    from lrc_toolbox.records.service import ServiceBatch, ServiceState
    from lrc_toolbox.service.channel import ServiceInfo

__all__ = [
    "add_service_parser",
    "client_name",
    "follow_in_service",
    "live_service",
    "make_service_api",
    "run_service_command",
    "service_folder_problem",
    "submit_detached",
]

#: seconds ``service stop`` waits for an idle service to exit
STOP_WAIT_SECONDS = 15.0


def client_name() -> str:
    """How the service's log and ``service status`` name this command."""
    return f"lrc-batch-render {os.getpid()}"


def qt_app() -> QtCore.QCoreApplication:
    from lrc_toolbox.core.qtcore import QtCore

    return QtCore.QCoreApplication.instance() or QtCore.QCoreApplication(sys.argv[:1])


def service_folder_problem(settings: Settings) -> str | None:
    """Why the render service's folder (``<temp_root>/service``) cannot be used, or None.

    Checked before a service-backed command contacts the service, so a folder that is a
    file, another user's or cannot be made is one clear line (exit 3), not a traceback."""
    from lrc_toolbox.service.channel import service_dir

    temp_root = settings.resolved_temp_root()
    try:
        service_dir(temp_root)
    except OSError as exc:
        return (
            f"the render service cannot be used: its folder {Path(temp_root) / 'service'} "
            f"cannot be made private to you ({exc}); fix it or set temp_root "
            "(LRC_TEMP_ROOT), or render in this process (`render --foreground`)"
        )
    return None


def live_service(settings: Settings) -> ServiceInfo | None:
    """The render service that runs for ``settings``' temp root (its ``service.json``,
    its process alive), or None. Starts nothing, creates nothing."""
    from lrc_toolbox.core.batch_lock import process_alive
    from lrc_toolbox.service.channel import SERVICE_DIR_NAME, read_info

    folder = settings.resolved_temp_root() / SERVICE_DIR_NAME
    if not folder.is_dir():
        return None
    info = read_info(folder)
    if info is None or not process_alive(info.pid, info.started):
        return None
    return info


def make_service_api(
    settings: Settings, *, simulate: bool, verbose: bool = False
) -> ServiceBatchAPI:
    """The API of a command whose batch renders in the service (it attaches when it
    first asks: start and resume start a service when none runs)."""
    from lrc_toolbox.core.service_api import ServiceBatchAPI

    qt_app()
    return ServiceBatchAPI(
        settings,
        simulate=simulate,
        follow="own",
        attach=False,
        log_level="info" if verbose else "warning",
        client=client_name(),
    )


def _event_line(name: str, **fields: Any) -> str:
    return json.dumps({"event": name, "time": round(time.time(), 3), **fields})


def submit_detached(
    api: ServiceBatchAPI,
    starts: Sequence[Callable[[], str]],
    args: argparse.Namespace,
    out: TextIO,
    err: TextIO,
) -> int:
    """``render --detach`` / ``resume --detach``: hand each batch to the service, print its
    id (``batch_submitted`` with ``--json``) and return without following it.

    Raises:
        BatchError: from a start (the caller prints it).
    """
    try:
        for start in starts:
            batch_id = start()
            if args.json:
                out.write(_event_line("batch_submitted", batch_id=batch_id, queued=api.queued))
                out.write("\n")
                out.flush()
                continue
            where = f"the render service (pid {api.service_pid})"
            line = f"batch {batch_id} submitted to {where}"
            if api.queued:
                line += "; it waits for the batch before it"
            out.write(line + "\n")
            if not args.quiet:
                out.write(f"follow it with: lrc-batch-render status --follow {batch_id}\n")
            out.flush()
    finally:
        api.shutdown()
    return int(ExitCode.OK)


# ---------------------------------------------------------------------- status --follow


def follow_in_service(args: argparse.Namespace, out: TextIO, err: TextIO) -> int | None:
    """``status --follow [BATCH_ID]``: print the batch's events live from the render
    service (its replay first) until it finishes; returns its exit code. None when there
    is nothing to follow there (no service, or the batch is not running or waiting in
    it): said on stderr, and the caller prints the job store's status as ``status`` does.
    """
    from lrc_toolbox.cli.run_batch import run_batch
    from lrc_toolbox.config.batch_render_defaults import load_settings
    from lrc_toolbox.core.batch_render_api import BatchError
    from lrc_toolbox.service.client import ServiceUnavailable

    settings = load_settings().settings
    info = live_service(settings)
    if info is None:
        print("no render service runs: nothing to follow live", file=err)
        return None
    from lrc_toolbox.core.service_api import ServiceBatchAPI

    qt_app()
    api = ServiceBatchAPI(
        settings, simulate=info.simulate, follow="own", attach=False, client=client_name()
    )
    try:
        if not api.attach(start=False):
            print("no render service runs: nothing to follow live", file=err)
            return None
        state = api.service_state()
    except (ServiceUnavailable, BatchError) as exc:
        api.shutdown()
        print(f"error: {exc}", file=err)
        return int(ExitCode.ENVIRONMENT)
    batch = _batch_to_follow(state, args.batch_id)
    if batch is None:
        api.shutdown()
        which = f"batch {args.batch_id} is not" if args.batch_id else "no batch is"
        print(f"{which} running in the render service (pid {state.pid})", file=err)
        return None
    api.follow(batch.batch_id)
    if batch.status == "queued":
        print(
            f"batch {batch.batch_id} waits in the render service for the batch before it",
            file=err,
        )
    return run_batch(
        api,
        [lambda: batch.batch_id],
        out=out,
        err=err,
        as_json=args.json,
        on_interrupt="detach",
    )


def _batch_to_follow(state: ServiceState | None, prefix: str | None) -> ServiceBatch | None:
    """The running (or, named, the waiting) batch of the service that ``prefix`` names;
    no prefix: the running one."""
    if state is None:
        return None
    live = [b for b in state.batches if b.status in ("running", "queued")]
    if prefix:
        matches = [b for b in live if b.batch_id.startswith(prefix)]
        return matches[0] if len(matches) == 1 else None
    return next((b for b in live if b.status == "running"), None)


# ---------------------------------------------------------------------- service ...


def add_service_parser(sub: Any) -> None:
    """``lrc-batch-render service status|stop|start``."""
    service = sub.add_parser(
        "service",
        help="the local render service: status, stop, start",
        description=(
            "The local render service runs the batches of render/resume (and Maya's "
            "dashboard) in a process of its own, so they survive a Maya crash or a closed "
            "terminal. It starts on demand and exits when idle."
        ),
    )
    actions = service.add_subparsers(dest="service_command", metavar="ACTION", required=True)
    status = actions.add_parser(
        "status",
        help="pid, version, clients and batches of the running service",
        description="Show the running render service: pid, version, clients, batches.",
    )
    status.add_argument("--json", action="store_true", help="print JSON")
    stop = actions.add_parser(
        "stop",
        help="make the service exit once its batches are done (--kill: stop them first)",
        description=(
            "Ask the render service to exit. It exits once no batch runs or waits; with "
            "--kill it stops the running batch first (its frames stay resumable) and drops "
            "the waiting ones (they stay pending: resume them)."
        ),
    )
    stop.add_argument(
        "--kill", action="store_true", help="stop the running batch and the queue first"
    )
    start = actions.add_parser(
        "start",
        help="start a service if none runs; print its pid",
        description="Start the render service if none runs, and print its pid.",
    )
    start.add_argument("--simulate", action="store_true", help="simulated mayapy workers")


def run_service_command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from lrc_toolbox.config.batch_render_defaults import load_settings

    loaded = load_settings()
    for warning in loaded.warnings:
        print(f"warning: {warning}", file=err)
    settings = loaded.settings
    problem = service_folder_problem(settings)
    if problem is not None:
        print(f"error: {problem}", file=err)
        return int(ExitCode.ENVIRONMENT)
    if args.service_command == "start":
        return _service_start(settings, args, out, err)
    info = live_service(settings)
    if info is None:
        if args.service_command == "status" and args.json:
            json.dump({"running": False}, out)
            out.write("\n")
        print(f"no render service runs for {settings.resolved_temp_root()}", file=err)
        return int(ExitCode.OK)
    if args.service_command == "status":
        return _service_status(settings, info, args, out, err)
    return _service_stop(settings, info, args, out, err)


def _ask(settings: Settings, info: ServiceInfo, op: Any, err: TextIO, **fields: Any) -> Any:
    """One request to the running service; None (after saying why) when it cannot be
    asked, or it has gone meanwhile."""
    from lrc_toolbox.service.client import ServiceClient, ServiceUnavailable

    try:
        client = ServiceClient.attach(
            settings, simulate=info.simulate, client=client_name(), start=False
        )
        if client is None:
            print(f"no render service runs for {settings.resolved_temp_root()}", file=err)
            return None
        try:
            return client.request(op, **fields)
        finally:
            client.close()
    except ServiceUnavailable as exc:
        print(f"error: {exc}", file=err)
        return None


def _service_status(
    settings: Settings, info: ServiceInfo, args: argparse.Namespace, out: TextIO, err: TextIO
) -> int:
    from lrc_toolbox.records.service import Op

    reply = _ask(settings, info, Op.STATUS, err)
    if reply is None or reply.state is None:
        return int(ExitCode.ENVIRONMENT)
    state = reply.state
    state.clients = max(0, state.clients - 1)  # this command's own connection
    if args.json:
        json.dump({"running": True, **state.to_dict()}, out, indent=2)
        out.write("\n")
        return int(ExitCode.OK)
    out.write(format_service_state(state, settings.resolved_temp_root()))
    return int(ExitCode.OK)


def format_service_state(state: ServiceState, temp_root: Path) -> str:
    """The human view of ``service status``."""
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(state.started))
    kind = ", simulated workers" if state.simulate else ""
    lines = [
        f"render service  pid {state.pid}, lrc_toolbox {state.version}{kind}",
        f"started         {started} ({_ago(time.time() - state.started)} ago)",
        f"folder          {temp_root / 'service'}",
        f"clients         {state.clients} attached besides this command",
    ]
    if not state.batches:
        lines.append("batches         none since it started")
    else:
        lines.append("batches:")
    for batch in state.batches:
        counts = ""
        summary = batch.summary
        if summary is not None:
            done = summary.done + summary.skipped
            counts = f"{done}/{summary.total} done"
            if summary.failed:
                counts += f", {summary.failed} failed"
            if batch.status == "finished":
                counts = f"{summary.state.value}: {counts}"
        who = f"  (from {batch.client})" if batch.client else ""
        lines.append(
            f"  {batch.status:<9} {batch.batch_id:<22} {counts:<24} {batch.scene}{who}".rstrip()
        )
    return "\n".join(lines) + "\n"


def _ago(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def _wait_gone(info: ServiceInfo, timeout: float) -> bool:
    from lrc_toolbox.core.batch_lock import process_alive

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process_alive(info.pid, info.started):
            return True
        time.sleep(0.1)
    return not process_alive(info.pid, info.started)


def _service_stop(
    settings: Settings, info: ServiceInfo, args: argparse.Namespace, out: TextIO, err: TextIO
) -> int:
    from lrc_toolbox.records.service import Op

    reply = _ask(settings, info, Op.SHUTDOWN, err, kill=args.kill)
    if reply is None:
        return int(ExitCode.ENVIRONMENT)
    state = reply.state
    busy = [b for b in (state.batches if state else []) if b.status in ("running", "queued")]
    if busy and not args.kill:
        names = ", ".join(f"{b.batch_id} ({b.status})" for b in busy)
        out.write(
            f"the render service (pid {info.pid}) exits once its batches are done: {names}; "
            "`lrc-batch-render service stop --kill` stops them now (resumable)\n"
        )
        return int(ExitCode.OK)
    if busy:
        out.write(
            f"stopping batch(es) {', '.join(b.batch_id for b in busy)} in the render service "
            f"(pid {info.pid}); resume them later with lrc-batch-render resume BATCH_ID\n"
        )
        out.flush()
    timeout = STOP_WAIT_SECONDS + (settings.stop_grace_seconds * 3 if busy else 0)
    if _wait_gone(info, timeout):
        out.write(f"render service {info.pid} stopped\n")
        return int(ExitCode.OK)
    print(
        f"error: the render service (pid {info.pid}) was asked to stop and still runs after "
        f"{timeout:.0f} s; see {settings.resolved_temp_root() / 'service' / 'service.log'}",
        file=err,
    )
    return int(ExitCode.ENVIRONMENT)


def _service_start(settings: Settings, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from lrc_toolbox.service.client import ServiceClient, ServiceUnavailable

    info = live_service(settings)
    if info is not None:
        out.write(f"a render service already runs: pid {info.pid}\n")
        return int(ExitCode.OK)
    try:
        client = ServiceClient.attach(
            settings, simulate=args.simulate, client=client_name(), start=True
        )
    except ServiceUnavailable as exc:
        print(f"error: {exc}", file=err)
        return int(ExitCode.ENVIRONMENT)
    assert client is not None
    pid = client.welcome.service_pid
    client.close()
    idle = settings.service_idle_seconds
    out.write(f"render service started: pid {pid} (it exits after {idle:g} s with nothing to do)\n")
    return int(ExitCode.OK)
