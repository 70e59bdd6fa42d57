"""Frame-list expressions: parse ``"1-100x5, 120"`` into frame numbers and back.

Users type frame lists in the UI, the CLI and config files; this module is the single
place that turns that text into an ordered list of whole frame numbers, so every entry
point accepts exactly the same syntax and reports mistakes the same way (with the
column of the problem, so the CLI can draw a caret under it).

The syntax is documented for users in ``docs/frame-syntax.md``. In short: items are
separated by whitespace with at most one comma in it (``1,,2``, a leading or a trailing
comma is an error: a frame was probably left out); an item is a frame (``7``, ``-3``),
a range (``1-10``, ``10-1``, ``-5--1``) or a stepped range (``1-100x5``, ``1-100:5``,
``1-100by5``, ``1-100step5``). A stepped range always includes its first and last
frame (unlike Thinkbox Deadline). Duplicates are dropped, keeping the first one.

The parser is a small hand-written scanner (using tiny anchored regexes for single
tokens) rather than one big regex, so every error knows its exact position and can say
what was expected there. It runs in linear time and never evaluates the text: frame
counts are computed arithmetically and checked against a cap before anything is
expanded, so ``1-999999999`` fails at once instead of allocating a huge list.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from itertools import chain
from typing import NamedTuple

__all__ = [
    "MAX_FRAMES",
    "MAX_FRAME_NUMBER",
    "FrameRangeError",
    "count_frames",
    "format_frames",
    "parse_frames",
    "preview_frames",
]

MAX_FRAMES: int = 100_000
"""Default cap on how many frames one expression may expand to (a typo guard)."""

MAX_FRAME_NUMBER: int = 1_000_000_000
"""Largest absolute frame number (and largest step) the parser accepts."""

# Every pattern below is applied with .match() at a known position and has no nested
# repetition, so each call is linear in what it consumes and the parse stays linear.
_SEPARATORS = frozenset(" \t\r\n\f\v,")
_DIGITS = frozenset("0123456789")
_BLANKS_RE = re.compile(r"[ \t\r\n\f\v]*")
_NUMBER_RE = re.compile(r"(-?)([0-9]+)")
# Blanks (not commas) may surround a step keyword; re.ASCII keeps case-folding to
# ASCII, so look-alikes such as U+017F (long s) are not taken for "s".
_STEP_WORD_RE = re.compile(r"[ \t]*(step|by|x|:)[ \t]*", re.IGNORECASE | re.ASCII)
_SPACED_NUMBER_RE = re.compile(r"[ \t]*(-?[0-9]+)")
_NUMBER_BEFORE_RE = re.compile(r"(?<![0-9])(-?[0-9]+)[ \t]*\Z")
_MAX_DIGITS = len(str(MAX_FRAME_NUMBER))
_DECIMAL_MESSAGE = "decimal frames are not supported: use whole frame numbers"
_FRAME_LIMIT_MESSAGE = f"frame numbers are limited to -{MAX_FRAME_NUMBER:,} .. {MAX_FRAME_NUMBER:,}"
_STEP_LIMIT_MESSAGE = f"step is too large: the limit is {MAX_FRAME_NUMBER:,}"


class FrameRangeError(ValueError):
    """A frame expression that cannot be parsed, with the column of the problem.

    ``str(err)`` is the message followed by ``" (at column N)"``, where ``N`` is
    1-based because it is meant for people; :attr:`position` stays 0-based for code.

    Attributes:
        text: The expression as given.
        position: 0-based index into ``text`` of the offending character; it equals
            ``len(text)`` when something was expected after the end.
        message: The human-readable message, without the position.
    """

    def __init__(self, message: str, text: str, position: int) -> None:
        """Store the pieces separately so callers can format them their own way."""
        super().__init__(message, text, position)  # args in __init__ order: picklable
        self.message = message
        self.text = text
        self.position = position

    def __str__(self) -> str:
        """Return the message with a 1-based column, the way people count."""
        return f"{self.message} (at column {self.position + 1})"

    def pointer(self) -> str:
        """Return the text and a caret under the problem, as two lines.

        Whitespace such as tabs and newlines is shown as a plain space so the caret
        lines up and the result is always exactly two lines.
        """
        line = "".join(" " if ch.isspace() else ch for ch in self.text)
        return f"{line}\n{' ' * self.position}^"


class _Item(NamedTuple):
    """One parsed item; a single frame is a range whose first and last are equal."""

    start: int
    end: int
    first: int
    last: int
    step: int

    def frame_count(self) -> int:
        """Return how many frames this item expands to, without expanding it."""
        span = abs(self.last - self.first)
        return span // self.step + 1 + (1 if span % self.step else 0)

    def frames(self) -> Iterable[int]:
        """Return the frames from first towards last, always ending on last."""
        direction = 1 if self.last >= self.first else -1
        stepped = range(self.first, self.last + direction, self.step * direction)
        if abs(self.last - self.first) % self.step:
            return chain(stepped, (self.last,))
        return stepped


class _Scanner:
    """Left-to-right scanner over one expression.

    ``pos`` only moves forward on the success path; the error helpers may look a few
    characters back, but only once, just before raising.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def _char(self, pos: int) -> str:
        """Return the character at ``pos``, or "" past the end."""
        return self.text[pos : pos + 1]

    def _error(self, message: str, position: int) -> FrameRangeError:
        return FrameRangeError(message, self.text, position)

    def skip_separators(self, *, after_item: bool) -> bool:
        """Skip the separator before the next item; return True if an item follows.

        A separator is whitespace with at most one comma in it: a comma with nothing
        before it, two commas with nothing between them or a comma with nothing after
        it is an error, not a silent gap (``1,,2`` is most likely a frame left out).
        """
        text = self.text
        pos = _BLANKS_RE.match(text, self.pos).end()  # type: ignore[union-attr]
        if text.startswith(",", pos):
            if not after_item:
                raise self._error("expected a frame before the first ','", pos)
            comma = pos
            pos = _BLANKS_RE.match(text, pos + 1).end()  # type: ignore[union-attr]
            if text.startswith(",", pos):
                raise self._error(
                    "two commas with no frame between them: remove one, or put the "
                    "missing frame between them",
                    pos,
                )
            if pos >= len(text):
                raise self._error(
                    "nothing after the last ',': remove it, or add the missing frame", comma
                )
        self.pos = pos
        return pos < len(text)

    def item(self) -> _Item:
        """Read one frame, range or stepped range starting at the current position."""
        text, start = self.text, self.pos
        first = self._number("a frame number", _FRAME_LIMIT_MESSAGE)
        if not text.startswith("-", self.pos):
            word = _STEP_WORD_RE.match(text, self.pos)
            if word:
                raise self._step_without_range(first, word)
            self._expect_end_of_item(is_range=False, has_step=False)
            return _Item(start, self.pos, first, first, 1)
        self.pos += 1
        last = self._number("the last frame of the range", _FRAME_LIMIT_MESSAGE)
        step = 1
        word = _STEP_WORD_RE.match(text, self.pos)
        if word:
            self.pos = word.end()
            step = self._step(word.group(1))
        self._expect_end_of_item(is_range=True, has_step=word is not None)
        return _Item(start, self.pos, first, last, step)

    def _number(self, expected: str, limit_message: str) -> int:
        """Read a whole number (optionally negative) no larger than the limit."""
        match = _NUMBER_RE.match(self.text, self.pos)
        if match is None:
            raise self._not_a_number(expected)
        self.pos = match.end()
        if self.text.startswith(".", self.pos):
            raise self._error(_DECIMAL_MESSAGE, self.pos)
        sign, digits = match.groups()
        # Check the length before int(): converting a huge digit string is slow (and
        # refused above 4300 digits), and anything that long is over the limit anyway.
        if len(digits) > _MAX_DIGITS:
            digits = digits.lstrip("0") or "0"
        value = int(digits) if len(digits) <= _MAX_DIGITS else MAX_FRAME_NUMBER + 1
        if value > MAX_FRAME_NUMBER:
            raise self._error(limit_message, match.start())
        return -value if sign else value

    def _step(self, word: str) -> int:
        """Read the step after a step keyword (blanks already skipped); 1 or more."""
        ch = self._char(self.pos)
        if ch == "-":
            raise self._error(
                "step must be 1 or more: a range like 10-1x2 already steps downwards", self.pos
            )
        if ch == ".":
            raise self._error(_DECIMAL_MESSAGE, self.pos)
        if ch not in _DIGITS:  # also true for "" at the end of the text
            found = f"found {ch!r}" if ch and ch not in _SEPARATORS else "found nothing"
            raise self._error(
                f"expected a step after '{word}' (a whole number, 1 or more), {found}", self.pos
            )
        start = self.pos
        step = self._number("a step", _STEP_LIMIT_MESSAGE)
        if step == 0:
            raise self._error("step must be 1 or more", start)
        return step

    def _expect_end_of_item(self, *, is_range: bool, has_step: bool) -> None:
        """Require a separator or the end of the text after an item."""
        ch = self.text[self.pos : self.pos + 1]
        if not ch or ch in _SEPARATORS:
            return
        if has_step and _STEP_WORD_RE.match(self.text, self.pos):
            raise self._error("a range takes only one step", self.pos)
        if is_range and not has_step:
            if ch == "-":
                raise self._error("a range has only two ends, as in 1-10", self.pos)
            if ch in "yY":
                raise self._error(
                    "OpenCue's 'y' (skip) ranges are not supported: list the frames you want",
                    self.pos,
                )
            raise self._error(
                f"unexpected {ch!r}: expected a comma, a space or a step (x, :, by, step)",
                self.pos,
            )
        raise self._error(f"unexpected {ch!r}: separate frames with commas or spaces", self.pos)

    # -- error diagnosis (each runs at most once, just before raising) -------------

    def _step_without_range(self, first: int, word: re.Match[str]) -> FrameRangeError:
        """Explain ``5x2``: a step only makes sense on a range."""
        written = _SPACED_NUMBER_RE.match(self.text, word.end(1))
        digits = written.group(1).lstrip("-") if written else ""
        step = int(digits) if 0 < len(digits) <= 4 and int(digits) > 0 else 2
        return self._error(
            f"a step needs a range: write {first}-{first + 15}x{step}", word.start(1)
        )

    def _spaced_range_hint(self, dash: int) -> str:
        """Return "write it without spaces" for ``1 - 10`` or ``1- 10``, else ""."""
        # Only the few characters before the dash matter; searching a bounded window
        # keeps this linear even after a very long run of digits or blanks.
        before = _NUMBER_BEFORE_RE.search(self.text, max(0, dash - 64), dash)
        after = _SPACED_NUMBER_RE.match(self.text, dash + 1)
        if before and after:
            return f"a range is written without spaces: {before.group(1)}-{after.group(1)}"
        return ""

    def _not_a_number(self, expected: str) -> FrameRangeError:
        """Explain what is wrong where a number should have started."""
        pos = self.pos
        ch = self._char(pos)
        if ch == "-":
            after = self._char(pos + 1)
            if after == ".":
                return self._error(_DECIMAL_MESSAGE, pos + 1)
            hint = self._spaced_range_hint(pos) if after in (" ", "\t") else ""
            if hint:
                return self._error(hint, pos)
            found = f"found {after!r}" if after else "found the end of the text"
            return self._error(f"expected digits after '-', {found}", pos + 1)
        if ch == ".":
            return self._error(_DECIMAL_MESSAGE, pos)
        if not ch:
            return self._error(f"expected {expected}, found the end of the text", pos)
        if ch in _SEPARATORS:  # only reachable right after a range's '-'
            hint = self._spaced_range_hint(pos - 1) if ch in " \t" else ""
            return self._error(hint or f"expected {expected} right after '-'", pos)
        if ch == "+":
            return self._error(f"expected {expected}, found '+': write frames without a '+'", pos)
        if _STEP_WORD_RE.match(self.text, pos):
            return self._error("a step must come right after a range, as in 1-20x2", pos)
        return self._error(f"expected {expected}, found {ch!r}", pos)


