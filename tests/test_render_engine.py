"""The render engine end to end: BatchRenderAPI + RenderProcessManager driving real worker
processes in the simulated mayapy, under a Qt event loop (pytest-qt)."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sim_helpers import LEGACY, SHOT, alive_pids

from lrc_toolbox.config.batch_render_defaults import Settings
from lrc_toolbox.core.batch_render_api import BadRequest, BatchRenderAPI, EnvironmentProblem
from lrc_toolbox.core.job_store import JobStore
from lrc_toolbox.core.ready_manifest import read_ready
from lrc_toolbox.core.render_process_manager import RenderProcessManager
from lrc_toolbox.records.batch import BatchSummary
from lrc_toolbox.records.models import BatchState, FrameState, RenderConfig
from lrc_toolbox.utils.gpu_utils import simulated_gpus

pytestmark = pytest.mark.qt
TIMEOUT_MS = 90_000


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("LRC_SIM_TIME_SCALE", "0.002")
    monkeypatch.setenv("LRC_SIM_STATE_DIR", str(tmp_path / "sim-state"))
    return tmp_path


def make_api(tmp_path: Path, **settings: Any) -> BatchRenderAPI:
    values: dict[str, Any] = {
        "simulate_gpus": 4,
        "temp_root": str(tmp_path / "tmp"),
        "job_store_path": str(tmp_path / "jobs.sqlite"),
        "stop_grace_seconds": 1.0,
        "min_free_disk_mb": 0,
        "warn_free_disk_mb": 0,
    }
    values.update(settings)
    return BatchRenderAPI(Settings(**values), simulate=True)


@pytest.fixture
def api(sim: Path) -> Iterator[BatchRenderAPI]:
    instance = make_api(sim)
    yield instance
    instance.shutdown()


def config(tmp_path: Path, **changes: Any) -> RenderConfig:
    values: dict[str, Any] = {
        "scene": str(SHOT),
        "frames": "1-8",
        "output_dir": str(tmp_path / "images"),
        "frame_timeout": 30.0,
    }
    values.update(changes)
    return RenderConfig(**values)


def run(qtbot: Any, api: BatchRenderAPI, cfg: RenderConfig) -> dict[str, Any]:
    """Run a batch; returns its summary as documented (``BatchSummary.to_dict()``)."""
    with qtbot.waitSignal(api.batch_finished, timeout=TIMEOUT_MS) as blocker:
        api.start_batch_render(cfg)
    summary = blocker.args[0]
    assert isinstance(summary, BatchSummary)
    return summary.to_dict()


def worker_processes_alive(api: BatchRenderAPI, batch_id: str) -> list[int]:
    return alive_pids(record.pid for record in api.store.workers(batch_id))


def sim_uuid(index: int) -> str:
    return simulated_gpus(4).gpus[index].uuid


# ----------------------------------------------------------------------------- happy path


def test_renders_every_frame_of_every_renderable_layer(
    qtbot: Any, api: BatchRenderAPI, sim: Path
) -> None:
    summary = run(qtbot, api, config(sim))
    assert summary["state"] == "done"
    assert summary["done"] == 16  # BG and CHAR, 8 frames each; FX_test is not renderable
    files = sorted((sim / "images").rglob("*.exr"))
    assert len(files) == 16 and all(f.stat().st_size > 0 for f in files)


def test_each_worker_is_pinned_to_its_own_gpu(qtbot: Any, api: BatchRenderAPI, sim: Path) -> None:
    pinned: list[str] = []
    api.log_message.connect(
        lambda _t, _l, _w, text: (
            pinned.append(text.split("CUDA_VISIBLE_DEVICES=")[1])
            if "CUDA_VISIBLE_DEVICES=" in text
            else None
        )
    )
    run(qtbot, api, config(sim, frames="1-24"))
    assert len(pinned) == 3 and len(set(pinned)) == 3
    assert set(pinned) == {sim_uuid(1), sim_uuid(2), sim_uuid(3)}  # GPU 0 stays with Maya


def test_state_is_in_the_job_store_when_it_ends(qtbot: Any, api: BatchRenderAPI, sim: Path) -> None:
    summary = run(qtbot, api, config(sim))
    record = api.store.get_batch(summary["batch_id"])
    assert record.state is BatchState.DONE
    frames = api.store.frames(record.id)
    assert {f.state for f in frames} == {FrameState.DONE}
    assert all(f.outputs and Path(f.outputs[0]).is_file() for f in frames)


def test_no_worker_process_survives_a_finished_batch(
    qtbot: Any, api: BatchRenderAPI, sim: Path
) -> None:
    summary = run(qtbot, api, config(sim))
    qtbot.waitUntil(lambda: not worker_processes_alive(api, summary["batch_id"]), timeout=10_000)


def test_cpu_mode_renders_with_cpu_workers(qtbot: Any, api: BatchRenderAPI, sim: Path) -> None:
    summary = run(qtbot, api, config(sim, cpu_mode=True, layers=["BG"], frames="1-3"))
    assert summary["done"] == 3
    assert list(summary["workers"]) == ["cpu0"]


def test_legacy_maya_software_scene_renders(qtbot: Any, api: BatchRenderAPI, sim: Path) -> None:
    summary = run(qtbot, api, config(sim, scene=str(LEGACY), frames="1-4"))
    assert summary["done"] == 8
    assert len(list((sim / "images").rglob("*.iff"))) == 8


def test_render_status_lists_each_worker_while_running(
    qtbot: Any, api: BatchRenderAPI, sim: Path
) -> None:
    statuses = []
    api.frame_started.connect(lambda *_: statuses.append(api.get_render_status()))
    run(qtbot, api, config(sim))
    assert statuses and {s.worker_id for s in statuses[-1]} == {"gpu1", "gpu2", "gpu3"}
    assert any(s.current_frame is not None for s in statuses[-1])


def test_progress_signals_are_coalesced(
    qtbot: Any, sim: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LRC_SIM_CONFIG", json.dumps({"progress_steps": 40}))
    api = make_api(sim, progress_rate_hz=0.5)
    progress: list[float] = []
    api.frame_progress.connect(lambda _w, _f, percent: progress.append(percent))
    summary = run(qtbot, api, config(sim, layers=["BG"], frames="1-3"))
    api.shutdown()
    # 40 progress lines per frame from the renderer, at most ~2 signals per frame get out
    assert summary["done"] == 3
    assert 0 < len(progress) <= 3 * 3


# ----------------------------------------------------------------------------- failures


def test_a_crashed_worker_is_replaced_and_its_frame_retried(
    qtbot: Any, api: BatchRenderAPI, sim: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LRC_SIM_CRASH_AT", "3")
    monkeypatch.setenv("LRC_SIM_FAULT_TIMES", "1")
    summary = run(qtbot, api, config(sim))
    assert summary["state"] == "done" and summary["done"] == 16
    assert summary["retries"] >= 1


def test_a_hung_worker_is_killed_and_its_frame_retried(
    qtbot: Any, api: BatchRenderAPI, sim: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LRC_SIM_HANG_AT", "2")
    monkeypatch.setenv("LRC_SIM_FAULT_TIMES", "1")
    summary = run(qtbot, api, config(sim, frame_timeout=2.0))
    assert summary["state"] == "done" and summary["done"] == 16
    assert summary["retries"] >= 1


def test_missing_output_is_retried(
    qtbot: Any, api: BatchRenderAPI, sim: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LRC_SIM_MISSING_OUTPUT_AT", "4")
    monkeypatch.setenv("LRC_SIM_FAULT_TIMES", "1")
    summary = run(qtbot, api, config(sim))
    assert summary["state"] == "done" and summary["retries"] >= 1


def test_a_frame_that_always_fails_is_failed_after_max_attempts(
    qtbot: Any, api: BatchRenderAPI, sim: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "LRC_SIM_CONFIG",
        json.dumps({"faults": [{"kind": "render_error", "frame": 5, "layer": "BG"}]}),
    )
    summary = run(qtbot, api, config(sim, max_attempts=2))
    assert summary["state"] == "failed"
    assert summary["done"] == 15
    (failed,) = summary["failed_frames"]
    assert (failed["layer"], failed["frame"], failed["attempts"]) == ("BG", 5, 2)


def test_a_gpu_that_fails_fatally_on_two_frames_is_disabled(
    qtbot: Any, api: BatchRenderAPI, sim: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a broken GPU, the only one: every frame it starts prints a CUDA error. Frame 1
    # goes back (preferring another slot), frame 2 fails on it too and disables it; no
    # frame is blamed, and every frame stays pending for `resume`
    fault = {"kind": "cuda_error", "device": sim_uuid(2)}
    monkeypatch.setenv("LRC_SIM_CONFIG", json.dumps({"faults": [fault]}))
    summary = run(qtbot, api, config(sim, layers=["BG"], frames="1-10", gpus=[2]))
    disabled = {k: v["disabled"] for k, v in summary["workers"].items() if v["disabled"]}
    assert list(disabled) == ["gpu2"] and "CUDA" in disabled["gpu2"]
    assert "on 2 frames" in disabled["gpu2"]
    assert (summary["done"], summary["failed"], summary["pending"]) == (0, 0, 10)


def test_one_bad_frame_fails_alone_and_keeps_every_gpu(
    qtbot: Any, api: BatchRenderAPI, sim: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # issue 12: a frame whose render prints a fatal line on any GPU is the frame's fault
    fault = {"kind": "cuda_error", "layer": "BG", "frame": 4}
    monkeypatch.setenv("LRC_SIM_CONFIG", json.dumps({"faults": [fault]}))
    summary = run(qtbot, api, config(sim, layers=["BG"], frames="1-30"))
    assert (summary["done"], summary["failed"], summary["pending"]) == (29, 1, 0)
    (failed,) = summary["failed_frames"]
    assert failed["frame"] == 4 and "the frame itself fails" in failed["reason"]
    assert not [k for k, v in summary["workers"].items() if v["disabled"]]


def test_a_startup_crash_loop_disables_the_slot(
    qtbot: Any, api: BatchRenderAPI, sim: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fault = {"kind": "crash", "device": sim_uuid(3), "exit_code": 1}
    monkeypatch.setenv("LRC_SIM_CONFIG", json.dumps({"faults": [fault]}))
    summary = run(qtbot, api, config(sim, gpus=[3]))
    assert "crashed 3 times while starting" in summary["workers"]["gpu3"]["disabled"]
    assert summary["state"] == "failed" and "gpu3" in summary["error"]


def test_when_every_slot_fails_the_batch_fails_with_the_reason(
    qtbot: Any, api: BatchRenderAPI, sim: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LRC_SIM_LICENCE_FAIL", "1")
    summary = run(qtbot, api, config(sim))
    assert summary["state"] == "failed"
    assert "every worker slot failed" in summary["error"]
    assert "licen" in summary["error"].lower()
    # the frames never rendered stay pending for `resume`, and the exit says environment
    assert (summary["failed"], summary["pending"]) == (0, 16)
    assert summary["environment"] is True
    qtbot.waitUntil(lambda: not worker_processes_alive(api, summary["batch_id"]), timeout=10_000)


def test_skip_existing_skips_frames_already_rendered(
    qtbot: Any, api: BatchRenderAPI, sim: Path
) -> None:
    run(qtbot, api, config(sim, layers=["BG"], frames="1-4"))
    summary = run(qtbot, api, config(sim, layers=["BG"], frames="1-6", skip_existing=True))
    assert summary["skipped"] == 4 and summary["done"] == 2


# ----------------------------------------------------------------------------- stop


def test_stop_cancels_the_batch_and_leaves_no_process(
    qtbot: Any, api: BatchRenderAPI, sim: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LRC_SIM_TIME_SCALE", "0.2")
    with qtbot.waitSignal(api.batch_finished, timeout=TIMEOUT_MS) as blocker:
        batch_id = api.start_batch_render(config(sim, frames="1-48"))
        qtbot.waitSignal(api.frame_started, timeout=30_000).wait()
        assert api.stop_all_renders()
    summary = blocker.args[0].to_dict()
    assert summary["state"] == "cancelled"
    assert summary["cancelled"] > 0
    qtbot.waitUntil(lambda: not worker_processes_alive(api, batch_id), timeout=10_000)
    assert api.store.get_batch(batch_id).state is BatchState.CANCELLED


def test_kill_all_now_leaves_no_process(
    qtbot: Any, api: BatchRenderAPI, sim: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LRC_SIM_TIME_SCALE", "0.5")
    batch_id = api.start_batch_render(config(sim, frames="1-48"))
    qtbot.waitSignal(api.frame_started, timeout=30_000).wait()
    api.shutdown()
    qtbot.waitUntil(lambda: not worker_processes_alive(api, batch_id), timeout=10_000)


# ----------------------------------------------------------------------------- bad input


def test_unknown_layer_is_refused_before_anything_starts(api: BatchRenderAPI, sim: Path) -> None:
    with pytest.raises(BadRequest, match="'NOPE' is not in"):
        api.start_batch_render(config(sim, layers=["NOPE"]))
    assert api.store.list_batches() == []


def test_bad_frames_are_refused_with_the_column(api: BatchRenderAPI, sim: Path) -> None:
    with pytest.raises(BadRequest, match="frames"):
        api.start_batch_render(config(sim, frames="1-10x0"))


def test_missing_mayapy_is_an_environment_problem(sim: Path) -> None:
    api = BatchRenderAPI(
        Settings(temp_root=str(sim / "tmp"), job_store_path=str(sim / "jobs.sqlite")),
        simulate=False,
    )
    with pytest.raises(EnvironmentProblem, match="mayapy"):
        api.plan_batch(config(sim, mayapy=str(sim / "no" / "mayapy")))


def test_gpus_that_are_kept_for_maya_are_refused(api: BatchRenderAPI, sim: Path) -> None:
    with pytest.raises(EnvironmentProblem, match="GPU 0"):
        api.plan_batch(config(sim, gpus=[0]))


def test_an_unwritable_output_folder_is_refused(api: BatchRenderAPI, sim: Path) -> None:
    blocker = sim / "file"
    blocker.write_text("")
    with pytest.raises(BadRequest, match="output folder"):
        api.plan_batch(config(sim, output_dir=str(blocker / "images")))


def test_a_full_disk_is_refused_before_starting(sim: Path) -> None:
    api = make_api(sim, min_free_disk_mb=10**12)
    with pytest.raises(EnvironmentProblem, match="free"):
        api.plan_batch(config(sim))


def test_a_second_batch_while_one_runs_is_refused(
    qtbot: Any, api: BatchRenderAPI, sim: Path
) -> None:
    with qtbot.waitSignal(api.batch_finished, timeout=TIMEOUT_MS):
        api.start_batch_render(config(sim))
        with pytest.raises(BadRequest, match="still running"):
            api.start_batch_render(config(sim))


def test_plan_lists_workers_layers_and_frames(api: BatchRenderAPI, sim: Path) -> None:
    plan = api.plan_batch(config(sim, frames="1-10")).plan
    data = plan.to_dict()
    assert data["layers"] == {
        "BG": {"frames": "1-10", "count": 10},
        "CHAR": {"frames": "1-10", "count": 10},
    }
    assert [w["id"] for w in data["workers"]] == ["gpu1", "gpu2", "gpu3"]
    assert data["frame_count"] == 20


def test_without_frames_each_layer_renders_its_own_range(api: BatchRenderAPI, sim: Path) -> None:
    plan = api.plan_batch(config(sim, frames="")).plan
    assert len(plan.frames_by_layer["BG"]) == 48 and len(plan.frames_by_layer["CHAR"]) == 24


def test_resume_renders_only_what_is_left(
    qtbot: Any, api: BatchRenderAPI, sim: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "LRC_SIM_CONFIG", json.dumps({"faults": [{"kind": "render_error", "frame": 5, "times": 1}]})
    )
    first = run(qtbot, api, config(sim, max_attempts=1))
    assert first["state"] == "failed" and first["failed"] == 1
    finished: list[tuple[str, int]] = []
    api.frame_finished.connect(lambda _w, layer, frame, _o: finished.append((layer, frame)))
    with qtbot.waitSignal(api.batch_finished, timeout=TIMEOUT_MS) as blocker:
        assert api.resume(first["batch_id"][:10]) == first["batch_id"]
    assert blocker.args[0].state is BatchState.DONE
    assert len(finished) == 1
    store = JobStore(sim / "jobs.sqlite")
    assert {f.state for f in store.frames(first["batch_id"])} == {FrameState.DONE}


def test_scene_name_and_project_overrides_reach_the_plan(api: BatchRenderAPI, sim: Path) -> None:
    project = sim / "proj"
    project.mkdir()
    plan = api.plan_batch(
        config(sim, scene_name="sh010_v012", project=str(project), output_dir=None)
    ).plan
    assert plan.scene_name == "sh010_v012"
    assert plan.project == str(project)
    assert plan.output_dir == str((project / "images").resolve())


def test_scene_name_override_names_the_files(qtbot: Any, api: BatchRenderAPI, sim: Path) -> None:
    run(qtbot, api, config(sim, layers=["BG"], frames="1", scene_name="sh010_v012"))
    assert (sim / "images" / "sh010_v012" / "BG" / "BG.0001.exr").is_file()


# ----------------------------------------------------------------------------- pre-flight


def test_an_unsupported_renderer_is_refused_before_any_worker_starts(
    api: BatchRenderAPI, sim: Path
) -> None:
    with pytest.raises(BadRequest, match=r"'mentalRay' is not supported.*arnold, redshift"):
        api.plan_batch(config(sim, renderer="mentalRay"))
    assert api.store.list_batches() == []


def test_a_layer_rendering_with_an_unsupported_renderer_is_refused(
    api: BatchRenderAPI, sim: Path
) -> None:
    scene = sim / "mental.ma"
    scene.write_text(
        SHOT.read_text(encoding="utf-8").replace('"arnold";', '"mentalRay";'), encoding="utf-8"
    )
    with pytest.raises(BadRequest, match=r"layer BG .* renders with 'mentalRay'.*--renderer"):
        api.plan_batch(config(sim, scene=str(scene)))
    assert api.plan_batch(config(sim, scene=str(scene), renderer="arnold")).plan.frame_count


def test_a_camera_that_is_not_in_the_scene_is_refused_naming_the_cameras(
    api: BatchRenderAPI, sim: Path
) -> None:
    with pytest.raises(BadRequest, match=r"camera 'shotCamm' is not in .*shotCam, shotCamShape"):
        api.plan_batch(config(sim, camera="shotCamm"))


@pytest.mark.parametrize("camera", ["shotCam", "shotCamShape"])
def test_a_camera_may_be_named_by_transform_or_shape(
    api: BatchRenderAPI, sim: Path, camera: str
) -> None:
    assert api.plan_batch(config(sim, camera=camera)).plan.config.camera == camera


# ----------------------------------------------------------------------------- provenance


def test_each_finished_frame_records_where_it_came_from(
    qtbot: Any, api: BatchRenderAPI, sim: Path
) -> None:
    summary = run(qtbot, api, config(sim, layers=["BG"], frames="1-3", gpus=[2]))
    frames = api.store.frames(summary["batch_id"])
    snapshot = api.store.get_batch(summary["batch_id"]).snapshot
    assert snapshot is not None
    for frame in frames:
        origin = frame.provenance
        assert origin is not None
        assert origin.snapshot == snapshot
        assert origin.snapshot_sha256 == hashlib.sha256(Path(snapshot).read_bytes()).hexdigest()
        assert (origin.renderer, origin.renderer_version) == ("arnold", "5.4.0")
        assert origin.gpu_uuid == sim_uuid(2) and origin.attempt == 1
        assert origin.pid is not None and origin.render_seconds is not None


def test_ready_json_carries_each_frames_provenance(
    qtbot: Any, api: BatchRenderAPI, sim: Path
) -> None:
    run(qtbot, api, config(sim, layers=["BG"], frames="1-2"))
    ready = read_ready(sim / "images")
    assert ready is not None
    origins = ready["layers"]["BG"]["provenance"]
    assert set(origins) == {"1", "2"}
    assert origins["1"]["renderer"] == "arnold" and origins["1"]["attempt"] == 1


# ----------------------------------------------------------------------------- products


def test_a_file_left_by_an_earlier_run_does_not_count_for_a_failed_render(
    qtbot: Any, api: BatchRenderAPI, sim: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stale-file case: frame 3 exists from an earlier batch; this time its render
    writes nothing. It must end failed, and the frames after it still render."""
    first = run(qtbot, api, config(sim, layers=["BG"], frames="1-5", gpus=[1]))
    assert first["done"] == 5
    for image in (sim / "images").rglob("*.exr"):  # an earlier run: a minute ago
        os.utime(image, (time.time() - 60, time.time() - 60))
    monkeypatch.setenv("LRC_SIM_MISSING_OUTPUT_AT", "3")  # every try of frame 3
    summary = run(qtbot, api, config(sim, layers=["BG"], frames="1-5", gpus=[1], max_attempts=2))
    assert summary["state"] == "failed"
    (failed,) = summary["failed_frames"]
    assert failed["frame"] == 3 and "older than this attempt" in failed["reason"]
    assert summary["done"] == 4  # 4 and 5 still rendered after it


