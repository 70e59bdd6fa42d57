"""Tests for lrc_toolbox.utils.render_subprocess: mayapy search, slots, command, environment,
priority/affinity and process-tree termination (the last two also for real)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import psutil
import pytest

from lrc_toolbox.records.models import CPUInfo, GPUInfo, RenderConfig, SingleGpuPolicy, SystemInfo
from lrc_toolbox.utils.gpu_utils import simulated_gpus
from lrc_toolbox.utils.render_subprocess import (
    MayapyNotFound,
    Slot,
    apply_priority_and_affinity,
    build_slots,
    build_worker_command,
    build_worker_environment,
    find_mayapy,
    include_all_lights_preference,
    render_cores,
    reserved_cores,
    terminate_process_tree,
)

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX niceness and signals")


def system_with(
    gpus: int = 4,
    *,
    logical: int = 16,
    reserved_cpu: int = 2,
    policy: SingleGpuPolicy = SingleGpuPolicy.SHARE,
) -> SystemInfo:
    cards = simulated_gpus(gpus).gpus
    return SystemInfo(
        cpu=CPUInfo(physical_cores=max(1, logical // 2), logical_cores=logical),
        ram_total_mb=65536,
        ram_available_mb=32768,
        gpus=cards,
        reserved_gpus=[0] if len(cards) > 1 else [],
        reserved_cpu_cores=reserved_cpu,
        single_gpu_policy=policy,
    )


def config(**values: Any) -> RenderConfig:
    return RenderConfig(scene="/shots/sh010.ma", **values)


def gpu_slot(index: int = 1, uuid: str = "GPU-1111") -> Slot:
    gpu = GPUInfo(index=index, name="NVIDIA RTX A6000", uuid=uuid)
    return Slot(id=f"gpu{index}", device="gpu", gpu=gpu, cpu_cores=[2, 3])


# --------------------------------------------------------------------------- find_mayapy


def only(*paths: str) -> Any:
    return lambda candidate: candidate in paths


def test_explicit_mayapy_wins() -> None:
    found = find_mayapy(
        "/opt/maya/bin/mayapy", env={"MAYA_LOCATION": "/x"}, exists=only("/opt/maya/bin/mayapy")
    )
    assert found == "/opt/maya/bin/mayapy"


def test_missing_explicit_mayapy_is_named() -> None:
    with pytest.raises(MayapyNotFound, match="/nope/mayapy") as info:
        find_mayapy("/nope/mayapy", env={}, platform="linux", exists=only())
    assert "settings" in str(info.value) and "--mayapy" in str(info.value)


def test_maya_location_on_linux() -> None:
    env = {"MAYA_LOCATION": "/usr/autodesk/maya2025"}
    found = find_mayapy(env=env, platform="linux", exists=only("/usr/autodesk/maya2025/bin/mayapy"))
    assert found == "/usr/autodesk/maya2025/bin/mayapy"


def test_maya_location_on_windows() -> None:
    env = {"MAYA_LOCATION": r"D:\Autodesk\Maya2025"}
    want = r"D:\Autodesk\Maya2025\bin\mayapy.exe"
    assert find_mayapy(env=env, platform="win32", exists=only(want)) == want


def test_maya_location_on_macos_is_contents() -> None:
    env = {"MAYA_LOCATION": "/Applications/Autodesk/maya2025/Maya.app/Contents"}
    want = "/Applications/Autodesk/maya2025/Maya.app/Contents/bin/mayapy"
    assert find_mayapy(env=env, platform="darwin", exists=only(want)) == want


def test_maya_location_on_macos_may_be_the_app_folder() -> None:
    env = {"MAYA_LOCATION": "/Applications/Autodesk/maya2025"}
    want = "/Applications/Autodesk/maya2025/Maya.app/Contents/bin/mayapy"
    assert find_mayapy(env=env, platform="darwin", exists=only(want)) == want


def test_running_maya_on_windows() -> None:
    want = r"C:\Program Files\Autodesk\Maya2025\bin\mayapy.exe"
    found = find_mayapy(
        env={},
        platform="win32",
        running_executable=r"C:\Program Files\Autodesk\Maya2025\bin\maya.exe",
        versions=(),
        exists=only(want),
    )
    assert found == want


def test_running_maya_on_linux() -> None:
    want = "/opt/maya2025/bin/mayapy"
    found = find_mayapy(
        env={},
        platform="linux",
        running_executable="/opt/maya2025/bin/maya.bin",
        versions=(),
        exists=only(want),
    )
    assert found == want


def test_running_maya_on_macos() -> None:
    want = "/Applications/Autodesk/maya2026/Maya.app/Contents/bin/mayapy"
    found = find_mayapy(
        env={},
        platform="darwin",
        running_executable="/Applications/Autodesk/maya2026/Maya.app/Contents/MacOS/Maya",
        versions=(),
        exists=only(want),
    )
    assert found == want


def test_running_plain_python_is_not_maya() -> None:
    with pytest.raises(MayapyNotFound) as info:
        find_mayapy(
            env={},
            platform="linux",
            running_executable="/usr/bin/python3",
            versions=(),
            exists=lambda p: True,
        )
    assert info.value.searched == []


def test_standard_windows_path_newest_first() -> None:
    paths = [rf"C:\Program Files\Autodesk\Maya{v}\bin\mayapy.exe" for v in ("2024", "2026")]
    assert find_mayapy(env={}, platform="win32", exists=only(*paths)) == paths[1]


def test_standard_windows_path_honours_program_files() -> None:
    want = r"E:\Apps\Autodesk\Maya2025\bin\mayapy.exe"
    env = {"ProgramFiles": r"E:\Apps"}
    assert find_mayapy(env=env, platform="win32", exists=only(want)) == want


def test_standard_linux_path() -> None:
    want = "/usr/autodesk/maya2025/bin/mayapy"
    assert find_mayapy(env={}, platform="linux", exists=only(want)) == want


def test_standard_linux_path_as_spelled_in_the_help() -> None:
    want = "/usr/autodesk/Maya2024/bin/mayapy"
    assert find_mayapy(env={}, platform="linux", exists=only(want)) == want


def test_standard_macos_path() -> None:
    want = "/Applications/Autodesk/maya2027/Maya.app/Contents/bin/mayapy"
    assert find_mayapy(env={}, platform="darwin", exists=only(want)) == want


def test_maya_location_comes_before_running_maya_and_defaults() -> None:
    every = lambda candidate: True  # noqa: E731
    env = {"MAYA_LOCATION": "/custom/maya"}
    found = find_mayapy(
        env=env, platform="linux", running_executable="/opt/m/bin/maya", exists=every
    )
    assert found == "/custom/maya/bin/mayapy"


def test_running_maya_comes_before_defaults() -> None:
    found = find_mayapy(
        env={}, platform="linux", running_executable="/opt/m/bin/maya", exists=lambda p: True
    )
    assert found == "/opt/m/bin/mayapy"


def test_not_found_lists_every_place_and_the_fixes() -> None:
    with pytest.raises(MayapyNotFound) as info:
        find_mayapy(
            env={"MAYA_LOCATION": "/loc"},
            platform="linux",
            running_executable="/run/bin/maya",
            versions=("2025",),
            exists=only(),
        )
    message = str(info.value)
    for place in (
        "/loc/bin/mayapy",
        "/run/bin/mayapy",
        "/usr/autodesk/maya2025/bin/mayapy",
        "/usr/autodesk/Maya2025/bin/mayapy",
    ):
        assert place in message
    assert len(info.value.searched) == 4
    for fix in ("settings", "--mayapy", "MAYA_LOCATION"):
        assert fix in message


# --------------------------------------------------------------------------- cores


def test_reserved_cores_are_the_first_ones() -> None:
    assert reserved_cores(system_with(logical=16, reserved_cpu=2)) == [0, 1]


def test_render_cores_are_the_rest() -> None:
    assert render_cores(system_with(logical=16, reserved_cpu=2)) == list(range(2, 16))


def test_reservation_never_takes_every_core() -> None:
    system = system_with(logical=2, reserved_cpu=8)
    assert reserved_cores(system) == [0] and render_cores(system) == [1]


# --------------------------------------------------------------------------- GPU slots


def test_one_slot_per_free_gpu_pinned_to_distinct_uuids() -> None:
    slots = build_slots(system_with(4), config())
    assert [s.id for s in slots] == ["gpu1", "gpu2", "gpu3"]
    assert all(s.device == "gpu" for s in slots)
    uuids = [s.gpu.uuid for s in slots if s.gpu]
    assert len(set(uuids)) == 3 and uuids[0].startswith("GPU-")


def test_two_processes_per_gpu_give_distinct_ids() -> None:
    slots = build_slots(system_with(4), config(processes_per_gpu=2))
    assert [s.id for s in slots] == ["gpu1", "gpu1-b", "gpu2", "gpu2-b", "gpu3", "gpu3-b"]


def test_explicit_gpus() -> None:
    slots = build_slots(system_with(4), config(gpus=[3, 2]))
    assert [s.gpu.index for s in slots if s.gpu] == [3, 2]


def test_unknown_gpu_index_is_an_error_listing_usable_gpus() -> None:
    with pytest.raises(ValueError, match="GPU 7 does not exist") as info:
        build_slots(system_with(4), config(gpus=[7]))
    assert "Usable GPUs: GPU 1" in str(info.value)


def test_reserved_gpu_index_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"GPU 0 .* kept for Maya"):
        build_slots(system_with(4), config(gpus=[0]))


def test_broken_gpu_index_is_an_error() -> None:
    system = system_with(4)
    system.gpus[2].error = "GPU is lost"
    with pytest.raises(ValueError, match=r"GPU 2 .*GPU is lost"):
        build_slots(system, config(gpus=[2]))


def test_empty_gpu_list_is_an_error() -> None:
    with pytest.raises(ValueError, match="empty list"):
        build_slots(system_with(4), config(gpus=[]))


def test_gpu_workers_stay_off_mayas_cores() -> None:
    slot = build_slots(system_with(4), config())[0]
    assert slot.cpu_cores == list(range(2, 16)) and slot.threads is None


def test_single_gpu_shared_with_maya() -> None:
    slots = build_slots(system_with(1, policy=SingleGpuPolicy.SHARE), config())
    assert [s.id for s in slots] == ["gpu0"]


def test_single_gpu_kept_for_maya_renders_on_cpu() -> None:
    slots = build_slots(system_with(1, policy=SingleGpuPolicy.CPU), config())
    assert [(s.id, s.device) for s in slots] == [("cpu0", "cpu")]


def test_single_gpu_kept_for_maya_cannot_be_asked_for() -> None:
    with pytest.raises(ValueError, match="single_gpu_policy"):
        build_slots(system_with(1, policy=SingleGpuPolicy.CPU), config(gpus=[0]))


def test_no_gpu_gives_cpu_slots() -> None:
    slots = build_slots(system_with(0), config())
    assert [s.device for s in slots] == ["cpu"]


# --------------------------------------------------------------------------- CPU slots


def test_cpu_mode_one_worker_uses_every_free_core() -> None:
    (slot,) = build_slots(system_with(4), config(cpu_mode=True))
    assert slot.threads == 14 and slot.cpu_cores == list(range(2, 16))


def test_cpu_mode_splits_threads_between_workers() -> None:
    slots = build_slots(system_with(4), config(cpu_mode=True, processes_per_gpu=2))
    assert [s.threads for s in slots] == [7, 7]
    assert slots[0].cpu_cores == list(range(2, 9)) and slots[1].cpu_cores == list(range(9, 16))


def test_cpu_threads_give_disjoint_cores() -> None:
    slots = build_slots(system_with(0), config(cpu_threads=4, processes_per_gpu=3))
    cores = [set(s.cpu_cores or []) for s in slots]
    assert all(len(c) == 4 for c in cores)
    assert not (cores[0] & cores[1] or cores[1] & cores[2] or cores[0] & cores[2])


def test_oversubscribed_cpu_threads_share_all_free_cores() -> None:
    slots = build_slots(system_with(0, logical=8), config(cpu_threads=4, processes_per_gpu=3))
    assert all(s.cpu_cores == list(range(2, 8)) for s in slots)


def test_more_cpu_workers_than_cores_is_an_error() -> None:
    with pytest.raises(ValueError, match="only 2 logical cores"):
        build_slots(system_with(0, logical=4), config(processes_per_gpu=3))


def test_nothing_to_render_on_is_an_error() -> None:
    with pytest.raises(ValueError, match="Nothing can render"):
        build_slots(system_with(0, logical=0), config())


def test_gpu_slot_label() -> None:
    assert gpu_slot().label == "GPU 1 · NVIDIA RTX A6000"


def test_second_process_on_a_gpu_has_its_own_label() -> None:
    slot = Slot(id="gpu1-b", device="gpu", gpu=gpu_slot().gpu)
    assert slot.label == "GPU 1 · NVIDIA RTX A6000 #2"


def test_cpu_slot_label() -> None:
    assert Slot(id="cpu0", device="cpu", threads=8).label == "CPU · 8 threads"


# --------------------------------------------------------------------------- command


def test_worker_command_with_every_flag() -> None:
    slot = Slot(id="cpu0", device="cpu", threads=8)
    command = build_worker_command(
        slot,
        mayapy=["/usr/autodesk/maya2025/bin/mayapy"],
        snapshot="/tmp/s.ma",
        scene_name="sh010",
        project="/proj",
        output_dir="/out",
        renderer="arnold",
    )
    assert command == [
        "/usr/autodesk/maya2025/bin/mayapy",
        "-m",
        "lrc_toolbox.worker",
        "--scene",
        "/tmp/s.ma",
        "--scene-name",
        "sh010",
        "--project",
        "/proj",
        "--output-dir",
        "/out",
        "--renderer",
        "arnold",
        "--device",
        "cpu",
        "--threads",
        "8",
    ]


def test_a_worker_started_before_its_snapshot_exists_awaits_the_scene() -> None:
    command = build_worker_command(
        gpu_slot(),
        mayapy=["mayapy"],
        snapshot=None,
        scene_name="sh010",
        project=None,
        output_dir=None,
        renderer=None,
    )
    assert command[:4] == ["mayapy", "-m", "lrc_toolbox.worker", "--await-scene"]
    assert "--scene" not in command and command[4:6] == ["--scene-name", "sh010"]


def test_worker_command_without_optional_flags() -> None:
    command = build_worker_command(
        gpu_slot(),
        mayapy=["mayapy"],
        snapshot="s.ma",
        scene_name="sh010",
        project=None,
        output_dir=None,
        renderer=None,
    )
    assert command == [
        "mayapy",
        "-m",
        "lrc_toolbox.worker",
        "--scene",
        "s.ma",
        "--scene-name",
        "sh010",
        "--device",
        "gpu",
    ]


def test_worker_command_with_the_simulator() -> None:
    simulator = [sys.executable, "-m", "lrc_toolbox.sim.mayapy"]
    command = build_worker_command(
        gpu_slot(),
        mayapy=simulator,
        snapshot="s.ma",
        scene_name="n",
        project=None,
        output_dir=None,
        renderer=None,
    )
    assert command[:5] == [*simulator, "-m", "lrc_toolbox.worker"]


def test_worker_command_needs_a_mayapy() -> None:
    with pytest.raises(ValueError):
        build_worker_command(
            gpu_slot(),
            mayapy=[],
            snapshot="s.ma",
            scene_name="n",
            project=None,
            output_dir=None,
            renderer=None,
        )


# --------------------------------------------------------------------------- environment


def worker_env(slot: Slot, base: dict[str, str] | None = None, **kw: Any) -> dict[str, str]:
    return build_worker_environment(
        slot,
        base_env=base if base is not None else {"PATH": "/usr/bin"},
        worker_dir=Path("/t/w/gpu1"),
        package_root=Path("/pkg"),
        **kw,
    )


def test_gpu_slot_sees_its_gpu_by_uuid() -> None:
    env = worker_env(gpu_slot(uuid="GPU-abcd"))
    assert env["CUDA_VISIBLE_DEVICES"] == "GPU-abcd"
    assert env["CUDA_DEVICE_ORDER"] == "PCI_BUS_ID"


def test_gpu_slot_tells_redshift_device_zero() -> None:
    env = worker_env(gpu_slot())
    assert env["REDSHIFT_GPUDEVICES"] == "0"
    assert env["REDSHIFT_FORCEQUITONINTERNALERROR"] == "1"


def test_gpu_without_uuid_falls_back_to_bus_ordered_index() -> None:
    assert worker_env(gpu_slot(index=3, uuid=""))["CUDA_VISIBLE_DEVICES"] == "3"


def test_gpu_slot_without_gpu_is_refused() -> None:
    with pytest.raises(ValueError):
        worker_env(Slot(id="gpu9", device="gpu"))


def test_inherited_cuda_visible_devices_is_replaced() -> None:
    env = worker_env(gpu_slot(uuid="GPU-1"), {"CUDA_VISIBLE_DEVICES": "0,1,2,3"})
    assert env["CUDA_VISIBLE_DEVICES"] == "GPU-1"


def test_cpu_slot_hides_every_gpu() -> None:
    base = {"CUDA_VISIBLE_DEVICES": "0", "REDSHIFT_GPUDEVICES": "0,1"}
    env = worker_env(Slot(id="cpu0", device="cpu", threads=4), base)
    assert env["CUDA_VISIBLE_DEVICES"] == "-1"
    assert "REDSHIFT_GPUDEVICES" not in env


def test_maya_batch_variables() -> None:
    env = worker_env(gpu_slot())
    assert env["MAYA_DISABLE_CIP"] == "1"
    assert env["MAYA_DISABLE_CER"] == "1"
    assert env["MAYA_DISABLE_CLIC_IPM"] == "1"
    assert env["MAYA_DEBUG_ENABLE_CRASH_REPORTING"] == "0"


def test_the_artists_maya_app_dir_is_kept_and_temp_files_are_private() -> None:
    env = worker_env(gpu_slot(), {"MAYA_APP_DIR": "/home/artist/maya"})
    assert env["MAYA_APP_DIR"] == "/home/artist/maya"  # Maya.env, modules, preferences
    tmp = str(Path("/t/w/gpu1/tmp"))
    assert env["TMPDIR"] == env["TEMP"] == env["TMP"] == tmp


@pytest.mark.parametrize(("include", "value"), [(True, "1"), (False, "0")])
def test_the_include_all_lights_preference_reaches_the_worker(include: bool, value: str) -> None:
    env = worker_env(gpu_slot(), {}, include_all_lights=include)
    assert env["MAYA_RENDER_SETUP_INCLUDE_ALL_LIGHTS"] == value


def test_an_include_all_lights_variable_already_set_wins() -> None:
    env = worker_env(
        gpu_slot(), {"MAYA_RENDER_SETUP_INCLUDE_ALL_LIGHTS": "0"}, include_all_lights=True
    )
    assert env["MAYA_RENDER_SETUP_INCLUDE_ALL_LIGHTS"] == "0"


USER_PREFS = """//Maya Preference 2024 (Release 1)
//
optionVar -version 4;
optionVar
 -iv "isIncrementalSaveEnabled" 0
 -iv "renderSetup_includeAllLights" 0
 -sv "workspacesLockDefault" "0"
