"""Frame lists that a render farm reads exactly as this tool does.

Our frame syntax (``docs/frame-syntax.md``) has one rule that farm engines do not share: a
stepped range always renders its last frame (``1-100x5`` is 1, 6, ..., 96, **100**). Thinkbox
Deadline reads the same text without the 100, so we never send our syntax to a farm: every
frame list leaves this module as an EXPLICIT list in a form the engine cannot misread.

Deadline 10 (``Frames=`` in a job info file). Documented rules (Thinkbox, "Frame List
Formatting Options", Deadline 7.2 blog, still the reference for Deadline 10;
https://www.awsthinkbox.com/blog/frame-list-formatting): frames separated by commas or
spaces; ``a-b`` or ``a:b`` is a range, ``b-a`` a reverse range; a step is written ``x``,
``:``, ``step``, ``by`` or ``every`` and does NOT add the last frame (``1-100x5`` stops at
96); "individual frames are never repeated in a job". :func:`to_deadline_frames` writes only
single frames and plain ``a-b`` runs of consecutive frames (ascending or descending, never a
step), so no rule about steps can change what renders. Negative frames are written one by
one (``-3,-2,-1``), never as ``-3--1``: the blog does not document negative ranges.

Open Job Description (``range:`` of an ``INT`` / ``CHUNK[INT]`` task parameter). The
2023-09 template schema (openjd-specifications ``wiki/2023-09-Template-Schemas.md``
§3.4.1.1.1 ``<IntRangeExpr>``): comma-separated elements ``n``, ``a-b`` and ``a-b:s``
(integers may be negative, ``s`` non-zero); ``a-b:s`` is ``a, a+s, ...`` up to ``b`` (the
last frame only when the step lands on it); "no two ranges in the expression are allowed to
overlap" and "the elements ... are combined to form a list of values in increasing order".
The reference parser (openjd-model ``_range_expr.py``, 0.13) also refuses a descending
``a-b`` without a negative step, and measures a stepped element to its last VALUE when it
checks overlaps (so it accepts ``1-10:4,10-15``, which the schema's example table calls an
overlap); :func:`parse_openjd_range_expr` follows the parser, and we never write either.
So an OpenJD job always runs a layer's frames as an ascending set: the ORDER of our list
(``10-1``, preview-first) cannot be carried to OpenJD, only the frames.
:func:`to_openjd_range_expr` therefore sorts and de-duplicates, and says so.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable

__all__ = [
    "FarmFrameError",
    "contiguous_runs",
    "parse_deadline_frames",
    "parse_openjd_range_expr",
    "to_deadline_frames",
    "to_openjd_range_expr",
]


class FarmFrameError(ValueError):
    """A frame list that cannot be written for, or read from, a farm engine."""


def _unique(frames: Iterable[int]) -> list[int]:
    """The frames in order without repeats; refuses non-integers and an empty list."""
    values: list[int] = []
    for frame in frames:
        if isinstance(frame, bool) or not isinstance(frame, int):
            raise FarmFrameError(f"frame numbers must be whole numbers, got {frame!r}")
        values.append(frame)
    if not values:
        raise FarmFrameError("no frames to render")
    return list(dict.fromkeys(values))


def contiguous_runs(frames: Iterable[int]) -> list[list[int]]:
    """Split frames (in their order) into runs whose neighbours differ by exactly +1 or -1."""
    runs: list[list[int]] = []
    for frame in _unique(frames):
        if runs:
            run = runs[-1]
            step = frame - run[-1]
            if abs(step) == 1 and (len(run) == 1 or run[-1] - run[-2] == step):
                run.append(frame)
                continue
        runs.append([frame])
    return runs


# --------------------------------------------------------------------------- Deadline


def to_deadline_frames(frames: Iterable[int]) -> str:
    """Deadline's ``Frames=`` value for exactly these frames, in this order.

    Single frames and plain ``a-b`` runs only (three or more consecutive non-negative frames,
    ascending or descending), joined by commas; never a step. Duplicates are dropped first,
    as Deadline itself does.

    Raises:
        FarmFrameError: no frames, or a value that is not a whole number.
    """
    parts: list[str] = []
    for run in contiguous_runs(frames):
        if len(run) >= 3 and min(run[0], run[-1]) >= 0:
            parts.append(f"{run[0]}-{run[-1]}")
        else:
            parts.extend(str(frame) for frame in run)
    return ",".join(parts)


_DEADLINE_ITEM = re.compile(
    r"(?P<start>-?\d+)(?:(?:-|:)(?P<end>-?\d+)(?:(?:x|:|step|by|every)(?P<step>\d+))?)?",
    re.IGNORECASE | re.ASCII,
)


def parse_deadline_frames(text: str) -> list[int]:
    """Expand a Deadline frame list the way Deadline documents it (see the module notes).

    Steps do not add the last frame; repeats are dropped, keeping the first.

    Raises:
        FarmFrameError: an item this syntax does not allow, or no frames at all.
    """
    frames: list[int] = []
    for item in re.split(r"[,\s]+", text.strip()):
        if not item:
            continue
        match = _DEADLINE_ITEM.fullmatch(item)
        if match is None:
            raise FarmFrameError(f"not a Deadline frame list item: {item!r}")
        start = int(match["start"])
        if match["end"] is None:
            frames.append(start)
            continue
        end = int(match["end"])
        step = int(match["step"] or 1)
        if step < 1:
            raise FarmFrameError(f"step must be 1 or more in {item!r}")
        direction = 1 if end >= start else -1
        frames.extend(range(start, end + direction, step * direction))
    if not frames:
        raise FarmFrameError("no frames in the Deadline frame list")
    return list(dict.fromkeys(frames))


# --------------------------------------------------------------------------- OpenJD


def to_openjd_range_expr(frames: Iterable[int]) -> str:
    """An OpenJD ``<IntRangeExpr>`` for exactly this SET of frames (ascending, no repeats).

    Consecutive frames become ``a-b``, arithmetic runs of three or more with a larger step
    ``a-b:s`` (ending on the run's last frame, so nothing is added or lost), anything else a
    single frame. Elements never overlap, as the specification requires. The list's order is
    not kept: OpenJD orders the values itself (see the module notes).

    Raises:
        FarmFrameError: no frames, or a value that is not a whole number.
    """
    values = sorted(_unique(frames))
    parts: list[str] = []
    i = 0
    while i < len(values):
        j = i
        if i + 1 < len(values):
            step = values[i + 1] - values[i]
            j = i + 1
            while j + 1 < len(values) and values[j + 1] - values[j] == step:
                j += 1
            if step > 1 and j - i < 2:
                j = i  # two frames far apart: not worth a stepped range
        if j == i:
            parts.append(str(values[i]))
        elif values[j] - values[j - 1] == 1:
            parts.append(f"{values[i]}-{values[j]}")
        else:
            parts.append(f"{values[i]}-{values[j]}:{values[j] - values[j - 1]}")
        i = j + 1
    return ",".join(parts)


_OPENJD_ELEMENT = re.compile(
    r"[ \t]*(?P<start>-?\d+)"
    r"(?:[ \t]*-[ \t]*(?P<end>-?\d+)(?:[ \t]*:[ \t]*(?P<step>-?\d+))?)?[ \t]*",
    re.ASCII,
)


def parse_openjd_range_expr(text: str) -> list[int]:
    """Expand an OpenJD ``<IntRangeExpr>`` into its values, ascending.

    Follows the 2023-09 schema and the reference parser (openjd-model ``_range_expr.py``):
    ``a-b:s`` stops at the last value not past ``b``; a positive step needs ``a <= b`` and a
    negative one ``a >= b``; overlapping elements are an error. Used by
    :mod:`lrc_toolbox.farm.run_chunk` inside mayapy, where openjd-model is not installed.

    Raises:
        FarmFrameError: malformed text, a zero or wrong-signed step, or overlapping elements.
    """
    spans: list[tuple[int, int, range]] = []
    for element in text.split(","):
        match = _OPENJD_ELEMENT.fullmatch(element)
        if match is None:
            raise FarmFrameError(f"not an OpenJD range expression element: {element!r}")
        start = int(match["start"])
        end = int(match["end"]) if match["end"] is not None else start
        step = int(match["step"]) if match["step"] is not None else 1
        if step == 0:
            raise FarmFrameError(f"the step must not be zero in {element.strip()!r}")
        if (step > 0 and start > end) or (step < 0 and start < end):
            raise FarmFrameError(
                f"{element.strip()!r}: a descending range needs a negative step and an "
                "ascending range a positive one"
            )
        values = range(start, end + (1 if step > 0 else -1), step)
        spans.append((min(values[0], values[-1]), max(values[0], values[-1]), values))
    spans.sort(key=lambda span: (span[0], span[1]))
    for previous, current in itertools.pairwise(spans):
        if previous[1] >= current[0]:
            raise FarmFrameError(f"overlapping ranges in the OpenJD range expression {text!r}")
    return sorted(frame for _, _, values in spans for frame in values)
