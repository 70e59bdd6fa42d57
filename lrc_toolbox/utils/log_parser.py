"""Classify the log lines that Maya and its renderers print, one line at a time.

Workers run ``mayapy`` in the background. Reading their output is how the manager shows
progress, learns which images were written and notices fatal errors (licences, missing
plug-ins, CUDA failures) early instead of waiting for a hung process. This module is the
one place that knows what those lines look like. It is pure: no Qt, no Maya, no I/O.

How it works:

* :data:`PATTERNS` is a table of compiled regexes, one entry per meaning per renderer
  (STYLE.md habit 5), keyed by the supported renderers' names
  (:mod:`lrc_toolbox.records.renderers`); each renderer gets the table of the log format
  it prints. Each entry was modelled on real log lines; the tests in
  ``tests/test_log_parser.py`` cite where each sample came from.
* :class:`LogParser` tries every FATAL pattern first (all renderers', because a loaded
  Arnold plug-in prints Arnold-style lines even while another renderer renders), then every
  FRAME_FAILED pattern, then the selected renderer's other patterns, then the other
  renderers' (their formats are distinct, so a foreign progress line still parses), then
  the generic Maya ones (``Error:``, ``Warning:``, ``Result:``). The first match wins.
* Splitting output into lines (and decoding it) is the caller's job; :meth:`LogParser.parse_line`
  ignores the line's trailing ``\\r`` / ``\\n`` characters, so ``\\r\\r\\n`` endings from
  Windows logs never reach the text.
* The one thing a parser remembers between lines: Maya prints the operating system's reason
  for a plug-in that failed to load on the line *after* ``Unable to dynamically load``;
  that line comes back with ``continues=True`` and the whole message as its ``reason``.
* Speed: each pattern lists literal hints; a regex runs only when one of its hints is in
  the lower-cased line, so ordinary INFO lines cost a few substring tests (about 5 us).
  Patterns are ASCII-only case-insensitive, and only a line's first 8192 characters are
  matched, so a garbage line cannot make matching slow.

Decisions worth knowing (each has a test):

* Two kinds stop a render. FATAL means the *worker* cannot render (licence, its renderer's
  plug-in, GPU/CUDA, no renderable camera, a scene Maya cannot load): the manager disables
  the slot. FRAME_FAILED means *this frame* failed but the worker can go on with the next
  one (``[mtoa] Failed batch render``, Arnold's ``render aborted due to earlier errors``,
  ``V-Ray error: ...``): the manager fails the frame and retries it.
* ``Error:`` / ``ERROR`` lines are ERROR, never FATAL on their own: renders often finish
  after them. Only lines that match a fatal meaning (licence, plug-in, GPU, abort, no
  camera) are FATAL, even when Maya prefixes them with ``Error:`` or ``Warning:``.
* A missing plug-in (``Plug-in, "X", was not found on MAYA_PLUG_IN_PATH``) or one that
  fails to load (``Unable to dynamically load : .../X.mll``, also ``.so`` / ``.bundle``)
  is FATAL only when X is the plug-in the parser's renderer needs
  (:attr:`RendererInfo.plugin <lrc_toolbox.records.renderers.RendererInfo.plugin>`; Maya's
  own renderers need none). Another plug-in is a WARNING naming it (a real Hardware 2.0 log
  with five missing plug-ins rendered its frames); with no renderer known it is an ERROR.
* ``[mtoa] Failed batch render`` is MtoA's ``arnoldRender -batch`` returning a failure for
  the frame it was rendering (``plugins/mtoa/commands/ArnoldRenderCmd.cpp``); the Maya
  session is still usable, so it is FRAME_FAILED (Deadline's MayaBatch fails the *task*
  on it, not the worker). Arnold's ``render aborted due to earlier errors`` is its
  abort-on-error stopping that render: FRAME_FAILED too.
* ``V-Ray error: ...`` is FRAME_FAILED, as Thinkbox Deadline's MayaBatch/MayaCmd plug-ins
  fail the task (not the worker) on it: V-Ray reports recoverable problems as ``V-Ray
  warning``; its errors stop the frame (a proxy it cannot load). Licence, CUDA and memory
  failures printed as ``V-Ray error:`` still match their FATAL meanings first.
* Arnold's ``rendering with watermarks because of failed authorization`` stays FATAL:
  watermarked frames cannot be delivered; the reason says so.
* A frame number is only taken from a frame pattern (``Rendering frame 12``), never from
  an image path (``Shot1.2.iff``) or a timestamp column (``00:00:15``).
* Percentages are reported as printed: progress restarts for every layer and frame, so
  it may go down. Redshift's ``Block N/M`` gives ``N / M * 100``.
* ``FRAME_STARTED`` and ``FRAME_DONE`` may repeat for one frame (Maya Software prints
  ``Starting Rendering`` and ``Rendering current frame``; Arnold prints ``render done in``
  and kick also a bare ``render done``): treat them as idempotent for the current frame.
* Maya's own ``Rendering frame 1029 : <image>`` (Hardware 2.0 and Software batch renders)
  is Maya's FRAME_STARTED, not Redshift's ``Rendering frame 1029 (1/10)``.
* Redshift's ``Skipping frame`` (the image exists) is FRAME_DONE; its ``Rendering time:
  ... GPU(s) used`` is PROGRESS 100; a Redshift ``Invalid device id`` is FATAL because
  Redshift then renders on every GPU in the machine (MAYA_REFERENCE.md section 5).
* Arnold's ``falling back to CPU`` is a WARNING (the frame still renders, slowly).
* ``Result: <path>`` is OUTPUT only when the path has an image extension; ``file -open``
  also prints ``Result:`` with the scene path.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from functools import cache

from lrc_toolbox.records.renderers import (
    RENDERER_NAMES,
    RENDERERS,
    LogFormat,
    RendererInfo,
    find_renderer,
)

__all__ = [
    "GENERIC",
    "PATTERNS",
    "LineKind",
    "LogParser",
    "ParsedLine",
    "Pattern",
    "normalize_renderer",
    "parse_lines",
    "renderer_of_plugin",
    "renderers_of_line",
]

GENERIC = "maya"
"""Key in :data:`PATTERNS` (and ``ParsedLine.renderer``) for Maya's own lines."""

