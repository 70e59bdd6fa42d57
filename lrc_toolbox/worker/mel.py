"""MEL text the worker builds: every string it passes to MEL is a quoted, escaped literal.

Scene data (render layer nodes, plugs, paths) goes into ``mel.eval`` text. Pasted into
quotes as it is, a ``"`` ends the literal early and a ``;`` starts a new statement, so a
hostile or merely odd name would run as MEL. :func:`mel_quote` writes the literal the way
Maya's own ``encodeString`` escapes a string for another command (backslash, double
quote, newline, carriage return, tab; Autodesk's MEL guide: "To have a backslash appear in
a string, you must use a double backslash ... to display quotes within a string:
``\\"``"), and :func:`mel_call` builds a whole procedure call from typed arguments, so no
call site formats MEL by hand.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TypeAlias

__all__ = ["MelArgument", "mel_call", "mel_quote"]

#: what a MEL procedure call may be given: a string (quoted), a whole number, a boolean
#: (``true``/``false``) or an int array literal (``{0, 1}``)
MelArgument: TypeAlias = str | int | bool | Sequence[int]

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_PROCEDURE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def mel_quote(text: str) -> str:
    """``text`` as a MEL string literal: ``a"b`` becomes ``"a\\"b"``.

    MEL reads the literal back as exactly ``text`` (a test parses it with the simulator's
    MEL reader). A NUL character cannot be in a MEL string at all.

    Raises:
        ValueError: ``text`` holds a NUL character.
    """
    if "\x00" in text:
        raise ValueError(f"a MEL string cannot hold a NUL character: {text!r}")
    return '"' + "".join(_ESCAPES.get(ch, ch) for ch in text) + '"'


def _argument(value: MelArgument) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return mel_quote(value)
    items = list(value)
    if not all(isinstance(item, int) and not isinstance(item, bool) for item in items):
        raise TypeError(f"a MEL int array takes whole numbers only, got {items!r}")
    return "{" + ", ".join(str(item) for item in items) + "}"


def mel_call(procedure: str, *args: MelArgument) -> str:
    """One MEL procedure call, ``procedure("a", 1, {0});``, every string quoted.

    Raises:
        ValueError: ``procedure`` is not a MEL identifier, or a string holds a NUL.
        TypeError: an array holds something other than whole numbers.
    """
    if not _PROCEDURE.match(procedure):
        raise ValueError(f"not a MEL procedure name: {procedure!r}")
    return f"{procedure}({', '.join(_argument(a) for a in args)});"
