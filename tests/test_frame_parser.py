"""Tests for the frame-list parser, formatter and preview.

The parser is the one gate between what users type and what the render queue does,
so these tests pin exact expansions, exact error positions, and use hypothesis to check
that formatting round-trips and that no input can crash the parser with anything but
a FrameRangeError.
"""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lrc_toolbox.records.frame_parser import (
    MAX_FRAME_NUMBER,
    MAX_FRAMES,
    FrameRangeError,
    count_frames,
    format_frames,
    parse_frames,
    preview_frames,
)

# --------------------------------------------------------------------------- valid input

VALID = [
    ("7", [7]),
    ("-3", [-3]),
    ("0", [0]),
    ("-0", [0]),
    ("007", [7]),
    ("1,2,3", [1, 2, 3]),
    ("1 2 3", [1, 2, 3]),
    ("1, 2,\t3", [1, 2, 3]),
    ("  1 , 2 ", [1, 2]),
    ("1\n2\r\n3", [1, 2, 3]),
    ("1-5", [1, 2, 3, 4, 5]),
    ("5-1", [5, 4, 3, 2, 1]),
    ("3-3", [3]),
    ("-10--7", [-10, -9, -8, -7]),
    ("-2-2", [-2, -1, 0, 1, 2]),
    ("3--2", [3, 2, 1, 0, -1, -2]),
    ("1 -3", [1, -3]),
    ("1-10x3", [1, 4, 7, 10]),
    ("1-10x4", [1, 5, 9, 10]),
    ("10-1x4", [10, 6, 2, 1]),
    ("1-1x5", [1]),
    ("1-2x5", [1, 2]),
    ("1-10x1", list(range(1, 11))),
    ("-10--1x4", [-10, -6, -2, -1]),
    ("1-10:3", [1, 4, 7, 10]),
    ("1-10by3", [1, 4, 7, 10]),
    ("1-10step3", [1, 4, 7, 10]),
    ("1-10X3", [1, 4, 7, 10]),
    ("1-10BY3", [1, 4, 7, 10]),
    ("1-10Step3", [1, 4, 7, 10]),
    ("1-10 by 3", [1, 4, 7, 10]),
    ("1-10 x 3", [1, 4, 7, 10]),
    ("1-10\t:\t3", [1, 4, 7, 10]),
    ("1-10 3", [*range(1, 11)]),
    ("1-10x3,20", [1, 4, 7, 10, 20]),
    ("5,1-3,2", [5, 1, 2, 3]),
    ("1,1,1", [1]),
    ("3-1,1-3", [3, 2, 1]),
    (f"{MAX_FRAME_NUMBER}", [MAX_FRAME_NUMBER]),
    (f"-{MAX_FRAME_NUMBER}", [-MAX_FRAME_NUMBER]),
    (f"0001-3x{MAX_FRAME_NUMBER}", [1, 3]),
]


@pytest.mark.parametrize(("text", "expected"), VALID)
def test_parse_frames_expands_valid_expressions(text: str, expected: list[int]) -> None:
    assert parse_frames(text) == expected


def test_stepped_range_includes_first_and_last_frame() -> None:
    frames = parse_frames("1-100x5")
    assert frames == [*range(1, 97, 5), 100]
    assert len(frames) == 21


def test_stepped_range_does_not_repeat_a_last_frame_already_on_the_step() -> None:
    assert parse_frames("0-100x10") == list(range(0, 101, 10))


def test_parse_frames_accepts_exactly_max_frames() -> None:
    assert len(parse_frames("1-100", max_frames=100)) == 100


def test_parse_frames_counts_duplicates_against_the_cap() -> None:
    with pytest.raises(FrameRangeError, match="add up to 20 by 1-10"):
        parse_frames("1-10,1-10", max_frames=15)


def test_parse_frames_rejects_max_frames_below_one() -> None:
    with pytest.raises(ValueError, match="max_frames must be 1 or more"):
        parse_frames("1", max_frames=0)


def test_huge_range_is_refused_without_expanding() -> None:
    # A list of a billion ints would take many GB; this must fail immediately.
    with pytest.raises(FrameRangeError) as info:
        parse_frames(f"-{MAX_FRAME_NUMBER}-{MAX_FRAME_NUMBER}")
    assert "2,000,000,001 frames" in info.value.message


def test_count_frames_counts_distinct_frames() -> None:
    assert count_frames("1-10, 5") == 10


def test_count_frames_passes_the_cap_through() -> None:
    with pytest.raises(FrameRangeError):
        count_frames("1-10", max_frames=5)


def test_default_cap_is_one_hundred_thousand() -> None:
    assert MAX_FRAMES == 100_000
    assert len(parse_frames("1-100000")) == MAX_FRAMES


