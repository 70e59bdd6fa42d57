"""The QProcess worker pool: one long-lived mayapy worker per slot, frames handed out as
workers become free, retries, hang detection, and a stop that leaves no process behind.

QtCore only (QProcess, QTimer, Signal), so it runs the same in Maya's event loop, in a
QCoreApplication for the CLI and under pytest-qt. The policy (which frame next, what a
failure means for a frame) lives in :mod:`lrc_toolbox.core.scheduler`; the command lines
and environments come from the pure builders in :mod:`lrc_toolbox.utils.render_subprocess`.
Every state change is written to the :class:`~lrc_toolbox.core.job_store.JobStore` BEFORE
a signal tells listeners, so a killed manager can resume from the store.
"""

from __future__ import annotations

import errno
import functools
import os
import socket
import tempfile
import time
import traceback
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from lrc_toolbox.core.gpu_isolation import GpuIsolationWatch, WorkerOnGpu
from lrc_toolbox.core.job_store import FrameChange, JobStore, JobStoreError
from lrc_toolbox.core.qt_compat import emit_signal
from lrc_toolbox.core.qtcore import QtCore
from lrc_toolbox.core.ready_manifest import ManifestWriteError, ReadyManifest
from lrc_toolbox.core.scheduler import Assignment, Scheduler
from lrc_toolbox.records import protocol
from lrc_toolbox.records.batch import (
    RELEASED_REASON,
    BatchSummary,
    FrameProvenance,
    RenderOverrides,
    WorkerSummary,
    remaining_seconds,
)
from lrc_toolbox.records.models import BatchState, FrameState, RenderStatus, WorkerState
from lrc_toolbox.records.renderers import UnknownRendererError, renderer_info
from lrc_toolbox.utils.image_check import PIXEL_CHECK_AVAILABLE, check_image, pixel_problem
from lrc_toolbox.utils.log_parser import LineKind, LogParser
from lrc_toolbox.utils.output_paths import path_inside
from lrc_toolbox.utils.render_subprocess import (
    Slot,
    apply_priority_and_affinity,
    build_worker_command,
    build_worker_environment,
    terminate_process_tree,
)
from lrc_toolbox.utils.temp_file_manager import check_disk_space

__all__ = ["RenderProcessManager", "WorkerLaunch"]

_KIND_LEVEL = {
    LineKind.FATAL: "fatal",
    LineKind.FRAME_FAILED: "error",
    LineKind.ERROR: "error",
    LineKind.WARNING: "warning",
}
_HOST = socket.gethostname()
#: a worker that dies before saying hello this many times in a row is disabled
STARTUP_FAILURES_BEFORE_DISABLE = 3
#: seconds a STARTING worker may stay silent before it counts as hung (Maya's start-up
#: with many plug-ins and a heavy scene takes minutes; the frame timeout is for frames)
STARTUP_TIMEOUT = 600.0
_MAX_BUFFER = 1 << 20  # bytes of an unterminated line kept before it is flushed as log
#: free space under which the output folder counts as full when a frame fails (MB)
OUTPUT_FULL_MB = 1
#: distinct worker slots a frame may kill with a fatal renderer line before the FRAME is
#: blamed (failed for good, slots kept); distinct frames a slot may fail fatally on before
#: the SLOT is disabled (issue 12: one bad frame must not take every GPU)
FATAL_SLOTS_PER_FRAME = 2
FATAL_FRAMES_PER_SLOT = 2

_F = Any


