"""Faults that must never take a batch down or leave it without an end (issue 12): one
bad frame against a bad GPU, a job store that cannot be written, an output disk that fills
up, SIGTERM. Each test is a row of docs/reliability.md."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sim_helpers import rest_of_output
from test_cli_render import _start_and_wait_for_frames, cli_env, events, wait_gone
from test_render_engine import config, make_api, run, worker_processes_alive

from lrc_toolbox.core.batch_render_api import BatchRenderAPI
from lrc_toolbox.core.job_store import JobStore, JobStoreError
from lrc_toolbox.core.ready_manifest import read_ready
from lrc_toolbox.records.batch import ExitCode
from lrc_toolbox.records.models import FrameState

pytestmark = pytest.mark.qt


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("LRC_SIM_TIME_SCALE", "0.002")
    monkeypatch.setenv("LRC_SIM_STATE_DIR", str(tmp_path / "sim-state"))
    return tmp_path


@pytest.fixture
def api(sim: Path) -> Iterator[BatchRenderAPI]:
    instance = make_api(sim)
    yield instance
    instance.shutdown()


def _fail_store_after(monkeypatch: pytest.MonkeyPatch, store: JobStore, good: int) -> None:
    """The job store's disk fills up: frame_done works ``good`` times, then raises."""
    original = store.frame_done
    calls = {"n": 0}

    def frame_done(*args: Any, **kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] > good:
            raise JobStoreError("database or disk is full")
        original(*args, **kwargs)

    monkeypatch.setattr(store, "frame_done", frame_done)


# --------------------------------------------------------------------------- job store


