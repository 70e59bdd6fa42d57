"""Typed data models shared by every layer of the batch render manager.

Plain dataclasses and enums only: no Qt, no Maya. Every model round-trips through
``to_dict()`` / ``from_dict()`` (JSON-safe values), and ``from_dict`` is where outside data is
validated: a wrong type or an unknown key raises :class:`ValidationError` naming the field
path (``gpus[1]``, ``cpu.logical_cores``) so the user knows what to fix.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, Union, cast

__all__ = [
    "MAX_FRAME_TIMEOUT",
    "BatchState",
    "CPUInfo",
    "FrameOrder",
    "FrameState",
    "GPUInfo",
    "GPUProcess",
    "JsonModel",
    "RenderConfig",
    "RenderStatus",
    "SingleGpuPolicy",
    "SystemInfo",
    "ValidationError",
    "WorkerState",
]


class ValidationError(ValueError):
    """Bad outside data. ``field`` is the dotted/indexed path of the offending value."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}" if field else message)


# --------------------------------------------------------------------------- enums


class FrameOrder(str, enum.Enum):
    """The order in which frames are handed to workers."""

    SEQUENTIAL = "sequential"
    #: first, last, middle, then fill in: an artist sees the whole shot early.
    PREVIEW_FIRST = "preview-first"


