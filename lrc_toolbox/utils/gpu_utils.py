"""NVIDIA GPU discovery through NVML, without ever raising to the caller.

The batch render manager decides how many workers to start from what this module reports,
so a machine without a driver, a missing Python binding or one broken GPU must never stop
the tool: every failure becomes an ``error`` text that says what is wrong and what to do,
and CPU rendering stays possible. ``pynvml`` (the ``nvidia-ml-py`` package) is imported
lazily, and every query accepts an injected module so tests can use an explicit fake.
"""

from __future__ import annotations

import uuid as _uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, TypeVar

from lrc_toolbox.records.models import GPUInfo, GPUProcess

__all__ = [
    "SIMULATED_GPU_NAME",
    "SIMULATED_MEMORY_TOTAL_MB",
    "GpuQuery",
    "format_cuda_version",
    "gpu_by_uuid",
    "query_gpus",
    "simulated_gpus",
]

_MIB = 2**20
_T = TypeVar("_T")

SIMULATED_GPU_NAME = "NVIDIA RTX A6000 (simulated)"
SIMULATED_MEMORY_TOTAL_MB = 49140
#: fixed so that simulated UUIDs are the same on every run and every machine.
_SIMULATED_NAMESPACE = _uuid.UUID("5b0e7c1e-3f4a-4d2b-9c61-7a1f0e2d4c3b")

_CPU_FALLBACK = "CPU rendering still works."


@dataclass
class GpuQuery:
    """The result of one NVML query: the GPUs, plus why the list is empty or partial."""

    gpus: list[GPUInfo] = field(default_factory=list)
    #: ``None`` when every GPU was read; else what went wrong and what to do about it.
    error: str | None = None
    driver_version: str | None = None
    #: CUDA version the driver supports, e.g. ``"12.4"``.
    cuda_driver_version: str | None = None
    simulated: bool = False


# --------------------------------------------------------------------------- small helpers


def _text(value: object) -> str:
    """Older NVML bindings return ``bytes``; newer ones ``str``. Callers always get ``str``."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", errors="replace").rstrip("\x00")
    return str(value)


def _err_text(exc: BaseException) -> str:
    """``str(NVMLError)`` may itself call into NVML; never let that raise."""
    try:
        text = str(exc)
    except Exception:
        text = ""
    return text or type(exc).__name__


def _is(nvml: Any, exc: BaseException, class_name: str) -> bool:
    """Match an NVML error by the class the binding (or a test fake) defines, if any."""
    cls = getattr(nvml, class_name, None)
    return isinstance(cls, type) and isinstance(exc, cls)


def _optional(call: Callable[[], _T]) -> _T | None:
    """Run a query whose failure only means "unknown" (NotSupported, old driver, ...)."""
    try:
        return call()
    except Exception:
        return None


def _call_optional(nvml: Any, function: str, *args: Any) -> Any:
    """Call ``nvml.<function>(*args)``; ``None`` if it fails or an old binding lacks it."""
    try:
        return getattr(nvml, function)(*args)
    except Exception:
        return None


def format_cuda_version(value: int) -> str:
    """Turn NVML's CUDA driver version integer (``12040``) into ``"12.4"``."""
    return f"{value // 1000}.{(value % 1000) // 10}"


def gpu_by_uuid(gpus: Iterable[GPUInfo], uuid: str) -> GPUInfo | None:
    """The GPU with this UUID: unlike the index, a UUID survives reboots and re-cabling."""
    return next((g for g in gpus if g.uuid == uuid), None)


# --------------------------------------------------------------------------- error texts


def _import_error_text(exc: BaseException) -> str:
    return (
        "The NVIDIA NVML Python binding is not installed (pip install nvidia-ml-py), so "
        "GPUs cannot be detected. Inside Maya the LRC Toolbox module installer installs "
        f"it: run the installer again. {_CPU_FALLBACK} (import error: {_err_text(exc)})"
    )


