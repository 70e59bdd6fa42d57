"""Frame lists sent to farms: each engine must render exactly the frames parse_frames returns.

Deadline is checked with :func:`deadline_reference_frames`, a separate implementation of the
rules Thinkbox documents ("Frame List Formatting Options", Deadline 7.2 blog: comma/space
separated; ``a-b`` or ``a:b`` ranges, ``b-a`` reversed; steps ``x : step by every`` that do
NOT add the last frame; repeats dropped). OpenJD is checked with openjd-model's own
``IntRangeExpr`` parser.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lrc_toolbox.farm.frames import (
    FarmFrameError,
    contiguous_runs,
    parse_deadline_frames,
    parse_openjd_range_expr,
    to_deadline_frames,
    to_openjd_range_expr,
)
from lrc_toolbox.records.frame_parser import parse_frames

EXPRESSIONS = [
    "1-100x5",  # 1, 6, ..., 96, 100: our step keeps the last frame
    "1-100",
    "100-1",
    "10-1x3",  # 10, 7, 4, 1
    "1-20x3",  # 1, 4, ..., 19, 20
    "-10--1",
    "-5-5",
    "-5--15x4",
    "0",
    "-3",
    "7",
    "1,1,2,3,3",
    "5,3,1,2",
    "1-10,5-15",
    "1-100:7, 200",
    "1001-1010 7 9 8",
    "1-3,10-12,20",
    "30-20, 1-5",
    "1,3,5,7",
    "2,4,6,8,10,11,12",
    "-2-2x2",
    "1000000-1000003",
]


def deadline_reference_frames(text: str) -> list[int]:
    """What Deadline renders for a ``Frames=`` value, per its documented rules."""
    out: list[int] = []
    seen: set[int] = set()
    for item in [i for i in re.split(r"[\s,]+", text) if i]:
        m = re.fullmatch(
            r"(-?\d+)(?:[-:](-?\d+)(?:(?:x|:|step|by|every)(\d+))?)?", item, re.IGNORECASE
        )
        assert m, f"Deadline would not read {item!r}"
        first = int(m.group(1))
        last = int(m.group(2)) if m.group(2) is not None else first
        step = int(m.group(3) or 1)
        frames = []
        value = first
        if last >= first:
            while value <= last:
                frames.append(value)
                value += step
        else:
            while value >= last:
                frames.append(value)
                value -= step
        for frame in frames:
            if frame not in seen:
                seen.add(frame)
                out.append(frame)
    return out


def openjd_frames(expr: str) -> list[int]:
    model = pytest.importorskip("openjd.model")
    return list(model.IntRangeExpr.from_str(expr))


# --------------------------------------------------------------------------- Deadline


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_deadline_renders_exactly_the_parsed_frames_in_order(expression: str) -> None:
    frames = parse_frames(expression)
    text = to_deadline_frames(frames)
    assert deadline_reference_frames(text) == frames
    assert parse_deadline_frames(text) == frames


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_deadline_list_never_uses_a_step(expression: str) -> None:
    text = to_deadline_frames(parse_frames(expression))
    assert not re.search(r"[x:]|step|by|every", text, re.IGNORECASE)
    # plain a-b runs only where both ends are non-negative (negatives one by one)
    for item in text.split(","):
        assert re.fullmatch(r"-?\d+|\d+-\d+", item), item


def test_our_stepped_range_would_lose_its_last_frame_on_deadline() -> None:
    ours = parse_frames("1-100x5")
    assert ours[-2:] == [96, 100]
    assert deadline_reference_frames("1-100x5")[-1] == 96  # why we never send our syntax
    assert (
        to_deadline_frames(ours) == "1,6,11,16,21,26,31,36,41,46,51,56,61,66,71,76,81,86,91,96,100"
    )


def test_deadline_lists_are_compact_for_runs() -> None:
    assert to_deadline_frames(parse_frames("1-100")) == "1-100"
    assert to_deadline_frames(parse_frames("100-1")) == "100-1"
    assert to_deadline_frames([1, 2]) == "1,2"
    assert to_deadline_frames([5, 1, 2, 3, 9]) == "5,1-3,9"
    assert to_deadline_frames(parse_frames("-3--1")) == "-3,-2,-1"
    assert to_deadline_frames([1, 1, 2, 2, 3]) == "1-3"


def test_deadline_reference_parser_follows_the_documented_examples() -> None:
    assert deadline_reference_frames("1-100x5")[:3] == [1, 6, 11]
    for spelling in ("1-100x5", "1:100:5", "1-100step5", "1-100by5", "1-100every5"):
        assert deadline_reference_frames(spelling) == list(range(1, 101, 5))
        assert parse_deadline_frames(spelling) == list(range(1, 101, 5))
    assert deadline_reference_frames("100-1") == list(range(100, 0, -1))
    assert parse_deadline_frames("100:1") == list(range(100, 0, -1))
    assert parse_deadline_frames("100-1x5") == list(range(100, 0, -5))
    assert parse_deadline_frames("5,5,5") == [5]
    assert parse_deadline_frames("5 10 15") == [5, 10, 15]


def test_bad_input_is_refused() -> None:
    with pytest.raises(FarmFrameError):
        to_deadline_frames([])
    with pytest.raises(FarmFrameError):
        to_deadline_frames([1, True])
    with pytest.raises(FarmFrameError):
        to_openjd_range_expr([1.5])  # type: ignore[list-item]
    with pytest.raises(FarmFrameError):
        parse_deadline_frames("1-10y2")
    with pytest.raises(FarmFrameError):
        parse_deadline_frames(" , ")


def test_contiguous_runs() -> None:
    assert contiguous_runs([1, 2, 3, 7, 6, 5, 9]) == [[1, 2, 3], [7, 6, 5], [9]]
    assert contiguous_runs([1, 2, 1]) == [[1, 2]]


# --------------------------------------------------------------------------- OpenJD


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_openjd_renders_exactly_the_parsed_frames_as_a_set(expression: str) -> None:
    frames = parse_frames(expression)
    expr = to_openjd_range_expr(frames)
    # OpenJD orders the values ascending (schema §3.4.1.1.1): the set is kept, not the order
    assert openjd_frames(expr) == sorted(frames)
    assert parse_openjd_range_expr(expr) == sorted(frames)


def test_openjd_expressions_use_steps_that_end_on_a_frame() -> None:
    assert to_openjd_range_expr(parse_frames("1-100x5")) == "1-96:5,100"
    assert to_openjd_range_expr(parse_frames("100-1")) == "1-100"
    assert to_openjd_range_expr(parse_frames("-10--1")) == "-10--1"
    assert to_openjd_range_expr([1, 10]) == "1,10"
    assert to_openjd_range_expr([3, 1, 2, 2]) == "1-3"
    assert to_openjd_range_expr([1, 3, 5, 6, 7]) == "1-5:2,6-7"


@pytest.mark.parametrize(
    "expr",
    ["1-5", "1 - 5", "1-5:2", "10-15:2,1-5", "1-10:4", "-1-1", "-10--1:3", "10-1:-3", "7"],
)
def test_our_openjd_parser_agrees_with_openjd_model(expr: str) -> None:
    assert parse_openjd_range_expr(expr) == sorted(openjd_frames(expr))


# The schema's table calls "1-10:4,10-15" an overlap, but openjd-model 0.13 measures a
# stepped range to its last VALUE (9), accepts it, and so do we; "9-15" really overlaps.
@pytest.mark.parametrize("expr", ["1-10:4,9-15", "1-5:0", "5-1", "1-5:-1", "a", "1-", ""])
def test_our_openjd_parser_refuses_what_openjd_model_refuses(expr: str) -> None:
    model = pytest.importorskip("openjd.model")
    with pytest.raises(FarmFrameError):
        parse_openjd_range_expr(expr)
    with pytest.raises((ValueError, model.ExpressionError, model.TokenError)):
        model.IntRangeExpr.from_str(expr)


# --------------------------------------------------------------------------- properties


frame_lists = st.lists(st.integers(min_value=-2000, max_value=2000), min_size=1, max_size=60)


@settings(max_examples=300, deadline=None)
@given(frame_lists)
def test_any_frame_list_round_trips_on_both_engines(frames: list[int]) -> None:
    unique = list(dict.fromkeys(frames))
    assert deadline_reference_frames(to_deadline_frames(frames)) == unique
    assert parse_openjd_range_expr(to_openjd_range_expr(frames)) == sorted(unique)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=-500, max_value=500),
            st.integers(min_value=-500, max_value=500),
            st.integers(min_value=1, max_value=12),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_any_stepped_expression_round_trips(items: list[tuple[int, int, int]]) -> None:
    expression = ",".join(f"{a}-{b}x{s}" if a != b else str(a) for a, b, s in items)
    frames = parse_frames(expression)
    assert deadline_reference_frames(to_deadline_frames(frames)) == frames
    assert openjd_frames(to_openjd_range_expr(frames)) == sorted(frames)
