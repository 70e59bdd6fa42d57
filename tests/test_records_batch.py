"""The batch records (``lrc_toolbox/records/batch.py``): JSON round trips, the documented
shapes, and the facts derived from them (ETA, resumable, exit code, log folder)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lrc_toolbox.records.batch import (
    BatchPlan,
    BatchSummary,
    ExitCode,
    FailedFrame,
    FrameOutcome,
    LayerCounts,
    PlannedWorker,
    RenderOverrides,
    WorkerSummary,
    batch_log_dir,
    remaining_seconds,
)
from lrc_toolbox.records.models import BatchState, FrameState, RenderConfig, ValidationError


def _plan(**changes: object) -> BatchPlan:
    values: dict[str, object] = {
        "config": RenderConfig(scene="/shots/sh010.ma", frames="1-3"),
        "scene_name": "sh010",
        "renderer": "arnold",
        "frames_by_layer": {"BG": [1, 2, 3], "CHAR": [10, 8, 6]},
        "workers": [PlannedWorker(id="gpu1", device="GPU 1 (RTX A6000)")],
        "mayapy": ["/usr/autodesk/maya2025/bin/mayapy"],
        "output_dir": "/shots/images",
    }
    values.update(changes)
    return BatchPlan(**values)  # type: ignore[arg-type]


def test_plan_json_has_the_documented_shape() -> None:
    data = _plan().to_dict()
    assert data["layers"] == {
        "BG": {"frames": "1-3", "count": 3},
        "CHAR": {"frames": "10-6x2", "count": 3},
    }
    assert data["frame_count"] == 6
    assert data["workers"] == [{"id": "gpu1", "device": "GPU 1 (RTX A6000)"}]
    assert data["scene"] == "/shots/sh010.ma"
    assert "batch_id" not in data and "snapshot" not in data


def test_plan_round_trips_through_json_keeping_the_frame_order() -> None:
    plan = _plan(batch_id="20261205-0420-abcdef", log_dir="/tmp/logs/x")
    again = BatchPlan.from_dict(json.loads(json.dumps(plan.to_dict())))
    assert again == plan
    assert again.frames_by_layer["CHAR"] == [10, 8, 6]


def test_plan_from_dict_names_a_bad_layer_entry() -> None:
    data = _plan().to_dict()
    data["layers"]["BG"] = {"count": 3}
    with pytest.raises(ValidationError, match=r"layers\.BG"):
        BatchPlan.from_dict(data)


def test_plan_snapshot_label_names_one_layer_or_counts_them() -> None:
    assert _plan(frames_by_layer={"BG": [1]}).snapshot_label == "BG"
    assert _plan().snapshot_label == "2layers"


def test_overrides_come_from_the_config_and_refuse_unknown_keys() -> None:
    config = RenderConfig(scene="a.ma", camera="shotCam", image_prefix="", skip_existing=True)
    overrides = RenderOverrides.from_config(config)
    assert overrides == RenderOverrides(camera="shotCam", image_prefix=None, skip_existing=True)
    with pytest.raises(ValidationError, match="resolution"):
        RenderOverrides.from_dict({"resolution": [64, 64]})


def test_frame_outcome_error_is_the_note_else_the_last_failure() -> None:
    assert FrameOutcome("BG", 1, errors=["a", "b"]).error == "b"
    assert FrameOutcome("BG", 1, errors=["a"], note="skipped: exists").error == "skipped: exists"
    assert FrameOutcome("BG", 1).error is None


def test_frame_outcome_seconds_needs_both_ends_in_order() -> None:
    assert FrameOutcome("BG", 1, started=10.0, finished=14.5).seconds == 4.5
    assert FrameOutcome("BG", 1, started=10.0, finished=9.0).seconds is None
    assert FrameOutcome("BG", 1, started=10.0).seconds is None


@pytest.mark.parametrize(
    ("state", "complete"),
    [(FrameState.DONE, True), (FrameState.SKIPPED, True), (FrameState.FAILED, False)],
)
def test_frame_outcome_complete_means_resume_leaves_it(state: FrameState, complete: bool) -> None:
    assert FrameOutcome("BG", 1, state).complete is complete


def test_layer_counts_of_counts_every_state() -> None:
    counts = LayerCounts.of({FrameState.DONE: 3, FrameState.FAILED: 1, FrameState.PENDING: 2})
    assert counts == LayerCounts(total=6, pending=2, done=3, failed=1)
    assert counts.count(FrameState.DONE) == 3


def test_summary_round_trips_and_reads_back_stored_data_from_a_newer_version() -> None:
    summary = BatchSummary(
        total=2,
        done=1,
        failed=1,
        batch_id="b1",
        state=BatchState.FAILED,
        layers={"BG": LayerCounts(total=2, done=1, failed=1)},
        failed_frames=[FailedFrame(layer="BG", frame=2, attempts=3, reason="boom")],
        workers={"gpu1": WorkerSummary(device="GPU 1", disabled=None)},
    )
    data = summary.to_dict()
    assert data["state"] == "failed" and data["workers"]["gpu1"] == {
        "device": "GPU 1",
        "disabled": None,
        "released": None,
    }
    assert BatchSummary.from_dict(data) == summary
    assert BatchSummary.from_stored({**data, "added_later": 1}) == summary


@pytest.mark.parametrize(
    ("state", "code", "resumable"),
    [
        (BatchState.DONE, ExitCode.OK, False),
        (BatchState.FAILED, ExitCode.FAILED_FRAMES, True),
        (BatchState.CANCELLED, ExitCode.INTERRUPTED, True),
        (BatchState.INTERRUPTED, ExitCode.INTERRUPTED, True),
    ],
)
def test_summary_exit_code_and_resumable_follow_the_state(
    state: BatchState, code: ExitCode, resumable: bool
) -> None:
    summary = BatchSummary(state=state)
    assert summary.exit_code is code
    assert summary.resumable is resumable


def test_a_running_batch_keeps_its_snapshot_but_is_not_resumable() -> None:
    assert BatchState.RUNNING.keeps_snapshot and not BatchState.RUNNING.resumable
    assert not BatchState.DONE.keeps_snapshot


def test_remaining_seconds_scales_time_spent_by_the_work_left() -> None:
    assert remaining_seconds(60.0, 25.0, 100.0) == 180.0  # a frame at 25 %
    assert remaining_seconds(30.0, 3, 4) == 10.0  # a worker with one frame of four left


@given(
    elapsed=st.floats(min_value=0, max_value=1e6),
    done=st.floats(min_value=0, max_value=1e4),
    total=st.floats(min_value=0, max_value=1e4),
)
def test_remaining_seconds_is_never_negative_and_none_before_any_work(
    elapsed: float, done: float, total: float
) -> None:
    left = remaining_seconds(elapsed, done, total)
    if done <= 0 or total <= 0:
        assert left is None
    else:
        assert left is not None and left >= 0.0


def test_batch_log_dir_is_under_the_temp_root() -> None:
    assert batch_log_dir("/tmp/lrc", "b1") == Path("/tmp/lrc/logs/b1")


def test_a_resumed_plans_earlier_frames_survive_the_wire() -> None:
    plan = BatchPlan(
        config=RenderConfig(scene="/shots/a.ma"),
        scene_name="a",
        renderer="arnold",
        frames_by_layer={"BG": [4, 5, 6]},
        done_before={"BG": [1, 2]},
        skipped_before={"BG": [3]},
    )
    data = plan.to_dict()
    assert data["done_before"] == {"BG": "1-2"} and data["skipped_before"] == {"BG": "3"}
    back = BatchPlan.from_dict(data)
    assert back.done_before == {"BG": [1, 2]} and back.skipped_before == {"BG": [3]}
    assert back.whole_batch() == {"BG": [1, 2, 3, 4, 5, 6]}


def test_a_new_batchs_plan_keeps_its_documented_shape() -> None:
    plan = BatchPlan(
        config=RenderConfig(scene="/shots/a.ma"),
        scene_name="a",
        renderer="arnold",
        frames_by_layer={"BG": [1, 2]},
    )
    assert "done_before" not in plan.to_dict() and "skipped_before" not in plan.to_dict()