def test_a_job_store_that_fails_mid_batch_ends_the_batch_with_exit_3(
    qtbot: Any, api: BatchRenderAPI, sim: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fail_store_after(monkeypatch, api.store, good=3)
    summary = run(qtbot, api, config(sim, layers=["BG"], frames="1-20"))
    assert summary["environment"] is True and summary["state"] == "failed"
    assert "job store could not be written" in summary["error"]
    assert summary["pending"] > 0 and summary["running"] == 0


def test_the_exit_code_of_an_environment_stop_is_3(
    qtbot: Any, api: BatchRenderAPI, sim: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fail_store_after(monkeypatch, api.store, good=1)
    with qtbot.waitSignal(api.batch_finished, timeout=90_000) as blocker:
        api.start_batch_render(config(sim, layers=["BG"], frames="1-8"))
    assert blocker.args[0].exit_code is ExitCode.ENVIRONMENT


def test_no_worker_survives_a_job_store_failure(
    qtbot: Any, api: BatchRenderAPI, sim: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fail_store_after(monkeypatch, api.store, good=2)
    summary = run(qtbot, api, config(sim, layers=["BG"], frames="1-20"))
    qtbot.waitUntil(lambda: not worker_processes_alive(api, summary["batch_id"]), timeout=10_000)


def test_resume_after_a_store_failure_finds_the_frames_rendered_before_it(
    qtbot: Any, sim: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = make_api(sim)
    try:
        with monkeypatch.context() as patch:
            _fail_store_after(patch, first.store, good=3)
            summary = run(qtbot, first, config(sim, layers=["BG"], frames="1-20"))
    finally:
        first.shutdown()
    batch_id = summary["batch_id"]
    listed = read_ready(sim / "images")
    assert listed is not None
    in_ready = {int(f) for f in listed["layers"]["BG"]["files"]}
    assert len(in_ready) == summary["done"] >= 4  # 3 recorded + the one the store lost
    second = make_api(sim)
    try:
        rendered: list[int] = []
        second.frame_finished.connect(lambda _w, _l, frame, _o: rendered.append(frame))
        with qtbot.waitSignal(second.batch_finished, timeout=90_000) as blocker:
            second.resume(batch_id)
        assert blocker.args[0].state.value == "done"
        assert not in_ready & set(rendered)  # nothing rendered twice
        with JobStore(sim / "jobs.sqlite") as store:
            assert {f.state for f in store.frames(batch_id)} == {FrameState.DONE}
    finally:
        second.shutdown()


# --------------------------------------------------------------------------- output disk


def _mount_tmpfs(path: Path, size_kb: int) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    try:
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(path)],
            capture_output=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return result.returncode == 0


@pytest.fixture
def small_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An output folder on a tiny tmpfs that fills up after a few frames. Where the test
    cannot mount one, the folder is ordinary and the simulator's renders fail from frame
    5 on, while the manager sees the folder as full (statvfs: 0 bytes free)."""
    disk = tmp_path / "disk"
    if _mount_tmpfs(disk, 160):
        try:
            yield disk
        finally:
            subprocess.run(["umount", str(disk)], capture_output=True, timeout=10)
        return
    fault = {"kind": "missing_output", "layer": "BG", "frame": 5}
    monkeypatch.setenv("LRC_SIM_CONFIG", json.dumps({"faults": [fault]}))
    real = os.statvfs

    class Full:
        f_bavail = 0
        f_frsize = 4096

    monkeypatch.setattr(
        os, "statvfs", lambda p: Full() if str(p).startswith(str(disk)) else real(p)
    )
    yield disk


def test_an_output_disk_that_fills_up_stops_the_batch_with_frames_pending(
    qtbot: Any, api: BatchRenderAPI, small_disk: Path
) -> None:
    cfg = config(small_disk.parent, layers=["BG"], frames="1-200", output_dir=str(small_disk))
    summary = run(qtbot, api, cfg)
    assert summary["environment"] is True
    assert "output folder" in summary["error"] and "resume" in summary["error"]
    assert summary["pending"] > 0 and summary["failed"] == 0


def test_a_full_output_disk_leaves_no_temp_files(
    qtbot: Any, api: BatchRenderAPI, small_disk: Path
) -> None:
    cfg = config(small_disk.parent, layers=["BG"], frames="1-200", output_dir=str(small_disk))
    run(qtbot, api, cfg)
    assert [p.name for p in small_disk.rglob("*") if p.name.endswith(".tmp")] == []


# --------------------------------------------------------------------------- signals


def test_sigterm_stops_gracefully_like_ctrl_c(tmp_path: Path) -> None:
    env = cli_env(tmp_path, LRC_SIM_TIME_SCALE="0.05")
    proc, seen = _start_and_wait_for_frames(tmp_path, env, count=2)
    workers = [e["pid"] for e in seen if e["event"] == "worker_started"]
    proc.send_signal(signal.SIGTERM)
    assert proc.stdout is not None
    rest = events(rest_of_output(proc)[0])
    assert proc.wait(timeout=60) == int(ExitCode.INTERRUPTED)
    assert rest[-1]["event"] == "batch_finished"
    assert rest[-1]["summary"]["state"] == "cancelled"
    assert wait_gone(workers) == []


def test_sigterm_leaves_ready_json_with_the_batch_state(tmp_path: Path) -> None:
    env = cli_env(tmp_path, LRC_SIM_TIME_SCALE="0.05")
    proc, _ = _start_and_wait_for_frames(tmp_path, env, count=2)
    proc.send_signal(signal.SIGTERM)
    assert proc.stdout is not None
    rest_of_output(proc)
    proc.wait(timeout=60)
    ready = read_ready(tmp_path / "images")
    assert ready is not None and ready["state"] == "cancelled"


# --------------------------------------------------------------------------- containment


def test_a_product_outside_the_output_folder_is_never_done(
    qtbot: Any, api: BatchRenderAPI, sim: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # what only Maya knows (the plan's prediction passed it): the renderer names a file
    # outside the folder; the frame fails for good and ready.json never lists it. (MtoA
    # prepends <RenderLayer>/ to a token-less prefix in a multi-layer scene, so one "../"
    # would only cancel that folder: two climb out.)
    monkeypatch.setattr(BatchRenderAPI, "_check_outputs_inside", lambda *a, **k: None)
    cfg = config(sim, layers=["BG"], frames="1-2", image_prefix="../../escaped/<Scene>")
    summary = run(qtbot, api, cfg)
    assert (summary["done"], summary["failed"]) == (0, 2)
    assert "outside the output folder" in summary["failed_frames"][0]["reason"]
    ready = read_ready(sim / "images")
    assert ready is not None and ready["layers"]["BG"]["files"] == {}


def test_the_cli_end_text_says_what_is_left_and_how_to_resume() -> None:
    from lrc_toolbox.cli.run_batch import _summary_text
    from lrc_toolbox.records.batch import BatchSummary
    from lrc_toolbox.records.models import BatchState

    summary = BatchSummary(
        batch_id="b1", state=BatchState.FAILED, done=3, pending=5, environment=True
    )
    text = _summary_text(summary)
    assert "5 left pending" in text and "lrc-batch-render resume b1" in text
