"""Issue 12, the worker's items, with real processes: a worker exits within seconds of its
manager's death in every state (item 5), and a Ctrl-C sent to the whole process group
prints no KeyboardInterrupt traceback from a worker (item 8, worker side).

The "manager" here is a small parent process the test spawns and kills with SIGKILL; the
worker is the real one, inside the simulated mayapy, with the simulator's hang fault
where a hung renderer is needed. No timed assertion: each wait has a generous deadline
only so that a regression fails instead of hanging the suite.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import psutil
import pytest
from sim_helpers import MAYAPY, SHOT, alive_pids, command, rest_of_output, sim_env

from lrc_toolbox.records import protocol

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX signals and re-parenting")
linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG and /proc are Linux's"
)

#: a deadline for things that take well under a second; never a measured goal
DEADLINE = 30.0

#: a stand-in manager: starts the command it is given as its child, with
#: LRC_PARENT_PID = its own pid (as RenderProcessManager does), then waits forever
MANAGER = (
    "import os, subprocess, sys, time\n"
    "env = dict(os.environ, LRC_PARENT_PID=str(os.getpid()))\n"
    "subprocess.Popen(sys.argv[1:], env=env)\n"
    "time.sleep(3600)\n"
)
#: a launcher between the manager and the worker (a mayapy wrapper that forks): the
#: worker's parent is not the manager
#: what a worker stand-in prints to be recognised (needs os and protocol imported)
SAY_HELLO = (
    "print(protocol.encode_event('hello', protocol=protocol.PROTOCOL_VERSION,"
    " pid=os.getpid()), flush=True)\n"
    "print(protocol.encode_event('ready'), flush=True)\n"
)
LAUNCHER = [sys.executable, "-c", "import subprocess, sys; sys.exit(subprocess.call(sys.argv[1:]))"]


class Lines:
    """Reads a worker's stdout without a thread (``select``), so the test may close the
    pipe at any time; ``wait_for`` finds a worker event by name."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.fd = stream.fileno()
        self.buffer = b""
        self.seen: list[str] = []

    def _line(self, deadline: float) -> str | None:
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                return None
            chunk = os.read(self.fd, 65536)
            if not chunk:
                return None
            self.buffer += chunk
        raw, _, self.buffer = self.buffer.partition(b"\n")
        return raw.decode("utf-8", errors="replace")

    def wait_for(self, name: str) -> protocol.Event:
        deadline = time.monotonic() + DEADLINE
        while (line := self._line(deadline)) is not None:
            self.seen.append(line)
            event = protocol.event_or_none(line)
            if event is not None and event.name == name:
                return event
        said = "\n".join(self.seen)
        raise AssertionError(f"no {name!r} event; the worker said:\n{said}")


def worker_command(tmp_path: Path, *extra: str) -> list[str]:
    return [
        *MAYAPY,
        "-m",
        "lrc_toolbox.worker",
        "--scene",
        str(SHOT),
        "--project",
        str(tmp_path / "project"),
        "--output-dir",
        str(tmp_path / "images"),
        *extra,
    ]


def gone_within_deadline(pid: int) -> bool:
    deadline = time.monotonic() + DEADLINE
    while alive_pids([pid]) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive_pids([pid])


