"""GPUs given back to Maya mid-batch and taken back (issue 14, point 6), end to end on the
simulator: the engine (BatchRenderAPI), the render service (ServiceBatchAPI) and the
command line (``lrc-batch-render gpu release|return``). Three simulated GPUs render (GPU 0
of the four is kept for Maya)."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sim_helpers import SHOT
from test_cli_render import CLI, cli_env, render_args, wait_gone
from test_render_engine import TIMEOUT_MS, make_api

from lrc_toolbox.config.batch_render_defaults import Settings
from lrc_toolbox.core.batch_lock import process_alive
from lrc_toolbox.core.batch_render_api import BadRequest, BatchRenderAPI
from lrc_toolbox.core.job_store import JobStore
from lrc_toolbox.records.batch import RELEASED_REASON, BatchSummary, GpuHandback
from lrc_toolbox.records.models import BatchState, FrameState, RenderConfig, WorkerState
from lrc_toolbox.records.service import Op, Reply, Request, decode, encode
from lrc_toolbox.service.channel import read_info

pytestmark = pytest.mark.qt


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    # a frame takes ~0.05 s; each release happens from the signal of a frame that starts
    monkeypatch.setenv("LRC_SIM_TIME_SCALE", "0.05")
    monkeypatch.setenv("LRC_SIM_STATE_DIR", str(tmp_path / "sim-state"))
    return tmp_path


@pytest.fixture
def api(sim: Path) -> Iterator[BatchRenderAPI]:
    instance = make_api(sim)
    yield instance
    instance.shutdown()


def config(tmp_path: Path, frames: str = "1-6") -> RenderConfig:
    return RenderConfig(
        scene=str(SHOT),
        layers=["BG"],
        frames=frames,
        output_dir=str(tmp_path / "images"),
        frame_timeout=30.0,
    )


def on_first_frame(api: BatchRenderAPI, worker: str, action: Callable[[str, int], None]) -> None:
    """Call ``action(layer, frame)`` once, when ``worker`` starts its first frame (from the
    signal itself, so the frame is surely still rendering)."""
    fired: list[bool] = []

    def slot(who: str, layer: str, frame: int) -> None:
        if who == worker and not fired:
            fired.append(True)
            action(layer, frame)

    api.frame_started.connect(slot)


def finished_by(api: BatchRenderAPI) -> list[tuple[str, str, int]]:
    seen: list[tuple[str, str, int]] = []
    api.frame_finished.connect(lambda w, layer, frame, _o: seen.append((w, layer, frame)))
    return seen


def wait_finished(qtbot: Any, api: BatchRenderAPI) -> Callable[[], BatchSummary]:
    blocker = qtbot.waitSignal(api.batch_finished, timeout=TIMEOUT_MS)

    def result() -> BatchSummary:
        blocker.wait()
        summary = blocker.args[0]
        assert isinstance(summary, BatchSummary)
        return summary

    return result


# ----------------------------------------------------------------------------- the parts


def test_the_scheduler_takes_a_workers_frames_back_without_charging_them() -> None:
    from lrc_toolbox.core.scheduler import Scheduler

    scheduler = Scheduler({"BG": [1, 2, 3, 4]}, chunk_size=2)
    assert scheduler.next_assignment("gpu1", None) is not None
    scheduler.frame_started("BG", 1, "gpu1", 10.0)
    given = scheduler.give_back("gpu1")
    assert [(t.frame, t.state, t.attempts) for t in given] == [
        (1, FrameState.PENDING, 0),
        (2, FrameState.PENDING, 0),
    ]
    assert scheduler.held_by("gpu1") == [] and scheduler.summary().retries == 0
    again = scheduler.next_assignment("gpu2", None)
    assert again is not None and again.frames == (1, 2)  # back at the front, in order


def test_the_job_store_uncounts_the_try_of_a_frame_given_back(tmp_path: Path) -> None:
    with JobStore(tmp_path / "jobs.sqlite") as store:
        batch_id = store.create_batch(
            RenderConfig(scene="/shots/a.ma"), {"BG": [1, 2]}, scene="/shots/a.ma", snapshot="s"
        )
        store.frame_started(batch_id, "BG", 1, worker="gpu1", device="GPU 1")
        assert store.frames_given_back(batch_id, [("BG", 1), ("BG", 2)]) == 1  # 2 not running
        (first, _second) = store.frames(batch_id)
        assert first.state is FrameState.PENDING and first.attempts == 0


# ----------------------------------------------------------------------------- the engine


def test_a_gpu_given_back_finishes_its_frame_then_its_frames_go_to_the_others(
    qtbot: Any, api: BatchRenderAPI, sim: Path
) -> None:
    seen = finished_by(api)
    released: list[tuple[str, int]] = []
    on_first_frame(
        api,
        "gpu1",
        lambda layer, frame: (released.append((layer, frame)), api.release_gpu(1)),
    )
    summary = wait_finished(qtbot, api)
    batch_id = api.start_batch_render(config(sim))
    result = summary()
    assert result.state is BatchState.DONE and result.done == 6 and result.failed == 0
    assert [(layer, frame) for w, layer, frame in seen if w == "gpu1"] == released
    frames = api.store.frames(batch_id)
    assert all(f.state is FrameState.DONE and f.attempts == 1 for f in frames)
    assert result.workers["gpu1"].released == RELEASED_REASON
    assert result.workers["gpu1"].disabled is None


def test_a_gpu_given_back_reads_released_in_the_store_and_the_status(
    qtbot: Any, api: BatchRenderAPI, sim: Path
) -> None:
    on_first_frame(api, "gpu2", lambda _l, _f: api.release_gpu(2))
    summary = wait_finished(qtbot, api)
    batch_id = api.start_batch_render(config(sim))
    qtbot.waitUntil(
        lambda: any(
            s.worker_id == "gpu2" and s.state is WorkerState.RELEASED
            for s in api.get_render_status()
        ),
        timeout=30_000,
    )
    status = next(s for s in api.get_render_status() if s.worker_id == "gpu2")
    assert status.message == RELEASED_REASON
    summary()
    (record,) = [w for w in api.store.workers(batch_id) if w.worker_id == "gpu2"]
    assert record.state is WorkerState.RELEASED and record.reason == RELEASED_REASON


def test_an_abandoned_frame_renders_on_another_gpu_without_losing_a_try(
    qtbot: Any, api: BatchRenderAPI, sim: Path
) -> None:
    seen = finished_by(api)
    abandoned: list[tuple[str, int]] = []

    def release(layer: str, frame: int) -> None:
        abandoned.append((layer, frame))
        api.release_gpu(1, finish_frame=False)

    on_first_frame(api, "gpu1", release)
    summary = wait_finished(qtbot, api)
    batch_id = api.start_batch_render(config(sim))
    result = summary()
    assert result.state is BatchState.DONE and result.failed == 0 and result.retries == 0
    ((layer, frame),) = abandoned
    assert [w for w, lay, fr in seen if (lay, fr) == (layer, frame)] not in ([], ["gpu1"])
    assert not [w for w, _l, _f in seen if w == "gpu1"]
    again = next(f for f in api.store.frames(batch_id) if (f.layer, f.frame) == (layer, frame))
    assert again.state is FrameState.DONE and again.attempts == 1


def test_a_gpu_taken_back_gets_a_fresh_worker_that_renders_again(
    qtbot: Any, api: BatchRenderAPI, sim: Path
) -> None:
    seen = finished_by(api)
    started: list[str] = []
    api.worker_started.connect(lambda worker, _pid, _device: started.append(worker))
    on_first_frame(api, "gpu1", lambda _l, _f: api.release_gpu(1, finish_frame=False))

    def take_back(worker: str, state: str, _reason: str) -> None:
        if worker == "gpu1" and state == WorkerState.RELEASED.value:
            handback = api.return_gpu(1)
            assert isinstance(handback, GpuHandback) and not handback.released
            for gpu in (2, 3):  # the frames left can only go to GPU 1's fresh worker now
                api.release_gpu(gpu, finish_frame=False)

    api.worker_finished.connect(take_back)
    summary = wait_finished(qtbot, api)
    api.start_batch_render(config(sim, "1-12"))
    result = summary()
    assert result.state is BatchState.DONE and result.done == 12 and result.failed == 0
    assert started.count("gpu1") == 2
    assert any(w == "gpu1" for w, _l, _f in seen)
    assert result.workers["gpu1"].released is None


def test_a_batch_whose_every_gpu_is_given_back_waits_then_goes_on(
    qtbot: Any, api: BatchRenderAPI, sim: Path
) -> None:
    gone: list[str] = []
    api.worker_finished.connect(lambda worker, state, _r: gone.append(f"{worker}:{state}"))
    summary = wait_finished(qtbot, api)
    api.start_batch_render(config(sim, "1-12"))
    qtbot.waitSignal(api.frame_started, timeout=30_000).wait()
    for gpu in (1, 2, 3):
        api.release_gpu(gpu, finish_frame=False)
    qtbot.waitUntil(lambda: len(gone) == 3, timeout=30_000)
    assert api.is_running and api.manager is not None
    assert api.manager.scheduler.pending_count > 0  # waiting, not failed
    assert sorted(gone) == [f"gpu{i}:released" for i in (1, 2, 3)]
    api.return_gpu(2)
    result = summary()
    assert result.state is BatchState.DONE and result.done == 12 and result.failed == 0


def test_giving_back_a_gpu_without_a_running_batch_is_refused(api: BatchRenderAPI) -> None:
    with pytest.raises(BadRequest, match="no batch is rendering"):
        api.release_gpu(1)


@pytest.mark.parametrize(
    ("gpu", "message"),
    [(0, "GPU 0 is not one of batch .*: it renders on GPU 1, 2, 3"), (9, "GPU 9 is not one")],
)
def test_a_gpu_outside_the_batch_is_refused(
    qtbot: Any, api: BatchRenderAPI, sim: Path, gpu: int, message: str
) -> None:
    summary = wait_finished(qtbot, api)
    api.start_batch_render(config(sim, "1-3"))
    with pytest.raises(BadRequest, match=message):
        api.release_gpu(gpu)
    summary()


def test_giving_back_a_gpu_twice_is_refused(qtbot: Any, api: BatchRenderAPI, sim: Path) -> None:
    summary = wait_finished(qtbot, api)
    api.start_batch_render(config(sim, "1-3"))
    api.release_gpu(3, finish_frame=False)
    with pytest.raises(BadRequest, match="GPU 3 is already given back to Maya"):
        api.release_gpu(3)
    summary()


def test_taking_back_a_gpu_that_was_not_given_back_is_refused(
    qtbot: Any, api: BatchRenderAPI, sim: Path
) -> None:
    summary = wait_finished(qtbot, api)
    api.start_batch_render(config(sim, "1-3"))
    with pytest.raises(BadRequest, match="GPU 1 was not given back to Maya"):
        api.return_gpu(1)
    summary()


def test_a_gpu_request_naming_another_batch_is_refused(
    qtbot: Any, api: BatchRenderAPI, sim: Path
) -> None:
    summary = wait_finished(qtbot, api)
    api.start_batch_render(config(sim, "1-3"))
    with pytest.raises(BadRequest, match="batch nope is not rendering here"):
        api.release_gpu(1, batch_id="nope")
    summary()


def test_the_end_message_says_a_gpu_was_given_back_not_that_it_failed() -> None:
    from lrc_toolbox.cli.run_batch import _event_text, _summary_text
    from lrc_toolbox.records.batch import WorkerSummary

    summary = BatchSummary(
        total=6,
        done=6,
        batch_id="b1",
        state=BatchState.DONE,
        workers={"gpu1": WorkerSummary(device="GPU 1", released=RELEASED_REASON)},
    )
    assert _summary_text(summary).splitlines()[-1] == "  gpu1: given back to Maya by the user"
    event = {"worker": "gpu1", "state": "released", "reason": RELEASED_REASON}
    assert _event_text("worker_finished", event, verbose=False) == (
        False,
        "[gpu1] given back to Maya by the user",
    )


# ----------------------------------------------------------------------------- Maya's GPU


def _maya_gpu_used(used_mb: int, threshold: float = 90.0) -> Any:
    from lrc_toolbox.core.system_detector import SystemDetector
    from lrc_toolbox.utils.gpu_utils import simulated_gpus

    info = SystemDetector(
        Settings(simulate_gpus=4, maya_gpu_memory_warn_percent=threshold)
    ).detect()
    gpu = info.gpu(info.reserved_gpus[0])
    assert gpu is not None and gpu.memory_total_mb == simulated_gpus(4).gpus[0].memory_total_mb
    gpu.memory_used_mb = used_mb
    return SystemDetector(
        Settings(simulate_gpus=4, maya_gpu_memory_warn_percent=threshold)
    ).maya_gpu_pressure(info)


def test_maya_short_of_gpu_memory_is_an_offer_to_give_a_gpu_back() -> None:
    from lrc_toolbox.utils.gpu_utils import simulated_gpus

    total = simulated_gpus(4).gpus[0].memory_total_mb
    pressure = _maya_gpu_used(total * 95 // 100)
    assert pressure is not None and pressure.gpu == 0 and pressure.threshold_percent == 90
    assert pressure.used_percent >= 94.9
    assert "give a rendering GPU back to Maya" in pressure.message


@pytest.mark.parametrize(("share", "threshold"), [(50, 90.0), (99, 0.0)])
def test_maya_with_gpu_memory_to_spare_or_the_offer_off_gets_none(
    share: int, threshold: float
) -> None:
    from lrc_toolbox.utils.gpu_utils import simulated_gpus

    total = simulated_gpus(4).gpus[0].memory_total_mb
    assert _maya_gpu_used(total * share // 100, threshold) is None


# ----------------------------------------------------------------------------- the wire


def test_a_release_request_and_its_handback_survive_the_wire() -> None:
    request = Request(id=3, op=Op.RELEASE_GPU, batch_id="b1", gpu=2, finish_frame=False)
    assert decode(encode(request)) == request
    handback = GpuHandback(batch_id="b1", gpu=2, released=True, workers=["gpu2"], message="m")
    reply = Reply(id=3, batch_id="b1", handback=handback)
    assert decode(encode(reply)) == reply


# ----------------------------------------------------------------------------- the service


@pytest.fixture
def service_settings(sim: Path) -> Iterator[Settings]:
    """Settings of the test's own render service, killed when the test ends."""
    settings = Settings(
        simulate_gpus=4,
        temp_root=str(sim / "tmp"),
        job_store_path=str(sim / "jobs.sqlite"),
        min_free_disk_mb=0,
        warn_free_disk_mb=0,
        stop_grace_seconds=1.0,
        service_idle_seconds=2.0,
    )
    yield settings
    info = read_info(Path(settings.resolved_temp_root()) / "service")
    if info is not None and process_alive(info.pid):
        os.kill(info.pid, signal.SIGKILL)
        wait_gone([info.pid])


