"""The render service's channel: the typed messages between the local render service and
the clients that attach to it (the dashboard in Maya, ``lrc-batch-render``, the Python API,
Nuke).

Defined once here, used by both ends (:mod:`lrc_toolbox.service.server`,
:mod:`lrc_toolbox.service.client`). Pure Python: no Qt, no Maya.

On the wire every message is one UTF-8 JSON object ``{"type": NAME, "body": {...}}`` in
one length-prefixed frame (``multiprocessing.connection``'s ``send_bytes``), where NAME is
the record's ``TYPE`` and the body its ``to_dict()``. A receiver ignores body keys it does
not know (a newer peer may add some); only :data:`PROTOCOL` must match, and that is checked
once, in :class:`Hello` / :class:`Welcome`, so an older or newer client gets a
:class:`Refused` that says what to do instead of a hang.

The conversation:

1. client -> :class:`Hello` (protocol, version, the user's token); service ->
   :class:`Welcome` or :class:`Refused` (then closes).
2. client -> :class:`Request` (``id``, ``op`` and the op's fields); service -> one
   :class:`Reply` with the same ``id``.
3. service -> :class:`EventBatch` about ten times a second while something happens: the
   engine's events in order, each an :class:`Event`, with progress coalesced (the latest
   per worker, so at most ~10 per second per worker), warnings, errors, fatal lines and
   finished or failed frames individually, renderer log lines only for a client that
   asked for them (``subscribe`` with ``log_level="info"``), and the workers' statuses.
   After ``subscribe`` the first batch replays the running batch (``replay`` True) so a
   dashboard opened late shows its real counts.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from lrc_toolbox.records.batch import BatchPlan, BatchSummary, ExitCode, GpuHandback
from lrc_toolbox.records.models import JsonModel, RenderConfig, RenderStatus, ValidationError

__all__ = [
    "MESSAGE_TYPES",
    "PROTOCOL",
    "ChannelError",
    "ErrorKind",
    "Event",
    "EventBatch",
    "EventName",
    "Hello",
    "Message",
    "Op",
    "Refused",
    "Reply",
    "Request",
    "ServiceBatch",
    "ServiceState",
    "Welcome",
    "decode",
    "encode",
]

#: the channel's protocol number; a peer with another one is refused with a message.
#: 2: ``release_gpu`` / ``return_gpu`` and the worker state "released" (a client of 1
#: would refuse a status it cannot read; a service of 1 would not know the requests)
PROTOCOL = 2


class ChannelError(ValueError):
    """A frame that is not a message of this protocol."""


class Op(str, enum.Enum):
    """What a client asks the service (:class:`Request`)."""

    #: render ``config`` (queued behind a running batch); replies the batch id
    START = "start"
    #: render what batch ``batch_id`` left undone
    RESUME = "resume"
    #: stop ``batch_id`` (empty: the running one); ``kill`` stops at once
    STOP = "stop"
    #: stop one worker (``worker_id``) of the running batch
    STOP_WORKER = "stop_worker"
    #: give GPU ``gpu`` of the running batch (``batch_id``) back to Maya; its worker
    #: finishes its current frame first unless ``finish_frame`` is False; replies
    #: ``handback``
    RELEASE_GPU = "release_gpu"
    #: take GPU ``gpu`` back into the running batch (``batch_id``); replies ``handback``
    RETURN_GPU = "return_gpu"
    #: send events from now on (``log_level``: the least severe log line wanted;
    #: ``log_workers``: workers whose renderer lines are wanted too), after a replay of
    #: the running batch
    SUBSCRIBE = "subscribe"
    #: change ``log_level`` / ``log_workers`` of a subscription (no replay): the dashboard
    #: asks for the renderer lines of the one worker its log view shows
    LOGS = "logs"
    #: the service's state (:class:`ServiceState`)
    STATUS = "status"
    #: exit once no batch runs or waits (``kill``: stop the batches first)
    SHUTDOWN = "shutdown"


class ErrorKind(str, enum.Enum):
    """Why a request failed; the client raises the matching ``BatchError``."""

    BAD_REQUEST = "bad_request"  # fix the input (exit 2)
    ENVIRONMENT = "environment"  # the machine cannot do it (exit 3)
    FAILED = "failed"  # anything else (exit 1)

    @property
    def exit_code(self) -> ExitCode:
        return {
            ErrorKind.BAD_REQUEST: ExitCode.BAD_INPUT,
            ErrorKind.ENVIRONMENT: ExitCode.ENVIRONMENT,
            ErrorKind.FAILED: ExitCode.FAILED_FRAMES,
        }[self]


class Message(JsonModel):
    """A record that travels on the channel; ``TYPE`` names it on the wire."""

    TYPE: ClassVar[str] = ""


@dataclass
class Hello(Message):
    """The client's first message."""

    TYPE: ClassVar[str] = "hello"

    protocol: int
    version: str
    #: the service's secret, read from its user-private token file
    token: str
    #: who is asking, for the service's log (``maya 4242``, ``lrc-batch-render 77``)
    client: str = ""
    #: the client runs simulated workers (tests, demos); a service of the other kind refuses
    simulate: bool = False


