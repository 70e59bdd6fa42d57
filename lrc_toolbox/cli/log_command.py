"""``lrc-batch-render log FILE``: what a renderer log says, for a TD reading a failed render.

Reads a Maya / renderer log (a worker's log from ``status``, a Deadline task log, a
``mayabatch`` console capture) and reports the frames started and finished with their
numbers, the images written, the last progress, and every fatal, frame-failed, error and
warning line with its line number. The classification is :mod:`lrc_toolbox.utils.log_parser`,
the same the manager uses while rendering.

How the file is read (each has a test):

* Streaming, line by line: memory stays bounded whatever the size of the log. Lines end at
  ``\\n`` and are numbered from 1 as editors and ``grep -n`` count them; trailing ``\\r``
  (Maya's ``\\r\\r\\n`` on Windows) is dropped; a bare ``\\r`` inside a line (a progress
  counter rewriting itself) splits it into several texts with the same number; invalid
  UTF-8 becomes U+FFFD; a line longer than 1 MiB is read in pieces.
* The renderer: ``--renderer`` when given. Otherwise it is guessed from the log in a first
  pass that stops at the first line showing what renders: the worker's ``hello`` event, or
  a frame, progress, output or frame-failed line from one renderer's table (Maya Software
  and Hardware 2.0 print the same lines, so both are named). Without such a line, a line
  naming one renderer's plug-in (missing, or failing to load) decides, if all of them
  name the same renderer. It matters: a missing plug-in is fatal only for the renderer
  that needs it. Input that is not a regular file (a pipe) is read once, without guessing.
* ``@lrc`` lines are the worker's protocol events (this project's worker logs), not
  renderer output: they are not classified. When a log has them, its frames come from the
  worker's ``frame_started`` / ``frame_done`` / ``frame_failed`` events, with their layers.
* Each list keeps its first :data:`LIST_LIMIT` items; ``counts`` has the totals.

Exit codes: 0 no fatal or frame-failed line, 1 at least one (so scripts can test it),
2 bad input (a missing or unreadable file, an unknown ``--renderer``).
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path
from typing import BinaryIO, TextIO

from lrc_toolbox.records import protocol
from lrc_toolbox.records.batch import ExitCode
from lrc_toolbox.records.frame_parser import format_frames
from lrc_toolbox.records.models import JsonModel
from lrc_toolbox.records.renderers import RENDERER_NAMES, RENDERERS
from lrc_toolbox.utils.log_parser import (
    LineKind,
    LogParser,
    ParsedLine,
    normalize_renderer,
    renderer_of_plugin,
    renderers_of_line,
)

__all__ = [
    "LIST_LIMIT",
    "FrameEnd",
    "LogEntry",
    "LogReport",
    "LoggedFrame",
    "LoggedImage",
    "LoggedProgress",
    "RendererGuess",
    "Verdict",
    "format_report",
    "read_log",
    "read_log_lines",
    "run_log_command",
]

LIST_LIMIT = 1000
"""Items each list of a :class:`LogReport` keeps (the first ones); ``counts`` has totals."""
PLAIN_LIMIT = 20
"""Lines of each section the plain output prints."""
_READ_CHUNK = 1 << 20
_TEXT_LIMIT = 2000
"""Characters of a line's text kept in the report."""


# --------------------------------------------------------------------------- records


class FrameEnd(str, Enum):
    """How a frame ends in the log."""

    DONE = "done"
    FAILED = "failed"
    NO_END = "no_end"
    """The log shows no end for it: the log stops, or the renderer prints no end line."""


@dataclass(frozen=True)
class LoggedFrame(JsonModel):
    """One frame (one try of it) as the log shows it.

    ``frame`` is None when the renderer does not print the number (Maya Software's
    ``Starting Rendering <image>``); ``layer`` is known only from the worker's events.
    """

    frame: int | None
    end: FrameEnd
    started_line: int | None = None
    ended_line: int | None = None
    reason: str | None = None
    layer: str | None = None


@dataclass(frozen=True)
class LoggedImage(JsonModel):
    """An image the log says was written."""

    path: str
    line: int


@dataclass(frozen=True)
class LoggedProgress(JsonModel):
    """The last progress line: the percentage as printed."""

    percent: float
    line: int


@dataclass(frozen=True)
class LogEntry(JsonModel):
    """A fatal, frame-failed, error or warning line.

    ``reason`` is the parser's reason (with the operating system's message when Maya printed
    it on the next line); ``text`` the line as written (at most 2,000 characters);
    ``renderer`` whose pattern matched (``maya`` for Maya's own messages).
    """

    line: int
    kind: LineKind
    reason: str
    text: str
    renderer: str | None = None


