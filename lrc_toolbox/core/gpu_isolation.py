"""GPU isolation, verified rather than assumed (issue 12 item 12).

Each GPU worker is pinned to one GPU with ``CUDA_VISIBLE_DEVICES``; a renderer that ignores
it (or a child process that resets it) renders on another GPU — Maya's, or a GPU another
worker owns. While workers render, the manager reads NVML's per-GPU process lists
(:mod:`lrc_toolbox.utils.gpu_utils`) and checks that each worker's pid, and its children's,
appear on its own GPU only.

- :func:`check_isolation` is the pure rule: workers + process lists -> violations.
- :class:`GpuIsolationWatch` is what the manager keeps per batch: when a check is due, it
  reads the lists (NVML stays initialised between reads) and the workers' process trees.

A GPU whose lists cannot be read is "unknown": nothing is concluded from it, and the watch
says once that isolation cannot be verified there.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lrc_toolbox.records.models import GPUInfo
from lrc_toolbox.utils.gpu_utils import (
    GpuProcessList,
    GpuProcessQuery,
    ProcessListReader,
    process_list_reader,
)

__all__ = [
    "GpuIsolationWatch",
    "IsolationReport",
    "IsolationViolation",
    "WorkerOnGpu",
    "check_isolation",
    "process_families",
    "process_family",
]


@dataclass(frozen=True)
class WorkerOnGpu:
    """A live worker as the check sees it."""

    worker_id: str
    pid: int
    #: the UUID of the GPU it is pinned to; None for a CPU worker (no GPU is its own)
    gpu_uuid: str | None
    #: its pid and every descendant's (a renderer may run child processes)
    family: frozenset[int] = frozenset()

    def pids(self) -> frozenset[int]:
        return self.family | {self.pid}


@dataclass(frozen=True)
class IsolationViolation:
    """A worker's process seen on a GPU that is not its own."""

    worker_id: str
    #: the process NVML listed: the worker's own pid, or one of its descendants
    pid: int
    worker_pid: int
    own_gpu: str | None
    gpu_uuid: str
    gpu_index: int | None = None

    def reason(self) -> str:
        """The one message for the log, the worker's failure and its disabled slot."""
        where = (
            f"GPU {self.gpu_index} ({self.gpu_uuid})"
            if self.gpu_index is not None
            else (f"GPU {self.gpu_uuid}")
        )
        who = "its process" if self.pid == self.worker_pid else f"its child process {self.pid}"
        own = f"its own GPU is {self.own_gpu}" if self.own_gpu else "it is a CPU worker"
        return (
            f"GPU isolation broken: NVML lists {who} (worker pid {self.worker_pid}) on "
            f"{where}, but {own}; the renderer ignores CUDA_VISIBLE_DEVICES. The worker was "
            "stopped and its slot disabled; check the renderer's own GPU selection "
            "(e.g. a device list saved in the scene or its preferences)"
        )


@dataclass
class IsolationReport:
    violations: list[IsolationViolation] = field(default_factory=list)
    #: GPUs whose process lists could not be read, with why: nothing is concluded there
    unknown: dict[str, str] = field(default_factory=dict)
    #: workers seen on their own GPU and on no other (every list known)
    verified: list[str] = field(default_factory=list)

    def first_per_worker(self) -> list[IsolationViolation]:
        seen: set[str] = set()
        first = []
        for violation in self.violations:
            if violation.worker_id not in seen:
                seen.add(violation.worker_id)
                first.append(violation)
        return first


def check_isolation(
    workers: Sequence[WorkerOnGpu], lists: Mapping[str, GpuProcessList]
) -> IsolationReport:
    """Which workers appear on a GPU that is not their own.

    ``lists``: per GPU UUID, what NVML lists there. A worker's process (or a descendant's)
    in the list of another GPU is a violation; a CPU worker's on any GPU is one too. A pid
    no worker owns (Maya's viewport on the display GPU, another user's job) is ignored. A
    list that is unknown (``pids`` None) proves nothing either way.
    """
    report = IsolationReport()
    for uuid, found in lists.items():
        if found.pids is None:
            report.unknown[uuid] = found.error or "the process lists could not be read"
    for worker in workers:
        mine = worker.pids()
        clean = True
        own = lists.get(worker.gpu_uuid or "")
        seen_at_home = own is not None and own.pids is not None and bool(mine & own.pids)
        for uuid, found in sorted(lists.items(), key=lambda item: (item[1].index or 0, item[0])):
            if found.pids is None or uuid == worker.gpu_uuid:
                continue
            for pid in sorted(mine & found.pids):
                clean = False
                report.violations.append(
                    IsolationViolation(
                        worker_id=worker.worker_id,
                        pid=pid,
                        worker_pid=worker.pid,
                        own_gpu=worker.gpu_uuid,
                        gpu_uuid=uuid,
                        gpu_index=found.index,
                    )
                )
        if clean and seen_at_home and not report.unknown:
            report.verified.append(worker.worker_id)
    return report


