"""What this machine has, and which part of it stays with the artist's interactive Maya.

CPU and RAM come from ``psutil`` (with a plain-``os`` fallback, because ``psutil`` is not
shipped inside Maya), GPUs from :mod:`lrc_toolbox.utils.gpu_utils`. The detector then keeps
``reserve_gpus`` GPUs (the display GPU first) and ``reserve_cpu_cores`` cores for Maya, and
writes a plain-language note for every choice a user may want to change. Nothing here
raises for missing hardware or libraries: problems become notes and ``gpu_error``.
"""

from __future__ import annotations

import copy
import os
import platform
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import TypeVar

from lrc_toolbox.config.batch_render_defaults import Settings, load_settings
from lrc_toolbox.records.models import (
    CPUInfo,
    GPUInfo,
    MayaGpuPressure,
    SingleGpuPolicy,
    SystemInfo,
)
from lrc_toolbox.utils.gpu_utils import GpuQuery, gpu_by_uuid, query_gpus, simulated_gpus

__all__ = ["SystemDetector", "detect_system", "pick_reserved_gpus"]

_MIB = 2**20
_T = TypeVar("_T")
_PROC_CPUINFO = Path("/proc/cpuinfo")
_PROC_MEMINFO = Path("/proc/meminfo")


def pick_reserved_gpus(gpus: list[GPUInfo], count: int) -> list[int]:
    """Indices of the GPUs kept for Maya, in the order they were chosen.

    Maya's viewport runs on the GPU that drives the display, so that one goes first; then
    healthy GPUs before broken ones (a lost GPU cannot be Maya's), lowest index first.
    """
    ranked = sorted(
        gpus, key=lambda g: (g.display_attached is not True, g.error is not None, g.index)
    )
    return [g.index for g in ranked[: max(0, count)]]