@dataclass(frozen=True)
class RendererGuess(JsonModel):
    """The renderer the log was read for, and why.

    Attributes:
        name: A supported renderer's name, or None when not known.
        source: ``option`` (``--renderer``), ``log`` (guessed) or ``none``.
        why: What decided, in words.
        line: The line that decided, for a guess.
        candidates: Every renderer the deciding line fits (Maya Software and Hardware 2.0
            print the same lines); ``name`` is the first.
    """

    name: str | None
    source: str
    why: str
    line: int | None = None
    candidates: tuple[str, ...] = ()

    def describe(self) -> str:
        """``Redshift (guessed from line 2: ...)`` for the plain output."""
        labels = " or ".join(RENDERERS[n].label for n in self.candidates or ())
        if self.name is None:
            return f"not known ({self.why}; --renderer sets it)"
        label = labels or RENDERERS[self.name].label
        if self.source == "option":
            return f"{label} (--renderer)"
        return f"{label} (guessed from line {self.line}: {self.why}; --renderer overrides)"


@dataclass(frozen=True)
class Verdict(JsonModel):
    """What stopped the render: the first fatal line, else the first frame-failed line."""

    kind: LineKind | None = None
    reason: str | None = None
    line: int | None = None

    def describe(self) -> str:
        """``fatal: <reason> (line N)``, ``frame failed: ...`` or ``no fatal line``."""
        if self.kind is None:
            return "no fatal line"
        word = "fatal" if self.kind is LineKind.FATAL else "frame failed"
        return f"{word}: {self.reason} (line {self.line})"


@dataclass(frozen=True)
class LogCounts(JsonModel):
    """Totals, also of what the lists leave out past :data:`LIST_LIMIT`."""

    lines: int = 0
    fatal: int = 0
    frame_failed: int = 0
    errors: int = 0
    warnings: int = 0
    frames: int = 0
    frames_done: int = 0
    frames_failed: int = 0
    frames_no_end: int = 0
    images: int = 0


@dataclass(frozen=True)
class LogReport(JsonModel):
    """What one log says; ``to_dict()`` is the ``--json`` output (docs/cli.md)."""

    file: str
    renderer: RendererGuess
    verdict: Verdict
    counts: LogCounts
    frames: tuple[LoggedFrame, ...] = ()
    images: tuple[LoggedImage, ...] = ()
    progress: LoggedProgress | None = None
    fatal: tuple[LogEntry, ...] = ()
    frame_failed: tuple[LogEntry, ...] = ()
    errors: tuple[LogEntry, ...] = ()
    warnings: tuple[LogEntry, ...] = ()
    limit: int = LIST_LIMIT
    truncated: bool = False

    @property
    def exit_code(self) -> int:
        """1 when the log has a fatal or frame-failed line, else 0."""
        if self.counts.fatal or self.counts.frame_failed:
            return int(ExitCode.FAILED_FRAMES)
        return int(ExitCode.OK)


# --------------------------------------------------------------------------- reading


