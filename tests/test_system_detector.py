"""Tests for lrc_toolbox.core.system_detector with explicit fake NVML and psutil modules."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest

from lrc_toolbox.config.batch_render_defaults import Settings
from lrc_toolbox.core import system_detector
from lrc_toolbox.core.system_detector import (
    SystemDetector,
    cpu_name,
    detect_system,
    pick_reserved_gpus,
)
from lrc_toolbox.records.models import GPUInfo, SingleGpuPolicy, SystemInfo

MIB = 2**20


# --------------------------------------------------------------------------- fakes


class NVMLError(Exception):
    pass


class NVMLError_LibraryNotFound(NVMLError):
    pass


class NVMLError_GpuIsLost(NVMLError):
    pass


class NVMLError_Unknown(NVMLError):
    pass


@dataclass
class Card:
    """One fake GPU; ``lost`` makes every query of it raise GpuIsLost."""

    display: bool = False
    used_mb: int = 500
    utilization: int = 0
    temperature: int = 40
    pids: list[int] = field(default_factory=list)
    lost: bool = False


class FakeNvml(ModuleType):
    """A small pynvml stand-in; set ``init_error`` to make the next ``nvmlInit`` fail."""

    NVMLError = NVMLError
    NVMLError_LibraryNotFound = NVMLError_LibraryNotFound
    NVMLError_GpuIsLost = NVMLError_GpuIsLost
    NVML_TEMPERATURE_GPU = 0

    def __init__(self, cards: list[Card], init_error: Exception | None = None) -> None:
        super().__init__("pynvml")
        self.cards = cards
        self.init_error = init_error
        self.init_calls = 0

    def _card(self, handle: int) -> Card:
        card = self.cards[handle]
        if card.lost:
            raise NVMLError_GpuIsLost("GPU is lost")
        return card

    def nvmlInit(self) -> None:
        self.init_calls += 1
        if self.init_error is not None:
            raise self.init_error

    def nvmlShutdown(self) -> None:
        pass

    def nvmlSystemGetDriverVersion(self) -> str:
        return "550.54.14"

    def nvmlSystemGetCudaDriverVersion(self) -> int:
        return 12040

    def nvmlDeviceGetCount(self) -> int:
        return len(self.cards)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
        self._card(index)
        return index

    def nvmlDeviceGetName(self, handle: int) -> str:
        self._card(handle)
        return "NVIDIA RTX A6000"

    def nvmlDeviceGetUUID(self, handle: int) -> str:
        self._card(handle)
        return f"GPU-0000000{handle}-0000-0000-0000-000000000000"

    def nvmlDeviceGetMemoryInfo(self, handle: int) -> SimpleNamespace:
        used = self._card(handle).used_mb * MIB
        return SimpleNamespace(total=49140 * MIB, used=used, free=49140 * MIB - used)

    def nvmlDeviceGetPciInfo(self, handle: int) -> SimpleNamespace:
        return SimpleNamespace(busId=f"00000000:{handle + 1:02X}:00.0")

    def nvmlDeviceGetUtilizationRates(self, handle: int) -> SimpleNamespace:
        return SimpleNamespace(gpu=self._card(handle).utilization)

    def nvmlDeviceGetTemperature(self, handle: int, sensor: int) -> int:
        return self._card(handle).temperature

    def nvmlDeviceGetDisplayActive(self, handle: int) -> int:
        return int(self._card(handle).display)

    def nvmlDeviceGetComputeRunningProcesses(self, handle: int) -> list[SimpleNamespace]:
        return [SimpleNamespace(pid=p, usedGpuMemory=MIB) for p in self._card(handle).pids]

    def nvmlDeviceGetGraphicsRunningProcesses(self, handle: int) -> list[SimpleNamespace]:
        return []


class FakePsutil(ModuleType):
    """The psutil functions the detector uses, with values set per test."""

    def __init__(
        self,
        *,
        physical: int | None = 8,
        logical: int = 16,
        load: float = 12.5,
        freq: SimpleNamespace | Exception | None = None,
        total_mb: int = 65536,
        available_mb: int = 40000,
    ) -> None:
        super().__init__("psutil")
        self.physical = physical
        self.logical = logical
        self.load = load
        self.freq = SimpleNamespace(current=3500.0) if freq is None else freq
        self.total_mb = total_mb
        self.available_mb = available_mb

    def cpu_count(self, logical: bool = True) -> int | None:
        return self.logical if logical else self.physical

    def cpu_percent(self, interval: float | None = None) -> float:
        assert interval is None  # a blocking interval would freeze the dashboard
        return self.load

    def cpu_freq(self) -> SimpleNamespace | None:
        if isinstance(self.freq, Exception):
            raise self.freq
        return self.freq

    def virtual_memory(self) -> SimpleNamespace:
        return SimpleNamespace(total=self.total_mb * MIB, available=self.available_mb * MIB)

    def Process(self, pid: int) -> SimpleNamespace:
        return SimpleNamespace(name=lambda: f"proc{pid}")


class UntouchableNvml(ModuleType):
    """Fails the test if simulated hardware ever reaches NVML."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"NVML was used ({name}) although GPUs are simulated")