_EXTRA_SPELLINGS = {"software": "mayaSoftware", "mayahardware": "mayaHardware2"}
"""Spellings the parser has always accepted besides :func:`find_renderer`'s."""


class LineKind(str, Enum):
    """What a log line means to the batch manager."""

    PROGRESS = "progress"
    FRAME_STARTED = "frame_started"
    FRAME_DONE = "frame_done"
    OUTPUT = "output"
    FATAL = "fatal"
    """The worker cannot render (licence, its renderer's plug-in, GPU): disable the slot."""
    FRAME_FAILED = "frame_failed"
    """The frame being rendered failed; the worker can render the next one: retry it."""
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class ParsedLine:
    """One classified line.

    Attributes:
        kind: What the line means.
        text: The line without its line ending.
        renderer: Whose pattern matched (a supported renderer's name, ``"maya"`` for Maya's
            own lines), or the parser's renderer for renderer-neutral GPU errors; None for
            INFO lines that matched nothing.
        percent: PROGRESS: the percentage as printed (0-100, may go down between lines).
        frame: The frame number, only when a frame pattern names it.
        path: The image path for OUTPUT / FRAME_DONE / FRAME_STARTED lines that carry one.
        reason: FATAL / FRAME_FAILED / ERROR / WARNING: the meaningful part of the message,
            or what the line means for the render where the words alone do not say it.
        pattern: The name of the table entry that matched (for logs and tests).
        plugin: The Maya plug-in a missing-plug-in or failed-load line names.
        continues: True for the line after ``Unable to dynamically load``: the operating
            system's reason. It repeats the previous line's kind and its ``reason`` is the
            whole message; update what the previous line recorded instead of adding to it.
    """

    kind: LineKind
    text: str
    renderer: str | None = None
    percent: float | None = None
    frame: int | None = None
    path: str | None = None
    reason: str | None = None
    pattern: str | None = None
    plugin: str | None = None
    continues: bool = False

    @property
    def is_fatal(self) -> bool:
        """True when the worker must stop (the line is FATAL)."""
        return self.kind is LineKind.FATAL

    @property
    def fails_frame(self) -> bool:
        """True when the frame being rendered failed but the worker goes on (FRAME_FAILED)."""
        return self.kind is LineKind.FRAME_FAILED


@dataclass(frozen=True)
class Pattern:
    """One meaning of one renderer's log line.

    Named groups in ``regex`` carry the values: ``percent``, ``done``/``total`` (a ratio
    turned into a percentage), ``frame``, ``path`` and ``reason``. ``hints`` are lower-case
    literals of which at least one occurs (in the lower-cased line) whenever the regex
    matches; the parser skips the regex when none does, so most lines cost no search.

    Attributes:
        name: Short identifier, unique within its renderer's list.
        kind: The kind a match produces.
        regex: The compiled pattern, applied with ``search``.
        renderer: Renderer label for matches; None means "the renderer being run".
        hints: Necessary lower-case substrings (see above).
        percent: A fixed percentage for PROGRESS patterns without a ``percent`` group.
        meaning: For lines whose words do not say what they mean for the render: the
            reason becomes this sentence, with the line's own words in parentheses.
        plugin_rule: The line names a plug-in (group ``plugin``): it is ``kind`` only when
            that is the plug-in the parser's renderer needs, a WARNING for another plug-in,
            and an ERROR when the parser's renderer is not known.
    """

    name: str
    kind: LineKind
    regex: re.Pattern[str]
    renderer: str | None
    hints: tuple[str, ...]
    percent: float | None = None
    meaning: str | None = None
    plugin_rule: bool = False
    groups: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "groups", frozenset(self.regex.groupindex))