def _reap(pids: list[int]) -> None:
    for pid in alive_pids(pids):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class Managed:
    """The stand-in manager with the real worker under it (see MANAGER)."""

    def __init__(self, worker: list[str], env: dict[str, str]) -> None:
        self.manager = subprocess.Popen(
            [sys.executable, "-c", MANAGER, *worker],
            env=env,
            stdin=subprocess.PIPE,  # the test keeps the write end: stdin never ends
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert self.manager.stdout is not None
        self.lines = Lines(self.manager.stdout)
        self.worker_pid = int(self.lines.wait_for("hello")["pid"])
        self.lines.wait_for("ready")

    def send(self, line: str) -> None:
        assert self.manager.stdin is not None
        self.manager.stdin.write(line.encode())
        self.manager.stdin.flush()

    def kill_manager(self) -> None:
        self.manager.kill()  # SIGKILL: no goodbye, no cleanup
        self.manager.wait()

    def close(self) -> None:
        _reap([self.worker_pid])
        self.kill_manager()
        for stream in (self.manager.stdin, self.manager.stdout, self.manager.stderr):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass


@pytest.fixture
def managed(tmp_path: Path) -> Iterator[list[Managed]]:
    started: list[Managed] = []
    yield started
    for item in started:
        item.close()


def _start(managed: list[Managed], tmp_path: Path, *worker: str, **env: str) -> Managed:
    item = Managed(list(worker) or worker_command(tmp_path), sim_env(tmp_path, **env))
    managed.append(item)
    return item


LONG_FRAME = {
    "LRC_SIM_TIME_SCALE": "1",
    "LRC_SIM_CONFIG": '{"startup": 0, "default_frame_cost": 3600}',
}


# --------------------------------------------------------------------------- item 5


@posix_only
def test_an_idle_worker_waiting_on_stdin_exits_when_its_manager_is_killed(
    managed: list[Managed], tmp_path: Path
) -> None:
    item = _start(managed, tmp_path)
    item.kill_manager()
    assert gone_within_deadline(item.worker_pid)


@posix_only
def test_a_rendering_worker_exits_when_its_manager_is_killed(
    managed: list[Managed], tmp_path: Path
) -> None:
    item = _start(managed, tmp_path, **LONG_FRAME)
    item.send(command("render", layer="BG", frames=[1]))
    item.lines.wait_for("frame_started")
    item.kill_manager()
    assert gone_within_deadline(item.worker_pid)


@posix_only
def test_a_worker_with_a_hung_renderer_exits_when_its_manager_is_killed(
    managed: list[Managed], tmp_path: Path
) -> None:
    item = _start(managed, tmp_path, LRC_SIM_HANG_AT="1")
    item.send(command("render", layer="BG", frames=[1]))
    item.lines.wait_for("frame_started")
    time.sleep(0.5)  # into the hang (it starts half-way through the frame's progress)
    item.kill_manager()
    assert gone_within_deadline(item.worker_pid)


@posix_only
def test_a_hung_worker_with_its_output_pipes_closed_exits_when_its_manager_is_killed(
    managed: list[Managed], tmp_path: Path
) -> None:
    item = _start(managed, tmp_path, LRC_SIM_HANG_AT="1")
    item.send(command("render", layer="BG", frames=[1]))
    item.lines.wait_for("frame_started")
    for stream in (item.manager.stdout, item.manager.stderr):
        assert stream is not None
        stream.close()  # nobody reads the worker any more: its writes fail
    item.kill_manager()
    assert gone_within_deadline(item.worker_pid)


@posix_only
def test_a_worker_behind_a_launcher_exits_when_its_manager_is_killed(
    managed: list[Managed], tmp_path: Path
) -> None:
    # LRC_PARENT_PID names the manager, but the worker's parent is the launcher, which
    # stays alive: the worker must watch the manager's pid itself
    item = _start(managed, tmp_path, *LAUNCHER, *worker_command(tmp_path), LRC_SIM_HANG_AT="1")
    launcher = psutil.Process(item.worker_pid).ppid()
    assert launcher != item.manager.pid
    item.send(command("render", layer="BG", frames=[1]))
    item.lines.wait_for("frame_started")
    time.sleep(2.5)  # longer than the watch interval: a live manager keeps it running
    assert alive_pids([item.worker_pid]) == [item.worker_pid]
    item.kill_manager()
    try:
        assert gone_within_deadline(item.worker_pid)
    finally:
        _reap([launcher])


@linux_only
def test_a_worker_whose_renderer_holds_the_gil_exits_when_its_manager_is_killed(
    managed: list[Managed], tmp_path: Path
) -> None:
    # a render call that never returns and never releases the interpreter: no Python
    # thread runs again, so only the kernel's parent-death signal can end it
    code = (
        "import ctypes, os\n"
        "from lrc_toolbox.records import protocol\n"
        "from lrc_toolbox.worker.session import watch_parent\n"
        "watch_parent(int(os.environ['LRC_PARENT_PID']))\n"
        f"{SAY_HELLO}"
        "ctypes.PyDLL(None).pause()\n"
    )
    item = _start(managed, tmp_path, sys.executable, "-c", code)
    item.kill_manager()
    assert gone_within_deadline(item.worker_pid)


@posix_only
def test_the_watch_thread_exits_4_even_when_stderr_is_a_broken_pipe(tmp_path: Path) -> None:
    # the reported bug: the farewell line raised BrokenPipeError and killed the watching
    # thread instead of the worker. The thread alone (no kernel guard), the manager a
    # separate process, so the exit code can be read.
    manager = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
    code = (
        "import sys, time\n"
        "from lrc_toolbox.worker.session import watch_parent\n"
        "watch_parent(int(sys.argv[1]), interval=0.2, death_signal=False)\n"
        "print('armed', flush=True)\n"
        "time.sleep(3600)\n"
    )
    worker = subprocess.Popen(
        [sys.executable, "-c", code, str(manager.pid)],
        env=sim_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert worker.stdout is not None and worker.stderr is not None
        assert worker.stdout.readline() == b"armed\n"
        worker.stderr.close()  # the farewell line now meets a broken pipe
        manager.kill()
        manager.wait()  # reaped: the pid no longer exists
        assert worker.wait(timeout=DEADLINE) == 4
    finally:
        _reap([worker.pid, manager.pid])
        worker.wait()


@posix_only
def test_the_watch_thread_alone_notices_that_it_was_re_parented(
    managed: list[Managed], tmp_path: Path
) -> None:
    code = (
        "import os, time\n"
        "from lrc_toolbox.records import protocol\n"
        "from lrc_toolbox.worker.session import watch_parent\n"
        "watch_parent(int(os.environ['LRC_PARENT_PID']), interval=0.2, death_signal=False)\n"
        f"{SAY_HELLO}"
        "time.sleep(3600)\n"
    )
    item = _start(managed, tmp_path, sys.executable, "-c", code)
    for stream in (item.manager.stdout, item.manager.stderr):
        assert stream is not None
        stream.close()
    item.kill_manager()
    assert gone_within_deadline(item.worker_pid)


# --------------------------------------------------------------------------- item 8


def _sigint_ignored(pid: int) -> bool:
    """/proc/PID/status SigIgn: the mask of ignored signals (bit n-1 for signal n)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigIgn:"):
            return bool(int(line.split()[1], 16) & (1 << (signal.SIGINT - 1)))
    return False


class Group:
    """The worker alone in its own process group, as a terminal's Ctrl-C reaches it."""

    def __init__(self, cmd: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            cmd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        assert self.process.stdout is not None
        self.lines = Lines(self.process.stdout)

    def ctrl_c(self) -> None:
        os.killpg(self.process.pid, signal.SIGINT)

    def finish(self, *commands: str) -> tuple[int, str]:
        assert self.process.stdin is not None and self.process.stderr is not None
        for line in commands:
            self.process.stdin.write(line.encode())
        self.process.stdin.close()
        stderr = self.process.stderr.read().decode(errors="replace")
        return self.process.wait(timeout=DEADLINE), stderr


@pytest.fixture
def groups() -> Iterator[list[Group]]:
    started: list[Group] = []
    yield started
    for group in started:
        _reap([group.process.pid])
        group.process.wait()


@posix_only
def test_ctrl_c_to_the_group_leaves_an_idle_worker_rendering_without_a_traceback(
    groups: list[Group], tmp_path: Path
) -> None:
    group = Group(worker_command(tmp_path), sim_env(tmp_path))
    groups.append(group)
    group.lines.wait_for("ready")
    group.ctrl_c()
    group.ctrl_c()
    code, stderr = group.finish(command("render", layer="BG", frames=[1]), command("quit"))
    assert group.lines.wait_for("frame_done")["frame"] == 1
    assert code == 0
    assert "KeyboardInterrupt" not in stderr and "Traceback" not in stderr


@posix_only
def test_ctrl_c_to_the_group_does_not_interrupt_the_frame_being_rendered(
    groups: list[Group], tmp_path: Path
) -> None:
    env = sim_env(
        tmp_path,
        LRC_SIM_TIME_SCALE="1",
        LRC_SIM_CONFIG='{"startup": 0, "default_frame_cost": 1.0, "progress_steps": 10}',
    )
    group = Group(worker_command(tmp_path), env)
    groups.append(group)
    group.lines.wait_for("ready")
    assert group.process.stdin is not None
    group.process.stdin.write(command("render", layer="BG", frames=[1]).encode())
    group.process.stdin.flush()
    group.lines.wait_for("frame_started")
    group.ctrl_c()
    code, stderr = group.finish(command("quit"))
    assert group.lines.wait_for("frame_done")["frame"] == 1
    assert code == 0
    assert "KeyboardInterrupt" not in stderr and "Traceback" not in stderr


@linux_only
def test_ctrl_c_to_the_group_while_describe_starts_maya_prints_no_traceback(
    groups: list[Group], tmp_path: Path
) -> None:
    env = sim_env(tmp_path, LRC_SIM_TIME_SCALE="1", LRC_SIM_CONFIG='{"startup": 3}')
    group = Group([*MAYAPY, "-m", "lrc_toolbox.worker", "--describe", str(SHOT)], env)
    groups.append(group)
    deadline = time.monotonic() + DEADLINE
    while not _sigint_ignored(group.process.pid) and time.monotonic() < deadline:
        time.sleep(0.01)  # the worker's first statement; Maya's start-up (3 s) follows
    group.ctrl_c()
    code, stderr = group.finish()
    scene = group.lines.wait_for("described")["scene"]
    assert code == 0 and scene["layers"]
    assert "KeyboardInterrupt" not in stderr and "Traceback" not in stderr


@posix_only
def test_ctrl_c_to_the_whole_cli_group_prints_no_worker_traceback(tmp_path: Path) -> None:
    from test_cli_render import CLI as cli
    from test_cli_render import cli_env

    env = cli_env(tmp_path, LRC_SIM_TIME_SCALE="0.05")
    proc = subprocess.Popen(
        [
            *cli,
            "render",
            "--scene",
            str(SHOT),
            "--frames",
            "1-48",
            "--output",
            str(tmp_path / "images"),
            "--simulate",
            "--json",
            "--verbose",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    seen: list[dict[str, Any]] = []
    try:
        assert proc.stdout is not None and proc.stderr is not None
        for line in proc.stdout:
            seen.append(json.loads(line))
            if sum(e["event"] == "frame_finished" for e in seen) >= 2:
                break
        os.killpg(proc.pid, signal.SIGINT)  # the terminal's Ctrl-C: every process in it
        rest, stderr = rest_of_output(proc)
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    workers = [e["pid"] for e in seen if e["event"] == "worker_started"]
    logs = "".join(p.read_text(errors="replace") for p in (tmp_path / "tmp").rglob("*.log"))
    for text in (rest, stderr, logs):
        assert "KeyboardInterrupt" not in text
    assert alive_pids(workers) == [] or gone_within_deadline(workers[0])