def process_families(pids: Sequence[int], psutil_module: Any = None) -> dict[int, frozenset[int]]:
    """:func:`process_family` of each of ``pids``, with one scan of the process table for
    those that are this process's children (the manager's workers), instead of one each."""
    module = psutil_module
    if module is None:
        try:
            module = importlib.import_module("psutil")
        except ImportError:
            return {pid: frozenset({pid}) for pid in pids}
    families: dict[int, set[int]] = {pid: {pid} for pid in pids}
    try:
        below = module.Process(os.getpid()).children(recursive=True)
        parent_of = {int(p.pid): int(p.ppid()) for p in below}
    except Exception:
        parent_of = {}
    for child in parent_of:
        ancestor = parent_of.get(child)
        while ancestor is not None and ancestor not in families:
            ancestor = parent_of.get(ancestor)
        if ancestor is not None and child not in families:
            families[ancestor].add(child)
    for pid in pids:
        if pid not in parent_of:  # not ours: ask for its tree directly
            families[pid] = set(process_family(pid, module))
    return {pid: frozenset(members) for pid, members in families.items()}


def process_family(pid: int, psutil_module: Any = None) -> frozenset[int]:
    """``pid`` and its descendants (psutil); just ``pid`` without psutil or when the
    process is gone."""
    module = psutil_module
    if module is None:
        try:
            module = importlib.import_module("psutil")
        except ImportError:
            return frozenset({pid})
    try:
        children = module.Process(pid).children(recursive=True)
        return frozenset({pid, *(int(child.pid) for child in children)})
    except Exception:
        return frozenset({pid})


class GpuIsolationWatch:
    """One batch's periodic isolation check (the manager's timer calls :meth:`check`).

    Args:
        gpus: the batch's GPUs (its slots'); simulated GPUs are read from the simulator.
        env: the workers' environment (where the simulator keeps its GPU records).
        interval: seconds between two reads of the process lists.
        reader: where the lists come from (tests); by default NVML or the simulator.
    """

    def __init__(
        self,
        gpus: Sequence[GPUInfo],
        *,
        env: Mapping[str, str] | None = None,
        interval: float = 3.0,
        reader: ProcessListReader | None = None,
    ) -> None:
        self.interval = interval
        self.reader = reader if reader is not None else process_list_reader(gpus, env)
        self._next = 0.0
        self._noted: set[str] = set()

    def due(self, now: float) -> bool:
        return now >= self._next

    def check(
        self, workers: Sequence[WorkerOnGpu], now: float
    ) -> tuple[IsolationReport, list[str]]:
        """Read the lists and check ``workers``; returns the report and what to say once
        (a GPU, or NVML, that cannot be verified). The next check is due ``interval``
        seconds after ``now``."""
        self._next = now + self.interval
        query: GpuProcessQuery = self.reader.read()
        trees = process_families([w.pid for w in workers if not w.family])
        family = [
            WorkerOnGpu(w.worker_id, w.pid, w.gpu_uuid, w.family or trees[w.pid]) for w in workers
        ]
        report = check_isolation(family, query.lists)
        notes = []
        if query.error and "*" not in self._noted:
            self._noted.add("*")
            notes.append(f"GPU isolation cannot be fully verified: {query.error}")
        for uuid, why in report.unknown.items():
            if uuid not in self._noted:
                self._noted.add(uuid)
                notes.append(f"GPU isolation cannot be verified on GPU {uuid}: {why}")
        return report, notes

    def close(self) -> None:
        self.reader.close()
