"""Where the render service listens and how a client proves it is the same user.

One service per user and temp root (``<temp_root>/service/``, a folder only its owner can
enter, mode 0700), holding:

- ``service.json``: the running service's pid, start time, version, protocol and address
  (:class:`ServiceInfo`), written once it listens;
- ``token``: a random secret (mode 0600), new at every start; a client sends it in its
  :class:`~lrc_toolbox.records.service.Hello`, so a process that cannot read the user's
  files cannot talk to the service even where the socket itself is reachable (a Windows
  named pipe);
- ``service.lock``: held (``flock`` / ``msvcrt.locking``) by the one live service, so two
  clients starting one at the same moment get one service, and a stale ``service.json``
  (a service that died) is told from a live one;
- ``service.log``: what the service printed.

The channel is the standard library's ``multiprocessing.connection`` (length-prefixed
frames over a Unix domain socket on Linux and macOS, a named pipe on Windows), so it needs
neither Qt's QtNetwork (the core imports QtCore only) nor anything else to install. The
frames carry JSON (:mod:`lrc_toolbox.records.service`), never pickles.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import socket
import stat
import sys
import tempfile
from dataclasses import dataclass
from multiprocessing.connection import Client, Connection, Listener
from pathlib import Path
from typing import IO, Any

from lrc_toolbox.records.models import JsonModel, ValidationError

__all__ = [
    "INFO_FILE",
    "LOCK_FILE",
    "LOG_FILE",
    "SERVICE_DIR_NAME",
    "TOKEN_FILE",
    "ServiceInfo",
    "ServiceLock",
    "address_for",
    "connect",
    "hang_up",
    "listen",
    "new_token",
    "private_dir",
    "read_info",
    "read_token",
    "remove_info",
    "same_token",
    "service_dir",
    "write_info",
]

SERVICE_DIR_NAME = "service"
INFO_FILE = "service.json"
TOKEN_FILE = "token"
LOCK_FILE = "service.lock"
LOG_FILE = "service.log"
#: longest Unix socket path (sun_path is 108 bytes on Linux, 104 on macOS)
_MAX_SOCKET_PATH = 100


@dataclass
class ServiceInfo(JsonModel):
    """The running service, as its ``service.json`` says."""

    pid: int
    version: str
    protocol: int
    address: str
    #: ``AF_UNIX`` or ``AF_PIPE``
    family: str
    #: the process's start time (epoch seconds), to tell it from a later one with its pid
    started: float | None = None
    simulate: bool = False


def private_dir(path: Path) -> Path:
    """Make ``path`` (and its parents) and keep it to its owner: mode 0700 on POSIX.

    Raises:
        PermissionError: it belongs to another user (someone else's service folder).
    """
    path.mkdir(parents=True, exist_ok=True)
    if os.name == "posix":
        info = path.stat()
        if info.st_uid != os.getuid():
            raise PermissionError(
                f"{path} belongs to another user (uid {info.st_uid}): the render service's "
                "folder must be your own; set temp_root (LRC_TEMP_ROOT) to a folder of yours"
            )
        if stat.S_IMODE(info.st_mode) != 0o700:
            path.chmod(0o700)
    return path


def service_dir(temp_root: Path) -> Path:
    """``<temp_root>/service``, private to the user."""
    return private_dir(Path(temp_root) / SERVICE_DIR_NAME)


def address_for(folder: Path) -> tuple[str, str]:
    """``(address, family)`` of the service whose folder is ``folder``.

    A Unix socket lives in the folder itself; when that path is too long for a socket it
    goes under ``<tmp>/lrc-<uid>/`` (private too), named after the folder. On Windows a
    named pipe named after the folder.
    """
    digest = hashlib.sha1(os.path.normcase(str(folder.resolve())).encode("utf-8")).hexdigest()
    if sys.platform == "win32":  # pragma: no cover - Windows only
        return rf"\\.\pipe\lrc-batch-render-{digest[:24]}", "AF_PIPE"
    path = folder / "sock"
    if len(os.fsencode(str(path))) <= _MAX_SOCKET_PATH:
        return str(path), "AF_UNIX"
    short = private_dir(Path(tempfile.gettempdir()) / f"lrc-{os.getuid()}")
    return str(short / f"{digest[:16]}.sock"), "AF_UNIX"


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, readable by its owner only."""
    fresh = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(fresh, path)


def new_token(folder: Path) -> str:
    """A fresh secret for this service start, written to ``folder/token`` (mode 0600)."""
    token = secrets.token_hex(32)
    _write_private(folder / TOKEN_FILE, token + "\n")
    return token


def read_token(folder: Path) -> str | None:
    try:
        return (folder / TOKEN_FILE).read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def same_token(given: str, expected: str) -> bool:
    """Compare secrets in constant time."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def write_info(folder: Path, info: ServiceInfo) -> None:
    _write_private(folder / INFO_FILE, json.dumps(info.to_dict(), indent=1) + "\n")


def read_info(folder: Path) -> ServiceInfo | None:
    """The service the folder's ``service.json`` describes, or None (none, or unreadable)."""
    try:
        data = json.loads((folder / INFO_FILE).read_text(encoding="utf-8"))
        return ServiceInfo.from_stored(data)
    except (OSError, ValueError, ValidationError, TypeError):
        return None


def remove_info(folder: Path, pid: int) -> None:
    """Remove ``service.json`` if it still describes ``pid`` (a service on its way out)."""
    info = read_info(folder)
    if info is not None and info.pid == pid:
        with contextlib.suppress(OSError):
            (folder / INFO_FILE).unlink()


class ServiceLock:
    """The one-service-per-folder lock, held for the service's life (the OS releases it when
    the process dies, however it dies)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / LOCK_FILE
        self._handle: IO[bytes] | None = None

    def acquire(self) -> bool:
        """Take the lock without waiting; False when another live service holds it."""
        handle = open(self.path, "a+b")  # noqa: SIM115 - held open while the lock is held
        try:
            if sys.platform == "win32":  # pragma: no cover - Windows only
                import msvcrt

                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
            else:
                import fcntl

                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._handle = handle
        return True

    def held_elsewhere(self) -> bool:
        """Whether another process holds the lock now (a live service)."""
        if self.acquire():
            self.release()
            return False
        return True

    def release(self) -> None:
        if self._handle is not None:
            with contextlib.suppress(OSError):
                self._handle.close()
            self._handle = None


def listen(address: str, family: str) -> Listener:
    """Listen at ``address``; a socket file left by a dead service is removed first (the
    caller holds the :class:`ServiceLock`, so no live service uses it)."""
    if family == "AF_UNIX":
        with contextlib.suppress(FileNotFoundError):
            os.unlink(address)
        old = os.umask(0o077)  # the socket itself is the user's only, as its folder
        try:
            return Listener(address, family=family, backlog=32)
        finally:
            os.umask(old)
    return Listener(address, family=family, backlog=32)  # pragma: no cover - Windows


def connect(address: str, family: str) -> Connection:
    """Connect to the service at ``address``.

    Raises:
        OSError: nobody listens there (no service, or a dead one).
    """
    connection: Any = Client(address, family=family)
    return connection  # type: ignore[no-any-return]


def hang_up(connection: Connection) -> None:
    """End ``connection`` so that the peer sees the end and a thread of ours blocked in
    ``recv_bytes`` on it wakes up (on Linux, closing the descriptor does neither; ``shutdown``
    does both). The descriptor stays open: the thread that reads it closes it when it
    stops, so that no thread ever reads a descriptor number the OS has given to a new
    connection meanwhile."""
    if sys.platform == "win32":  # pragma: no cover - a pipe handle: closing it wakes the reader
        with contextlib.suppress(OSError):
            connection.close()
        return
    with contextlib.suppress(OSError, ValueError):
        duplicate = socket.socket(fileno=os.dup(connection.fileno()))
        try:
            duplicate.shutdown(socket.SHUT_RDWR)
        finally:
            duplicate.close()