# --------------------------------------------------------------------------------- errors

ERRORS = [
    # (text, position, key phrase of the message)
    ("", 0, "no frames given"),
    ("   ", 0, "no frames given"),
    (" ,, ", 1, "expected a frame before the first ','"),
    ("1,,2", 2, "two commas with no frame between them"),
    ("1, ,2", 3, "two commas with no frame between them"),
    ("1,2,", 3, "nothing after the last ','"),
    ("abc", 0, "expected a frame number, found 'a'"),
    ("1-a", 2, "expected the last frame of the range, found 'a'"),
    ("1;2", 1, "unexpected ';': separate frames with commas or spaces"),
    ("7a", 1, "unexpected 'a'"),
    ("1-", 2, "expected the last frame of the range, found the end of the text"),
    ("-", 1, "expected digits after '-', found the end of the text"),
    ("--5", 1, "expected digits after '-', found '-'"),
    ("1--", 3, "expected digits after '-'"),
    ("1 -", 3, "expected digits after '-'"),
    ("1- 10", 2, "a range is written without spaces: 1-10"),
    ("1 - 10", 2, "a range is written without spaces: 1-10"),
    ("-1 - -10", 3, "a range is written without spaces: -1--10"),
    ("1- ", 2, "expected the last frame of the range right after '-'"),
    ("1-\n10", 2, "expected the last frame of the range right after '-'"),
    ("1-,5", 2, "expected the last frame of the range right after '-'"),
    ("x - 3", 0, "a step must come right after a range"),
    ("a - 3", 0, "expected a frame number, found 'a'"),
    ("- 3", 1, "expected digits after '-', found ' '"),
    ("1-10x", 5, "expected a step after 'x'"),
    ("1-10 by", 7, "expected a step after 'by'"),
    ("1-10step ,2", 9, "found nothing"),
    ("1-10:", 5, "expected a step after ':'"),
    ("1-10xq", 5, "expected a step after 'x' (a whole number, 1 or more), found 'q'"),
    ("1-10x0", 5, "step must be 1 or more"),
    ("1-10x 000", 6, "step must be 1 or more"),
    ("1-10x-2", 5, "step must be 1 or more"),
    ("1.5", 1, "decimal frames are not supported: use whole frame numbers"),
    (".5", 0, "decimal frames are not supported"),
    ("1-.5", 2, "decimal frames are not supported"),
    ("1-2.5", 3, "decimal frames are not supported"),
    ("1-10x0.5", 6, "decimal frames are not supported"),
    ("1-10x.5", 5, "decimal frames are not supported"),
    ("-.5", 1, "decimal frames are not supported"),
    ("1000000001", 0, "frame numbers are limited to"),
    ("-1000000001", 0, "frame numbers are limited to"),
    ("1-" + "9" * 5000, 2, "frame numbers are limited to"),
    ("1-10x1000000001", 5, "step is too large"),
    ("1-10000000", 0, "1-10000000 expands to 10,000,000 frames; the limit is 100,000"),
    ("1-999999999", 0, "check the range or add a step"),
    ("1,2,1-99999", 4, "the frames add up to 100,001 by 1-99999"),
    ("5x2", 1, "a step needs a range: write 5-20x2"),
    ("5 by 3", 2, "a step needs a range: write 5-20x3"),
    ("5x0", 1, "write 5-20x2"),
    ("5x123456", 1, "write 5-20x2"),
    ("5x", 1, "write 5-20x2"),
    ("x5", 0, "a step must come right after a range"),
    ("1-10, x5", 6, "a step must come right after a range"),
    ("+5", 0, "write frames without a '+'"),
    ("1-+5", 2, "found '+'"),
    ("1-10-20", 4, "a range has only two ends"),
    ("1-10x2x3", 6, "a range takes only one step"),
    ("1-10x2by3", 6, "a range takes only one step"),
    ("1-10x2-5", 6, "unexpected '-'"),
    ("1-10y3", 4, "OpenCue's 'y' (skip) ranges are not supported"),
    ("1-10Y3", 4, "OpenCue's 'y'"),
    ("1-10q", 4, "expected a comma, a space or a step"),
    ("1-10 s5", 5, "expected a frame number, found 's'"),
    ("1\u00a02", 1, "unexpected '\\xa0'"),
    ("1-10 - 20", 5, "a range is written without spaces: 10-20"),
    ("1\t-\t5", 2, "a range is written without spaces: 1-5"),
    ("1 \n- 5", 4, "expected digits after '-', found ' '"),
    ("1" + " " * 100 + "- 5", 102, "expected digits after '-', found ' '"),
    ("1-10\u017fTEP2", 4, "expected a comma, a space or a step"),
    ("\uff11", 0, "expected a frame number"),
]


