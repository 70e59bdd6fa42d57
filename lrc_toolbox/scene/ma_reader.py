"""Read a Maya ASCII (.ma) scene's render setup without Maya, streaming the file.

Scenes reach hundreds of MB, nearly all of it mesh data in long multi-line ``setAttr``
statements. The reader never holds the file in memory: it walks it line by line, finds
statement ends with a quote-aware scan for ``;``, and keeps the text of a statement
only when it can matter (``createNode``, ``select``, ``connectAttr``, header commands,
and ``setAttr``/``addAttr`` on the few node types that describe rendering). Everything
else is skipped without building strings.

What it resolves (see ``docs/scene-reading.md``): render layers (master, Render Setup,
legacy) in render order with their renderable flag, and per layer the renderer,
animation flag, frame range, step, image prefix, resolution and renderable cameras,
with Render Setup overrides and legacy adjustments applied; which of those overrides
have a locked value plug; and the Arnold AOVs connected to the options node. Unknown or
malformed content never raises: it is skipped and reported in ``SceneDescription.warnings``.

Facts about the format, and where they come from (``DCM`` = public repository
``aws-deadline/deadline-cloud-for-maya``; ``AYON`` = ``ynput/ayon-maya``):

* Render Setup scene written by Maya 2023: DCM ``job_bundle_output_tests/layers/scene/layers.ma``
  (layer pairs, ``.frl``/``.nxt``/``.prv`` order, ``.lit``->``.pls`` tree, overrides
  ``.atr``/``.atv``/``.tgName``/``.mul``/``.ofs``, ``.rndr no``, ``.adjs`` adjustments).
* Imported extra render layer manager: DCM
  ``job_bundle_output_tests/referenced_layers/scene/referenced_layers.ma``.
* Long-name file (``-shared -name``, ``-noExpand``, ``-alteredValue -channelBox on
  ".currentRenderer" -type "string" "arnold"``, ``.outTime``, ``-linear ... -time ntsc``):
  a public Maya 2022 scene ``CylinderTest_bis.ma`` found through the code index.
* Legacy layers with ``adjs`` on ``:defaultRenderGlobals.ren`` and ``renderLayerManager``
  ``.crl`` (current layer id) with ``.rlmi[...]`` ids: public Maya scenes found through
  the code index (e.g. ``final comp shot 1.ma``); ``editRenderLayerGlobals``
  docs (Autodesk) say the current render layer "is stored in the file".
* Override application nodes and ``.original``: Render Setup's own module docstring
  ("saved to file if the Maya scene is saved when a given render layer is current") and
  AYON ``client/ayon_maya/api/lib_rendersetup.py`` (``applyOverride``, ``.original``,
  ``unitToTimeConversion`` in between, override order, enabled/disabled handling).
* Locked override values: Render Setup's ``maya/app/renderSetup/model/applyOverride.py``
  (a public copy in the code index): a set on an overridden plug is handled by the
  highest-priority enabled apply node, and only if ``isOverrideValueSettable``, that is
  ``plug.isSettable`` of the override's ``attrValue`` (absolute) or ``offset``
  (relative). A locked plug is written with setAttr's ``-l``/``-lock`` flag, e.g.
  ``setAttr -l on ".atv" 8;`` or, lock only, ``setAttr -l on ".atv";``.
* Arnold AOVs and their option names: MtoA (``MTOA`` = Autodesk's MtoA sources, in the
  public repository ``sebastienblor/arnold-usd``) ``plugins/mtoa/nodes/ArnoldAOVNode.cpp``,
  ``plugins/mtoa/nodes/options/ArnoldOptionsNode.cpp`` and
  ``plugins/mtoa/nodes/ArnoldDriverNode.cpp`` @ f0920e993c42; ``scripts/mtoa/aovs.py``
  ``AOVInterface`` connects ``aiAOV.message`` to ``defaultArnoldRenderOptions.aovs``.
"""

from __future__ import annotations

import codecs
import fnmatch
import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lrc_toolbox.scene.description import (
    DEFAULT_RENDERER,
    DEFAULT_RESOLUTION,
    MASTER_LAYER,
    MASTER_NODE,
    MAX_WARNINGS,
    ArnoldAov,
    LayerDescription,
    SceneDescription,
    bounded_warnings,
    render_frames,
    shorten_warning,
)

__all__ = ["MAX_WARNINGS", "MayaAsciiError", "read_ma"]

#: A kept statement larger than this is dropped (only node types we read are kept, and
#: none of them legitimately carries this much text).
_MAX_STATEMENT_CHARS = 4 * 1024 * 1024
#: Lines longer than this are read in pieces, so no single line fills memory.
_MAX_LINE_CHARS = 1024 * 1024
#: How far into the file the Maya ASCII header must appear.
_HEADER_BYTES = 64 * 1024
_HEADER_LINES = 50
#: Warnings stored while scanning; the rest are only counted.
_WARNINGS_STORED = 1000


class MayaAsciiError(ValueError):
    """The file cannot be read as Maya ASCII at all (missing, binary, not Maya)."""


# --------------------------------------------------------------------------- Maya facts

# currentUnit -t values and their frame rates (Autodesk currentUnit docs); "<n>fps" and
# "29.97df" style units are parsed by _FPS_UNIT.
_TIME_UNIT_FPS: dict[str, float] = {
    "game": 15.0,
    "film": 24.0,
    "pal": 25.0,
    "ntsc": 30.0,
    "show": 48.0,
    "palf": 50.0,
    "ntscf": 60.0,
    "hour": 1.0 / 3600.0,
    "min": 1.0 / 60.0,
    "sec": 1.0,
    "millisec": 1000.0,
}
_FPS_UNIT = re.compile(r"(\d+(?:\.\d+)?)(?:fps|df)", re.IGNORECASE)

# Render globals and their defaults when the file is silent (Maya writes only values that
# differ from defaults; see MAYA_REFERENCE.md section 3).
_RG = "defaultRenderGlobals"
_RES = "defaultResolution"
_TIME = "time1"
_GLOBAL_TYPES = {_RG: "renderGlobals", _RES: "resolution", _TIME: "time"}

# Output settings reported as they are stored (SceneDescription.node_attributes, for the
# simulator and the worker), long names. defaultRenderGlobals short names seen in real
# files: outf imfkey ep pff peie (public scenes: `setAttr ".ep" 4;`, `".peie" 2`); the
# other entries are long names as "full names" files write them.
_RG_OUTPUT_ATTRS = {
    "outf": "imageFormat",
    "imfkey": "imfPluginKey",
    "ep": "extensionPadding",
    "pff": "putFrameBeforeExt",
    "peie": "periodInExt",
    **{
        name: name
        for name in (
            "imageFormat",
            "imfPluginKey",
            "extensionPadding",
            "putFrameBeforeExt",
            "periodInExt",
            "outFormatControl",
            "renderVersion",
            "preMel",
            "postMel",
            "preRenderLayerMel",
            "postRenderLayerMel",
            "preRenderMel",
            "postRenderMel",
            "numCpusToUse",
        )
    },
}
# Renderer option nodes whose single-value settings are reported under their written
# names (renderer plug-in attributes), except these short names, reported long:
# `ai_translator` for `aiTranslator` and `merge_AOVs` for `mergeAOVs` on the driver
# (MTOA plugins/mtoa/nodes/ArnoldDriverNode.cpp @ f0920e993c42); `aovm` for `aovMode`
# (enum 0 disabled, 1 enabled, 2 batch_only; default 1) and `varaovs` for
# `outputVarianceAOVs` on the options node (MTOA
# plugins/mtoa/nodes/options/ArnoldOptionsNode.cpp @ f0920e993c42).
_OPTION_NODES = frozenset(
    {"defaultArnoldRenderOptions", "defaultArnoldDriver", "redshiftOptions", "vraySettings"}
)
_OPTION_NAMES = {
    "ai_translator": "aiTranslator",
    "merge_AOVs": "mergeAOVs",
    "aovm": "aovMode",
    "varaovs": "outputVarianceAOVs",
}

# Arnold AOVs: `aiAOV` nodes whose `.message` is connected to the options node's
# `aovList` (short `aovs`, an array whose index does not matter, so files write
# `connectAttr "aiAOV_diffuse.msg" ":defaultArnoldRenderOptions.aovs" -na;`); on the
# aiAOV node, `name`/`aovn` (string, default "") and `enabled`/`aoven` (bool, default
# on). MTOA plugins/mtoa/nodes/ArnoldAOVNode.cpp @ f0920e993c42 (and
# ArnoldOptionsNode.cpp for `aovList`).
_ARNOLD_OPTIONS = "defaultArnoldRenderOptions"
_AOV_TYPE = "aiAOV"
_AOV_LIST_ATTRS = frozenset({"aovs", "aovList"})
_AOV_LONG_TO_SHORT = {"name": "aovn", "enabled": "aoven", "type": "aovt", "message": "msg"}

