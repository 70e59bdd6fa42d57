"""The records of one batch as it crosses a boundary (signals, job store, CLI events, the
worker protocol, the Python API), with the facts derived from them defined once here.

- :class:`RenderOverrides`: what the worker changes in the scene for this batch.
- :class:`BatchPlan`: what a batch will do, decided before anything starts.
- :class:`FrameOutcome`: one (layer, frame) and its history: the scheduler's frame and the
  job store's row are this one record.
- :class:`BatchSummary`: how a batch ended, with its counts, failures and workers.
- :class:`ExitCode`, :func:`remaining_seconds` (the one ETA rule), :func:`batch_log_dir`.

Each JSON shape is the one documented in ``docs/cli.md`` (``to_dict()``), and every record
round-trips through ``from_dict()``. Standard library only.
"""

from __future__ import annotations

import enum
import itertools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lrc_toolbox.records.frame_parser import format_frames, parse_frames
from lrc_toolbox.records.models import (
    BatchState,
    FrameState,
    JsonModel,
    RenderConfig,
    ValidationError,
)

__all__ = [
    "RELEASED_REASON",
    "BatchPlan",
    "BatchSummary",
    "ExitCode",
    "FailedFrame",
    "FrameOutcome",
    "FrameProvenance",
    "GpuHandback",
    "LayerCounts",
    "PlannedWorker",
    "RenderOverrides",
    "WorkerSummary",
    "batch_log_dir",
    "remaining_seconds",
]


class ExitCode(enum.IntEnum):
    """What ``lrc-batch-render`` returns (``docs/cli.md``, "Exit codes")."""

    OK = 0  # every frame done (or skipped)
    FAILED_FRAMES = 1  # the batch ran, some frames failed (or a farm refused the job)
    BAD_INPUT = 2  # frame list, layer, scene, job file, output folder
    ENVIRONMENT = 3  # no mayapy, no usable GPU, disk full, unreadable job store
    INTERRUPTED = 130  # Ctrl-C, or the batch was stopped


def remaining_seconds(elapsed: float, done: float, total: float) -> float | None:
    """The one ETA rule: the time spent so far, scaled by the share of work still left.

    Used for a frame (``done`` = percent, ``total`` = 100), a worker (frames it finished of
    the frames it holds) and the batch (frames settled of all). None until some work is done.
    """
    if done <= 0 or total <= 0 or elapsed < 0:
        return None
    return max(0.0, elapsed * (total - done) / done)


def batch_log_dir(temp_root: str | os.PathLike[str], batch_id: str) -> Path:
    """Where a batch's per-worker logs are written: ``<temp root>/logs/<batch id>``."""
    return Path(temp_root) / "logs" / batch_id


# --------------------------------------------------------------------------- overrides


@dataclass
class RenderOverrides(JsonModel):
    """What the worker changes in the scene for every frame of this batch (the ``render``
    command's ``overrides``). None / False leave the scene's own setting."""

    camera: str | None = None
    image_prefix: str | None = None
    skip_existing: bool = False

    @classmethod
    def from_config(cls, config: RenderConfig) -> RenderOverrides:
        return cls(
            camera=config.camera or None,
            image_prefix=config.image_prefix or None,
            skip_existing=config.skip_existing,
        )


# --------------------------------------------------------------------------- plan


@dataclass
class PlannedWorker(JsonModel):
    """One worker slot of a plan: its id (``gpu1``, ``cpu0``) and device label."""

    id: str
    device: str