@pytest.mark.parametrize(("text", "position", "phrase"), ERRORS)
def test_parse_frames_reports_errors_at_the_offending_character(
    text: str, position: int, phrase: str
) -> None:
    with pytest.raises(FrameRangeError) as info:
        parse_frames(text)
    err = info.value
    assert phrase in err.message
    assert err.position == position
    assert err.text == text


def test_frame_range_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="no frames given"):
        parse_frames("")


def test_frame_range_error_str_uses_one_based_column() -> None:
    err = FrameRangeError("bad", "1-a", 2)
    assert str(err) == "bad (at column 3)"


def test_frame_range_error_pointer_puts_caret_under_position() -> None:
    with pytest.raises(FrameRangeError) as info:
        parse_frames("1-a")
    assert info.value.pointer() == "1-a\n  ^"


def test_frame_range_error_pointer_can_point_past_the_end() -> None:
    with pytest.raises(FrameRangeError) as info:
        parse_frames("1-10x")
    assert info.value.pointer() == "1-10x\n     ^"


def test_frame_range_error_pointer_flattens_whitespace_to_stay_two_lines() -> None:
    err = FrameRangeError("bad", "1\n2\t;", 4)
    assert err.pointer() == "1 2 ;\n    ^"


def test_frame_range_error_survives_pickling() -> None:
    # Errors may cross a process boundary (worker pools), so they must pickle.
    err = FrameRangeError("bad", "1-a", 2)
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.message, copy.text, copy.position, str(copy)) == (
        "bad",
        "1-a",
        2,
        "bad (at column 3)",
    )


# ----------------------------------------------------------------------------- formatting

FORMATS = [
    ([], ""),
    ([7], "7"),
    ([-7], "-7"),
    ([1, 2], "1-2"),
    ([1, 2, 3, 4, 5], "1-5"),
    ([5, 4, 3], "5-3"),
    ([-5, -4, -3, -2, -1], "-5--1"),
    ([-3, -2, -1, 0, 1, 2], "-3-2"),
    ([2, 1, 0, -1], "2--1"),
    ([1, 3], "1,3"),
    ([1, 3, 5], "1-5x2"),
    ([9, 6, 3], "9-3x3"),
    ([-1, -4, -7], "-1--7x3"),
    ([1, 4, 7, 10], "1-10x3"),
    ([*range(1, 97, 5), 100], "1-100x5"),
    ([10, 6, 2, 1], "10-1x4"),
    ([1, 3, 5, 6, 7], "1-5x2,6-7"),
    ([1, 6, 11, 12, 14, 16], "1-11x5,12-16x2"),
    ([1, 6, 11, 13], "1-13x5"),
    ([1, 6, 11, 20], "1-11x5,20"),
    ([1, 6, 11, 0], "1-11x5,0"),
    ([5, 1, 2, 3], "5,1-3"),
    ([1, 10, 2], "1,10,2"),
]


@pytest.mark.parametrize(("frames", "expected"), FORMATS)
def test_format_frames_writes_compact_text(frames: list[int], expected: str) -> None:
    assert format_frames(frames) == expected


@pytest.mark.parametrize(("frames", "text"), [(f, t) for f, t in FORMATS if f])
def test_format_frames_examples_parse_back(frames: list[int], text: str) -> None:
    assert parse_frames(text) == frames


def test_format_frames_accepts_any_iterable() -> None:
    assert format_frames(iter([3, 2, 1])) == "3-1"


# -------------------------------------------------------------------------------- preview

PREVIEWS = [
    ([], {}, "no frames"),
    ([7], {}, "1 frame: 7"),
    ([1, 2, 3], {}, "3 frames: 1, 2, 3"),
    ([1, 2, 3, 4, 5, 6], {}, "6 frames: 1, 2, 3, 4, 5, 6"),
    ([*range(1, 97, 5), 100], {}, "21 frames: 1, 6, 11 ... 96, 100"),
    (list(range(100_000)), {}, "100,000 frames: 0, 1, 2 ... 99998, 99999"),
    (list(range(10)), {"head": 1, "tail": 1}, "10 frames: 0 ... 9"),
    (list(range(10)), {"head": 0, "tail": 2}, "10 frames: ... 8, 9"),
    (list(range(10)), {"head": 2, "tail": 0}, "10 frames: 0, 1 ..."),
    (list(range(10)), {"head": 0, "tail": 0}, "10 frames: ..."),
]


