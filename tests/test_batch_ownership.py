"""One live owner per batch, one running batch per output folder, orphan reaping that
never touches a live manager's workers."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sim_helpers import alive_pids
from test_cli_render import CLI, cli_env, events, render_args, wait_gone

from lrc_toolbox.core import batch_lock
from lrc_toolbox.core.batch_lock import (
    BatchOwnedError,
    ManagerIdentity,
    OutputFolderBusyError,
    process_alive,
    process_start_time,
)
from lrc_toolbox.core.batch_render_api import reap_orphans
from lrc_toolbox.core.job_store import SCHEMA_VERSION, JobStore
from lrc_toolbox.records.batch import ExitCode
from lrc_toolbox.records.models import BatchState, FrameState, RenderConfig

HOST = socket.gethostname()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[JobStore]:
    with JobStore(tmp_path / "jobs.sqlite") as opened:
        yield opened


@pytest.fixture
def other_process() -> Iterator[subprocess.Popen[bytes]]:
    """A live process that is not this one: another manager, as far as the store knows."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def _identity(proc: subprocess.Popen[bytes], **changes: Any) -> ManagerIdentity:
    started = process_start_time(proc.pid)
    fields: dict[str, Any] = {
        "pid": proc.pid,
        "host": HOST,
        "started": started,
        "command": "lrc-batch-render render --scene shot.ma",
    }
    fields.update(changes)
    return ManagerIdentity(**fields)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _batch(
    store: JobStore,
    owner: ManagerIdentity | None = None,
    *,
    state: BatchState = BatchState.RUNNING,
    output_dir: str | None = None,
) -> str:
    batch_id = store.create_batch(
        RenderConfig(scene="/shots/sh010.ma"),
        {"BG": [1, 2, 3]},
        scene="/shots/sh010.ma",
        snapshot=None,
        owner=owner,
        output_dir=output_dir,
    )
    store.set_batch_state(batch_id, state)
    return batch_id


# --------------------------------------------------------------------------- the claim


def test_a_batch_whose_manager_is_alive_is_refused_naming_pid_since_and_command(
    store: JobStore, other_process: subprocess.Popen[bytes]
) -> None:
    batch_id = _batch(store, _identity(other_process))
    with pytest.raises(BatchOwnedError) as info:
        store.claim_batch(batch_id)
    message = str(info.value)
    assert f"pid {other_process.pid} on {HOST} since " in message
    assert "`lrc-batch-render render --scene shot.ma`" in message
    assert info.value.owner.pid == other_process.pid


def test_a_refused_claim_changes_nothing(
    store: JobStore, other_process: subprocess.Popen[bytes]
) -> None:
    batch_id = _batch(store, _identity(other_process))
    store.frame_started(batch_id, "BG", 1, worker="gpu1", device="GPU 1")
    before = store.get_batch(batch_id)
    with pytest.raises(BatchOwnedError):
        store.claim_batch(batch_id)
    assert store.get_batch(batch_id) == before
    assert store.frames(batch_id)[0].state is FrameState.RUNNING


def test_a_dead_managers_batch_is_taken_over_with_a_note(store: JobStore) -> None:
    dead = ManagerIdentity(pid=_dead_pid(), host=HOST, started=time.time() - 60)
    batch_id = _batch(store, dead)
    store.frame_started(batch_id, "BG", 1, worker="gpu1", device="GPU 1")
    claim = store.claim_batch(batch_id)
    assert claim.took_over and claim.owner.pid == os.getpid()
    note = claim.note()
    assert note is not None and f"pid {dead.pid}" in note and "took it over" in note
    record = store.get_batch(batch_id)
    assert record.manager_pid == os.getpid() and record.state is BatchState.PENDING
    assert store.frames(batch_id)[0].state is FrameState.PENDING  # cut off: rendered again


def test_an_interrupted_batch_is_taken_over_with_a_note(store: JobStore) -> None:
    batch_id = _batch(store, state=BatchState.INTERRUPTED)
    assert store.claim_batch(batch_id).note() is not None