_K = LineKind
_NUM = r"\d{1,3}(?:\.\d+)?"  # a percentage as printed: 7, 45, 100, 12.5
_TAIL = r"\s*(?://\s*)?$"  # Maya wraps messages as "// Error: ... //"
_IMAGE_EXT = (
    r"exr|deepexr|png|tif|tiff|tx|iff|jpg|jpeg|tga|bmp|hdr|dpx|sgi|rgb|rgba|gif|psd|"
    r"vrimg|pic|als|yuv|cin|rla|webp"
)


def _p(
    name: str,
    kind: LineKind,
    renderer: str | None,
    regex: str,
    hints: Iterable[str],
    *,
    flags: int = 0,
    percent: float | None = None,
    meaning: str | None = None,
    plugin_rule: bool = False,
) -> Pattern:
    return Pattern(
        name=name,
        kind=kind,
        # ASCII: case-insensitive matching must not fold exotic characters (U+017F to "s")
        # that str.lower() keeps, or the hint gate would disagree with the regex.
        regex=re.compile(regex, flags | re.ASCII),
        renderer=renderer,
        hints=tuple(h.lower() for h in hints),
        percent=percent,
        meaning=meaning,
        plugin_rule=plugin_rule,
    )


def _maya_image_patterns(renderer: str) -> list[Pattern]:
    """Maya's own renderers (Software, Hardware 2.0) print the same frame lines."""
    return [
        _p(
            "progress",
            _K.PROGRESS,
            renderer,
            rf"Percentage of rendering done:\s*(?P<percent>{_NUM})",
            ["percentage of rendering done"],
        ),
        _p(
            "frame_done_number",
            _K.FRAME_DONE,
            renderer,
            r"Finished Rendering Frame (?P<frame>-?\d+)\b",
            ["finished rendering"],
        ),
        _p(
            "frame_done",
            _K.FRAME_DONE,
            renderer,
            rf"Finished Rendering\s+(?P<path>\S.*?)\.?{_TAIL}",
            ["finished rendering"],
        ),
        _p(
            "frame_started_path",
            _K.FRAME_STARTED,
            renderer,
            rf"Starting Rendering\s+(?P<path>\S.*?)\.?{_TAIL}",
            ["starting rendering"],
        ),
        _p(
            "frame_started",
            _K.FRAME_STARTED,
            renderer,
            r"\bRendering current frame\b",
            ["rendering current frame"],
        ),
        _p(
            "frame_started_number",
            _K.FRAME_STARTED,
            renderer,
            rf"\bRendering frame (?P<frame>-?\d+)\s+:\s+(?P<path>\S.*?){_TAIL}",
            ["rendering frame"],
        ),
    ]


def _arnold_patterns(renderer: str) -> list[Pattern]:
    """Arnold (MtoA / kick). Lines carry ``HH:MM:SS  MEMMB SEVERITY |`` columns."""
    return [
        _p(
            "failed_batch_render",
            _K.FRAME_FAILED,
            renderer,
            rf"(?P<reason>\[mtoa\] Failed batch render.*?){_TAIL}",
            ["failed batch render"],
        ),
        _p(
            "licence_abort",
            _K.FATAL,
            renderer,
            r"(?P<reason>aborting render because .*abort_on_license_fail.*?)\s*$",
            ["abort_on_license_fail"],
        ),
        _p(
            "licence_watermark",
            _K.FATAL,
            renderer,
            r"(?P<reason>rendering with (?:a )?watermarks?\b.*?)\s*$",
            ["watermark"],
            flags=re.IGNORECASE,
            meaning=(
                "Arnold is rendering with a watermark (no licence): the frames can't be "
                "delivered; check the licence server (ADSKFLEX_LICENSE_FILE) and that "
                "skip_license_check is off"
            ),
        ),
        _p(
            "licence_clm",
            _K.FATAL,
            renderer,
            r"(?P<reason>\[clm(?:\.v\d+)?\].*\berror\b.*?)\s*$",
            ["[clm"],
            flags=re.IGNORECASE,
        ),
        _p(
            "licence_checkout",
            _K.FATAL,
            renderer,
            r"(?P<reason>(?:generic license checkout error|LICENSE_CHECKOUT_ERROR"
            r"|could not initiali[sz]e (?:the )?licen[cs]e|\bnot licensed\b).*?)\s*$",
            ["license", "licence", "licensed"],
            flags=re.IGNORECASE,
        ),
        _p(
            "render_terminated",
            _K.FATAL,
            renderer,
            r"(?P<reason>(?:render terminating early\b|aborting render\b).*?)\s*$",
            ["terminating early", "aborting render"],
        ),
        _p(
            "render_aborted",
            _K.FRAME_FAILED,
            renderer,
            r"(?P<reason>(?:\[kick\] )?render aborted\b.*?)\s*$",
            ["render aborted"],
        ),
        _p(
            "gpu_error",
            _K.FATAL,
            renderer,
            r"\bERROR\s*\|\s*(?P<reason>\[gpu\].*?)\s*$",
            ["[gpu]"],
        ),
        _p(
            "progress",
            _K.PROGRESS,
            renderer,
            rf"(?:^|\|)\s*(?P<percent>{_NUM})\s?% done\b",
            ["% done"],
        ),
        _p(
            "output",
            _K.OUTPUT,
            renderer,
            r"\[driver_\w+\]\s+writing file\s+[`'\"]?(?P<path>[^`'\"]+?)[`'\"]?\s*$",
            ["writing file"],
        ),
        _p("render_done", _K.FRAME_DONE, renderer, r"\|\s*render done\b", ["render done"]),
        _p(
            "frame_started",
            _K.FRAME_STARTED,
            renderer,
            r"\[mtoa(?:\.session)?\]\s+(?:Initializing|Updating|Exporting|Rendering)\b"
            r"[^|]*?\bat frame (?P<frame>-?\d+)(?:\.0+)?(?![\d.])",
            ["at frame"],
        ),
        _p(
            "buckets_started",
            _K.FRAME_STARTED,
            renderer,
            r"\|\s*starting \d+ bucket workers\b",
            ["bucket workers"],
        ),
        _p(
            "cpu_fallback",
            _K.WARNING,
            renderer,
            r"\bfall(?:ing|s)?\s*back to (?:the )?CPU\b",
            ["back to"],
            flags=re.IGNORECASE,
        ),
        _p("gpu_device", _K.INFO, renderer, r"\|\s+GPU \d+: .+ @ \d+\s*MHz\b", ["gpu "]),
        _p(
            "error",
            _K.ERROR,
            renderer,
            r"(?:^|\s)ERROR\s*\|\s*(?P<reason>.*?)\s*$",
            ["error"],
        ),
        _p(
            "warning",
            _K.WARNING,
            renderer,
            r"(?:^|\s)WARNING\s*\|\s*(?P<reason>.*?)\s*$",
            ["warning"],
        ),
    ]


