"""`lrc-batch-render` through the local render service (issue 13), end to end on the
simulator: render / resume in the service, the batch outliving a killed client, --detach,
status --follow, the queue, `service status|stop|start`, --foreground and the messages.

Every test has its own temp root (so its own service); the fixture stops whatever service
the test started, and the services exit after 2 idle seconds anyway."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sim_helpers import SHOT, rest_of_output
from test_cli_render import CLI, cli_env, events, render_args, wait_gone

from lrc_toolbox.core.batch_lock import process_alive
from lrc_toolbox.core.events import EVENT_NAMES
from lrc_toolbox.core.job_store import JobStore
from lrc_toolbox.records.models import BatchState, FrameState

#: the command line runs the batch in the service by default: these tests say so explicitly
SERVICE_ENV = {"LRC_RENDER_SERVICE": "1", "LRC_SERVICE_IDLE_SECONDS": "2"}


def own_lines(text: str) -> list[str]:
    """The command's stderr lines, without Qt.py's import warnings (the PySide2 leg)."""
    return [line for line in text.splitlines() if not line.startswith("Qt.py [")]


def service_info(tmp_path: Path) -> dict[str, Any] | None:
    try:
        return json.loads((tmp_path / "tmp" / "service" / "service.json").read_text())  # type: ignore[no-any-return]
    except (OSError, ValueError):
        return None


def _end_service(tmp_path: Path) -> None:
    """Stop the test's service (SIGTERM: it stops its batch), kill it if it lingers."""
    info = service_info(tmp_path)
    if info is None or not process_alive(info["pid"]):
        return
    os.kill(info["pid"], signal.SIGTERM)
    if wait_gone([info["pid"]], timeout=15):
        os.kill(info["pid"], signal.SIGKILL)


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    yield cli_env(tmp_path, **SERVICE_ENV)
    _end_service(tmp_path)


def run(
    args: list[str], env: dict[str, str], timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout)


def slow(env: dict[str, str], scale: str = "0.1") -> dict[str, str]:
    return {**env, "LRC_SIM_TIME_SCALE": scale}


def detach(tmp_path: Path, env: dict[str, str], frames: str, output: str = "images") -> str:
    args = render_args(tmp_path, frames, "--detach")
    args[args.index("--output") + 1] = str(tmp_path / output)
    result = run(args, env, timeout=60)
    assert result.returncode == 0, result.stderr
    (submitted,) = events(result.stdout)
    return str(submitted["batch_id"])


def follow(env: dict[str, str], batch_id: str = "") -> subprocess.CompletedProcess[str]:
    return run([*CLI, "status", "--follow", *([batch_id] if batch_id else []), "--json"], env)


def store_states(tmp_path: Path, batch_id: str) -> set[FrameState]:
    with JobStore(tmp_path / "jobs.sqlite") as store:
        return {f.state for f in store.frames(batch_id)}