def _init_error_text(nvml: Any, exc: BaseException) -> str:
    """Explain why ``nvmlInit`` failed, from the most to the least specific cause."""
    detail = _err_text(exc)
    if _is(nvml, exc, "NVMLError_LibraryNotFound"):
        return (
            "No NVIDIA driver library (NVML) was found: this machine has no NVIDIA GPU or "
            "the NVIDIA driver is not installed. Install the NVIDIA driver to render on "
            f"GPUs. {_CPU_FALLBACK}"
        )
    if _is(nvml, exc, "NVMLError_DriverNotLoaded"):
        return (
            "The NVIDIA driver is installed but not loaded (NVML: "
            f"{detail}). Reboot the machine or check the driver with nvidia-smi. {_CPU_FALLBACK}"
        )
    if _is(nvml, exc, "NVMLError_NoPermission"):
        return (
            f"No permission to query the NVIDIA GPUs (NVML: {detail}). Ask an administrator "
            "to give your user access to the GPU devices (/dev/nvidia* on Linux). "
            f"{_CPU_FALLBACK}"
        )
    if _is(nvml, exc, "NVMLError_LibRmVersionMismatch"):
        return (
            "The NVIDIA driver library does not match the loaded kernel driver (NVML: "
            f"{detail}); this usually follows a driver update. Reboot the machine. "
            f"{_CPU_FALLBACK}"
        )
    if _is(nvml, exc, "NVMLError"):
        return (
            f"NVML could not be initialised: {detail}. Check the NVIDIA driver with "
            f"nvidia-smi. {_CPU_FALLBACK}"
        )
    return (
        f"Unexpected error while starting NVML ({type(exc).__name__}: {detail}). Check the "
        f"NVIDIA driver with nvidia-smi. {_CPU_FALLBACK}"
    )


def _gpu_error_text(nvml: Any, what: str, exc: BaseException) -> str:
    """Explain a failed mandatory query for one GPU (the others stay usable)."""
    if _is(nvml, exc, "NVMLError_GpuIsLost"):
        return (
            f"could not read its {what}: the GPU is lost (it fell off the bus). Check it "
            "with nvidia-smi; a reboot is usually needed. Workers will not use it."
        )
    return (
        f"could not read its {what} ({type(exc).__name__}: {_err_text(exc)}). Check it "
        "with nvidia-smi. Workers will not use it."
    )


# --------------------------------------------------------------------------- NVML query


def _process_name(psutil_module: ModuleType | None, pid: int) -> str:
    """Best-effort process name: the process may be gone, foreign or in another container."""
    if psutil_module is None:
        return ""
    try:
        return str(psutil_module.Process(pid).name())
    except Exception:
        return ""


def _import_psutil() -> ModuleType | None:
    try:
        import psutil
    except Exception:  # not shipped inside Maya; names are a nicety only
        return None
    module: ModuleType = psutil
    return module


def _process_entries(nvml: Any, function: str, handle: Any) -> list[Any]:
    """One NVML process list; empty when not supported (common on GeForce and Windows WDDM)."""
    try:
        return list(getattr(nvml, function)(handle) or [])
    except Exception:
        return []


def _processes(nvml: Any, handle: Any, psutil_module: ModuleType | None) -> list[GPUProcess]:
    """Compute and graphics processes of one GPU, once per pid (Maya is often in both)."""
    by_pid: dict[int, GPUProcess] = {}
    for getter in ("nvmlDeviceGetComputeRunningProcesses", "nvmlDeviceGetGraphicsRunningProcesses"):
        for entry in _process_entries(nvml, getter, handle):
            try:
                pid = int(entry.pid)
            except Exception:
                continue
            raw = getattr(entry, "usedGpuMemory", None)
            used = int(raw) // _MIB if isinstance(raw, int) and raw >= 0 else None
            known = by_pid.get(pid)
            if known is None:
                by_pid[pid] = GPUProcess(pid=pid, used_memory_mb=used)
            elif known.used_memory_mb is None:
                known.used_memory_mb = used
    names = psutil_module if by_pid else None
    for proc in by_pid.values():
        proc.name = _process_name(names, proc.pid)
    return sorted(by_pid.values(), key=lambda p: p.pid)


def _display_attached(nvml: Any, handle: Any) -> bool | None:
    """True when a display is initialised on the GPU (Maya's viewport most likely runs there).

    ``DisplayActive`` means the GPU drives a desktop; ``DisplayMode`` (only a monitor is
    plugged in) is the fallback for drivers that do not report the former.
    """
    for getter in ("nvmlDeviceGetDisplayActive", "nvmlDeviceGetDisplayMode"):
        value = _call_optional(nvml, getter, handle)
        if value is not None:
            return bool(value)
    return None


def _read_gpu(
    nvml: Any, index: int, with_processes: bool, psutil_module: ModuleType | None
) -> GPUInfo:
    """Read one GPU; a failed mandatory query yields a listed GPU with ``error`` set."""
    gpu = GPUInfo(index=index, name="unknown", uuid="")
    step = "handle"
    try:
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
        step = "name"
        gpu.name = _text(nvml.nvmlDeviceGetName(handle))
        step = "UUID"
        gpu.uuid = _text(nvml.nvmlDeviceGetUUID(handle))
        step = "memory"
        memory = nvml.nvmlDeviceGetMemoryInfo(handle)
        gpu.memory_total_mb = int(memory.total) // _MIB
        gpu.memory_used_mb = int(memory.used) // _MIB
        gpu.memory_free_mb = int(memory.free) // _MIB
    except Exception as exc:
        gpu.error = _gpu_error_text(nvml, step, exc)
        return gpu

    pci = _optional(lambda: nvml.nvmlDeviceGetPciInfo(handle))
    if pci is not None:
        gpu.pci_bus_id = _optional(lambda: _text(pci.busId)) or ""
    utilization = _optional(lambda: nvml.nvmlDeviceGetUtilizationRates(handle))
    if utilization is not None:
        gpu.utilization_percent = _optional(lambda: int(utilization.gpu))
    sensor = getattr(nvml, "NVML_TEMPERATURE_GPU", 0)
    gpu.temperature_c = _optional(lambda: int(nvml.nvmlDeviceGetTemperature(handle, sensor)))
    gpu.display_attached = _display_attached(nvml, handle)
    if with_processes:
        gpu.processes = _processes(nvml, handle, psutil_module)
    return gpu


