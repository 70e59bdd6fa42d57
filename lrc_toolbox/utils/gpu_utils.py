"""NVIDIA GPU discovery through NVML, without ever raising to the caller.

The batch render manager decides how many workers to start from what this module reports,
so a machine without a driver, a missing Python binding or one broken GPU must never stop
the tool: every failure becomes an ``error`` text that says what is wrong and what to do,
and CPU rendering stays possible. ``pynvml`` (the ``nvidia-ml-py`` package) is imported
lazily, and every query accepts an injected module so tests can use an explicit fake.
"""

from __future__ import annotations

import functools
import json
import os
import uuid as _uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol, TypeVar

from lrc_toolbox.records.models import GPUInfo, GPUProcess

__all__ = [
    "MAX_SIMULATED_GPUS",
    "SIMULATED_GPU_NAME",
    "SIMULATED_MEMORY_TOTAL_MB",
    "SIMULATED_NVML_STATE_VARIABLE",
    "GpuProcessList",
    "GpuProcessQuery",
    "GpuProcessReader",
    "GpuQuery",
    "ProcessListReader",
    "SimulatedGpuProcessReader",
    "format_cuda_version",
    "gpu_by_uuid",
    "gpu_process_lists",
    "is_simulated_gpu",
    "process_list_reader",
    "query_gpus",
    "simulated_gpu_process_file",
    "simulated_gpu_uuid",
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
                uuid=simulated_gpu_uuid(index),
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


@functools.lru_cache(maxsize=256)
def simulated_gpu_uuid(index: int) -> str:
    """The UUID of simulated GPU ``index``: the same on every run and every machine."""
    return f"GPU-{_uuid.uuid5(_SIMULATED_NAMESPACE, f'simulated-gpu-{index}')}"


def is_simulated_gpu(gpu: GPUInfo) -> bool:
    """Whether ``gpu`` is one of :func:`simulated_gpus` (its UUID is the simulated one)."""
    return gpu.index >= 0 and gpu.uuid == simulated_gpu_uuid(gpu.index)


# --------------------------------------------------------------------------- process lists

#: NVML's two per-GPU process lists: CUDA/OpenCL contexts, and graphics (OpenGL, Vulkan)
_PROCESS_LISTS = (
    ("compute", "nvmlDeviceGetComputeRunningProcesses"),
    ("graphics", "nvmlDeviceGetGraphicsRunningProcesses"),
)


@dataclass(frozen=True)
class GpuProcessList:
    """The processes NVML lists on one GPU (its compute and graphics lists together)."""

    uuid: str
    index: int | None = None
    #: the pids seen. None = UNKNOWN (neither list could be read): never read as "none"
    pids: frozenset[int] | None = None
    #: why the lists are unknown, or only partly known (one of the two could not be read)
    error: str | None = None

    @property
    def complete(self) -> bool:
        """Both lists were read: a pid absent from ``pids`` is really not on this GPU."""
        return self.pids is not None and self.error is None


@dataclass
class GpuProcessQuery:
    """One reading of every GPU's process lists, by GPU UUID."""

    lists: dict[str, GpuProcessList] = field(default_factory=dict)
    #: NVML could not be asked at all (no binding, no driver): every list is unknown
    error: str | None = None
    simulated: bool = False


class ProcessListReader(Protocol):
    """Something that reads the per-GPU process lists again and again."""

    def read(self) -> GpuProcessQuery: ...

    def close(self) -> None: ...


def _list_error(nvml: Any, which: str, exc: BaseException) -> str:
    if _is(nvml, exc, "NVMLError_NotSupported"):
        return f"NVML's {which} process list is not supported on this GPU or driver"
    return f"NVML's {which} process list could not be read ({_err_text(exc)})"


def _read_process_list(nvml: Any, index: int) -> GpuProcessList | str:
    """One GPU's lists, or why the GPU itself could not be identified."""
    try:
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
        uuid = _text(nvml.nvmlDeviceGetUUID(handle))
    except Exception as exc:
        return f"GPU {index}: {_gpu_error_text(nvml, 'UUID', exc)}"
    pids: set[int] = set()
    read = 0
    errors: list[str] = []
    for which, function in _PROCESS_LISTS:
        try:
            entries = list(getattr(nvml, function)(handle) or [])
        except Exception as exc:  # NotSupported (GeForce, WDDM), old binding, lost GPU
            errors.append(_list_error(nvml, which, exc))
            continue
        read += 1
        for entry in entries:
            try:
                pids.add(int(entry.pid))
            except Exception:
                errors.append(f"NVML listed a {which} process without a readable pid")
    return GpuProcessList(
        uuid=uuid,
        index=index,
        pids=frozenset(pids) if read else None,
        error="; ".join(errors) or None,
    )


def _read_process_lists(nvml: Any) -> GpuProcessQuery:
    result = GpuProcessQuery()
    try:
        count = int(nvml.nvmlDeviceGetCount())
    except Exception as exc:
        result.error = f"NVML could not count the GPUs ({_err_text(exc)})"
        return result
    problems = []
    for index in range(count):
        found = _read_process_list(nvml, index)
        if isinstance(found, str):
            problems.append(found)
        else:
            result.lists[found.uuid] = found
    result.error = " ".join(problems) or None
    return result


class GpuProcessReader:
    """Reads every GPU's process lists through NVML, again and again, with NVML
    initialised once (``nvmlInit`` can take seconds without persistence mode) until
    :meth:`close`. Never raises: a failure is the query's ``error``, and a list that
    cannot be read is unknown (``pids`` None), never empty."""

    def __init__(self, nvml: ModuleType | None = None) -> None:
        self._given = nvml
        self._nvml: Any = None
        self._error: str | None = None

    def _open(self) -> Any:
        if self._nvml is not None or self._error is not None:
            return self._nvml
        nvml: Any = self._given
        if nvml is None:
            try:
                import pynvml
            except Exception as exc:
                self._error = _import_error_text(exc)
                return None
            nvml = pynvml
        try:
            nvml.nvmlInit()
        except Exception as exc:
            self._error = _init_error_text(nvml, exc)
            return None
        self._nvml = nvml
        return nvml

    def read(self) -> GpuProcessQuery:
        nvml = self._open()
        if nvml is None:
            return GpuProcessQuery(error=self._error)
        try:
            return _read_process_lists(nvml)
        except Exception as exc:  # a binding we do not know: still never raise
            return GpuProcessQuery(
                error=f"Unexpected error while reading the GPUs' process lists "
                f"({type(exc).__name__}: {_err_text(exc)})"
            )

    def close(self) -> None:
        nvml, self._nvml = self._nvml, None
        if nvml is not None:
            try:
                nvml.nvmlShutdown()
            except Exception:
                pass


def gpu_process_lists(nvml: ModuleType | None = None) -> GpuProcessQuery:
    """Per GPU UUID, the pids NVML lists (compute and graphics). Never raises; a list
    NVML cannot give (NotSupported, an error) is unknown, never empty."""
    reader = GpuProcessReader(nvml)
    try:
        return reader.read()
    finally:
        reader.close()


# --------------------------------------------------------------------------- simulated lists

#: where the simulator keeps its state, its GPU process records included
SIMULATED_NVML_STATE_VARIABLE = "LRC_SIM_STATE_DIR"
_SIMULATED_NVML_FOLDER = "nvml"
#: simulated GPUs a UUID or a CUDA_VISIBLE_DEVICES index is matched against
MAX_SIMULATED_GPUS = 64


def simulated_gpu_process_file(state_dir: str | os.PathLike[str], uuid: str, pid: int) -> Path:
    """Where the simulator records that process ``pid`` uses GPU ``uuid`` (a CUDA context
    on it), and where :class:`SimulatedGpuProcessReader` finds it: one file per process
    and GPU, JSON ``{"pid", "created"}`` (``created``: the process's start time, so a
    reused pid does not count)."""
    return Path(state_dir) / _SIMULATED_NVML_FOLDER / uuid / f"{pid}.json"


def _process_running(pid: int, created: float | None) -> bool:
    """The process exists, is no zombie, and (when known) started at ``created``."""
    psutil = _import_psutil()
    if psutil is None:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except OSError:
            return True
        return True
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        return created is None or abs(float(process.create_time()) - created) < 0.5
    except Exception:
        return False


class SimulatedGpuProcessReader:
    """The simulated GPUs' process lists, as NVML would answer them: a simulated worker
    records the GPU it uses (``lrc_toolbox.sim``), and a list holds the processes that
    recorded it and still run. Without the simulator's state folder the lists are
    unknown, never empty."""

    def __init__(self, gpus: Sequence[GPUInfo], state_dir: str | None) -> None:
        self.gpus = list(gpus)
        self.state_dir = state_dir

    def read(self) -> GpuProcessQuery:
        result = GpuProcessQuery(simulated=True)
        if not self.state_dir:
            result.error = (
                f"the simulated GPUs' process lists are kept in {SIMULATED_NVML_STATE_VARIABLE}, "
                "which is not set"
            )
            return result
        folder = Path(self.state_dir) / _SIMULATED_NVML_FOLDER
        # every simulated GPU by its index, those of the batch included (NVML lists all)
        index = {simulated_gpu_uuid(i): i for i in range(MAX_SIMULATED_GPUS)}
        index.update({gpu.uuid: gpu.index for gpu in self.gpus})
        uuids = [gpu.uuid for gpu in self.gpus]
        try:
            uuids += sorted(p.name for p in folder.iterdir() if p.name not in uuids)
        except OSError:
            pass  # no process has recorded a GPU yet
        for uuid in uuids:
            pids: set[int] = set()
            try:
                files = list((folder / uuid).glob("*.json"))
            except OSError:
                files = []
            for path in files:
                try:
                    data = json.loads(path.read_text(encoding="utf-8"))
                    pid = int(data["pid"])
                    created = data.get("created")
                except (OSError, ValueError, KeyError, TypeError):
                    continue  # being written, or not ours
                if _process_running(pid, float(created) if created is not None else None):
                    pids.add(pid)
            result.lists[uuid] = GpuProcessList(
                uuid=uuid, index=index.get(uuid), pids=frozenset(pids)
            )
        return result

    def close(self) -> None:
        pass


def process_list_reader(
    gpus: Sequence[GPUInfo], env: Mapping[str, str] | None = None
) -> ProcessListReader:
    """The reader for these GPUs: the simulator's lists for simulated GPUs (from
    ``LRC_SIM_STATE_DIR`` in ``env``), NVML for real ones."""
    if any(is_simulated_gpu(gpu) for gpu in gpus):
        env = os.environ if env is None else env
        return SimulatedGpuProcessReader(gpus, env.get(SIMULATED_NVML_STATE_VARIABLE) or None)
    return GpuProcessReader()
