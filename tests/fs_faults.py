"""Real filesystem faults for tests: a small tmpfs that fills up or turns read-only.

``unshare -rm`` gives a process its own user and mount namespace, where it may mount a
tmpfs without root; the mount disappears with the process. Where that is not possible
(no ``unshare``, user namespaces disabled, not Linux) the tests that need it are skipped
and their monkeypatched twins still run."""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

SMALL_TMPFS_SKIP = "cannot mount a private tmpfs here (unshare -rm and mount are needed)"


@functools.lru_cache(maxsize=1)
def small_tmpfs_available() -> bool:
    unshare, mount = shutil.which("unshare"), shutil.which("mount")
    if not sys.platform.startswith("linux") or unshare is None or mount is None:
        return False
    try:
        probe = subprocess.run(
            [unshare, "-rm", mount, "-t", "tmpfs", "-o", "size=16k", "tmpfs", "/tmp"],
            capture_output=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return probe.returncode == 0


def run_in_small_tmpfs(
    script: str, mountpoint: Path, *args: str, env: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Run ``script`` (Python; argv: the mount point, then ``args``) in a private user and
    mount namespace, with ``env`` (default: this process's); it mounts the tmpfs itself
    (``mount`` is allowed there), which vanishes when it exits. Returns the JSON object
    it prints last."""
    mountpoint.mkdir(parents=True, exist_ok=True)
    unshare = shutil.which("unshare")
    assert unshare is not None
    result = subprocess.run(
        [unshare, "-rm", sys.executable, "-c", script, str(mountpoint), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=None if env is None else dict(env),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    data: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return data