def detector(
    cards: list[Card], settings: Settings | None = None, **psutil_values: object
) -> SystemDetector:
    return SystemDetector(
        settings or Settings(),
        nvml=FakeNvml(cards),
        psutil_module=FakePsutil(**psutil_values),  # type: ignore[arg-type]
    )


def notes_text(info: SystemInfo) -> str:
    return "\n".join(info.notes)


# --------------------------------------------------------------------------- reservation


def test_reservation_prefers_the_gpu_driving_the_display() -> None:
    info = detector([Card(), Card(display=True), Card()]).detect()

    assert info.reserved_gpus == [1]
    assert [g.index for g in info.available_gpus()] == [0, 2]


def test_reservation_falls_back_to_gpu_0_without_a_display() -> None:
    info = detector([Card(), Card(), Card()]).detect()

    assert info.reserved_gpus == [0]
    assert [g.index for g in info.available_gpus()] == [1, 2]


def test_reserve_gpus_0_leaves_every_gpu_to_the_workers() -> None:
    info = detector([Card(display=True), Card()], Settings(reserve_gpus=0)).detect()

    assert info.reserved_gpus == []
    assert [g.index for g in info.available_gpus()] == [0, 1]
    assert "reserve_gpus = 0" in notes_text(info)


def test_reserve_gpus_2_takes_the_display_gpu_then_the_lowest_index() -> None:
    cards = [Card(), Card(), Card(display=True), Card()]

    info = detector(cards, Settings(reserve_gpus=2)).detect()

    assert info.reserved_gpus == [2, 0]
    assert [g.index for g in info.available_gpus()] == [1, 3]


def test_reservation_never_exceeds_the_gpus_present() -> None:
    info = detector([Card(), Card()], Settings(reserve_gpus=5)).detect()

    assert info.reserved_gpus == [0, 1]
    assert info.available_gpus() == []
    assert "All 2 GPUs are kept for Maya" in notes_text(info)


def test_reservation_skips_a_lost_gpu_in_favour_of_a_healthy_one() -> None:
    info = detector([Card(lost=True), Card(), Card()]).detect()

    assert info.reserved_gpus == [1]
    assert [g.index for g in info.available_gpus()] == [2]
    assert info.gpu_error is not None and "GPU 0:" in info.gpu_error


def test_pick_reserved_gpus_orders_display_then_healthy_then_index() -> None:
    gpus = [
        GPUInfo(index=0, name="a", uuid="0", error="lost"),
        GPUInfo(index=1, name="b", uuid="1", display_attached=False),
        GPUInfo(index=2, name="c", uuid="2", display_attached=True),
    ]

    assert pick_reserved_gpus(gpus, 3) == [2, 1, 0]


def test_reserved_cpu_cores_leave_at_least_one_core_for_rendering() -> None:
    info = detector([Card()], Settings(reserve_cpu_cores=4), logical=2).detect()

    assert info.reserved_cpu_cores == 1
    assert info.render_cpu_cores == 1


def test_reserved_cpu_cores_follow_the_setting() -> None:
    info = detector([Card()], Settings(reserve_cpu_cores=3)).detect()

    assert info.reserved_cpu_cores == 3
    assert info.render_cpu_cores == 13


# --------------------------------------------------------------------------- one or no GPU


def test_single_gpu_with_share_policy_is_used_and_the_note_explains_the_choice() -> None:
    info = detector([Card(display=True)], Settings()).detect()

    assert info.single_gpu_policy is SingleGpuPolicy.SHARE
    assert [g.index for g in info.available_gpus()] == [0]
    note = notes_text(info)
    assert "One GPU found" in note
    assert "share it with Maya (the default)" in note
    assert "single_gpu_policy = cpu" in note