class SystemDetector:
    """Detects CPU, RAM and GPUs and decides what stays reserved for Maya.

    Args:
        settings: reservation and simulation settings; ``None`` loads the user's settings.
        nvml: an NVML binding to use instead of ``pynvml`` (tests inject a fake).
        psutil_module: a ``psutil`` to use instead of importing it (tests inject a fake).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        nvml: ModuleType | None = None,
        psutil_module: ModuleType | None = None,
    ) -> None:
        self.settings = settings if settings is not None else load_settings().settings
        self._nvml = nvml
        self._psutil = psutil_module

    # ------------------------------------------------------------------ public API

    def detect(self) -> SystemInfo:
        """Full detection: hardware, reservation for Maya and explanatory notes."""
        notes: list[str] = []
        psutil_module = self._load_psutil(notes)
        cpu = _detect_cpu(psutil_module, notes)
        ram_total, ram_available = _detect_ram(psutil_module)
        query = self._query_gpus(psutil_module)
        settings = self.settings
        info = SystemInfo(
            cpu=cpu,
            ram_total_mb=ram_total,
            ram_available_mb=ram_available,
            gpus=query.gpus,
            gpu_error=query.error,
            driver_version=query.driver_version,
            cuda_driver_version=query.cuda_driver_version,
            reserved_gpus=pick_reserved_gpus(query.gpus, settings.reserve_gpus),
            reserved_cpu_cores=max(0, min(settings.reserve_cpu_cores, cpu.logical_cores - 1)),
            single_gpu_policy=settings.single_gpu_policy,
            simulated=query.simulated,
            notes=notes,
        )
        info.notes.extend(_reservation_notes(info, settings))
        return info

    def refresh(self, info: SystemInfo) -> SystemInfo:
        """Cheap live update for the dashboard (about once a second). Never raises.

        Updates CPU load, available RAM and each GPU's memory, utilisation, temperature and
        processes; the reservation stays as :meth:`detect` decided it, so workers do not
        move between GPUs while a batch runs. Returns a new object; ``info`` is unchanged.
        """
        fresh = copy.deepcopy(info)
        psutil_module = self._load_psutil(None)
        if psutil_module is not None:
            load = _safe(lambda: float(psutil_module.cpu_percent(interval=None)))
            if load is not None:
                fresh.cpu.load_percent = load
            memory = _safe(lambda: psutil_module.virtual_memory())
            available = _safe(lambda: int(memory.available) // _MIB) if memory else None
            if available is not None:
                fresh.ram_available_mb = available
        else:
            available = _ram_without_psutil()[1]
            if available:
                fresh.ram_available_mb = available
        if fresh.simulated:
            return fresh  # simulated GPUs keep their static figures
        query = _safe(lambda: query_gpus(self._nvml, psutil_module=psutil_module))
        if query is None:  # pragma: no cover - query_gpus never raises; belt and braces
            return fresh
        fresh.gpu_error = query.error
        if not query.gpus:
            return fresh  # NVML is unavailable right now: keep the last known figures
        for gpu in fresh.gpus:
            _update_gpu(gpu, query.gpus)
        return fresh

    def maya_gpu_pressure(self, info: SystemInfo) -> MayaGpuPressure | None:
        """Whether a GPU kept for Maya is short of memory in ``info`` (a :meth:`refresh`
        result): NVML's used / total over the ``maya_gpu_memory_warn_percent`` setting.
        The fullest such GPU, or None (none kept, none over, the setting 0, or its memory
        unknown). The dashboard shows it as an offer to give one rendering GPU back to
        Maya (``BatchRenderAPI.release_gpu``)."""
        threshold = self.settings.maya_gpu_memory_warn_percent
        if threshold <= 0:
            return None
        worst: MayaGpuPressure | None = None
        for index in info.reserved_gpus:
            gpu = info.gpu(index)
            if gpu is None or gpu.error is not None or gpu.memory_total_mb <= 0:
                continue
            used = 100.0 * gpu.memory_used_mb / gpu.memory_total_mb
            if used < threshold or (worst is not None and used <= worst.used_percent):
                continue
            worst = MayaGpuPressure(
                gpu=gpu.index,
                name=gpu.name,
                memory_used_mb=gpu.memory_used_mb,
                memory_total_mb=gpu.memory_total_mb,
                used_percent=round(used, 1),
                threshold_percent=threshold,
                message=(
                    f"Maya's GPU {gpu.index} ({gpu.name}) is short of memory: "
                    f"{gpu.memory_used_mb:,} of {gpu.memory_total_mb:,} MiB in use "
                    f"({used:.0f} %, over {threshold:g} %); give a rendering GPU back to "
                    "Maya (the batch goes on with the others) or free memory in Maya"
                ),
            )
        return worst

    def available_gpus(self) -> list[GPUInfo]:
        """The GPUs render workers may use right now (a fresh :meth:`detect`)."""
        return self.detect().available_gpus()

    # ------------------------------------------------------------------ internals

    def _load_psutil(self, notes: list[str] | None) -> ModuleType | None:
        if self._psutil is not None:
            return self._psutil
        try:
            import psutil
        except ImportError as exc:
            if notes is not None:
                notes.append(
                    "psutil is not installed: CPU physical cores, load and RAM figures are "
                    "estimates from the operating system (pip install psutil, or run the "
                    f"LRC Toolbox module installer, for exact values). ({exc})"
                )
            return None
        module: ModuleType = psutil
        return module

    def _query_gpus(self, psutil_module: ModuleType | None) -> GpuQuery:
        if self.settings.simulate_gpus is not None:
            return simulated_gpus(self.settings.simulate_gpus)
        return query_gpus(self._nvml, psutil_module=psutil_module)


def detect_system(settings: Settings | None = None) -> SystemInfo:
    """One-shot detection with the given (or the user's) settings."""
    return SystemDetector(settings).detect()


# --------------------------------------------------------------------------- CPU and RAM


def _safe(call: Callable[[], _T]) -> _T | None:
    """Run a best-effort query: hardware figures are informative, never worth a crash."""
    try:
        return call()
    except Exception:
        return None


def _detect_cpu(psutil_module: ModuleType | None, notes: list[str]) -> CPUInfo:
    name = cpu_name()
    if psutil_module is None:
        count = os.cpu_count() or 1
        return CPUInfo(physical_cores=count, logical_cores=count, name=name)
    logical = _safe(lambda: psutil_module.cpu_count(logical=True)) or os.cpu_count() or 1
    physical = _safe(lambda: psutil_module.cpu_count(logical=False))
    if not physical:
        physical = logical
        notes.append(
            "The number of physical CPU cores is unknown on this system; the logical core "
            f"count ({logical}) is shown instead."
        )
    load = _safe(lambda: float(psutil_module.cpu_percent(interval=None)))
    freq = _safe(lambda: psutil_module.cpu_freq())
    mhz = _safe(lambda: float(freq.current)) if freq is not None else None
    return CPUInfo(
        physical_cores=int(physical),
        logical_cores=int(logical),
        name=name,
        load_percent=load,
        frequency_mhz=mhz if mhz else None,
    )


def cpu_name(cpuinfo: Path = _PROC_CPUINFO) -> str:
    """A human CPU name, best effort: ``/proc/cpuinfo`` on Linux, else the platform's word."""
    try:
        if cpuinfo.is_file():
            for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
                key, _, value = line.partition(":")
                if key.strip() == "model name" and value.strip():
                    return value.strip()
        if sys.platform == "win32":  # pragma: no cover - Windows only
            import winreg

            key_path = r"HARDWARE\DESCRIPTION\System\CentralProcessor\0"
            with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, key_path) as key:
                return str(winreg.QueryValueEx(key, "ProcessorNameString")[0]).strip()
        return platform.processor() or platform.machine()
    except Exception:
        return ""