# (node, short attr) -> (long name, value kind, default)
_GLOBAL_PLUGS: dict[tuple[str, str], tuple[str, str, Any]] = {
    (_RG, "ren"): ("currentRenderer", "str", DEFAULT_RENDERER),
    (_RG, "an"): ("animation", "bool", False),
    (_RG, "fs"): ("startFrame", "float", 1.0),
    (_RG, "ef"): ("endFrame", "float", 10.0),
    (_RG, "bfs"): ("byFrameStep", "float", 1.0),
    (_RG, "ifp"): ("imageFilePrefix", "str", ""),
    (_RES, "w"): ("width", "int", DEFAULT_RESOLUTION[0]),
    (_RES, "h"): ("height", "int", DEFAULT_RESOLUTION[1]),
}

# Long attribute names -> the short names Maya writes. Short names confirmed in real
# files (DCM layers.ma and the scenes listed in the module docstring): ren an fs ef ifp
# w h o rnd rndr crl rlmi rlid adjs val plg msg atr atv tgName mul ofs en pen lit pls
# nxt prv frl lrl cl ch ssl pat sel. Assumed (never seen in a public file): bfs for
# byFrameStep (Autodesk renderGlobals node docs list the attribute), sen for
# selfEnabled, ori for an apply node's original value, and the long names of the
# Render Setup list attributes.
_LONG_TO_SHORT: dict[str, str] = {
    "message": "msg",
    "currentRenderer": "ren",
    "animation": "an",
    "startFrame": "fs",
    "endFrame": "ef",
    "byFrameStep": "bfs",
    "imageFilePrefix": "ifp",
    "width": "w",
    "height": "h",
    "outTime": "o",
    "currentRenderLayer": "crl",
    "renderLayerId": "rlmi",
    "identification": "rlid",
    "adjustments": "adjs",
    "value": "val",
    "plug": "plg",
    "displayOrder": "do",
    "global": "g",
    "attribute": "atr",
    "attrValue": "atv",
    "targetNodeName": "tgName",
    "multiply": "mul",
    "offset": "ofs",
    "enabled": "en",
    "selfEnabled": "sen",
    "parentEnabled": "pen",
    "parentList": "pls",
    "listItems": "lit",
    "next": "nxt",
    "previous": "prv",
    "childLowest": "cl",
    "childHighest": "ch",
    "firstRenderLayer": "frl",
    "legacyRenderLayer": "lrl",
    "staticSelection": "ssl",
    "pattern": "pat",
    "selector": "sel",
    "original": "ori",
    "input": "i",
    "output": "o",
}

# Known top-level MEL commands in .ma files; anything else is skipped with a warning.
_KNOWN_COMMANDS = frozenset(
    {
        "createNode",
        "setAttr",
        "addAttr",
        "deleteAttr",
        "connectAttr",
        "disconnectAttr",
        "relationship",
        "select",
        "rename",
        "lockNode",
        "requires",
        "currentUnit",
        "fileInfo",
        "file",
        "parent",
        "dataStructure",
        "applyMetadata",
        "workspace",
    }
)
_VALUE_OVERRIDES = frozenset(
    {"absOverride", "absUniqueOverride", "relOverride", "relUniqueOverride"}
)
_TRUE_WORDS = frozenset({"yes", "on", "true"})
_FALSE_WORDS = frozenset({"no", "off", "false"})


def _is_camera(node_type: str) -> bool:
    return node_type == "camera" or node_type.endswith("Camera")


def _is_container(node_type: str) -> bool:
    """Render Setup items that hold overrides or other collections."""
    return node_type.endswith("ollection") or node_type in ("group", "renderSetupLayer")


def _is_interesting(node_type: str, name: str) -> bool:
    """Only these nodes' setAttr/addAttr statements are kept; all others are skipped."""
    return (
        name in _GLOBAL_TYPES
        or name in _OPTION_NODES
        or node_type
        in (
            _AOV_TYPE,
            "renderLayer",
            "renderLayerManager",
            "renderSetup",
            "renderSetupLayer",
            "unitToTimeConversion",
            "group",
        )
        or _is_camera(node_type)
        or node_type.endswith(("Override", "ollection", "Selector"))
    )


def _node_name(text: str) -> str:
    """Return the name used as a key: no root ``:`` prefix, last DAG path component."""
    name = text.lstrip(":")
    if "|" in name:
        name = name.rsplit("|", 1)[-1]
    return name


def _canon_attr(node_type: str, attr: str) -> str:
    """Return ``attr`` (``.adjustments[0].value`` or ``adjs[0].val``) in short form."""
    parts = []
    for part in attr.lstrip(".").split("."):
        name, bracket, index = part.partition("[")
        if name == "renderable":
            name = "rndr" if node_type == "renderLayer" else "rnd"
        elif node_type == _AOV_TYPE:  # `enabled` is `aoven` here, not Render Setup's `en`
            name = _AOV_LONG_TO_SHORT.get(name, name)
        else:
            name = _LONG_TO_SHORT.get(name, name)
        parts.append(f"{name}{bracket}{index}")
    return ".".join(parts)


# --------------------------------------------------------------------------- tokens

_Tok = tuple[str, str]  # (kind, text); kind: "s" string, "n" number, "w" word, "f" flag, "p" punct
_TOKEN_RE = re.compile(r'"((?:[^"\\]|\\.)*)"|([^\s"(){},;]+)|([(){},;])', re.DOTALL)
_NUMBER_RE = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_ESCAPE_RE = re.compile(r"\\(.)", re.DOTALL)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text
    return _ESCAPE_RE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(1)), text)


def _tokenize(text: str) -> list[_Tok]:
    """Split MEL statement text into tokens; ``"a" + "b"`` becomes one string."""
    tokens: list[_Tok] = []
    for match in _TOKEN_RE.finditer(text):
        string, bare, punct = match.groups()
        if string is not None:
            value = _unescape(string)
            if len(tokens) >= 2 and tokens[-1] == ("w", "+") and tokens[-2][0] == "s":
                tokens.pop()
                tokens[-1] = ("s", tokens[-1][1] + value)
            else:
                tokens.append(("s", value))
        elif bare is not None:
            if _NUMBER_RE.fullmatch(bare):
                tokens.append(("n", bare))
            elif bare[0] == "-" and len(bare) > 1 and bare[1].isalpha():
                tokens.append(("f", bare[1:]))
            else:
                tokens.append(("w", bare))
        elif punct in ("(", ")", "{", "}", ","):
            continue  # grouping around concatenated strings and string arrays
    return tokens


def _as_bool(tok: _Tok) -> bool | None:
    kind, text = tok
    if kind == "n":
        return float(text) != 0.0
    low = text.strip().lower()
    if low in _TRUE_WORDS:
        return True
    if low in _FALSE_WORDS:
        return False
    if _NUMBER_RE.fullmatch(low):
        return float(low) != 0.0
    return None


def _as_float(tok: _Tok) -> float | None:
    kind, text = tok
    if kind == "n" or (kind == "s" and _NUMBER_RE.fullmatch(text.strip())):
        return float(text)
    if kind == "w" and text.lower() in _TRUE_WORDS | _FALSE_WORDS:
        return 1.0 if text.lower() in _TRUE_WORDS else 0.0
    return None


def _typed(values: list[_Tok] | None, kind: str) -> Any:
    """Convert a setAttr value list to ``kind`` (str, bool, float, int); None if unusable."""
    if not values:
        return None
    first = values[0]
    if kind == "str":
        return first[1] if first[0] in ("s", "w") else None
    if kind == "bool":
        return _as_bool(first)
    number = _as_float(first)
    if number is None:
        return None
    return round(number) if kind == "int" else number


# setAttr flags and how many arguments each takes (Autodesk setAttr docs; -av with no
# argument as written by Maya: `setAttr -av -k on ".cch";`).
_SETATTR_ARITY = {
    "av": 0,
    "alteredValue": 0,
    "c": 0,
    "clamp": 0,
    "k": 1,
    "keyable": 1,
    "cb": 1,
    "channelBox": 1,
    "l": 1,
    "lock": 1,
    "s": 1,
    "size": 1,
    "type": 1,
    "typ": 1,
    "ca": 1,
    "caching": 1,
    "ch": 1,
    "capacityHint": 1,
}