def parse_frames(text: str, *, max_frames: int = MAX_FRAMES) -> list[int]:
    """Expand a frame expression into frame numbers, in input order, without duplicates.

    Args:
        text: The expression, e.g. ``"1-100x5, 120"``.
        max_frames: Most frames the expression may expand to (duplicates counted), so
            a typo such as ``1-10000000`` fails fast instead of queueing a huge job.

    Returns:
        The frames; a duplicate keeps the position of its first occurrence.

    Raises:
        FrameRangeError: The text is empty, malformed, or expands to too many frames.
        ValueError: ``max_frames`` is below 1 (a programming error, not user input).
    """
    if max_frames < 1:
        raise ValueError(f"max_frames must be 1 or more, got {max_frames}")
    scanner = _Scanner(text)
    items: list[_Item] = []
    total = 0
    while scanner.skip_separators(after_item=bool(items)):
        item = scanner.item()
        count = item.frame_count()
        total += count
        if total > max_frames:
            written = text[item.start : item.end]
            if count > max_frames:
                message = f"{written} expands to {count:,} frames"
                advice = "check the range or add a step"
            else:
                message = f"the frames add up to {total:,} by {written}"
                advice = "check the ranges or add steps"
            raise FrameRangeError(
                f"{message}; the limit is {max_frames:,} — {advice}", text, item.start
            )
        items.append(item)
    if not items:
        raise FrameRangeError("no frames given", text, 0)
    return list(dict.fromkeys(chain.from_iterable(item.frames() for item in items)))


