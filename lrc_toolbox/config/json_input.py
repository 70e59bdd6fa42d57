"""JSON that people write (job files, the preferences file), read with limits: a file that
is far too big, nested far too deep (Python's parser would raise ``RecursionError``), or
holds ``NaN``, ``Infinity`` or a number too large for a float (``1e999``) is refused with
a :class:`JsonInputError` that says what is wrong, never a traceback."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

__all__ = ["MAX_JSON_BYTES", "MAX_JSON_DEPTH", "JsonInputError", "loads_checked", "read_json"]

#: Deepest nesting accepted; a job file needs 4 levels (``jobs`` / job / ``layers``).
MAX_JSON_DEPTH = 32
#: Largest file accepted; a job file with hundreds of jobs is a few hundred KB.
MAX_JSON_BYTES = 8 * 1024 * 1024

# strings (skipped whole, so brackets inside them do not count) and brackets
_STRUCTURE_RE = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


class JsonInputError(ValueError):
    """JSON that cannot be used; the message says why (without the file name)."""


def _nesting_depth(text: str, limit: int) -> None:
    depth = 0
    for match in _STRUCTURE_RE.finditer(text):
        char = match.group(0)
        if char in "[{":
            depth += 1
            if depth > limit:
                line = text.count("\n", 0, match.start()) + 1
                raise JsonInputError(
                    f"nested more than {limit} levels deep (line {line}): a job needs 4; "
                    "is this the right file?"
                )
        elif char in "]}":
            depth -= 1


def _refuse_constant(name: str) -> Any:
    raise JsonInputError(f"{name} is not a JSON number: write a number of seconds, or leave it out")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonInputError(f"the number {text[:40]} is too large")
    return value


def loads_checked(text: str, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` with the limits above.

    Raises:
        JsonInputError: too deep, NaN/Infinity, a number too large; or (a ValueError)
            the parser's own message for text that is not JSON.
    """
    _nesting_depth(text, max_depth)
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:  # pragma: no cover - the depth check comes first
        raise JsonInputError(f"nested too deep (more than {max_depth} levels)") from None


def read_json(path: Path, *, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """Read and parse a UTF-8 JSON file with the limits above.

    Raises:
        OSError: the file cannot be read (FileNotFoundError included).
        ValueError: JsonInputError, a JSONDecodeError or a UnicodeDecodeError.
    """
    size = path.stat().st_size
    if size > max_bytes:
        raise JsonInputError(
            f"the file is {size / (1024 * 1024):.1f} MB; at most "
            f"{max_bytes // (1024 * 1024)} MB is read: is this the right file?"
        )
    return loads_checked(path.read_text(encoding="utf-8"))
