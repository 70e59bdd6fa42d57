"""Who owns a batch: one live manager per batch, and one running batch per output folder.

A batch's owner is recorded in the job store (``batches.manager_*``) as a
:class:`ManagerIdentity`: the pid, the process's start time, the host, when it took the
batch and the command it runs. The store takes and checks ownership inside one SQLite write
transaction (``BEGIN IMMEDIATE``), so of two commands that claim a batch at the same moment
exactly one wins; this module says whether a recorded owner is still alive:

- on this host, the pid must run AND have the recorded start time (``psutil``'s
  ``create_time``; without psutil, ``/proc`` on Linux or ``GetProcessTimes`` on Windows), so a
  pid the OS has given to another process since does not count; a zombie is dead;
- in this process, the batch must be held by a live :class:`BatchRenderAPI` (two APIs in one
  Maya session are two owners; :func:`hold` / :func:`release`);
- on another host the pid cannot be checked: the owner counts as alive (the safe side).

Standard library only (psutil when present). No Qt.
"""

from __future__ import annotations

import os
import shlex
import socket
import sys
import threading
import time
from dataclasses import dataclass

from lrc_toolbox.utils.processes import pid_alive, proc_stat_fields

__all__ = [
    "START_TIME_TOLERANCE_S",
    "BatchOwnedError",
    "BatchOwnershipError",
    "ManagerIdentity",
    "OutputFolderBusyError",
    "held_here",
    "hold",
    "owner_alive",
    "process_alive",
    "process_start_time",
    "release",
]

#: two start times of one process read by different means differ by less than this
START_TIME_TOLERANCE_S = 1.0
#: longest command line kept with an owner (enough to recognise it)
_COMMAND_CHARS = 300


def _host() -> str:
    return socket.gethostname()


# --------------------------------------------------------------------------- processes


def _linux_boot_time() -> float | None:
    try:
        with open("/proc/stat", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("btime "):
                    return float(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def _windows_start_time(pid: int) -> float | None:  # pragma: no cover - Windows only
    if sys.platform != "win32":
        return None
    import ctypes
    from ctypes import wintypes

    kernel32 = ctypes.windll.kernel32
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return None
    try:
        times = [wintypes.FILETIME() for _ in range(4)]
        if not kernel32.GetProcessTimes(handle, *(ctypes.byref(t) for t in times)):
            return None
        created = (times[0].dwHighDateTime << 32) | times[0].dwLowDateTime
        return created / 1e7 - 11644473600.0  # 100 ns ticks since 1601 -> Unix seconds
    finally:
        kernel32.CloseHandle(handle)


def process_start_time(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch), or None when unknown
    (no such process, or no way to ask on this platform without psutil)."""
    if pid <= 0:
        return None
    try:
        import psutil
    except ImportError:
        psutil = None
    if psutil is not None:
        try:
            return float(psutil.Process(pid).create_time())
        except (psutil.Error, OSError):
            return None
    if sys.platform == "win32":  # pragma: no cover - Windows only
        return _windows_start_time(pid)
    fields = proc_stat_fields(pid)
    boot = _linux_boot_time()
    if fields is None or boot is None or len(fields) < 20:
        return None
    try:
        ticks = float(fields[19])  # field 22 of stat: start time in clock ticks after boot
        return boot + ticks / float(os.sysconf("SC_CLK_TCK"))
    except (ValueError, OSError):
        return None


def process_alive(pid: int, started: float | None = None) -> bool:
    """Whether ``pid`` runs now (a zombie does not) and, when ``started`` is given, is the
    same process that started then. Unsure answers are True, the safe side: an owner taken
    for alive only refuses a second manager; it never lets two render."""
    if not pid_alive(pid):
        return False
    if _is_zombie(pid):
        return False
    if started is None:
        return True
    current = process_start_time(pid)
    if current is None:
        return True
    return abs(current - started) <= START_TIME_TOLERANCE_S


def _is_zombie(pid: int) -> bool:
    try:
        import psutil
    except ImportError:
        fields = proc_stat_fields(pid)
        return fields is not None and fields[:1] == ["Z"]
    try:
        return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    except (psutil.Error, OSError):
        return False


# --------------------------------------------------------------------------- this process

_held: set[str] = set()
_held_lock = threading.Lock()


def hold(batch_id: str) -> None:
    """This process's manager of ``batch_id`` is live (a BatchRenderAPI runs it)."""
    with _held_lock:
        _held.add(batch_id)


def release(batch_id: str) -> None:
    """This process no longer runs ``batch_id`` (it finished, or failed to start)."""
    with _held_lock:
        _held.discard(batch_id)


def held_here(batch_id: str) -> bool:
    with _held_lock:
        return batch_id in _held


# --------------------------------------------------------------------------- identity


@dataclass(frozen=True)
class ManagerIdentity:
    """A batch's manager as the job store records it."""

    pid: int
    host: str
    #: the process's start time (epoch seconds), to tell it from a later one with its pid
    started: float | None = None
    #: when it took the batch (epoch seconds)
    since: float | None = None
    #: the command it runs, for the user (``lrc-batch-render resume ...``, ``maya``)
    command: str | None = None

    @classmethod
    def this_process(cls, now: float | None = None) -> ManagerIdentity:
        pid = os.getpid()
        argv = [os.path.basename(sys.argv[0]), *sys.argv[1:]] if sys.argv else []
        command = shlex.join(argv) if argv and argv[0] else os.path.basename(sys.executable)
        if len(command) > _COMMAND_CHARS:
            command = command[: _COMMAND_CHARS - 3] + "..."
        return cls(
            pid=pid,
            host=_host(),
            started=process_start_time(pid),
            since=time.time() if now is None else now,
            command=command,
        )

    def same_process(self, other: ManagerIdentity) -> bool:
        """Same host, same pid and (where both are known) the same start time."""
        if self.host != other.host or self.pid != other.pid:
            return False
        if self.started is None or other.started is None:
            return True
        return abs(self.started - other.started) <= START_TIME_TOLERANCE_S

    def describe(self) -> str:
        """``pid 4242 on render-01 since 2026-11-25 23:59:02, running `lrc-batch-render ...```"""
        text = f"pid {self.pid} on {self.host}"
        if self.since is not None:
            text += " since " + time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.since))
        if self.command:
            text += f", running `{self.command}`"
        return text