class FrameState(str, enum.Enum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"  # outputs already existed and skip_existing was on
    CANCELLED = "cancelled"


class BatchState(str, enum.Enum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"  # every frame done or skipped
    FAILED = "failed"  # finished, some frames failed
    CANCELLED = "cancelled"  # stopped by the user
    INTERRUPTED = "interrupted"  # the manager died; resumable

    @property
    def resumable(self) -> bool:
        """``resume`` has frames to finish: the batch ended without rendering them all."""
        return self in (BatchState.FAILED, BatchState.CANCELLED, BatchState.INTERRUPTED)

    @property
    def keeps_snapshot(self) -> bool:
        """Its scene snapshot must stay on disk: it runs, may run, or may be resumed."""
        return self.resumable or self in (BatchState.PENDING, BatchState.RUNNING)


class WorkerState(str, enum.Enum):
    STARTING = "starting"
    IDLE = "idle"
    RENDERING = "rendering"
    STOPPING = "stopping"
    FINISHED = "finished"
    FAILED = "failed"
    DISABLED = "disabled"  # crash loop or fatal error: the slot takes no more work
    #: the user gave the slot's GPU back to Maya mid-batch (``release_gpu``): nothing is
    #: broken, the slot takes no work until the GPU is taken back (``return_gpu``)
    RELEASED = "released"

    @property
    def final(self) -> bool:
        """The worker process has ended."""
        return self in (
            WorkerState.FINISHED,
            WorkerState.FAILED,
            WorkerState.DISABLED,
            WorkerState.RELEASED,
        )


class SingleGpuPolicy(str, enum.Enum):
    """What to do when the machine has exactly one GPU, which Maya itself needs."""

    #: render on the one GPU too; Maya's viewport may slow down while it renders.
    SHARE = "share"
    #: keep the GPU for Maya and render on the CPU cores left over.
    CPU = "cpu"


# --------------------------------------------------------------------------- (de)serialisation

_T = TypeVar("_T")

_TYPE_WORDS = {
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    list: "list",
    dict: "object",
}


def _describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return repr(value) if len(value) <= 40 else repr(value[:37] + "...")
    return _TYPE_WORDS.get(type(value), type(value).__name__)


def _convert(value: Any, hint: Any, path: str) -> Any:
    """Check ``value`` against the annotation ``hint`` and build the typed value."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        errors: list[ValidationError] = []
        for option in options:
            try:
                return _convert(value, option, path)
            except ValidationError as exc:
                errors.append(exc)
        raise errors[0]
    if hint is Any:
        return value
    if origin in (list, tuple) or hint in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ValidationError(path, f"expected list, got {_describe(value)}")
        item = args[0] if args else Any
        items = [_convert(v, item, f"{path}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if (origin or hint) is tuple else items
    if origin is dict or hint is dict:
        if not isinstance(value, Mapping):
            raise ValidationError(path, f"expected object, got {_describe(value)}")
        vtype = args[1] if len(args) == 2 else Any
        return {str(k): _convert(v, vtype, f"{path}.{k}") for k, v in value.items()}
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        try:
            return hint(value)
        except ValueError:
            allowed = ", ".join(repr(m.value) for m in hint)
            raise ValidationError(
                path, f"expected one of {allowed}, got {_describe(value)}"
            ) from None
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        if not isinstance(value, Mapping):
            raise ValidationError(path, f"expected object, got {_describe(value)}")
        return _from_mapping(hint, value, path)
    if hint is bool:
        if not isinstance(value, bool):
            raise ValidationError(path, f"expected boolean, got {_describe(value)}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(path, f"expected integer, got {_describe(value)}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValidationError(path, f"expected number, got {_describe(value)}")
        try:
            return float(value)
        except OverflowError:  # an integer with hundreds of digits
            raise ValidationError(path, "the number is too large") from None
    if hint is str:
        if not isinstance(value, str):
            raise ValidationError(path, f"expected string, got {_describe(value)}")
        return value
    raise TypeError(f"unsupported annotation {hint!r} at {path}")  # pragma: no cover


@functools.cache
def _class_fields(cls: type) -> tuple[dict[str, Any], dict[str, dataclasses.Field[Any]]]:
    """A record class's resolved annotations and init fields, worked out once per class
    (``get_type_hints`` evaluates every annotation string: ~40 us a field, per call)."""
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls) if f.init}
    return hints, known


def _from_mapping(
    cls: type[_T], data: Mapping[str, Any], path: str = "", *, ignore_unknown: bool = False
) -> _T:
    hints, known = _class_fields(cast(type, cls))
    prefix = f"{path}." if path else ""
    if ignore_unknown:
        data = {k: v for k, v in data.items() if k in known}
    for key in data:
        if key not in known:
            import difflib

            close = difflib.get_close_matches(str(key), list(known), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ValidationError(f"{prefix}{key}", f"unknown key{hint}")
    kwargs = {k: _convert(v, hints[k], f"{prefix}{k}") for k, v in data.items()}
    try:
        return cls(**kwargs)
    except TypeError as exc:  # a required field is missing
        missing = [
            n
            for n, f in known.items()
            if n not in data
            and f.default is dataclasses.MISSING
            and f.default_factory is dataclasses.MISSING
        ]
        if missing:
            raise ValidationError(f"{prefix}{missing[0]}", "required key is missing") from exc
        raise


def _to_json(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _to_json(v) for k, v in value.items()}
    return value


class JsonModel:
    """Mixin: ``to_dict()`` gives JSON-safe data, ``from_dict()`` validates and rebuilds."""

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = _to_json(self)
        return result

    @classmethod
    def from_dict(cls: type[_T], data: Mapping[str, Any]) -> _T:
        if not isinstance(data, Mapping):
            raise ValidationError("", f"expected object, got {_describe(data)}")
        return _from_mapping(cls, data)

    @classmethod
    def from_stored(cls: type[_T], data: Mapping[str, Any]) -> _T:
        """Like ``from_dict`` for data this program stored earlier: top-level keys a newer
        lrc_toolbox may have added are ignored instead of refused."""
        if not isinstance(data, Mapping):
            raise ValidationError("", f"expected object, got {_describe(data)}")
        return _from_mapping(cls, data, ignore_unknown=True)


# --------------------------------------------------------------------------- render config


@dataclass
class RenderConfig(JsonModel):
    """Everything one batch needs: what to render, where, and on which devices.

    ``layers`` empty means every renderable layer of the scene. ``frames`` empty means the
    frames a plain batch render of the scene would render (its own range per layer).
    ``gpus`` ``None`` means every GPU left after the reservation for Maya.
    """

    scene: str
    layers: list[str] = field(default_factory=list)
    frames: str = ""
    renderer: str | None = None
    camera: str | None = None
    output_dir: str | None = None
    image_prefix: str | None = None
    gpus: list[int] | None = None
    processes_per_gpu: int = 1
    cpu_mode: bool = False
    cpu_threads: int | None = None  # per worker; None = share the free cores evenly
    chunk_size: int = 1
    frame_order: FrameOrder = FrameOrder.SEQUENTIAL
    max_attempts: int = 3
    frame_timeout: float = 1800.0  # seconds without any worker output before a kill
    skip_existing: bool = False
    mayapy: str | None = None
    #: what ``<Scene>`` expands to in output paths; None = the scene file's name
    scene_name: str | None = None
    #: the Maya project folder; None = the nearest folder above the scene with workspace.mel
    project: str | None = None

    @property
    def all_renderable_layers(self) -> bool:
        return not self.layers

    def validate(self) -> RenderConfig:
        """Check values that a type alone cannot; returns ``self`` for chaining.

        Raises:
            ValidationError: naming the field and what a valid value looks like.
        """
        if not self.scene.strip():
            raise ValidationError("scene", "no scene given: pass the path of a .ma or .mb file")
        for i, name in enumerate(self.layers):
            if not name.strip():
                raise ValidationError(f"layers[{i}]", "empty layer name")
            if name in self.layers[:i]:
                raise ValidationError(f"layers[{i}]", f"layer {name!r} is listed twice")
        if self.frames.strip():
            from lrc_toolbox.records.frame_parser import FrameRangeError, parse_frames

            try:
                parse_frames(self.frames)
            except FrameRangeError as exc:
                raise ValidationError("frames", str(exc)) from exc
        if self.gpus is not None:
            for i, gpu in enumerate(self.gpus):
                if gpu < 0:
                    raise ValidationError(f"gpus[{i}]", f"GPU index must be >= 0, got {gpu}")
            if len(set(self.gpus)) != len(self.gpus):
                raise ValidationError("gpus", "a GPU is listed twice")
        _positive("processes_per_gpu", self.processes_per_gpu, upper=16)
        if self.cpu_threads is not None:
            _positive("cpu_threads", self.cpu_threads, upper=4096)
        _positive("chunk_size", self.chunk_size, upper=100_000)
        _positive("max_attempts", self.max_attempts, upper=100)
        if self.renderer is not None:
            from lrc_toolbox.records.renderers import RENDERER_NAMES

            if self.renderer not in RENDERER_NAMES:
                raise ValidationError(
                    "renderer",
                    f"{self.renderer!r} is not supported by the batch render manager "
                    f"(supported: {', '.join(RENDERER_NAMES)})",
                )
        if self.camera is not None and not self.camera.strip():
            raise ValidationError("camera", "empty camera name: leave it out to use the scene's")
        if self.scene_name is not None:
            _check_scene_name(self.scene_name)
        _check_timeout("frame_timeout", self.frame_timeout)
        return self


#: The longest ``frame_timeout`` accepted: a week without a line of output is a hang.
MAX_FRAME_TIMEOUT = 7 * 24 * 3600.0


def _check_timeout(name: str, value: float) -> None:
    """A number of seconds, finite (``inf``, ``1e999`` and ``nan`` are refused: a timeout
    that can never fire is not a timeout) and at most :data:`MAX_FRAME_TIMEOUT`."""
    if not (math.isfinite(value) and 0 < value <= MAX_FRAME_TIMEOUT):
        raise ValidationError(
            name,
            f"must be a number of seconds above 0 and at most {MAX_FRAME_TIMEOUT:.0f} (a "
            f"week), got {value!r}; leave it out for the default",
        )


def _check_scene_name(name: str) -> None:
    """``<Scene>`` becomes this name in file names: one name, never a path."""
    if not name.strip():
        raise ValidationError("scene_name", "empty name: leave it out to use the scene's")
    if name.strip() in (".", "..") or any(sep in name for sep in "/\\"):
        raise ValidationError(
            "scene_name",
            f"{name!r} is not a file name: <Scene> becomes this name in image paths, so it "
            "may hold no '/', '\\', and may not be '.' or '..'",
        )


def _positive(name: str, value: int, upper: int) -> None:
    if not 1 <= value <= upper:
        raise ValidationError(name, f"must be between 1 and {upper}, got {value}")


# --------------------------------------------------------------------------- hardware


@dataclass
class GPUProcess(JsonModel):
    pid: int
    name: str = ""
    used_memory_mb: int | None = None


@dataclass
class GPUInfo(JsonModel):
    """One NVIDIA GPU as NVML reports it (``index`` is NVML's, i.e. PCI bus order)."""

    index: int
    name: str
    uuid: str
    pci_bus_id: str = ""
    memory_total_mb: int = 0
    memory_used_mb: int = 0
    memory_free_mb: int = 0
    utilization_percent: int | None = None
    temperature_c: int | None = None
    display_attached: bool | None = None
    processes: list[GPUProcess] = field(default_factory=list)
    error: str | None = None  # a query that failed for this GPU only


@dataclass
class CPUInfo(JsonModel):
    physical_cores: int
    logical_cores: int
    name: str = ""
    load_percent: float | None = None
    frequency_mhz: float | None = None


@dataclass
class SystemInfo(JsonModel):
    """What the machine has, and what of it stays with the artist's Maya session."""

    cpu: CPUInfo
    ram_total_mb: int
    ram_available_mb: int
    gpus: list[GPUInfo] = field(default_factory=list)
    #: why no GPU is listed or why the list may be partial (no driver, no NVML, ...).
    gpu_error: str | None = None
    driver_version: str | None = None
    cuda_driver_version: str | None = None
    reserved_gpus: list[int] = field(default_factory=list)
    reserved_cpu_cores: int = 2
    #: only meaningful with exactly one GPU.
    single_gpu_policy: SingleGpuPolicy = SingleGpuPolicy.SHARE
    simulated: bool = False
    notes: list[str] = field(default_factory=list)

    def gpu(self, index: int) -> GPUInfo | None:
        return next((g for g in self.gpus if g.index == index), None)

    def available_gpus(self) -> list[GPUInfo]:
        """The GPUs workers may use: all but those kept for Maya (see ``single_gpu_policy``)."""
        healthy = [g for g in self.gpus if g.error is None]
        if len(self.gpus) == 1:
            return healthy if self.single_gpu_policy is SingleGpuPolicy.SHARE else []
        return [g for g in healthy if g.index not in self.reserved_gpus]

    @property
    def render_cpu_cores(self) -> int:
        """Logical cores left for CPU workers once Maya's share is kept (at least one)."""
        return max(1, self.cpu.logical_cores - self.reserved_cpu_cores)


@dataclass
class MayaGpuPressure(JsonModel):
    """The GPU kept for Maya is short of memory (NVML's used / total over the
    ``maya_gpu_memory_warn_percent`` setting): what the dashboard shows as an offer to
    give one rendering GPU back to Maya (``release_gpu``)."""

    #: Maya's GPU (its NVML index) and name
    gpu: int
    name: str = ""
    memory_used_mb: int = 0
    memory_total_mb: int = 0
    #: used / total, in percent
    used_percent: float = 0.0
    #: the setting it went over
    threshold_percent: float = 0.0
    #: one line for people: what is short and what to do
    message: str = ""


# --------------------------------------------------------------------------- live status


@dataclass
class RenderStatus(JsonModel):
    """A snapshot of one worker, for tables and ``get_render_status()``."""

    worker_id: str
    state: WorkerState = WorkerState.STARTING
    device: str = ""  # "GPU 1 (NVIDIA RTX A6000)" or "CPU x8"
    layer: str | None = None
    current_frame: int | None = None
    progress_percent: float | None = None
    frames_done: int = 0
    frames_failed: int = 0
    frames_total: int = 0
    pid: int | None = None
    started: float | None = None  # epoch seconds
    elapsed: float = 0.0  # seconds
    eta: float | None = None  # seconds left, when it can be estimated
    message: str = ""