def query_gpus(
    nvml: ModuleType | None = None,
    *,
    with_processes: bool = True,
    psutil_module: ModuleType | None = None,
) -> GpuQuery:
    """List the NVIDIA GPUs with their live stats. Never raises.

    Args:
        nvml: the NVML binding; ``None`` imports ``pynvml``. Tests inject a fake module.
        with_processes: also list the processes on each GPU (a little slower).
        psutil_module: used to name those processes; ``None`` imports ``psutil`` if present.

    Returns:
        The GPUs read (a broken GPU is listed with its ``error`` set), and ``error`` when
        the list is empty or partial.
    """
    if nvml is None:
        try:
            import pynvml
        except Exception as exc:  # ImportError, or a broken install failing on import
            return GpuQuery(error=_import_error_text(exc))
        nvml = pynvml
    lib: Any = nvml
    try:
        lib.nvmlInit()
    except Exception as exc:
        return GpuQuery(error=_init_error_text(lib, exc))
    try:
        return _query_initialised(lib, with_processes, psutil_module)
    except Exception as exc:  # a bug or a binding we do not know: still never raise
        return GpuQuery(
            error=f"Unexpected error while querying NVIDIA GPUs ({type(exc).__name__}: "
            f"{_err_text(exc)}). Check the NVIDIA driver with nvidia-smi. {_CPU_FALLBACK}"
        )
    finally:
        try:
            lib.nvmlShutdown()
        except Exception:
            pass  # nothing useful to do: the query result is already complete


def _query_initialised(
    nvml: Any, with_processes: bool, psutil_module: ModuleType | None
) -> GpuQuery:
    result = GpuQuery()
    result.driver_version = _optional(lambda: _text(nvml.nvmlSystemGetDriverVersion()))
    cuda = _optional(lambda: int(nvml.nvmlSystemGetCudaDriverVersion()))
    result.cuda_driver_version = format_cuda_version(cuda) if cuda is not None else None
    try:
        count = int(nvml.nvmlDeviceGetCount())
    except Exception as exc:
        result.error = (
            f"NVML could not count the GPUs ({_err_text(exc)}). Check the NVIDIA driver "
            f"with nvidia-smi. {_CPU_FALLBACK}"
        )
        return result
    if count <= 0:
        result.error = "NVML found no NVIDIA GPU"
        return result
    if with_processes and psutil_module is None:
        psutil_module = _import_psutil()
    result.gpus = [_read_gpu(nvml, i, with_processes, psutil_module) for i in range(count)]
    problems = [f"GPU {g.index}: {g.error}" for g in result.gpus if g.error]
    if problems:
        result.error = " ".join(problems)
    return result


# --------------------------------------------------------------------------- simulation


def simulated_gpus(count: int) -> GpuQuery:
    """Deterministic fake hardware (``LRC_SIMULATE_GPUS=N``) for tests, demos and the simulator.

    GPU 0 drives the display, as on a typical workstation, so the reservation logic has
    something real to decide.
    """
    if count <= 0:
        reason = "no simulated GPUs" if count == 0 else "the count must be 0 or more"
        return GpuQuery(error=f"LRC_SIMULATE_GPUS={count}: {reason}", simulated=True)
    gpus = []
    for index in range(count):
        used = 612 if index == 0 else 4  # the display GPU holds a desktop and Maya's viewport
        gpus.append(
            GPUInfo(
                index=index,
                name=SIMULATED_GPU_NAME,
                uuid=f"GPU-{_uuid.uuid5(_SIMULATED_NAMESPACE, f'simulated-gpu-{index}')}",
                pci_bus_id=f"00000000:{index + 1:02X}:00.0",
                memory_total_mb=SIMULATED_MEMORY_TOTAL_MB,
                memory_used_mb=used,
                memory_free_mb=SIMULATED_MEMORY_TOTAL_MB - used,
                utilization_percent=0,
                temperature_c=35 + index,
                display_attached=index == 0,
            )
        )
    return GpuQuery(gpus=gpus, driver_version="simulated", simulated=True)