def _redshift_patterns(renderer: str) -> list[Pattern]:
    """Redshift: Maya prefixes some lines with ``INFO : [Redshift]`` or ``// Error: [Redshift]``."""
    return [
        _p(
            "licence",
            _K.FATAL,
            renderer,
            rf"(?P<reason>(?:Maxon )?licen[cs](?:e|ing) error\b.*?){_TAIL}",
            ["license", "licensing", "licence"],
            flags=re.IGNORECASE,
        ),
        _p(
            "invalid_device",
            _K.FATAL,
            renderer,
            r"(?P<reason>Invalid device id\b:?\s*-?\d*)",
            ["invalid device id"],
            flags=re.IGNORECASE,
        ),
        _p(
            "aborted",
            _K.FATAL,
            renderer,
            r"(?P<reason>Frame rendering aborted|Rendering was internally aborted"
            r"|\bFrame aborted|No devices found\. Aborting rendering)",
            ["aborted", "aborting"],
        ),
        _p(
            "plugin_not_loaded",
            _K.FATAL,
            renderer,
            r"(?P<reason>Cannot find procedure \"rsPreference\")",
            ["rspreference"],
        ),
        _p(
            "progress",
            _K.PROGRESS,
            renderer,
            r"\bBlock (?P<done>\d+)/(?P<total>[1-9]\d*)\b.*?\brendered\b",
            ["block"],
        ),
        _p(
            "render_time",
            _K.PROGRESS,
            renderer,
            r"\bRendering time:\s*.*\(\d+ GPU\(s\) used\)",
            ["gpu(s) used"],
            percent=100.0,
        ),
        _p(
            "frame_started",
            _K.FRAME_STARTED,
            renderer,
            # Not Maya's own "Rendering frame 1029 : <image>" (Hardware 2.0 / Software).
            r"\bRendering (?:layer '[^']*', )?frame (?P<frame>-?\d+)\b(?!\s*:)",
            ["rendering frame", "rendering layer"],
        ),
        _p(
            "frame_skipped",
            _K.FRAME_DONE,
            renderer,
            r"\bSkipping frame\b(?:\s+(?P<frame>-?\d+)\b)?",
            ["skipping frame"],
        ),
        _p(
            "frame_done",
            _K.FRAME_DONE,
            renderer,
            r"\bFrame (?:rendering )?done\b(?:.*?\bfor frame (?P<frame>-?\d+)\b)?",
            ["done"],
        ),
        _p(
            "output",
            _K.OUTPUT,
            renderer,
            rf"\bSaving:\s+[\"']?(?P<path>\S.*?)[\"']?{_TAIL}",
            ["saving:"],
        ),
    ]


