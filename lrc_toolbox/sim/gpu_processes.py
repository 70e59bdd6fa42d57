"""The simulated GPUs' process lists: which simulated mayapy uses which GPU.

A real renderer that opens a CUDA context appears in NVML's compute process list of that
GPU until it exits. The simulator models it: a simulated renderer that renders on a GPU
records its pid there (:func:`lrc_toolbox.utils.gpu_utils.simulated_gpu_process_file`,
under ``LRC_SIM_STATE_DIR``), and the simulated NVML
(:class:`~lrc_toolbox.utils.gpu_utils.SimulatedGpuProcessReader`) lists the recorded
processes that still run. The GPU it uses is the one ``CUDA_VISIBLE_DEVICES`` names; the
``wrong_gpu`` fault (a renderer that ignores ``CUDA_VISIBLE_DEVICES``) records it on
another GPU as well.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from lrc_toolbox.utils.gpu_utils import (
    MAX_SIMULATED_GPUS,
    simulated_gpu_process_file,
    simulated_gpu_uuid,
)


def visible_gpus(cuda_visible_devices: str) -> list[str]:
    """The GPU UUIDs a ``CUDA_VISIBLE_DEVICES`` value lets CUDA use: UUIDs as given,
    indices as simulated GPUs; CUDA stops at the first invalid entry ("-1" hides all)."""
    found: list[str] = []
    for entry in (e.strip() for e in cuda_visible_devices.split(",")):
        if entry.startswith("GPU-"):
            found.append(entry)
        elif entry.isdigit() and int(entry) < MAX_SIMULATED_GPUS:
            found.append(simulated_gpu_uuid(int(entry)))
        else:
            break
    return found


def other_gpu(own: list[str], index: int | None = None) -> str:
    """The GPU a renderer that ignores ``CUDA_VISIBLE_DEVICES`` lands on: simulated GPU
    ``index`` when given, else CUDA's device 0 without the variable (GPU 0, the display
    GPU Maya keeps), or GPU 1 when GPU 0 is its own."""
    if index is not None:
        return simulated_gpu_uuid(index)
    first = simulated_gpu_uuid(0)
    return first if first not in own else simulated_gpu_uuid(1)


def _created(pid: int) -> float | None:
    try:
        import psutil

        return float(psutil.Process(pid).create_time())
    except Exception:
        return None


def record_gpu_process(state_dir: str, uuid: str, pid: int | None = None) -> Path:
    """Record that process ``pid`` (this one by default) has a context on GPU ``uuid``.

    Written to a temporary name and renamed, so a reader never sees half a record."""
    pid = os.getpid() if pid is None else pid
    path = simulated_gpu_process_file(state_dir, uuid, pid)
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temp.write_text(json.dumps({"pid": pid, "created": _created(pid)}), encoding="utf-8")
    os.replace(temp, path)
    return path