def test_a_finished_batch_is_claimed_without_a_note_even_if_its_manager_lives(
    store: JobStore, other_process: subprocess.Popen[bytes]
) -> None:
    batch_id = _batch(store, _identity(other_process), state=BatchState.FAILED)
    claim = store.claim_batch(batch_id)
    assert claim.previous_state is BatchState.FAILED and claim.note() is None


def test_a_reused_pid_does_not_keep_a_batch_owned(
    store: JobStore, other_process: subprocess.Popen[bytes]
) -> None:
    """The recorded manager died and the OS gave its pid to another process since."""
    started = process_start_time(other_process.pid)
    assert started is not None
    batch_id = _batch(store, _identity(other_process, started=started - 3600))
    assert store.claim_batch(batch_id).took_over


def test_a_manager_on_another_host_counts_as_alive(store: JobStore) -> None:
    batch_id = _batch(store, ManagerIdentity(pid=_dead_pid(), host="render-07"))
    with pytest.raises(BatchOwnedError, match="resume it on render-07"):
        store.claim_batch(batch_id)


def test_a_second_api_in_this_process_is_refused_while_the_first_holds_the_batch(
    store: JobStore,
) -> None:
    batch_id = _batch(store, ManagerIdentity.this_process())
    batch_lock.hold(batch_id)
    try:
        with pytest.raises(BatchOwnedError, match=f"pid {os.getpid()}"):
            store.claim_batch(batch_id)
    finally:
        batch_lock.release(batch_id)
    assert store.claim_batch(batch_id).took_over  # released: the holder has gone


def test_release_gives_up_only_a_batch_this_manager_still_owns(
    store: JobStore, other_process: subprocess.Popen[bytes]
) -> None:
    me = ManagerIdentity.this_process()
    mine = _batch(store, me)
    store.frame_started(mine, "BG", 2, worker="gpu1", device="GPU 1")
    theirs = _batch(store, _identity(other_process))
    assert store.release_batch(mine, me, "quitting")
    assert not store.release_batch(theirs, me, "quitting")
    record = store.get_batch(mine)
    assert record.state is BatchState.INTERRUPTED and record.error == "quitting"
    assert store.frames(mine)[1].state is FrameState.PENDING
    assert store.get_batch(theirs).state is BatchState.RUNNING


# --------------------------------------------------------------------------- output folder


