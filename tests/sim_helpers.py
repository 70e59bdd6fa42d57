"""Run the REAL worker inside the simulated mayapy, as the manager will, and collect what it
says. Shared by the worker, simulator and scene-source tests."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lrc_toolbox.records import protocol

SCENES = Path(__file__).resolve().parents[1] / "lrc_toolbox" / "sim" / "scenes"
SHOT = SCENES / "shot010_lighting.ma"
LEGACY = SCENES / "legacy_layers.ma"
REDSHIFT = SCENES / "redshift_simple.ma"
MAYAPY = [sys.executable, "-m", "lrc_toolbox.sim.mayapy"]


@dataclass
class WorkerRun:
    returncode: int
    events: list[protocol.Event] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    stderr: str = ""

    def named(self, name: str) -> list[protocol.Event]:
        return [e for e in self.events if e.name == name]

    @property
    def names(self) -> list[str]:
        return [e.name for e in self.events]


def sim_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LRC_SIM")}
    env.update(
        LRC_SIM_TIME_SCALE="0.002",
        LRC_SIM_STATE_DIR=str(tmp_path / "sim-state"),
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.update(extra)
    return env


def command(op: str, **fields: Any) -> str:
    return protocol.encode_command(op, **fields)


def parse_output(stdout: bytes) -> tuple[list[protocol.Event], list[str]]:
    events, log = [], []
    for raw in stdout.decode("utf-8", errors="replace").splitlines():
        text, _ = protocol.split_event(raw)
        try:
            event = protocol.decode_line(raw)
        except protocol.ProtocolError:
            log.append(raw)
            continue
        if event is not None:
            events.append(event)
            if text:
                log.append(text)
        else:
            log.append(raw)
    return events, log


def run_worker(
    tmp_path: Path,
    commands: list[str],
    *,
    scene: Path = SHOT,
    args: list[str] | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> WorkerRun:
    """Start the simulated worker, feed it the commands, wait for it to exit."""
    cmd = [
        *MAYAPY,
        "-m",
        "lrc_toolbox.worker",
        "--scene",
        str(scene),
        "--project",
        str(tmp_path / "project"),
        "--output-dir",
        str(tmp_path / "images"),
        *(args or []),
    ]
    result = subprocess.run(
        cmd,
        input="".join(commands).encode(),
        capture_output=True,
        env=env if env is not None else sim_env(tmp_path),
        timeout=timeout,
        check=False,
    )
    events, log = parse_output(result.stdout)
    return WorkerRun(result.returncode, events, log, result.stderr.decode(errors="replace"))


def alive_pids(pids: Iterable[int]) -> list[int]:
    """The pids that still run (zombies, which only wait to be reaped, do not count)."""
    import psutil

    alive = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.NoSuchProcess:
            pass
    return alive


def _stub_modules() -> list[str]:
    return [n for n in sys.modules if n.split(".")[0] in ("maya", "mtoa")]


def stub_maya(monkeypatch: Any, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """The stand-in ``maya`` and ``mtoa`` in THIS process, on a fresh session seeing one
    GPU, initialised; restores ``sys.modules`` and ``sys.path`` afterwards. For fixtures:
    ``yield from stub_maya(monkeypatch, tmp_path)``."""
    from lrc_toolbox.sim import mayapy, runtime
    from lrc_toolbox.sim.config import SimConfig

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "GPU-5f0e1b2a")
    saved = {n: sys.modules[n] for n in _stub_modules()}
    mayapy.install_stub()
    runtime.reset_session(SimConfig(time_scale=0.0, startup=0.0))
    import maya.cmds as cmds
    import maya.mel as mel
    import maya.standalone as standalone

    standalone.initialize(name="python")
    try:
        yield {"cmds": cmds, "mel": mel}
    finally:
        for name in _stub_modules():
            del sys.modules[name]
        sys.modules.update(saved)
        sys.path.remove(mayapy.STUB_DIR)


def rest_of_output(proc: subprocess.Popen[Any], timeout: float = 120) -> tuple[Any, Any]:
    """What ``proc`` still prints (stdout, stderr; ``None`` for a stream not piped) until it
    exits. A process still printing ``timeout`` seconds later is killed and the test fails
    saying so, instead of blocking in ``read()`` until pytest-timeout ends the whole test.
    (Not ``communicate``: with a timeout it reads the pipes' raw descriptors and would lose
    what the caller's line-by-line reading already buffered.)"""
    streams = (proc.stdout, proc.stderr)
    texts: list[Any] = [None, None]

    def read(index: int) -> None:
        stream = streams[index]
        if stream is not None:
            texts[index] = stream.read()

    readers = [threading.Thread(target=read, args=(i,), daemon=True) for i in (0, 1)]
    for reader in readers:
        reader.start()
    deadline = time.monotonic() + timeout
    for reader in readers:
        reader.join(max(0.0, deadline - time.monotonic()))
    if any(reader.is_alive() for reader in readers):
        proc.kill()
        for reader in readers:
            reader.join(10)
        raise AssertionError(
            f"the command was still running {timeout:g} s later; it printed:\n{texts[0]}"
            f"\n{texts[1]}"
        )
    return texts[0], texts[1]
