"""Process facts shared by the job store and the temp files. Standard library only."""

from __future__ import annotations

import os
import sys

__all__ = ["pid_alive", "proc_stat_fields"]


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine now.

    Unsure answers are True, the safe side for both callers: a pid the OS has since given
    to another process only delays flagging a batch interrupted (the job store) or deleting
    a worker's folder (temp files); it never flags a live one or deletes its files.
    """
    if pid <= 0:
        return False
    if sys.platform == "win32":
        import ctypes

        kernel32 = ctypes.windll.kernel32
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return kernel32.GetLastError() == 5  # ERROR_ACCESS_DENIED: exists, not ours
        try:
            code = ctypes.c_ulong()
            if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
                return True
            return code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # PermissionError: exists, owned by someone else; else unsure
    return True


def proc_stat_fields(pid: int) -> list[str] | None:
    """Linux ``/proc/<pid>/stat`` fields after the command name (state first, so field N of
    ``proc(5)`` is index N - 3), or None where it cannot be read."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return None
    return text[text.rfind(")") + 2 :].split()
