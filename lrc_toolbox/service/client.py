"""Find, start and talk to the local render service. Standard library only: no Qt, so the
command line, the Python API and Nuke can use it as they are.

:meth:`ServiceClient.attach` connects to the service of the user's temp root, starting one
(detached: it outlives the caller, Maya included) when none runs or the one recorded has
died. Requests are answered in order; the service's events arrive on a reader thread and
wait in :attr:`ServiceClient.events` until the caller takes them, so a GUI thread reads them
when it chooses (the dashboard's timer) and never waits for the socket.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from lrc_toolbox import __version__
from lrc_toolbox.config.batch_render_defaults import Settings, settings_env
from lrc_toolbox.core.batch_lock import process_alive
from lrc_toolbox.records.service import (
    PROTOCOL,
    ChannelError,
    EventBatch,
    Hello,
    Op,
    Refused,
    Reply,
    Request,
    Welcome,
    decode,
    encode,
)
from lrc_toolbox.service.channel import (
    LOG_FILE,
    ServiceInfo,
    connect,
    hang_up,
    read_info,
    read_token,
    service_dir,
)

__all__ = [
    "PACKAGE_ROOT",
    "START_TIMEOUT",
    "ServiceClient",
    "ServiceRefused",
    "ServiceUnavailable",
    "service_command",
    "start_service",
]

#: the folder that holds the lrc_toolbox package (put on the service's PYTHONPATH)
PACKAGE_ROOT = Path(__file__).resolve().parents[2]
#: seconds a freshly started service has to listen
START_TIMEOUT = 30.0
#: seconds a service has to answer a hello
HELLO_TIMEOUT = 10.0
#: the variable that marks a render worker (never inherited by the service)
_WORKER_ENV = "LRC_WORKER_ID"


class ServiceUnavailable(RuntimeError):
    """No render service could be reached or started; the message says why and what to do."""


class ServiceRefused(ServiceUnavailable):
    """The service answered and would not talk to this client (another user's token, another
    version, another kind of workers); the message is the service's reason."""


def service_python(settings: Settings, *, simulate: bool) -> str:
    """The Python that runs the service: this one, except inside the Maya GUI, whose
    executable is Maya itself: then its mayapy."""
    name = os.path.basename(sys.executable).lower()
    if simulate or not name.startswith("maya") or name.startswith("mayapy"):
        return sys.executable
    from lrc_toolbox.utils.render_subprocess import find_mayapy

    return find_mayapy(settings.mayapy, running_executable=sys.executable)


def service_command(settings: Settings, *, simulate: bool) -> list[str]:
    command = [service_python(settings, simulate=simulate), "-m", "lrc_toolbox.service"]
    return [*command, "--simulate"] if simulate else command