def test_a_second_batch_into_a_live_batchs_folder_is_refused_naming_it(
    store: JobStore, other_process: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    first = _batch(store, _identity(other_process), output_dir=str(tmp_path / "out"))
    with pytest.raises(OutputFolderBusyError) as info:
        _batch(store, output_dir=str(tmp_path / "out"))
    assert first in str(info.value) and str(tmp_path / "out") in str(info.value)
    assert [r.id for r in store.list_batches()] == [first]  # nothing was recorded


def test_one_folder_spelt_two_ways_is_one_folder(
    store: JobStore, other_process: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "out")
    _batch(store, _identity(other_process), output_dir=str(tmp_path / "out"))
    for spelling in (f"{tmp_path}/link", f"{tmp_path}/x/../out/", f"{tmp_path}/./out"):
        with pytest.raises(OutputFolderBusyError):
            _batch(store, output_dir=spelling)


def test_a_finished_or_orphaned_batch_does_not_hold_its_folder(
    store: JobStore, other_process: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    folder = str(tmp_path / "out")
    _batch(store, _identity(other_process), state=BatchState.DONE, output_dir=folder)
    _batch(store, ManagerIdentity(pid=_dead_pid(), host=HOST), output_dir=folder)
    assert store.output_folder_owner(folder) is None
    _batch(store, output_dir=folder)  # accepted


def test_resuming_into_a_folder_another_live_batch_now_uses_is_refused(
    store: JobStore, other_process: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    folder = str(tmp_path / "out")
    old = _batch(store, state=BatchState.INTERRUPTED, output_dir=folder)
    _batch(store, _identity(other_process), output_dir=folder)
    with pytest.raises(OutputFolderBusyError):
        store.claim_batch(old)
    assert store.get_batch(old).state is BatchState.INTERRUPTED


# --------------------------------------------------------------------------- processes


def test_process_start_time_without_psutil_agrees_with_psutil(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not Path("/proc/self/stat").exists():
        pytest.skip("the fallback reads /proc (Linux)")
    with_psutil = process_start_time(os.getpid())
    monkeypatch.setitem(sys.modules, "psutil", None)  # import psutil now fails
    without = process_start_time(os.getpid())
    assert with_psutil is not None and without is not None
    assert abs(with_psutil - without) <= batch_lock.START_TIME_TOLERANCE_S


def test_a_zombie_manager_is_dead(monkeypatch: pytest.MonkeyPatch) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 30
    while alive_pids([proc.pid]) and time.monotonic() < deadline:
        time.sleep(0.01)  # exited, not reaped: a zombie
    try:
        assert not process_alive(proc.pid)
        monkeypatch.setitem(sys.modules, "psutil", None)
        if Path("/proc/self/stat").exists():
            assert not process_alive(proc.pid)
    finally:
        proc.wait()


def test_a_schema_2_store_gains_the_owner_columns_and_keeps_its_batches(
    tmp_path: Path,
) -> None:
    path = tmp_path / "jobs.sqlite"
    with JobStore(path) as opened:
        batch_id = _batch(opened, output_dir=str(tmp_path))
    conn = sqlite3.connect(path)  # make it a file of the previous version
    conn.execute("DROP INDEX batches_by_output_dir")
    for column in ("manager_started", "manager_since", "manager_command", "output_dir"):
        conn.execute(f"ALTER TABLE batches DROP COLUMN {column}")
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()
    with JobStore(path) as opened:
        record = opened.get_batch(batch_id)
        assert record.manager is not None and record.manager.pid == os.getpid()
        assert record.manager.started is None
        opened.claim_batch(batch_id, output_dir=str(tmp_path))
        assert opened.get_batch(batch_id).output_dir is not None
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


_CLAIM_AT_ONCE = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from lrc_toolbox.core.batch_lock import BatchOwnershipError
    from lrc_toolbox.core.job_store import JobStore
    path, batch_id, go, done = sys.argv[1], sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])
    store = JobStore(path)
    while not go.exists():
        time.sleep(0.001)
    try:
        store.claim_batch(batch_id)
        print("won", flush=True)
    except BatchOwnershipError:
        print("lost", flush=True)
    while not done.exists():  # stay alive: a winner that exits would be a dead owner
        time.sleep(0.01)
    """
)


@pytest.mark.parametrize("round_", range(3))
def test_processes_claiming_one_batch_at_once_exactly_one_wins(
    store: JobStore, tmp_path: Path, round_: int
) -> None:
    batch_id = _batch(store, state=BatchState.INTERRUPTED)
    go, done = tmp_path / f"go{round_}", tmp_path / f"done{round_}"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _CLAIM_AT_ONCE, str(store.path), batch_id, str(go), str(done)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    try:
        time.sleep(0.5)  # let them all reach the starting line
        go.write_text("go")
        assert all(p.stdout is not None for p in procs)
        results = [p.stdout.readline().strip() for p in procs if p.stdout is not None]
    finally:
        done.write_text("done")
        for proc in procs:
            proc.wait(timeout=60)
    assert sorted(results) == ["lost", "lost", "lost", "won"]
    winner = procs[results.index("won")].pid
    assert store.get_batch(batch_id).manager_pid == winner


# --------------------------------------------------------------------------- orphan reaping


def _fake_worker(manager_pid: int) -> subprocess.Popen[bytes]:
    import psutil

    env = dict(os.environ, LRC_PARENT_PID=str(manager_pid))
    proc = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)", "-m", "lrc_toolbox.worker"],
        env=env,
    )
    # until the child has exec'd, its command line is still the test's (a loaded machine
    # makes that window long): reaping looks at the command line
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if "lrc_toolbox.worker" in " ".join(psutil.Process(proc.pid).cmdline()):
                break
        except psutil.Error:
            pass
        time.sleep(0.01)
    return proc


def test_reaping_skips_a_worker_whose_manager_is_alive() -> None:
    worker = _fake_worker(os.getpid())
    try:
        assert reap_orphans([worker.pid]) == []
        assert alive_pids([worker.pid]) == [worker.pid]
    finally:
        worker.kill()
        worker.wait()


def test_reaping_stops_a_worker_whose_manager_is_gone() -> None:
    worker = _fake_worker(_dead_pid())
    try:
        assert reap_orphans([worker.pid]) == [worker.pid]
        worker.wait(timeout=30)
    finally:
        worker.kill()
        worker.wait()


def test_reaping_never_touches_a_process_that_is_not_a_worker(
    other_process: subprocess.Popen[bytes],
) -> None:
    assert reap_orphans([other_process.pid]) == []
    assert alive_pids([other_process.pid]) == [other_process.pid]


# --------------------------------------------------------------------------- the CLI


def _render(tmp_path: Path, env: dict[str, str], *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*render_args(tmp_path, "1-48"), *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _read_until(proc: subprocess.Popen[str], finished: int) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        seen.append(json.loads(line))
        if sum(e["event"] == "frame_finished" for e in seen) >= finished:
            break
    return seen


def _rendered(stream: list[dict[str, Any]]) -> Counter[tuple[str, int]]:
    return Counter((e["layer"], e["frame"]) for e in stream if e["event"] == "frame_finished")


def test_resume_of_a_running_batch_says_who_owns_it_and_leaves_it_alone(
    tmp_path: Path,
) -> None:
    env = cli_env(tmp_path, LRC_SIM_TIME_SCALE="0.1")
    render = _render(tmp_path, env)
    seen = _read_until(render, 3)
    batch_id = next(e["batch_id"] for e in seen if e["event"] == "batch_started")
    resume = subprocess.run(
        [*CLI, "resume", batch_id[:15], "--simulate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert render.stdout is not None
    seen += events(render.stdout.read())
    assert render.wait(timeout=120) == ExitCode.OK
    assert resume.returncode == ExitCode.BAD_INPUT
    assert f"pid {render.pid} on {HOST}" in resume.stderr and "render" in resume.stderr
    assert "Traceback" not in resume.stderr
    # the live manager's workers were not taken for orphans: none was stopped or failed
    ends = {e["state"] for e in seen if e["event"] == "worker_finished"}
    assert ends == {"finished"} and not [e for e in seen if e["event"] == "frame_failed"]
    rendered = _rendered(seen)
    assert len(rendered) == 96 and set(rendered.values()) == {1}


def test_two_resumes_at_once_one_renders_the_rest_the_other_is_refused(
    tmp_path: Path,
) -> None:
    env = cli_env(tmp_path, LRC_SIM_TIME_SCALE="0.1")
    render = _render(tmp_path, env)
    seen = _read_until(render, 6)
    batch_id = next(e["batch_id"] for e in seen if e["event"] == "batch_started")
    render.send_signal(signal.SIGKILL)
    render.wait(timeout=30)
    assert wait_gone([e["pid"] for e in seen if e["event"] == "worker_started"]) == []
    with JobStore(tmp_path / "jobs.sqlite") as opened:
        done_before = {(f.layer, f.frame) for f in opened.frames(batch_id, [FrameState.DONE])}
    resumes = [
        subprocess.Popen(
            [*CLI, "resume", batch_id, "--simulate", "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=300) for p in resumes]
    codes = sorted(p.returncode for p in resumes)
    assert codes == [ExitCode.OK, ExitCode.BAD_INPUT], [err for _, err in outputs]
    loser = next(err for (_, err), p in zip(outputs, resumes, strict=True) if p.returncode)
    assert "already being rendered by another manager" in loser and "Traceback" not in loser
    stream = [e for out, _ in outputs for e in events(out)]
    rendered = _rendered(stream)
    assert set(rendered.values()) == {1} and not set(rendered) & done_before
    assert len(rendered) + len(done_before) == 96
    notes = [e["text"] for e in stream if e["event"] == "log" and "took it over" in e["text"]]
    assert len(notes) == 1 and f"pid {render.pid}" in notes[0]


def test_a_second_batch_into_a_running_batchs_folder_is_refused_and_ready_json_stays_right(
    tmp_path: Path,
) -> None:
    env = cli_env(tmp_path, LRC_SIM_TIME_SCALE="0.05")
    first = _render(tmp_path, env)
    seen = _read_until(first, 2)
    batch_id = next(e["batch_id"] for e in seen if e["event"] == "batch_started")
    second = subprocess.run(
        render_args(tmp_path, "1-5"), env=env, capture_output=True, text=True, timeout=120
    )
    assert first.stdout is not None
    seen += events(first.stdout.read())
    assert first.wait(timeout=120) == ExitCode.OK
    assert second.returncode == ExitCode.BAD_INPUT
    (error,) = events(second.stdout)
    assert batch_id in error["message"] and "--output" in error["message"]
    ready = json.loads((tmp_path / "images" / "ready.json").read_text())
    assert ready["batch_id"] == batch_id and ready["state"] == "done"
    assert sum(layer["count"] for layer in ready["layers"].values()) == 96
    snapshots = list((tmp_path / "tmp" / "snapshots").glob("*"))
    assert len(snapshots) == 1  # the refused batch copied no scene


def test_status_names_the_live_manager_of_a_running_batch(
    tmp_path: Path, other_process: subprocess.Popen[bytes]
) -> None:
    with JobStore(tmp_path / "jobs.sqlite") as opened:
        batch_id = _batch(opened, _identity(other_process))
    result = subprocess.run(
        [*CLI, "status", batch_id],
        env=cli_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == ExitCode.OK, result.stderr
    assert f"manager pid {other_process.pid} on {HOST} since " in result.stdout


def test_a_folder_taken_between_the_check_and_the_record_is_refused_leaving_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, other_process: subprocess.Popen[bytes]
) -> None:
    """The quick look before the scene copy saw the folder free; create_batch's own check,
    in its transaction, did not: exit 2, and the scene copy made meanwhile is removed."""
    from sim_helpers import SHOT

    from lrc_toolbox.config.batch_render_defaults import Settings
    from lrc_toolbox.core.batch_render_api import BadRequest, BatchRenderAPI

    settings = Settings(
        job_store_path=str(tmp_path / "jobs.sqlite"),
        temp_root=str(tmp_path / "tmp"),
        min_free_disk_mb=0,
        warn_free_disk_mb=0,
        simulate_gpus=4,
    )
    api = BatchRenderAPI(settings, simulate=True)
    running = _batch(api.store, _identity(other_process), output_dir=str(tmp_path / "out"))
    monkeypatch.setattr(JobStore, "output_folder_owner", lambda *args, **kwargs: None)
    config = RenderConfig(scene=str(SHOT), output_dir=str(tmp_path / "out"))
    with pytest.raises(BadRequest, match=running) as info:
        api.start_batch_render(config)
    assert info.value.exit_code == ExitCode.BAD_INPUT
    assert list((tmp_path / "tmp" / "snapshots").glob("*")) == []
    assert [r.id for r in api.store.list_batches()] == [running]


def test_a_refused_managers_clean_up_leaves_the_worker_folders_of_a_resumable_batch(
    tmp_path: Path,
) -> None:
    """A second `resume` refused at the moment the first takes the batch over must not
    delete the worker folders the first is creating (the dead manager's pid is still in
    their owner file until the winner rewrites it)."""
    from test_render_engine import make_api

    api = make_api(tmp_path)
    batch_id = _batch(api.store, _identity_of_dead(), state=BatchState.INTERRUPTED)
    folder = api.temp.worker_dir(batch_id, "gpu1")
    (folder.parent / "owner.pid").write_text(f"{_dead_pid()}\n")
    api.shutdown()
    assert folder.is_dir()


def _identity_of_dead() -> ManagerIdentity:
    return ManagerIdentity(pid=_dead_pid(), host=HOST, started=None)
