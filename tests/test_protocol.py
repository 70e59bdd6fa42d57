"""Tests for the worker <-> manager protocol (JSON commands in, ``@lrc`` events out).

Both ends import the same module, so these tests pin the wire format itself: what a line
looks like, what is tolerated (unknown fields, renderer log, half a log line before an
event) and what is refused loudly (a broken event, a bad command, a foreign protocol).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lrc_toolbox.records.protocol import (
    COMMANDS,
    EVENT_PREFIX,
    EVENTS,
    PROTOCOL_VERSION,
    Command,
    Event,
    ProtocolError,
    check_hello,
    decode_command,
    decode_line,
    encode_command,
    encode_event,
    event_or_none,
    split_event,
)

# A plausible value for every field the protocol requires somewhere.
SAMPLE_VALUES: dict[str, Any] = {
    "protocol": PROTOCOL_VERSION,
    "layer": "BG",
    "frame": 12,
    "percent": 37.5,
    "outputs": ["/images/BG/shot.0012.exr"],
    "reason": "out of memory",
    "scene": {"name": "shot", "layers": ["BG", "CHAR"]},
    "frames": [1, 2, 3],
}


def required_event_fields(name: str) -> dict[str, Any]:
    return {key: SAMPLE_VALUES[key] for key in EVENTS[name]}


def required_command_fields(op: str) -> dict[str, Any]:
    return {key: SAMPLE_VALUES[key] for key in COMMANDS[op]}


# ------------------------------------------------------------------------------ events


@pytest.mark.parametrize("name", sorted(EVENTS))
def test_every_event_round_trips_through_encode_and_decode(name: str) -> None:
    fields = required_event_fields(name)

    event = decode_line(encode_event(name, **fields))

    assert event == Event(name, fields)


@pytest.mark.parametrize("name", sorted(EVENTS))
def test_encoded_event_is_one_line_starting_with_the_prefix(name: str) -> None:
    line = encode_event(name, **required_event_fields(name), note="a\nb\r\nc")

    assert line.startswith(EVENT_PREFIX + "{")
    assert "\n" not in line
    assert "\r" not in line


def test_decoded_event_keeps_unknown_fields() -> None:
    line = encode_event("frame_done", layer="BG", frame=3, outputs=[], gpu_temp=71)

    event = decode_line(line)

    assert event is not None
    assert event["gpu_temp"] == 71


def test_decoded_event_does_not_carry_its_name_as_a_field() -> None:
    event = decode_line(encode_event("ready"))

    assert event is not None
    assert "ev" not in event.data


def test_event_get_returns_the_default_for_an_absent_field() -> None:
    event = Event("bye")

    assert event.get("reason", "none given") == "none given"


def test_event_of_an_unknown_name_is_tolerated_from_a_newer_worker() -> None:
    event = decode_line('@lrc {"ev":"gpu_stats","temp":70}')

    assert event == Event("gpu_stats", {"temp": 70})


def test_encode_event_refuses_an_unknown_event_name() -> None:
    with pytest.raises(ProtocolError, match="unknown event 'gpu_stats'"):
        encode_event("gpu_stats")


@pytest.mark.parametrize("name", sorted(name for name, needed in EVENTS.items() if needed))
def test_encode_event_names_every_missing_required_field(name: str) -> None:
    with pytest.raises(ProtocolError) as info:
        encode_event(name)

    for key in EVENTS[name]:
        assert key in str(info.value)


@pytest.mark.parametrize("name", sorted(name for name, needed in EVENTS.items() if needed))
def test_decode_line_names_every_missing_required_field(name: str) -> None:
    line = EVENT_PREFIX + json.dumps({"ev": name})

    with pytest.raises(ProtocolError) as info:
        decode_line(line)

    for key in EVENTS[name]:
        assert key in str(info.value)


def test_decode_line_names_only_the_field_that_is_missing() -> None:
    line = EVENT_PREFIX + json.dumps({"ev": "frame_failed", "layer": "BG", "frame": 1})

    with pytest.raises(ProtocolError, match=r"'frame_failed' lacks field\(s\): reason$"):
        decode_line(line)


# -------------------------------------------------------------------- renderer log lines

LOG_LINES = [
    "",
    "\n",
    "00:00:01  1.2GB | [arnold] rendering frame 12",
    "Redshift: 50% done",
    '{"ev": "ready"}',  # JSON alone is not an event: the prefix is what marks one
    "@lrc",
    "@lrc ",
    '@lrc{"ev":"ready"}',  # no space
    '@lrc  {"ev":"ready"}',  # two spaces
    '@lrc ["ev", "ready"]',  # not an object
    "see @lrc docs for details",
    '@LRC {"ev":"ready"}',  # the prefix is case-sensitive
]


@pytest.mark.parametrize("line", LOG_LINES)
def test_decode_line_returns_none_for_renderer_log(line: str) -> None:
    assert decode_line(line) is None


@pytest.mark.parametrize("line", LOG_LINES)
def test_split_event_returns_a_log_line_whole(line: str) -> None:
    assert split_event(line) == (line.rstrip("\r\n"), None)


@pytest.mark.parametrize("ending", ["", "\n", "\r\n"])
def test_decode_line_ignores_the_line_ending(ending: str) -> None:
    assert decode_line(encode_event("ready") + ending) == Event("ready", {})


def test_decode_line_finds_an_event_in_the_middle_of_a_line() -> None:
    line = "Redshift: 50% done" + encode_event("frame_done", layer="BG", frame=4, outputs=[])

    assert decode_line(line) == Event("frame_done", {"layer": "BG", "frame": 4, "outputs": []})


def test_split_event_returns_the_log_text_before_an_event() -> None:
    line = "Redshift: 50% done" + encode_event("ready") + "\n"

    assert split_event(line) == ("Redshift: 50% done", '{"ev":"ready"}')


def test_split_event_returns_empty_log_for_a_whole_event_line() -> None:
    assert split_event(encode_event("ready")) == ("", '{"ev":"ready"}')


@pytest.mark.parametrize(
    "payload",
    [
        "{",
        '{"ev": "ready"',
        '{"ev": "ready"} trailing text',
        "{ev: ready}",
        "{'ev': 'ready'}",
    ],
)
def test_decode_line_raises_for_malformed_event_json(payload: str) -> None:
    with pytest.raises(ProtocolError, match="malformed event JSON"):
        decode_line(EVENT_PREFIX + payload)


@pytest.mark.parametrize(
    "payload",
    ["{}", '{"layer": "BG"}', '{"ev": 3}', '{"ev": null}', '{"ev": ["ready"]}'],
)
def test_decode_line_raises_for_an_event_without_an_ev_name(payload: str) -> None:
    with pytest.raises(ProtocolError, match="event without 'ev' name"):
        decode_line(EVENT_PREFIX + payload)


# ---------------------------------------------------------------------------- commands


@pytest.mark.parametrize("op", sorted(COMMANDS))
def test_every_command_round_trips_through_encode_and_decode(op: str) -> None:
    fields = required_command_fields(op)

    assert decode_command(encode_command(op, **fields)) == Command(op, fields)


@pytest.mark.parametrize("op", sorted(COMMANDS))
def test_encoded_command_is_one_line_ending_with_a_newline(op: str) -> None:
    line = encode_command(op, **required_command_fields(op), note="a\nb\r\nc\u2028d")

    assert line.endswith("\n")
    assert line[:-1].splitlines() == [line[:-1]]


def test_decoded_command_keeps_unknown_fields() -> None:
    line = encode_command("render", layer="BG", frames=[1], priority="high")

    assert decode_command(line).get("priority") == "high"


def test_decoded_render_command_keeps_its_overrides() -> None:
    overrides = {"camera": "shotCam", "output_dir": "/tmp/out", "image_prefix": "<Scene>"}
    line = encode_command("render", layer="BG", frames=[1], overrides=overrides)

    assert decode_command(line).get("overrides") == overrides


def test_command_get_returns_the_default_for_an_absent_field() -> None:
    assert Command("quit").get("reason", "done") == "done"


def test_encode_command_refuses_an_unknown_op() -> None:
    with pytest.raises(ProtocolError, match="unknown command 'pause'"):
        encode_command("pause")


def test_encode_command_names_every_missing_required_field() -> None:
    with pytest.raises(ProtocolError, match=r"'render' lacks field\(s\): layer, frames"):
        encode_command("render")


@pytest.mark.parametrize("line", ["", "render BG 1-10", "{", "{'op': 'quit'}", "quit"])
def test_decode_command_rejects_text_that_is_not_json(line: str) -> None:
    with pytest.raises(ProtocolError, match="command is not JSON"):
        decode_command(line)


@pytest.mark.parametrize("line", ['"quit"', '["quit"]', "7", "null", "{}", '{"op": 1}'])
def test_decode_command_rejects_json_that_is_not_an_object_with_an_op(line: str) -> None:
    with pytest.raises(ProtocolError, match="command must be an object with an 'op'"):
        decode_command(line)


def test_decode_command_rejects_an_unknown_op_and_lists_the_known_ones() -> None:
    with pytest.raises(ProtocolError) as info:
        decode_command('{"op": "pause"}')

    message = str(info.value)
    assert "unknown command 'pause'" in message
    for op in COMMANDS:
        assert op in message


@pytest.mark.parametrize(
    ("line", "missing"),
    [
        ('{"op": "render", "frames": [1]}', "layer"),
        ('{"op": "render", "layer": "BG"}', "frames"),
        ('{"op": "render"}', "layer, frames"),
    ],
)
def test_decode_command_names_the_missing_fields(line: str, missing: str) -> None:
    with pytest.raises(ProtocolError, match=rf"lacks field\(s\): {missing}$"):
        decode_command(line)


@pytest.mark.parametrize(
    "frames",
    ["1-10", 5, None, {"1": 1}, [1, "2"], [1.0], [1, 2.5], [True], [1, False], [[1]], [None]],
)
def test_decode_command_rejects_frames_that_are_not_a_list_of_ints(frames: object) -> None:
    line = json.dumps({"op": "render", "layer": "BG", "frames": frames})

    with pytest.raises(ProtocolError, match="'frames' must be a list of whole frame numbers"):
        decode_command(line)


@pytest.mark.parametrize("frames", [[], [0], [-5, 1001], [1, 1, 1]])
def test_decode_command_accepts_any_list_of_ints_as_frames(frames: list[int]) -> None:
    line = json.dumps({"op": "render", "layer": "BG", "frames": frames})

    assert decode_command(line).get("frames") == frames


@pytest.mark.parametrize("layer", [None, 1, ["BG"], {"name": "BG"}, True])
def test_decode_command_rejects_a_layer_that_is_not_a_string(layer: object) -> None:
    line = json.dumps({"op": "render", "layer": layer, "frames": [1]})

    with pytest.raises(ProtocolError, match="'layer' must be a layer name"):
        decode_command(line)


@pytest.mark.parametrize("overrides", [None, "camera=shotCam", ["camera"], 1])
def test_decode_command_rejects_overrides_that_are_not_an_object(overrides: object) -> None:
    line = json.dumps({"op": "render", "layer": "BG", "frames": [1], "overrides": overrides})

    with pytest.raises(ProtocolError, match="'overrides' must be an object"):
        decode_command(line)


def test_decode_command_accepts_a_trailing_newline() -> None:
    assert decode_command('{"op": "quit"}\n') == Command("quit", {})


# ------------------------------------------------------------------------------- hello


def test_check_hello_accepts_the_current_protocol_version() -> None:
    hello = decode_line(encode_event("hello", protocol=PROTOCOL_VERSION, pid=4321))
    assert hello is not None

    check_hello(hello)  # must not raise

    assert hello["protocol"] == PROTOCOL_VERSION


@pytest.mark.parametrize(
    "theirs", [PROTOCOL_VERSION + 1, PROTOCOL_VERSION - 1, 0, "1", 1.5, None, [1]]
)
def test_check_hello_rejects_another_protocol_version(theirs: object) -> None:
    with pytest.raises(ProtocolError, match=re.escape(f"worker speaks protocol {theirs!r}")):
        check_hello(Event("hello", {"protocol": theirs}))


def test_check_hello_rejects_a_hello_without_a_version() -> None:
    with pytest.raises(ProtocolError, match="worker speaks protocol None"):
        check_hello(Event("hello", {}))


def test_check_hello_version_error_says_what_to_do() -> None:
    with pytest.raises(ProtocolError) as info:
        check_hello(Event("hello", {"protocol": PROTOCOL_VERSION + 1}))

    message = str(info.value)
    assert f"this manager speaks {PROTOCOL_VERSION}" in message
    assert "PYTHONPATH" in message
    assert "Maya module path" in message


@pytest.mark.parametrize("name", sorted(set(EVENTS) - {"hello"}))
def test_check_hello_rejects_any_other_first_event(name: str) -> None:
    with pytest.raises(ProtocolError, match=f"expected 'hello' first, got {name!r}"):
        check_hello(Event(name, required_event_fields(name)))


# -------------------------------------------------------------------------- properties

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=4,
)
# Left out on purpose: "ev" (a field named so replaces the event name on the wire) and
# "name" (it collides with encode_event's positional parameter).
EXTRA_FIELDS = st.dictionaries(
    st.text(max_size=12).filter(lambda key: key not in {"ev", "name"}), JSON_VALUES, max_size=4
)


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(sorted(EVENTS)), extra=EXTRA_FIELDS)
def test_any_json_safe_extra_fields_round_trip_through_an_event(
    name: str, extra: dict[str, Any]
) -> None:
    fields = {**required_event_fields(name), **extra}

    assert decode_line(encode_event(name, **fields)) == Event(name, fields)


@settings(max_examples=40, deadline=None)
@given(log=st.text().filter(lambda text: EVENT_PREFIX + "{" not in text))
def test_any_log_text_before_an_event_is_split_off_intact(log: str) -> None:
    event = encode_event("frame_started", layer="BG", frame=1)

    assert split_event(log + event) == (log, event[len(EVENT_PREFIX) :])


def test_hello_with_a_boolean_protocol_is_refused() -> None:
    with pytest.raises(ProtocolError):
        check_hello(Event("hello", {"protocol": True}))


def test_an_event_field_named_ev_is_refused() -> None:
    with pytest.raises(ProtocolError, match="'ev'"):
        encode_event("ready", ev="bye")


def test_an_event_may_carry_a_field_called_name() -> None:
    event = decode_line(encode_event("hello", protocol=1, name="x"))
    assert event is not None and event["name"] == "x"


def test_event_or_none_reads_log_and_malformed_events_as_none() -> None:
    assert event_or_none("0:00:01 | 10% done") is None
    assert event_or_none(EVENT_PREFIX + '{"ev": "frame_done"') is None  # cut off
    assert event_or_none(encode_event("ready")) == Event("ready", {})