;
"""


def test_the_preference_is_read_from_the_artists_user_prefs(tmp_path: Path) -> None:
    prefs = tmp_path / "maya" / "2024" / "prefs"
    prefs.mkdir(parents=True)
    (prefs / "userPrefs.mel").write_text(USER_PREFS, encoding="utf-8")
    env = {"MAYA_APP_DIR": str(tmp_path / "maya")}
    assert include_all_lights_preference("2024", env) is False
    assert include_all_lights_preference("2025", env) is None  # no prefs for that Maya
    assert include_all_lights_preference(None, env) is None


def test_worker_id_and_unbuffered_output() -> None:
    env = worker_env(gpu_slot(index=2))
    assert env["LRC_WORKER_ID"] == "gpu2" and env["PYTHONUNBUFFERED"] == "1"


def test_render_setup_scene_turns_legacy_layers_off() -> None:
    env = worker_env(gpu_slot(), scene_uses_render_setup=True)
    assert env["MAYA_ENABLE_LEGACY_RENDER_LAYERS"] == "0"


def test_legacy_scene_turns_legacy_layers_on() -> None:
    env = worker_env(gpu_slot(), scene_uses_render_setup=False)
    assert env["MAYA_ENABLE_LEGACY_RENDER_LAYERS"] == "1"


def test_unknown_layer_system_keeps_the_inherited_setting() -> None:
    env = worker_env(gpu_slot(), {"MAYA_ENABLE_LEGACY_RENDER_LAYERS": "1"})
    assert env["MAYA_ENABLE_LEGACY_RENDER_LAYERS"] == "1"


def test_package_root_is_prepended_to_pythonpath() -> None:
    base = {"PYTHONPATH": os.pathsep.join(["/a", "/pkg", "/b"])}
    assert worker_env(gpu_slot(), base)["PYTHONPATH"] == os.pathsep.join(["/pkg", "/a", "/b"])


def test_pythonpath_is_set_when_absent() -> None:
    assert worker_env(gpu_slot(), {})["PYTHONPATH"] == "/pkg"


def test_base_env_is_not_mutated() -> None:
    base = {"CUDA_VISIBLE_DEVICES": "0", "PYTHONPATH": "/a", "HOME": "/home/me"}
    snapshot = dict(base)
    env = worker_env(gpu_slot(), base)
    assert base == snapshot and env["HOME"] == "/home/me"


# --------------------------------------------------------------------------- priority (fake)


class FakeError(Exception):
    pass


class FakeNoSuchProcess(FakeError):
    pass


class FakeAccessDenied(FakeError):
    pass


class FakeProcess:
    def __init__(self, pid: int, module: FakePsutil) -> None:
        if pid in module.missing:
            raise FakeNoSuchProcess(pid)
        self.pid = pid
        self.module = module

    def nice(self, value: int | None = None) -> int | None:
        if value is None:
            return self.module.niceness
        if self.module.deny_nice:
            raise FakeAccessDenied("nice")
        self.module.niceness = value
        return None

    def cpu_affinity(self, cores: list[int] | None = None) -> list[int] | None:
        if cores is None:
            return list(self.module.allowed)
        self.module.affinity = list(cores)
        return None


class FakePsutil(ModuleType):
    """Just enough psutil for apply_priority_and_affinity."""

    Error = FakeError
    NoSuchProcess = FakeNoSuchProcess
    AccessDenied = FakeAccessDenied

    def __init__(self, *, windows: bool = False) -> None:
        super().__init__("psutil")
        self.niceness = 0
        self.deny_nice = False
        self.allowed = list(range(16))
        self.affinity: list[int] | None = None
        self.missing: set[int] = set()
        if windows:
            self.BELOW_NORMAL_PRIORITY_CLASS = 0x4000
        module = self

        class Process(FakeProcess):
            def __init__(self, pid: int) -> None:
                super().__init__(pid, module)

        self.Process: type[Any] = Process


class NoAffinityProcess:
    """A process object without ``cpu_affinity``, as on macOS."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def nice(self, value: int | None = None) -> int | None:
        return 0 if value is None else None