def count_frames(text: str, *, max_frames: int = MAX_FRAMES) -> int:
    """Return how many distinct frames ``text`` renders (for "N frames" labels).

    Raises:
        FrameRangeError: As :func:`parse_frames`.
    """
    return len(parse_frames(text, max_frames=max_frames))


def _run_end(frames: Sequence[int], start: int) -> int:
    """Return the index of the last frame in the arithmetic run starting at ``start``."""
    end = start
    if start + 1 < len(frames):
        delta = frames[start + 1] - frames[start]
        end = start + 1
        while end + 1 < len(frames) and frames[end + 1] - frames[end] == delta:
            end += 1
    return end


def _is_compressible(frames: Sequence[int], start: int, end: int) -> bool:
    """Return True if ``frames[start..end]`` is written as a range rather than singles."""
    length = end - start + 1
    if length < 2:
        return False
    delta = abs(frames[start + 1] - frames[start])
    return delta == 1 or (delta > 1 and length >= 3)


def format_frames(frames: Iterable[int]) -> str:
    """Write frames compactly so that ``parse_frames`` gives back the same list.

    Runs of consecutive frames become ``a-b``, arithmetic runs of three or more become
    ``a-bxS`` (either direction), anything else a plain number, joined by ``,``. A
    stepped run followed by one frame short of the next step is written the way the
    parser reads it back, with that frame as the last: ``1,6,...,96,100`` is
    ``1-100x5``. The round trip holds for any unique frames the parser accepts
    (within :data:`MAX_FRAME_NUMBER` and ``max_frames``).
    """
    values = list(frames)
    parts: list[str] = []
    i = 0
    while i < len(values):
        end = _run_end(values, i)
        if not _is_compressible(values, i, end):
            parts.append(str(values[i]))
            i += 1
            continue
        first, delta = values[i], values[i + 1] - values[i]
        if abs(delta) == 1:
            parts.append(f"{first}-{values[end]}")
            i = end + 1
            continue
        last_index = end
        tail = end + 1
        # The parser always adds a range's last frame, so a lone frame that falls short
        # of the next step can close the run instead of standing on its own.
        if tail < len(values) and not _is_compressible(values, tail, _run_end(values, tail)):
            gap = (values[tail] - values[end]) * (1 if delta > 0 else -1)
            if 0 < gap < abs(delta):
                last_index = tail
        parts.append(f"{first}-{values[last_index]}x{abs(delta)}")
        i = last_index + 1
    return ",".join(parts)


def preview_frames(frames: Sequence[int], head: int = 3, tail: int = 2) -> str:
    """Summarise frames for a label or log line, e.g. ``"21 frames: 1, 6, 11 ... 96, 100"``.

    Lists of up to ``head + tail + 1`` frames are shown whole, since eliding a single
    frame would save nothing. The count uses thousands separators (``"100,000 frames"``).

    Raises:
        ValueError: ``head`` or ``tail`` is negative.
    """
    if head < 0 or tail < 0:
        raise ValueError(f"head and tail must be 0 or more, got head={head}, tail={tail}")
    count = len(frames)
    if count == 0:
        return "no frames"
    label = "1 frame" if count == 1 else f"{count:,} frames"
    if count <= head + tail + 1:
        return f"{label}: {', '.join(str(f) for f in frames)}"
    left = ", ".join(str(f) for f in frames[:head])
    right = ", ".join(str(f) for f in frames[count - tail :])
    return f"{label}: {' '.join(p for p in (left, '...', right) if p)}"