def detached_environment(
    settings: Settings, env: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment of a process started from here that must run as this one would:
    ``settings`` as ``LRC_*`` variables (even unsaved ones), this package first on
    ``PYTHONPATH``, and never a render worker's marker."""
    environment = dict(os.environ if env is None else env)
    environment.update(settings_env(settings))
    environment["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(PACKAGE_ROOT), environment.get("PYTHONPATH", "")) if p
    )
    environment.pop(_WORKER_ENV, None)
    return environment


#: Windows: leave the caller's job object, so closing Maya does not end the process
_BREAKAWAY = 0x01000000


def popen_detached(
    command: list[str], *, env: Mapping[str, str], log: Path, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start ``command`` detached from this process (its own session on Linux and macOS;
    its own console-less process group, out of the caller's job, on Windows), so a crash or
    Ctrl-C of the caller does not reach it; stdout and stderr appended to ``log``."""
    options: dict[str, Any] = {}
    if sys.platform == "win32":  # pragma: no cover - Windows only
        options["creationflags"] = (
            getattr(subprocess, "DETACHED_PROCESS", 0x8)
            | getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0x200)
            | getattr(subprocess, "CREATE_BREAKAWAY_FROM_JOB", _BREAKAWAY)
        )
    else:
        options["start_new_session"] = True
    with log.open("ab") as output:
        while True:
            try:
                return subprocess.Popen(  # noqa: S603 - an argument list, never a shell
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    env=dict(env),
                    close_fds=True,
                    cwd=None if cwd is None else str(cwd),
                    **options,
                )
            except PermissionError:  # pragma: no cover - Windows: a job forbids breakaway
                if sys.platform != "win32" or not options["creationflags"] & _BREAKAWAY:
                    raise
                options["creationflags"] &= ~_BREAKAWAY


def start_service(
    settings: Settings, *, simulate: bool, env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start a service for ``settings``' temp root, detached from this process
    (:func:`popen_detached`). It prints to ``<temp_root>/service/service.log``. Returns at
    once."""
    folder = service_dir(settings.resolved_temp_root())
    environment = detached_environment(settings, env)
    environment.setdefault("QT_QPA_PLATFORM", "offscreen")  # it never shows a window
    _rotate_log(folder)
    return popen_detached(
        service_command(settings, simulate=simulate),
        env=environment,
        log=folder / LOG_FILE,
        cwd=folder,
    )


def _spawn(settings: Settings, simulate: bool) -> subprocess.Popen[bytes]:
    process = start_service(settings, simulate=simulate)
    # reap it when it exits (it outlives us if we go first): no zombie is left behind
    threading.Thread(target=process.wait, name="lrc-service-reaper", daemon=True).start()
    return process


#: service.log is moved to service.log.1 beyond this size when a service starts
LOG_LIMIT = 5 * 1024 * 1024


def _rotate_log(folder: Path) -> None:
    log = folder / LOG_FILE
    with contextlib.suppress(OSError):
        if log.stat().st_size > LOG_LIMIT:
            os.replace(log, log.with_name(LOG_FILE + ".1"))


def _log_tail(folder: Path, lines: int = 8) -> str:
    try:
        text = (folder / LOG_FILE).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


class ServiceClient:
    """One connection to the render service.

    Args:
        connection: a connection that has been welcomed.
        welcome: the service's answer to the hello.
    """

    def __init__(self, connection: Connection, welcome: Welcome, info: ServiceInfo) -> None:
        self.connection = connection
        self.welcome = welcome
        self.info = info
        #: event batches (and ``None`` once the service has gone), in arrival order
        self.events: queue.Queue[EventBatch | None] = queue.Queue()
        self._ids = itertools.count(1)
        self._waiting: dict[int, tuple[threading.Event, list[Reply]]] = {}
        self._lock = threading.Lock()
        self.connected = True
        threading.Thread(target=self._read, name="lrc-service-client", daemon=True).start()

    # ------------------------------------------------------------------ finding it

    @classmethod
    def attach(
        cls,
        settings: Settings,
        *,
        simulate: bool = False,
        client: str = "",
        start: bool = True,
        timeout: float = START_TIMEOUT,
    ) -> ServiceClient | None:
        """Connect to the running service; with ``start``, start one when none runs (or the
        recorded one has died). None when none runs and ``start`` is False.

        Raises:
            ServiceRefused: the service would not talk to this client (the reason says why).
            ServiceUnavailable: it could not be started, or does not answer.
        """
        try:
            folder = service_dir(settings.resolved_temp_root())
        except OSError as exc:
            raise ServiceUnavailable(
                f"the render service's folder cannot be used ({exc}); set temp_root "
                "(LRC_TEMP_ROOT) to a folder of yours, or render with --foreground"
            ) from exc
        name = client or f"{Path(sys.argv[0] or 'python').name} {os.getpid()}"
        found = cls._existing(folder, name, simulate)
        if found is not None or not start:
            return found
        process = _spawn(settings, simulate)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = cls._existing(folder, name, simulate)
            if found is not None:
                return found
            code = process.returncode if process.returncode is not None else process.poll()
            if code is not None and code != 0:
                raise ServiceUnavailable(
                    f"the render service could not start (exit {code}); its log "
                    f"({folder / LOG_FILE}) ends:\n{_log_tail(folder)}"
                )
            if code == 0 and read_info(folder) is None:
                # it found the lock held by a service on its way out: try again
                time.sleep(0.2)
                process = _spawn(settings, simulate)
            time.sleep(0.05)
        raise ServiceUnavailable(
            f"the render service did not start listening within {timeout:.0f} s; see "
            f"{folder / LOG_FILE}, or run `lrc-batch-render render --foreground` to render "
            "without it"
        )

    @classmethod
    def _existing(cls, folder: Path, name: str, simulate: bool) -> ServiceClient | None:
        info = read_info(folder)
        if info is None or not process_alive(info.pid, info.started):
            return None  # none, or a dead one: it is replaced
        token = read_token(folder)
        if token is None:
            return None
        try:
            connection = connect(info.address, info.family)
        except OSError:
            return None  # it is going away, or not listening yet
        try:
            connection.send_bytes(
                encode(
                    Hello(
                        protocol=PROTOCOL,
                        version=__version__,
                        token=token,
                        client=name,
                        simulate=simulate,
                    )
                )
            )
            if not connection.poll(HELLO_TIMEOUT):
                raise ServiceUnavailable(
                    f"the render service (pid {info.pid}) does not answer; if it hangs, "
                    f"end it (`kill {info.pid}`) and try again"
                )
            answer = decode(connection.recv_bytes())
        except (OSError, EOFError, ChannelError):
            with contextlib.suppress(OSError):
                connection.close()
            return None
        except BaseException:
            with contextlib.suppress(OSError):
                connection.close()
            raise
        if isinstance(answer, Refused):
            connection.close()
            raise ServiceRefused(f"the render service (pid {info.pid}) refused: {answer.reason}")
        if not isinstance(answer, Welcome):
            connection.close()
            return None
        return cls(connection, answer, info)

    # ------------------------------------------------------------------ talking

    def request(self, op: Op, *, timeout: float = 60.0, **fields: Any) -> Reply:
        """Ask the service and wait for its answer.

        Raises:
            ServiceUnavailable: the service went away, or did not answer within ``timeout``.
        """
        if not self.connected:
            raise ServiceUnavailable("the render service has gone (it stopped or crashed)")
        request_id = next(self._ids)
        done = threading.Event()
        slot: list[Reply] = []
        self._waiting[request_id] = (done, slot)
        try:
            data = encode(Request(id=request_id, op=op, **fields))
            with self._lock:
                if not self.connected:
                    raise OSError("the connection is closed")
                self.connection.send_bytes(data)
            if not done.wait(timeout):
                raise ServiceUnavailable(
                    f"the render service (pid {self.info.pid}) did not answer {op.value!r} "
                    f"within {timeout:.0f} s"
                )
        except (OSError, ValueError) as exc:
            raise ServiceUnavailable(f"the render service has gone ({exc})") from exc
        finally:
            self._waiting.pop(request_id, None)
        if not slot:
            raise ServiceUnavailable("the render service has gone (it stopped or crashed)")
        return slot[0]

    def close(self) -> None:
        """Hang up; the reader thread closes the connection as it stops."""
        with self._lock:
            self.connected = False
        hang_up(self.connection)

    def _read(self) -> None:
        while True:
            try:
                message = decode(self.connection.recv_bytes())
            except (EOFError, OSError, ChannelError, TypeError, ValueError):
                # TypeError/ValueError: closed by close() on another thread
                break
            if isinstance(message, Reply):
                waiter = self._waiting.get(message.id)
                if waiter is not None:
                    waiter[1].append(message)
                    waiter[0].set()
            elif isinstance(message, EventBatch):
                self.events.put(message)
        with self._lock:
            self.connected = False
            with contextlib.suppress(OSError):
                self.connection.close()
        for done, _slot in list(self._waiting.values()):
            done.set()
        self.events.put(None)