def _vray_patterns(renderer: str) -> list[Pattern]:
    """V-Ray for Maya (and V-Ray Standalone, whose lines start ``[date|time] [mem MB]``)."""
    return [
        _p(
            "vray_error",
            _K.FRAME_FAILED,
            renderer,
            r"(?P<reason>V-Ray error:.*?)\s*$",
            ["v-ray error"],
            flags=re.IGNORECASE,
        ),
        _p(
            "licence",
            _K.FATAL,
            renderer,
            r"(?P<reason>Could not obtain a licen[cs]e.*?)\s*$",
            ["obtain a licen"],
            flags=re.IGNORECASE,
        ),
        _p(
            "out_of_memory",
            _K.FATAL,
            renderer,
            r"(?P<reason>Memory allocation failure.*?)\s*$",
            ["memory allocation failure"],
        ),
        _p(
            "output_path",
            _K.FATAL,
            renderer,
            r"(?P<reason>V-Ray warning.*The file path for .* cannot be created.*?)\s*$",
            ["cannot be created"],
        ),
        _p(
            "environment",
            _K.FATAL,
            renderer,
            r"(?P<reason>Could not read V-Ray environment variable.*?)\s*$",
            ["environment variable"],
        ),
        _p(
            "progress_completed",
            _K.PROGRESS,
            renderer,
            rf"(?P<percent>{_NUM})\s?% completed",
            ["% completed"],
        ),
        _p("progress", _K.PROGRESS, renderer, rf"V-Ray:\s+(?P<percent>{_NUM})\s?%", ["v-ray:"]),
        _p(
            "progress_image",
            _K.PROGRESS,
            renderer,
            rf"Rendering image\.\.\.:\s*(?P<percent>{_NUM})\s?%",
            ["rendering image"],
        ),
        _p(
            "progress_word",
            _K.PROGRESS,
            renderer,
            rf"\bV-Ray\b[^%]*?\bProgress:?\s+(?P<percent>{_NUM})\s?%",
            ["progress"],
        ),
        _p(
            "frame_started",
            _K.FRAME_STARTED,
            renderer,
            r"(?:begin scene preprocessing for frame|V-Ray: Updating frame at time)"
            r" (?P<frame>-?\d+)(?:\.0+)?(?![\d.])",
            ["for frame", "at time"],
        ),
        _p(
            "rendering_image",
            _K.FRAME_STARTED,
            renderer,
            r"V-Ray: Rendering image\b",
            ["rendering image"],
        ),
        _p(
            "output",
            _K.OUTPUT,
            renderer,
            r"Successfully written image file\s+\"?(?P<path>[^\"]+?)\"?\s*$",
            ["successfully written"],
        ),
        _p(
            "frame_done",
            _K.FRAME_DONE,
            renderer,
            r"V-Ray: Total frame time\b",
            ["total frame time"],
        ),
        _p(
            "render_complete",
            _K.FRAME_DONE,
            renderer,
            r"V-Ray: Render complete\b",
            ["render complete"],
        ),
        _p(
            "warning",
            _K.WARNING,
            renderer,
            r"V-Ray warning:?\s*(?P<reason>.*?)\s*$",
            ["v-ray warning"],
            flags=re.IGNORECASE,
        ),
    ]


_TABLES: dict[LogFormat, Callable[[str], list[Pattern]]] = {
    LogFormat.ARNOLD: _arnold_patterns,
    LogFormat.REDSHIFT: _redshift_patterns,
    LogFormat.VRAY: _vray_patterns,
    LogFormat.MAYA_RENDER: _maya_image_patterns,
}
"""The pattern table of each log format, for the renderer name its matches carry."""

