"""The job store keeps every batch, frame and worker, survives crashes and shares its file."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lrc_toolbox.core.job_store import (
    DB_FILE_NAME,
    SCHEMA_VERSION,
    BatchNotFoundError,
    CorruptJobStoreError,
    FrameChange,
    JobStore,
    JobStoreError,
    SchemaVersionError,
    default_job_store_path,
    pid_alive,
)
from lrc_toolbox.records.batch import BatchSummary, FrameProvenance, LayerCounts
from lrc_toolbox.records.models import (
    BatchState,
    FrameOrder,
    FrameState,
    RenderConfig,
    WorkerState,
)

DAY = 86400.0
T0 = 1_764_000_000.0  # a fixed "now" so ids and ages are predictable


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "jobs.sqlite"


@pytest.fixture
def store(db_path: Path) -> Iterator[JobStore]:
    with JobStore(db_path) as opened:
        yield opened


def _config() -> RenderConfig:
    return RenderConfig(scene="/shots/sh010/light.ma", layers=["BG", "CHAR"])


def _batch(
    store: JobStore,
    plan: dict[str, list[int]] | None = None,
    *,
    now: float | None = None,
    manager_pid: int | None = None,
    manager_host: str | None = None,
) -> str:
    """A batch of 5 frames unless ``plan`` says otherwise."""
    return store.create_batch(
        _config(),
        {"BG": [1, 2, 3], "CHAR": [1, 2]} if plan is None else plan,
        scene="/shots/sh010/light.ma",
        snapshot="/tmp/snap/light_0001.ma",
        now=now,
        manager_pid=manager_pid,
        manager_host=manager_host,
    )


def _run_python(code: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# --------------------------------------------------------------------------- opening


def test_new_database_uses_wal_and_the_current_schema_version(db_path: Path) -> None:
    JobStore(db_path).close()
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        conn.close()
    assert {"batches", "frames", "workers"} <= tables


def test_reopening_an_existing_database_keeps_its_batches(db_path: Path) -> None:
    with JobStore(db_path) as first:
        batch_id = _batch(first)
    with JobStore(db_path) as second:
        assert second.get_batch(batch_id).total == 5


def test_default_path_is_in_the_prefs_folder(prefs_dir: Path) -> None:
    with JobStore() as store:
        assert store.path == prefs_dir / DB_FILE_NAME
    assert (prefs_dir / DB_FILE_NAME).is_file()


def test_job_store_path_setting_overrides_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "elsewhere" / "jobs.db"
    monkeypatch.setenv("LRC_JOB_STORE_PATH", str(target))
    assert default_job_store_path() == target
    with JobStore() as store:
        assert store.path == target
    assert target.is_file()


def test_constructor_path_wins_over_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LRC_JOB_STORE_PATH", str(tmp_path / "from_setting.db"))
    with JobStore(tmp_path / "given.db") as store:
        assert store.path == tmp_path / "given.db"
    assert not (tmp_path / "from_setting.db").exists()


def test_database_from_a_newer_version_is_refused_with_a_clear_message(db_path: Path) -> None:
    JobStore(db_path).close()
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(SchemaVersionError, match="made by a newer lrc_toolbox") as info:
        JobStore(db_path)
    assert str(db_path) in str(info.value)


def test_another_programs_database_is_refused_and_left_untouched(db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    conn.execute("CREATE TABLE contacts (name TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(SchemaVersionError, match="not an lrc_toolbox job database"):
        JobStore(db_path)
    conn = sqlite3.connect(db_path)
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    conn.close()
    assert tables == ["contacts"]


def test_corrupt_file_names_the_file_says_move_it_aside_and_is_not_deleted(
    db_path: Path,
) -> None:
    garbage = b"definitely not a database\n" * 200
    db_path.write_bytes(garbage)
    with pytest.raises(CorruptJobStoreError) as info:
        JobStore(db_path)
    message = str(info.value)
    assert str(db_path) in message
    assert "Move it aside" in message
    assert db_path.read_bytes() == garbage


def test_a_folder_as_path_gets_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(JobStoreError, match="is a folder"):
        JobStore(tmp_path)


def test_a_closed_store_refuses_further_calls(db_path: Path) -> None:
    store = JobStore(db_path)
    batch_id = _batch(store)
    store.close()
    store.close()  # closing twice is harmless
    with pytest.raises(JobStoreError, match="closed"):
        store.get_batch(batch_id)


# --------------------------------------------------------------------------- batches


def test_create_batch_records_every_frame_pending(store: JobStore) -> None:
    batch_id = _batch(store)
    batch = store.get_batch(batch_id)
    assert batch.state is BatchState.PENDING
    assert batch.counts.pending == 5
    assert batch.total == 5
    assert all(f.state is FrameState.PENDING and f.attempts == 0 for f in store.frames(batch_id))


def test_create_batch_records_scene_snapshot_time_and_this_manager(store: JobStore) -> None:
    batch_id = _batch(store, now=T0)
    batch = store.get_batch(batch_id)
    assert batch.scene == "/shots/sh010/light.ma"
    assert batch.snapshot == "/tmp/snap/light_0001.ma"
    assert batch.created == batch.updated == T0
    assert batch.manager_pid == os.getpid()
    assert batch.manager_host
    assert batch.summary is None and batch.error is None


def test_batch_id_is_local_date_and_minute_then_a_random_suffix(store: JobStore) -> None:
    batch_id = _batch(store, now=T0)
    stamp = time.strftime("%Y%m%d-%H%M", time.localtime(T0))
    date, minute, suffix = batch_id.split("-")
    assert f"{date}-{minute}" == stamp
    assert len(suffix) == 6 and int(suffix, 16) >= 0


def test_batches_created_in_the_same_minute_get_different_ids(store: JobStore) -> None:
    ids = {_batch(store, now=T0) for _ in range(20)}
    assert len(ids) == 20


def test_render_config_round_trips_through_the_store(store: JobStore) -> None:
    config = RenderConfig(
        scene="/shots/sh010/light.ma",
        layers=["BG"],
        frames="1-100x5",
        renderer="arnold",
        gpus=[1, 2],
        frame_order=FrameOrder.PREVIEW_FIRST,
        frame_timeout=600,
        skip_existing=True,
    )
    batch_id = store.create_batch(config, {"BG": [1, 6]}, scene=config.scene, snapshot=None)
    assert store.get_batch(batch_id).config == config


def test_config_keys_from_a_newer_version_are_ignored_when_reading(
    store: JobStore, db_path: Path
) -> None:
    batch_id = _batch(store)
    data = _config().to_dict() | {"denoise_on_farm": True}
    conn = sqlite3.connect(db_path)
    conn.execute("UPDATE batches SET config_json = ? WHERE id = ?", (json.dumps(data), batch_id))
    conn.commit()
    conn.close()
    assert store.get_batch(batch_id).config == _config()


def test_plan_keeps_layer_and_frame_order_even_descending(store: JobStore) -> None:
    plan = {"CHAR": [10, 9, 8, 1], "BG": [100, 1, 50]}
    batch_id = _batch(store, plan)
    assert store.plan(batch_id) == plan
    assert list(store.plan(batch_id)) == ["CHAR", "BG"]
    assert [(f.layer, f.frame) for f in store.frames(batch_id)] == [
        ("CHAR", 10),
        ("CHAR", 9),
        ("CHAR", 8),
        ("CHAR", 1),
        ("BG", 100),
        ("BG", 1),
        ("BG", 50),
    ]


@settings(max_examples=40, deadline=None)
@given(
    plan=st.dictionaries(
        st.text(min_size=1, max_size=12),
        st.lists(st.integers(-100_000, 100_000), min_size=1, max_size=20, unique=True),
        min_size=1,
        max_size=4,
    )
)
def test_any_plan_round_trips_exactly(plan: dict[str, list[int]]) -> None:
    with tempfile.TemporaryDirectory() as folder, JobStore(Path(folder) / "j.db") as store:
        batch_id = _batch(store, plan)
        assert store.plan(batch_id) == plan
        assert list(store.plan(batch_id)) == list(plan)


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        ({"BG": [1, 2, 1]}, "frame 1 is listed twice"),
        ({}, "no frames"),
        ({"BG": []}, "no frames"),
        ({"": [1]}, "non-empty"),
        ({"BG": "1-10"}, "got a string"),
        ({"BG": [1.5]}, "integers"),
    ],
)
def test_create_batch_rejects_a_bad_plan_and_writes_nothing(
    store: JobStore, plan: dict[str, list[int]], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        _batch(store, plan)
    assert store.list_batches() == []


def test_get_batch_counts_frames_in_every_state(store: JobStore) -> None:
    batch_id = _batch(store, {"BG": [1, 2, 3, 4, 5, 6]})
    store.frame_started(batch_id, "BG", 1, worker="w0", device="GPU 0")
    store.frame_started(batch_id, "BG", 2, worker="w0", device="GPU 0")
    store.frame_done(batch_id, "BG", 2, outputs=["/out/bg.0002.exr"])
    store.frame_failed(batch_id, "BG", 3, state=FrameState.FAILED, error="licence")
    store.frame_skipped(batch_id, "BG", 4, "outputs exist")
    store.update_frames(batch_id, [FrameChange("BG", 5, FrameState.CANCELLED)])
    counts = store.get_batch(batch_id).counts
    assert counts == LayerCounts(
        total=6, pending=1, running=1, done=1, failed=1, skipped=1, cancelled=1
    )


def test_set_batch_state_records_state_error_and_summary(store: JobStore) -> None:
    batch_id = _batch(store, now=T0)
    store.set_batch_state(
        batch_id,
        BatchState.FAILED,
        error="2 frames failed",
        summary=BatchSummary(done=3),
        now=T0 + 5,
    )
    batch = store.get_batch(batch_id)
    assert batch.state is BatchState.FAILED
    assert batch.error == "2 frames failed"
    assert batch.summary == BatchSummary(done=3)
    assert batch.updated == T0 + 5


def test_set_batch_state_keeps_the_summary_but_clears_the_error_when_not_given(
    store: JobStore,
) -> None:
    batch_id = _batch(store)
    store.set_batch_state(
        batch_id, BatchState.INTERRUPTED, error="died", summary=BatchSummary(done=1)
    )
    store.set_batch_state(batch_id, BatchState.RUNNING)
    batch = store.get_batch(batch_id)
    assert batch.error is None
    assert batch.summary == BatchSummary(done=1)


def test_set_batch_state_of_an_unknown_batch_raises_key_error(store: JobStore) -> None:
    with pytest.raises(KeyError, match="no batch"):
        store.set_batch_state("20990101-0000-abcdef", BatchState.DONE)


def test_claim_batch_records_the_new_manager(store: JobStore) -> None:
    batch_id = _batch(store, manager_pid=999_999)  # a manager of this host that is gone
    store.claim_batch(batch_id)
    batch = store.get_batch(batch_id)
    assert batch.manager is not None and batch.manager.pid == os.getpid()
    assert batch.manager.started is not None


def test_list_batches_is_newest_first_and_limited(store: JobStore) -> None:
    ids = [_batch(store, now=T0 + i) for i in range(5)]
    listed = store.list_batches(limit=3)
    assert [b.id for b in listed] == ids[::-1][:3]
    assert all(b.total == 5 for b in listed)


def test_list_batches_filters_by_state(store: JobStore) -> None:
    done = _batch(store, now=T0)
    running = _batch(store, now=T0 + 1)
    store.set_batch_state(done, BatchState.DONE)
    store.set_batch_state(running, BatchState.RUNNING)
    assert [b.id for b in store.list_batches(states=[BatchState.RUNNING])] == [running]
    assert store.list_batches(states=[]) == []


# --------------------------------------------------------------------------- batch id prefixes


def test_a_unique_prefix_resolves_to_the_full_id(store: JobStore) -> None:
    batch_id = _batch(store, now=T0)
    _batch(store, now=T0 + 2 * DAY)
    prefix = batch_id[:8]
    assert store.resolve_id(prefix) == batch_id
    assert store.get_batch(prefix).id == batch_id
    assert store.plan(prefix) == {"BG": [1, 2, 3], "CHAR": [1, 2]}


def test_the_full_id_resolves_to_itself(store: JobStore) -> None:
    batch_id = _batch(store)
    assert store.resolve_id(batch_id) == batch_id


def test_an_ambiguous_prefix_lists_the_candidates(store: JobStore) -> None:
    first = _batch(store, now=T0)
    second = _batch(store, now=T0)
    with pytest.raises(KeyError) as info:
        store.resolve_id(first[:13])
    message = str(info.value)
    assert "ambiguous" in message
    assert first in message and second in message


def test_an_unknown_id_says_how_to_list_batches(store: JobStore) -> None:
    _batch(store)
    with pytest.raises(BatchNotFoundError) as info:
        store.get_batch("19990101")
    assert str(info.value) == "no batch '19990101'; `lrc-batch-render history` lists them"


def test_a_prefix_shorter_than_four_characters_is_refused(store: JobStore) -> None:
    batch_id = _batch(store)
    with pytest.raises(KeyError, match="at least 4 characters"):
        store.resolve_id(batch_id[:3])


# --------------------------------------------------------------------------- frames


def test_frame_started_marks_running_and_counts_the_attempt(store: JobStore) -> None:
    batch_id = _batch(store)
    store.frame_started(batch_id, "BG", 2, worker="w1", device="GPU 1", now=T0)
    store.frame_failed(batch_id, "BG", 2, state=FrameState.PENDING, error="crash", now=T0 + 1)
    store.frame_started(batch_id, "BG", 2, worker="w0", device="GPU 0", now=T0 + 2)
    (frame,) = [f for f in store.frames(batch_id) if (f.layer, f.frame) == ("BG", 2)]
    assert frame.state is FrameState.RUNNING
    assert frame.attempts == 2
    assert (frame.worker, frame.device) == ("w0", "GPU 0")
    assert frame.started == T0 + 2
    assert frame.finished is None and frame.error is None


def test_frame_done_records_outputs_and_end_time(store: JobStore) -> None:
    batch_id = _batch(store)
    store.frame_started(batch_id, "CHAR", 1, worker="w0", device="GPU 0", now=T0)
    outputs = ["/out/CHAR/beauty.0001.exr", "/out/CHAR/AO.0001.exr"]
    store.frame_done(batch_id, "CHAR", 1, outputs=outputs, now=T0 + 30)
    (frame,) = store.frames(batch_id, [FrameState.DONE])
    assert (frame.layer, frame.frame) == ("CHAR", 1)
    assert frame.outputs == outputs
    assert (frame.started, frame.finished) == (T0, T0 + 30)


def test_frame_failed_can_requeue_or_give_up(store: JobStore) -> None:
    batch_id = _batch(store)
    store.frame_failed(batch_id, "BG", 1, state=FrameState.PENDING, error="worker crashed")
    store.frame_failed(batch_id, "BG", 2, state=FrameState.FAILED, error="3 attempts failed")
    frames = {f.frame: f for f in store.frames(batch_id) if f.layer == "BG"}
    assert (frames[1].state, frames[1].error) == (FrameState.PENDING, "worker crashed")
    assert (frames[2].state, frames[2].error) == (FrameState.FAILED, "3 attempts failed")


def test_frame_failed_refuses_states_other_than_pending_or_failed(store: JobStore) -> None:
    batch_id = _batch(store)
    with pytest.raises(ValueError, match="pending or failed"):
        store.frame_failed(batch_id, "BG", 1, state=FrameState.DONE, error="?")


def test_frame_skipped_keeps_the_reason(store: JobStore) -> None:
    batch_id = _batch(store)
    store.frame_skipped(batch_id, "BG", 3, "outputs already exist", outputs=["/out/bg.3.exr"])
    (frame,) = store.frames(batch_id, [FrameState.SKIPPED])
    assert frame.error == "outputs already exist"
    assert frame.outputs == ["/out/bg.3.exr"]


def test_frame_writes_update_the_batch_activity_time(store: JobStore) -> None:
    batch_id = _batch(store, now=T0)
    store.frame_started(batch_id, "BG", 1, worker="w0", device="CPU", now=T0 + 60)
    assert store.get_batch(batch_id).updated == T0 + 60


def test_a_frame_not_in_the_batch_raises_key_error(store: JobStore) -> None:
    batch_id = _batch(store)
    with pytest.raises(KeyError, match="no frame 99 of layer 'BG'"):
        store.frame_done(batch_id, "BG", 99, outputs=[])


def test_frames_can_be_filtered_by_state(store: JobStore) -> None:
    batch_id = _batch(store)
    store.frame_done(batch_id, "BG", 2, outputs=[])
    store.frame_done(batch_id, "CHAR", 1, outputs=[])
    done = store.frames(batch_id, [FrameState.DONE])
    assert [(f.layer, f.frame) for f in done] == [("BG", 2), ("CHAR", 1)]
    assert store.frames(batch_id, []) == []


def test_update_frames_changes_many_frames_at_once(store: JobStore) -> None:
    batch_id = _batch(store)
    changed = store.update_frames(
        batch_id,
        [
            FrameChange("BG", 1, FrameState.CANCELLED, "stopped by the user"),
            FrameChange("CHAR", 2, FrameState.CANCELLED, "stopped by the user"),
        ],
    )
    assert changed == 2
    cancelled = store.frames(batch_id, [FrameState.CANCELLED])
    assert [(f.layer, f.frame, f.error) for f in cancelled] == [
        ("BG", 1, "stopped by the user"),
        ("CHAR", 2, "stopped by the user"),
    ]


def test_update_frames_with_an_unknown_frame_changes_nothing(store: JobStore) -> None:
    batch_id = _batch(store)
    with pytest.raises(KeyError, match="no frame was changed"):
        store.update_frames(
            batch_id,
            [
                FrameChange("BG", 1, FrameState.CANCELLED),
                FrameChange("FG", 1, FrameState.CANCELLED),
            ],
        )
    assert store.get_batch(batch_id).counts.cancelled == 0


def test_update_frames_gives_running_frames_an_end_time(store: JobStore) -> None:
    batch_id = _batch(store)
    store.frame_started(batch_id, "BG", 1, worker="w0", device="GPU 0", now=T0)
    store.update_frames(batch_id, [FrameChange("BG", 1, FrameState.CANCELLED)], now=T0 + 9)
    (frame,) = store.frames(batch_id, [FrameState.CANCELLED])
    assert frame.finished == T0 + 9


def test_update_frames_cannot_start_frames(store: JobStore) -> None:
    batch_id = _batch(store)
    with pytest.raises(ValueError, match="frame_started"):
        store.update_frames(batch_id, [FrameChange("BG", 1, FrameState.RUNNING)])


def test_unfinished_frames_are_all_but_done_and_skipped_in_plan_order(store: JobStore) -> None:
    batch_id = _batch(store, {"CHAR": [5, 4, 3, 2, 1], "BG": [7, 8]})
    store.frame_done(batch_id, "CHAR", 4, outputs=[])
    store.frame_skipped(batch_id, "CHAR", 2, "exists")
    store.frame_started(batch_id, "CHAR", 3, worker="w0", device="GPU 0")
    store.frame_failed(batch_id, "BG", 8, state=FrameState.FAILED, error="bad")
    store.frame_done(batch_id, "BG", 7, outputs=[])
    assert store.unfinished_frames(batch_id) == {"CHAR": [5, 3, 1], "BG": [8]}


def test_unfinished_frames_of_a_finished_batch_is_empty(store: JobStore) -> None:
    batch_id = _batch(store, {"BG": [1]})
    store.frame_done(batch_id, "BG", 1, outputs=[])
    assert store.unfinished_frames(batch_id) == {}


def test_frames_read_back_as_outcomes_with_the_reason_where_it_belongs(
    store: JobStore,
) -> None:
    batch_id = _batch(store, {"BG": [1, 2, 3]})
    store.frame_started(batch_id, "BG", 1, worker="w0", device="GPU 0")
    store.frame_failed(batch_id, "BG", 1, state=FrameState.PENDING, error="crashed")
    store.frame_skipped(batch_id, "BG", 2, "outputs exist")
    store.update_frames(batch_id, [FrameChange("BG", 3, FrameState.FAILED, "no worker left")])
    one, two, three = store.frames(batch_id)
    assert (one.errors, one.failed_on, one.note, one.device) == (["crashed"], "w0", None, "GPU 0")
    assert (two.errors, two.note) == ([], "outputs exist")
    assert (three.errors, three.note) == ([], "no worker left")  # given up without a try


# --------------------------------------------------------------------------- workers


def test_worker_started_and_finished_are_recorded(store: JobStore) -> None:
    batch_id = _batch(store)
    store.worker_started(
        batch_id, "gpu0", pid=4242, device="GPU 0", log_path="/logs/gpu0.log", now=T0
    )
    store.set_worker_state(batch_id, "gpu0", WorkerState.RENDERING)
    (live,) = store.workers(batch_id)
    assert (live.state, live.pid, live.started, live.ended) == (
        WorkerState.RENDERING,
        4242,
        T0,
        None,
    )
    store.worker_finished(
        batch_id, "gpu0", state=WorkerState.FAILED, exit_code=-9, reason="killed", now=T0 + 5
    )
    (ended,) = store.workers(batch_id)
    assert (ended.state, ended.exit_code, ended.reason, ended.ended) == (
        WorkerState.FAILED,
        -9,
        "killed",
        T0 + 5,
    )
    assert ended.log_path == "/logs/gpu0.log"


def test_live_worker_pids_are_those_without_an_end(store: JobStore) -> None:
    batch_id = _batch(store)
    store.worker_started(batch_id, "gpu0", pid=100, device="GPU 0", log_path=None, now=T0)
    store.worker_started(batch_id, "gpu1", pid=101, device="GPU 1", log_path=None, now=T0 + 1)
    store.worker_started(batch_id, "cpu", pid=102, device="CPU x8", log_path=None, now=T0 + 2)
    store.worker_finished(
        batch_id, "gpu1", state=WorkerState.FINISHED, exit_code=0, reason="quit", now=T0 + 3
    )
    assert store.live_worker_pids(batch_id) == [100, 102]


def test_a_restarted_worker_id_replaces_the_ended_record(store: JobStore) -> None:
    batch_id = _batch(store)
    store.worker_started(batch_id, "gpu0", pid=100, device="GPU 0", log_path=None)
    store.worker_finished(batch_id, "gpu0", state=WorkerState.FAILED, exit_code=1, reason="crash")
    store.worker_started(batch_id, "gpu0", pid=200, device="GPU 0", log_path=None)
    (worker,) = store.workers(batch_id)
    assert (worker.pid, worker.state, worker.ended, worker.exit_code) == (
        200,
        WorkerState.STARTING,
        None,
        None,
    )
    assert store.live_worker_pids(batch_id) == [200]


def test_a_worker_of_an_unknown_batch_raises_key_error(store: JobStore) -> None:
    with pytest.raises(KeyError, match="no batch"):
        store.worker_started("20990101-0000-abcdef", "w", pid=1, device="CPU", log_path=None)


def test_finishing_an_unknown_worker_raises_key_error(store: JobStore) -> None:
    batch_id = _batch(store)
    with pytest.raises(KeyError, match="no worker 'ghost'"):
        store.worker_finished(
            batch_id, "ghost", state=WorkerState.FINISHED, exit_code=0, reason=None
        )


# --------------------------------------------------------------------------- interrupted / prune


def test_find_interrupted_marks_running_batches_whose_manager_is_dead(store: JobStore) -> None:
    batch_id = _batch(store, manager_pid=999_999)
    store.set_batch_state(batch_id, BatchState.RUNNING)
    store.frame_done(batch_id, "BG", 1, outputs=[])
    store.frame_started(batch_id, "BG", 2, worker="w0", device="GPU 0")
    store.worker_started(batch_id, "w0", pid=5555, device="GPU 0", log_path=None)

    assert store.find_interrupted(lambda pid: False) == [batch_id]

    batch = store.get_batch(batch_id)
    assert batch.state is BatchState.INTERRUPTED
    assert batch.error is not None and "resume" in batch.error
    assert batch.counts.running == 0
    assert store.unfinished_frames(batch_id) == {"BG": [2, 3], "CHAR": [1, 2]}
    assert store.live_worker_pids(batch_id) == [5555]  # orphans stay listed for reaping


def test_find_interrupted_leaves_batches_of_live_managers_alone(store: JobStore) -> None:
    batch_id = _batch(store)
    store.set_batch_state(batch_id, BatchState.RUNNING)
    assert store.find_interrupted(lambda pid: pid == os.getpid()) == []
    assert store.get_batch(batch_id).state is BatchState.RUNNING


def test_find_interrupted_also_catches_batches_that_never_started(store: JobStore) -> None:
    batch_id = _batch(store, manager_pid=999_999)
    assert store.find_interrupted(lambda pid: False) == [batch_id]


def test_find_interrupted_ignores_batches_of_other_hosts(store: JobStore) -> None:
    batch_id = _batch(store, manager_pid=999_999, manager_host="farm-node-7")
    store.set_batch_state(batch_id, BatchState.RUNNING)
    assert store.find_interrupted(lambda pid: False) == []
    assert store.get_batch(batch_id).state is BatchState.RUNNING


def test_find_interrupted_ignores_finished_batches(store: JobStore) -> None:
    batch_id = _batch(store, manager_pid=999_999)
    store.set_batch_state(batch_id, BatchState.DONE)
    assert store.find_interrupted(lambda pid: False) == []


def test_prune_deletes_only_old_finished_batches(store: JobStore) -> None:
    old = {}
    for state in BatchState:
        old[state] = _batch(store, now=T0)
        store.set_batch_state(old[state], state, now=T0)
    recent = _batch(store, now=T0 + 29 * DAY)
    store.set_batch_state(recent, BatchState.DONE, now=T0 + 29 * DAY)

    assert store.prune(keep_days=30, now=T0 + 31 * DAY) == 3

    left = {b.id for b in store.list_batches()}
    assert left == {
        old[BatchState.PENDING],
        old[BatchState.RUNNING],
        old[BatchState.INTERRUPTED],
        recent,
    }


def test_prune_counts_age_from_the_last_activity(store: JobStore) -> None:
    batch_id = _batch(store, now=T0)
    store.set_batch_state(batch_id, BatchState.DONE, now=T0 + 20 * DAY)
    assert store.prune(keep_days=30, now=T0 + 31 * DAY) == 0


def test_prune_removes_the_frames_and_workers_too(store: JobStore, db_path: Path) -> None:
    batch_id = _batch(store, now=T0)
    store.worker_started(batch_id, "w0", pid=1, device="CPU", log_path=None, now=T0)
    store.set_batch_state(batch_id, BatchState.CANCELLED, now=T0)
    assert store.prune(keep_days=0, now=T0 + 1) == 1
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("SELECT count(*) FROM frames").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM workers").fetchone()[0] == 0
    finally:
        conn.close()


def test_prune_refuses_negative_days(store: JobStore) -> None:
    with pytest.raises(ValueError, match="0 or more"):
        store.prune(keep_days=-1)


# --------------------------------------------------------------------------- helpers


def test_pid_alive_sees_this_process_and_not_a_finished_one() -> None:
    assert pid_alive(os.getpid())
    child = _run_python("import os; print(os.getpid())")
    assert not pid_alive(int(child.stdout))
    assert not pid_alive(0)


def test_not_found_error_reads_without_quotes() -> None:
    assert str(BatchNotFoundError("no batch 'x'")) == "no batch 'x'"


# --------------------------------------------------------------------------- concurrency


def test_two_stores_on_one_file_see_each_others_writes(db_path: Path) -> None:
    with JobStore(db_path) as manager, JobStore(db_path) as history:
        batch_id = _batch(manager)
        assert history.get_batch(batch_id).total == 5
        history.set_batch_state(batch_id, BatchState.CANCELLED)
        manager.frame_done(batch_id, "BG", 1, outputs=[])
        assert manager.get_batch(batch_id).state is BatchState.CANCELLED
        assert history.get_batch(batch_id).counts.done == 1


def test_readers_are_not_blocked_by_a_held_write_lock(store: JobStore, db_path: Path) -> None:
    batch_id = _batch(store)
    writer = sqlite3.connect(db_path, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE frames SET state = 'done'")
        started = time.monotonic()
        assert store.get_batch(batch_id).counts.pending == 5  # the last commit
        assert time.monotonic() - started < 1.0
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_a_writer_waits_for_a_short_lock_instead_of_failing(store: JobStore, db_path: Path) -> None:
    batch_id = _batch(store)
    other = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.3, lambda: other.execute("COMMIT"))
    release.start()
    try:
        store.frame_done(batch_id, "BG", 1, outputs=[])
    finally:
        release.join()
        other.close()
    assert store.get_batch(batch_id).counts.done == 1


def test_a_lock_held_too_long_gives_a_clear_error(db_path: Path) -> None:
    with JobStore(db_path, busy_timeout=0.2) as store:
        batch_id = _batch(store)
        other = sqlite3.connect(db_path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(JobStoreError, match="locked by another process") as info:
                store.frame_done(batch_id, "BG", 1, outputs=[])
            assert str(db_path) in str(info.value)
        finally:
            other.execute("ROLLBACK")
            other.close()


def test_one_store_can_be_shared_by_threads(store: JobStore) -> None:
    batch_id = _batch(store, {"BG": list(range(200))})
    errors: list[BaseException] = []

    def render(frames: range) -> None:
        try:
            for frame in frames:
                store.frame_started(batch_id, "BG", frame, worker="t", device="CPU")
                store.frame_done(batch_id, "BG", frame, outputs=[])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=render, args=(range(i, 200, 4),)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert store.get_batch(batch_id).counts.done == 200


def test_a_subprocess_writes_while_this_process_reads_and_writes(db_path: Path) -> None:
    frames = 400
    with JobStore(db_path) as store:
        batch_id = _batch(store, {"BG": list(range(frames))})
        child = subprocess.Popen(
            [
                sys.executable,
                "-c",
                textwrap.dedent(
                    """
                    import sys
                    from lrc_toolbox.core.job_store import JobStore
                    with JobStore(sys.argv[1]) as store:
                        for frame in range(int(sys.argv[3])):
                            store.frame_started(sys.argv[2], "BG", frame, worker="w", device="CPU")
                            store.frame_done(sys.argv[2], "BG", frame, outputs=[f"{frame}.exr"])
                    """
                ),
                str(db_path),
                batch_id,
                str(frames),
            ],
            stderr=subprocess.PIPE,
            text=True,
        )
        seen: list[int] = []
        writes = 0
        while child.poll() is None:
            seen.append(store.get_batch(batch_id).counts.done)
            store.set_batch_state(
                batch_id, BatchState.RUNNING, summary=BatchSummary(retries=len(seen))
            )
            writes += 1
        _, stderr = child.communicate(timeout=60)
        assert child.returncode == 0, stderr
        assert seen == sorted(seen)  # never a half-written or rolled-back view
        assert store.get_batch(batch_id).counts.done == frames
        assert store.get_batch(batch_id).summary == BatchSummary(retries=writes)


def test_everything_committed_before_a_hard_kill_survives(db_path: Path) -> None:
    child = _run_python(
        """
        import os, sys
        from lrc_toolbox.core.job_store import JobStore
        from lrc_toolbox.records.models import BatchState, RenderConfig
        store = JobStore(sys.argv[1])
        bid = store.create_batch(
            RenderConfig(scene="s.ma"), {"BG": [4, 3, 2, 1]}, scene="s.ma", snapshot="snap.ma"
        )
        store.set_batch_state(bid, BatchState.RUNNING)
        store.worker_started(bid, "w0", pid=os.getpid(), device="GPU 0", log_path="w0.log")
        store.frame_started(bid, "BG", 4, worker="w0", device="GPU 0")
        store.frame_done(bid, "BG", 4, outputs=["bg.0004.exr"])
        store.frame_started(bid, "BG", 3, worker="w0", device="GPU 0")
        print(bid, os.getpid(), flush=True)
        os._exit(9)  # no close, no atexit: like SIGKILL
        """,
        str(db_path),
    )
    assert child.returncode == 9, child.stderr
    batch_id, pid = child.stdout.split()

    with JobStore(db_path) as store:
        batch = store.get_batch(batch_id)
        assert batch.state is BatchState.RUNNING
        assert batch.snapshot == "snap.ma"
        assert batch.counts.done == 1
        assert batch.counts.running == 1
        (done,) = store.frames(batch_id, [FrameState.DONE])
        assert (done.frame, done.outputs) == (4, ["bg.0004.exr"])

        assert store.find_interrupted(pid_alive) == [batch_id]
        assert store.get_batch(batch_id).state is BatchState.INTERRUPTED
        assert store.unfinished_frames(batch_id) == {"BG": [3, 2, 1]}
        assert store.live_worker_pids(batch_id) == [int(pid)]


# --------------------------------------------------------------------------- provenance


def test_a_done_frame_keeps_its_provenance(store: JobStore) -> None:
    batch_id = _batch(store, {"BG": [1]})
    origin = FrameProvenance(
        snapshot="/tmp/snap.ma", snapshot_sha256="ab" * 32, renderer="arnold", attempt=2
    )
    store.frame_done(batch_id, "BG", 1, outputs=["/out/bg.0001.exr"], provenance=origin)
    (frame,) = store.frames(batch_id)
    assert frame.provenance == origin


def test_a_schema_1_file_is_migrated_keeping_its_batches(db_path: Path) -> None:
    with JobStore(db_path) as store:
        batch_id = _batch(store, {"BG": [1, 2]})
        store.frame_done(batch_id, "BG", 1, outputs=["/out/bg.0001.exr"])
    conn = sqlite3.connect(db_path)  # make it a file of version 1
    conn.execute("ALTER TABLE frames DROP COLUMN provenance_json")
    conn.execute("DROP INDEX batches_by_output_dir")
    for column in ("manager_started", "manager_since", "manager_command", "output_dir"):
        conn.execute(f"ALTER TABLE batches DROP COLUMN {column}")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    with JobStore(db_path) as store:
        frames = store.frames(batch_id)
        assert [(f.frame, f.state, f.provenance) for f in frames] == [
            (1, FrameState.DONE, None),
            (2, FrameState.PENDING, None),
        ]
        store.frame_done(batch_id, "BG", 2, outputs=[], provenance=FrameProvenance(attempt=1))
        assert store.frames(batch_id)[1].provenance == FrameProvenance(attempt=1)