def test_a_truncated_image_is_rendered_again(
    qtbot: Any, api: BatchRenderAPI, sim: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(qtbot, api, config(sim, layers=["BG"], frames="1", gpus=[1]))
    (image,) = [p for p in (sim / "images").rglob("*.exr")]
    image.write_bytes(image.read_bytes()[:-40])  # a render killed mid-write
    summary = run(qtbot, api, config(sim, layers=["BG"], frames="1", gpus=[1], skip_existing=True))
    assert summary["done"] == 1 and summary["skipped"] == 0  # not skipped: re-rendered


def test_an_all_black_image_is_rendered_once_more_then_kept_with_a_warning(
    qtbot: Any, api: BatchRenderAPI, sim: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With OpenImageIO (not installed here, so its answer is stubbed): a suspicious image
    gets one more render; the same answer again is accepted (a fade to black is real)."""
    from lrc_toolbox.core import render_process_manager as manager_module

    monkeypatch.setattr(manager_module, "PIXEL_CHECK_AVAILABLE", True)
    monkeypatch.setattr(manager_module, "pixel_problem", lambda path: "all black")
    warnings: list[str] = []
    api.log_message.connect(lambda _t, level, _w, text: warnings.append(f"{level}: {text}"))
    summary = run(qtbot, api, config(sim, layers=["BG"], frames="1", gpus=[1]))
    assert summary["done"] == 1 and summary["retries"] == 1
    assert any("all black again; kept as rendered" in w for w in warnings)


def test_a_failed_arnold_render_fails_the_frame_not_the_worker(
    qtbot: Any, api: BatchRenderAPI, sim: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """'[mtoa] Failed batch render' fails that arnoldRender call: the frame is retried and
    the worker renders the frames after it (it used to disable the slot)."""
    monkeypatch.setenv("LRC_SIM_RENDER_ERROR_AT", "4")
    monkeypatch.setenv("LRC_SIM_FAULT_TIMES", "1")
    reasons: list[str] = []
    api.frame_failed.connect(lambda _w, _l, _f, reason, _r: reasons.append(reason))
    summary = run(qtbot, api, config(sim, layers=["BG"], frames="1-6", gpus=[1]))
    assert summary["done"] == 6 and summary["retries"] == 1
    assert summary["workers"]["gpu1"]["disabled"] is None
    assert reasons and "Failed batch render" in reasons[0]


# ----------------------------------------------------------------------------- devices


def test_a_maya_software_batch_gets_cpu_workers_not_one_per_gpu(
    api: BatchRenderAPI, sim: Path
) -> None:
    plan = api.plan_batch(config(sim, scene=str(LEGACY), frames="1-4")).plan
    assert [w.id for w in plan.workers] == ["cpu0"]
    assert any("Maya Software renders on the CPU only" in w for w in plan.warnings)


def test_hardware_2_says_its_gpu_is_not_chosen_by_the_pinning(
    api: BatchRenderAPI, sim: Path
) -> None:
    plan = api.plan_batch(config(sim, renderer="mayaHardware2")).plan
    assert [w.id for w in plan.workers] == ["gpu1", "gpu2", "gpu3"]
    assert any("CUDA_VISIBLE_DEVICES does not choose" in w for w in plan.warnings)


# ----------------------------------------------------------------------------- sent ahead


def test_a_worker_gets_its_next_frame_while_it_renders_and_each_frame_renders_once(
    qtbot: Any, api: BatchRenderAPI, sim: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[tuple[str, bool]] = []  # (command, the worker had a frame rendering)
    original = RenderProcessManager._send

    def spy(self: RenderProcessManager, worker: Any, line: str) -> None:
        sent.append((json.loads(line)["op"], worker.current is not None))
        original(self, worker, line)

    monkeypatch.setattr(RenderProcessManager, "_send", spy)
    summary = run(qtbot, api, config(sim, frames="1-24"))
    assert summary["state"] == "done" and summary["done"] == 48
    assert ("render", True) in sent  # sent ahead, before the worker asked
    frames = api.store.frames(summary["batch_id"])
    assert {(f.state, f.attempts) for f in frames} == {(FrameState.DONE, 1)}
    renders = [op for op, _ in sent if op == "render"]
    assert len(renders) == 48  # no frame handed out twice


def test_a_stop_begins_no_frame_that_was_sent_ahead(
    qtbot: Any, sim: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LRC_SIM_TIME_SCALE", "0.02")  # 1-unit frames of 20 ms, 1 s grace
    api = make_api(sim)
    try:
        stopped = []

        def stop_once(*_args: Any) -> None:
            if not stopped and api.batch_id:
                stopped.append(True)
                api.stop_batch(api.batch_id)

        api.frame_finished.connect(stop_once)  # mid-batch: every worker holds a command
        summary = run(qtbot, api, config(sim, frames="1-40", layers=["BG"]))
    finally:
        api.shutdown()
    assert summary["state"] == "cancelled"
    frames = api.store.frames(summary["batch_id"])
    done = {f.frame for f in frames if f.state is FrameState.DONE}
    written = {int(p.name.split(".")[-2]) for p in (sim / "images").rglob("*.exr")}
    assert written == done  # nothing rendered behind the stop's back
    assert not [f for f in frames if f.state is FrameState.RUNNING]


# ----------------------------------------------------------------------------- early start


def test_workers_start_before_the_snapshot_is_copied_and_open_it_once_complete(
    qtbot: Any, api: BatchRenderAPI, sim: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lrc_toolbox.core import batch_render_api

    seen: list[tuple[list[int], bool]] = []
    real = batch_render_api.write_snapshot

    def copy_after_looking(source: Path, target: Path) -> None:
        assert api.manager is not None
        started = [s.worker.pid for s in api.manager.slots.values() if s.worker and s.worker.pid]
        seen.append((started, target.exists()))
        real(source, target)

    monkeypatch.setattr(batch_render_api, "write_snapshot", copy_after_looking)
    summary = run(qtbot, api, config(sim, layers=["BG"], frames="1-6"))
    ((pids, existed),) = seen
    assert len(pids) == 3 and not existed  # three workers live, the snapshot not yet there
    assert summary["state"] == "done" and summary["done"] == 6
    logs = sorted((api.temp.root / "logs" / summary["batch_id"]).glob("gpu*.log"))
    assert len(logs) == 3
    assert all("--await-scene" in log.read_text().splitlines()[0] for log in logs)


@pytest.fixture
def snapshot_disk_full(monkeypatch: pytest.MonkeyPatch) -> None:
    """The snapshot's copy fails as on a full temp disk (ENOSPC)."""
    import errno

    from lrc_toolbox.core import batch_render_api

    def disk_full(source: Path, target: Path) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target))

    monkeypatch.setattr(batch_render_api, "write_snapshot", disk_full)