PATTERNS: dict[str, list[Pattern]] = {
    **{name: _TABLES[info.log_format](name) for name, info in RENDERERS.items()},
    # Maya itself, and GPU failures whichever renderer reports them (renderer=None).
    GENERIC: [
        _p(
            "flexlm",
            _K.FATAL,
            GENERIC,
            r"(?P<reason>FLEXlm error:.*?)\s*$",
            ["flexlm error"],
            flags=re.IGNORECASE,
        ),
        _p(
            "licence",
            _K.FATAL,
            GENERIC,
            rf"(?P<reason>(?:Maya: )?Licen[cs]e was not obtained.*?){_TAIL}",
            ["was not obtained"],
            flags=re.IGNORECASE,
        ),
        _p(
            "licence_init",
            _K.FATAL,
            GENERIC,
            r"(?P<reason>Error encountered when initializing Maya.*?)\s*$",
            ["initializing maya"],
        ),
        _p(
            "missing_plugin",
            _K.FATAL,
            GENERIC,
            r"(?P<reason>Plug-in,?\s*\"(?P<plugin>[^\"]*)\",?\s*was not found on"
            r" MAYA_PLUG_IN_PATH)",
            ["maya_plug_in_path"],
            plugin_rule=True,
        ),
        _p(
            "plugin_load_failed",
            _K.FATAL,
            GENERIC,
            r"Unable to dynamically load\s*:\s*(?P<plugin_path>(?:.*?[/\\])?"
            r"(?P<plugin>[^/\\]+?)\.(?:mll|so|bundle|dylib))(?=[\s:(]|//|$)",
            ["dynamically load"],
            plugin_rule=True,
        ),
        _p(
            "no_renderable_camera",
            _K.FATAL,
            GENERIC,
            r"(?P<reason>This scene does not have any renderable cameras"
            r"|No renderable cameras? (?:was |were )?found)",
            ["renderable camera"],
            flags=re.IGNORECASE,
        ),
        _p(
            "cannot_load_scene",
            _K.FATAL,
            GENERIC,
            rf"(?P<reason>Cannot load scene.*?){_TAIL}",
            ["cannot load scene"],
        ),
        _p(
            "rendering_aborted",
            _K.FATAL,
            GENERIC,
            rf"(?P<reason>\b(?:An exception has occurred, )?rendering aborted\b.*?){_TAIL}",
            ["rendering aborted"],
            flags=re.IGNORECASE,
        ),
        _p("usage", _K.FATAL, GENERIC, r"^(?P<reason>Usage: Render\b.*?)\s*$", ["usage: render"]),
        _p(
            "cuda_error",
            _K.FATAL,
            None,
            r"(?P<reason>(?:CUDA_ERROR_\w+|cudaError\w*|\bCUDA error\b|Failed to init the CUDA"
            r" driver API|does not support the required CUDA compute capabilit"
            r"|an illegal memory access was encountered).*?)\s*$",
            ["cuda", "illegal memory access"],
            flags=re.IGNORECASE,
        ),
        _p(
            "out_of_vram",
            _K.FATAL,
            None,
            r"\bout of (?:VRAM|video memory|GPU memory|device memory)\b"
            r"|\bless than \d+\s*MB of free VRAM\b",
            ["out of", "vram"],
            flags=re.IGNORECASE,
        ),
        _p(
            "result_image",
            _K.OUTPUT,
            GENERIC,
            rf"(?:^|\s|//)Result:\s+[\"']?(?P<path>\S.*?\.(?:{_IMAGE_EXT}))[\"']?{_TAIL}",
            ["result:"],
            flags=re.IGNORECASE,
        ),
        _p(
            "error",
            _K.ERROR,
            GENERIC,
            rf"(?<![A-Za-z])(?:Error:|ERROR:|error:|ERROR\s)\s*(?P<reason>.*?){_TAIL}",
            ["error"],
        ),
        _p(
            "python_error",
            _K.ERROR,
            GENERIC,
            r"(?P<reason>\b[A-Z]\w*Error:.*?)\s*$",
            ["error:"],
        ),
        _p(
            "warning",
            _K.WARNING,
            GENERIC,
            rf"(?<![A-Za-z])(?:Warning:|WARNING:|warning:|WARNING\s)\s*(?P<reason>.*?){_TAIL}",
            ["warning"],
        ),
    ],
}
"""The pattern table: renderer name (or ``"maya"``) -> its patterns, fatal ones first."""


def normalize_renderer(renderer: str | None) -> str | None:
    """Map a renderer name as Maya or ``Render -r`` spells it to a key of :data:`PATTERNS`.

    Accepts what :func:`~lrc_toolbox.records.renderers.find_renderer` accepts (name, label,
    ``Render -r`` flag or plug-in, any case). Returns None for None, empty and unknown names
    (those parse with the default order), so that a renderer this module has no table for
    never stops a worker from being read.
    """
    if not renderer:
        return None
    info = find_renderer(renderer)
    if info is not None:
        return info.name
    return _EXTRA_SPELLINGS.get(renderer.strip().lower())


_PRIORITY = {LineKind.FATAL: 0, LineKind.FRAME_FAILED: 1}
"""Kinds whose patterns are tried before all others, in this order (see module docstring)."""


@cache
def _ordered(renderer: str | None) -> tuple[Pattern, ...]:
    """All patterns in matching order for one selected renderer (see module docstring)."""
    tables = [renderer] if renderer else []
    tables += [name for name in RENDERER_NAMES if name != renderer]
    tables.append(GENERIC)
    patterns = [p for t in tables for p in PATTERNS[t]]
    # sorted() is stable: within a priority the table order above is kept.
    return tuple(sorted(patterns, key=lambda p: _PRIORITY.get(p.kind, len(_PRIORITY))))


def _minimal_hints() -> tuple[str, ...]:
    """Every hint that does not contain a shorter one: present iff some hint is present."""
    hints = {h for table in PATTERNS.values() for p in table for h in p.hints}
    return tuple(sorted(h for h in hints if not any(o != h and o in h for o in hints)))