def test_single_gpu_with_cpu_policy_stays_with_maya_and_the_note_says_so() -> None:
    settings = Settings(single_gpu_policy=SingleGpuPolicy.CPU)

    info = detector([Card(display=True)], settings).detect()

    assert info.single_gpu_policy is SingleGpuPolicy.CPU
    assert info.available_gpus() == []
    note = notes_text(info)
    assert "One GPU found" in note
    assert "In force: CPU rendering" in note
    assert "The default is to share" in note


def test_single_gpu_available_gpus_method_follows_the_policy() -> None:
    share = detector([Card()], Settings()).available_gpus()
    cpu = detector([Card()], Settings(single_gpu_policy=SingleGpuPolicy.CPU)).available_gpus()

    assert [g.index for g in share] == [0]
    assert cpu == []


def test_no_gpu_note_says_workers_render_on_the_cpu() -> None:
    nvml = FakeNvml([], init_error=NVMLError_LibraryNotFound("NVML Shared Library Not Found"))

    info = SystemDetector(Settings(), nvml=nvml, psutil_module=FakePsutil()).detect()

    assert info.gpus == [] and info.reserved_gpus == []
    assert info.gpu_error is not None and "driver" in info.gpu_error
    assert "workers will render on the CPU" in notes_text(info)


def test_single_lost_gpu_note_says_workers_render_on_the_cpu() -> None:
    info = detector([Card(lost=True)]).detect()

    assert info.available_gpus() == []
    assert "No GPU is usable for rendering" in notes_text(info)


def test_no_gpu_reported_by_nvml_gives_the_cpu_note() -> None:
    info = detector([]).detect()

    assert info.gpu_error == "NVML found no NVIDIA GPU"
    assert "workers will render on the CPU (14 of 16 logical cores" in notes_text(info)


# --------------------------------------------------------------------------- CPU and RAM


def test_cpu_and_ram_come_from_psutil() -> None:
    info = detector([Card()]).detect()

    assert (info.cpu.physical_cores, info.cpu.logical_cores) == (8, 16)
    assert (info.cpu.load_percent, info.cpu.frequency_mhz) == (12.5, 3500.0)
    assert (info.ram_total_mb, info.ram_available_mb) == (65536, 40000)


def test_unknown_physical_core_count_falls_back_to_logical_with_a_note() -> None:
    info = detector([Card()], physical=None, logical=12).detect()

    assert info.cpu.physical_cores == 12
    assert "physical CPU cores is unknown" in notes_text(info)


@pytest.mark.parametrize("freq", [OSError("no cpufreq"), SimpleNamespace(current=0.0)])
def test_unavailable_cpu_frequency_is_none(freq: object) -> None:
    info = detector([Card()], freq=freq).detect()

    assert info.cpu.frequency_mhz is None


def test_missing_psutil_falls_back_to_os_cpu_count_with_a_note(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "psutil", None)
    monkeypatch.setattr(os, "cpu_count", lambda: 6)

    info = SystemDetector(Settings(), nvml=FakeNvml([Card()])).detect()

    assert (info.cpu.physical_cores, info.cpu.logical_cores) == (6, 6)
    assert info.cpu.load_percent is None
    assert info.ram_total_mb >= 0
    assert any(n.startswith("psutil is not installed: ") for n in info.notes)