@dataclass
class Welcome(Message):
    TYPE: ClassVar[str] = "welcome"

    protocol: int
    version: str
    service_pid: int
    simulate: bool = False


@dataclass
class Refused(Message):
    """The service will not talk to this client; ``reason`` says why and what to do."""

    TYPE: ClassVar[str] = "refused"

    reason: str


@dataclass
class Request(Message):
    TYPE: ClassVar[str] = "request"

    id: int
    op: Op
    config: RenderConfig | None = None
    batch_id: str = ""
    worker_id: str = ""
    kill: bool = False
    log_level: str = "warning"
    #: subscribe/logs: workers whose renderer lines (info and worse) are wanted whatever
    #: ``log_level`` says
    log_workers: list[str] = field(default_factory=list)
    #: start/resume: the asking Maya's Render Setup "include all lights" preference now
    #: (None: the service reads the saved one)
    include_all_lights: bool | None = None
    #: release_gpu/return_gpu: the GPU's index (as ``lrc-batch-render info`` lists it)
    gpu: int = -1
    #: release_gpu: the worker finishes its current frame first (False: abandons it now)
    finish_frame: bool = True


@dataclass
class ServiceBatch(JsonModel):
    """A batch the service runs, waits to run, or ran since it started."""

    batch_id: str
    #: "running", "queued" or "finished"
    status: str
    scene: str = ""
    #: who asked for it (the Hello's ``client``)
    client: str = ""
    summary: BatchSummary | None = None


@dataclass
class ServiceState(JsonModel):
    """What the service is doing (``status`` request, ``lrc-batch-render service status``)."""

    pid: int
    version: str
    started: float
    clients: int = 0
    simulate: bool = False
    batches: list[ServiceBatch] = field(default_factory=list)


@dataclass
class Reply(Message):
    TYPE: ClassVar[str] = "reply"

    id: int
    ok: bool = True
    batch_id: str = ""
    #: the batch waits behind a running one
    queued: bool = False
    error: str = ""
    error_kind: ErrorKind = ErrorKind.FAILED
    state: ServiceState | None = None
    #: release_gpu/return_gpu: what was done
    handback: GpuHandback | None = None


class EventName(str, enum.Enum):
    """The engine's signals, one per name (``BatchRenderAPI``'s, in the same order)."""

    BATCH_STARTED = "batch_started"
    WORKER_STARTED = "worker_started"
    FRAME_STARTED = "frame_started"
    FRAME_PROGRESS = "frame_progress"
    FRAME_FINISHED = "frame_finished"
    FRAME_FAILED = "frame_failed"
    WORKER_FINISHED = "worker_finished"
    LOG = "log"
    BATCH_FINISHED = "batch_finished"


@dataclass
class Event(JsonModel):
    """One engine signal. The fields used depend on ``name`` (as the signal's arguments):

    - batch_started: batch_id, plan
    - worker_started: worker, pid, device
    - frame_started: worker, layer, frame
    - frame_progress: worker, frame, percent
    - frame_finished: worker, layer, frame, outputs
    - frame_failed: worker, layer, frame, reason, retry
    - worker_finished: worker, state, reason
    - log: time, level, worker, text
    - batch_finished: summary
    """

    name: EventName
    batch_id: str = ""
    worker: str = ""
    layer: str = ""
    frame: int = 0
    percent: float = 0.0
    pid: int = 0
    device: str = ""
    outputs: list[str] = field(default_factory=list)
    reason: str = ""
    retry: bool = False
    state: str = ""
    time: float = 0.0
    level: str = ""
    text: str = ""
    plan: BatchPlan | None = None
    summary: BatchSummary | None = None

    def to_wire(self) -> dict[str, Any]:
        """The event's JSON without the fields left at their defaults (most of them: an
        event uses 3 to 5), made without the generic record walk: events are the channel's
        bulk (~40 us an event instead of ~140)."""
        data: dict[str, Any] = {"name": self.name.value}
        for key in _EVENT_SCALARS:
            value = getattr(self, key)
            if value != _EVENT_DEFAULTS[key]:
                data[key] = value
        if self.outputs:
            data["outputs"] = list(self.outputs)
        if self.plan is not None:
            data["plan"] = JsonModel.to_dict(self.plan)  # field by field, as from_stored reads
        if self.summary is not None:
            data["summary"] = self.summary.to_dict()
        return data

    @classmethod
    def from_wire(cls, data: Any) -> Event:
        """The event in ``data`` (:meth:`to_wire`'s shape; keys it does not know are
        ignored), every field checked against its type.

        Raises:
            ChannelError: a field of the wrong type, or no valid name.
        """
        if not isinstance(data, dict):
            raise ChannelError("an event that is not an object")
        try:
            name = EventName(data.get("name"))
        except ValueError:
            raise ChannelError(f"unknown event {data.get('name')!r}") from None
        fields: dict[str, Any] = {}
        for key, kind in _EVENT_SCALARS.items():
            if key not in data:
                continue
            value = data[key]
            if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
                raise ChannelError(f"event field {key!r}: {value!r} is not {_KIND_WORDS[kind]}")
            fields[key] = float(value) if kind == (int, float) else value
        outputs = data.get("outputs", [])
        if not isinstance(outputs, list) or not all(isinstance(o, str) for o in outputs):
            raise ChannelError("event field 'outputs' is not a list of paths")
        try:
            plan = BatchPlan.from_stored(data["plan"]) if data.get("plan") else None
            summary = BatchSummary.from_stored(data["summary"]) if data.get("summary") else None
        except (ValidationError, TypeError) as exc:
            raise ChannelError(f"an event's plan or summary does not fit: {exc}") from exc
        return cls(name=name, outputs=list(outputs), plan=plan, summary=summary, **fields)