def _lock_state(tokens: list[_Tok]) -> bool | None:
    """``setAttr -l on`` (``-lock``, ``1``, ``yes``...): True; ``-l off``: False; else None."""
    state: bool | None = None
    for i, (kind, text) in enumerate(tokens[:-1]):
        if kind == "f" and text in ("l", "lock"):
            state = _as_bool(tokens[i + 1])
    return state


def _plain(tok: _Tok) -> Any:
    """A JSON-safe Python value for one token: bool, int, float or str."""
    kind, text = tok
    if kind == "n":
        number = float(text)
        return int(number) if number.is_integer() and not any(c in text for c in ".eE") else number
    if kind == "w" and _as_bool(tok) is not None:
        return _as_bool(tok)
    return text


def _parse_setattr(tokens: list[_Tok]) -> tuple[str | None, list[_Tok]]:
    """Return (attribute, values) of ``setAttr`` tokens, flags before or after values."""
    attr: str | None = None
    values: list[_Tok] = []
    i = 0
    while i < len(tokens):
        kind, text = tokens[i]
        if kind == "f":
            arity = _SETATTR_ARITY.get(text)
            if arity is None:  # unknown flag: takes a value only if a boolean word follows
                nxt = tokens[i + 1] if i + 1 < len(tokens) else None
                arity = 1 if nxt and nxt[0] == "w" and _as_bool(nxt) is not None else 0
            i += 1 + arity
            continue
        if attr is None and (kind == "s" or (kind == "w" and text.startswith("."))):
            attr = text
        elif kind != "p":
            values.append(tokens[i])
        i += 1
    return attr, values


def _flag_args(tokens: list[_Tok], arity: dict[str, int]) -> tuple[dict[str, _Tok], list[_Tok]]:
    """Split tokens into {flag: argument} (last wins) and positional tokens."""
    flags: dict[str, _Tok] = {}
    rest: list[_Tok] = []
    i = 0
    while i < len(tokens):
        kind, text = tokens[i]
        if kind == "f":
            count = arity.get(text, 0)
            flags[text] = tokens[i + 1] if count and i + 1 < len(tokens) else ("w", "")
            i += 1 + count
            continue
        rest.append(tokens[i])
        i += 1
    return flags, rest


def _flag(flags: dict[str, _Tok], *names: str) -> str | None:
    for name in names:
        if name in flags:
            return flags[name][1]
    return None


_RANGE_RE = re.compile(r"^(\w+)\[(\d+):(\d+)\]$")
_INDEX_RE = re.compile(r"\[(\d+)\]")


# --------------------------------------------------------------------------- scanning


@dataclass
class _Node:
    """A node whose attributes matter; everything else is never stored."""

    name: str
    type: str
    order: int
    line: int
    parent: str = ""
    attrs: dict[str, list[_Tok]] = field(default_factory=dict)
    #: addAttr: short/long name -> (default value tokens or None, attribute type)
    dynamic: dict[str, tuple[list[_Tok] | None, str]] = field(default_factory=dict)
    #: Attributes (stored names, as in ``attrs``) written locked: ``setAttr -l on``.
    locked: set[str] = field(default_factory=set)


_WS_RE = re.compile(r"[ \t\r\n\f\v]*")
_WORD_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_STATEMENT_START_RE = re.compile(r"\t?([A-Za-z_][A-Za-z0-9_]*)(?=[\s;]|$)")
_STRING_TAIL_RE = re.compile(r'(?:[^"\\]|\\.)*"', re.DOTALL)
# Destination attributes of the connections the resolver follows (short and long names).
_LINK_ATTRS = frozenset(
    {
        "rlid",
        "identification",
        "lrl",
        "legacyRenderLayer",
        "frl",
        "firstRenderLayer",
        "cl",
        "childLowest",
        "prv",
        "previous",
        "pls",
        "parentList",
        "sel",
        "selector",
        "i",
        "input",
        "ori",
        "original",
    }
)
_PLUGS_RE = re.compile(r'"([^"\\]*)"\s*"([^"\\]*)"')


def _find_end(line: str, pos: int, in_string: bool) -> tuple[int, bool]:
    """Return (index of the statement-ending ``;`` or -1, still inside a string).

    Lines of mesh data have no quotes, so the common case is two C-level ``find`` calls.
    """
    if in_string:
        match = _STRING_TAIL_RE.match(line, pos)
        if match is None:
            return -1, True
        pos = match.end()
    while True:
        quote = line.find('"', pos)
        semi = line.find(";", pos)
        if quote < 0 or 0 <= semi < quote:
            return semi, False
        match = _STRING_TAIL_RE.match(line, quote + 1)
        if match is None:
            return -1, True
        pos = match.end()