def test_ram_fallback_reads_proc_meminfo(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:  33554432 kB\nMemFree: 1024 kB\nMemAvailable: 16777216 kB\n")

    assert system_detector._ram_without_psutil(meminfo) == (32768, 16384)


def test_ram_fallback_without_proc_meminfo_asks_the_os(tmp_path: Path) -> None:
    total, available = system_detector._ram_without_psutil(tmp_path / "missing")

    assert total >= available >= 0


def test_cpu_name_is_read_from_proc_cpuinfo(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: AMD Ryzen Threadripper 3990X\n")

    assert cpu_name(cpuinfo) == "AMD Ryzen Threadripper 3990X"


def test_cpu_name_without_cpuinfo_never_fails(tmp_path: Path) -> None:
    assert isinstance(cpu_name(tmp_path / "missing"), str)


# --------------------------------------------------------------------------- simulation


def test_simulated_settings_give_4_gpus_1_reserved_3_available() -> None:
    det = SystemDetector(
        Settings(simulate_gpus=4), nvml=UntouchableNvml("pynvml"), psutil_module=FakePsutil()
    )

    info = det.detect()

    assert len(info.gpus) == 4 and info.simulated
    assert info.reserved_gpus == [0]
    assert [g.index for g in info.available_gpus()] == [1, 2, 3]
    assert "LRC_SIMULATE_GPUS=4" in notes_text(info)


def test_zero_simulated_gpus_means_cpu_rendering() -> None:
    info = SystemDetector(Settings(simulate_gpus=0), psutil_module=FakePsutil()).detect()

    assert info.gpus == []
    assert info.gpu_error == "LRC_SIMULATE_GPUS=0: no simulated GPUs"


def test_default_settings_honour_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LRC_PREFS_DIR", str(tmp_path))
    monkeypatch.setenv("LRC_SIMULATE_GPUS", "2")

    det = SystemDetector(psutil_module=FakePsutil())

    assert det.settings.simulate_gpus == 2
    assert len(det.detect().gpus) == 2


def test_detect_system_uses_the_given_settings() -> None:
    info = detect_system(Settings(simulate_gpus=3, reserve_gpus=2))

    assert info.reserved_gpus == [0, 1] and len(info.gpus) == 3


# --------------------------------------------------------------------------- refresh


def test_refresh_updates_live_stats_but_not_the_reservation() -> None:
    cards = [Card(display=True), Card(used_mb=100)]
    psutil_fake = FakePsutil()
    det = SystemDetector(Settings(), nvml=FakeNvml(cards), psutil_module=psutil_fake)
    info = det.detect()
    cards[0].display = False
    cards[1] = Card(display=True, used_mb=9000, utilization=98, temperature=77, pids=[4242])
    psutil_fake.load, psutil_fake.available_mb = 88.0, 1234

    fresh = det.refresh(info)

    gpu = fresh.gpus[1]
    assert (gpu.memory_used_mb, gpu.memory_free_mb) == (9000, 40140)
    assert (gpu.utilization_percent, gpu.temperature_c) == (98, 77)
    assert [(p.pid, p.name) for p in gpu.processes] == [(4242, "proc4242")]
    assert (fresh.cpu.load_percent, fresh.ram_available_mb) == (88.0, 1234)
    assert fresh.reserved_gpus == [0]
    assert info.gpus[1].memory_used_mb == 100  # the input is left untouched


def test_refresh_survives_an_nvml_error_and_keeps_the_last_figures() -> None:
    nvml = FakeNvml([Card(used_mb=300), Card()])
    det = SystemDetector(Settings(), nvml=nvml, psutil_module=FakePsutil())
    info = det.detect()
    nvml.init_error = NVMLError_Unknown("Unknown Error")

    fresh = det.refresh(info)

    assert fresh.gpu_error is not None and "Unknown Error" in fresh.gpu_error
    assert fresh.gpus[0].memory_used_mb == 300
    assert fresh.gpus[0].error is None


def test_refresh_marks_a_gpu_lost_since_detection() -> None:
    nvml = FakeNvml([Card(), Card()])
    det = SystemDetector(Settings(), nvml=nvml, psutil_module=FakePsutil())
    info = det.detect()
    nvml.cards[1].lost = True

    fresh = det.refresh(info)

    assert fresh.gpus[1].error is not None and "lost" in fresh.gpus[1].error
    assert fresh.available_gpus() == []


def test_refresh_without_psutil_still_refreshes_the_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psutil", None)
    cards = [Card(used_mb=100), Card()]
    det = SystemDetector(Settings(), nvml=FakeNvml(cards))
    info = det.detect()
    cards[0].used_mb = 2000

    fresh = det.refresh(info)

    assert fresh.gpus[0].memory_used_mb == 2000
    assert fresh.cpu.load_percent is None


def test_refresh_of_simulated_gpus_does_not_touch_nvml() -> None:
    det = SystemDetector(
        Settings(simulate_gpus=2), nvml=UntouchableNvml("pynvml"), psutil_module=FakePsutil()
    )
    info = det.detect()

    fresh = det.refresh(info)

    assert fresh.gpus == info.gpus and fresh.simulated


# --------------------------------------------------------------------------- serialisation


def test_detected_system_round_trips_through_json() -> None:
    info = detector([Card(display=True, pids=[7]), Card(lost=True), Card()]).detect()

    data = json.loads(json.dumps(info.to_dict()))

    assert SystemInfo.from_dict(data) == info