def read_log_lines(stream: BinaryIO) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` for each line of a binary stream (see the module docstring).

    Every line yields at least once (an empty one as ``""``); a line holding bare ``\\r``
    rewrites yields each non-empty piece with the same number.
    """
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    number = 0
    at_start = True
    while True:
        raw = stream.readline(_READ_CHUNK)
        if not raw:
            rest = decoder.decode(b"", final=True)
            if rest:
                yield max(number, 1), rest
            return
        if at_start:
            number += 1
        at_start = raw.endswith(b"\n")
        text = decoder.decode(raw[:-1] if at_start else raw)
        pieces = [piece for piece in text.split("\r") if piece]
        for piece in pieces or [""]:
            yield number, piece


def _split(text: str) -> tuple[str, protocol.Event | None]:
    """A line's renderer text and the worker event on it (``@lrc``), if any."""
    log_text, payload = protocol.split_event(text)
    if payload is None:
        return text, None
    return log_text, protocol.event_or_none(text)


def guess_renderer(lines: Iterable[tuple[int, str]]) -> RendererGuess:
    """The renderer a log shows is rendering (see the module docstring); stops early."""
    parser = LogParser(None)
    weak: dict[str, int] = {}
    for number, text in lines:
        log_text, event = _split(text)
        if event is not None and event.name == "hello":
            named = normalize_renderer(str(event.get("renderer") or ""))
            if named is not None:
                return RendererGuess(named, "log", "the worker's hello", number, (named,))
        if not log_text:
            continue
        parsed = parser.parse_line(log_text)
        candidates = renderers_of_line(parsed)
        if candidates:
            what = parsed.kind.value.replace("_", " ")
            why = f"a {what} line of {' / '.join(RENDERERS[n].label for n in candidates)}"
            return RendererGuess(candidates[0], "log", why, number, candidates)
        owner = renderer_of_plugin(parsed.plugin)
        if owner is not None:
            weak.setdefault(owner, number)
    if len(weak) == 1:
        ((name, number),) = weak.items()
        why = f"a line naming {RENDERERS[name].label}'s plug-in, and no frame line"
        return RendererGuess(name, "log", why, number, (name,))
    if weak:
        why = "the log names the plug-ins of " + ", ".join(RENDERERS[n].label for n in weak)
        return RendererGuess(None, "none", why)
    return RendererGuess(None, "none", "no line in the log shows which renderer renders")


class _Frames:
    """Frames from frame lines or worker events; repeated start/end lines are one frame."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.items: list[LoggedFrame] = []
        self.total = 0
        self.by_end = dict.fromkeys(FrameEnd, 0)
        self._open: LoggedFrame | None = None  # end is ignored while open
        self._last: LoggedFrame | None = None  # the frame just ended, until another starts
        self._last_path: str | None = None  # the image its end line named

    def started(self, frame: int | None, line: int, layer: str | None = None) -> None:
        current = self._open
        if current is not None:
            if frame is None or current.frame is None or frame == current.frame:
                if current.frame is None and frame is not None:
                    self._open = replace(current, frame=frame)
                return  # Arnold's "Initializing at frame 1" then "starting N bucket workers"
            self._close(FrameEnd.NO_END, None, None, None)
        self._open = LoggedFrame(frame, FrameEnd.NO_END, started_line=line, layer=layer)
        self._last = None

    def ended(
        self,
        end: FrameEnd,
        frame: int | None,
        line: int,
        reason: str | None = None,
        path: str | None = None,
    ) -> None:
        current = self._open
        if current is not None:
            if frame is None or current.frame is None or frame == current.frame:
                self._close(end, line, reason, frame, path)
                return
            self._close(FrameEnd.NO_END, None, None, None)
        last = self._last
        same_image = path is None or self._last_path is None or path == self._last_path
        if last is not None and (frame is None or frame == last.frame) and same_image:
            # A second end line for the same frame (V-Ray's "Total frame time" then
            # "Render complete"; a worker's frame_failed after the renderer's line): one
            # frame, and a failure is never turned back into "done".
            if end is FrameEnd.FAILED and last.end is not FrameEnd.FAILED:
                self._amend(replace(last, end=end, ended_line=line, reason=reason))
            return
        self._add(LoggedFrame(frame, end, ended_line=line, reason=reason), path)

    def fail_open(self, line: int, reason: str) -> None:
        """A fatal line: the frame being rendered (if any) failed with it."""
        if self._open is not None:
            self._close(FrameEnd.FAILED, line, reason, None)

    def finish(self) -> None:
        if self._open is not None:
            self._close(FrameEnd.NO_END, None, None, None)

    def _close(
        self,
        end: FrameEnd,
        line: int | None,
        reason: str | None,
        frame: int | None,
        path: str | None = None,
    ) -> None:
        current = self._open
        assert current is not None
        self._open = None
        number = current.frame if current.frame is not None else frame
        self._add(replace(current, frame=number, end=end, ended_line=line, reason=reason), path)

    def _add(self, record: LoggedFrame, path: str | None = None) -> None:
        self.total += 1
        self.by_end[record.end] += 1
        if len(self.items) < self.limit:
            self.items.append(record)
        self._last = record if record.end is not FrameEnd.NO_END else None
        self._last_path = path

    def _amend(self, record: LoggedFrame) -> None:
        assert self._last is not None
        self.by_end[self._last.end] -= 1
        self.by_end[record.end] += 1
        if self.items and self.items[-1] == self._last:
            self.items[-1] = record
        self._last = record


class _Collector:
    """Everything a report needs, gathered line by line in bounded memory."""

    def __init__(self, renderer: str | None, limit: int) -> None:
        self.parser = LogParser(renderer)
        self.limit = limit
        self.frames = _Frames(limit)
        self.images: list[LoggedImage] = []
        self.image_count = 0
        self.progress: LoggedProgress | None = None
        self.entries: dict[LineKind, list[LogEntry]] = {k: [] for k in _ENTRY_KINDS}
        self.entry_counts = dict.fromkeys(_ENTRY_KINDS, 0)
        self.lines = 0
        self.worker_events = False
        self._last_entry: tuple[LineKind, int] | None = None

    def add(self, number: int, text: str) -> None:
        self.lines = max(self.lines, number)
        log_text, event = _split(text)
        if log_text:
            self._line(number, self.parser.parse_line(log_text))
        if event is not None:
            self._event(number, event)

    def _line(self, number: int, parsed: ParsedLine) -> None:
        kind = parsed.kind
        if parsed.continues:
            self._continue(parsed)
            return
        if kind in _ENTRY_KINDS:
            self._entry(number, parsed)
        if kind is LineKind.FATAL:
            self.frames.fail_open(number, parsed.reason or parsed.text)
        elif kind is LineKind.FRAME_FAILED:
            self.frames.ended(FrameEnd.FAILED, parsed.frame, number, parsed.reason)
        elif kind is LineKind.PROGRESS and parsed.percent is not None:
            self.progress = LoggedProgress(parsed.percent, number)
        elif kind is LineKind.FRAME_STARTED and not self.worker_events:
            self.frames.started(parsed.frame, number)
        elif kind is LineKind.FRAME_DONE and not self.worker_events:
            self.frames.ended(FrameEnd.DONE, parsed.frame, number, path=parsed.path)
        if kind in (LineKind.OUTPUT, LineKind.FRAME_DONE) and parsed.path:
            self.image_count += 1
            if len(self.images) < self.limit:
                self.images.append(LoggedImage(parsed.path, number))

    def _entry(self, number: int, parsed: ParsedLine) -> None:
        kind = parsed.kind
        self.entry_counts[kind] += 1
        items = self.entries[kind]
        self._last_entry = None
        if len(items) < self.limit:
            text = parsed.text if len(parsed.text) <= _TEXT_LIMIT else parsed.text[:_TEXT_LIMIT]
            reason = parsed.reason or parsed.text.strip()
            items.append(LogEntry(number, kind, reason, text, parsed.renderer))
            self._last_entry = (kind, len(items) - 1)

    def _continue(self, parsed: ParsedLine) -> None:
        """The OS reason after a failed plug-in load: complete the entry it belongs to."""
        if self._last_entry is None or self._last_entry[0] is not parsed.kind:
            return
        kind, index = self._last_entry
        items = self.entries[kind]
        items[index] = replace(items[index], reason=parsed.reason or items[index].reason)

    def _event(self, number: int, event: protocol.Event) -> None:
        name = event.name
        if name not in ("frame_started", "frame_done", "frame_failed"):
            return
        if not self.worker_events:
            # From the first event on, the worker's events are the frames (with layers).
            self.worker_events = True
            self.frames = _Frames(self.limit)
        frame = _int_or_none(event.get("frame"))
        if name == "frame_started":
            self.frames.started(frame, number, str(event.get("layer") or "") or None)
        elif name == "frame_done":
            self.frames.ended(FrameEnd.DONE, frame, number)
        else:
            self.frames.ended(FrameEnd.FAILED, frame, number, str(event.get("reason") or ""))

    def report(self, file: str, guess: RendererGuess) -> LogReport:
        self.frames.finish()
        fatal = tuple(self.entries[LineKind.FATAL])
        failed = tuple(self.entries[LineKind.FRAME_FAILED])
        first = fatal[0] if fatal else failed[0] if failed else None
        verdict = Verdict(first.kind, first.reason, first.line) if first else Verdict()
        frames = self.frames
        counts = LogCounts(
            lines=self.lines,
            fatal=self.entry_counts[LineKind.FATAL],
            frame_failed=self.entry_counts[LineKind.FRAME_FAILED],
            errors=self.entry_counts[LineKind.ERROR],
            warnings=self.entry_counts[LineKind.WARNING],
            frames=frames.total,
            frames_done=frames.by_end[FrameEnd.DONE],
            frames_failed=frames.by_end[FrameEnd.FAILED],
            frames_no_end=frames.by_end[FrameEnd.NO_END],
            images=self.image_count,
        )
        truncated = frames.total > len(frames.items) or self.image_count > len(self.images)
        truncated = truncated or any(
            self.entry_counts[k] > len(self.entries[k]) for k in _ENTRY_KINDS
        )
        return LogReport(
            file=file,
            renderer=guess,
            verdict=verdict,
            counts=counts,
            frames=tuple(frames.items),
            images=tuple(self.images),
            progress=self.progress,
            fatal=fatal,
            frame_failed=failed,
            errors=tuple(self.entries[LineKind.ERROR]),
            warnings=tuple(self.entries[LineKind.WARNING]),
            limit=self.limit,
            truncated=truncated,
        )


_ENTRY_KINDS = (LineKind.FATAL, LineKind.FRAME_FAILED, LineKind.ERROR, LineKind.WARNING)


def _int_or_none(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def read_log(path: str | os.PathLike[str], renderer: str | None = None) -> LogReport:
    """Read a log file into a :class:`LogReport`.

    Args:
        path: The log file.
        renderer: The renderer it was rendered with (any spelling ``--renderer`` takes);
            None guesses it from the log.

    Raises:
        OSError: the file is missing or cannot be read.
        ValueError: ``renderer`` is not a supported renderer.
    """
    file = Path(path)
    if renderer is not None:
        name = normalize_renderer(renderer)
        if name is None:
            raise ValueError(
                f"unknown renderer {renderer!r} (supported: {', '.join(RENDERER_NAMES)})"
            )
        guess = RendererGuess(name, "option", "--renderer", None, (name,))
    elif file.is_file():
        with file.open("rb") as stream:
            guess = guess_renderer(read_log_lines(stream))
    else:  # a pipe can be read only once: no guessing pass
        guess = RendererGuess(None, "none", "not a regular file, so it is read once")
    collector = _Collector(guess.name, LIST_LIMIT)
    with file.open("rb") as stream:
        for number, text in read_log_lines(stream):
            collector.add(number, text)
    return collector.report(str(path), guess)


# --------------------------------------------------------------------------- output


def format_report(report: LogReport) -> str:
    """The plain output: a short summary, then the fatal, frame-failed, error and warning
    lines with their line numbers."""
    counts = report.counts
    lines = [
        f"log       {report.file}: {counts.lines:,} lines",
        f"renderer  {report.renderer.describe()}",
        f"frames    {_frames_summary(report)}",
        f"images    {counts.images:,} written"
        + (
            f" (last: {report.images[-1].path}, line {report.images[-1].line})"
            if counts.images
            else ""
        ),
        "progress  "
        + (
            f"{report.progress.percent:g}% (line {report.progress.line})"
            if report.progress
            else "no progress line"
        ),
        f"verdict   {report.verdict.describe()}",
    ]
    sections = (
        ("fatal", report.fatal, counts.fatal),
        ("frame failed", report.frame_failed, counts.frame_failed),
        ("errors", report.errors, counts.errors),
        ("warnings", report.warnings, counts.warnings),
    )
    for title, entries, total in sections:
        if not total:
            continue
        lines += ["", f"{title} ({total:,})"]
        width = len(str(entries[min(len(entries), PLAIN_LIMIT) - 1].line)) if entries else 1
        for entry in entries[:PLAIN_LIMIT]:
            lines.append(f"  line {entry.line:>{width}}: {entry.reason}")
        if total > PLAIN_LIMIT:
            lines.append(
                f"  ... and {total - PLAIN_LIMIT:,} more (--json lists up to {report.limit:,})"
            )
    return "\n".join(lines) + "\n"


def _frames_summary(report: LogReport) -> str:
    counts = report.counts
    if not counts.frames:
        return "no frame lines"
    parts = []
    for end, count, word in (
        (FrameEnd.DONE, counts.frames_done, "done"),
        (FrameEnd.FAILED, counts.frames_failed, "failed"),
        (FrameEnd.NO_END, counts.frames_no_end, "without an end line"),
    ):
        if not count and end is FrameEnd.NO_END:
            continue
        numbers = sorted({f.frame for f in report.frames if f.end is end and f.frame is not None})
        listed = f" ({format_frames(numbers)})" if numbers else ""
        parts.append(f"{count:,} {word}{listed}")
    noun = "frame" if counts.frames == 1 else "frames"
    return f"{counts.frames:,} {noun}: " + ", ".join(parts)


# --------------------------------------------------------------------------- command line


def run_log_command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Run ``log``; returns the exit code."""
    try:
        report = read_log(args.file, args.renderer)
    except ValueError as exc:
        print(f"error: {exc}", file=err)
        return int(ExitCode.BAD_INPUT)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        print(f"error: cannot read log {args.file}: {reason}", file=err)
        return int(ExitCode.BAD_INPUT)
    text = json.dumps(report.to_dict(), indent=2) + "\n" if args.json else format_report(report)
    try:
        out.write(text)
        out.flush()
    except BrokenPipeError:  # the reader went away (| head): the answer stands
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)  # keep the flush at exit quiet
            os.dup2(devnull, out.fileno())
            os.close(devnull)
    return report.exit_code
