"""`lrc-batch-render render` / `resume` as separate processes, the way a user or a farm
script runs them: JSON lines, exit codes, SIGKILL + resume, Ctrl-C, no orphans."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sim_helpers import SHOT, alive_pids, rest_of_output

from lrc_toolbox.core.job_store import JobStore
from lrc_toolbox.records.models import FrameState

CLI = [sys.executable, "-m", "lrc_toolbox.cli.batch_render_cli"]


def cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LRC_SIM", "LRC_SIMULATE"))}
    env.update(
        LRC_PREFS_DIR=str(tmp_path / "prefs"),
        LRC_TEMP_ROOT=str(tmp_path / "tmp"),
        LRC_JOB_STORE_PATH=str(tmp_path / "jobs.sqlite"),
        LRC_MIN_FREE_DISK_MB="0",
        LRC_WARN_FREE_DISK_MB="0",
        LRC_STOP_GRACE_SECONDS="1",
        LRC_SIMULATE_GPUS="4",
        LRC_SIM_TIME_SCALE="0.002",
        LRC_SIM_STATE_DIR=str(tmp_path / "sim-state"),
        # the engine in the CLI process (render --foreground), as these tests SIGKILL it
        # and expect its workers gone; tests/test_cli_service.py covers the service
        LRC_RENDER_SERVICE="0",
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.update(extra)
    return env


def render_args(tmp_path: Path, frames: str = "1-24", *extra: str) -> list[str]:
    return [
        *CLI,
        "render",
        "--scene",
        str(SHOT),
        "--layers",
        "all",
        "--frames",
        frames,
        "--output",
        str(tmp_path / "images"),
        "--simulate",
        "--json",
        *extra,
    ]


def events(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def alive(pids: list[int]) -> list[int]:
    return alive_pids(pids)


def wait_gone(pids: list[int], timeout: float = 15.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while alive(pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return alive(pids)


def test_render_json_renders_every_frame_on_distinct_gpus(tmp_path: Path) -> None:
    result = subprocess.run(
        render_args(tmp_path), env=cli_env(tmp_path), capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stderr
    stream = events(result.stdout)  # every line parses as JSON
    finished = [e for e in stream if e["event"] == "frame_finished"]
    assert len(finished) == 48
    devices = {e["device"] for e in stream if e["event"] == "worker_started"}
    assert len(devices) == 3 and not any(d.startswith("GPU 0") for d in devices)
    assert stream[-1]["event"] == "batch_finished" and stream[-1]["summary"]["state"] == "done"


def _render_with_a_crash_and_a_hang(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = cli_env(tmp_path, LRC_SIM_CRASH_AT="3", LRC_SIM_HANG_AT="6", LRC_SIM_FAULT_TIMES="1")
    return subprocess.run(
        render_args(tmp_path, "1-12", "--frame-timeout", "2"),
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_crash_and_hang_are_retried_and_the_batch_still_finishes(tmp_path: Path) -> None:
    result = _render_with_a_crash_and_a_hang(tmp_path)
    assert result.returncode == 0, result.stderr
    summary = events(result.stdout)[-1]["summary"]
    assert summary["done"] == 24 and summary["retries"] >= 2


def test_a_worker_out_of_work_is_not_restarted_while_others_hold_frames(tmp_path: Path) -> None:
    # a crash and a hang restart their own slots once each; a worker that quit for want of
    # work stays gone even while other workers still hold frames sent to them ahead
    result = _render_with_a_crash_and_a_hang(tmp_path)
    assert result.returncode == 0, result.stderr
    started = [e for e in events(result.stdout) if e["event"] == "worker_started"]
    assert len(started) <= 3 + 2, [e["worker"] for e in started]


def test_failed_frames_exit_1(tmp_path: Path) -> None:
    env = cli_env(tmp_path, LRC_SIM_RENDER_ERROR_AT="2")
    result = subprocess.run(
        render_args(tmp_path, "1-3", "--max-attempts", "1"),
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 1
    assert events(result.stdout)[-1]["summary"]["failed"] == 2  # frame 2 of BG and of CHAR


def test_bad_layer_exits_2_with_a_json_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [*render_args(tmp_path), "--layers", "NOPE"],
        env=cli_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    (error,) = events(result.stdout)
    assert error["event"] == "error" and "NOPE" in error["message"]


def _start_and_wait_for_frames(
    tmp_path: Path, env: dict[str, str], count: int
) -> tuple[subprocess.Popen[str], list[dict[str, Any]]]:
    proc = subprocess.Popen(
        render_args(tmp_path, "1-48"), env=env, stdout=subprocess.PIPE, text=True
    )
    seen: list[dict[str, Any]] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        seen.append(json.loads(line))
        if sum(e["event"] == "frame_finished" for e in seen) >= count:
            break
    return proc, seen


def test_sigkill_then_resume_renders_only_the_missing_frames(tmp_path: Path) -> None:
    env = cli_env(tmp_path, LRC_SIM_TIME_SCALE="0.05")
    proc, seen = _start_and_wait_for_frames(tmp_path, env, count=6)
    batch_id = next(e["batch_id"] for e in seen if e["event"] == "batch_started")
    workers = [e["pid"] for e in seen if e["event"] == "worker_started"]
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    # the workers notice their manager is gone and exit by themselves
    assert wait_gone(workers) == []
    with JobStore(tmp_path / "jobs.sqlite") as store:
        done_before = len(store.frames(batch_id, states=[FrameState.DONE]))
    assert 6 <= done_before < 96

    result = subprocess.run(
        [*CLI, "resume", batch_id, "--simulate", "--json"],
        env=cli_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    stream = events(result.stdout)
    assert sum(e["event"] == "frame_finished" for e in stream) == 96 - done_before
    with JobStore(tmp_path / "jobs.sqlite") as store:
        assert {f.state for f in store.frames(batch_id)} == {FrameState.DONE}
    assert wait_gone([e["pid"] for e in stream if e["event"] == "worker_started"]) == []


def test_ctrl_c_stops_gracefully_exits_130_and_leaves_no_process(tmp_path: Path) -> None:
    env = cli_env(tmp_path, LRC_SIM_TIME_SCALE="0.05")
    proc, seen = _start_and_wait_for_frames(tmp_path, env, count=2)
    workers = [e["pid"] for e in seen if e["event"] == "worker_started"]
    proc.send_signal(signal.SIGINT)
    assert proc.stdout is not None
    rest = events(rest_of_output(proc)[0])
    assert proc.wait(timeout=60) == 130
    assert rest[-1]["event"] == "batch_finished"
    assert rest[-1]["summary"]["state"] == "cancelled"
    assert wait_gone(workers) == []


def test_a_reader_that_goes_away_stops_the_printing_not_the_batch() -> None:
    from lrc_toolbox.cli.run_batch import _Printer

    class ClosedPipe(io.StringIO):
        writes = 0

        def write(self, text: str) -> int:
            ClosedPipe.writes += 1
            raise BrokenPipeError(32, "Broken pipe")

    printer = _Printer(ClosedPipe(), io.StringIO(), as_json=True, verbose=False, quiet=False)
    printer.event("frame_started", worker="gpu1", layer="BG", frame=1)
    printer.event("frame_started", worker="gpu1", layer="BG", frame=2)  # no second try
    assert ClosedPipe.writes == 1