def test_posix_priority_is_lowered_by_ten() -> None:
    fake = FakePsutil()
    apply_priority_and_affinity(1, gpu_slot(), psutil_module=fake)
    assert fake.niceness == 10


def test_windows_priority_is_below_normal() -> None:
    fake = FakePsutil(windows=True)
    apply_priority_and_affinity(1, gpu_slot(), psutil_module=fake)
    assert fake.niceness == 0x4000


def test_affinity_is_set_to_the_slot_cores() -> None:
    fake = FakePsutil()
    notes = apply_priority_and_affinity(1, gpu_slot(), psutil_module=fake)
    assert fake.affinity == [2, 3] and notes == []


def test_affinity_stays_within_allowed_cores() -> None:
    fake = FakePsutil()
    fake.allowed = [3, 4]
    apply_priority_and_affinity(1, gpu_slot(), psutil_module=fake)
    assert fake.affinity == [3]


def test_access_denied_becomes_a_note() -> None:
    fake = FakePsutil()
    fake.deny_nice = True
    notes = apply_priority_and_affinity(1, gpu_slot(), psutil_module=fake)
    assert len(notes) == 1 and "priority" in notes[0] and fake.affinity == [2, 3]


def test_missing_cpu_affinity_becomes_a_note() -> None:
    fake = FakePsutil()
    fake.Process = NoAffinityProcess
    notes = apply_priority_and_affinity(1, gpu_slot(), psutil_module=fake)
    assert len(notes) == 1 and "not supported" in notes[0]


