"""Issue 12 item 12: GPU isolation verified, not assumed.

- ``gpu_utils``: per GPU UUID, the pids NVML lists; a list NVML cannot give is unknown,
  never empty (a fake NVML, as in test_gpu_utils).
- the simulator: a simulated renderer records its pid on the GPU CUDA_VISIBLE_DEVICES
  names; the ``wrong_gpu`` fault puts it on another one; the simulated NVML reads that.
- ``core/gpu_isolation``: the pure checker.
- the engine: a worker seen on another GPU is stopped, reported and its slot disabled; its
  frame is rendered by another slot (real workers in the simulated mayapy).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sim_helpers import SHOT, alive_pids, command, run_worker, sim_env
from test_gpu_utils import FakeGpu, FakeNvml, NVMLError_NotSupported, NVMLError_Unknown, proc

from lrc_toolbox.config.batch_render_defaults import Settings
from lrc_toolbox.core.batch_render_api import BatchRenderAPI
from lrc_toolbox.core.gpu_isolation import (
    GpuIsolationWatch,
    WorkerOnGpu,
    check_isolation,
    process_families,
    process_family,
)
from lrc_toolbox.core.render_process_manager import RenderProcessManager
from lrc_toolbox.records.batch import BatchSummary
from lrc_toolbox.records.models import FrameState, RenderConfig, WorkerState
from lrc_toolbox.sim.config import load_sim_config
from lrc_toolbox.sim.gpu_processes import other_gpu, record_gpu_process, visible_gpus
from lrc_toolbox.utils.gpu_utils import (
    GpuProcessList,
    GpuProcessQuery,
    GpuProcessReader,
    SimulatedGpuProcessReader,
    gpu_process_lists,
    is_simulated_gpu,
    process_list_reader,
    simulated_gpu_process_file,
    simulated_gpu_uuid,
    simulated_gpus,
)

UUID_A = "GPU-aaaaaaaa-0000-0000-0000-000000000000"
UUID_B = "GPU-bbbbbbbb-0000-0000-0000-000000000000"
SIM = [gpu.uuid for gpu in simulated_gpus(4).gpus]


def known(uuid: str, *pids: int, index: int | None = None) -> GpuProcessList:
    return GpuProcessList(uuid=uuid, index=index, pids=frozenset(pids))


# --------------------------------------------------------------------------- NVML lists


def test_nvml_lists_compute_and_graphics_pids_by_gpu_uuid() -> None:
    nvml = FakeNvml(
        [
            FakeGpu(uuid=UUID_A, compute=[proc(10, 1)], graphics=[proc(11, None)]),
            FakeGpu(uuid=b"GPU-bbbbbbbb-0000-0000-0000-000000000000", compute=[proc(20, 1)]),
        ]
    )
    query = gpu_process_lists(nvml)
    assert query.error is None
    assert query.lists[UUID_A].pids == {10, 11} and query.lists[UUID_A].complete
    assert query.lists[UUID_B].pids == {20} and query.lists[UUID_B].index == 1


def test_a_list_nvml_does_not_support_is_unknown_never_empty() -> None:
    unsupported = NVMLError_NotSupported("Not Supported")
    nvml = FakeNvml(
        [
            FakeGpu(
                uuid=UUID_A,
                fail={
                    "nvmlDeviceGetComputeRunningProcesses": unsupported,
                    "nvmlDeviceGetGraphicsRunningProcesses": unsupported,
                },
            )
        ]
    )
    found = gpu_process_lists(nvml).lists[UUID_A]
    assert found.pids is None
    assert found.error is not None and "not supported" in found.error


def test_one_list_failing_leaves_the_other_known_but_not_complete() -> None:
    nvml = FakeNvml(
        [
            FakeGpu(
                uuid=UUID_A,
                compute=[proc(10, 1)],
                fail={"nvmlDeviceGetGraphicsRunningProcesses": NVMLError_Unknown("Unknown")},
            )
        ]
    )
    found = gpu_process_lists(nvml).lists[UUID_A]
    assert found.pids == {10} and not found.complete
    assert found.error is not None and "graphics" in found.error


def test_nvml_that_cannot_start_is_an_explained_error_with_no_lists() -> None:
    nvml = FakeNvml(init_error=NVMLError_Unknown("boom"))
    query = gpu_process_lists(nvml)
    assert query.lists == {} and query.error is not None and "boom" in query.error


def test_a_missing_binding_is_an_explained_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)
    query = gpu_process_lists()
    assert query.error is not None and "pip install nvidia-ml-py" in query.error


def test_the_reader_initialises_nvml_once_until_closed() -> None:
    nvml = FakeNvml([FakeGpu(uuid=UUID_A)])
    reader = GpuProcessReader(nvml)
    reader.read()
    reader.read()
    reader.close()
    assert nvml.calls.count("nvmlInit") == 1 and nvml.calls.count("nvmlShutdown") == 1


# --------------------------------------------------------------------------- simulated NVML


def test_simulated_gpus_are_recognised_by_their_uuid() -> None:
    gpus = simulated_gpus(2).gpus
    assert all(is_simulated_gpu(g) for g in gpus)
    assert simulated_gpu_uuid(1) == gpus[1].uuid
    assert not is_simulated_gpu(gpus[1].__class__(index=1, name="real", uuid=UUID_A))


def test_the_simulated_nvml_lists_a_recorded_process_that_runs(tmp_path: Path) -> None:
    record_gpu_process(str(tmp_path), SIM[1])
    query = SimulatedGpuProcessReader(simulated_gpus(4).gpus, str(tmp_path)).read()
    assert query.simulated
    assert query.lists[SIM[1]].pids == {os.getpid()}
    assert query.lists[SIM[2]].pids == frozenset()  # known, and empty


def test_the_simulated_nvml_forgets_a_process_that_ended(tmp_path: Path) -> None:
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    record_gpu_process(str(tmp_path), SIM[1], pid=int(child.stdout))
    query = SimulatedGpuProcessReader(simulated_gpus(4).gpus, str(tmp_path)).read()
    assert query.lists[SIM[1]].pids == frozenset()


def test_a_reused_pid_is_not_the_recorded_process(tmp_path: Path) -> None:
    path = simulated_gpu_process_file(tmp_path, SIM[1], os.getpid())
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"pid": os.getpid(), "created": 1.0}), encoding="utf-8")
    query = SimulatedGpuProcessReader(simulated_gpus(4).gpus, str(tmp_path)).read()
    assert query.lists[SIM[1]].pids == frozenset()


def test_without_the_simulator_state_folder_the_lists_are_unknown() -> None:
    query = SimulatedGpuProcessReader(simulated_gpus(2).gpus, None).read()
    assert query.lists == {} and query.error is not None and "LRC_SIM_STATE_DIR" in query.error


def test_simulated_gpus_are_read_from_the_simulator_and_real_ones_from_nvml() -> None:
    env = {"LRC_SIM_STATE_DIR": "/x"}
    assert isinstance(process_list_reader(simulated_gpus(2).gpus, env), SimulatedGpuProcessReader)
    real = simulated_gpus(1).gpus[0].__class__(index=0, name="real", uuid=UUID_A)
    assert isinstance(process_list_reader([real], env), GpuProcessReader)


def test_cuda_visible_devices_names_the_gpus_a_process_can_use() -> None:
    assert visible_gpus(SIM[2]) == [SIM[2]]
    assert visible_gpus("1,2") == [SIM[1], SIM[2]]
    assert visible_gpus("-1") == []
    assert visible_gpus(f"{SIM[1]},-1,2") == [SIM[1]]  # CUDA stops at an invalid entry


def test_a_renderer_ignoring_cuda_visible_devices_lands_on_gpu_0_or_the_one_named() -> None:
    assert other_gpu([SIM[2]]) == SIM[0]
    assert other_gpu([SIM[0]]) == SIM[1]
    assert other_gpu([SIM[2]], 3) == SIM[3]


def test_the_wrong_gpu_fault_has_a_shortcut_and_a_gpu_key() -> None:
    config = load_sim_config(
        {"LRC_SIM_CONFIG": json.dumps({"faults": [{"kind": "wrong_gpu", "frame": 3, "gpu": 2}]})}
    )
    assert (config.faults[0].kind, config.faults[0].gpu) == ("wrong_gpu", 2)
    shortcut = load_sim_config({"LRC_SIM_WRONG_GPU_AT": "5"}).faults[0]
    assert (shortcut.kind, shortcut.frame) == ("wrong_gpu", 5)


def _worker_lists(tmp_path: Path, **extra: str) -> dict[str, frozenset[int] | None]:
    """Run the real worker on simulated GPU 2 for frames 1-2 of BG; return the pids each
    simulated GPU's list held while it ran (read by a render command's ready)."""
    env = sim_env(tmp_path, CUDA_VISIBLE_DEVICES=SIM[2], **extra)
    run = run_worker(
        tmp_path,
        [command("render", layer="BG", frames=[1, 2]), command("quit")],
        env=env,
    )
    assert [e["frame"] for e in run.named("frame_done")] == [1, 2]
    pid = int(run.named("hello")[0]["pid"])
    folder = tmp_path / "sim-state" / "nvml"
    return {
        uuid: frozenset(int(p.stem) for p in (folder / uuid).glob("*.json") if int(p.stem) == pid)
        for uuid in SIM
    }


def test_a_simulated_worker_records_itself_on_its_own_gpu_only(tmp_path: Path) -> None:
    lists = _worker_lists(tmp_path)
    assert [uuid for uuid, pids in lists.items() if pids] == [SIM[2]]


def test_the_wrong_gpu_fault_records_the_worker_on_another_gpu(tmp_path: Path) -> None:
    lists = _worker_lists(tmp_path, LRC_SIM_WRONG_GPU_AT="2")
    assert [uuid for uuid, pids in lists.items() if pids] == [SIM[0], SIM[2]]


# --------------------------------------------------------------------------- the checker


def test_a_worker_on_its_own_gpu_only_is_verified() -> None:
    worker = WorkerOnGpu("gpu1", 100, UUID_A)
    report = check_isolation([worker], {UUID_A: known(UUID_A, 100), UUID_B: known(UUID_B, 7)})
    assert report.violations == [] and report.verified == ["gpu1"]


def test_a_worker_on_another_gpu_is_a_violation_naming_that_gpu() -> None:
    worker = WorkerOnGpu("gpu1", 100, UUID_A)
    report = check_isolation(
        [worker], {UUID_A: known(UUID_A, 100), UUID_B: known(UUID_B, 100, index=3)}
    )
    [violation] = report.violations
    assert (violation.worker_id, violation.gpu_uuid, violation.pid) == ("gpu1", UUID_B, 100)
    assert "GPU 3" in violation.reason() and "CUDA_VISIBLE_DEVICES" in violation.reason()
    assert report.verified == []


def test_a_child_of_the_worker_on_another_gpu_is_a_violation() -> None:
    worker = WorkerOnGpu("gpu1", 100, UUID_A, family=frozenset({100, 101}))
    report = check_isolation([worker], {UUID_A: known(UUID_A, 100), UUID_B: known(UUID_B, 101)})
    [violation] = report.violations
    assert violation.pid == 101 and "child process 101" in violation.reason()


def test_a_cpu_worker_on_any_gpu_is_a_violation() -> None:
    report = check_isolation([WorkerOnGpu("cpu0", 100, None)], {UUID_A: known(UUID_A, 100)})
    assert [v.worker_id for v in report.violations] == ["cpu0"]


def test_an_unknown_list_proves_nothing_and_is_reported() -> None:
    worker = WorkerOnGpu("gpu1", 100, UUID_A)
    unknown = GpuProcessList(uuid=UUID_B, pids=None, error="not supported")
    report = check_isolation([worker], {UUID_A: known(UUID_A, 100), UUID_B: unknown})
    assert report.violations == [] and report.verified == []
    assert report.unknown == {UUID_B: "not supported"}


def test_processes_no_worker_owns_are_ignored() -> None:
    workers = [WorkerOnGpu("gpu1", 100, UUID_A), WorkerOnGpu("gpu1-b", 200, UUID_A)]
    report = check_isolation(workers, {UUID_A: known(UUID_A, 100, 200), UUID_B: known(UUID_B, 5)})
    assert report.violations == [] and sorted(report.verified) == ["gpu1", "gpu1-b"]


def test_one_violation_per_worker_is_acted_on() -> None:
    worker = WorkerOnGpu("gpu1", 100, UUID_A, family=frozenset({100, 101}))
    report = check_isolation([worker], {UUID_A: known(UUID_A), UUID_B: known(UUID_B, 100, 101)})
    assert len(report.violations) == 2 and len(report.first_per_worker()) == 1


def test_the_family_of_a_process_includes_its_children() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert {os.getpid(), child.pid} <= process_family(os.getpid())
    finally:
        child.kill()
        child.wait()


def test_the_families_of_this_process_s_children_include_their_grandchildren() -> None:
    code = (
        "import subprocess, sys, time\n"
        "g = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'])\n"
        "print(g.pid, flush=True)\n"
        "time.sleep(30)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    started = [child.pid]
    try:
        assert child.stdout is not None
        grandchild = int(child.stdout.readline())
        started.append(grandchild)
        families = process_families([child.pid])
        assert families[child.pid] == {child.pid, grandchild}
    finally:
        for pid in alive_pids(started):
            os.kill(pid, signal.SIGKILL)
        child.wait()


class _Lists:
    def __init__(self, query: GpuProcessQuery) -> None:
        self.query = query
        self.closed = False

    def read(self) -> GpuProcessQuery:
        return self.query

    def close(self) -> None:
        self.closed = True


def test_the_watch_says_once_where_isolation_cannot_be_verified() -> None:
    lists = {UUID_A: GpuProcessList(uuid=UUID_A, pids=None, error="not supported")}
    watch = GpuIsolationWatch([], reader=_Lists(GpuProcessQuery(lists=lists)), interval=5.0)
    worker = WorkerOnGpu("gpu1", 100, UUID_A, family=frozenset({100}))
    _, first = watch.check([worker], now=0.0)
    _, second = watch.check([worker], now=10.0)
    assert len(first) == 1 and "not supported" in first[0] and second == []


def test_the_watch_is_due_again_after_its_interval() -> None:
    watch = GpuIsolationWatch([], reader=_Lists(GpuProcessQuery()), interval=5.0)
    watch.check([], now=100.0)
    assert not watch.due(104.0) and watch.due(105.0)


# --------------------------------------------------------------------------- the engine


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[BatchRenderAPI]:
    monkeypatch.setattr(RenderProcessManager, "gpu_check_interval", 0.2)
    monkeypatch.setenv("LRC_SIM_TIME_SCALE", "0.1")
    monkeypatch.setenv("LRC_SIM_STATE_DIR", str(tmp_path / "sim-state"))
    api = BatchRenderAPI(
        Settings(
            simulate_gpus=4,
            temp_root=str(tmp_path / "tmp"),
            job_store_path=str(tmp_path / "jobs.sqlite"),
            stop_grace_seconds=1.0,
            min_free_disk_mb=0,
            warn_free_disk_mb=0,
        ),
        simulate=True,
    )
    yield api
    api.shutdown()


def _run(qtbot: Any, api: BatchRenderAPI, tmp_path: Path) -> tuple[BatchSummary, list[str]]:
    logs: list[str] = []
    api.log_message.connect(lambda _t, level, _w, text: logs.append(f"{level}: {text}"))
    cfg = RenderConfig(
        scene=str(SHOT), frames="1-6", output_dir=str(tmp_path / "images"), frame_timeout=60.0
    )
    with qtbot.waitSignal(api.batch_finished, timeout=120_000) as blocker:
        api.start_batch_render(cfg)
    summary = blocker.args[0]
    assert isinstance(summary, BatchSummary)
    return summary, logs


#: BG frame 2 renders 2 s (scaled) on a worker that also lands on GPU 0
WRONG_GPU_PROFILE = json.dumps(
    {
        "startup": 1.0,
        "frame_cost": {"BG": 20.0},
        "faults": [{"kind": "wrong_gpu", "frame": 2, "layer": "BG", "times": 1}],
    }
)


@pytest.mark.qt
def test_a_worker_seen_on_another_gpu_is_stopped_and_its_slot_disabled(
    qtbot: Any, engine: BatchRenderAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LRC_SIM_CONFIG", WRONG_GPU_PROFILE)
    summary, logs = _run(qtbot, engine, tmp_path)
    disabled = {w: s.disabled for w, s in summary.workers.items() if s.disabled}
    [(worker_id, reason)] = disabled.items()
    assert "GPU isolation broken" in reason and f"GPU 0 ({SIM[0]})" in reason
    records = {r.worker_id: r for r in engine.store.workers(summary.batch_id)}
    assert records[worker_id].state is WorkerState.DISABLED
    assert records[worker_id].reason == reason
    assert any(line.startswith("error: GPU isolation broken") for line in logs)
    assert alive_pids([records[worker_id].pid or 0]) == []


@pytest.mark.qt
def test_the_frame_of_a_worker_on_another_gpu_is_rendered_by_another_slot(
    qtbot: Any, engine: BatchRenderAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LRC_SIM_CONFIG", WRONG_GPU_PROFILE)
    summary, _ = _run(qtbot, engine, tmp_path)
    assert summary.state.value == "done" and summary.done == 12 and summary.failed == 0
    [violator] = [w for w, s in summary.workers.items() if s.disabled]
    frame = next(
        f for f in engine.store.frames(summary.batch_id) if (f.layer, f.frame) == ("BG", 2)
    )
    assert frame.state is FrameState.DONE
    assert frame.worker != violator


@pytest.mark.qt
def test_workers_on_their_own_gpus_are_left_alone(
    qtbot: Any, engine: BatchRenderAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LRC_SIM_CONFIG", json.dumps({"startup": 1.0, "frame_cost": {"BG": 3.0}}))
    summary, logs = _run(qtbot, engine, tmp_path)
    assert summary.done == 12 and not any(s.disabled for s in summary.workers.values())
    assert not any("GPU isolation" in line for line in logs)


@pytest.mark.qt
def test_lists_the_simulator_cannot_give_are_said_once_not_taken_as_empty(
    qtbot: Any, engine: BatchRenderAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LRC_SIM_STATE_DIR")
    monkeypatch.setenv("LRC_SIM_CONFIG", WRONG_GPU_PROFILE)
    summary, logs = _run(qtbot, engine, tmp_path)
    notes = [line for line in logs if "GPU isolation cannot be fully verified" in line]
    assert len(notes) == 1 and "LRC_SIM_STATE_DIR" in notes[0]
    assert summary.done == 12
