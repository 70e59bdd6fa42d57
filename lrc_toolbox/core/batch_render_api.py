"""``BatchRenderAPI``: the one object the dashboard, the CLI and scripts talk to.

It owns the system detector, the scene reading, the temp files, the job store and the
process manager, and re-emits the manager's signals. Everything is validated BEFORE anything
starts (frames, layers, mayapy, output folder, disk space), so a bad request costs nothing
and says what to fix; :meth:`plan_batch` does that validation alone (``--dry-run``).
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lrc_toolbox.config.batch_render_defaults import Settings, load_settings
from lrc_toolbox.core import batch_lock
from lrc_toolbox.core.batch_lock import BatchOwnershipError, ManagerIdentity
from lrc_toolbox.core.batch_planner import (
    SIMULATED_MAYAPY,
    BadRequest,
    BatchError,
    BatchPlanner,
    EnvironmentProblem,
    OutputOutsideFolder,
    PlannedBatch,
    find_project,
)
from lrc_toolbox.core.events import WORKER_SIGNALS
from lrc_toolbox.core.job_store import ClaimResult, JobStore, JobStoreError
from lrc_toolbox.core.qt_compat import emit_signal
from lrc_toolbox.core.qtcore import QtCore
from lrc_toolbox.core.ready_manifest import (
    READY_FILE_NAME,
    ManifestWriteError,
    ReadyManifest,
    read_ready,
)
from lrc_toolbox.core.scheduler import Scheduler
from lrc_toolbox.core.system_detector import SystemDetector
from lrc_toolbox.records.batch import (
    BatchPlan,
    BatchSummary,
    FrameProvenance,
    GpuHandback,
    RenderOverrides,
    batch_log_dir,
)
from lrc_toolbox.records.models import (
    FrameState,
    RenderConfig,
    RenderStatus,
)
from lrc_toolbox.scene.description import SceneDescription
from lrc_toolbox.utils.image_check import check_image
from lrc_toolbox.utils.render_subprocess import (
    include_all_lights_preference,
    terminate_process_tree,
)
from lrc_toolbox.utils.temp_file_manager import TempFileManager, file_sha256, write_snapshot

if TYPE_CHECKING:
    from lrc_toolbox.core.render_process_manager import RenderProcessManager

__all__ = [
    "SIMULATED_MAYAPY",
    "BadRequest",
    "BatchError",
    "BatchPlanner",
    "BatchRenderAPI",
    "EnvironmentProblem",
    "OutputOutsideFolder",
    "PlannedBatch",
    "find_project",
    "reap_orphans",
]


class BatchRenderAPI(QtCore.QObject, BatchPlanner):
    """Start, watch, stop and resume batches. One batch runs at a time per instance.

    Its planning (:meth:`plan_batch`, :meth:`plan_dry_run`) is :class:`BatchPlanner`'s."""

    batch_started = QtCore.Signal(str, BatchPlan)  # batch id, plan
    worker_started = QtCore.Signal(str, int, str)
    frame_started = QtCore.Signal(str, str, int)
    frame_progress = QtCore.Signal(str, int, float)
    frame_finished = QtCore.Signal(str, str, int, object)
    frame_failed: QtCore.Signal[tuple[str, str, int, str, bool]] = QtCore.Signal(
        str, str, int, str, bool
    )
    worker_finished = QtCore.Signal(str, str, str)
    log_message = QtCore.Signal(float, str, str, str)
    batch_finished = QtCore.Signal(BatchSummary)

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        store: JobStore | None = None,
        detector: SystemDetector | None = None,
        simulate: bool = False,
        parent: QtCore.QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._setup_planner(
            settings or load_settings().settings, detector=detector, simulate=simulate
        )
        self._store = store
        self._temp: TempFileManager | None = None
        #: what opening the store had to tell the user (a damaged file moved aside)
        self._store_notes: list[str] = []
        #: the store notices the last batch's warnings carried (a front end may repeat them)
        self.told_store_notices: list[str] = []
        self.manager: RenderProcessManager | None = None
        self.batch_id: str | None = None
        self.ready: ReadyManifest | None = None

    # ------------------------------------------------------------------ queries

    @property
    def temp(self) -> TempFileManager:
        """Snapshots, worker folders and logs; the folder is made on first use (so a dry
        run, which never uses it, writes nothing)."""
        if self._temp is None:
            self._temp = TempFileManager(
                self.settings.resolved_temp_root(), keep_latest=self.settings.temp_keep_latest
            )
        return self._temp

    @property
    def store(self) -> JobStore:
        """The job store, opened on first use; batches whose manager died are marked
        interrupted (resumable) and history older than ``history_keep_days`` is pruned.

        A damaged file is moved aside and a fresh store started; the next batch's plan
        warns where the old file went (once).

        Raises:
            JobStoreError: the store cannot be opened or made (e.g. its folder is
                read-only); start and resume turn it into :class:`EnvironmentProblem`.
        """
        if self._store is None:
            store = JobStore(self.settings.job_store_path, recover=True)
            if store.recovered is not None:
                self._store_notes.append(store.recovered.message())
            try:
                store.find_interrupted()
                store.prune(self.settings.history_keep_days)
            except BaseException:
                store.close()
                raise
            self._store = store
        return self._store

    def take_store_notices(self) -> list[str]:
        """What opening the job store has to tell the user (a damaged file moved aside) and
        nobody has told yet; the caller tells it, so the next plan does not repeat it."""
        notes, self._store_notes = self._store_notes, []
        return notes

    def get_render_status(self) -> list[RenderStatus]:
        return self.manager.statuses() if self.manager is not None else []

    @property
    def is_running(self) -> bool:
        return self.manager is not None and self.manager.is_running

    # ------------------------------------------------------------------ running

    def start_batch_render(
        self, config: RenderConfig, *, include_all_lights: bool | None = None
    ) -> str:
        """Validate, record the batch, start the workers, snapshot the scene; returns its id.

        The workers start before the snapshot is copied: Maya's start-up (tens of seconds)
        and the copy (seconds for a production scene) overlap, and the workers open the
        snapshot once it is complete (``RenderProcessManager.open_scene``). A copy that
        fails stops the batch with the reason (the batch ends FAILED, exit 3).

        ``include_all_lights``: the artist's Render Setup "include all lights" preference as
        the asking Maya has it now (the render service gets it from the session); None
        reads it here (:meth:`include_all_lights`).

        Raises:
            BadRequest: bad input, or another live batch renders into the output folder.
            EnvironmentProblem: no mayapy, no GPU, no disk, no usable job store.
        """
        if self.is_running:
            raise BadRequest(
                f"batch {self.batch_id} is still running: stop it or wait for it to finish"
            )
        planned = self.plan_batch(config)
        batch_id, snapshot = self._record(config, planned, copy=False)
        scheduler = Scheduler(
            planned.plan.frames_by_layer,
            chunk_size=config.chunk_size,
            order=config.frame_order,
            max_attempts=config.max_attempts,
        )
        batch_lock.hold(batch_id)
        try:
            with _store_errors():
                self._run(
                    batch_id,
                    planned,
                    scheduler,
                    snapshot,
                    include_all_lights,
                    copy_from=Path(config.scene),
                )
        except BaseException:
            batch_lock.release(batch_id)
            raise
        return batch_id

    def record_batch(self, config: RenderConfig) -> str:
        """Validate, snapshot the scene and record the batch PENDING, owned by this
        process, without starting it: the render service queues a batch asked for while
        another renders, and starts it later with :meth:`resume`. Returns its id.

        Raises:
            BadRequest, EnvironmentProblem: as :meth:`start_batch_render`.
        """
        return self._record(config, self.plan_batch(config))[0]

    def _record(
        self, config: RenderConfig, planned: PlannedBatch, *, copy: bool = True
    ) -> tuple[str, str]:
        """The snapshot and the job store's record of a planned batch: (id, snapshot).
        ``copy=False`` only chooses the snapshot's path: the caller copies it later."""
        plan = planned.plan
        with _store_errors():
            busy = self.store.output_folder_owner(plan.output_dir)
            if busy is not None:  # before the snapshot copy; create_batch checks again
                raise BadRequest(str(batch_lock.OutputFolderBusyError.of(plan.output_dir, *busy)))
            source = Path(config.scene)
            snapshot = self.temp.new_snapshot_path(
                source, plan.scene_name, plan.snapshot_label, os.getpid()
            )
            if copy:
                try:
                    write_snapshot(source, snapshot)
                except OSError as exc:
                    raise EnvironmentProblem(_copy_failed(source, self.temp.root, exc)) from exc
            try:
                batch_id = self.store.create_batch(
                    config,
                    plan.frames_by_layer,
                    scene=str(Path(config.scene).resolve()),
                    snapshot=str(snapshot),
                    now=time.time(),
                    owner=ManagerIdentity.this_process(),
                    output_dir=plan.output_dir,
                )
            except BaseException:
                with contextlib.suppress(OSError):  # our own copy, made a moment ago
                    Path(snapshot).unlink()
                raise
        return batch_id, str(snapshot)

    def resume(self, batch_id: str, *, include_all_lights: bool | None = None) -> str:
        """Render what a stopped, failed or killed batch left undone.

        This process first becomes the batch's one manager (refused, with who owns it, when
        a live manager does); then orphan workers of the dead one are reaped; frames DONE or
        SKIPPED stay done.

        Raises:
            BadRequest: unknown batch, another live manager owns it, or another live batch
                renders into its output folder.
            EnvironmentProblem: the snapshot is gone, no mayapy, no usable job store.
        """
        if self.is_running:
            raise BadRequest(f"batch {self.batch_id} is still running")
        with _store_errors():
            try:
                record = self.store.get_batch(batch_id)
            except KeyError as exc:
                raise BadRequest(str(exc.args[0] if exc.args else exc)) from exc
        batch_id = record.id
        config = record.config
        snapshot = record.snapshot
        if not snapshot or not Path(snapshot).is_file():
            raise EnvironmentProblem(
                f"the scene snapshot of batch {batch_id} is gone ({snapshot}); start a new "
                "batch from the scene instead"
            )
        planned = self.plan_batch(config)
        plan = planned.plan
        claim = self._claim(batch_id, plan.output_dir)
        try:
            with _store_errors():
                reaped = reap_orphans(self.store.live_worker_pids(batch_id))
                todo = self.store.unfinished_frames(batch_id)
                recovered = self._recover_rendered(batch_id, plan.output_dir, todo)
                plan.frames_by_layer = {layer: frames for layer, frames in todo.items() if frames}
                # what the earlier runs finished: the dashboard shows the whole batch
                for outcome in self.store.frames(
                    batch_id, states=[FrameState.DONE, FrameState.SKIPPED]
                ):
                    before = (
                        plan.done_before
                        if outcome.state is FrameState.DONE
                        else plan.skipped_before
                    )
                    before.setdefault(outcome.layer, []).append(outcome.frame)
                note = claim.note()
                if note:
                    plan.warnings.append(note)
                if recovered:
                    plan.warnings.append(
                        f"{recovered} frame(s) rendered before the batch stopped were found "
                        f"in {READY_FILE_NAME} with complete images and recorded as done"
                    )
                if reaped:
                    plan.warnings.append(f"stopped {len(reaped)} orphan worker(s): pids {reaped}")
                scheduler = Scheduler(
                    plan.frames_by_layer,
                    chunk_size=config.chunk_size,
                    order=config.frame_order,
                    max_attempts=config.max_attempts,
                )
                scheduler.restore(self.store.frames(batch_id, states=None))
                self._run(batch_id, planned, scheduler, snapshot, include_all_lights)
        except BaseException:
            self._unclaim(claim)
            raise
        return batch_id

    def _claim(self, batch_id: str, output_dir: str) -> ClaimResult:
        """Become the batch's one live manager (atomic in the job store)."""
        with _store_errors():
            claim = self.store.claim_batch(
                batch_id, owner=ManagerIdentity.this_process(), output_dir=output_dir
            )
        batch_lock.hold(claim.batch_id)
        return claim

    def _unclaim(self, claim: ClaimResult) -> None:
        """A resume that failed before its manager started gives the batch back as it was."""
        batch_lock.release(claim.batch_id)
        if self.is_running and self.batch_id == claim.batch_id:
            return  # the manager started: it records how the batch ends
        with contextlib.suppress(JobStoreError):
            self.store.set_batch_state(
                claim.batch_id, claim.previous_state, error=claim.previous_error
            )

    def _run(
        self,
        batch_id: str,
        planned: PlannedBatch,
        scheduler: Scheduler,
        snapshot: str,
        include_all_lights: bool | None = None,
        *,
        copy_from: Path | None = None,
    ) -> None:
        """Start the batch's manager. ``copy_from``: the snapshot is still to be copied from
        there; the workers are started first and open it once it is complete."""
        plan = replace(
            planned.plan,
            batch_id=batch_id,
            log_dir=str(batch_log_dir(self.temp.root, batch_id)),
        )
        # the worker engine and its log parser load when a batch starts: a dry run, the
        # command line's queries and the service's start-up do without them
        from lrc_toolbox.core.render_process_manager import RenderProcessManager, WorkerLaunch

        config = plan.config
        launch = WorkerLaunch(
            mayapy=plan.mayapy,
            snapshot=snapshot,
            scene_name=plan.scene_name,
            output_dir=plan.output_dir,
            project=plan.project,
            renderer=config.renderer,
            scene_uses_render_setup=plan.render_setup,
            # the temp manager, not self: a lambda holding the API would keep it alive
            worker_dir=functools.partial(self.temp.worker_dir, batch_id),
            log_dir=Path(plan.log_dir) if plan.log_dir else None,
            overrides=RenderOverrides.from_config(config),
            include_all_lights=include_all_lights
            if include_all_lights is not None
            else self.include_all_lights(planned.scene),
            renderer_by_layer={
                name: layer.renderer
                for name in plan.frames_by_layer
                if (layer := planned.scene.layer(name)) is not None
            },
            scene_ready=copy_from is None,
        )
        manager = RenderProcessManager(
            batch_id=batch_id,
            slots=planned.slots,
            scheduler=scheduler,
            store=self.store,
            launch=launch,
            frame_timeout=config.frame_timeout,
            stop_grace=self.settings.stop_grace_seconds,
            progress_rate_hz=self.settings.progress_rate_hz,
            parent=self,
        )
        for name in (*WORKER_SIGNALS, "log_message"):
            # signal to signal, not to .emit: Qt re-emits it without PySide6 6.12's emit,
            # which takes a reference from True on every call (see emit_signal)
            getattr(manager, name).connect(getattr(self, name))
        manager.batch_finished.connect(self._on_finished)
        self.ready = ReadyManifest(
            plan.output_dir,
            batch_id=batch_id,
            scene=str(Path(config.scene).resolve()),
            plan=self.store.plan(batch_id),
        )
        for record in self.store.frames(batch_id, states=[FrameState.DONE]):
            self.ready.add(
                record.layer, record.frame, record.outputs, record.provenance, write=False
            )
        self.ready.write()
        manager.ready = self.ready  # the manager's timer writes it when due
        manager.frame_finished.connect(self._frame_ready)
        self.manager = manager
        self.batch_id = batch_id
        plan.warnings[:0] = self._store_notes  # a damaged store moved aside: tell once
        self.told_store_notices = list(self._store_notes)
        self._store_notes.clear()
        # emit_signal, not .emit(): PySide6 6.12's emit takes a reference from True
        emit_signal(self, "batch_started", batch_id, plan)
        for warning in plan.warnings:
            # emit_signal, not .emit(): PySide6 6.12's emit takes a reference from True
            emit_signal(self, "log_message", time.time(), "warning", "", warning)
        manager.start()
        if copy_from is not None:
            # copied while Maya starts in the workers; they open it when it is complete
            try:
                write_snapshot(copy_from, Path(snapshot))
            except OSError as exc:
                manager.abort(_copy_failed(copy_from, self.temp.root, exc))
                return
            except BaseException:
                manager.abort("interrupted while copying the scene")
                raise
            manager.open_scene()
        # hashed once the workers are starting, off the critical path (a production scene
        # takes seconds to hash, Maya longer to start): the frames' provenance needs it
        # only when the first frame is done
        launch.snapshot_sha256 = file_sha256(snapshot)

    def _recover_rendered(self, batch_id: str, output_dir: str, todo: dict[str, list[int]]) -> int:
        """Frames the job store could not record (its disk filled up, it was damaged) but
        that finished: ``ready.json`` of THIS batch lists them with their files and
        provenance, and every file is still a complete image. They are recorded as done
        and taken out of ``todo``; returns how many (issue 12)."""
        data = read_ready(output_dir)
        if not data or data.get("batch_id") != batch_id:
            return 0
        count = 0
        for layer, entry in (data.get("layers") or {}).items():
            frames = todo.get(layer)
            if not frames or not isinstance(entry, dict):
                continue
            files = entry.get("files") or {}
            origins = entry.get("provenance") or {}
            for frame in list(frames):
                outputs = files.get(str(frame))
                if not outputs or not all(check_image(str(p)).ok for p in outputs):
                    continue
                origin = origins.get(str(frame))
                provenance = FrameProvenance.from_stored(origin) if origin else None
                self.store.frame_done(
                    batch_id,
                    layer,
                    frame,
                    outputs=[str(p) for p in outputs],
                    provenance=provenance,
                    now=time.time(),
                )
                frames.remove(frame)
                count += 1
        return count

    def include_all_lights(self, scene: SceneDescription) -> bool | None:
        """The artist's Render Setup "include all lights" preference for the scene's Maya
        (the Maya host reads the live one)."""
        return include_all_lights_preference(scene.maya_version)

    def _frame_ready(self, _worker: str, layer: str, frame: int, outputs: object) -> None:
        if self.ready is not None and self.manager is not None:
            task = self.manager.scheduler.task(layer, frame)
            try:
                self.ready.add(layer, frame, task.outputs, task.provenance)
            except ManifestWriteError as exc:
                # ready.json is the promise to whoever picks frames up: when it cannot be
                # kept, the batch stops (exit 3) rather than render on unlisted (issue 12)
                self.manager.abort(
                    f"{READY_FILE_NAME} could not be written in {self.ready.path.parent} "
                    f"({exc.strerror or exc}): free space or fix the folder, then resume "
                    f"the batch ({self.manager.batch_id})"
                )

    def _on_finished(self, summary: BatchSummary) -> None:
        batch_lock.release(summary.batch_id)
        if self.ready is not None:
            if self.manager is not None:
                # a frame the job store failed to record is still done: the scheduler
                # knows, and ready.json keeps it for `resume` to find (issue 12)
                for task in self.manager.scheduler.tasks:
                    if task.state is FrameState.DONE and not self.ready.lists(
                        task.layer, task.frame
                    ):
                        self.ready.add(
                            task.layer, task.frame, task.outputs, task.provenance, write=False
                        )
            try:
                self.ready.finish(summary.state.value)
            except ManifestWriteError as exc:  # said, and the batch still ends
                emit_signal(
                    self,
                    "log_message",
                    time.time(),
                    "error",
                    "",
                    f"{exc}; the job store has the finished frames (lrc-batch-render status)",
                )
        self.temp.cleanup(protected=self._protected_temp())
        # emit_signal, not .emit(): PySide6 6.12's emit takes a reference from True
        emit_signal(self, "batch_finished", summary)

    def _protected_temp(self) -> list[Path]:
        """What a clean-up must leave: the snapshot and the worker folders of every batch
        that may still run or be resumed. Another manager may be taking such a batch over
        right now (a second ``resume`` refused at the same moment must not delete the
        folders the winner is creating)."""
        kept: list[Path] = []
        for record in self.store.list_batches(limit=200):
            if not record.state.keeps_snapshot:
                continue
            kept.append(self.temp.batch_dir(record.id))
            if record.snapshot:
                kept.append(Path(record.snapshot))
        return kept

    def stop_all_renders(self) -> bool:
        if self.manager is None or not self.manager.is_running:
            return False
        self.manager.stop()
        return True

    def stop_batch(self, batch_id: str) -> bool:
        if self.batch_id is None or not batch_id or not self.batch_id.startswith(batch_id):
            return False
        return self.stop_all_renders()

    def stop_worker(self, worker_id: str) -> bool:
        return self.manager.stop_worker(worker_id) if self.manager is not None else False

    # ------------------------------------------------------------------ GPUs given back

    def release_gpu(
        self, gpu: int, *, finish_frame: bool = True, batch_id: str = ""
    ) -> GpuHandback:
        """Give GPU ``gpu`` back to Maya in the running batch (``batch_id``, or its first
        characters, must name it when given): its worker finishes its current frame
        (``finish_frame``) or abandons it now (the frame goes back to the queue without
        costing it a try), then exits and frees the GPU; its frames go to the other
        workers. Its slot reads RELEASED ("given back to Maya by the user"), not a
        failure. When every GPU left is given back the batch waits, paused, with its
        frames pending, until one is taken back (:meth:`return_gpu`) or it is stopped.

        Raises:
            BadRequest: no batch renders (or not ``batch_id``), ``gpu`` is not one of its
                GPUs, or it is given back already.
        """
        manager, running = self._gpu_batch(gpu, batch_id)
        try:
            workers = manager.release_gpu(gpu, finish_frame=finish_frame)
        except ValueError as exc:
            raise BadRequest(str(exc)) from exc
        how = (
            "its worker finishes its current frame, then exits"
            if finish_frame
            else "its worker stopped now; its frame goes back to the queue"
        )
        return GpuHandback(
            batch_id=running,
            gpu=gpu,
            released=True,
            workers=workers,
            finish_frame=finish_frame,
            message=(
                f"GPU {gpu} given back to Maya ({', '.join(workers)} of batch {running}): "
                f"{how}; its frames go to the other workers"
            ),
        )

    def return_gpu(self, gpu: int, *, batch_id: str = "") -> GpuHandback:
        """Take GPU ``gpu`` back into the running batch after :meth:`release_gpu`: its
        slot gets a fresh worker that joins the batch and takes frames again.

        Raises:
            BadRequest: no batch renders (or not ``batch_id``), ``gpu`` is not one of its
                GPUs, or it was not given back (or its worker is still exiting).
        """
        manager, running = self._gpu_batch(gpu, batch_id)
        try:
            workers = manager.return_gpu(gpu)
        except ValueError as exc:
            raise BadRequest(str(exc)) from exc
        left = manager.scheduler.pending_count
        return GpuHandback(
            batch_id=running,
            gpu=gpu,
            released=False,
            workers=workers,
            message=(
                f"GPU {gpu} taken back into batch {running} ({', '.join(workers)}): "
                + (
                    f"{left} frame(s) left to share"
                    if left
                    else "no frame is left for it to render"
                )
            ),
        )

    def _gpu_batch(self, gpu: int, batch_id: str) -> tuple[RenderProcessManager, str]:
        """The running batch's manager and id, for a GPU request naming ``batch_id``."""
        if isinstance(gpu, bool) or not isinstance(gpu, int) or gpu < 0:
            raise BadRequest(f"a GPU is given by its index (0, 1, ...), got {gpu!r}")
        manager, running = self.manager, self.batch_id
        if manager is None or running is None or not manager.is_running:
            which = f"batch {batch_id} is not rendering" if batch_id else "no batch is rendering"
            raise BadRequest(f"{which} here: GPUs are given back only to a running batch")
        if batch_id and not running.startswith(batch_id):
            raise BadRequest(
                f"batch {batch_id} is not rendering here (batch {running} is): "
                "GPUs are given back only to a running batch"
            )
        return manager, running

    def shutdown(self) -> None:
        """Stop everything now (the host application is quitting) and tidy the temp files,
        keeping the snapshots a resumable batch still needs.

        A batch still running is given up as INTERRUPTED at once, so another manager (the
        headless one Maya hands it to, or a later ``resume``) may take it while this
        process is still on its way out."""
        if self.manager is not None:
            running = self.manager.is_running
            self.manager.kill_all_now()
            if running and self.batch_id is not None:
                batch_lock.release(self.batch_id)
                with contextlib.suppress(JobStoreError):
                    self.store.release_batch(
                        self.batch_id,
                        ManagerIdentity.this_process(),
                        "the manager's application quit while the batch was rendering; "
                        "resume it to render the rest",
                    )
        if self._store is not None:
            self.temp.cleanup_on_exit(protected=self._protected_temp())