@pytest.mark.usefixtures("snapshot_disk_full")
def test_a_snapshot_that_cannot_be_copied_ends_the_batch_with_the_reason(
    qtbot: Any, api: BatchRenderAPI, sim: Path
) -> None:
    summary = run(qtbot, api, config(sim, layers=["BG"], frames="1-6"))
    assert summary["state"] == "failed" and summary["environment"] is True
    assert "could not copy the scene" in summary["error"]
    assert "No space left on device" in summary["error"]
    assert "LRC_TEMP_ROOT" in summary["error"]
    assert summary["done"] == 0 and not list(sim.glob("images/**/*.exr"))
    assert worker_processes_alive(api, summary["batch_id"]) == []
    record = api.store.get_batch(summary["batch_id"])
    assert record.state is BatchState.FAILED and "could not copy the scene" in (record.error or "")


def test_a_batch_queued_in_the_service_copies_its_snapshot_when_recorded(
    api: BatchRenderAPI, sim: Path
) -> None:
    batch_id = api.record_batch(config(sim, layers=["BG"], frames="1-2"))
    snapshot = api.store.get_batch(batch_id).snapshot
    assert snapshot is not None and Path(snapshot).read_bytes() == SHOT.read_bytes()


@pytest.mark.usefixtures("snapshot_disk_full")
def test_a_queued_batch_whose_snapshot_cannot_be_copied_is_refused_with_the_reason(
    api: BatchRenderAPI, sim: Path
) -> None:
    with pytest.raises(EnvironmentProblem, match=r"could not copy the scene .*No space left"):
        api.record_batch(config(sim, layers=["BG"], frames="1-2"))
    assert api.store.list_batches() == []  # nothing recorded