def _guarded(method: _F) -> _F:
    """Every entry point Qt calls (process signals, timers) runs through this: an exception
    there must never leave the batch without an end (issue 12). It stops the batch with
    the frames left pending and says why (:meth:`RenderProcessManager.abort`)."""

    @functools.wraps(method)
    def run(self: RenderProcessManager, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:  # the whole point: nothing escapes a slot
            self._internal_error(exc)
            return None

    return run


@dataclass
class WorkerLaunch:
    """Everything needed to start a worker, shared by all slots of one batch."""

    mayapy: Sequence[str]
    snapshot: str
    scene_name: str
    output_dir: str
    project: str | None = None
    renderer: str | None = None
    base_env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    package_root: Path = Path(__file__).resolve().parents[2]
    scene_uses_render_setup: bool | None = None
    worker_dir: Callable[[str], Path] | None = None  # worker id -> private folder
    log_dir: Path | None = None
    overrides: RenderOverrides = field(default_factory=RenderOverrides)
    #: SHA-256 of the snapshot, for each frame's provenance
    snapshot_sha256: str = ""
    #: each layer's renderer, so its log is read with its own rules (missing plug-ins)
    renderer_by_layer: Mapping[str, str] = field(default_factory=dict)

    def renderer_for(self, layer: str | None) -> str | None:
        """``--renderer``, else the layer's, else the one all layers share (start-up)."""
        if self.renderer:
            return self.renderer
        if layer is not None and layer in self.renderer_by_layer:
            return self.renderer_by_layer[layer]
        shared = set(self.renderer_by_layer.values())
        return shared.pop() if len(shared) == 1 else None

    #: the artist's Render Setup "include all lights" preference (None: Maya's default)
    include_all_lights: bool | None = None
    #: False while the snapshot is still being copied: workers start Maya at once
    #: (``--await-scene``) and open it when :meth:`RenderProcessManager.open_scene` says so
    scene_ready: bool = True


@dataclass
class _Worker:
    slot: Slot
    process: QtCore.QProcess
    #: STARTING (no hello yet), IDLE, RENDERING, STOPPING (quit sent: out of work, or
    #: asked to stop), then a final state once the process has ended
    state: WorkerState = WorkerState.STARTING
    #: asked to stop (by the user, a fatal line, a disabled slot), not just out of work
    stop_requested: bool = False
    #: Maya's version, as the worker's hello says
    maya_version: str | None = None
    #: why the renderer failed the current frame (a FRAME_FAILED log line), if it did
    frame_failure: str | None = None
    pid: int | None = None
    started: float = field(default_factory=time.time)
    last_output: float = field(default_factory=time.monotonic)
    buffer: bytes = b""
    err_buffer: bytes = b""
    current: tuple[str, int] | None = None
    frame_started_at: float | None = None
    percent: float | None = None
    progress_emitted_at: float = 0.0
    progress_pending: bool = False
    log: IO[str] | None = None
    log_path: str | None = None
    parser: LogParser = field(default_factory=LogParser)
    frames_done: int = 0
    frames_failed: int = 0
    kill_reason: str | None = None
    layer: str | None = None
    #: its GPU was given back to Maya: it ends once its current frame is settled
    release_after_frame: bool = False
    #: it was asked to end because its GPU was given back (it ends RELEASED, not failed)
    given_back: bool = False
    #: render commands sent and not yet answered by ``ready``, oldest first: the one it
    #: renders and, from the start of its last frame, the next one (sent ahead)
    commands: deque[Assignment] = field(default_factory=deque)
    #: started with --await-scene and not yet sent ``open``
    awaiting_scene: bool = False


@dataclass
class _SlotState:
    slot: Slot
    disabled_reason: str | None = None
    #: the user gave the slot's GPU back to Maya (RELEASED_REASON) until ``return_gpu``
    released: str | None = None
    startup_failures: int = 0
    worker: _Worker | None = None

    @property
    def usable(self) -> bool:
        """The slot may take work: neither broken (disabled) nor given back to Maya."""
        return not self.disabled_reason and not self.released


class RenderProcessManager(QtCore.QObject):
    """Runs one batch's workers. Create, connect the signals, then :meth:`start`."""

    worker_started = QtCore.Signal(str, int, str)  # worker id, pid, device label
    worker_finished = QtCore.Signal(str, str, str)  # worker id, final state, reason
    frame_started = QtCore.Signal(str, str, int)  # worker id, layer, frame
    frame_progress = QtCore.Signal(str, int, float)  # worker id, frame, percent
    frame_finished = QtCore.Signal(str, str, int, object)  # worker, layer, frame, outputs
    #: worker, layer, frame, reason, retry
    frame_failed: QtCore.Signal[tuple[str, str, int, str, bool]] = QtCore.Signal(
        str, str, int, str, bool
    )
    log_message = QtCore.Signal(float, str, str, str)  # timestamp, level, worker id, text
    batch_finished = QtCore.Signal(BatchSummary)

    #: seconds between two GPU isolation checks while workers render (item 12)
    gpu_check_interval = 3.0
    #: the batch's isolation check, made at the first check (None: no check yet)
    _gpu_watch: GpuIsolationWatch | None = None

    def __init__(
        self,
        *,
        batch_id: str,
        slots: Sequence[Slot],
        scheduler: Scheduler,
        store: JobStore,
        launch: WorkerLaunch,
        frame_timeout: float = 1800.0,
        stop_grace: float = 10.0,
        progress_rate_hz: float = 10.0,
        parent: QtCore.QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.batch_id = batch_id
        self.scheduler = scheduler
        self.store = store
        self.launch = launch
        self.frame_timeout = frame_timeout
        self.stop_grace = stop_grace
        self.progress_interval = 1.0 / max(0.1, progress_rate_hz)
        self.slots = {slot.id: _SlotState(slot) for slot in slots}
        self.state = BatchState.PENDING
        self.stopping = False
        self.failure: str | None = None
        #: the batch stopped for its environment (disk, job store, no slot left): exit 3
        self.environment_failure = False
        #: fatal renderer lines: the slots each frame killed, the frames each slot failed
        self._fatal_slots: dict[tuple[str, int], set[str]] = {}
        self._fatal_frames: dict[str, set[tuple[str, int]]] = {}
        self._finished_emitted = False
        #: every usable slot is given back to Maya: the batch waits for a GPU to come back
        self._paused = False
        self._timers: list[Any] = []
        self._watchdog = QtCore.QTimer(self)
        self._watchdog.setInterval(250)
        self._watchdog.timeout.connect(self._tick)
        #: the batch's ready.json, written when due on each tick (its writes are coalesced)
        self.ready: ReadyManifest | None = None
        self._watchdog.timeout.connect(self._flush_ready)
        app = QtCore.QCoreApplication.instance()
        # Only from the application's own thread: PySide6 6.8 parents the receiver of a
        # cross-thread connection to the app and aborts. A manager on another thread (the
        # plain-Python API) is shut down by its own thread, and workers also exit when
        # their manager process dies.
        if app is not None and app.thread() is QtCore.QThread.currentThread():
            app.aboutToQuit.connect(self.kill_all_now)

    # ------------------------------------------------------------------ public

    def start(self) -> None:
        """Start one worker per slot (only as many as there is work for)."""
        self.state = BatchState.RUNNING
        self.store.set_batch_state(self.batch_id, BatchState.RUNNING)
        self._watchdog.start()
        wanted = min(len(self.slots), max(1, self.scheduler.pending_count))
        for state in list(self.slots.values())[:wanted]:
            self._start_worker(state)
        self._check_finished()

    def open_scene(self) -> None:
        """The snapshot (``launch.snapshot``) is complete: the workers started before it was
        (``launch.scene_ready`` False) open it now, later ones get it on their command line.
        Their start-up limit counts from here: until now they waited for the copy."""
        self.launch.scene_ready = True
        line = protocol.encode_command("open", scene=self.launch.snapshot)
        for state in self.slots.values():
            worker = state.worker
            if worker is None or not worker.awaiting_scene:
                continue
            worker.awaiting_scene = False
            if worker.state.final or worker.stop_requested:
                continue  # a stop reached it first: it ends without opening anything
            worker.last_output = time.monotonic()
            self._send(worker, line)

    def stop(self) -> None:
        """Graceful stop: no new frames; idle workers quit now, busy ones are terminated
        after the grace period, then killed with their whole process tree."""
        if self.stopping:
            self.kill_all_now()  # a second stop forces
            return
        self.stopping = True
        cancelled = self.scheduler.cancel()
        self.store.update_frames(self.batch_id, [FrameChange.of(t) for t in cancelled])
        for state in self.slots.values():
            if state.worker is not None and not state.worker.state.final:
                self._stop_worker(state.worker, "stopped by the user")
        self._check_finished()

    def stop_worker(self, worker_id: str, reason: str = "stopped by the user") -> bool:
        """Stop one worker and disable its slot; its frames go back to the queue."""
        state = self.slots.get(worker_id)
        if state is None:
            return False
        state.disabled_reason = reason
        if state.worker is not None and not state.worker.state.final:
            self._stop_worker(state.worker, reason)
        self._check_finished()
        return True

    # ------------------------------------------------------------------ GPUs given back

    def _gpu_slots(self, gpu: int) -> list[_SlotState]:
        """The batch's slots on GPU ``gpu``, for a batch that renders now.

        Raises:
            ValueError: the batch is not rendering, or ``gpu`` is none of its GPUs.
        """
        if self.state is not BatchState.RUNNING or self.stopping or self._finished_emitted:
            raise ValueError(
                f"batch {self.batch_id} is not rendering (it is {self.state.value}"
                f"{', stopping' if self.stopping and self.is_running else ''}): "
                "GPUs are given back and taken back only while it renders"
            )
        found = [
            s
            for s in self.slots.values()
            if s.slot.device == "gpu" and s.slot.gpu is not None and s.slot.gpu.index == gpu
        ]
        if not found:
            used = sorted({s.slot.gpu.index for s in self.slots.values() if s.slot.gpu is not None})
            has = (
                f"it renders on GPU {', '.join(str(i) for i in used)}"
                if used
                else "it renders on the CPU only"
            )
            raise ValueError(f"GPU {gpu} is not one of batch {self.batch_id}'s GPUs: {has}")
        return found

    def release_gpu(self, gpu: int, *, finish_frame: bool = True) -> list[str]:
        """Give GPU ``gpu`` back to Maya: its worker(s) finish their current frame
        (``finish_frame``) or abandon it now, then exit; the frames they held go back to
        the queue for the other workers, uncharged (an abandoned frame keeps its tries).
        The slot is RELEASED (not a failure) until :meth:`return_gpu`. When every slot
        left is given back, the batch waits, paused, with its frames pending.

        Returns the worker ids concerned.

        Raises:
            ValueError: the batch is not rendering, ``gpu`` is not one of its GPUs, it is
                given back already, or its workers were taken out of the batch (broken).
        """
        found = self._gpu_slots(gpu)
        live = [s for s in found if not s.released]
        if not live:
            raise ValueError(
                f"GPU {gpu} is already given back to Maya; take it back into the batch with "
                f"`lrc-batch-render gpu return {self.batch_id} {gpu}` (return_gpu)"
            )
        usable = [s for s in live if not s.disabled_reason]
        if not usable:
            raise ValueError(
                f"GPU {gpu} renders nothing for batch {self.batch_id}: its worker was taken "
                f"out of the batch ({live[0].disabled_reason}), so Maya has it already"
            )
        how = (
            "after its current frame" if finish_frame else "now, its frame going back to the queue"
        )
        for state in usable:
            state.released = RELEASED_REASON
            worker = state.worker
            emit_signal(
                self,
                "log_message",
                time.time(),
                "info",
                state.slot.id,
                f"{state.slot.label} given back to Maya: its worker exits {how}",
            )
            if worker is None or worker.state.final:
                self._mark_released(state)
            elif finish_frame and worker.current is not None:
                worker.release_after_frame = True  # the ready or next frame_started ends it
            else:
                self._end_released_now(worker)
        self._check_finished()
        return [s.slot.id for s in usable]

    def return_gpu(self, gpu: int) -> list[str]:
        """Take GPU ``gpu`` back into the batch after :meth:`release_gpu`: each slot gets a
        fresh worker that takes frames again (none when no frame is left to hand out). A
        worker still finishing its frame simply stays; one still exiting is replaced once
        it has gone. Returns the worker ids concerned.

        Raises:
            ValueError: the batch is not rendering, ``gpu`` is not one of its GPUs, or it
                was not given back.
        """
        found = self._gpu_slots(gpu)
        released = [s for s in found if s.released]
        if not released:
            raise ValueError(
                f"GPU {gpu} was not given back to Maya: it still renders for batch "
                f"{self.batch_id} (only a GPU given back can be taken back)"
            )
        for state in released:
            state.released = None
            state.startup_failures = 0
            worker = state.worker
            emit_signal(
                self,
                "log_message",
                time.time(),
                "info",
                state.slot.id,
                f"{state.slot.label} taken back into the batch",
            )
            if worker is not None and not worker.state.final:
                # still finishing its frame: it stays; already exiting: _worker_gone
                # starts the slot's next worker once it has gone
                worker.release_after_frame = False
            elif self.scheduler.pending_count > 0 and not state.disabled_reason:
                self._start_worker(state)  # (the last worker's end may be telling us now)
        self._paused = False
        self._check_finished()
        return [s.slot.id for s in released]

    def _mark_released(self, state: _SlotState) -> None:
        """A slot given back with no live worker: its last worker's row says so."""
        worker = state.worker
        if worker is None:
            return
        worker.state = WorkerState.RELEASED
        self.store.worker_finished(
            self.batch_id,
            state.slot.id,
            state=WorkerState.RELEASED,
            exit_code=None,
            reason=RELEASED_REASON,
        )
        emit_signal(
            self, "worker_finished", state.slot.id, WorkerState.RELEASED.value, RELEASED_REASON
        )

    def _end_released_now(self, worker: _Worker) -> None:
        """End a worker whose GPU was given back, now: the frames it holds go back to the
        queue uncharged (a frame cut off keeps its tries), then its process tree ends."""
        running = [
            (t.layer, t.frame)
            for t in self.scheduler.held_by(worker.slot.id)
            if t.state is FrameState.RUNNING
        ]
        given = self.scheduler.give_back(worker.slot.id)
        if running:
            self.store.frames_given_back(self.batch_id, running)
        cancelled = [t for t in given if t.state is FrameState.CANCELLED]
        if cancelled:
            self.store.update_frames(self.batch_id, [FrameChange.of(t) for t in cancelled])
        if worker.current is not None:
            self._flush_progress(worker, force=True)
            worker.current = None
        worker.release_after_frame = False
        worker.given_back = True
        worker.kill_reason = RELEASED_REASON
        busy = worker.state in (WorkerState.RENDERING, WorkerState.STARTING)
        if busy and worker.pid:
            worker.stop_requested = True
            self._set_state(worker, WorkerState.STOPPING)
            terminate_process_tree(worker.pid, grace=1.0)
        else:
            self._stop_worker(worker, RELEASED_REASON)

    def kill_all_now(self) -> None:
        """Kill every worker tree at once (application quitting): never leave orphans."""
        self.stopping = True
        for state in self.slots.values():
            worker = state.worker
            if worker is not None and worker.pid and not worker.state.final:
                terminate_process_tree(worker.pid, grace=0.5)

    @property
    def is_running(self) -> bool:
        return self.state is BatchState.RUNNING

    def statuses(self) -> list[RenderStatus]:
        now = time.time()
        result = []
        for state in self.slots.values():
            worker = state.worker
            status = RenderStatus(worker_id=state.slot.id, device=state.slot.label)
            if worker is not None:
                status.state = worker.state
            if state.disabled_reason and (worker is None or worker.state.final):
                status.state = WorkerState.DISABLED
                status.message = state.disabled_reason
            elif state.released and (worker is None or worker.state.final):
                status.state = WorkerState.RELEASED
                status.message = state.released
            elif state.released:
                status.message = (
                    "given back to Maya: finishing its current frame, then it exits"
                    if worker is not None and worker.release_after_frame
                    else "given back to Maya: exiting"
                )
            if worker is not None:
                held = self.scheduler.held_by(state.slot.id)  # the frames it has left
                status.pid = worker.pid
                status.started = worker.started
                status.elapsed = now - worker.started
                status.frames_done = worker.frames_done
                status.frames_failed = worker.frames_failed
                status.frames_total = worker.frames_done + worker.frames_failed + len(held)
                if worker.current:
                    status.layer, status.current_frame = worker.current
                    status.progress_percent = worker.percent
                elif worker.layer:
                    status.layer = worker.layer
                left = len(held)
                if left:
                    status.eta = remaining_seconds(
                        status.elapsed, worker.frames_done, worker.frames_done + left
                    )
            result.append(status)
        return result

    # ------------------------------------------------------------------ workers

    def _start_worker(self, state: _SlotState) -> None:
        slot, launch = state.slot, self.launch
        worker_dir = launch.worker_dir(slot.id) if launch.worker_dir else None
        env = build_worker_environment(
            slot,
            base_env=dict(launch.base_env, LRC_PARENT_PID=str(os.getpid())),
            worker_dir=worker_dir or Path(launch.output_dir),
            package_root=launch.package_root,
            scene_uses_render_setup=launch.scene_uses_render_setup,
            include_all_lights=launch.include_all_lights,
        )
        command = build_worker_command(
            slot,
            mayapy=launch.mayapy,
            snapshot=launch.snapshot if launch.scene_ready else None,
            scene_name=launch.scene_name,
            project=launch.project,
            output_dir=launch.output_dir,
            renderer=launch.renderer,
        )
        process = QtCore.QProcess(self)
        environment = QtCore.QProcessEnvironment()
        for key, value in env.items():
            environment.insert(key, value)
        process.setProcessEnvironment(environment)
        process.setProgram(command[0])
        process.setArguments(command[1:])
        worker = _Worker(
            slot=slot,
            process=process,
            parser=LogParser(launch.renderer_for(None)),
            awaiting_scene=not launch.scene_ready,
        )
        if launch.log_dir is not None:
            launch.log_dir.mkdir(parents=True, exist_ok=True)
            path = launch.log_dir / f"{slot.id}.log"
            worker.log = path.open("a", encoding="utf-8", errors="replace")
            worker.log_path = str(path)
            worker.log.write(f"# {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(command)}\n")
        state.worker = worker
        # every handler below is @_guarded: an exception ends the batch cleanly
        process.readyReadStandardOutput.connect(lambda w=worker: self._read(w, stderr=False))
        process.readyReadStandardError.connect(lambda w=worker: self._read(w, stderr=True))
        process.finished.connect(lambda *args, w=worker: self._finished(w, int(args[0])))
        process.errorOccurred.connect(lambda error, w=worker: self._error(w, error))
        process.start()
        if not process.waitForStarted(30000):
            return  # errorOccurred(FailedToStart) has handled it
        worker.pid = int(process.processId())
        for note in apply_priority_and_affinity(worker.pid, slot):
            self._log(worker, "info", note)
        self.store.worker_started(
            self.batch_id,
            slot.id,
            pid=worker.pid,
            device=slot.label,
            log_path=worker.log_path,
            now=time.time(),
        )
        # emit_signal, not .emit(): PySide6 6.12's emit takes a reference from True
        emit_signal(self, "worker_started", slot.id, worker.pid, slot.label)

    def _set_state(self, worker: _Worker, state: WorkerState) -> None:
        """A live state change, recorded in the store (``status`` shows it)."""
        if worker.state is state:
            return
        worker.state = state
        self.store.set_worker_state(self.batch_id, worker.slot.id, state)

    def _stop_worker(self, worker: _Worker, reason: str) -> None:
        if worker.state.final or worker.stop_requested:
            return
        busy = worker.state in (WorkerState.RENDERING, WorkerState.STARTING)
        worker.stop_requested = True
        self._set_state(worker, WorkerState.STOPPING)
        worker.kill_reason = worker.kill_reason or reason
        # stop, not quit: it goes before a command sent ahead, so no frame is begun
        self._send(worker, protocol.encode_command("stop"))
        grace = self.stop_grace if busy else max(self.stop_grace, 2.0)
        self._later(grace, functools.partial(self._terminate, worker))

    def _later(self, seconds: float, callback: Callable[[], None]) -> None:
        """A one-shot timer owned by the manager, so stopping the batch stops it too."""
        timer = QtCore.QTimer(self)
        timer.setSingleShot(True)
        timer.timeout.connect(functools.partial(self._call_guarded, callback))
        timer.timeout.connect(lambda t=timer: self._timers.remove(t) if t in self._timers else None)
        self._timers.append(timer)
        timer.start(int(seconds * 1000))

    def _terminate(self, worker: _Worker) -> None:
        if worker.state.final or worker.pid is None:
            return
        killed = terminate_process_tree(worker.pid, grace=max(1.0, self.stop_grace / 2))
        if killed:
            self._log(worker, "warning", f"killed after the grace period: pids {killed}")

    def _send(self, worker: _Worker, line: str) -> None:
        if worker.process.state() != QtCore.QProcess.ProcessState.NotRunning:
            worker.process.write(line.encode("utf-8"))

    # ------------------------------------------------------------------ reading

    @_guarded
    def _read(self, worker: _Worker, *, stderr: bool) -> None:
        process = worker.process
        data = (
            process.readAllStandardError() if stderr else process.readAllStandardOutput()
        ).data()
        if not data:
            return
        worker.last_output = time.monotonic()
        buffer = (worker.err_buffer if stderr else worker.buffer) + bytes(data)
        # a bare CR ends a line too: V-Ray and Redshift rewrite their progress line in place
        *lines, rest = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
        if len(rest) > _MAX_BUFFER:
            lines.append(rest)
            rest = b""
        if stderr:
            worker.err_buffer = rest
        else:
            worker.buffer = rest
        for raw in lines:
            self._line(worker, raw.decode("utf-8", errors="replace").rstrip("\r"), stderr)

    def _line(self, worker: _Worker, line: str, stderr: bool) -> None:
        text, payload = protocol.split_event(line)
        event = None
        if payload is not None:
            try:
                event = protocol.decode_line(line)
            except protocol.ProtocolError as exc:
                self._log(worker, "warning", f"unreadable worker event: {exc}")
                text = line
        if text.strip():
            if worker.log is not None:
                worker.log.write(text + "\n")
            self._renderer_line(worker, text, stderr)
        if event is not None:
            if worker.log is not None:
                worker.log.write(line[len(text) :] + "\n")
                worker.log.flush()
            self._event(worker, event)

    def _renderer_line(self, worker: _Worker, text: str, stderr: bool) -> None:
        parsed = worker.parser.parse_line(text)
        level = _KIND_LEVEL.get(parsed.kind, "warning" if stderr else "info")
        # emit_signal, not .emit(): PySide6 6.12's emit takes a reference from True
        emit_signal(self, "log_message", time.time(), level, worker.slot.id, text)
        if parsed.kind is LineKind.PROGRESS and parsed.percent is not None and worker.current:
            worker.percent = parsed.percent
            worker.progress_pending = True
            self._flush_progress(worker)
        elif parsed.kind is LineKind.FRAME_FAILED and worker.current:
            # the renderer failed this frame, not the worker: the frame's own end event
            # (frame_failed, or a frame_done) settles it, with this reason (see _frame_done)
            worker.frame_failure = worker.frame_failure or parsed.reason or text.strip()
        elif parsed.kind is LineKind.FATAL:
            self._fatal(worker, parsed.reason or text.strip())

    def _fatal(self, worker: _Worker, reason: str) -> None:
        """A fatal renderer line: the worker cannot go on. Whom to blame (issue 12):

        - outside a frame (start-up: a licence, a missing plug-in): the slot, disabled;
        - a frame that already killed another slot: the FRAME — failed for good, both
          slots kept (one bad frame must not take every GPU);
        - a slot that already failed fatally on another frame: the SLOT, disabled;
        - otherwise neither yet: the frame goes back (preferring another slot) and the
          worker is restarted.

        Frames the worker held but never started go back uncharged."""
        state = self.slots[worker.slot.id]
        if worker.stop_requested or state.disabled_reason:
            return  # already being stopped: one verdict per worker
        message = f"fatal renderer error: {reason}"
        if worker.current is None:
            state.disabled_reason = message
            self._stop_worker(worker, message)
            return
        layer, frame = worker.current
        key = (layer, frame)
        slots = self._fatal_slots.setdefault(key, set())
        slots.add(worker.slot.id)
        self._forget(worker, layer, frame)
        if len(slots) >= FATAL_SLOTS_PER_FRAME:
            for frames in self._fatal_frames.values():  # the frame, not these slots
                frames.discard(key)
            self._fail(
                worker,
                layer,
                frame,
                f"{message} on {len(slots)} workers ({', '.join(sorted(slots))}): "
                "the frame itself fails, not the GPU; check the scene at this frame",
                retry=False,
                now=time.time(),
            )
        else:
            frames = self._fatal_frames.setdefault(worker.slot.id, set())
            frames.add(key)
            self._fail(worker, layer, frame, message, retry=True, now=time.time())
            if len(frames) >= FATAL_FRAMES_PER_SLOT:
                listed = ", ".join(f"{lay} {fr}" for lay, fr in sorted(frames))
                state.disabled_reason = f"{message} (on {len(frames)} frames: {listed})"
        self._requeue_unstarted(worker)
        self._stop_worker(worker, state.disabled_reason or message)

    def _flush_progress(self, worker: _Worker, force: bool = False) -> None:
        now = time.monotonic()
        if not worker.progress_pending or worker.current is None:
            return
        if force or now - worker.progress_emitted_at >= self.progress_interval:
            worker.progress_pending = False
            worker.progress_emitted_at = now
            # emit_signal, not .emit(): PySide6 6.12's emit takes a reference from True
            emit_signal(
                self,
                "frame_progress",
                worker.slot.id,
                worker.current[1],
                float(worker.percent or 0),
            )

    # ------------------------------------------------------------------ events

    def _event(self, worker: _Worker, event: protocol.Event) -> None:
        name = event.name
        if name == "hello":
            try:
                protocol.check_hello(event)
            except protocol.ProtocolError as exc:
                self.slots[worker.slot.id].disabled_reason = str(exc)
                self._stop_worker(worker, str(exc))
                return
            self.slots[worker.slot.id].startup_failures = 0
            worker.maya_version = str(event.get("maya_version") or "") or None
            self._log(worker, "info", _hello_text(event))
        elif name == "ready":
            if worker.commands:  # a render command ended: frames it never began go back
                self._requeue_unstarted(worker, worker.commands.popleft())
            if worker.commands:  # the next one was sent ahead: it renders it already
                return
            if worker.release_after_frame:  # its last frame is settled: now it goes
                worker.release_after_frame = False
                worker.given_back = True
                self._requeue_unstarted(worker)
                self._stop_worker(worker, RELEASED_REASON)
            elif worker.state in (WorkerState.STARTING, WorkerState.IDLE, WorkerState.RENDERING):
                self._set_state(worker, WorkerState.IDLE)
                self._requeue_unstarted(worker)
                self._dispatch(worker)
        elif name == "frame_started":
            self._frame_started(worker, str(event["layer"]), int(event["frame"]))
        elif name == "frame_done":
            self._frame_done(worker, event)
        elif name == "frame_failed":
            self._frame_failed_event(worker, event)
        elif name == "error":
            level = "fatal" if event.get("fatal") else "error"
            self._log(worker, level, str(event.get("reason")))
            if event.get("fatal"):
                worker.kill_reason = str(event.get("reason"))

    def _dispatch(self, worker: _Worker) -> None:
        state = self.slots[worker.slot.id]
        if self.stopping or not state.usable:
            self._stop_worker(worker, state.disabled_reason or state.released or "stopping")
            return
        assignment: Assignment | None = self.scheduler.next_assignment(
            worker.slot.id, worker.layer, time.time()
        )
        if assignment is None:  # out of work: quit, with a kill as the backstop
            self._set_state(worker, WorkerState.STOPPING)
            self._send(worker, protocol.encode_command("quit"))
            self._later(max(self.stop_grace, 5.0), functools.partial(self._terminate, worker))
            return
        self._set_state(worker, WorkerState.RENDERING)
        worker.last_output = time.monotonic()
        self._send_render(worker, assignment)

    def _send_render(self, worker: _Worker, assignment: Assignment) -> None:
        worker.commands.append(assignment)
        self._send(
            worker,
            protocol.encode_command(
                "render",
                layer=assignment.layer,
                frames=list(assignment.frames),
                overrides=self.launch.overrides.to_dict(),
            ),
        )

    def _send_ahead(self, worker: _Worker, layer: str, frame: int) -> None:
        """The worker began the last frame it has: send its next command now, so it goes
        on without waiting for this process (its event loop may be busy: Maya's UI, a
        slow disk). Only while more frames are queued than workers live, so a frame sent
        ahead never leaves another worker idle at the end (Scheduler.next_assignment)."""
        if len(worker.commands) != 1 or worker.commands[0].frames[-1] != frame:
            return
        if worker.commands[0].layer != layer or worker.state is not WorkerState.RENDERING:
            return
        if self.stopping or worker.stop_requested or worker.release_after_frame:
            return
        if not self.slots[worker.slot.id].usable:
            return
        live = sum(
            1
            for state in self.slots.values()
            if state.worker is not None
            and state.worker.state
            in (WorkerState.STARTING, WorkerState.IDLE, WorkerState.RENDERING)
        )
        if self.scheduler.queued_count <= live:
            return
        assignment = self.scheduler.next_assignment(worker.slot.id, layer, time.time(), ahead=True)
        if assignment is not None:
            self._send_render(worker, assignment)

    def _frame_started(self, worker: _Worker, layer: str, frame: int) -> None:
        if worker.release_after_frame and worker.current is None:
            # its GPU was given back and its frame is settled, but the worker goes on with
            # the rest of its chunk (it reads ``quit`` only between commands): the rest goes
            # back to the queue uncharged and the worker is ended before it renders more
            self._end_released_now(worker)
            return
        if not self.scheduler.holds(worker.slot.id, layer, frame):
            if self._crossed_stop(worker, layer, frame):
                worker.current = (layer, frame)  # watched; its end may still count
            return  # cancelled or taken back since it was sent: not recorded as begun
        now = time.time()
        worker.current = (layer, frame)
        worker.layer = layer
        worker.frame_started_at = now
        worker.percent = 0.0
        worker.frame_failure = None
        worker.parser = LogParser(self.launch.renderer_for(layer))  # progress restarts
        self.scheduler.frame_started(layer, frame, worker.slot.id, now, device=worker.slot.label)
        self.store.frame_started(
            self.batch_id, layer, frame, worker=worker.slot.id, device=worker.slot.label, now=now
        )
        # emit_signal, not .emit(): PySide6 6.12's emit takes a reference from True
        emit_signal(self, "frame_started", worker.slot.id, layer, frame)
        self._send_ahead(worker, layer, frame)

    def _frame_done(self, worker: _Worker, event: protocol.Event) -> None:
        layer, frame = str(event["layer"]), int(event["frame"])
        outputs = [str(p) for p in event.get("outputs") or []]
        self._forget(worker, layer, frame)
        held = self.scheduler.holds(worker.slot.id, layer, frame)
        if not held and not self._crossed_stop(worker, layer, frame):
            return  # settled already (a fatal line, a halt): the report is stale
        now = time.time()
        outside = [p for p in outputs if not path_inside(p, self.launch.output_dir)]
        if outside:
            # never listed, never retried: the same settings would write there again
            # (the plan refuses such prefixes; this catches what only Maya knew)
            worker.frame_failure = None
            reason = (
                f"{outside[0]} is outside the output folder {self.launch.output_dir}: "
                "fix the image prefix (no '..', no absolute path elsewhere)"
            )
            self._fail(worker, layer, frame, reason, retry=False, now=time.time())
            return
        problem = worker.frame_failure or self._product_problem(
            layer, frame, outputs, skipped=bool(event.get("skipped"))
        )
        worker.frame_failure = None
        if problem is not None:
            self._fail(worker, layer, frame, problem, retry=True, now=now)
            return
        if event.get("skipped"):
            self.scheduler.skip(layer, frame, "outputs already exist")
            self.store.frame_skipped(self.batch_id, layer, frame, "outputs already exist")
        else:
            self.scheduler.frame_done(
                layer, frame, outputs, now, provenance=self._provenance(worker, event)
            )
            origin = self.scheduler.task(layer, frame).provenance  # with its attempt
            self.store.frame_done(
                self.batch_id, layer, frame, outputs=outputs, provenance=origin, now=now
            )
        worker.frames_done += 1
        worker.percent = 100.0
        # emit_signal, not .emit(): PySide6 6.12's emit takes a reference from True
        emit_signal(self, "frame_finished", worker.slot.id, layer, frame, outputs)

    def _crossed_stop(self, worker: _Worker, layer: str, frame: int) -> bool:
        """A frame sent ahead that the stop cancelled after the worker had begun it (the
        two crossed in the pipe): it is finished in the grace period, and a verified
        image counts (DONE) instead of being thrown away; if it fails or is cut off, it
        stays CANCELLED."""
        if self.scheduler.task(layer, frame).state is not FrameState.CANCELLED:
            return False
        return any(c.layer == layer and frame in c.frames for c in worker.commands)

    def _product_problem(
        self, layer: str, frame: int, outputs: Sequence[str], *, skipped: bool
    ) -> str | None:
        """Why the frame's products are not this attempt's complete images, or None.

        Each file must be complete (its format's structure, utils.image_check) and, unless
        the frame was skipped because it already existed, written during this attempt: a
        file left by an earlier run does not count for a render that failed. With
        OpenImageIO installed, an all-black, all-NaN or flat image is rendered once more,
        then accepted with a warning (a fade to black is a real frame).
        """
        if not outputs:
            return "missing output: the worker named no file"
        task = self.scheduler.task(layer, frame)
        since = None if skipped else task.started
        bad = [c for c in (check_image(p, since=since) for p in outputs) if not c.ok]
        if bad:
            return "; ".join(check.reason or check.path for check in bad)
        if PIXEL_CHECK_AVAILABLE and not skipped:
            for path in outputs:
                suspicious = pixel_problem(path)
                if suspicious is None:
                    continue
                if task.attempts < 2:
                    return f"{path} looks wrong ({suspicious}): rendering it once more"
                # emit_signal, not .emit(): PySide6 6.12's emit takes a reference from True
                emit_signal(
                    self,
                    "log_message",
                    time.time(),
                    "warning",
                    "",
                    f"{path} is {suspicious} again; kept as rendered",
                )
        return None

    def _provenance(self, worker: _Worker, event: protocol.Event) -> FrameProvenance:
        seconds = event.get("seconds")
        gpu = worker.slot.gpu if worker.slot.device == "gpu" else None
        return FrameProvenance(
            snapshot=self.launch.snapshot,
            snapshot_sha256=self.launch.snapshot_sha256,
            renderer=str(event.get("renderer") or self.launch.renderer or ""),
            renderer_version=str(event.get("renderer_version") or "") or None,
            maya_version=worker.maya_version,
            device=worker.slot.label,
            gpu_uuid=gpu.uuid if gpu is not None else None,
            render_seconds=float(seconds) if isinstance(seconds, (int, float)) else None,
            pid=worker.pid,
            host=_HOST,
        )

    def _frame_failed_event(self, worker: _Worker, event: protocol.Event) -> None:
        layer, frame = str(event["layer"]), int(event["frame"])
        self._forget(worker, layer, frame)
        if not self.scheduler.holds(worker.slot.id, layer, frame):
            return  # settled already: the report is stale
        fatal = bool(event.get("fatal"))
        reason = worker.frame_failure or str(event["reason"])  # the renderer's words first
        worker.frame_failure = None
        self._fail(worker, layer, frame, reason, retry=not fatal, now=time.time())

    def _fail(
        self, worker: _Worker, layer: str, frame: int, reason: str, *, retry: bool, now: float
    ) -> None:
        problem = self._output_problem()
        if problem is not None:
            # not the frame's fault: every frame would fail the same way in seconds
            self.abort(problem)
            return
        new_state = self.scheduler.frame_failed(layer, frame, reason, now, retry=retry)
        if new_state in (FrameState.PENDING, FrameState.FAILED):
            self.store.frame_failed(
                self.batch_id, layer, frame, state=new_state, error=reason, now=now
            )
        elif new_state is FrameState.CANCELLED:
            self.store.update_frames(self.batch_id, [FrameChange(layer, frame, new_state, reason)])
        else:  # a stale report (the frame is already done elsewhere): nothing to record
            return
        worker.frames_failed += 1
        will_retry = new_state is FrameState.PENDING
        self._log(
            worker,
            "error",
            f"{layer} frame {frame} failed: {reason}" + (" (will retry)" if will_retry else ""),
        )
        # emit_signal, not .emit(): PySide6 6.12's emit takes a reference from True
        emit_signal(self, "frame_failed", worker.slot.id, layer, frame, reason, will_retry)

    def _output_problem(self) -> str | None:
        """Why the output folder cannot take more images (full, read-only, gone), or None:
        probed with a real write, plus the free space (utils.temp_file_manager)."""
        folder = self.launch.output_dir
        fix = f"free space or fix the folder, then resume the batch ({self.batch_id})"
        try:
            handle, probe = tempfile.mkstemp(prefix=".lrc-probe-", dir=folder)
            try:
                os.write(handle, b"x" * 4096)
                os.fsync(handle)
            finally:
                os.close(handle)
                os.unlink(probe)
        except OSError as exc:
            what = {
                errno.ENOSPC: "is full",
                errno.EDQUOT: "is over its quota",
                errno.EROFS: "is read-only",
                errno.EACCES: "cannot be written (permission denied)",
                errno.EPERM: "cannot be written (permission denied)",
                errno.ENOENT: "no longer exists",
            }.get(exc.errno or 0, f"cannot be written ({exc.strerror or exc})")
            return f"the output folder {folder} {what}: {fix}"
        space = check_disk_space(Path(folder), min_free_mb=OUTPUT_FULL_MB, warn_free_mb=0)
        if not space.ok:
            return f"the output folder {folder} is full ({space.free_mb} MB free): {fix}"
        return None

    def abort(self, reason: str) -> None:
        """Stop the batch because of its environment (disk, job store, an internal error):
        every worker is stopped now, the frames it did not finish stay PENDING for
        ``resume``, and the batch ends with ``environment`` set (exit 3). Never raises."""
        if self._finished_emitted or self.environment_failure:
            return
        self.environment_failure = True
        self.failure = reason
        self.stopping = True
        emit_signal(self, "log_message", time.time(), "fatal", "", f"batch stopped: {reason}")
        running = self.scheduler.halt()
        self._try_store(
            lambda: self.store.update_frames(self.batch_id, [FrameChange.of(t) for t in running])
        )
        for state in self.slots.values():
            worker = state.worker
            if worker is None or worker.state.final:
                continue
            worker.kill_reason = worker.kill_reason or f"batch stopped: {reason}"
            worker.current = None
            if worker.pid:
                terminate_process_tree(worker.pid, grace=1.0)
        self._check_finished()

    def _try_store(self, write: Callable[[], object]) -> bool:
        """A job-store write that must not stop an ending batch: False if it failed."""
        try:
            write()
            return True
        except Exception as exc:  # reported, and the batch still ends
            emit_signal(
                self,
                "log_message",
                time.time(),
                "error",
                "",
                f"the job store could not be written: {exc}",
            )
            return False

    def _call_guarded(self, callback: Callable[[], None]) -> None:
        try:
            callback()
        except Exception as exc:  # see _guarded
            self._internal_error(exc)

    def _internal_error(self, exc: Exception) -> None:
        if isinstance(exc, JobStoreError):
            reason = (
                f"the job store could not be written ({exc}); the frames rendered so far "
                f"are on disk: free space, then resume the batch ({self.batch_id})"
            )
        elif isinstance(exc, OSError):
            reason = f"{exc.strerror or exc} ({getattr(exc, 'filename', '') or 'I/O'})"
        else:
            reason = f"internal error: {type(exc).__name__}: {exc}"
        emit_signal(self, "log_message", time.time(), "error", "", traceback.format_exc().rstrip())
        if self._finished_emitted:
            return
        try:
            self.abort(reason)
        except Exception:  # last resort: end the batch no matter what
            self.failure = reason
            self.environment_failure = True
            self._finish()

    def _forget(self, worker: _Worker, layer: str, frame: int) -> None:
        if worker.current == (layer, frame):
            self._flush_progress(worker, force=True)
            worker.current = None

    def _requeue_unstarted(self, worker: _Worker, command: Assignment | None = None) -> None:
        """Frames the worker holds and never began (of ``command`` only, if given: a
        command sent ahead is still to come), back to the queue uncharged."""
        held = self.scheduler.held_by(worker.slot.id)
        leftover = [
            (t.layer, t.frame)
            for t in held
            if t.state is FrameState.PENDING
            and (command is None or (t.layer == command.layer and t.frame in command.frames))
        ]
        if leftover:
            self.scheduler.return_unstarted(leftover)

    # ------------------------------------------------------------------ process end

    @_guarded
    def _error(self, worker: _Worker, error: Any) -> None:
        if error == QtCore.QProcess.ProcessError.FailedToStart:
            reason = (
                f"could not start {worker.process.program()}: {worker.process.errorString()} "
                "(check the mayapy path)"
            )
            state = self.slots[worker.slot.id]
            state.disabled_reason = reason
            self._log(worker, "fatal", reason)
            self._worker_gone(worker, exit_code=-1, crashed=True)

    @_guarded
    def _finished(self, worker: _Worker, exit_code: int) -> None:
        # finished(int) and finished(int, ExitStatus) differ between bindings: ask the process
        status = worker.process.exitStatus()
        self._read(worker, stderr=False)
        self._read(worker, stderr=True)
        for rest, is_err in ((worker.buffer, False), (worker.err_buffer, True)):
            if rest:
                self._line(worker, rest.decode("utf-8", errors="replace"), is_err)
        worker.buffer = worker.err_buffer = b""
        crashed = status == QtCore.QProcess.ExitStatus.CrashExit or exit_code != 0
        self._worker_gone(worker, exit_code=exit_code, crashed=crashed)

    def _worker_gone(self, worker: _Worker, *, exit_code: int, crashed: bool) -> None:
        if worker.state.final:
            return
        was = worker.state
        worker.state = WorkerState.FAILED  # final from here on; the store is told below
        state = self.slots[worker.slot.id]
        now = time.time()
        expected = was is WorkerState.STOPPING and not worker.current
        reason = worker.kill_reason or (
            f"worker exited with code {exit_code}" if crashed else "finished"
        )
        if expected and not crashed:  # it ended as asked: what it never began goes back
            self._requeue_unstarted(worker)
        worker.commands.clear()
        lost = self.scheduler.worker_lost(worker.slot.id, reason, now)
        if lost:
            self.store.update_frames(
                self.batch_id, [FrameChange(t.layer, t.frame, t.state, reason) for t in lost]
            )
            for task in lost:
                if task.errors and task.errors[-1] == reason:  # charged for this loss
                    # emit_signal, not .emit(): PySide6 6.12's emit takes a reference from True
                    emit_signal(
                        self,
                        "frame_failed",
                        worker.slot.id,
                        task.layer,
                        task.frame,
                        reason,
                        task.state is FrameState.PENDING,
                    )
        worker.current = None
        if was is WorkerState.STARTING and not self.stopping:
            state.startup_failures += 1
            if (
                state.startup_failures >= STARTUP_FAILURES_BEFORE_DISABLE
                and not state.disabled_reason
            ):
                state.disabled_reason = (
                    f"crashed {state.startup_failures} times while starting: {reason}"
                )
        final = WorkerState.FINISHED if expected and not crashed else WorkerState.FAILED
        if state.disabled_reason and not self.stopping:
            final = WorkerState.DISABLED
        elif state.released or worker.given_back:
            final = WorkerState.RELEASED  # ended as asked: not a failure
            reason = RELEASED_REASON
        worker.state = final
        self.store.worker_finished(
            self.batch_id, worker.slot.id, state=final, exit_code=exit_code, reason=reason, now=now
        )
        if worker.log is not None:
            worker.log.write(f"# worker ended: {final.value}, exit code {exit_code}: {reason}\n")
            worker.log.close()
            worker.log = None
        if final is WorkerState.RELEASED:
            self._log(worker, "info", f"{worker.slot.label} is free for Maya: {reason}")
        elif crashed or not expected:
            self._log(worker, "warning" if not state.disabled_reason else "error", reason)
        # emit_signal, not .emit(): PySide6 6.12's emit takes a reference from True
        emit_signal(self, "worker_finished", worker.slot.id, final.value, reason)
        worker.process.deleteLater()
        if (
            not self.stopping
            and state.usable
            and state.worker is worker  # a listener may have started its next (return_gpu)
            # queued, not just pending: frames another worker holds (sent ahead, a chunk)
            # are its own; a worker that quit for want of work must not be restarted
            # over and over until they are rendered
            and self.scheduler.queued_count > 0
        ):
            self._start_worker(state)
        self._check_finished()

    # ------------------------------------------------------------------ batch end

    def _check_gpu_isolation(self) -> None:
        """Every ``gpu_check_interval`` s while workers render: NVML's per-GPU process
        lists must show each worker (and its children) on its own GPU only
        (:mod:`lrc_toolbox.core.gpu_isolation`). A worker seen on another GPU is killed,
        reported (log + its failure reason) and its slot disabled with that reason; its
        frame goes back to the queue for another slot. Workers of renderers that
        CUDA_VISIBLE_DEVICES does not pin (Maya Software, Hardware 2.0) are not judged."""
        gpus = [s.slot.gpu for s in self.slots.values() if s.slot.gpu is not None]
        live = [
            w
            for s in self.slots.values()
            if (w := s.worker) is not None and w.pid and not w.stop_requested
            if w.state in (WorkerState.RENDERING, WorkerState.IDLE)
        ]
        if not gpus or not any(w.state is WorkerState.RENDERING for w in live):
            return
        if self._gpu_watch is None:
            watch = GpuIsolationWatch(
                gpus, env=self.launch.base_env, interval=self.gpu_check_interval
            )
            self._gpu_watch = watch
            self.batch_finished.connect(lambda _summary: watch.close())
        if not self._gpu_watch.due(time.monotonic()):
            return
        judged = []
        for worker in live:
            try:
                pinned = renderer_info(self.launch.renderer_for(worker.layer) or "").cuda_pinned
            except UnknownRendererError:
                pinned = True  # unknown here: judge it
            if pinned and worker.pid:
                gpu = worker.slot.gpu if worker.slot.device == "gpu" else None
                judged.append(WorkerOnGpu(worker.slot.id, worker.pid, gpu.uuid if gpu else None))
        report, notes = self._gpu_watch.check(judged, time.monotonic())
        for note in notes:
            # emit_signal, not .emit(): PySide6 6.12's emit takes a reference from True
            emit_signal(self, "log_message", time.time(), "warning", "", note)
        for violation in report.first_per_worker():
            state = self.slots[violation.worker_id]
            target = state.worker
            if target is None or target.pid is None or target.state.final:
                continue
            # _worker_gone logs the reason, records it as the worker's failure and
            # re-queues its frame; the slot stays disabled with it
            state.disabled_reason = state.disabled_reason or violation.reason()
            target.kill_reason = violation.reason()
            target.stop_requested = True
            terminate_process_tree(target.pid, grace=1.0)

    @_guarded
    def _tick(self) -> None:
        now = time.monotonic()
        self._check_gpu_isolation()
        for state in self.slots.values():
            worker = state.worker
            if worker is None or worker.state.final:
                continue
            self._flush_progress(worker)
            # a frame's silence is measured against the frame timeout; Maya's start-up
            # (loading plug-ins, opening the scene) against its own, longer limit, so a
            # slow start on a busy machine is not taken for a hang
            if worker.state is WorkerState.RENDERING:
                limit = self.frame_timeout
            elif worker.state is WorkerState.STARTING:
                limit = max(self.frame_timeout, STARTUP_TIMEOUT)
            else:
                continue
            if now - worker.last_output > limit and worker.pid:
                worker.kill_reason = f"no output for {limit:g} s: the worker hung and was killed"
                worker.last_output = now  # one kill per hang
                self._log(worker, "error", worker.kill_reason)
                terminate_process_tree(worker.pid, grace=1.0)
        self._check_finished()

    @_guarded
    def _flush_ready(self) -> None:
        """ready.json's coalesced writes. One that fails stops the batch (exit 3): frames
        nobody is told about must not pile up (issue 12)."""
        if self.ready is None or self._finished_emitted:
            return
        try:
            self.ready.flush_if_due()
        except ManifestWriteError as exc:
            self.abort(
                f"{exc}: free space or fix the folder, then resume the batch ({self.batch_id})"
            )

    def _check_finished(self) -> None:
        if self._finished_emitted:
            return
        alive = [
            s for s in self.slots.values() if s.worker is not None and not s.worker.state.final
        ]
        if alive:
            return
        usable = [s for s in self.slots.values() if s.usable]
        if self.scheduler.pending_count and usable and not self.stopping:
            for state in usable:
                self._start_worker(state)
            return
        released = [s for s in self.slots.values() if s.released and not s.disabled_reason]
        if self.scheduler.pending_count and released and not self.stopping:
            # every GPU left was given back to Maya: the batch waits (paused), its frames
            # pending, until a GPU is taken back (return_gpu) or the batch is stopped
            if not self._paused:
                self._paused = True
                emit_signal(
                    self,
                    "log_message",
                    time.time(),
                    "warning",
                    "",
                    f"every GPU of the batch is given back to Maya: it waits with "
                    f"{self.scheduler.pending_count} frame(s) pending; take a GPU back "
                    f"(lrc-batch-render gpu return {self.batch_id} N) or stop the batch",
                )
            return
        if self.scheduler.pending_count and not usable and not self.stopping:
            reasons = "; ".join(f"{s.slot.id}: {s.disabled_reason}" for s in self.slots.values())
            # the frames never rendered stay PENDING: `resume` renders them once the
            # cause is fixed (issue 12); the batch failed for its environment
            self.failure = (
                f"every worker slot failed ({reasons}); {self.scheduler.pending_count} "
                f"frame(s) left pending: fix the cause, then resume the batch ({self.batch_id})"
            )
            self.environment_failure = True
        self._finish()

    def _finish(self) -> None:
        self._finished_emitted = True
        self._watchdog.stop()
        for timer in self._timers:  # every worker is gone: pending kills have nothing to do
            timer.stop()
        self._timers.clear()
        summary = self.scheduler.summary()
        if self.environment_failure:
            self.state = BatchState.FAILED  # resumable: its frames stay pending
        elif self.stopping:
            self.state = BatchState.CANCELLED
        elif self.failure or summary.failed:
            self.state = BatchState.FAILED
        else:
            self.state = BatchState.DONE
        summary.batch_id, summary.state, summary.error = self.batch_id, self.state, self.failure
        summary.environment = self.environment_failure
        summary.workers = {
            s.slot.id: WorkerSummary(
                device=s.slot.label,
                disabled=s.disabled_reason,
                released=s.released if not s.disabled_reason else None,
            )
            for s in self.slots.values()
        }
        self._try_store(
            lambda: self.store.set_batch_state(
                self.batch_id, self.state, error=self.failure, summary=summary
            )
        )
        # emit_signal, not .emit(): PySide6 6.12's emit takes a reference from True
        emit_signal(self, "batch_finished", summary)

    def _log(self, worker: _Worker, level: str, text: str) -> None:
        if worker.log is not None:
            worker.log.write(f"# {level}: {text}\n")
        # emit_signal, not .emit(): PySide6 6.12's emit takes a reference from True
        emit_signal(self, "log_message", time.time(), level, worker.slot.id, text)


def _hello_text(event: protocol.Event) -> str:
    devices = event.get("devices") or {}
    pinned = devices.get("CUDA_VISIBLE_DEVICES", "")
    return (
        f"worker ready: Maya {event.get('maya_version')}, renderer {event.get('renderer')}, "
        f"device {event.get('device')}" + (f", CUDA_VISIBLE_DEVICES={pinned}" if pinned else "")
    )