_ANY_HINT = _minimal_hints()
# Arnold's "00:00:15   325MB WARNING |" columns (also without the time/memory part).
_ARNOLD_COLUMNS = re.compile(r"^\s*(?:\d+:\d\d:\d\d\s+\d+\s*[KMG]B\s+)?(?:[A-Z]+\s*)?\|\s*")
_MATCH_WINDOW = 8192
"""Characters of a line the table is matched against: bounds the cost of garbage lines."""
_PLUGIN_SUFFIX = re.compile(r"\.(?:mll|so|bundle|dylib|py)$", re.IGNORECASE)
# What comes before the second line of a multi-line Maya message: a farm's stream label
# (Deadline 10 "0: STDOUT: ", Deadline Cloud adaptors "STDERR: "), then "# " or "// ".
_CONTINUATION_MARK = re.compile(r"^(?:.*?\bSTD(?:OUT|ERR):\s)?\s*(?:#|//)?\s*")


def _clean_path(path: str) -> str:
    return path.strip().strip("`'\"").strip()


def _clean_reason(reason: str) -> str:
    reason = reason.strip()
    if reason.startswith("//"):
        reason = reason[2:].lstrip()
    if reason.endswith("//"):
        reason = reason[:-2].rstrip()
    return reason


def _message(text: str) -> str:
    """The message part of a line: without Arnold's columns and Maya's ``//`` wrapper."""
    columns = _ARNOLD_COLUMNS.match(text)
    return _clean_reason(text[columns.end() :] if columns else text)


def _plugin_name(name: str) -> str:
    """A plug-in as Maya names it in ``loadPlugin``: ``mtoa.mll`` and ``mtoa`` are one."""
    return _PLUGIN_SUFFIX.sub("", name.strip())


def _renderer_needing(plugin: str | None) -> RendererInfo | None:
    """The supported renderer whose render needs ``plugin`` (case-insensitive), or None."""
    wanted = _plugin_name(plugin or "").lower()
    for info in RENDERERS.values():
        if info.plugin is not None and info.plugin.lower() == wanted:
            return info
    return None


def renderer_of_plugin(plugin: str | None) -> str | None:
    """The renderer whose render needs the plug-in a line names (``mtoa``, ``mtoa.mll``)."""
    info = _renderer_needing(plugin)
    return info.name if info is not None else None


def _plugin_verdict(
    pattern: Pattern, plugin: str, words: str, renderer: str | None, os_message: str | None
) -> tuple[LineKind, str]:
    """Kind and reason of a missing / failed-to-load plug-in line (``plugin_rule``).

    ``words`` is what the line says (Maya's own message for a missing plug-in, the file
    for a failed load); ``os_message`` the operating system's reason for a failed load.
    """
    name = _plugin_name(plugin)
    if pattern.name == "plugin_load_failed":
        words = f"plug-in {name} could not be loaded from {words}"
        if os_message:
            words += f": {os_message}"
    info = RENDERERS.get(renderer) if renderer else None
    if info is None:
        owner = _renderer_needing(name)
        if_needed = f", as a render with {owner.label} does" if owner else ""
        return (
            LineKind.ERROR,
            f"{words} (the renderer is not known: fatal only if the render needs this "
            f"plug-in{if_needed})",
        )
    if info.plugin is not None and info.plugin.lower() == name.lower():
        if pattern.name == "plugin_load_failed":
            words = f"{info.label}'s {words}"
        return pattern.kind, words
    if info.plugin is None:  # Maya Software and Hardware 2.0 are built in
        return LineKind.WARNING, f"{words} (Maya's own renderers need no plug-in)"
    return LineKind.WARNING, f"{words} ({info.label} does not need it)"


def _result(
    pattern: Pattern,
    match: re.Match[str],
    text: str,
    default_renderer: str | None,
    os_message: str | None = None,
) -> ParsedLine:
    groups = pattern.groups
    percent = pattern.percent
    if "percent" in groups:
        percent = float(match.group("percent"))
    elif "total" in groups:
        percent = 100.0 * int(match.group("done")) / int(match.group("total"))
    frame = None
    if "frame" in groups:
        value = match.group("frame")
        frame = int(value) if value is not None else None
    path = None
    if "path" in groups:
        value = match.group("path")
        path = _clean_path(value) if value else None
    kind = pattern.kind
    reason = None
    plugin = None
    if kind in _REASONED:
        value = match.group("reason") if "reason" in groups else None
        reason = (_clean_reason(value) if value else "") or _message(text) or text.strip()
        if pattern.meaning:
            reason = f"{pattern.meaning} ({reason})"
    if pattern.plugin_rule:
        plugin = _plugin_name(match.group("plugin"))
        words = _clean_path(match.group("plugin_path")) if "plugin_path" in groups else reason
        kind, reason = _plugin_verdict(
            pattern, plugin, words or plugin, default_renderer, os_message
        )
    return ParsedLine(
        kind=kind,
        text=text,
        renderer=pattern.renderer if pattern.renderer is not None else default_renderer,
        percent=percent,
        frame=frame,
        path=path,
        reason=reason,
        pattern=pattern.name,
        plugin=plugin,
    )