def test_the_render_service_gives_a_gpu_back_and_takes_it_back(
    qtbot: Any, service_settings: Settings, sim: Path
) -> None:
    from lrc_toolbox.core.service_api import ServiceBatchAPI

    api = ServiceBatchAPI(service_settings, simulate=True, follow="own", attach=False)
    try:
        states: list[tuple[str, str]] = []
        api.worker_finished.connect(lambda worker, state, _r: states.append((worker, state)))
        summary = wait_finished(qtbot, api)
        # enough frames that the batch still runs while the statuses (sent at most twice a
        # second) catch up and the GPU is taken back: 12 could all finish before that
        batch_id = api.start_batch_render(config(sim, "1-40"))
        qtbot.waitSignal(api.frame_started, timeout=60_000).wait()
        handback = api.release_gpu(1, finish_frame=False)
        assert handback.released and handback.workers == ["gpu1"]
        assert handback.batch_id == batch_id
        qtbot.waitUntil(lambda: ("gpu1", "released") in states, timeout=30_000)
        qtbot.waitUntil(
            lambda: any(s.state is WorkerState.RELEASED for s in api.get_render_status()),
            timeout=30_000,
        )
        with pytest.raises(BadRequest, match="already given back"):
            api.release_gpu(1)
        back = api.return_gpu(1)
        assert not back.released and back.workers == ["gpu1"]
        result = summary()
        assert result.state is BatchState.DONE and result.done == 40 and result.failed == 0
    finally:
        api.shutdown()