def test_render_through_the_service_gives_the_foreground_events_and_every_frame(
    tmp_path: Path, env: dict[str, str]
) -> None:
    proc = subprocess.Popen(
        render_args(tmp_path, "1-12"), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    served = events(out)
    batch_id = served[0]["batch_id"]
    with JobStore(tmp_path / "jobs.sqlite") as store:
        manager_pid = store.get_batch(batch_id).manager_pid
    assert manager_pid not in (None, proc.pid)  # the service rendered it, not the CLI
    foreground = run([*render_args(tmp_path, "1-12"), "--foreground"], env)
    assert foreground.returncode == 0, foreground.stderr
    local = events(foreground.stdout)
    # each event has the fields it has in the foreground (progress is coalesced: at most
    # ~10 per second per worker, and none for a frame that finished within a flush)
    shapes = {e["event"]: set(e) for e in local}
    assert {e["event"]: set(e) for e in served if e["event"] != "frame_progress"} == {
        name: keys for name, keys in shapes.items() if name != "frame_progress"
    }
    assert set(shapes) <= set(EVENT_NAMES)
    assert served[0]["event"] == "batch_started" and served[-1]["event"] == "batch_finished"
    assert sum(e["event"] == "frame_finished" for e in served) == 24
    assert served[-1]["summary"]["state"] == "done" and served[-1]["summary"]["done"] == 24


def test_a_killed_render_client_leaves_the_batch_rendering_to_the_last_frame(
    tmp_path: Path, env: dict[str, str]
) -> None:
    proc = subprocess.Popen(
        render_args(tmp_path, "1-24"), env=slow(env, "0.2"), stdout=subprocess.PIPE, text=True
    )
    seen: list[dict[str, Any]] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        seen.append(json.loads(line))
        if sum(e["event"] == "frame_finished" for e in seen) >= 3:
            break
    batch_id = next(e["batch_id"] for e in seen if e["event"] == "batch_started")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    followed = follow(env, batch_id)
    assert followed.returncode == 0 and followed.stdout.startswith('{"event"'), followed.stderr
    stream = events(followed.stdout)
    assert stream[0]["event"] == "batch_started"  # the replay comes first
    assert stream[-1]["summary"]["state"] == "done" and stream[-1]["summary"]["done"] == 48
    assert store_states(tmp_path, batch_id) == {FrameState.DONE}


def test_detach_prints_the_batch_id_and_status_follow_sees_it_finish(
    tmp_path: Path, env: dict[str, str]
) -> None:
    started = time.monotonic()
    batch_id = detach(tmp_path, slow(env), "1-24")
    assert time.monotonic() - started < 30  # it returned without waiting for 48 frames
    followed = follow(env)
    assert followed.returncode == 0, followed.stderr
    finished = events(followed.stdout)[-1]
    assert finished["event"] == "batch_finished"
    assert finished["summary"]["batch_id"] == batch_id
    assert finished["summary"]["done"] == 48


def test_detach_json_says_whether_the_batch_waits(tmp_path: Path, env: dict[str, str]) -> None:
    args = render_args(tmp_path, "1-24", "--detach")
    first = run(args, slow(env), timeout=60)
    args[args.index("--output") + 1] = str(tmp_path / "other")
    second = run(args, slow(env), timeout=60)
    assert [e["queued"] for e in events(first.stdout) + events(second.stdout)] == [False, True]
    assert {e["event"] for e in events(first.stdout) + events(second.stdout)} == {"batch_submitted"}


def test_a_second_render_waits_in_the_queue_and_both_finish(
    tmp_path: Path, env: dict[str, str]
) -> None:
    first = subprocess.Popen(
        render_args(tmp_path, "1-24"), env=slow(env), stdout=subprocess.PIPE, text=True
    )
    assert first.stdout is not None
    assert json.loads(first.stdout.readline())["event"] == "batch_started"
    args = render_args(tmp_path, "1-6")
    args[args.index("--output") + 1] = str(tmp_path / "second")
    second = run(args, env)
    assert "waits in the render service" in second.stderr
    assert first.wait(timeout=180) == 0 and second.returncode == 0, second.stderr
    rest = events(first.stdout.read())
    ids = [rest[-1]["summary"]["batch_id"], events(second.stdout)[-1]["summary"]["batch_id"]]
    assert [store_states(tmp_path, i) for i in ids] == [{FrameState.DONE}] * 2


def test_ctrl_c_stops_the_batch_in_the_service_and_exits_130(
    tmp_path: Path, env: dict[str, str]
) -> None:
    proc = subprocess.Popen(
        render_args(tmp_path, "1-48"), env=slow(env), stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    seen = [json.loads(proc.stdout.readline())]
    while seen[-1]["event"] != "frame_finished":
        seen.append(json.loads(proc.stdout.readline()))
    proc.send_signal(signal.SIGINT)
    rest = events(rest_of_output(proc)[0])
    assert proc.wait(timeout=60) == 130
    assert rest[-1]["event"] == "batch_finished" and rest[-1]["summary"]["state"] == "cancelled"
    with JobStore(tmp_path / "jobs.sqlite") as store:
        assert store.get_batch(seen[0]["batch_id"]).state is BatchState.CANCELLED


def test_service_status_shows_the_pid_and_the_running_batch(
    tmp_path: Path, env: dict[str, str]
) -> None:
    batch_id = detach(tmp_path, slow(env), "1-48")
    result = run([*CLI, "service", "status", "--json"], env, timeout=60)
    assert result.returncode == 0, result.stderr
    state = json.loads(result.stdout)
    info = service_info(tmp_path)
    assert info is not None and state["running"] is True and state["pid"] == info["pid"]
    assert state["simulate"] is True
    assert [(b["batch_id"], b["status"]) for b in state["batches"]] == [(batch_id, "running")]
    text = run([*CLI, "service", "status"], env, timeout=60).stdout
    assert f"pid {info['pid']}" in text and batch_id in text


def test_service_commands_say_when_none_runs(tmp_path: Path, env: dict[str, str]) -> None:
    status = run([*CLI, "service", "status"], env, timeout=60)
    stop = run([*CLI, "service", "stop"], env, timeout=60)
    for result in (status, stop):
        assert result.returncode == 0
        assert "no render service runs" in result.stderr
    assert json.loads(run([*CLI, "service", "status", "--json"], env).stdout) == {"running": False}


def test_service_start_prints_the_pid_and_stop_ends_an_idle_service(
    tmp_path: Path, env: dict[str, str]
) -> None:
    long_idle = {**env, "LRC_SERVICE_IDLE_SECONDS": "60"}
    started = run([*CLI, "service", "start", "--simulate"], long_idle, timeout=60)
    assert started.returncode == 0, started.stderr
    info = service_info(tmp_path)
    assert info is not None and f"pid {info['pid']}" in started.stdout
    again = run([*CLI, "service", "start", "--simulate"], long_idle, timeout=60)
    assert f"already runs: pid {info['pid']}" in again.stdout
    stopped = run([*CLI, "service", "stop"], long_idle, timeout=60)
    assert stopped.returncode == 0, stopped.stderr
    assert f"render service {info['pid']} stopped" in stopped.stdout
    assert not process_alive(info["pid"])


def test_service_stop_kill_stops_the_batch_and_resume_finishes_it(
    tmp_path: Path, env: dict[str, str]
) -> None:
    batch_id = detach(tmp_path, slow(env), "1-48")
    deadline = time.monotonic() + 60
    while FrameState.DONE not in store_states(tmp_path, batch_id):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    info = service_info(tmp_path)
    assert info is not None
    stopped = run([*CLI, "service", "stop", "--kill"], env, timeout=120)
    assert stopped.returncode == 0, stopped.stderr
    assert f"render service {info['pid']} stopped" in stopped.stdout
    assert not process_alive(info["pid"])
    with JobStore(tmp_path / "jobs.sqlite") as store:
        assert store.get_batch(batch_id).state.resumable
    resumed = run([*CLI, "resume", batch_id, "--simulate", "--json"], env)
    assert resumed.returncode == 0, resumed.stderr
    assert store_states(tmp_path, batch_id) == {FrameState.DONE}


def test_foreground_renders_in_the_cli_process_without_a_service(
    tmp_path: Path, env: dict[str, str]
) -> None:
    proc = subprocess.Popen(
        [*render_args(tmp_path, "1-3"), "--foreground"], env=env, stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    out, _ = proc.communicate(timeout=180)
    assert proc.returncode == 0
    batch_id = events(out)[0]["batch_id"]
    with JobStore(tmp_path / "jobs.sqlite") as store:
        assert store.get_batch(batch_id).manager_pid == proc.pid
    assert not (tmp_path / "tmp" / "service").exists()


def test_dry_run_never_contacts_the_service(tmp_path: Path, env: dict[str, str]) -> None:
    result = run([*render_args(tmp_path, "1-3"), "--dry-run"], env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert events(result.stdout)[0]["event"] == "plan"
    assert not (tmp_path / "tmp" / "service").exists()


def test_a_service_that_cannot_be_reached_is_one_error_line_and_exit_3(
    tmp_path: Path, env: dict[str, str]
) -> None:
    (tmp_path / "tmp").mkdir()
    (tmp_path / "tmp" / "service").write_text("not a folder")
    result = run(render_args(tmp_path, "1-3"), env, timeout=60)
    assert result.returncode == 3
    (line,) = own_lines(result.stderr)
    assert line.startswith("error: the render service cannot be used") and "--foreground" in line
    (error,) = events(result.stdout)
    assert error["event"] == "error" and error["exit_code"] == 3


def test_status_follow_without_a_service_says_so_and_prints_the_status(
    tmp_path: Path, env: dict[str, str]
) -> None:
    rendered = run([*render_args(tmp_path, "1-2"), "--foreground"], env)
    assert rendered.returncode == 0, rendered.stderr
    result = run([*CLI, "status", "--follow"], env, timeout=60)
    assert result.returncode == 0
    assert "no render service runs" in result.stderr
    assert result.stdout.startswith("batch   ") and " done\n" in result.stdout


def test_python_api_renders_through_the_service(
    tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from lrc_toolbox import api

    for key, value in env.items():
        if key.startswith("LRC_"):
            monkeypatch.setenv(key, value)
    job = {"scene": str(SHOT), "layers": ["BG"], "frames": "1-3",
           "output_dir": str(tmp_path / "img")}  # fmt: skip
    summary = api.render(job, simulate=True, service=True)
    assert isinstance(summary, dict) and summary["state"] == "done" and summary["done"] == 3
    with JobStore(tmp_path / "jobs.sqlite") as store:
        manager_pid = store.get_batch(summary["batch_id"]).manager_pid
    info = service_info(tmp_path)
    assert info is not None and manager_pid == info["pid"] != os.getpid()


def _render_then_queue(
    tmp_path: Path, env: dict[str, str]
) -> tuple[subprocess.Popen[str], subprocess.Popen[str], str]:
    """A slow batch rendering in the service and a second `render` waiting behind it."""
    first = subprocess.Popen(
        render_args(tmp_path, "1-48"), env=slow(env), stdout=subprocess.PIPE, text=True
    )
    assert first.stdout is not None
    started = json.loads(first.stdout.readline())
    assert started["event"] == "batch_started"
    args = [a for a in render_args(tmp_path, "1-6") if a != "--json"]  # the text it says
    args[args.index("--output") + 1] = str(tmp_path / "second")
    second = subprocess.Popen(
        args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert second.stderr is not None
    line = second.stderr.readline()
    while line.startswith("Qt.py ["):
        line = second.stderr.readline()
    assert "waits in the render service" in line
    return first, second, started["batch_id"]


def test_ctrl_c_on_a_waiting_render_takes_it_out_of_the_queue(
    tmp_path: Path, env: dict[str, str]
) -> None:
    first, second, first_id = _render_then_queue(tmp_path, env)
    second.send_signal(signal.SIGINT)
    out, err = second.communicate(timeout=60)
    assert second.returncode == 130, err
    assert "stopping batch" in err and out == ""  # it never started: no event
    state = json.loads(run([*CLI, "service", "status", "--json"], env).stdout)
    assert [(b["batch_id"], b["status"]) for b in state["batches"]] == [(first_id, "running")]
    first.kill()


def test_a_waiting_render_ends_with_exit_3_when_the_service_stops(
    tmp_path: Path, env: dict[str, str]
) -> None:
    first, second, first_id = _render_then_queue(tmp_path, env)
    stopped = run([*CLI, "service", "stop", "--kill"], env, timeout=120)
    assert stopped.returncode == 0, stopped.stderr
    _, err = second.communicate(timeout=60)
    assert second.returncode == 3, err
    assert "the render service stopped while batch" in err and "had not started" in err
    assert "resume" in err
    # its batch was stopped, and the service's exit sends batch_finished before hanging up
    assert first.wait(timeout=60) == 130
    with JobStore(tmp_path / "jobs.sqlite") as store:
        assert store.get_batch(first_id).state.resumable


def test_foreground_and_detach_cannot_be_combined(capsys: pytest.CaptureFixture[str]) -> None:
    from lrc_toolbox.cli.batch_render_cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["render", "--scene", str(SHOT), "--foreground", "--detach"])
    assert exit_info.value.code == 2
    assert "not allowed with argument --foreground" in capsys.readouterr().err


def test_service_status_text_lists_running_queued_and_finished_batches() -> None:
    from lrc_toolbox.cli.service_command import format_service_state
    from lrc_toolbox.records.batch import BatchSummary
    from lrc_toolbox.records.service import ServiceBatch, ServiceState

    done = BatchSummary(batch_id="b1", state=BatchState.DONE, total=4, done=4, finished=True)
    state = ServiceState(
        pid=4242, version="9.9", started=time.time() - 300, clients=1, simulate=True,
        batches=[
            ServiceBatch("b1", "finished", "/s/a.ma", "lrc-batch-render 1", done),
            ServiceBatch("b2", "running", "/s/b.ma", "maya 7",
                         BatchSummary(batch_id="b2", total=10, done=3, failed=1)),
            ServiceBatch("b3", "queued", "/s/c.ma", "python 8"),
        ],
    )  # fmt: skip
    text = format_service_state(state, Path("/t"))
    assert "pid 4242, lrc_toolbox 9.9, simulated workers" in text and "(5 min ago)" in text
    rows = [line.split() for line in text.splitlines() if line.startswith("  ")]
    assert [row[:2] for row in rows] == [["finished", "b1"], ["running", "b2"], ["queued", "b3"]]
    assert "done: 4/4 done" in text and "3/10 done, 1 failed" in text and "(from maya 7)" in text


def test_relative_paths_are_made_absolute_before_the_service_gets_them() -> None:
    from lrc_toolbox.core.batch_handle import absolute_config
    from lrc_toolbox.records.models import RenderConfig

    config = absolute_config(
        RenderConfig(scene="shots/a.ma", output_dir="../img", project=None, mayapy="mayapy",
                     image_prefix="<Scene>/<RenderLayer>"),
        cwd="/work/job",
    )  # fmt: skip
    assert (config.scene, config.output_dir) == ("/work/job/shots/a.ma", "/work/img")
    assert config.project is None and config.mayapy == "mayapy"  # found on PATH: kept
    assert config.image_prefix == "<Scene>/<RenderLayer>"  # relative to the output folder


def test_python_api_handle_of_a_queued_batch_says_so_and_stop_takes_it_out(
    tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from lrc_toolbox import api

    for key, value in slow(env).items():
        if key.startswith("LRC_"):
            monkeypatch.setenv(key, value)

    def job(output: str, frames: str) -> dict[str, Any]:
        return {"scene": str(SHOT), "frames": frames, "output_dir": str(tmp_path / output)}

    first = api.submit(job("a", "1-48"), simulate=True, service=True)
    second = api.submit(job("b", "1-2"), simulate=True, service=True)
    assert second.queued and second.status()["state"] == "queued"
    second.stop()
    assert second.wait(30)["state"] == "cancelled"
    with JobStore(tmp_path / "jobs.sqlite") as store:
        assert store.get_batch(str(second.batch_id)).state is BatchState.CANCELLED
    assert first.status()["state"] == "running"  # the batch before it goes on
    first.stop()
    assert first.wait(60)["state"] == "cancelled"