@pytest.mark.parametrize(("frames", "kwargs", "expected"), PREVIEWS)
def test_preview_frames_summarises(
    frames: list[int], kwargs: dict[str, int], expected: str
) -> None:
    assert preview_frames(frames, **kwargs) == expected


def test_preview_frames_rejects_negative_head_or_tail() -> None:
    with pytest.raises(ValueError, match="0 or more"):
        preview_frames([1, 2], head=-1)


# ------------------------------------------------------------------------------ properties

frame_values = st.integers(min_value=-MAX_FRAME_NUMBER, max_value=MAX_FRAME_NUMBER)


@st.composite
def frame_lists(draw: st.DrawFn) -> list[int]:
    """Unique frames built from runs, so the formatter's range paths get exercised."""
    frames: list[int] = []
    for _ in range(draw(st.integers(min_value=0, max_value=6))):
        start = draw(st.integers(min_value=-200, max_value=200))
        step = draw(st.integers(min_value=1, max_value=7)) * draw(st.sampled_from([1, -1]))
        length = draw(st.integers(min_value=1, max_value=8))
        frames.extend(start + step * k for k in range(length))
        frames.extend(draw(st.lists(frame_values, max_size=2)))
    return list(dict.fromkeys(frames))


unique_frames = st.one_of(frame_lists(), st.lists(frame_values, unique=True, max_size=30))


@given(unique_frames)
def test_format_then_parse_round_trips(frames: list[int]) -> None:
    text = format_frames(frames)
    if frames:
        assert parse_frames(text) == frames
    else:
        assert text == ""


@given(unique_frames.filter(bool))
def test_format_is_stable_after_a_round_trip(frames: list[int]) -> None:
    text = format_frames(frames)
    assert format_frames(parse_frames(text)) == text


@given(
    first=st.integers(min_value=-10_000, max_value=10_000),
    last=st.integers(min_value=-10_000, max_value=10_000),
    step=st.integers(min_value=1, max_value=5_000),
    word=st.sampled_from(["x", ":", "by", "step", " x ", " BY "]),
)
def test_stepped_range_stays_in_bounds_and_keeps_both_ends(
    first: int, last: int, step: int, word: str
) -> None:
    frames = parse_frames(f"{first}-{last}{word}{step}")
    low, high = min(first, last), max(first, last)
    assert all(low <= f <= high for f in frames)
    assert frames[0] == first
    assert frames[-1] == last
    span = high - low
    assert len(frames) == span // step + 1 + (1 if span % step else 0)
    assert len(set(frames)) == len(frames)


@st.composite
def expressions(draw: st.DrawFn) -> tuple[str, list[int]]:
    """A valid expression and its expansion, computed independently of the parser."""
    pieces: list[str] = []
    expected: list[int] = []
    for _ in range(draw(st.integers(min_value=1, max_value=5))):
        first = draw(st.integers(min_value=-300, max_value=300))
        kind = draw(st.sampled_from(["frame", "range", "stepped"]))
        if kind == "frame":
            pieces.append(str(first))
            expected.append(first)
            continue
        last = draw(st.integers(min_value=-300, max_value=300))
        step = draw(st.integers(min_value=1, max_value=40)) if kind == "stepped" else 1
        word = draw(st.sampled_from(["x", "X", ":", "by", "By", "step", "STEP", " x ", "\tby "]))
        pieces.append(f"{first}-{last}{word}{step}" if kind == "stepped" else f"{first}-{last}")
        direction = 1 if last >= first else -1
        frames = list(range(first, last + direction, step * direction))
        if frames[-1] != last:
            frames.append(last)
        expected.extend(frames)
    separators = st.sampled_from([",", " ", ", ", "\t", " ,\n", "\t ,  "])
    text = pieces[0]
    for piece in pieces[1:]:
        text += draw(separators) + piece
    edges = st.sampled_from(["", " ", "\t\n", " \t"])
    return draw(edges) + text + draw(edges), list(dict.fromkeys(expected))


@given(expressions())
def test_parse_matches_a_reference_expansion(case: tuple[str, list[int]]) -> None:
    text, expected = case
    assert parse_frames(text) == expected


@given(st.text())
def test_parse_only_ever_raises_frame_range_error(text: str) -> None:
    try:
        parse_frames(text)
    except FrameRangeError as err:
        assert 0 <= err.position <= len(text)
        assert err.text == text
        assert err.pointer().count("\n") == 1


@given(st.text(alphabet="0123456789-,x: .by\t", max_size=30))
def test_parse_on_frame_like_text_only_raises_frame_range_error(text: str) -> None:
    try:
        frames = parse_frames(text)
    except FrameRangeError as err:
        assert 0 <= err.position <= len(text)
    else:
        assert frames
        assert len(set(frames)) == len(frames)