class _Scan:
    """One streaming pass over the file: header, units, references, nodes of interest."""

    def __init__(self) -> None:
        self.lineno = 0
        self.ascii_version: str | None = None
        self.maya_version: str | None = None
        self.product: str | None = None
        self.file_version: str | None = None
        self.time_unit: str | None = None
        self.requires: list[str] = []
        self.references: list[str] = []
        self.nodes: dict[str, _Node] = {}
        self.connections: list[tuple[str, str, str, str]] = []
        #: Sources connected to ``defaultArnoldRenderOptions.aovList`` in file order, with
        #: the index written (``.aovs[3]``) or None for ``-na`` (next available).
        self.aov_links: list[tuple[str, int | None]] = []
        self.warnings: list[str] = []
        self.saw_trailer = False
        #: why the file looks cut short (see SceneDescription.truncated), or None
        self.truncation: str | None = None
        self.dropped_warnings = 0
        self._current: _Node | None = None
        self._in_statement = False
        self._in_string = False
        self._in_comment = False
        self._buffer: list[str] | None = None
        self._buffer_size = 0
        self._statement_line = 0
        self._statement_command = ""

    # -- driving ---------------------------------------------------------------------

    def run(self, lines: Iterable[str]) -> None:
        """Consume all lines (or pieces of very long lines); handle statements as they end.

        ``lineno`` counts the line ends consumed so far, so the current line is
        ``lineno + 1`` even when a long line arrives in several pieces.
        """
        source = iter(lines)
        for line in source:
            self._line(line)
            self.lineno += line.endswith("\n")
            if not self._skipping():
                continue
            # Fast path for the bulk of big files: continuation lines of a statement we
            # ignore (mesh arrays), recognised with a few C-level string checks.
            done = self.lineno
            for line in source:
                if line.startswith("\t\t") and ";" not in line and '"' not in line:
                    done += line.endswith("\n")
                    continue
                self.lineno = done
                self._line(line)
                done += line.endswith("\n")
                self.lineno = done
                if not self._skipping():
                    break
            else:
                self.lineno = done
        if self._in_statement or self._in_comment:
            what = (
                "a /* comment */"
                if self._in_comment
                else f"a '{shorten_warning(self._statement_command, 40)}' statement"
            )
            at = self.lineno if self._in_comment else self._statement_line
            self.truncation = f"line {at}: the file ends inside {what} (truncated file?)"
            self.warn(self.truncation)
        if not self.saw_trailer:
            message = "the file has no '// End of' line: it may be truncated"
            self.truncation = self.truncation or message
            self.warn(message)

    def _skipping(self) -> bool:
        return self._in_statement and self._buffer is None and not self._in_string

    def _line(self, line: str) -> None:
        pos = 0
        if self._in_comment:
            close = line.find("*/")
            if close < 0:
                return
            self._in_comment = False
            pos = close + 2
        elif self._in_statement:
            if not self._in_string and self._starts_statement(line):
                self.warn(
                    f"line {self._statement_line}: '{self._statement_command}' statement "
                    "has no closing ';'; skipped it"
                )
                self._in_statement = False
                self._buffer = None
            else:
                end, self._in_string = _find_end(line, 0, self._in_string)
                if end < 0:
                    if self._buffer is not None:
                        self._append(line)
                    return
                self._in_statement = False
                if self._buffer is not None:
                    self._append(line[:end])
                    if self._buffer is not None:
                        self._handle("".join(self._buffer), self._statement_line)
                    self._buffer = None
                pos = end + 1
        self._start_statements(line, pos)

    @staticmethod
    def _starts_statement(line: str) -> bool:
        """True if ``line`` begins a new command (Maya indents continuations deeper)."""
        if line.startswith(("\t\t", " ")):
            return False
        match = _STATEMENT_START_RE.match(line)
        return match is not None and match.group(1) in _KNOWN_COMMANDS

    def _start_statements(self, line: str, pos: int) -> None:
        length = len(line)
        while True:
            pos = _WS_RE.match(line, pos).end()  # type: ignore[union-attr]
            if pos >= length:
                return
            if line.startswith("//", pos):
                self._comment(line[pos:].rstrip("\r\n"))
                return
            if line.startswith("/*", pos):
                close = line.find("*/", pos + 2)
                if close < 0:
                    self._in_comment = True
                    return
                pos = close + 2
                continue
            if line[pos] == ";":
                pos += 1
                continue
            word = _WORD_RE.match(line, pos)
            command = word.group(0) if word else (line[pos : pos + 20].split() or ["?"])[0]
            keep = self._wants(command, line, pos)
            end, in_string = _find_end(line, pos, False)
            if end >= 0:
                if keep:
                    self._handle(line[pos:end], self.lineno + 1)
                elif command not in _KNOWN_COMMANDS:
                    self._unknown(command, self.lineno + 1)
                pos = end + 1
                continue
            self._in_statement = True
            self._in_string = in_string
            self._statement_line = self.lineno + 1
            self._statement_command = command
            self._buffer = None
            self._buffer_size = 0
            if keep:
                self._buffer = []
                self._append(line[pos:])
            elif command not in _KNOWN_COMMANDS:
                self._unknown(command, self.lineno + 1)
            return

    def _append(self, text: str) -> None:
        assert self._buffer is not None
        self._buffer_size += len(text)
        if self._buffer_size > _MAX_STATEMENT_CHARS:
            self.warn(
                f"line {self._statement_line}: '{self._statement_command}' statement is larger "
                f"than {_MAX_STATEMENT_CHARS // (1024 * 1024)} MB; skipped it"
            )
            self._buffer = None
            return
        self._buffer.append(text)

    def _wants(self, command: str, line: str, pos: int) -> bool:
        """Decide from the first line alone whether a statement's text is worth keeping."""
        if command == "setAttr":
            if self._current is not None:
                return True
            first = line.find('"', pos, pos + 1024)  # setAttr "node.attr" form
            last = line.find('"', first + 1) if first >= 0 else -1
            name = line[first + 1 : last] if last > first else ""
            if not name or name.startswith(".") or "." not in name:
                return False
            node = _node_name(name.partition(".")[0])
            return node in self.nodes or node in _GLOBAL_TYPES
        if command == "addAttr":
            return self._current is not None and self._current.type.endswith("Override")
        return command in (
            "createNode",
            "select",
            "connectAttr",
            "requires",
            "currentUnit",
            "fileInfo",
            "file",
            "rename",
        )

    def warn(self, message: str) -> None:
        if len(self.warnings) < _WARNINGS_STORED:  # a damaged file must not fill memory
            self.warnings.append(shorten_warning(message))
        else:
            self.dropped_warnings += 1

    def _unknown(self, command: str, line: int) -> None:
        self.warn(f"line {line}: unknown command '{command}' skipped")

    def _comment(self, text: str) -> None:
        if self.ascii_version is None and text.startswith("//Maya ASCII"):
            parts = text.split()
            self.ascii_version = parts[2] if len(parts) > 2 else None
        elif text.startswith("// End of"):
            self.saw_trailer = True

    # -- statements --------------------------------------------------------------------

    def _handle(self, text: str, line: int) -> None:
        word = _WORD_RE.match(text)
        command = word.group(0) if word else ""
        body = text[len(command) :]
        try:
            if command == "connectAttr":
                self._connect(body, line)
            elif command == "setAttr":
                self._setattr(_tokenize(body), line)
            elif command == "createNode":
                self._create(_tokenize(body), line)
            elif command == "select":
                self._select(_tokenize(body))
            elif command == "addAttr":
                self._addattr(_tokenize(body))
            elif command == "requires":
                self._requires(_tokenize(body))
            elif command == "currentUnit":
                self._current_unit(_tokenize(body), line)
            elif command == "fileInfo":
                self._file_info(_tokenize(body))
            elif command == "file":
                self._file(_tokenize(body))
            elif command == "rename":
                self._rename(_tokenize(body))
        except (ValueError, IndexError) as exc:  # malformed content never stops the read
            self.warn(f"line {line}: could not read '{command}' statement ({exc}); skipped it")

    def _create(self, tokens: list[_Tok], line: int) -> None:
        flags, rest = _flag_args(tokens, {"n": 1, "name": 1, "p": 1, "parent": 1})
        node_type = rest[0][1] if rest else ""
        raw_name = _flag(flags, "n", "name")
        if not node_type or not raw_name:
            self._current = None
            return
        name = _node_name(raw_name)
        if not _is_interesting(node_type, name):
            self._current = None
            return
        if name in self.nodes and name not in _GLOBAL_TYPES and self.nodes[name].type == node_type:
            self.warn(f"line {line}: a second node named '{name}' replaces the first")
        node = _Node(name, node_type, len(self.nodes), line)
        parent = _flag(flags, "p", "parent")
        node.parent = _node_name(parent) if parent else ""
        self.nodes[name] = node
        self._current = node

    def _select(self, tokens: list[_Tok]) -> None:
        names = [text for kind, text in tokens if kind in ("w", "s")]
        if not names:
            self._current = None
            return
        name = _node_name(names[-1])
        node = self.nodes.get(name)
        if node is None and name in _GLOBAL_TYPES:
            node = _Node(name, _GLOBAL_TYPES[name], len(self.nodes), self.lineno + 1)
            self.nodes[name] = node
        self._current = node

    def _setattr(self, tokens: list[_Tok], line: int) -> None:
        attr, values = _parse_setattr(tokens)
        if attr is None:
            self.warn(f"line {line}: setAttr without an attribute name; skipped it")
            return
        node = self._current
        if not attr.startswith("."):
            raw_node, _, attr = attr.partition(".")
            name = _node_name(raw_node)
            node = self.nodes.get(name)
            if node is None and name in _GLOBAL_TYPES:
                node = _Node(name, _GLOBAL_TYPES[name], len(self.nodes), line)
                self.nodes[name] = node
        if node is None:
            return  # a node we do not read
        canon = attr.lstrip(".") if node.name in _OPTION_NODES else _canon_attr(node.type, attr)
        locked = _lock_state(tokens)
        if locked is not None:  # `setAttr -l on ".atv" 8;` or lock only: `setAttr -l on ".atv";`
            if locked:
                node.locked.add(canon)
            else:
                node.locked.discard(canon)
        if not values:
            return  # flags only (`setAttr -k on ".fs";`)
        ranged = _RANGE_RE.match(canon)
        if ranged:  # setAttr -s 6 ".rlmi[1:5]" 1 2 3 4 5;
            base, first, last = ranged.group(1), int(ranged.group(2)), int(ranged.group(3))
            count = last - first + 1
            per = len(values) // count if count > 0 else 0
            for i in range(count if per else 0):
                node.attrs[f"{base}[{first + i}]"] = values[i * per : (i + 1) * per]
            return
        node.attrs[canon] = values

    def _addattr(self, tokens: list[_Tok]) -> None:
        node = self._current
        if node is None:
            return
        short = long = default_type = None
        default: list[_Tok] | None = None
        for i, (kind, text) in enumerate(tokens[:-1]):
            if kind != "f":
                continue
            arg = tokens[i + 1]
            if text in ("sn", "shortName"):
                short = arg[1]
            elif text in ("ln", "longName"):
                long = arg[1]
            elif text in ("dv", "defaultValue"):
                default = [arg]
            elif text in ("at", "attributeType", "dt", "dataType"):
                default_type = arg[1]
        for name in (short, long):
            if name:
                node.dynamic[_LONG_TO_SHORT.get(name, name)] = (default, default_type or "")

    def _connect(self, body: str, line: int) -> None:
        match = _PLUGS_RE.search(body)
        if match is None:
            tokens = [text for kind, text in _tokenize(body) if kind == "s"]
            if len(tokens) < 2:
                self.warn(f"line {line}: connectAttr without two plugs; skipped it")
                return
            source, target = tokens[0], tokens[1]
        else:
            source, target = match.group(1), match.group(2)
        src_node, _, src_attr = source.partition(".")
        dst_node, _, dst_attr = target.partition(".")
        src, dst = _node_name(src_node), _node_name(dst_node)
        if dst == _ARNOLD_OPTIONS and dst_attr.partition("[")[0] in _AOV_LIST_ATTRS:
            index = _INDEX_RE.search(dst_attr)
            self.aov_links.append((src, int(index.group(1)) if index else None))
            return
        # Keep only the links the resolver follows; membership links such as
        # `layer.ri -> object.rlio[i]` (one per object per layer) are dropped here.
        wanted = dst in _GLOBAL_TYPES or dst_attr.startswith(("adjs[", "adjustments["))
        if not wanted and dst_attr.partition("[")[0] not in _LINK_ATTRS:
            return
        if dst in _GLOBAL_TYPES or src in self.nodes or dst in self.nodes:
            self.connections.append((src, src_attr, dst, dst_attr))

    def _requires(self, tokens: list[_Tok]) -> None:
        _, rest = _flag_args(tokens, {"nodeType": 1, "nt": 1, "dataType": 1, "dt": 1})
        strings = [text for kind, text in rest if kind in ("s", "w")]
        if not strings:
            return
        plugin = strings[0]
        if plugin == "maya":
            if len(strings) > 1:
                self.maya_version = strings[1]
        elif plugin not in self.requires:
            self.requires.append(plugin)

    def _current_unit(self, tokens: list[_Tok], line: int) -> None:
        flags, _ = _flag_args(
            tokens, {"l": 1, "linear": 1, "a": 1, "angle": 1, "t": 1, "time": 1, "ua": 1}
        )
        unit = _flag(flags, "t", "time")
        if unit:
            self.time_unit = unit

    def _file_info(self, tokens: list[_Tok]) -> None:
        strings = [text for kind, text in tokens if kind == "s"]
        if len(strings) >= 2:
            if strings[0] == "product":
                self.product = strings[1]
            elif strings[0] == "version":
                self.file_version = strings[1]

    def _file(self, tokens: list[_Tok]) -> None:
        flags = {text for kind, text in tokens if kind == "f"}
        if not flags & {"r", "reference", "rdi", "referenceDepthInfo"}:
            return
        strings = [text for kind, text in tokens if kind == "s"]
        if strings and strings[-1] not in self.references:
            self.references.append(strings[-1])

    def _rename(self, tokens: list[_Tok]) -> None:
        flags, rest = _flag_args(tokens, {"uid": 1, "uuid": 1})
        if flags or not rest:
            return  # `rename -uid "..."` sets the node's UUID, not its name
        names = [_node_name(text) for _, text in rest]
        old = self.nodes.get(names[0]) if len(names) > 1 else self._current
        if old is None:
            return
        self.nodes.pop(old.name, None)
        old.name = names[-1]
        self.nodes[old.name] = old