@dataclass
class BatchPlan(JsonModel):
    """What a batch will do, decided before anything starts (``plan_batch``, ``--dry-run``,
    the ``batch_started`` event).

    ``to_dict()`` is the documented ``plan`` shape: ``layers`` as ``{name: {frames,
    count}}`` (frame-list text), plus ``frame_count``; ``batch_id``, ``log_dir`` and
    ``snapshot`` only when known.
    """

    config: RenderConfig
    scene_name: str
    renderer: str
    frames_by_layer: dict[str, list[int]]
    workers: list[PlannedWorker] = field(default_factory=list)
    mayapy: list[str] = field(default_factory=list)
    output_dir: str = ""
    project: str | None = None
    #: whether the scene uses Render Setup (else legacy render layers)
    render_setup: bool = True
    warnings: list[str] = field(default_factory=list)
    batch_id: str | None = None
    log_dir: str | None = None
    snapshot: str | None = None
    #: a resumed batch: frames of each layer rendered (DONE) or skipped in its earlier
    #: runs. ``frames_by_layer`` is what THIS run renders; the two together are the whole
    #: batch, which the dashboard shows (15 / 48 frames, not 3 / 36)
    done_before: dict[str, list[int]] = field(default_factory=dict)
    skipped_before: dict[str, list[int]] = field(default_factory=dict)

    @property
    def scene(self) -> str:
        return self.config.scene

    @property
    def frame_count(self) -> int:
        """Frames this run renders (a resume: what the earlier runs left)."""
        return sum(len(frames) for frames in self.frames_by_layer.values())

    @property
    def finished_before(self) -> int:
        """Frames of the batch finished (done or skipped) before this run."""
        return sum(len(f) for f in self.done_before.values()) + sum(
            len(f) for f in self.skipped_before.values()
        )

    @property
    def batch_frame_count(self) -> int:
        """Frames of the whole batch: this run's and those finished before it."""
        return self.frame_count + self.finished_before

    def whole_batch(self) -> dict[str, list[int]]:
        """Layer -> every frame of the batch (this run's and the earlier runs'), in frame
        order where both lists are ordered, else the earlier frames first."""
        layers: dict[str, list[int]] = {}
        names = list(self.done_before) + list(self.skipped_before) + list(self.frames_by_layer)
        for name in dict.fromkeys(names):
            before = self.done_before.get(name, []) + self.skipped_before.get(name, [])
            now = self.frames_by_layer.get(name, [])
            merged = before + now
            if all(a <= b for a, b in itertools.pairwise(now)):
                merged.sort()
            layers[name] = merged
        return layers

    @property
    def snapshot_label(self) -> str:
        """What names the layers in the snapshot's file name: the layer, or ``3layers``."""
        names = list(self.frames_by_layer)
        return names[0] if len(names) == 1 else f"{len(names)}layers"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "scene": self.scene,
            "scene_name": self.scene_name,
            "renderer": self.renderer,
            "layers": {
                layer: {"frames": format_frames(frames), "count": len(frames)}
                for layer, frames in self.frames_by_layer.items()
            },
            "frame_count": self.frame_count,
            "workers": [w.to_dict() for w in self.workers],
            "mayapy": list(self.mayapy),
            "output_dir": self.output_dir,
            "project": self.project,
            "render_setup": self.render_setup,
            "warnings": list(self.warnings),
            "config": self.config.to_dict(),
        }
        for key in ("batch_id", "log_dir", "snapshot"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        for key in ("done_before", "skipped_before"):
            before: dict[str, list[int]] = getattr(self, key)
            if before:  # only a resume has them: the documented shape stays as it was
                data[key] = {layer: format_frames(frames) for layer, frames in before.items()}
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BatchPlan:
        if not isinstance(data, Mapping):
            raise ValidationError("", "expected object")
        rest = {k: v for k, v in data.items() if k not in ("scene", "layers", "frame_count")}
        layers = data.get("layers")
        if not isinstance(layers, Mapping):
            raise ValidationError("layers", "expected object")
        frames_by_layer: dict[str, list[int]] = {}
        for name, info in layers.items():
            if not isinstance(info, Mapping) or not isinstance(info.get("frames"), str):
                raise ValidationError(f"layers.{name}", "expected {frames, count}")
            count = max(1, int(info.get("count") or 1))
            frames_by_layer[str(name)] = parse_frames(info["frames"], max_frames=count)
        rest["frames_by_layer"] = frames_by_layer
        for key in ("done_before", "skipped_before"):
            before = data.get(key)
            if before is None:
                continue
            if not isinstance(before, Mapping) or not all(
                isinstance(text, str) for text in before.values()
            ):
                raise ValidationError(key, "expected {layer: frame list}")
            rest[key] = {str(name): parse_frames(text) for name, text in before.items()}
        plan: BatchPlan = super().from_dict(rest)
        return plan


# --------------------------------------------------------------------------- frames


@dataclass
class FrameProvenance(JsonModel):
    """Where a finished frame came from: the scene it was rendered from, by what, where.

    Kept in the job store and in ``ready.json`` so a frame can be trusted, traced or
    re-created later (which snapshot, which renderer build, which GPU, which try).
    """

    snapshot: str = ""
    #: SHA-256 of the snapshot file, hex
    snapshot_sha256: str = ""
    renderer: str = ""
    #: the renderer plug-in's version as Maya reports it (Maya's own for its renderers)
    renderer_version: str | None = None
    maya_version: str | None = None
    #: the worker's device label, and the GPU's NVML UUID when it rendered on one
    device: str = ""
    gpu_uuid: str | None = None
    attempt: int = 0
    render_seconds: float | None = None
    pid: int | None = None
    host: str = ""


@dataclass
class FrameOutcome(JsonModel):
    """One (layer, frame) of a batch and its history: the scheduler's frame and the job
    store's row. The scheduler owns the live one; everyone else reads copies."""

    layer: str
    frame: int
    state: FrameState = FrameState.PENDING
    #: tries started so far (a try that died before it reported its start counts too)
    attempts: int = 0
    #: the worker holding the frame now, or the last one that held it
    worker: str | None = None
    #: the device label of the worker that last started it
    device: str | None = None
    started: float | None = None
    finished: float | None = None
    outputs: list[str] = field(default_factory=list)
    #: one reason per failed try (the job store keeps the last one)
    errors: list[str] = field(default_factory=list)
    #: the worker of the last failed try; a retry prefers another one
    failed_on: str | None = None
    #: why the frame ended without a render of its own (skipped, cancelled, given up)
    note: str | None = None
    #: where the finished frame came from (DONE frames only)
    provenance: FrameProvenance | None = None

    @property
    def error(self) -> str | None:
        """The reason to show: the note, else the last failure."""
        return self.note or (self.errors[-1] if self.errors else None)

    @property
    def seconds(self) -> float | None:
        """Render time of the last try, when both ends are known and in order."""
        if self.started is None or self.finished is None or self.finished < self.started:
            return None
        return self.finished - self.started

    @property
    def complete(self) -> bool:
        """Done or skipped: a resume does not render it again."""
        return self.state in (FrameState.DONE, FrameState.SKIPPED)


# --------------------------------------------------------------------------- summary


@dataclass
class LayerCounts(JsonModel):
    """How many of a layer's (or the batch's) frames are in each state."""

    total: int = 0
    pending: int = 0
    running: int = 0
    done: int = 0
    failed: int = 0
    skipped: int = 0
    cancelled: int = 0

    def count(self, state: FrameState) -> int:
        value: int = getattr(self, state.value)
        return value

    @classmethod
    def of(cls, counts: Mapping[FrameState, int]) -> LayerCounts:
        return cls(
            total=sum(counts.values()),
            pending=counts.get(FrameState.PENDING, 0),
            running=counts.get(FrameState.RUNNING, 0),
            done=counts.get(FrameState.DONE, 0),
            failed=counts.get(FrameState.FAILED, 0),
            skipped=counts.get(FrameState.SKIPPED, 0),
            cancelled=counts.get(FrameState.CANCELLED, 0),
        )


@dataclass
class FailedFrame(JsonModel):
    layer: str
    frame: int
    attempts: int = 0
    reason: str = ""
    errors: list[str] = field(default_factory=list)


@dataclass
class WorkerSummary(JsonModel):
    device: str = ""
    #: why the slot took no more work (fatal error, crash loop), or None
    disabled: str | None = None
    #: the slot's GPU was given back to Maya by the user and not taken back before the
    #: batch ended (:data:`RELEASED_REASON`), or None. Not a failure.
    released: str | None = None


#: why a slot whose GPU the user gave back to Maya mid-batch renders no more
RELEASED_REASON = "given back to Maya by the user"


@dataclass
class GpuHandback(JsonModel):
    """What ``release_gpu`` / ``return_gpu`` did to a running batch (the API's, the render
    service's and ``lrc-batch-render gpu release|return``'s answer)."""

    batch_id: str
    gpu: int
    #: True: given back to Maya (``release_gpu``); False: taken back into the batch
    released: bool
    #: the worker slots on that GPU it concerned (``gpu1``, ``gpu1-b``)
    workers: list[str] = field(default_factory=list)
    #: release: the workers finish their current frame first (False: abandoned now,
    #: the frame goes back to the queue without costing it a try)
    finish_frame: bool = True
    #: one line for people: what happened and what happens next
    message: str = ""


@dataclass
class BatchSummary(LayerCounts):
    """How a batch ended (``batch_finished``), or stands (the scheduler's live counts).

    ``to_dict()`` is the documented ``summary`` shape.
    """

    batch_id: str = ""
    state: BatchState = BatchState.RUNNING
    #: PENDING frames waiting for a worker (not handed out)
    queued: int = 0
    finished: bool = False
    retries: int = 0
    #: stale worker reports that changed nothing (a second frame_done, ...)
    ignored_events: int = 0
    layers: dict[str, LayerCounts] = field(default_factory=dict)
    failed_frames: list[FailedFrame] = field(default_factory=list)
    workers: dict[str, WorkerSummary] = field(default_factory=dict)
    #: why the batch as a whole failed (every worker slot disabled, ...)
    error: str | None = None
    #: the batch stopped because of its environment, not its frames (the output disk is
    #: full or read-only, the job store cannot be written, no worker slot is left, an
    #: internal error): the frames it did not finish stay pending for ``resume``
    environment: bool = False

    @property
    def resumable(self) -> bool:
        return self.state.resumable

    @property
    def exit_code(self) -> ExitCode:
        """The CLI's exit code for a batch that ended in this state."""
        if self.state is BatchState.DONE:
            return ExitCode.OK
        if self.environment:
            return ExitCode.ENVIRONMENT
        if self.state in (BatchState.CANCELLED, BatchState.INTERRUPTED):
            return ExitCode.INTERRUPTED
        return ExitCode.FAILED_FRAMES