def owner_alive(owner: ManagerIdentity, batch_id: str) -> bool:
    """Whether ``owner`` still manages ``batch_id`` (see the module docstring)."""
    if owner.host != _host():
        return True  # its pid means nothing here: assume it runs
    if owner.pid == os.getpid():
        me = ManagerIdentity.this_process()
        return owner.same_process(me) and held_here(batch_id)
    return process_alive(owner.pid, owner.started)


# --------------------------------------------------------------------------- errors


class BatchOwnershipError(RuntimeError):
    """Another live manager has what was asked for; the message says who and what to do."""

    def __init__(self, message: str, *, batch_id: str, owner: ManagerIdentity) -> None:
        super().__init__(message)
        self.batch_id = batch_id
        self.owner = owner


class BatchOwnedError(BatchOwnershipError):
    """The batch is being rendered by another live manager."""

    @classmethod
    def of(cls, batch_id: str, owner: ManagerIdentity) -> BatchOwnedError:
        if owner.host == _host():
            what = (
                f"wait for it to finish (`lrc-batch-render status {batch_id}`), or stop it "
                f"(Ctrl-C where it runs, or `kill {owner.pid}`) and resume again"
            )
        else:
            what = (
                f"this host cannot tell whether a process on {owner.host} still runs: resume "
                f"it on {owner.host}, or wait for it to finish"
            )
        return cls(
            f"batch {batch_id} is already being rendered by another manager: "
            f"{owner.describe()}. Two managers would render the same frames twice: {what}.",
            batch_id=batch_id,
            owner=owner,
        )


class OutputFolderBusyError(BatchOwnershipError):
    """Another live batch renders into the same output folder."""

    def __init__(self, message: str, *, batch_id: str, owner: ManagerIdentity, folder: str) -> None:
        super().__init__(message, batch_id=batch_id, owner=owner)
        self.folder = folder

    @classmethod
    def of(cls, folder: str, batch_id: str, owner: ManagerIdentity) -> OutputFolderBusyError:
        return cls(
            f"the output folder {folder} is in use by batch {batch_id} ({owner.describe()}); "
            "two batches in one folder would overwrite each other's ready.json and images. "
            f"Choose another output folder (--output), or wait for batch {batch_id} to finish "
            f"(`lrc-batch-render status {batch_id}`).",
            batch_id=batch_id,
            owner=owner,
            folder=folder,
        )
