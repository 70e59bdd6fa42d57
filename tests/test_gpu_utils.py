"""Tests for lrc_toolbox.utils.gpu_utils with an explicit fake NVML module.

The fake mirrors the real binding's names (``nvmlInit``, ``NVMLError_LibraryNotFound``, ...)
so a typo in the production code fails here instead of on a render node.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from lrc_toolbox.records.models import GPUInfo
from lrc_toolbox.utils import gpu_utils
from lrc_toolbox.utils.gpu_utils import (
    GpuQuery,
    format_cuda_version,
    gpu_by_uuid,
    query_gpus,
    simulated_gpus,
)

MIB = 2**20
UUID_RE = re.compile(r"^GPU-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


# --------------------------------------------------------------------------- fake NVML


class NVMLError(Exception):
    """Stands in for pynvml.NVMLError: all specific errors derive from it."""


class NVMLError_LibraryNotFound(NVMLError):
    pass


class NVMLError_DriverNotLoaded(NVMLError):
    pass


class NVMLError_NoPermission(NVMLError):
    pass


class NVMLError_LibRmVersionMismatch(NVMLError):
    pass


class NVMLError_NotSupported(NVMLError):
    pass


class NVMLError_GpuIsLost(NVMLError):
    pass


class NVMLError_Unknown(NVMLError):
    pass


class NVMLError_Uninitialized(NVMLError):
    pass


def proc(pid: int, used_bytes: int | None) -> SimpleNamespace:
    """One entry as nvmlDevice*RunningProcesses returns it."""
    return SimpleNamespace(pid=pid, usedGpuMemory=used_bytes)


@dataclass
class FakeGpu:
    name: str | bytes = "NVIDIA RTX A6000"
    uuid: str | bytes = "GPU-11111111-2222-3333-4444-555555555555"
    bus_id: str | bytes = "00000000:01:00.0"
    total: int = 49140 * MIB
    used: int = 1024 * MIB
    utilization: int = 37
    temperature: int = 61
    display_active: int = 0
    display_mode: int = 0
    compute: list[SimpleNamespace] = field(default_factory=list)
    graphics: list[SimpleNamespace] = field(default_factory=list)
    #: NVML function name -> exception that function raises for this GPU.
    fail: dict[str, Exception] = field(default_factory=dict)


class FakeNvml(ModuleType):
    """A hand-built pynvml: handles are indices into ``gpus``; ``calls`` logs every call."""

    NVMLError = NVMLError
    NVMLError_LibraryNotFound = NVMLError_LibraryNotFound
    NVMLError_DriverNotLoaded = NVMLError_DriverNotLoaded
    NVMLError_NoPermission = NVMLError_NoPermission
    NVMLError_LibRmVersionMismatch = NVMLError_LibRmVersionMismatch
    NVMLError_NotSupported = NVMLError_NotSupported
    NVMLError_GpuIsLost = NVMLError_GpuIsLost
    NVMLError_Unknown = NVMLError_Unknown
    NVML_TEMPERATURE_GPU = 0

    def __init__(
        self,
        gpus: list[FakeGpu] | None = None,
        *,
        init_error: Exception | None = None,
        count_error: Exception | None = None,
        shutdown_error: Exception | None = None,
        driver: str | bytes = "550.54.14",
        cuda: int = 12040,
    ) -> None:
        super().__init__("pynvml")
        self.gpus = [FakeGpu()] if gpus is None else gpus
        self.init_error = init_error
        self.count_error = count_error
        self.shutdown_error = shutdown_error
        self.driver = driver
        self.cuda = cuda
        self.calls: list[str] = []

    def _gpu(self, handle: int, function: str) -> FakeGpu:
        self.calls.append(function)
        gpu = self.gpus[handle]
        if function in gpu.fail:
            raise gpu.fail[function]
        return gpu

    def nvmlInit(self) -> None:
        self.calls.append("nvmlInit")
        if self.init_error is not None:
            raise self.init_error

    def nvmlShutdown(self) -> None:
        self.calls.append("nvmlShutdown")
        if self.shutdown_error is not None:
            raise self.shutdown_error

    def nvmlSystemGetDriverVersion(self) -> str | bytes:
        return self.driver

    def nvmlSystemGetCudaDriverVersion(self) -> int:
        return self.cuda

    def nvmlDeviceGetCount(self) -> int:
        if self.count_error is not None:
            raise self.count_error
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
        self._gpu(index, "nvmlDeviceGetHandleByIndex")
        return index

    def nvmlDeviceGetName(self, handle: int) -> str | bytes:
        return self._gpu(handle, "nvmlDeviceGetName").name

    def nvmlDeviceGetUUID(self, handle: int) -> str | bytes:
        return self._gpu(handle, "nvmlDeviceGetUUID").uuid

    def nvmlDeviceGetMemoryInfo(self, handle: int) -> SimpleNamespace:
        gpu = self._gpu(handle, "nvmlDeviceGetMemoryInfo")
        return SimpleNamespace(total=gpu.total, used=gpu.used, free=gpu.total - gpu.used)

    def nvmlDeviceGetPciInfo(self, handle: int) -> SimpleNamespace:
        return SimpleNamespace(busId=self._gpu(handle, "nvmlDeviceGetPciInfo").bus_id)

    def nvmlDeviceGetUtilizationRates(self, handle: int) -> SimpleNamespace:
        gpu = self._gpu(handle, "nvmlDeviceGetUtilizationRates")
        return SimpleNamespace(gpu=gpu.utilization, memory=5)

    def nvmlDeviceGetTemperature(self, handle: int, sensor: int) -> int:
        assert sensor == self.NVML_TEMPERATURE_GPU
        return self._gpu(handle, "nvmlDeviceGetTemperature").temperature

    def nvmlDeviceGetDisplayActive(self, handle: int) -> int:
        return self._gpu(handle, "nvmlDeviceGetDisplayActive").display_active

    def nvmlDeviceGetDisplayMode(self, handle: int) -> int:
        return self._gpu(handle, "nvmlDeviceGetDisplayMode").display_mode

    def nvmlDeviceGetComputeRunningProcesses(self, handle: int) -> list[SimpleNamespace]:
        return self._gpu(handle, "nvmlDeviceGetComputeRunningProcesses").compute

    def nvmlDeviceGetGraphicsRunningProcesses(self, handle: int) -> list[SimpleNamespace]:
        return self._gpu(handle, "nvmlDeviceGetGraphicsRunningProcesses").graphics


class NoSuchProcess(Exception):
    pass


class FakePsutil(ModuleType):
    """Only what process naming needs: ``Process(pid).name()``."""

    def __init__(self, names: dict[int, str]) -> None:
        super().__init__("psutil")
        self.names = names

    def Process(self, pid: int) -> SimpleNamespace:
        if pid not in self.names:
            raise NoSuchProcess(pid)
        name = self.names[pid]
        return SimpleNamespace(name=lambda: name)


def only_gpu(result: GpuQuery) -> GPUInfo:
    assert len(result.gpus) == 1, result
    return result.gpus[0]


# --------------------------------------------------------------------------- init failures


def test_missing_binding_explains_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # makes ``import pynvml`` fail

    result = query_gpus()

    assert result.gpus == []
    assert result.error is not None
    assert "pip install nvidia-ml-py" in result.error
    assert "Maya" in result.error and "installer" in result.error


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (NVMLError_LibraryNotFound("NVML Shared Library Not Found"), "no NVIDIA GPU"),
        (NVMLError_DriverNotLoaded("Driver Not Loaded"), "not loaded"),
        (NVMLError_NoPermission("Insufficient Permissions"), "No permission"),
        (NVMLError_LibRmVersionMismatch("RM mismatch"), "Reboot"),
        (NVMLError_Unknown("Unknown Error"), "Unknown Error"),
        (NVMLError("Function Not Found"), "Function Not Found"),
    ],
    ids=["library-not-found", "driver-not-loaded", "no-permission", "mismatch", "unknown", "base"],
)
def test_init_failure_is_explained_and_cpu_rendering_still_offered(
    error: Exception, expected: str
) -> None:
    nvml = FakeNvml(init_error=error)

    result = query_gpus(nvml)

    assert result.gpus == []
    assert result.error is not None
    assert expected in result.error
    assert "CPU rendering still works" in result.error


def test_library_not_found_says_the_driver_is_missing() -> None:
    result = query_gpus(FakeNvml(init_error=NVMLError_LibraryNotFound("x")))

    assert result.error is not None
    assert "driver is not installed" in result.error


def test_unexpected_exception_at_init_is_explained_not_raised() -> None:
    result = query_gpus(FakeNvml(init_error=OSError("libnvidia-ml.so.1: bad ELF")))

    assert result.error is not None
    assert "OSError" in result.error and "bad ELF" in result.error


def test_error_whose_text_cannot_be_read_is_named_by_its_class() -> None:
    class Unprintable(NVMLError):
        def __str__(self) -> str:
            raise NVMLError_Uninitialized("no library to ask for the text")

    result = query_gpus(FakeNvml(init_error=Unprintable()))

    assert result.error is not None and "Unprintable" in result.error


def test_installed_binding_is_imported_and_never_raises() -> None:
    pytest.importorskip("pynvml")

    result = query_gpus(with_processes=False)

    assert isinstance(result, GpuQuery)
    assert result.gpus or result.error  # GPUs on a GPU machine, an explanation elsewhere


def test_shutdown_is_not_called_when_init_failed() -> None:
    nvml = FakeNvml(init_error=NVMLError_DriverNotLoaded("x"))

    query_gpus(nvml)

    assert "nvmlShutdown" not in nvml.calls


def test_real_binding_error_classes_are_recognised(monkeypatch: pytest.MonkeyPatch) -> None:
    pynvml = pytest.importorskip("pynvml")

    def fail() -> None:
        raise pynvml.NVMLError(pynvml.NVML_ERROR_DRIVER_NOT_LOADED)

    monkeypatch.setattr(pynvml, "nvmlInit", fail)

    result = query_gpus(pynvml)

    assert result.error is not None
    assert result.error.startswith("The NVIDIA driver is installed but not loaded")


# --------------------------------------------------------------------------- device count


def test_zero_devices_reports_no_gpu() -> None:
    result = query_gpus(FakeNvml(gpus=[]))

    assert result.gpus == []
    assert result.error == "NVML found no NVIDIA GPU"


def test_device_count_failure_is_explained() -> None:
    result = query_gpus(FakeNvml(count_error=NVMLError_Unknown("Unknown Error")))

    assert result.gpus == []
    assert result.error is not None
    assert "could not count" in result.error and "Unknown Error" in result.error


# --------------------------------------------------------------------------- healthy GPU


def test_healthy_gpu_fields_are_all_read() -> None:
    gpu = FakeGpu(display_active=1)

    result = query_gpus(FakeNvml([gpu]), psutil_module=FakePsutil({}))

    info = only_gpu(result)
    assert result.error is None
    assert (info.index, info.name, info.uuid) == (0, gpu.name, gpu.uuid)
    assert info.pci_bus_id == "00000000:01:00.0"
    assert (info.memory_total_mb, info.memory_used_mb, info.memory_free_mb) == (
        49140,
        1024,
        48116,
    )
    assert (info.utilization_percent, info.temperature_c) == (37, 61)
    assert info.display_attached is True
    assert info.error is None


def test_driver_and_cuda_versions_are_reported() -> None:
    result = query_gpus(FakeNvml(cuda=12040))

    assert (result.driver_version, result.cuda_driver_version) == ("550.54.14", "12.4")
    assert result.simulated is False


@pytest.mark.parametrize(
    ("value", "text"), [(12040, "12.4"), (11080, "11.8"), (12000, "12.0"), (13000, "13.0")]
)
def test_cuda_version_integer_is_formatted_major_dot_minor(value: int, text: str) -> None:
    assert format_cuda_version(value) == text


def test_bytes_from_old_bindings_are_decoded() -> None:
    gpu = FakeGpu(
        name=b"Quadro RTX 8000",
        uuid=b"GPU-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        bus_id=b"00000000:3B:00.0",
    )

    result = query_gpus(FakeNvml([gpu], driver=b"470.82.01"))

    info = only_gpu(result)
    assert info.name == "Quadro RTX 8000"
    assert info.uuid == "GPU-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
    assert info.pci_bus_id == "00000000:3B:00.0"
    assert result.driver_version == "470.82.01"


def test_several_gpus_keep_nvml_index_order() -> None:
    gpus = [FakeGpu(uuid=f"GPU-{i}", name=f"card {i}") for i in range(3)]

    result = query_gpus(FakeNvml(gpus))

    assert [(g.index, g.uuid) for g in result.gpus] == [(0, "GPU-0"), (1, "GPU-1"), (2, "GPU-2")]


# --------------------------------------------------------------------------- broken GPU


def test_lost_gpu_is_listed_with_error_and_the_others_are_fine() -> None:
    lost = FakeGpu(uuid="GPU-1", fail={"nvmlDeviceGetHandleByIndex": NVMLError_GpuIsLost("lost")})
    gpus = [FakeGpu(uuid="GPU-0"), lost, FakeGpu(uuid="GPU-2")]

    result = query_gpus(FakeNvml(gpus))

    assert [g.index for g in result.gpus] == [0, 1, 2]
    assert result.gpus[1].name == "unknown"
    assert result.gpus[1].error is not None and "lost" in result.gpus[1].error
    assert result.gpus[0].error is None and result.gpus[2].error is None
    assert result.gpus[2].uuid == "GPU-2"
    assert result.error is not None and result.error.startswith("GPU 1: ")


def test_failed_name_query_lists_the_gpu_as_unknown() -> None:
    gpu = FakeGpu(fail={"nvmlDeviceGetName": NVMLError_Unknown("Unknown Error")})

    info = only_gpu(query_gpus(FakeNvml([gpu])))

    assert info.name == "unknown"
    assert info.error is not None and "name" in info.error and "Unknown Error" in info.error


def test_failed_uuid_query_marks_the_gpu_broken() -> None:
    gpu = FakeGpu(fail={"nvmlDeviceGetUUID": NVMLError_GpuIsLost("GPU is lost")})

    result = query_gpus(FakeNvml([gpu]))

    info = only_gpu(result)
    assert info.name == "NVIDIA RTX A6000"
    assert info.error is not None and "UUID" in info.error and "nvidia-smi" in info.error
    assert result.error is not None and "GPU 0:" in result.error


def test_failed_memory_query_marks_the_gpu_broken() -> None:
    gpu = FakeGpu(fail={"nvmlDeviceGetMemoryInfo": NVMLError_Unknown("Unknown Error")})

    result = query_gpus(FakeNvml([gpu]))

    assert only_gpu(result).error is not None
    assert result.error is not None and "memory" in result.error


def test_errors_of_several_gpus_are_all_reported() -> None:
    gpus = [
        FakeGpu(fail={"nvmlDeviceGetName": NVMLError_Unknown("a")}),
        FakeGpu(),
        FakeGpu(fail={"nvmlDeviceGetHandleByIndex": NVMLError_GpuIsLost("b")}),
    ]

    result = query_gpus(FakeNvml(gpus))

    assert result.error is not None
    assert "GPU 0:" in result.error and "GPU 2:" in result.error and "GPU 1:" not in result.error


# --------------------------------------------------------------------------- optional fields


@pytest.mark.parametrize(
    ("function", "read"),
    [
        ("nvmlDeviceGetUtilizationRates", lambda g: g.utilization_percent),
        ("nvmlDeviceGetTemperature", lambda g: g.temperature_c),
        ("nvmlDeviceGetPciInfo", lambda g: g.pci_bus_id or None),
    ],
    ids=["utilization", "temperature", "pci-bus-id"],
)
def test_not_supported_optional_field_is_empty_without_error(
    function: str, read: Callable[[GPUInfo], Any]
) -> None:
    gpu = FakeGpu(fail={function: NVMLError_NotSupported("Not Supported")})

    result = query_gpus(FakeNvml([gpu]))

    info = only_gpu(result)
    assert read(info) is None
    assert info.error is None and result.error is None


def test_not_supported_display_queries_leave_display_unknown() -> None:
    gpu = FakeGpu(
        fail={
            "nvmlDeviceGetDisplayActive": NVMLError_NotSupported("Not Supported"),
            "nvmlDeviceGetDisplayMode": NVMLError_NotSupported("Not Supported"),
        }
    )

    info = only_gpu(query_gpus(FakeNvml([gpu])))

    assert info.display_attached is None and info.error is None


def test_display_mode_is_the_fallback_when_display_active_is_not_supported() -> None:
    gpu = FakeGpu(display_mode=1, fail={"nvmlDeviceGetDisplayActive": NVMLError_NotSupported("x")})

    info = only_gpu(query_gpus(FakeNvml([gpu])))

    assert info.display_attached is True


def test_not_supported_process_queries_give_no_processes() -> None:
    gpu = FakeGpu(
        compute=[proc(10, MIB)],
        fail={
            "nvmlDeviceGetComputeRunningProcesses": NVMLError_NotSupported("x"),
            "nvmlDeviceGetGraphicsRunningProcesses": NVMLError_NotSupported("x"),
        },
    )

    result = query_gpus(FakeNvml([gpu]), psutil_module=FakePsutil({}))

    assert only_gpu(result).processes == [] and result.error is None


def test_function_missing_from_an_old_binding_is_treated_as_not_supported() -> None:
    nvml = FakeNvml([FakeGpu(display_mode=1)])
    nvml.nvmlDeviceGetDisplayActive = None  # type: ignore[assignment,method-assign]

    info = only_gpu(query_gpus(nvml))

    assert info.display_attached is True and info.error is None


# --------------------------------------------------------------------------- processes


def test_processes_are_merged_deduped_by_pid_and_named_with_psutil() -> None:
    gpu = FakeGpu(
        compute=[proc(300, 2048 * MIB), proc(100, None)],
        graphics=[proc(100, 512 * MIB), proc(200, None)],
    )
    names = FakePsutil({100: "maya.bin", 300: "mayapy"})

    info = only_gpu(query_gpus(FakeNvml([gpu]), psutil_module=names))

    listed = [(p.pid, p.name, p.used_memory_mb) for p in info.processes]
    assert listed == [(100, "maya.bin", 512), (200, "", None), (300, "mayapy", 2048)]


def test_process_names_are_empty_without_psutil(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psutil", None)
    gpu = FakeGpu(compute=[proc(42, MIB)])

    info = only_gpu(query_gpus(FakeNvml([gpu])))

    assert [(p.pid, p.name) for p in info.processes] == [(42, "")]


def test_malformed_process_entries_are_skipped() -> None:
    gpu = FakeGpu(compute=[SimpleNamespace(pid="not a pid"), proc(5, -1)])

    info = only_gpu(query_gpus(FakeNvml([gpu]), psutil_module=FakePsutil({})))

    assert [(p.pid, p.used_memory_mb) for p in info.processes] == [(5, None)]


def test_with_processes_false_skips_the_process_queries() -> None:
    nvml = FakeNvml([FakeGpu(compute=[proc(1, MIB)])])

    info = only_gpu(query_gpus(nvml, with_processes=False))

    assert info.processes == []
    assert not any("RunningProcesses" in call for call in nvml.calls)


# --------------------------------------------------------------------------- shutdown


def test_shutdown_is_called_once_after_a_successful_query() -> None:
    nvml = FakeNvml()

    query_gpus(nvml)

    assert nvml.calls.count("nvmlShutdown") == 1
    assert nvml.calls[-1] == "nvmlShutdown"


def test_shutdown_is_called_even_when_no_gpu_is_found() -> None:
    nvml = FakeNvml(gpus=[])

    query_gpus(nvml)

    assert nvml.calls == ["nvmlInit", "nvmlShutdown"]


def test_shutdown_error_is_ignored() -> None:
    result = query_gpus(FakeNvml(shutdown_error=NVMLError_Unknown("Uninitialized")))

    assert result.error is None and len(result.gpus) == 1


def test_internal_bug_is_explained_and_shutdown_still_called(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: object) -> GPUInfo:
        raise RuntimeError("boom")

    monkeypatch.setattr(gpu_utils, "_read_gpu", broken)
    nvml = FakeNvml()

    result = query_gpus(nvml)

    assert result.error is not None and "RuntimeError: boom" in result.error
    assert nvml.calls[-1] == "nvmlShutdown"


# --------------------------------------------------------------------------- simulation


def test_simulated_gpus_look_like_real_hardware() -> None:
    result = simulated_gpus(4)

    assert result.simulated is True and result.error is None
    assert result.driver_version == "simulated"
    assert [g.index for g in result.gpus] == [0, 1, 2, 3]
    assert all(UUID_RE.match(g.uuid) for g in result.gpus)
    assert len({g.uuid for g in result.gpus}) == 4
    assert [g.pci_bus_id for g in result.gpus][:2] == ["00000000:01:00.0", "00000000:02:00.0"]
    assert all("(simulated)" in g.name for g in result.gpus)
    assert all(g.memory_total_mb == 49140 for g in result.gpus)
    assert all(0 < g.memory_used_mb < 1024 for g in result.gpus)
    assert all(g.memory_used_mb + g.memory_free_mb == 49140 for g in result.gpus)


def test_simulated_gpu_zero_drives_the_display() -> None:
    assert [g.display_attached for g in simulated_gpus(3).gpus] == [True, False, False]


def test_simulated_gpus_are_deterministic() -> None:
    assert simulated_gpus(2) == simulated_gpus(2)
    assert simulated_gpus(3).gpus[:2] == simulated_gpus(2).gpus


def test_zero_simulated_gpus_is_an_explained_error() -> None:
    result = simulated_gpus(0)

    assert result.gpus == []
    assert result.error == "LRC_SIMULATE_GPUS=0: no simulated GPUs"


def test_negative_simulated_gpu_count_is_an_error_not_a_crash() -> None:
    result = simulated_gpus(-1)

    assert result.gpus == [] and result.error is not None


# --------------------------------------------------------------------------- helpers


def test_gpu_by_uuid_finds_the_gpu() -> None:
    gpus = simulated_gpus(3).gpus

    assert gpu_by_uuid(gpus, gpus[2].uuid) is gpus[2]


def test_gpu_by_uuid_returns_none_for_an_unknown_uuid() -> None:
    assert gpu_by_uuid(simulated_gpus(2).gpus, "GPU-missing") is None