def test_the_python_api_gives_a_gpu_back_and_takes_it_back(
    service_settings: Settings, sim: Path
) -> None:
    import lrc_toolbox.api as lrc

    handle = lrc.submit(config(sim, "1-12"), simulate=True, settings=service_settings)
    assert handle.batch_id is not None, handle.error
    given = lrc.release_gpu(handle.batch_id, 3, finish_frame=False, settings=service_settings)
    assert given.released and given.workers == ["gpu3"] and not given.finish_frame
    back = lrc.return_gpu(handle.batch_id, 3, settings=service_settings)
    assert not back.released and back.workers == ["gpu3"]
    summary = handle.wait(timeout=120)
    assert summary["state"] == "done" and summary["done"] == 12 and summary["failed"] == 0


def test_the_python_api_says_when_no_render_service_runs(sim: Path) -> None:
    import lrc_toolbox.api as lrc

    settings = Settings(temp_root=str(sim / "tmp"), job_store_path=str(sim / "jobs.sqlite"))
    with pytest.raises(BadRequest, match="no render service runs for"):
        lrc.release_gpu("b1", 1, settings=settings)


def test_a_batch_handle_gives_a_gpu_of_its_own_process_back(
    service_settings: Settings, sim: Path
) -> None:
    import lrc_toolbox.api as lrc

    settings = service_settings  # no service is started: the batch renders in this process
    handle = lrc.submit(config(sim), simulate=True, settings=settings, service=False)
    given = handle.release_gpu(2, finish_frame=False)
    assert given.released and given.batch_id == handle.batch_id
    summary = handle.wait(timeout=120)
    assert summary["done"] == 6 and summary["workers"]["gpu2"]["released"] == RELEASED_REASON


