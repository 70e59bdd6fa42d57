"""The worker protocol: JSON commands on a worker's stdin, ``@lrc`` events on its stdout.

Defined once here and used by both ends (the manager and ``lrc_toolbox.worker`` inside
mayapy), so the two can never drift apart. Pure Python, no Qt, no Maya.

- A command is one JSON object per line: ``{"op": "render", "layer": "BG", "frames": [1, 2]}``,
  ``{"op": "quit"}``, ``{"op": "stop"}``. A worker started with ``--await-scene`` (started
  while the manager still copies the scene) first waits for ``{"op": "open", "scene": PATH}``,
  then opens it and says ``hello``. Commands queue: the manager sends a worker its
  next ``render`` while it still renders the last one, and ``quit`` ends the worker once
  the commands before it are done. ``stop`` jumps the queue: the worker finishes the frame
  it is rendering and ends without beginning another (a stop never costs one more frame).
- An event is one line ``@lrc {"ev": "frame_done", ...}``. Every other line a worker prints is
  renderer log (pyblish-qml does the same: any non-JSON line is log). Because a renderer
  writing through C stdio can leave half a line in the stream just before an event, the
  decoder also finds an event that starts in the middle of a line and returns the text
  before it as log.
- Both sides ignore fields they do not know, so a newer worker can talk to an older manager.
  Only the major ``protocol`` number in ``hello`` must match.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "COMMANDS",
    "EVENTS",
    "EVENT_PREFIX",
    "PROTOCOL_VERSION",
    "Command",
    "Event",
    "ProtocolError",
    "check_hello",
    "decode_command",
    "decode_line",
    "encode_command",
    "encode_event",
    "event_or_none",
    "split_event",
]

#: 2: ``stop``, and commands sent ahead (a worker reads them while it renders);
#: 3: ``open``, for a worker started before its scene was ready (``--await-scene``)
PROTOCOL_VERSION = 3
EVENT_PREFIX = "@lrc "

#: event name -> fields it must carry (others are optional and unknown ones are kept).
EVENTS: dict[str, tuple[str, ...]] = {
    "hello": ("protocol",),  # + maya_version, renderer, devices, pid, scene
    "ready": (),  # idle, waiting for the next command
    "frame_started": ("layer", "frame"),
    "frame_done": ("layer", "frame", "outputs"),  # + seconds, skipped, renderer(_version)
    "frame_failed": ("layer", "frame", "reason"),  # + fatal (bool)
    "described": ("scene",),  # ``--describe SCENE``: a SceneDescription dict
    "error": ("reason",),  # a worker-level problem (bad command, fatal start-up error)
    "bye": (),  # + reason
}

#: command name -> fields it must carry.
COMMANDS: dict[str, tuple[str, ...]] = {
    "open": ("scene",),  # the first command of a worker started with --await-scene
    "render": ("layer", "frames"),  # + overrides: a RenderOverrides record as JSON
    "quit": (),  # after the commands before it
    "stop": (),  # now: after the frame rendering, before any command queued
}


class ProtocolError(ValueError):
    """A line claimed to be a command/event but is not a valid one."""


@dataclass(frozen=True)
class Event:
    """One event from a worker. ``data`` holds every field but ``ev``."""

    name: str
    data: Mapping[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def __getitem__(self, key: str) -> Any:
        return self.data[key]


@dataclass(frozen=True)
class Command:
    """One command to a worker. ``data`` holds every field but ``op``."""

    op: str
    data: Mapping[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)


def _check_fields(kind: str, name: str, data: Mapping[str, Any], needed: Sequence[str]) -> None:
    missing = [k for k in needed if k not in data]
    if missing:
        raise ProtocolError(f"{kind} {name!r} lacks field(s): {', '.join(missing)}")


def encode_event(name: str, /, **fields: Any) -> str:
    """The single stdout line (no newline) for an event.

    Raises:
        ProtocolError: for an unknown event or missing fields (a programming error).
    """
    if name not in EVENTS:
        raise ProtocolError(f"unknown event {name!r}")
    if "ev" in fields:
        raise ProtocolError("an event field may not be called 'ev' (that is the event's name)")
    _check_fields("event", name, fields, EVENTS[name])
    return EVENT_PREFIX + json.dumps({"ev": name, **fields}, separators=(",", ":"))


def split_event(line: str) -> tuple[str, str | None]:
    """Split a stdout line into (log text, event JSON or None).

    ``"@lrc {...}"`` -> ``("", "{...}")``; ``"50% done@lrc {...}"`` -> ``("50% done", "{...}")``;
    a line without an event -> ``(line, None)``.
    """
    line = line.rstrip("\r\n")
    at = line.find(EVENT_PREFIX + "{")
    if at < 0:
        return line, None
    return line[:at], line[at + len(EVENT_PREFIX) :]


def decode_line(line: str) -> Event | None:
    """The event on ``line``, or None if the line is renderer log.

    A line that starts an event but does not parse raises, so protocol bugs are not
    silently shown as log.

    Raises:
        ProtocolError: a malformed event.
    """
    _, payload = split_event(line)
    if payload is None:
        return None
    try:
        obj = json.loads(payload)
    except ValueError as exc:
        raise ProtocolError(f"malformed event JSON: {exc}: {payload[:200]!r}") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("ev"), str):
        raise ProtocolError(f"event without 'ev' name: {payload[:200]!r}")
    name = obj.pop("ev")
    if name in EVENTS:
        _check_fields("event", name, obj, EVENTS[name])
    return Event(name, obj)


def event_or_none(line: str) -> Event | None:
    """The event on ``line``; None for log text AND for a malformed event.

    For readers that only watch a worker's output for the events they know (a farm task,
    ``--describe``); the manager uses :func:`decode_line` and reports malformed events.
    """
    try:
        return decode_line(line)
    except ProtocolError:
        return None


def encode_command(op: str, /, **fields: Any) -> str:
    """The stdin line (with its newline) for a command."""
    if op not in COMMANDS:
        raise ProtocolError(f"unknown command {op!r}")
    if "op" in fields:
        raise ProtocolError("a command field may not be called 'op' (that is the command)")
    _check_fields("command", op, fields, COMMANDS[op])
    return json.dumps({"op": op, **fields}, separators=(",", ":")) + "\n"


def decode_command(line: str) -> Command:
    """Parse one stdin line of a worker.

    Raises:
        ProtocolError: not JSON, not an object, unknown op or missing fields — the worker
            answers with an ``error`` event and keeps running.
    """
    try:
        obj = json.loads(line)
    except ValueError as exc:
        raise ProtocolError(f"command is not JSON ({exc}): {line.strip()[:200]!r}") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("op"), str):
        raise ProtocolError(f"command must be an object with an 'op': {line.strip()[:200]!r}")
    op = obj.pop("op")
    if op not in COMMANDS:
        raise ProtocolError(f"unknown command {op!r}; expected one of {', '.join(COMMANDS)}")
    _check_fields("command", op, obj, COMMANDS[op])
    if op == "render":
        frames = obj["frames"]
        if not isinstance(frames, list) or not all(
            isinstance(f, int) and not isinstance(f, bool) for f in frames
        ):
            raise ProtocolError("render 'frames' must be a list of whole frame numbers")
        if not isinstance(obj["layer"], str):
            raise ProtocolError("render 'layer' must be a layer name")
        if not isinstance(obj.get("overrides", {}), dict):
            raise ProtocolError("render 'overrides' must be an object")
    return Command(op, obj)


def check_hello(event: Event) -> None:
    """Refuse a worker whose protocol major version differs from ours.

    Raises:
        ProtocolError: with both versions and what to do.
    """
    if event.name != "hello":
        raise ProtocolError(
            f"expected 'hello' first, got {event.name!r}: the worker is not the "
            "lrc_toolbox worker or failed while starting — read its log file"
        )
    theirs = event.get("protocol")
    if isinstance(theirs, bool) or not isinstance(theirs, int) or theirs != PROTOCOL_VERSION:
        raise ProtocolError(
            f"worker speaks protocol {theirs!r}, this manager speaks {PROTOCOL_VERSION}: "
            "the lrc_toolbox seen by mayapy is a different version — check PYTHONPATH "
            "and the Maya module path so both load the same copy"
        )