def _copy_failed(scene: Path, temp_root: Path, exc: OSError) -> str:
    """What to tell when the scene cannot be copied to its snapshot."""
    reason = exc.strerror or str(exc)
    return (
        f"could not copy the scene {scene} to its snapshot under {temp_root}: {reason}; "
        "check that the scene is readable and the temp folder has room (free space, or "
        "set LRC_TEMP_ROOT to a folder on another disk), then start the batch again"
    )


@contextlib.contextmanager
def _store_errors() -> Iterator[None]:
    """A job store that cannot be used stops a start with exit 3; a batch or an output
    folder another live manager has, with exit 2; the message intact."""
    try:
        yield
    except JobStoreError as exc:
        raise EnvironmentProblem(str(exc)) from exc
    except BatchOwnershipError as exc:
        raise BadRequest(str(exc)) from exc


def reap_orphans(pids: Sequence[int]) -> list[int]:
    """Kill leftover workers of a dead manager, but only processes that ARE our workers
    (a recycled pid may belong to anything else) and whose manager is gone: a worker whose
    manager (``LRC_PARENT_PID``, else its parent) still runs belongs to that manager."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil is a dependency outside Maya
        return []
    reaped = []
    for pid in pids:
        try:
            process = psutil.Process(pid)
            cmdline = " ".join(process.cmdline())
            if "lrc_toolbox.worker" not in cmdline:
                continue
            if _manager_alive(process):
                continue
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        terminate_process_tree(pid, grace=2.0)
        reaped.append(pid)
    return reaped


def _manager_alive(worker: Any) -> bool:
    """Whether the manager that started this worker (a ``psutil.Process``) still runs: its
    pid is alive and that process started before the worker (not a later one that got the
    pid)."""
    import psutil

    try:
        manager_pid = int(worker.environ().get("LRC_PARENT_PID", "") or 0)
    except (psutil.Error, OSError, ValueError):
        manager_pid = 0
    if manager_pid <= 1:
        manager_pid = worker.ppid()
    if manager_pid <= 1:
        return False
    if not batch_lock.process_alive(manager_pid):
        return False
    started = batch_lock.process_start_time(manager_pid)
    if started is None:
        return True  # unsure: leave the worker alone
    return bool(started <= worker.create_time() + batch_lock.START_TIME_TOLERANCE_S)
