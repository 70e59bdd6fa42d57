"""How each render worker is started: which mayapy, which slot, command line, environment.

Pure builders (plain data in, plain data out) plus two best-effort OS helpers that act on a
running pid (:func:`apply_priority_and_affinity`, :func:`terminate_process_tree`). Nothing
here imports Qt or Maya, and nothing goes through a shell.

A *slot* is one worker process: a GPU slot sees exactly one GPU (``CUDA_VISIBLE_DEVICES``
set to that GPU's UUID), a CPU slot sees none and gets its own share of the logical cores
left after Maya's reservation.

Sources for the facts used below (also in the comments where they are used):

- [ADSK-PY] Autodesk, "The Maya Python interpreter, mayapy" (Maya 2022-2027 help,
  GUID-D64ACA64-2566-42B3-BE0F-BCE843A1702F): mayapy sits in ``C:\\Program Files\\Autodesk\\
  Maya<ver>\\bin``, ``/usr/autodesk/Maya<ver>/bin`` and
  ``/Applications/Autodesk/maya<ver>/Maya.app/Contents/bin``.
- [ADSK-SA] Autodesk, "Running standalone API applications" (Maya 2016 help): on macOS
  ``MAYA_LOCATION`` is ``/Applications/Autodesk/maya<ver>/Maya.app/Contents``.
- [CUDA-ENV] NVIDIA, CUDA Programming Guide §5.2 "CUDA Environment Variables":
  ``CUDA_VISIBLE_DEVICES`` takes indices or ``GPU-<uuid>`` strings; an empty value hides
  every GPU; enumeration stops at the first invalid index (``0,2,-1,1`` shows 0 and 2).
- [DL-MB] Thinkbox Deadline 10, ``plugins/MayaBatch/MayaBatch.py`` (public copy
  applemin/Deadline_Development): sets ``MAYA_DEBUG_ENABLE_CRASH_REPORTING=0``,
  ``MAYA_DISABLE_CIP=1``, ``MAYA_DISABLE_CER=1``, ``MAYA_DISABLE_CLIC_IPM=1``,
  ``REDSHIFT_FORCEQUITONINTERNALERROR=1`` ("kill Maya ... instead of hanging") and
  ``MAYA_ENABLE_LEGACY_RENDER_LAYERS``; Deadline's 3dsCmd plugin pins Redshift with
  ``REDSHIFT_GPUDEVICES=<ordinals>``.
- [PSUTIL] psutil docs: ``Process.nice()`` takes a niceness on UNIX and a
  ``*_PRIORITY_CLASS`` constant on Windows; ``cpu_affinity()`` exists on Linux, Windows
  and FreeBSD only (not macOS).
"""

from __future__ import annotations

import ntpath
import os
import posixpath
import re
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from lrc_toolbox.config.batch_render_defaults import default_maya_app_dir
from lrc_toolbox.records.models import GPUInfo, RenderConfig, SystemInfo

#: Autodesk help, "Add lights to a render layer" (Maya 2022+): the Render Setup preference
#: "Include all lights in each render layer by default" is the optionVar
#: ``renderSetup_includeAllLights``; this variable (0 / 1) takes precedence over it.
INCLUDE_ALL_LIGHTS_VAR = "MAYA_RENDER_SETUP_INCLUDE_ALL_LIGHTS"
INCLUDE_ALL_LIGHTS_OPTION = "renderSetup_includeAllLights"
_OPTION_LINE = re.compile(r'-iv\s+"' + INCLUDE_ALL_LIGHTS_OPTION + r'"\s+(\d+)')

__all__ = [
    "CPU_HIDE_ALL_GPUS",
    "DEFAULT_MAYA_VERSIONS",
    "INCLUDE_ALL_LIGHTS_OPTION",
    "INCLUDE_ALL_LIGHTS_VAR",
    "WORKER_NICE_INCREMENT",
    "MayapyNotFound",
    "Slot",
    "apply_priority_and_affinity",
    "build_slots",
    "build_worker_command",
    "build_worker_environment",
    "find_mayapy",
    "include_all_lights_preference",
    "render_cores",
    "reserved_cores",
    "terminate_process_tree",
]

