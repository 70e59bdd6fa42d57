"""``BatchRenderAPI``: the one object the dashboard, the CLI and scripts talk to.

It owns the system detector, the scene reading, the temp files, the job store and the
process manager, and re-emits the manager's signals. Everything is validated BEFORE anything
starts (frames, layers, mayapy, output folder, disk space), so a bad request costs nothing
and says what to fix; :meth:`plan_batch` does that validation alone (``--dry-run``).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from Qt import QtCore

from lrc_toolbox.config.batch_render_defaults import Settings, load_settings
from lrc_toolbox.core import batch_lock
from lrc_toolbox.core.batch_lock import BatchOwnershipError, ManagerIdentity
from lrc_toolbox.core.events import WORKER_SIGNALS
from lrc_toolbox.core.job_store import ClaimResult, JobStore, JobStoreError
from lrc_toolbox.core.ready_manifest import ReadyManifest
from lrc_toolbox.core.render_process_manager import RenderProcessManager, WorkerLaunch
from lrc_toolbox.core.scheduler import Scheduler
from lrc_toolbox.core.system_detector import SystemDetector
from lrc_toolbox.records.batch import (
    BatchPlan,
    BatchSummary,
    ExitCode,
    PlannedWorker,
    RenderOverrides,
    batch_log_dir,
)
from lrc_toolbox.records.frame_parser import FrameRangeError, parse_frames
from lrc_toolbox.records.models import (
    FrameState,
    RenderConfig,
    RenderStatus,
    SystemInfo,
    ValidationError,
)
from lrc_toolbox.records.renderers import RENDERER_NAMES, RENDERERS
from lrc_toolbox.scene.description import SceneDescription
from lrc_toolbox.scene.scene_source import SceneSourceError, scene_source_for
from lrc_toolbox.utils.render_subprocess import (
    MayapyNotFound,
    Slot,
    build_slots,
    find_mayapy,
    include_all_lights_preference,
    terminate_process_tree,
)
from lrc_toolbox.utils.temp_file_manager import TempFileManager, check_disk_space, file_sha256

__all__ = [
    "SIMULATED_MAYAPY",
    "BadRequest",
    "BatchError",
    "BatchRenderAPI",
    "EnvironmentProblem",
    "PlannedBatch",
    "find_project",
    "reap_orphans",
]

#: the command that stands in for mayapy when simulating (tests, demo, benchmarks)
SIMULATED_MAYAPY = (sys.executable, "-m", "lrc_toolbox.sim.mayapy")


class BatchError(RuntimeError):
    """A batch could not start; ``exit_code`` is what the CLI returns."""

    exit_code: ExitCode = ExitCode.FAILED_FRAMES


class BadRequest(BatchError):
    """The request is wrong (frames, layers, config, paths): fix the input. Exit code 2."""

    exit_code = ExitCode.BAD_INPUT


class EnvironmentProblem(BatchError):
    """The machine cannot do it (no mayapy, no GPU, disk full). Exit code 3."""

    exit_code = ExitCode.ENVIRONMENT


@dataclass
class PlannedBatch:
    """A planned batch: the :class:`BatchPlan` record that goes out to listeners, plus what
    only the engine and the farm exporters use (the scene as read, the worker slots)."""

    plan: BatchPlan
    scene: SceneDescription
    slots: list[Slot]


def find_project(scene: Path) -> Path | None:
    """The Maya project of a scene: the nearest folder above it with a workspace.mel."""
    for folder in [scene.parent, *scene.parent.parents]:
        if (folder / "workspace.mel").is_file():
            return folder
    return None


class BatchRenderAPI(QtCore.QObject):
    """Start, watch, stop and resume batches. One batch runs at a time per instance."""

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
        self.settings = settings or load_settings().settings
        self.simulate = simulate
        self.detector = detector or SystemDetector(self.settings)
        self._store = store
        self.temp = TempFileManager(
            self.settings.resolved_temp_root(), keep_latest=self.settings.temp_keep_latest
        )
        self._system: SystemInfo | None = None
        #: what opening the store had to tell the user (a damaged file moved aside)
        self._store_notes: list[str] = []
        self.manager: RenderProcessManager | None = None
        self.batch_id: str | None = None
        self.ready: ReadyManifest | None = None

    # ------------------------------------------------------------------ queries

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

    def get_system_info(self, refresh: bool = False) -> SystemInfo:
        if self._system is None or refresh:
            self._system = self.detector.detect()
        return self._system

    def get_render_status(self) -> list[RenderStatus]:
        return self.manager.statuses() if self.manager is not None else []

    @property
    def is_running(self) -> bool:
        return self.manager is not None and self.manager.is_running

    # ------------------------------------------------------------------ planning

    def plan_batch(self, config: RenderConfig, *, local: bool = True) -> PlannedBatch:
        """Validate a request completely and say what would run; starts nothing.

        ``local=False`` plans for another machine (a farm): a missing local mayapy is then
        no error for a .ma scene, which is read without Maya (``plan.mayapy`` is
        ``["mayapy"]``, the name the farm resolves).

        Raises:
            BadRequest: bad frames, unknown layers, a missing scene, an unwritable output.
            EnvironmentProblem: no mayapy, no usable GPU for a GPU-only request, no disk.
        """
        try:
            config.validate()
        except ValidationError as exc:
            raise BadRequest(str(exc)) from exc
        scene_path = Path(config.scene).expanduser()
        try:
            mayapy = self._mayapy(config)
        except EnvironmentProblem:
            if local:
                raise
            mayapy = ["mayapy"]
        try:
            source = scene_source_for(scene_path, mayapy)
            scene = source.describe()
        except SceneSourceError as exc:
            raise BadRequest(str(exc)) from exc
        warnings = list(scene.warnings)
        frames_by_layer = self._frames_by_layer(config, scene, warnings)
        self._check_renderers(config, scene, frames_by_layer)
        self._check_camera(config, scene, warnings)
        system = self.get_system_info()
        devices = self._device_policy(config, scene, frames_by_layer, warnings)
        try:
            slots = build_slots(system, devices)
        except ValueError as exc:
            raise EnvironmentProblem(str(exc)) from exc
        project = (
            Path(config.project).expanduser()
            if config.project
            else find_project(scene_path.resolve())
        )
        output_dir = self._output_dir(config, scene_path, project)
        status = check_disk_space(
            Path(output_dir),
            min_free_mb=self.settings.min_free_disk_mb,
            warn_free_mb=self.settings.warn_free_disk_mb,
        )
        if status.error:
            raise EnvironmentProblem(status.error)
        if status.warning:
            warnings.append(status.warning)
        plan = BatchPlan(
            config=config,
            scene_name=config.scene_name or scene_path.stem,
            renderer=config.renderer or scene.renderer,
            frames_by_layer=frames_by_layer,
            workers=[PlannedWorker(id=s.id, device=s.label) for s in slots],
            mayapy=mayapy,
            output_dir=output_dir,
            project=str(project) if project else None,
            render_setup=scene.render_setup,
            warnings=warnings,
        )
        return PlannedBatch(plan=plan, scene=scene, slots=slots)

    def _mayapy(self, config: RenderConfig) -> list[str]:
        if self.simulate:
            return list(SIMULATED_MAYAPY)
        try:
            explicit = config.mayapy or self.settings.mayapy
            return [find_mayapy(explicit, running_executable=sys.executable)]
        except MayapyNotFound as exc:
            raise EnvironmentProblem(str(exc)) from exc

    @staticmethod
    def _frames_by_layer(
        config: RenderConfig, scene: SceneDescription, warnings: list[str]
    ) -> dict[str, list[int]]:
        if config.layers:
            layers = []
            for name in config.layers:
                layer = scene.layer(name)
                if layer is None:
                    known = ", ".join(layer.name for layer in scene.layers)
                    raise BadRequest(
                        f"layer {name!r} is not in {config.scene}; its layers are: {known}"
                    )
                if not layer.renderable:
                    warnings.append(
                        f"layer {layer.name} is not renderable in the scene; rendering it "
                        "because it was asked for by name"
                    )
                layers.append(layer)
        else:
            layers = scene.renderable_layers()
            if not layers:
                raise BadRequest(
                    f"no layer of {config.scene} is renderable: turn one on in Maya, or name "
                    "the layers to render (--layers)"
                )
        explicit: list[int] | None = None
        if config.frames.strip():
            try:
                explicit = parse_frames(config.frames)
            except FrameRangeError as exc:
                raise BadRequest(f"frames: {exc}") from exc
        plan: dict[str, list[int]] = {}
        for layer in layers:
            frames = list(explicit) if explicit is not None else list(layer.frames)
            if not frames:
                raise BadRequest(f"layer {layer.name} has no frames to render: give --frames")
            plan[layer.name] = frames
        return plan

    @staticmethod
    def _check_renderers(
        config: RenderConfig, scene: SceneDescription, frames_by_layer: dict[str, list[int]]
    ) -> None:
        """Every layer renders with a supported renderer (``--renderer`` was checked by
        ``RenderConfig.validate``), before any worker starts."""
        if config.renderer:
            return
        for name in frames_by_layer:
            layer = scene.layer(name)
            renderer = layer.renderer if layer is not None else scene.renderer
            if renderer not in RENDERERS:
                raise BadRequest(
                    f"layer {name} of {config.scene} renders with {renderer!r}, which the "
                    f"batch render manager does not support (supported: "
                    f"{', '.join(RENDERER_NAMES)}): choose one with --renderer, or change "
                    "the layer's renderer in Maya"
                )

    @staticmethod
    def _device_policy(
        config: RenderConfig,
        scene: SceneDescription,
        frames_by_layer: dict[str, list[int]],
        warnings: list[str],
    ) -> RenderConfig:
        """The config the worker slots are built from, after what the renderers can use
        (records.renderers): a batch whose renderers all render on the CPU only (Maya
        Software) gets CPU workers with their threads limited, not GPU workers; Maya
        Hardware 2.0 is not pinned by CUDA_VISIBLE_DEVICES, and the plan says so."""
        if config.renderer:
            names = {config.renderer}
        else:
            layers = [scene.layer(name) for name in frames_by_layer]
            names = {layer.renderer if layer else scene.renderer for layer in layers}
        infos = [RENDERERS[n] for n in sorted(names) if n in RENDERERS]
        if not infos:
            return config
        if not config.cpu_mode and not any(i.renders_on("gpu") for i in infos):
            labels = ", ".join(i.label for i in infos)
            warnings.append(
                f"{labels} renders on the CPU only: CPU workers are used (threads shared "
                "between them), not one per GPU"
            )
            return replace(config, cpu_mode=True)
        for info in infos:
            if not info.cuda_pinned and not config.cpu_mode:
                warnings.append(
                    f"{info.label} draws with the display GPU (OpenGL/DirectX), which "
                    "CUDA_VISIBLE_DEVICES does not choose: its workers share that GPU"
                )
            elif config.cpu_mode and not info.renders_on("cpu"):
                warnings.append(
                    f"{info.label} needs a GPU: CPU workers render it on the display GPU"
                )
        return config

    @staticmethod
    def _check_camera(config: RenderConfig, scene: SceneDescription, warnings: list[str]) -> None:
        """``--camera`` names a camera of the scene (shape or transform)."""
        camera = config.camera
        if not camera or not scene.cameras or camera in scene.cameras:
            return
        if scene.references:  # it may live in a referenced file, which is not read here
            warnings.append(
                f"camera {camera!r} is not in {config.scene} itself; rendering assumes it "
                "comes from a referenced file"
            )
            return
        raise BadRequest(
            f"camera {camera!r} is not in {config.scene}; its cameras are: "
            f"{', '.join(scene.cameras)}"
        )

    @staticmethod
    def _output_dir(config: RenderConfig, scene: Path, project: Path | None) -> str:
        if config.output_dir:
            folder = Path(config.output_dir).expanduser()
        elif project is not None:
            folder = project / "images"
        else:
            folder = scene.resolve().parent / "images"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            probe = folder / f".lrc_write_test_{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise BadRequest(
                f"cannot write to the output folder {folder}: {exc.strerror or exc}; choose "
                "another one (--output)"
            ) from exc
        return str(folder.resolve())

    # ------------------------------------------------------------------ running

    def start_batch_render(self, config: RenderConfig) -> str:
        """Validate, snapshot the scene, record the batch, start the workers; returns its id.

        Raises:
            BadRequest: bad input, or another live batch renders into the output folder.
            EnvironmentProblem: no mayapy, no GPU, no disk, no usable job store.
        """
        if self.is_running:
            raise BadRequest(
                f"batch {self.batch_id} is still running: stop it or wait for it to finish"
            )
        planned = self.plan_batch(config)
        plan = planned.plan
        with _store_errors():
            busy = self.store.output_folder_owner(plan.output_dir)
            if busy is not None:  # before the snapshot copy; create_batch checks again
                raise BadRequest(str(batch_lock.OutputFolderBusyError.of(plan.output_dir, *busy)))
            snapshot = self.temp.copy_snapshot(
                Path(config.scene),
                scene_name=plan.scene_name,
                layer_name=plan.snapshot_label,
                process_id=os.getpid(),
            )
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
        scheduler = Scheduler(
            plan.frames_by_layer,
            chunk_size=config.chunk_size,
            order=config.frame_order,
            max_attempts=config.max_attempts,
        )
        batch_lock.hold(batch_id)
        try:
            with _store_errors():
                self._run(batch_id, planned, scheduler, str(snapshot))
        except BaseException:
            batch_lock.release(batch_id)
            raise
        return batch_id

    def resume(self, batch_id: str) -> str:
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
                plan.frames_by_layer = {layer: frames for layer, frames in todo.items() if frames}
                note = claim.note()
                if note:
                    plan.warnings.append(note)
                if reaped:
                    plan.warnings.append(f"stopped {len(reaped)} orphan worker(s): pids {reaped}")
                scheduler = Scheduler(
                    plan.frames_by_layer,
                    chunk_size=config.chunk_size,
                    order=config.frame_order,
                    max_attempts=config.max_attempts,
                )
                scheduler.restore(self.store.frames(batch_id, states=None))
                self._run(batch_id, planned, scheduler, snapshot)
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
        self, batch_id: str, planned: PlannedBatch, scheduler: Scheduler, snapshot: str
    ) -> None:
        plan = replace(
            planned.plan,
            batch_id=batch_id,
            log_dir=str(batch_log_dir(self.temp.root, batch_id)),
        )
        config = plan.config
        launch = WorkerLaunch(
            mayapy=plan.mayapy,
            snapshot=snapshot,
            snapshot_sha256=file_sha256(snapshot),
            scene_name=plan.scene_name,
            output_dir=plan.output_dir,
            project=plan.project,
            renderer=config.renderer,
            scene_uses_render_setup=plan.render_setup,
            worker_dir=lambda worker_id: self.temp.worker_dir(batch_id, worker_id),
            log_dir=Path(plan.log_dir) if plan.log_dir else None,
            overrides=RenderOverrides.from_config(config),
            include_all_lights=self.include_all_lights(planned.scene),
            renderer_by_layer={
                name: layer.renderer
                for name in plan.frames_by_layer
                if (layer := planned.scene.layer(name)) is not None
            },
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
            getattr(manager, name).connect(getattr(self, name).emit)
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
        manager.frame_finished.connect(self._frame_ready)
        self.manager = manager
        self.batch_id = batch_id
        plan.warnings[:0] = self._store_notes  # a damaged store moved aside: tell once
        self._store_notes.clear()
        self.batch_started.emit(batch_id, plan)
        for warning in plan.warnings:
            self.log_message.emit(time.time(), "warning", "", warning)
        manager.start()

    def include_all_lights(self, scene: SceneDescription) -> bool | None:
        """The artist's Render Setup "include all lights" preference for the scene's Maya
        (the Maya host reads the live one)."""
        return include_all_lights_preference(scene.maya_version)

    def _frame_ready(self, _worker: str, layer: str, frame: int, outputs: object) -> None:
        if self.ready is not None and self.manager is not None:
            task = self.manager.scheduler.task(layer, frame)
            self.ready.add(layer, frame, task.outputs, task.provenance)

    def _on_finished(self, summary: BatchSummary) -> None:
        batch_lock.release(summary.batch_id)
        if self.ready is not None:
            self.ready.finish(summary.state.value)
        protected = [Path(p) for p in self._resumable_snapshots()]
        self.temp.cleanup(protected=protected)
        self.batch_finished.emit(summary)

    def _resumable_snapshots(self) -> list[str]:
        return [
            record.snapshot
            for record in self.store.list_batches(limit=200)
            if record.snapshot and record.state.keeps_snapshot
        ]

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
            self.temp.cleanup_on_exit(protected=[Path(p) for p in self._resumable_snapshots()])


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