# --------------------------------------------------------------------------- resolving

_Plug = tuple[str, str]


class _Resolver:
    """Turns what the scan kept into layers and per-layer settings."""

    def __init__(self, scan: _Scan, path: str) -> None:
        self.scan = scan
        self.path = path
        self.nodes = scan.nodes
        self.warnings = scan.warnings
        self.incoming: dict[_Plug, _Plug] = {}
        self.children: dict[str, list[str]] = {}
        self.next_of: dict[str, str] = {}
        self.prev_of: dict[str, str] = {}
        self.head_of: dict[str, str] = {}
        self.cameras = [n.name for n in self._ordered_nodes() if _is_camera(n.type)]
        self._index_connections()

    # -- graph helpers ----------------------------------------------------------------

    def _all_cameras(self) -> list[str]:
        """Every camera shape and its transform, in file order, each once."""
        names: dict[str, None] = {}  # ordered and each once, in linear time
        for shape in self.cameras:
            for name in (self.nodes[shape].parent, shape):
                if name:
                    names.setdefault(name)
        return list(names)

    def _ordered_nodes(self) -> list[_Node]:
        return sorted(self.nodes.values(), key=lambda n: n.order)

    def _type(self, name: str) -> str:
        node = self.nodes.get(name)
        return node.type if node else _GLOBAL_TYPES.get(name, "")

    def _index_connections(self) -> None:
        for src, src_attr, dst, dst_attr in self.scan.connections:
            source = (src, _canon_attr(self._type(src), src_attr))
            target = (dst, _canon_attr(self._type(dst), dst_attr))
            self.incoming[target] = source
            if source[1] == "lit" and target[1] == "pls":
                self.children.setdefault(src, []).append(dst)
            elif source[1] == "nxt" and target[1] == "prv":
                self.next_of[src] = dst
                self.prev_of[dst] = src
            elif source[1] == "msg" and target[1] in ("cl", "frl"):
                self.head_of[dst] = src

    def _chain_order(self, items: list[str], head: str | None) -> list[str] | None:
        """Order ``items`` along their ``.nxt`` -> ``.prv`` chain; None if it is broken."""
        if len(items) <= 1:
            return list(items)
        members = set(items)
        if head not in members:
            heads = [item for item in items if self.prev_of.get(item) not in members]
            if len(heads) != 1:
                return None
            head = heads[0]
        order: list[str] = []
        seen: set[str] = set()
        current: str | None = head
        while current in members and current not in seen:
            assert current is not None
            order.append(current)
            seen.add(current)
            current = self.next_of.get(current)
        return order if len(order) == len(items) else None

    def _children_of(self, parent: str) -> list[str]:
        items = sorted(
            dict.fromkeys(self.children.get(parent, [])),
            key=lambda name: self.nodes[name].order if name in self.nodes else 1 << 30,
        )
        order = self._chain_order(items, self.head_of.get(parent))
        if order is None:
            self.warnings.append(
                f"Render Setup item '{parent}': the order of its children could not be read "
                "(broken .nxt/.prv chain); using file order"
            )
            return items
        return order

    def _value(self, plug: _Plug, kind: str) -> Any:
        node = self.nodes.get(plug[0])
        values = node.attrs.get(plug[1]) if node else None
        value = _typed(values, kind)
        if values and value is None:
            self.warnings.append(
                f"{plug[0]}.{plug[1]}: cannot read {' '.join(t for _, t in values)[:60]!r} "
                f"as {kind}; using Maya's default"
            )
        return value

    def _written(self, plug: _Plug) -> Any:
        """The value stored on the node in the file, or Maya's default."""
        kind, default = self._kind(plug)
        value = self._value(plug, kind)
        return default if value is None else value

    def _kind(self, plug: _Plug) -> tuple[str, Any]:
        spec = _GLOBAL_PLUGS.get(plug)
        if spec is not None:
            return spec[1], spec[2]
        return "bool", True  # camera .rnd: cameras are renderable unless written off

    def _tracked(self) -> list[_Plug]:
        return [*_GLOBAL_PLUGS, *((camera, "rnd") for camera in self.cameras)]

    @staticmethod
    def _long_name(plug: _Plug) -> str:
        spec = _GLOBAL_PLUGS.get(plug)
        return f"{plug[0]}.{spec[0] if spec else 'renderable'}"

    # -- layers ----------------------------------------------------------------------

    # Layers render only when connected to the main manager; imported scenes bring
    # managers such as `imported_scene_renderLayerManager` whose layers Maya ignores
    # (DCM referenced_layers.ma; DCM render_layers.py skips layers not connected to
    # the main `renderLayerManager`, see MAYA_REFERENCE.md section 2).
    def _main_manager(self) -> str | None:
        managers = [n for n in self._ordered_nodes() if n.type == "renderLayerManager"]
        for node in managers:
            if node.name == "renderLayerManager":
                return node.name
        plain = [n.name for n in managers if ":" not in n.name]
        return plain[0] if plain else None

    def _members(self, manager: str | None) -> dict[str, int]:
        """renderLayer nodes connected to ``manager.rlmi[i]`` -> i (layers it renders)."""
        members: dict[str, int] = {}
        if manager is None:
            return members
        for (dst, dst_attr), (src, src_attr) in self.incoming.items():
            if src == manager and dst_attr == "rlid" and self._type(dst) == "renderLayer":
                index = _INDEX_RE.search(src_attr)
                members[dst] = int(index.group(1)) if index else 0
        return members

    # Legacy per-layer overrides: `connectAttr ":defaultRenderGlobals.ren"
    # "layer.adjs[0].plg"` with the layer's value in `setAttr ".adjs[0].val"` (public
    # Maya 2012 scene "final comp shot 1.ma"; DCM layers.ma has one on `cameraShape1.rnd`).
    def _adjustments(self, layer: str) -> dict[_Plug, Any]:
        """Legacy render-layer adjustments: ``plug -> layer.adjs[i].plg``, value in ``.val``."""
        node = self.nodes.get(layer)
        tracked = set(self._tracked())
        found: dict[_Plug, Any] = {}
        if node is None:
            return found
        for (dst, dst_attr), (src, src_attr) in self.incoming.items():
            if dst != layer or not dst_attr.startswith("adjs[") or not dst_attr.endswith(".plg"):
                continue
            plug = (src, _canon_attr(self._type(src), src_attr))
            if plug not in tracked:
                continue
            kind, _ = self._kind(plug)
            value = self._value((layer, dst_attr[: -len("plg")] + "val"), kind)
            if value is None:
                self.warnings.append(
                    f"layer '{layer}': adjustment of {self._long_name(plug)} has no value; ignored"
                )
                continue
            found[plug] = value
        return found

    # While a Render Setup layer is visible its overrides drive the plugs through
    # applyOverride nodes (through unitToTimeConversion for time plugs) and the first
    # one keeps the master value in `.original` (AYON lib_rendersetup.py
    # get_default_layer_value). The short name `ori` is an assumption.
    def _apply_original(self, plug: _Plug) -> Any:
        """Master value of a plug driven by Render Setup override application nodes."""
        source = self.incoming.get(plug)
        original: str | None = None
        seen: set[str] = set()
        while source is not None and source[0] not in seen:
            name = source[0]
            seen.add(name)
            node_type = self._type(name)
            if node_type == "unitToTimeConversion":
                source = self.incoming.get((name, "i"))
            elif node_type.startswith("apply") and node_type.endswith("Override"):
                original = name
                source = self.incoming.get((name, "ori"))
            else:
                break
        if original is None:
            return None
        kind, _ = self._kind(plug)
        return self._value((original, "ori"), kind)

    # -- Render Setup overrides --------------------------------------------------------

    # Overrides and collections have selfEnabled (written when off) and a computed
    # enabled = selfEnabled and parentEnabled (Render Setup enabled.py docstring, in
    # mrbmp33/maya_mock_completion maya/app/renderSetup/model/enabled.py); `.pen` links
    # are in DCM layers.ma. Short name `sen` is assumed; localRender overrides do not
    # apply in batch renders (AYON get_attr_overrides skip_local_render).
    def _enabled(self, name: str) -> bool:
        node = self.nodes.get(name)
        if node is None:
            return True
        for attr in ("sen", "en"):
            if _typed(node.attrs.get(attr), "bool") is False:
                return False
        return _typed(node.attrs.get("localRender"), "bool") is not True

    # Collections pick nodes through a selector: `selector.c -> collection.sel`, static
    # names in `.ssl` separated by newlines, patterns in `.pat` (DCM layers.ma and a
    # public Render Setup scene with `.pat "::*body*, -::*geo*"` from the code index).
    def _selection(self, collection: str) -> list[str] | None:
        """Node names a collection's selector picks (static list and simple patterns)."""
        source = self.incoming.get((collection, "sel"))
        selector = self.nodes.get(source[0]) if source else None
        if selector is None:
            return None
        names: list[str] = []
        static = _typed(selector.attrs.get("ssl"), "str")
        if static:
            names.extend(_node_name(item) for item in static.split() if item)
        pattern = _typed(selector.attrs.get("pat"), "str")
        if pattern:
            names.extend(self._match_pattern(pattern))
        return names

    def _match_pattern(self, pattern: str) -> list[str]:
        """Approximate Render Setup patterns (``*``, ``::*cam*``, ``-exclude``) on cameras."""
        candidates = [*self.cameras, *(self.nodes[c].parent for c in self.cameras), _RG, _RES]
        chosen: list[str] = []
        for raw in pattern.split(","):
            item = raw.strip()
            exclude = item.startswith("-")
            item = item.lstrip("-").lstrip("+").split("::")[-1]
            if not item:
                continue
            hits = [c for c in candidates if c and fnmatch.fnmatchcase(c.split(":")[-1], item)]
            chosen = [c for c in chosen if c not in hits] if exclude else chosen + hits
        return chosen

    # Order: children of a layer or collection follow their `.nxt -> .prv` chain from
    # the parent's `.cl` (DCM layers.ma); later overrides win, an absolute override
    # replaces the value and a relative one gives value * multiply + offset (AYON
    # lib_rendersetup.py get_attr_in_layer / iter_layer_overrides).
    def _walk(
        self, container: str, enabled: bool, selection: list[str], seen: set[str]
    ) -> Iterator[tuple[str, list[str]]]:
        """Yield (override, selection) in application order; later overrides win."""
        for child in self._children_of(container):
            if child in seen:
                continue
            seen.add(child)
            child_type = self._type(child)
            active = enabled and self._enabled(child)
            if child_type in _VALUE_OVERRIDES:
                if active:
                    yield child, selection
            elif _is_container(child_type):
                narrowed = self._selection(child)
                yield from self._walk(
                    child, active, selection if narrowed is None else narrowed, seen
                )

    def _targets(self, override: str, attribute: str, selection: list[str]) -> list[_Plug]:
        node = self.nodes[override]
        if "Unique" in node.type:
            target = _typed(node.attrs.get("tgName"), "str")
            names = [_node_name(target)] if target else []
            if not names and _canon_attr("renderGlobals", attribute) in ("fs", "ef", "bfs", "ren"):
                self.warnings.append(f"override '{override}' has no target node; assumed {_RG}")
                names = [_RG]
        else:
            names = selection
        plugs: list[_Plug] = []
        for name in names:
            if name in (_RG, _RES):
                plug = (name, _canon_attr(_GLOBAL_TYPES[name], attribute))
                if plug in _GLOBAL_PLUGS:
                    plugs.append(plug)
                continue
            if _canon_attr("camera", attribute) != "rnd":
                continue
            for camera in self.cameras:
                if name in (camera, self.nodes[camera].parent):
                    plugs.append((camera, "rnd"))
        return plugs

    # `.atv`, `.mul`, `.ofs` are dynamic attributes (addAttr on each override); Maya
    # writes them only when they differ from the addAttr default (-dv, else 0). DCM
    # layers.ma has an absOverride "renderable" with no `.atv` line: its value is off.
    def _number_attr(self, node: _Node, attr: str, fallback: float) -> float:
        value = _typed(node.attrs.get(attr), "float")
        if value is not None:
            return float(value)
        if attr in node.dynamic:  # Maya's default for a dynamic attribute: -dv, else 0
            default = _typed(node.dynamic[attr][0], "float")
            return 0.0 if default is None else float(default)
        return fallback

    def _absolute_value(self, node: _Node, kind: str) -> Any:
        value = _typed(node.attrs.get("atv"), kind)
        if value is not None:
            return value
        if "atv" in node.dynamic:
            default = _typed(node.dynamic["atv"][0], kind)
            if default is not None:
                return default
            return {"str": "", "bool": False, "int": 0}.get(kind, 0.0)
        return None

    # A set on an overridden plug goes to the highest-priority (last applied) enabled
    # override, and succeeds only if that override's value plug is settable: `attrValue`
    # for absolute overrides, `offset` for relative ones (Render Setup applyOverride.py
    # ApplyAbsOverride/ApplyRelOverride.isOverrideValueSettable; `multiply` is not
    # checked there). A locked plug is not settable.
    @staticmethod
    def _value_plug_locked(node: _Node) -> bool:
        return ("atv" if node.type.startswith("abs") else "ofs") in node.locked

    def _apply_overrides(
        self,
        rs_layer: str,
        values: dict[_Plug, Any],
        applied: dict[str, Any],
        locked: dict[str, bool],
    ) -> None:
        """Apply ``rs_layer``'s enabled value overrides to ``values``; record each
        overridden plug in ``applied`` and whether its winning override is locked."""
        for override, selection in self._walk(rs_layer, True, [], set()):
            node = self.nodes[override]
            attribute = _typed(node.attrs.get("atr"), "str")
            if not attribute:
                continue
            value_locked = self._value_plug_locked(node)
            for plug in self._targets(override, attribute, selection):
                kind, _ = self._kind(plug)
                if node.type.startswith("abs"):
                    value = self._absolute_value(node, kind)
                    if value is None:
                        self.warnings.append(
                            f"override '{override}' on {self._long_name(plug)} has no value; "
                            "ignored"
                        )
                        continue
                elif kind in ("float", "int"):
                    multiply = self._number_attr(node, "mul", 1.0)
                    offset = self._number_attr(node, "ofs", 0.0)
                    value = float(values[plug]) * multiply + offset
                    value = round(value) if kind == "int" else value
                else:
                    self.warnings.append(
                        f"relative override '{override}' cannot change "
                        f"{self._long_name(plug)} (not a number); ignored"
                    )
                    continue
                values[plug] = value
                applied[self._long_name(plug)] = value
                locked[self._long_name(plug)] = value_locked

    # -- the whole scene ---------------------------------------------------------------

    def describe(self) -> SceneDescription:
        scan = self.scan
        time_unit = scan.time_unit or "film"
        fps = _TIME_UNIT_FPS.get(time_unit)
        if fps is None:
            match = _FPS_UNIT.fullmatch(time_unit)
            fps = float(match.group(1)) if match else None
        if fps is None:
            self.warnings.append(f"unknown time unit '{time_unit}'; assuming 24 fps")
            fps = 24.0
        current_time = self._value((_TIME, "o"), "float")
        current_time = 1.0 if current_time is None else float(current_time)

        manager = self._main_manager()
        members = self._members(manager)
        master = next((m for m, i in members.items() if i == 0), None)
        if master is None:
            master = MASTER_NODE if self._type(MASTER_NODE) == "renderLayer" else None

        rs_pairs: list[tuple[str, str]] = []  # (renderSetupLayer, legacy renderLayer)
        for node in self._ordered_nodes():
            if node.type != "renderSetupLayer":
                continue
            source = self.incoming.get((node.name, "lrl"))
            legacy = source[0] if source else f"rs_{node.name}"
            if self._type(legacy) != "renderLayer":
                self.warnings.append(
                    f"Render Setup layer '{node.name}' has no render layer node; skipped it"
                )
                continue
            rs_pairs.append((node.name, legacy))
        rs_pairs = self._order_rs_layers(rs_pairs)
        paired = {legacy for _, legacy in rs_pairs}
        legacy_layers = sorted(
            (m for m in members if m != master and m not in paired), key=lambda m: members[m]
        )
        render_setup = bool(rs_pairs) or (
            not legacy_layers and any(n.type == "renderSetup" for n in self.nodes.values())
        )
        if rs_pairs and legacy_layers:
            self.warnings.append(
                "legacy render layers "
                + ", ".join(legacy_layers)
                + " are not part of Render Setup; Maya ignores them in Render Setup mode"
            )
            legacy_layers = []

        current = self._current_layer(manager, members, master)
        self._check_driven_globals()
        tracked = self._tracked()
        written = {plug: self._written(plug) for plug in tracked}
        master_values = dict(written)
        if current is not None and current != master:
            if master is not None:
                master_values.update(self._adjustments(master))
            for plug in tracked:
                original = self._apply_original(plug)
                if original is not None:
                    master_values[plug] = original

        layers: list[LayerDescription] = []
        master_layer = self._layer(
            MASTER_LAYER, master or MASTER_NODE, master_values, {}, master=True, legacy=False
        )
        master_layer.renderable = self._renderable(master)
        layers.append(master_layer)
        current_name = MASTER_LAYER
        for rs_name, legacy in rs_pairs:
            values, applied = self._layer_values(legacy, current, written, master_values)
            locked: dict[str, bool] = {}
            self._apply_overrides(rs_name, values, applied, locked)
            if legacy == current:
                current_name = rs_name
                self._check_visible(rs_name, applied, master_values, written)
            layer = self._layer(rs_name, legacy, values, applied, master=False, legacy=False)
            layer.renderable = self._renderable(legacy)
            layer.locked_overrides = [plug for plug, is_locked in locked.items() if is_locked]
            layers.append(layer)
        for legacy in legacy_layers:
            values, applied = self._layer_values(legacy, current, written, master_values)
            if legacy == current:
                current_name = legacy
            layer = self._layer(legacy, legacy, values, applied, master=False, legacy=True)
            layer.renderable = self._renderable(legacy)
            layers.append(layer)

        if not master_layer.cameras:
            self.warnings.append(
                "no renderable camera in this file (cameras inside referenced files are not "
                "visible to the .ma reader)"
            )
        else:  # Maya fails such a layer: "This scene does not have any renderable cameras"
            for item in layers[1:]:
                if item.renderable and not item.cameras:
                    self.warnings.append(f"layer {item.name}: no camera is renderable")
        scene = SceneDescription(
            path=self.path,
            maya_version=self._maya_version(),
            requires=list(scan.requires),
            time_unit=time_unit,
            fps=fps,
            current_time=current_time,
            renderer=master_layer.renderer,
            animation=master_layer.animation,
            start_frame=master_layer.start_frame,
            end_frame=master_layer.end_frame,
            by_frame=master_layer.by_frame,
            image_prefix=master_layer.image_prefix,
            resolution=master_layer.resolution,
            renderable_cameras=list(master_layer.cameras),
            cameras=self._all_cameras(),
            references=list(scan.references),
            node_attributes=self._node_attributes(),
            layers=layers,
            render_setup=render_setup,
            current_layer=current_name,
            arnold_aovs=self._arnold_aovs(),
        )
        self._frames(scene)
        scene.warnings = bounded_warnings(self.warnings, self.scan.dropped_warnings)
        scene.truncated = scan.truncation
        return scene

    def _node_attributes(self) -> dict[str, dict[str, Any]]:
        """Output settings as stored in the file (no per-layer overrides applied); every
        renderer options node the file creates is listed, possibly with no values."""
        found: dict[str, dict[str, Any]] = {}
        for name in (_RG, *sorted(_OPTION_NODES)):
            node = self.nodes.get(name)
            if node is None:
                continue
            values: dict[str, Any] = {}
            for attr, tokens in node.attrs.items():
                if name == _RG:
                    long_name = _RG_OUTPUT_ATTRS.get(attr)
                elif "[" in attr or "." in attr:
                    long_name = None
                else:
                    long_name = _OPTION_NAMES.get(attr, attr)
                if long_name is not None and len(tokens) == 1:
                    values[long_name] = _plain(tokens[0])
            # a renderer's options node is reported whenever the file creates it, even
            # with no setAttr: whether it exists decides what the renderer does (the
            # simulator creates it only when the scene or a creation call does)
            if values or name in _OPTION_NODES:
                found[name] = values
        return found

    # `aovList` is an array whose index does not matter (setIndexMatters(false)): files
    # connect with `-na` and MtoA's AOVInterface.addAOV with an explicit
    # `aovs[<element count>]` (MTOA scripts/mtoa/aovs.py @ f0920e993c42); both append, so
    # index order is the order the AOVs were added. `-na` is taken here as one past the
    # highest index in use (assumed, not checked against Maya); a later connection to a
    # used index replaces the earlier one. MtoA's own AOV list UI sorts by name instead.
    def _arnold_aovs(self) -> list[ArnoldAov]:
        """The ``aiAOV`` nodes connected to the Arnold options node, by index."""
        slots: dict[int, str] = {}
        for source, index in self.scan.aov_links:
            slots[max(slots, default=-1) + 1 if index is None else index] = source
        aovs: list[ArnoldAov] = []
        listed: set[str] = set()
        for index in sorted(slots):
            name = slots[index]
            if name in listed or self._type(name) != _AOV_TYPE:
                continue  # only aiAOV nodes of this file count (not referenced ones)
            listed.add(name)
            aov_name = self._value((name, "aovn"), "str")
            if not aov_name:
                self.warnings.append(f"Arnold AOV node '{name}' has no AOV name (.aovn)")
            enabled = self._value((name, "aoven"), "bool")
            aovs.append(
                ArnoldAov(
                    node=name,
                    name=str(aov_name or ""),
                    enabled=True if enabled is None else bool(enabled),
                )
            )
        return aovs

    def _check_driven_globals(self) -> None:
        """Warn about render settings driven by a connection (an expression, a key)."""
        for plug in _GLOBAL_PLUGS:
            source = self.incoming.get(plug)
            if source is None:
                continue
            source_type = self._type(source[0])
            if source_type == "unitToTimeConversion" or source_type.startswith("apply"):
                continue  # Render Setup applying the visible layer's overrides
            self.warnings.append(
                f"{self._long_name(plug)} is driven by {source[0]}.{source[1]}; the value "
                "stored in the file is used, which Maya may replace when the scene loads"
            )

    def _order_rs_layers(self, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
        by_name = dict(pairs)
        names = [name for name, _ in pairs]
        root = next((n.name for n in self._ordered_nodes() if n.type == "renderSetup"), None)
        order = self._chain_order(names, self.head_of.get(root) if root else None)
        if order is None:
            self.warnings.append(
                "the Render Setup layer order could not be read (broken .nxt/.prv chain); "
                "using file order"
            )
            order = names
        return [(name, by_name[name]) for name in order]

    # `renderLayerManager.crl` is the id of the layer visible at save time and
    # `.rlmi[i]` the id of the layer connected at index i (public Maya scenes
    # in the code index: `setAttr ".crl" 5; setAttr -s 5 ".rlmi[1:4]" 5 2 3 4;`). Autodesk
    # editRenderLayerGlobals docs: the current render layer "is stored in the file".
    def _current_layer(
        self, manager: str | None, members: dict[str, int], master: str | None
    ) -> str | None:
        """The layer visible when the file was saved (``renderLayerManager.crl`` id)."""
        if manager is None:
            return master
        current_id = _typed(self.nodes[manager].attrs.get("crl"), "int")
        if not current_id:
            return master
        for layer, index in members.items():
            layer_id = _typed(self.nodes[manager].attrs.get(f"rlmi[{index}]"), "int")
            if layer != master and (layer_id if layer_id is not None else 0) == current_id:
                return layer
        self.warnings.append(
            f"the current render layer id {current_id} matches no layer; assuming masterLayer"
        )
        return master

    def _layer_values(
        self,
        layer: str,
        current: str | None,
        written: dict[_Plug, Any],
        master_values: dict[_Plug, Any],
    ) -> tuple[dict[_Plug, Any], dict[str, Any]]:
        """Master values with the layer's legacy adjustments applied.

        The layer visible at save time holds its values on the nodes themselves, so its
        adjustment values (refreshed only when switching away) are not trusted.
        """
        values = dict(master_values)
        applied: dict[str, Any] = {}
        for plug, value in self._adjustments(layer).items():
            value = written[plug] if layer == current else value
            values[plug] = value
            applied[self._long_name(plug)] = value
        return values, applied

    def _check_visible(
        self,
        rs_name: str,
        applied: dict[str, Any],
        master_values: dict[_Plug, Any],
        written: dict[_Plug, Any],
    ) -> None:
        """Warn where a master value may really be the visible layer's override."""
        for plug in _GLOBAL_PLUGS:
            long_name = self._long_name(plug)
            if (
                long_name in applied
                and master_values[plug] == written[plug]
                and self._apply_original(plug) is None
                and plug in self.incoming
            ):
                self.warnings.append(
                    f"the scene was saved with layer '{rs_name}' visible and the master "
                    f"value of {long_name} could not be recovered; save with masterLayer "
                    "visible for an exact result"
                )

    def _renderable(self, layer: str | None) -> bool:
        if layer is None:
            return True
        value = _typed(self.nodes[layer].attrs.get("rndr"), "bool")
        return True if value is None else bool(value)

    def _layer(
        self,
        name: str,
        node: str,
        values: dict[_Plug, Any],
        applied: dict[str, Any],
        *,
        master: bool,
        legacy: bool,
    ) -> LayerDescription:
        return LayerDescription(
            name=name,
            node=node,
            master=master,
            renderer=str(values[(_RG, "ren")]),
            animation=bool(values[(_RG, "an")]),
            start_frame=float(values[(_RG, "fs")]),
            end_frame=float(values[(_RG, "ef")]),
            by_frame=float(values[(_RG, "bfs")]),
            image_prefix=str(values[(_RG, "ifp")]),
            overrides=applied,
            legacy=legacy,
            cameras=[c for c in self.cameras if values.get((c, "rnd"), True)],
            resolution=(int(values[(_RES, "w")]), int(values[(_RES, "h")])),
        )

    def _frames(self, scene: SceneDescription) -> None:
        def key(layer: LayerDescription) -> tuple[bool, float, float, float]:
            return (layer.animation, layer.start_frame, layer.end_frame, layer.by_frame)

        master = scene.layers[0]
        for layer in scene.layers:
            label = "" if layer.master else f"layer {layer.name}: "
            frames, notes = render_frames(
                layer.animation,
                layer.start_frame,
                layer.end_frame,
                layer.by_frame,
                scene.current_time,
                label=label,
            )
            layer.frames = frames
            if layer.master or key(layer) != key(master):
                self.warnings.extend(notes)

    def _maya_version(self) -> str | None:
        scan = self.scan
        if scan.maya_version:
            return scan.maya_version
        if scan.product and scan.product.startswith("Maya "):
            return scan.product[len("Maya ") :].strip()
        return scan.file_version or scan.ascii_version


# --------------------------------------------------------------------------- entry point


def _encoding(path: Path) -> str:
    """Check that ``path`` is Maya ASCII and return the text encoding to read it with."""
    try:
        with path.open("rb") as handle:
            head = handle.read(_HEADER_BYTES)
    except FileNotFoundError:
        raise MayaAsciiError(f"scene not found: {path} — check the path and try again") from None
    except IsADirectoryError:
        raise MayaAsciiError(f"scene path is a folder, not a file: {path}") from None
    except OSError as exc:
        raise MayaAsciiError(f"cannot read scene {path}: {exc.strerror or exc}") from None
    if head[:4] in (b"FOR4", b"FOR8"):  # IFF container of Maya Binary files
        raise MayaAsciiError(
            f"this is a Maya Binary (.mb) scene; it is read through mayapy (the manager "
            f"asks Maya to describe it), or save it as Maya ASCII (.ma) to read it "
            f"without Maya: {path}"
        )
    bom = head.startswith(codecs.BOM_UTF8)
    lines = head[len(codecs.BOM_UTF8) if bom else 0 :].decode("latin-1").splitlines()
    lines = lines[:_HEADER_LINES]
    if not any(line.startswith("//Maya ASCII") for line in lines):
        wide = _foreign_encoding(head)
        if wide is not None:
            raise MayaAsciiError(
                f"{path} is Maya ASCII text saved as {wide}, which Maya does not read: a "
                f".ma file is 8-bit text (UTF-8, or the code page its //Codeset line "
                f"names). Re-save the scene from Maya as Maya ASCII (File > Save Scene "
                f"As, type mayaAscii), or, if a text editor re-encoded it, save it from "
                f"that editor as UTF-8"
            )
        raise MayaAsciiError(
            f"not a Maya ASCII scene: {path} has no '//Maya ASCII' header in its first "
            f"lines — save the scene from Maya as Maya ASCII (.ma), or give the .mb/.ma "
            f"file Maya wrote"
        )
    if bom:
        return "utf-8-sig"
    for line in lines:
        if line.startswith("//Codeset:"):
            codeset = line.split(":", 1)[1].strip()
            candidate = (
                "utf-8"
                if codeset.replace("-", "").lower() in ("utf8", "65001")
                else (f"cp{codeset}" if codeset.isdigit() else codeset)
            )
            try:
                name = codecs.lookup(candidate).name
            except LookupError:
                return "utf-8"
            # the header was found as 8-bit text: a codeset that is not ASCII-compatible
            # (utf-16, EBCDIC) cannot be the file's real encoding
            return name if _ascii_compatible(name) else "utf-8"
    return "utf-8"


#: Encodings a .ma file may arrive in after an editor or a tool re-encoded it, which no
#: 8-bit reading can see the header through (BOMs are checked first by the decoders).
_FOREIGN_ENCODINGS = (
    ("utf-32-le", "UTF-32 (little-endian)", codecs.BOM_UTF32_LE),
    ("utf-32-be", "UTF-32 (big-endian)", codecs.BOM_UTF32_BE),
    ("utf-16-le", "UTF-16 (little-endian)", codecs.BOM_UTF16_LE),
    ("utf-16-be", "UTF-16 (big-endian)", codecs.BOM_UTF16_BE),
    ("cp037", "EBCDIC (code page 037)", b""),
    ("cp500", "EBCDIC (code page 500)", b""),
)


def _foreign_encoding(head: bytes) -> str | None:
    """The name of the non-ASCII-compatible encoding the Maya ASCII header is written
    in (UTF-16, UTF-32, EBCDIC), or None if it is in none of them."""
    sample = head[: len(head) - len(head) % 4]  # whole code units for every codec
    for codec, label, bom in _FOREIGN_ENCODINGS:
        marked = bool(bom) and sample.startswith(bom)
        text = sample[len(bom) if marked else 0 :].decode(codec, errors="replace")
        lines = text.splitlines()[:_HEADER_LINES]
        if any(line.startswith("//Maya ASCII") for line in lines):
            return label + (" with a byte order mark" if marked else "")
    return None


def _ascii_compatible(encoding: str) -> bool:
    try:
        return "//Maya ASCII;".encode(encoding) == b"//Maya ASCII;"
    except (LookupError, UnicodeError):
        return False


def read_ma(path: str | Path) -> SceneDescription:
    """Describe what a Maya ASCII scene renders, per render layer, without Maya.

    The file is streamed: memory stays small whatever its size.

    Raises:
        MayaAsciiError: The file is missing, a Maya Binary scene, or not Maya ASCII.
    """
    scene_path = Path(path)
    encoding = _encoding(scene_path)
    scan = _Scan()
    with scene_path.open("r", encoding=encoding, errors="replace", newline=None) as handle:
        scan.run(iter(functools.partial(handle.readline, _MAX_LINE_CHARS), ""))
    return _Resolver(scan, str(scene_path)).describe()