def test_vanished_process_becomes_a_note() -> None:
    fake = FakePsutil()
    fake.missing = {5}
    notes = apply_priority_and_affinity(5, gpu_slot(), psutil_module=fake)
    assert len(notes) == 1 and "pid 5" in notes[0]


def test_missing_psutil_becomes_one_note(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psutil", None)
    notes = apply_priority_and_affinity(os.getpid(), gpu_slot())
    assert len(notes) == 1 and "psutil" in notes[0]


# --------------------------------------------------------------------------- real processes

SLEEPER = [sys.executable, "-c", "import time; time.sleep(30)"]
TREE = """
import subprocess, sys, time
grandchild = "import time; time.sleep(30)"
child = (
    "import subprocess, sys, time; "
    f"subprocess.Popen([sys.executable, '-c', {grandchild!r}]); time.sleep(30)"
)
subprocess.Popen([sys.executable, "-c", child])
time.sleep(30)
"""
STUBBORN = (
    "import signal, sys, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "print('ready', flush=True)\n"
    "time.sleep(30)\n"
)


@pytest.fixture
def spawned() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes a test starts; whatever survives the test is killed."""
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        for p in [*_family(proc.pid)]:
            try:
                p.kill()
            except psutil.Error:
                pass
        proc.kill()
        proc.wait()


def _family(pid: int) -> list[psutil.Process]:
    try:
        parent = psutil.Process(pid)
        return [*parent.children(recursive=True), parent]
    except psutil.Error:
        return []


def _running(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


@posix_only
def test_real_worker_gets_a_higher_nice_value(spawned: list[subprocess.Popen[bytes]]) -> None:
    proc = subprocess.Popen(SLEEPER)
    spawned.append(proc)
    before = psutil.Process(proc.pid).nice()
    slot = Slot(id="cpu0", device="cpu", threads=1, cpu_cores=[0])
    notes = apply_priority_and_affinity(proc.pid, slot)
    assert psutil.Process(proc.pid).nice() == min(19, before + 10)
    if hasattr(psutil.Process, "cpu_affinity"):
        assert psutil.Process(proc.pid).cpu_affinity() == [0] and notes == []


def test_terminate_process_tree_leaves_no_survivor(
    spawned: list[subprocess.Popen[bytes]],
) -> None:
    proc = subprocess.Popen([sys.executable, "-c", TREE])
    spawned.append(proc)
    deadline = time.monotonic() + 10
    family = _family(proc.pid)
    while len(family) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
        family = _family(proc.pid)
    assert len(family) == 3, "the test tree did not start"
    terminate_process_tree(proc.pid, grace=3.0)
    assert [p.pid for p in family if _running(p.pid)] == []


@posix_only
def test_terminate_process_tree_kills_what_ignores_terminate(
    spawned: list[subprocess.Popen[bytes]],
) -> None:
    proc = subprocess.Popen([sys.executable, "-c", STUBBORN], stdout=subprocess.PIPE)
    spawned.append(proc)
    assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
    assert terminate_process_tree(proc.pid, grace=0.3) == [proc.pid]
    assert not _running(proc.pid)


def test_terminate_process_tree_of_a_vanished_pid() -> None:
    fake = FakePsutil()
    fake.missing = {5}
    assert terminate_process_tree(5, grace=0.1, psutil_module=fake) == []


def test_terminate_tolerates_children_that_vanish_meanwhile() -> None:
    class Gone:
        pid = 8

        def terminate(self) -> None:
            raise FakeNoSuchProcess(8)

        def children(self, recursive: bool = False) -> list[Any]:
            raise FakeNoSuchProcess(8)

        def is_running(self) -> bool:
            return False

    class Parent:
        pid = 7

        def __init__(self, pid: int) -> None:
            self.terminated = False

        def children(self, recursive: bool = False) -> list[Any]:
            return [Gone()]

        def terminate(self) -> None:
            self.terminated = True

        def is_running(self) -> bool:
            return not self.terminated

    fake = FakePsutil()
    fake.Process = Parent
    assert terminate_process_tree(7, grace=0.1, psutil_module=fake) == []


@posix_only
def test_terminate_without_psutil_sends_sigterm(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, int]] = []

    def fake_kill(pid: int, sig: int) -> None:
        calls.append((pid, sig))
        if sig == 0:
            raise ProcessLookupError(pid)

    monkeypatch.setitem(sys.modules, "psutil", None)
    monkeypatch.setattr(os, "kill", fake_kill)
    assert terminate_process_tree(123, grace=1.0) == []
    assert calls[0] == (123, 15) and calls[1] == (123, 0)