# ----------------------------------------------------------------------------- the CLI


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    values = cli_env(
        tmp_path,
        LRC_RENDER_SERVICE="1",
        LRC_SERVICE_IDLE_SECONDS="2",
        LRC_SIM_TIME_SCALE="0.15",
    )
    yield values
    info = read_info(tmp_path / "tmp" / "service")
    if info is not None and process_alive(info.pid):
        os.kill(info.pid, signal.SIGTERM)
        if wait_gone([info.pid], timeout=15):
            os.kill(info.pid, signal.SIGKILL)


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def detach(tmp_path: Path, env: dict[str, str], frames: str) -> str:
    result = subprocess.run(
        render_args(tmp_path, frames, "--detach"),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return str(result.stdout.split('"batch_id": "')[1].split('"')[0])


def own_errors(text: str) -> list[str]:
    return [line for line in text.splitlines() if not line.startswith("Qt.py [")]


def test_the_cli_gives_a_gpu_back_and_takes_it_back(tmp_path: Path, env: dict[str, str]) -> None:
    batch_id = detach(tmp_path, env, "1-40")
    released = cli(env, "gpu", "release", batch_id, "2", "--abandon-frame")
    assert released.returncode == 0, released.stderr
    assert released.stdout.startswith(f"GPU 2 given back to Maya (gpu2 of batch {batch_id})")
    again = cli(env, "gpu", "release", batch_id, "2")
    assert again.returncode == 2
    assert own_errors(again.stderr) == [
        f"error: GPU 2 is already given back to Maya; take it back into the batch with "
        f"`lrc-batch-render gpu return {batch_id} 2` (return_gpu)"
    ]
    back = cli(env, "gpu", "return", batch_id, "2")
    assert back.returncode == 0, back.stderr
    assert back.stdout.startswith(f"GPU 2 taken back into batch {batch_id} (gpu2)")
    cli(env, "service", "stop", "--kill")


def test_the_cli_says_a_foreground_batch_has_no_service_to_ask(
    tmp_path: Path, env: dict[str, str]
) -> None:
    proc = subprocess.Popen(
        [*render_args(tmp_path, "1-40"), "--foreground"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        batch_id = first.split('"batch_id": "')[1].split('"')[0]
        result = cli(env, "gpu", "release", batch_id, "1")
        assert result.returncode == 2
        (line,) = own_errors(result.stderr)
        assert line.startswith(f"error: batch {batch_id} renders in a process of its own")
        assert "resume" in line
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)


def test_the_cli_refuses_an_unknown_batch(tmp_path: Path, env: dict[str, str]) -> None:
    result = cli(env, "gpu", "return", "nosuchbatch", "1")
    assert result.returncode == 2
    (line,) = own_errors(result.stderr)
    assert line.startswith("error: no batch 'nosuchbatch' in the job store")