DEFAULT_MAYA_VERSIONS: tuple[str, ...] = ("2027", "2026", "2025", "2024")
#: how much "nicer" than Maya a worker runs on POSIX (a worker inherits Maya's niceness).
WORKER_NICE_INCREMENT = 10
#: CUDA_VISIBLE_DEVICES for CPU slots. [CUDA-ENV] documents both "" and an invalid index
#: as "no GPU". "-1" is used because an empty value does not survive everywhere: on Windows
#: the C runtime's putenv("NAME=") deletes the variable, and users report "" not hiding GPUs
#: there (OpenNMT/CTranslate2#1693), while a non-empty invalid index always reaches CUDA.
CPU_HIDE_ALL_GPUS = "-1"

# --------------------------------------------------------------------------- mayapy


class MayapyNotFound(RuntimeError):
    """No usable mayapy; ``searched`` lists every place looked, in order."""

    def __init__(self, message: str, searched: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.searched = list(searched)


_FIX_HINT = (
    "To fix: set 'mayapy' in the Batch Render settings (or LRC_MAYAPY), pass --mayapy "
    "PATH on the command line, or set MAYA_LOCATION to the Maya install folder."
)


def platform_kind(platform: str | None = None) -> str:
    """``windows``, ``darwin`` or ``linux``: which install layout to search."""
    name = (platform or sys.platform).lower()
    if name.startswith(("win", "cygwin", "msys")):
        return "windows"
    if name.startswith(("darwin", "mac")):
        return "darwin"
    return "linux"


def find_mayapy(
    explicit: str | None = None,
    *,
    env: Mapping[str, str] | None = None,
    platform: str | None = None,
    running_executable: str | None = None,
    versions: Sequence[str] = DEFAULT_MAYA_VERSIONS,
    exists: Callable[[str], bool] = os.path.isfile,
) -> str:
    """The mayapy to start workers with.

    Order: ``explicit`` (settings / ``--mayapy``; it must exist), ``$MAYA_LOCATION/bin``,
    the Maya that runs this code (``running_executable``, normally ``sys.executable``
    inside Maya), then the standard install folders, newest version first.

    Raises:
        MayapyNotFound: naming the explicit path that does not exist, or listing every
            place looked, with how to fix it.
    """
    env = os.environ if env is None else env
    kind = platform_kind(platform)
    path = ntpath if kind == "windows" else posixpath
    exe = "mayapy.exe" if kind == "windows" else "mayapy"

    if explicit:
        given = os.path.expanduser(explicit)
        if exists(given):
            return given
        raise MayapyNotFound(
            f"The mayapy given in the settings or with --mayapy does not exist: {given}. "
            "Correct the path (the mayapy file in Maya's bin folder), or clear the setting "
            "to let the tool search for Maya.",
            [f"{given} (settings / --mayapy)"],
        )

    candidates: list[tuple[str, str]] = []
    location = env.get("MAYA_LOCATION", "").strip()
    if location:
        # macOS: MAYA_LOCATION is .../Maya.app/Contents [ADSK-SA]; accept the app's parent too.
        candidates.append((path.join(location, "bin", exe), "MAYA_LOCATION"))
        if kind == "darwin":
            app_bin = path.join(location, "Maya.app", "Contents", "bin", exe)
            candidates.append((app_bin, "MAYA_LOCATION"))
    if running_executable:
        candidates += [(c, "the running Maya") for c in _beside_running(running_executable, kind)]
    for version in versions:
        candidates += [(c, f"Maya {version} default") for c in _standard(version, kind, env)]

    seen: set[str] = set()
    searched: list[str] = []
    for candidate, source in candidates:
        if candidate in seen:
            continue
        seen.add(candidate)
        searched.append(f"{candidate} ({source})")
        if exists(candidate):
            return candidate
    listing = "\n".join(f"  - {s}" for s in searched) or "  (nowhere: no candidates)"
    raise MayapyNotFound(f"Could not find mayapy. Looked in:\n{listing}\n{_FIX_HINT}", searched)


def _beside_running(executable: str, kind: str) -> list[str]:
    """mayapy next to a running ``maya``/``maya.bin``/``maya.exe`` (or mayapy itself)."""
    path = ntpath if kind == "windows" else posixpath
    exe = "mayapy.exe" if kind == "windows" else "mayapy"
    folder, name = path.split(executable)
    name = name.lower()
    if name in {"mayapy", "mayapy.exe"}:
        return [executable]
    if name not in {"maya", "maya.bin", "maya.exe", "mayabatch", "mayabatch.exe"}:
        return []  # a plain Python (tests, CLI): it says nothing about Maya
    found = [path.join(folder, exe)]
    if kind == "darwin" and path.basename(folder) == "MacOS":
        # the GUI runs as .../Maya.app/Contents/MacOS/Maya (vfxetc/appinit maya/__init__.py);
        # mayapy is in .../Maya.app/Contents/bin [ADSK-PY]
        found.insert(0, path.join(path.dirname(folder), "bin", exe))
    return found


def _standard(version: str, kind: str, env: Mapping[str, str]) -> list[str]:
    """Default install paths for one version [ADSK-PY], MAYA_REFERENCE §8."""
    if kind == "windows":
        roots = [env.get("ProgramFiles") or env.get("PROGRAMFILES") or "", r"C:\Program Files"]
        unique = list(dict.fromkeys(r for r in roots if r))
        return [ntpath.join(r, "Autodesk", f"Maya{version}", "bin", "mayapy.exe") for r in unique]
    if kind == "darwin":
        return [f"/Applications/Autodesk/maya{version}/Maya.app/Contents/bin/mayapy"]
    # Linux installs to lower-case maya<ver> (MAYA_REFERENCE §8; RPM layout); the help page
    # spells it Maya<ver>, and Linux paths are case-sensitive, so both are tried.
    return [f"/usr/autodesk/maya{version}/bin/mayapy", f"/usr/autodesk/Maya{version}/bin/mayapy"]


# --------------------------------------------------------------------------- slots


@dataclass
class Slot:
    """One worker process: where it renders and which cores it may use.

    ``id`` is stable and short (``gpu1``, ``gpu1-b`` for a second process on GPU 1,
    ``cpu0``); it names the worker's folder, log and ``LRC_WORKER_ID``.
    """

    id: str
    device: str  # "gpu" | "cpu"
    gpu: GPUInfo | None = None
    threads: int | None = None  # renderer threads (--threads); None = renderer default
    cpu_cores: list[int] | None = None  # logical cores for affinity; None = leave as is

    @property
    def label(self) -> str:
        """For people: ``GPU 1 · NVIDIA RTX A6000`` or ``CPU · 8 threads``."""
        if self.device == "gpu" and self.gpu is not None:
            text = f"GPU {self.gpu.index} · {self.gpu.name}"
            share = self.id.rpartition("-")[2] if "-" in self.id else ""
            if len(share) == 1 and share.isalpha():  # gpu1-b: the 2nd process on GPU 1
                return f"{text} #{ord(share) - ord('a') + 1}"
            return text
        if self.threads:
            return f"CPU · {self.threads} thread{'s' if self.threads != 1 else ''}"
        return "CPU"


def reserved_cores(system: SystemInfo) -> list[int]:
    """Logical cores kept for Maya: the first ``reserved_cpu_cores`` (never all of them)."""
    logical = max(0, system.cpu.logical_cores)
    count = logical - min(logical, system.render_cpu_cores)
    return list(range(count))


def render_cores(system: SystemInfo) -> list[int]:
    """Logical cores workers may use: all but :func:`reserved_cores` (empty if unknown)."""
    logical = max(0, system.cpu.logical_cores)
    return list(range(len(reserved_cores(system)), logical))


def _share_suffix(n: int) -> str:
    """'' for the first process on a device, then -b, -c, ..."""
    return "" if n == 0 else "-" + chr(ord("a") + n)


def _gpu_list(gpus: Sequence[GPUInfo]) -> str:
    return ", ".join(f"GPU {g.index} ({g.name})" for g in gpus) or "none"


def _selected_gpus(system: SystemInfo, config: RenderConfig) -> list[GPUInfo]:
    usable = system.available_gpus()
    if config.gpus is None:
        return usable
    if not config.gpus:
        raise ValueError(
            "gpus is an empty list: leave it out to render on every free GPU, list GPU "
            f"indices, or turn on cpu_mode. Usable GPUs: {_gpu_list(usable)}."
        )
    usable_indices = {g.index for g in usable}
    chosen: list[GPUInfo] = []
    for index in config.gpus:
        gpu = system.gpu(index)
        if gpu is None:
            known = ", ".join(str(g.index) for g in system.gpus) or "none"
            raise ValueError(
                f"GPU {index} does not exist on this machine (GPU indices: {known}). "
                f"Usable GPUs: {_gpu_list(usable)}."
            )
        if gpu.error is not None:
            raise ValueError(
                f"GPU {index} ({gpu.name}) cannot be used: {gpu.error}. "
                f"Usable GPUs: {_gpu_list(usable)}."
            )
        if index not in usable_indices:
            why = (
                "the only GPU is kept for Maya because single_gpu_policy is 'cpu'"
                if len(system.gpus) == 1
                else "it is kept for Maya (reserve_gpus in the settings)"
            )
            raise ValueError(
                f"GPU {index} ({gpu.name}) is not free for rendering: {why}. "
                f"Usable GPUs: {_gpu_list(usable)}."
            )
        chosen.append(gpu)
    return chosen


def build_slots(system: SystemInfo, config: RenderConfig) -> list[Slot]:
    """The worker slots for a batch; never empty.

    GPU mode: one slot per selected GPU (``config.gpus`` or every available GPU) times
    ``processes_per_gpu``. GPU workers share the non-reserved cores (affinity) and keep the
    renderer's own thread count.

    CPU mode (``config.cpu_mode``, or no usable GPU): ``processes_per_gpu`` is reused as
    the number of CPU workers (default 1: one renderer using every free core is usually
    fastest and needs the least memory). Each worker gets ``cpu_threads`` threads, or an
    even share of the free cores, and a disjoint core list when the threads fit; when
    ``cpu_threads x workers`` exceeds the free cores, every worker may use every free core.

    Raises:
        ValueError: a listed GPU is unknown, broken or kept for Maya; more CPU workers than
            free cores; no CPU cores known. The message says what to change.
    """
    cores = render_cores(system)
    if not config.cpu_mode:
        gpus = _selected_gpus(system, config)
        if gpus:
            return [
                Slot(
                    id=f"gpu{gpu.index}{_share_suffix(n)}",
                    device="gpu",
                    gpu=gpu,
                    threads=None,
                    cpu_cores=list(cores) or None,
                )
                for gpu in gpus
                for n in range(config.processes_per_gpu)
            ]
    return _cpu_slots(system, config, cores)


def _cpu_slots(system: SystemInfo, config: RenderConfig, cores: list[int]) -> list[Slot]:
    if not cores:
        raise ValueError(
            "Nothing can render: no usable GPU and no CPU cores were detected "
            f"(logical cores: {system.cpu.logical_cores}). Check the system information."
        )
    workers = config.processes_per_gpu
    if config.cpu_threads is None and workers > len(cores):
        raise ValueError(
            f"{workers} CPU workers were asked for (processes_per_gpu) but only "
            f"{len(cores)} logical cores are free for rendering after "
            f"{len(reserved_cores(system))} kept for Maya. Use at most {len(cores)} workers, "
            "or set cpu_threads to share cores on purpose."
        )
    threads = config.cpu_threads or len(cores) // workers
    disjoint = threads * workers <= len(cores)
    slots = []
    for n in range(workers):
        own = cores[n * threads : (n + 1) * threads] if disjoint else list(cores)
        slots.append(Slot(id=f"cpu{n}", device="cpu", threads=threads, cpu_cores=own))
    return slots


# --------------------------------------------------------------------------- command line


def build_worker_command(
    slot: Slot,
    *,
    mayapy: Sequence[str],
    snapshot: str | None,
    scene_name: str,
    project: str | None,
    output_dir: str | None,
    renderer: str | None,
) -> list[str]:
    """``[*mayapy, "-m", "lrc_toolbox.worker", ...]`` as an argument list (never a shell).

    ``mayapy`` is a list so that the simulator (``[python, "-m", "lrc_toolbox.sim.mayapy"]``)
    fits the same way as a real ``["/usr/autodesk/maya2025/bin/mayapy"]``. ``snapshot``
    None: the snapshot is still being copied; the worker starts Maya and waits for the
    manager's ``open`` command (``--await-scene``).
    """
    if not mayapy:
        raise ValueError("mayapy command is empty")
    scene = ["--scene", snapshot] if snapshot is not None else ["--await-scene"]
    command = [*mayapy, "-m", "lrc_toolbox.worker", *scene]
    command += ["--scene-name", scene_name]
    if project:
        command += ["--project", project]
    if output_dir:
        command += ["--output-dir", output_dir]
    if renderer:
        command += ["--renderer", renderer]
    command += ["--device", slot.device]
    if slot.threads is not None:
        command += ["--threads", str(slot.threads)]
    return command


# --------------------------------------------------------------------------- environment

#: inherited variables that would undo the pinning; always replaced or removed.
_PINNING_VARIABLES = ("CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER", "REDSHIFT_GPUDEVICES")


def build_worker_environment(
    slot: Slot,
    *,
    base_env: Mapping[str, str],
    worker_dir: Path,
    package_root: Path,
    scene_uses_render_setup: bool | None = None,
    include_all_lights: bool | None = None,
) -> dict[str, str]:
    """The worker's environment: a copy of ``base_env`` with the slot's pinning applied.

    GPU slots see one GPU by UUID ([CUDA-ENV]: UUIDs avoid the index-order ambiguity), and
    Redshift is told ordinal 0, the only device left visible. CPU slots see no GPU.
    Checked on an H200 with this function's output and the driver API (``cuInit`` /
    ``cuDeviceGetCount`` in a child): the GPU slot's child saw exactly that one GPU; the CPU
    slot's child (``-1``), like ``""`` or an unknown UUID, got CUDA_ERROR_NO_DEVICE.

    No ``OMP_NUM_THREADS``-style limits are set: none of Arnold, Redshift, V-Ray or Maya
    Software is documented to read them; thread counts reach the renderers through
    ``--threads`` (Arnold ``threads``, V-Ray ``sys_max_threads``, Maya ``numCpusToUse``,
    MAYA_REFERENCE §5) and the core set through CPU affinity.

    ``scene_uses_render_setup``: ``True`` -> ``MAYA_ENABLE_LEGACY_RENDER_LAYERS=0``,
    ``False`` -> ``1``, ``None`` -> left as inherited (MAYA_REFERENCE §2, [DL-MB]).

    The artist's ``MAYA_APP_DIR`` is kept, as Deadline's MayaBatch keeps it: the worker
    sees the same ``Maya.env``, modules and preferences the scene was lit with. The one
    preference that changes what a Render Setup layer renders, "include all lights"
    (``include_all_lights``, read from the artist's Maya), is passed as
    ``MAYA_RENDER_SETUP_INCLUDE_ALL_LIGHTS``, which a batch Maya honours whatever its
    preferences; a value already in ``base_env`` wins.

    Raises:
        ValueError: a GPU slot without a GPU.
    """
    env = dict(base_env)
    for name in _PINNING_VARIABLES:
        env.pop(name, None)
    env["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID"
    if slot.device == "gpu":
        if slot.gpu is None:
            raise ValueError(f"slot {slot.id} is a GPU slot without a GPU")
        # NVML's index is PCI bus order, so with PCI_BUS_ID the index is a safe fallback
        # when NVML gave no UUID.
        env["CUDA_VISIBLE_DEVICES"] = slot.gpu.uuid or str(slot.gpu.index)
        env["REDSHIFT_GPUDEVICES"] = "0"
    else:
        env["CUDA_VISIBLE_DEVICES"] = CPU_HIDE_ALL_GPUS
    env["REDSHIFT_FORCEQUITONINTERNALERROR"] = "1"  # exit instead of hanging [DL-MB]

    worker_dir = Path(worker_dir)
    tmp = str(worker_dir / "tmp")
    if include_all_lights is not None and INCLUDE_ALL_LIGHTS_VAR not in env:
        env[INCLUDE_ALL_LIGHTS_VAR] = "1" if include_all_lights else "0"
    env["TMPDIR"] = env["TEMP"] = env["TMP"] = tmp
    # Autodesk's telemetry, error-report dialogs and in-product messages: [DL-MB]
    env["MAYA_DISABLE_CIP"] = "1"
    env["MAYA_DISABLE_CER"] = "1"
    env["MAYA_DISABLE_CLIC_IPM"] = "1"
    env["MAYA_DEBUG_ENABLE_CRASH_REPORTING"] = "0"
    if scene_uses_render_setup is not None:
        env["MAYA_ENABLE_LEGACY_RENDER_LAYERS"] = "0" if scene_uses_render_setup else "1"
    env["LRC_WORKER_ID"] = slot.id
    env["PYTHONUNBUFFERED"] = "1"  # events must reach the manager line by line

    root = str(package_root)
    existing = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != root]
    env["PYTHONPATH"] = os.pathsep.join([root, *existing])
    return env


def include_all_lights_preference(
    maya_version: str | None, env: Mapping[str, str] | None = None
) -> bool | None:
    """The artist's "Include all lights in each render layer by default", as their Maya
    saved it in ``<MAYA_APP_DIR>/<version>/prefs/userPrefs.mel`` (``-iv
    "renderSetup_includeAllLights" 0``); None when there is no such file or line (Maya's
    default, on, then applies)."""
    env = os.environ if env is None else env
    if not maya_version:
        return None
    root = default_maya_app_dir(env)
    for folder in (maya_version, f"{maya_version}-x64"):  # -x64: Maya 2016 and older
        try:
            text = (root / folder / "prefs" / "userPrefs.mel").read_text("utf-8", "replace")
        except OSError:
            continue
        match = _OPTION_LINE.search(text)
        if match:
            return match.group(1) != "0"
    return None


# --------------------------------------------------------------------------- OS helpers


def _load_psutil(psutil_module: ModuleType | None) -> ModuleType | None:
    if psutil_module is not None:
        return psutil_module
    try:
        import psutil
    except ImportError:
        return None
    module: ModuleType = psutil
    return module


def _psutil_error(psutil: ModuleType) -> tuple[type[BaseException], ...]:
    base = getattr(psutil, "Error", None)
    errors: tuple[type[BaseException], ...] = (OSError, ValueError)
    return (base, *errors) if isinstance(base, type) else errors


def apply_priority_and_affinity(
    pid: int, slot: Slot, *, psutil_module: ModuleType | None = None
) -> list[str]:
    """Run the worker below Maya's priority and on its own cores; best effort.

    POSIX: niceness + :data:`WORKER_NICE_INCREMENT` (capped at 19); Windows:
    ``BELOW_NORMAL_PRIORITY_CLASS`` [PSUTIL]. Affinity is set to ``slot.cpu_cores`` (within
    what the process may use now, e.g. under a cgroup or ``taskset``); macOS has no affinity
    API. Returns one note per thing refused or unsupported; never raises.
    """
    psutil = _load_psutil(psutil_module)
    if psutil is None:
        return [
            "psutil is not installed: the worker runs at normal priority on every core, so "
            "Maya may feel slower while it renders. Reinstall the LRC Toolbox module to "
            "bring psutil back."
        ]
    errors = _psutil_error(psutil)
    notes: list[str] = []
    try:
        process: Any = psutil.Process(pid)
    except errors as exc:
        return [f"worker {slot.id} (pid {pid}): cannot be reached to set its priority: {exc}"]

    below_normal = getattr(psutil, "BELOW_NORMAL_PRIORITY_CLASS", None)
    try:
        if below_normal is not None:  # Windows: priority classes
            process.nice(below_normal)
        else:
            current = int(process.nice())
            target = min(19, current + WORKER_NICE_INCREMENT)
            if target > current:
                process.nice(target)
    except errors as exc:
        notes.append(f"worker {slot.id} (pid {pid}): could not lower its priority: {exc}")

    if slot.cpu_cores is not None:
        notes += _apply_affinity(process, pid, slot, errors)
    return notes


def _apply_affinity(
    process: Any, pid: int, slot: Slot, errors: tuple[type[BaseException], ...]
) -> list[str]:
    assert slot.cpu_cores is not None
    if not hasattr(process, "cpu_affinity"):
        return [
            f"worker {slot.id}: CPU affinity is not supported on this OS (macOS); it may use "
            "every core, and its lower priority keeps Maya responsive."
        ]
    try:
        allowed = set(process.cpu_affinity())
        cores = [c for c in slot.cpu_cores if c in allowed]
        if not cores:
            return [
                f"worker {slot.id}: none of its cores {slot.cpu_cores} is available to it "
                f"(allowed: {sorted(allowed)}); affinity left unchanged."
            ]
        process.cpu_affinity(cores)
    except errors as exc:
        return [f"worker {slot.id} (pid {pid}): could not set CPU affinity: {exc}"]
    return []


def terminate_process_tree(
    pid: int, *, grace: float, psutil_module: ModuleType | None = None
) -> list[int]:
    """Stop ``pid`` and every descendant: terminate all, wait ``grace``, kill survivors.

    Descendants are collected before anything is signalled (a dying parent's children are
    re-parented and could not be found afterwards), children are signalled before their
    parents, and processes that vanish meanwhile are fine. Returns the pids that had to be
    killed. Without psutil: ``taskkill /T /F`` on Windows, the one pid elsewhere.
    """
    psutil = _load_psutil(psutil_module)
    if psutil is None:
        return _terminate_without_psutil(pid, grace)
    errors = _psutil_error(psutil)
    try:
        parent: Any = psutil.Process(pid)
    except errors:
        return []
    procs: list[Any] = [parent, *_descendants(parent, errors)]
    for proc in reversed(procs):  # deepest first
        try:
            proc.terminate()
        except errors:
            pass
    survivors = _wait_until_gone(procs, grace, psutil, errors)
    known = {p.pid for p in procs}
    for proc in list(survivors):  # anything started while we waited
        survivors += [c for c in _descendants(proc, errors) if c.pid not in known]
    killed: list[int] = []
    for proc in reversed(survivors):
        try:
            proc.kill()
            killed.append(int(proc.pid))
        except errors:
            pass
    _wait_until_gone(survivors, 2.0, psutil, errors)
    return killed


def _descendants(proc: Any, errors: tuple[type[BaseException], ...]) -> list[Any]:
    try:
        return list(proc.children(recursive=True))
    except errors:
        return []


def _wait_until_gone(
    procs: list[Any], timeout: float, psutil: ModuleType, errors: tuple[type[BaseException], ...]
) -> list[Any]:
    """Poll until every process has exited or ``timeout`` passes; returns the survivors.

    Deliberately not ``psutil.wait_procs``: for our own children it calls ``waitpid`` and
    would steal the exit status from QProcess, which reaps its children itself; and it
    counts an exited, not yet reaped process (a zombie) as running.
    """
    deadline = time.monotonic() + max(0.0, timeout)
    alive = list(procs)
    while True:
        alive = [p for p in alive if _still_running(p, psutil, errors)]
        if not alive or time.monotonic() >= deadline:
            return alive
        time.sleep(0.02)


def _still_running(proc: Any, psutil: ModuleType, errors: tuple[type[BaseException], ...]) -> bool:
    try:
        if not proc.is_running():  # also False when the pid was reused
            return False
        return bool(proc.status() != getattr(psutil, "STATUS_ZOMBIE", "zombie"))
    except errors:
        return False  # vanished


def _terminate_without_psutil(pid: int, grace: float) -> list[int]:
    """Fallback: Windows' own tree kill; elsewhere SIGTERM, wait, SIGKILL (one pid only)."""
    if sys.platform.startswith("win"):
        # taskkill ships with Windows; /T = the whole tree, /F = force
        try:
            subprocess.run(  # noqa: S603 - fixed argument list, no shell
                ["taskkill", "/PID", str(pid), "/T", "/F"],
                capture_output=True,
                check=False,
                timeout=30,
            )
        except (OSError, subprocess.SubprocessError):
            return []
        return [pid]
    import signal

    try:
        os.kill(pid, signal.SIGTERM)
    except OSError:
        return []
    deadline = time.monotonic() + max(0.0, grace)
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except OSError:
            return []
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        return []
    return [pid]