_REASONED = frozenset({LineKind.FATAL, LineKind.FRAME_FAILED, LineKind.ERROR, LineKind.WARNING})
"""Kinds whose lines carry a ``reason``."""


class LogParser:
    """Classifies lines of one worker's output.

    Args:
        renderer: The renderer the worker runs (``"arnold"``, ``"sw"``, ``"redshift"``...),
            or None. Its patterns are tried before the other renderers'; every renderer's
            FATAL patterns always apply. A missing plug-in is FATAL only when it is this
            renderer's (see the module docstring). Unknown names behave like None.

    Besides the renderer it remembers one thing: the last ``Unable to dynamically load``
    line, so that the operating system's reason on the next line completes its message
    (``ParsedLine.continues``). Use one parser per stream of lines.
    """

    def __init__(self, renderer: str | None = None) -> None:
        self.renderer: str | None = normalize_renderer(renderer)
        self._patterns = _ordered(self.renderer)
        self._load_failure: tuple[ParsedLine, Pattern, re.Match[str]] | None = None

    @property
    def patterns(self) -> tuple[Pattern, ...]:
        """The patterns in the order this parser tries them."""
        return self._patterns

    def parse_line(self, line: str) -> ParsedLine:
        """Classify one line (its trailing ``\\r`` / ``\\n`` are ignored). Never raises."""
        text = line.rstrip("\r\n")
        parsed, pattern, match = self._match(text, prefilter=True)
        pending, self._load_failure = self._load_failure, None
        if pattern is not None and match is not None and pattern.name == "plugin_load_failed":
            self._load_failure = (parsed, pattern, match)
        elif pending is not None and parsed.kind is LineKind.INFO:
            os_message = _os_message(text, pending[2])
            if os_message is None:  # a blank line or a bare "#": keep waiting
                self._load_failure = pending
            else:
                head, head_pattern, head_match = pending
                whole = _result(head_pattern, head_match, head.text, self.renderer, os_message)
                return replace(whole, text=text, continues=True)
        return parsed

    def _classify(self, text: str, *, prefilter: bool) -> ParsedLine:
        return self._match(text, prefilter=prefilter)[0]

    def _match(
        self, text: str, *, prefilter: bool
    ) -> tuple[ParsedLine, Pattern | None, re.Match[str] | None]:
        window = text if len(text) <= _MATCH_WINDOW else text[:_MATCH_WINDOW]
        # The prefilter: a regex runs only if one of its literal hints occurs. Plain
        # substring tests on one lower-cased copy are far cheaper than the regexes, and
        # most lines (INFO) then cost no regex search at all.
        lowered = window.lower() if prefilter else ""
        if prefilter:
            for hint in _ANY_HINT:
                if hint in lowered:
                    break
            else:
                return ParsedLine(LineKind.INFO, text), None, None
        for pattern in self._patterns:
            if prefilter:
                for hint in pattern.hints:
                    if hint in lowered:
                        break
                else:
                    continue
            match = pattern.regex.search(window)
            if match is not None:
                return _result(pattern, match, text, self.renderer), pattern, match
        return ParsedLine(LineKind.INFO, text), None, None


def _os_message(text: str, head: re.Match[str]) -> str | None:
    """The operating system's reason on the line after a failed load, or None if blank.

    Maya prints it bare, after ``# `` (Python) or after ``// `` (Linux, with the file name
    in front, which is dropped: the head line names the file already); a farm's
    ``STDERR:`` label before it is dropped too.
    """
    message = _clean_reason(_CONTINUATION_MARK.sub("", text, count=1)).rstrip(". ")
    path = head.group("plugin_path").strip()
    if message.startswith(path):
        message = message[len(path) :].lstrip(" :")
    return message or None


def parse_lines(lines: Sequence[str], renderer: str | None = None) -> list[ParsedLine]:
    """Classify already-split lines with a fresh :class:`LogParser`."""
    parser = LogParser(renderer)
    return [parser.parse_line(line) for line in lines]


def renderers_of_line(parsed: ParsedLine) -> tuple[str, ...]:
    """The renderers a line classified by ``LogParser(None)`` shows are rendering.

    A frame, progress or output line from a renderer's own table names the renderers that
    print that format (Maya Software and Hardware 2.0 share one, so both). Empty for
    everything else: Maya's own messages, renderer-neutral GPU lines, and the errors and
    warnings a loaded but unused plug-in prints (MtoA does at start-up, whatever renders).
    """
    own = RENDERERS.get(parsed.renderer or "")
    if own is None or parsed.kind not in _RENDERING_KINDS:
        return ()
    return tuple(name for name, info in RENDERERS.items() if info.log_format is own.log_format)


_RENDERING_KINDS = frozenset(
    {
        LineKind.PROGRESS,
        LineKind.FRAME_STARTED,
        LineKind.FRAME_DONE,
        LineKind.OUTPUT,
        LineKind.FRAME_FAILED,
    }
)