#: Event's plain fields and their JSON types
_EVENT_SCALARS: dict[str, Any] = {
    "batch_id": str,
    "worker": str,
    "layer": str,
    "frame": int,
    "percent": (int, float),
    "pid": int,
    "device": str,
    "reason": str,
    "retry": bool,
    "state": str,
    "time": (int, float),
    "level": str,
    "text": str,
}
_EVENT_DEFAULTS: dict[str, Any] = {
    "batch_id": "",
    "worker": "",
    "layer": "",
    "frame": 0,
    "percent": 0.0,
    "pid": 0,
    "device": "",
    "reason": "",
    "retry": False,
    "state": "",
    "time": 0.0,
    "level": "",
    "text": "",
}
_KIND_WORDS: dict[Any, str] = {
    str: "a string",
    int: "an integer",
    bool: "a boolean",
    (int, float): "a number",
}


@dataclass
class EventBatch(Message):
    """Events since the last batch, in order, and the workers' statuses when they changed."""

    TYPE: ClassVar[str] = "events"

    events: list[Event] = field(default_factory=list)
    #: None: unchanged since the last batch
    statuses: list[RenderStatus] | None = None
    #: the events replay the running batch for a client that just subscribed
    replay: bool = False
    #: log lines left out to keep within the rate (the full log is on disk)
    dropped_lines: int = 0


MESSAGE_TYPES: dict[str, type[Message]] = {
    cls.TYPE: cls for cls in (Hello, Welcome, Refused, Request, Reply, EventBatch)
}

_M = TypeVar("_M", bound=Message)


def encode(message: Message) -> bytes:
    """The message's frame: ``{"type": TYPE, "body": to_dict()}`` as UTF-8 JSON (an event
    batch's events through :meth:`Event.to_wire`)."""
    if isinstance(message, EventBatch):
        body: dict[str, Any] = {
            "events": [event.to_wire() for event in message.events],
            "statuses": None
            if message.statuses is None
            else [status.to_dict() for status in message.statuses],
            "replay": message.replay,
            "dropped_lines": message.dropped_lines,
        }
    else:
        body = message.to_dict()
    return json.dumps({"type": message.TYPE, "body": body}, separators=(",", ":")).encode("utf-8")


def _event_batch(body: dict[str, Any]) -> EventBatch:
    events = body.get("events", [])
    statuses = body.get("statuses")
    if not isinstance(events, list) or not (statuses is None or isinstance(statuses, list)):
        raise ChannelError("an event batch whose events or statuses are not lists")
    try:
        status_records = (
            None if statuses is None else [RenderStatus.from_stored(s) for s in statuses]
        )
    except (ValidationError, TypeError) as exc:
        raise ChannelError(f"a worker status that does not fit: {exc}") from exc
    replay, dropped = body.get("replay", False), body.get("dropped_lines", 0)
    if not isinstance(replay, bool) or isinstance(dropped, bool) or not isinstance(dropped, int):
        raise ChannelError("an event batch whose replay or dropped_lines has the wrong type")
    return EventBatch(
        events=[Event.from_wire(e) for e in events],
        statuses=status_records,
        replay=replay,
        dropped_lines=dropped,
    )


def decode(data: bytes, expected: type[_M] | None = None) -> Message:
    """The message in one frame.

    Raises:
        ChannelError: not JSON, an unknown type, a body that does not fit its record, or
            not the ``expected`` type.
    """
    try:
        raw: Any = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ChannelError(f"not a message of the render service: {exc}") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("body"), dict):
        raise ChannelError("not a message of the render service (no type and body)")
    cls = MESSAGE_TYPES.get(str(raw.get("type")))
    if cls is None:
        raise ChannelError(f"unknown message type {raw.get('type')!r}")
    if expected is not None and cls is not expected:
        raise ChannelError(f"expected {expected.TYPE!r}, got {cls.TYPE!r}")
    if cls is EventBatch:
        return _event_batch(raw["body"])
    try:
        return cls.from_stored(raw["body"])
    except (ValidationError, TypeError) as exc:
        raise ChannelError(f"a {cls.TYPE!r} message that does not fit: {exc}") from exc