def _detect_ram(psutil_module: ModuleType | None) -> tuple[int, int]:
    if psutil_module is not None:
        memory = _safe(lambda: psutil_module.virtual_memory())
        if memory is not None:
            total = _safe(lambda: int(memory.total) // _MIB)
            available = _safe(lambda: int(memory.available) // _MIB)
            if total is not None and available is not None:
                return total, available
    return _ram_without_psutil()


def _ram_without_psutil(meminfo: Path = _PROC_MEMINFO) -> tuple[int, int]:
    """Total and available RAM in MiB from the OS itself; ``(0, 0)`` when unknown."""
    try:
        if meminfo.is_file():
            values: dict[str, int] = {}
            for line in meminfo.read_text(encoding="utf-8").splitlines():
                key, _, rest = line.partition(":")
                parts = rest.split()
                if parts and parts[0].isdigit():
                    values[key.strip()] = int(parts[0]) // 1024  # kB -> MiB
            total = values.get("MemTotal", 0)
            return total, values.get("MemAvailable", values.get("MemFree", 0))
        if sys.platform == "win32":  # pragma: no cover - Windows only
            import ctypes

            class _MemoryStatus(ctypes.Structure):
                _fields_ = [
                    ("dwLength", ctypes.c_ulong),
                    ("dwMemoryLoad", ctypes.c_ulong),
                    ("ullTotalPhys", ctypes.c_ulonglong),
                    ("ullAvailPhys", ctypes.c_ulonglong),
                    ("ullTotalPageFile", ctypes.c_ulonglong),
                    ("ullAvailPageFile", ctypes.c_ulonglong),
                    ("ullTotalVirtual", ctypes.c_ulonglong),
                    ("ullAvailVirtual", ctypes.c_ulonglong),
                    ("ullAvailExtendedVirtual", ctypes.c_ulonglong),
                ]

            status = _MemoryStatus()
            status.dwLength = ctypes.sizeof(_MemoryStatus)
            if ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):
                return status.ullTotalPhys // _MIB, status.ullAvailPhys // _MIB
            return 0, 0
        total_bytes = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        available_bytes = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
        return total_bytes // _MIB, available_bytes // _MIB
    except Exception:
        return 0, 0


# --------------------------------------------------------------------------- GPUs


def _update_gpu(gpu: GPUInfo, live: list[GPUInfo]) -> None:
    """Copy the live figures onto ``gpu``, matched by UUID (indices can shift after a loss)."""
    match = gpu_by_uuid(live, gpu.uuid) if gpu.uuid else None
    if match is None:
        same_index = next((g for g in live if g.index == gpu.index), None)
        if same_index is not None and same_index.error is not None:
            match = same_index  # the GPU is still there but broke: report its error
    if match is None:
        gpu.error = "no longer reported by NVML: check the GPU with nvidia-smi"
        return
    gpu.error = match.error
    if match.error is not None:
        return  # keep the last good figures next to the error
    gpu.memory_total_mb = match.memory_total_mb
    gpu.memory_used_mb = match.memory_used_mb
    gpu.memory_free_mb = match.memory_free_mb
    gpu.utilization_percent = match.utilization_percent
    gpu.temperature_c = match.temperature_c
    gpu.processes = match.processes


def _gpu_label(gpu: GPUInfo) -> str:
    return f"GPU {gpu.index} ({gpu.name})"


def _reservation_notes(info: SystemInfo, settings: Settings) -> list[str]:
    """Plain-language notes on what is kept for Maya and how to change it."""
    notes: list[str] = []
    cpu_note = (
        f"workers will render on the CPU ({info.render_cpu_cores} of "
        f"{info.cpu.logical_cores} logical cores; {info.reserved_cpu_cores} kept for Maya)"
    )
    if info.simulated and settings.simulate_gpus is not None:
        notes.append(
            f"Simulated hardware (LRC_SIMULATE_GPUS={settings.simulate_gpus}): no real GPU is used."
        )
    if not info.gpus:
        notes.append(f"No usable NVIDIA GPU: {cpu_note}. The GPU error says why.")
        return notes
    single = len(info.gpus) == 1
    if single and info.single_gpu_policy is SingleGpuPolicy.SHARE:
        notes.append(
            f"One GPU found ({_gpu_label(info.gpus[0])}): it drives Maya's viewport. In "
            "force: share it with Maya (the default): renders are faster, but the viewport "
            "may lag while workers render. Choose CPU rendering (single_gpu_policy = cpu) to "
            "keep Maya smooth."
        )
    elif single:
        notes.append(
            f"One GPU found ({_gpu_label(info.gpus[0])}): it drives Maya's viewport. In "
            f"force: CPU rendering (single_gpu_policy = cpu): the GPU stays with Maya and "
            f"{cpu_note}. The default is to share the GPU with Maya (single_gpu_policy = "
            "share): renders are faster, but the viewport may lag."
        )
        return notes
    else:
        notes.extend(_multi_gpu_notes(info, settings))
    if not info.available_gpus():
        if not single and len(info.reserved_gpus) == len(info.gpus):
            notes.append(
                f"All {len(info.gpus)} GPUs are kept for Maya (reserve_gpus = "
                f"{settings.reserve_gpus}): {cpu_note}. Lower reserve_gpus to render on GPUs."
            )
        else:
            notes.append(f"No GPU is usable for rendering (see the GPU errors): {cpu_note}.")
    return notes


def _multi_gpu_notes(info: SystemInfo, settings: Settings) -> list[str]:
    """Which of several GPUs stay with Maya, and why those."""
    reserved = [g for g in info.gpus if g.index in info.reserved_gpus]
    if not reserved:
        return [
            "No GPU is kept for Maya (reserve_gpus = 0): workers use every GPU, so Maya's "
            "viewport may lag while they render."
        ]
    labels = ", ".join(_gpu_label(g) for g in reserved)
    if any(g.display_attached for g in reserved):
        why = "The GPU driving the display is kept first"
    else:
        why = "No GPU reports a display, so the lowest index is kept first"
    return [
        f"Kept for Maya: {labels}. {why}; reserve_gpus = {settings.reserve_gpus} sets how many."
    ]
