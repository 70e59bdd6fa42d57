"""``maya.mel`` stand-in: reads MEL text as Maya does, and runs the few procedures the worker
calls, and nothing else.

The text is read like MEL (Autodesk's MEL guide): statements end with ``;``; a call is in
command form (``proc "a" b;``) or function form (``proc("a", 1, {0, 1});``); string
literals are double-quoted, where a backslash makes the next character literal (``\\"``,
``\\\\``), ``\\n``, ``\\t`` and ``\\r`` are newline, tab and carriage return, and a backslash
at the end of a line continues the string; a raw line break inside a string is the error
"Unterminated string". ``//`` and ``/* */`` are comments. The whole text is read before
any statement runs, so a syntax error runs nothing. Variables and expressions are not
modelled: they are a syntax error here.

Unknown MEL raises ``RuntimeError`` the way Maya does ("Cannot find procedure"), so a scene's
pre-render MEL that the simulator does not know shows up in the log as it would in Maya.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

from lrc_toolbox.sim.runtime import REDSHIFT_EXTENSIONS, MayaError, session

#: a value MEL hands a procedure here: a string, a number or an int array
Value: TypeAlias = str | int | float | list[int]

_PUNCTUATION = "(){},;"
_ESCAPED = {"n": "\n", "t": "\t", "r": "\r"}
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_BOOLEANS = {"true": 1, "on": 1, "yes": 1, "false": 0, "off": 0, "no": 0}


@dataclass(frozen=True)
class _Token:
    kind: str  # "string", "word" or one of the punctuation characters
    text: str
    line: int
    column: int


@dataclass(frozen=True)
class Call:
    """One statement: a procedure and its arguments, as MEL read them."""

    procedure: str
    args: tuple[Value, ...]
    #: command form (``proc a b``): unquoted words stay strings
    command_form: bool


def _error(message: str, line: int, column: int) -> MayaError:
    return MayaError(f"Line {line}.{column}: {message}")


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, line, start_of_line = 0, 1, 0
    while i < len(text):
        ch = text[i]
        column = i - start_of_line + 1
        if ch == "\n":
            i, line, start_of_line = i + 1, line + 1, i + 1
        elif ch.isspace():
            i += 1
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise _error("Unterminated comment.", line, column)
            line += text.count("\n", i, end)
            i = end + 2
        elif ch == '"':
            chars: list[str] = []
            i += 1
            while True:
                if i >= len(text) or text[i] == "\n":
                    raise _error("Unterminated string.", line, column)
                c = text[i]
                if c == '"':
                    i += 1
                    break
                if c == "\\":
                    if i + 1 >= len(text):
                        raise _error("Unterminated string.", line, column)
                    nxt = text[i + 1]
                    if nxt == "\n":  # a continued line: the break is not in the string
                        line, start_of_line = line + 1, i + 2
                    else:
                        chars.append(_ESCAPED.get(nxt, nxt))
                    i += 2
                    continue
                chars.append(c)
                i += 1
            tokens.append(_Token("string", "".join(chars), line, column))
        elif ch in _PUNCTUATION:
            tokens.append(_Token(ch, ch, line, column))
            i += 1
        else:
            end = i
            while end < len(text) and not (
                text[end].isspace() or text[end] in _PUNCTUATION or text[end] == '"'
            ):
                end += 1
            tokens.append(_Token("word", text[i:end], line, column))
            i = end
    return tokens


def _word_value(token: _Token) -> Value:
    """A bare word in function form: a number or a boolean constant."""
    if token.text in _BOOLEANS:
        return _BOOLEANS[token.text]
    if _NUMBER.match(token.text):
        number = float(token.text)
        return int(number) if re.match(r"^[+-]?\d+$", token.text) else number
    raise _error(f"Syntax error (not modelled by the simulator: {token.text!r})", *_at(token))


def _at(token: _Token) -> tuple[int, int]:
    return token.line, token.column


def _array(tokens: list[_Token], i: int) -> tuple[list[int], int]:
    """``{1, 2}`` from the token after ``{``; returns the ints and the index after ``}``."""
    items: list[int] = []
    while True:
        token = tokens[i] if i < len(tokens) else None
        if token is None:
            raise _error("Syntax error", *_at(tokens[-1]))
        if token.kind == "}" and not items:
            return items, i + 1
        if token.kind != "word":
            raise _error("Syntax error", *_at(token))
        value = _word_value(token)
        if not isinstance(value, int):
            raise _error("Syntax error (int array expected)", *_at(token))
        items.append(value)
        after = tokens[i + 1] if i + 1 < len(tokens) else None
        if after is not None and after.kind == "}":
            return items, i + 2
        if after is None or after.kind != ",":
            raise _error("Syntax error", *_at(after or token))
        i += 2


def parse(text: str) -> list[Call]:
    """Every statement of ``text``, read as Maya reads MEL (see the module's docstring).

    Raises:
        MayaError: a syntax error, with its line and column, as Maya reports it.
    """
    tokens = _tokens(text)
    calls: list[Call] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.kind in (";", "{", "}"):  # empty statements and plain blocks
            i += 1
            continue
        if token.kind != "word" or not _IDENTIFIER.match(token.text):
            raise _error("Syntax error", *_at(token))
        name = token.text
        i += 1
        args: list[Value] = []
        if i < len(tokens) and tokens[i].kind == "(":
            i += 1
            while i < len(tokens) and tokens[i].kind != ")":
                if args:
                    if tokens[i].kind != ",":
                        raise _error("Syntax error", *_at(tokens[i]))
                    i += 1
                    if i >= len(tokens):
                        break
                arg = tokens[i]
                if arg.kind == "string":
                    args.append(arg.text)
                    i += 1
                elif arg.kind == "word":
                    args.append(_word_value(arg))
                    i += 1
                elif arg.kind == "{":
                    array, i = _array(tokens, i + 1)
                    args.append(array)
                else:
                    raise _error("Syntax error", *_at(arg))
            if i >= len(tokens):
                raise _error("Syntax error (missing ')')", *_at(tokens[-1]))
            i += 1  # the ")"
            if i < len(tokens) and tokens[i].kind != ";":
                raise _error("Syntax error", *_at(tokens[i]))
            calls.append(Call(name, tuple(args), command_form=False))
            continue
        while i < len(tokens) and tokens[i].kind != ";":
            arg = tokens[i]
            if arg.kind not in ("string", "word"):
                raise _error("Syntax error", *_at(arg))
            args.append(arg.text)
            i += 1
        calls.append(Call(name, tuple(args), command_form=True))
    return calls


# ---------------------------------------------------------------------- the procedures


def _string(call: Call, index: int) -> str:
    value = call.args[index]
    if isinstance(value, list):
        raise MayaError(f"{call.procedure}: argument {index + 1} must be a string, not an array")
    return value if isinstance(value, str) else str(value)


def _int(call: Call, index: int) -> int:
    value = call.args[index]
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str) and re.match(r"^[+-]?\d+$", value.strip()):
        return int(value)
    if isinstance(value, str) and value in _BOOLEANS:
        return _BOOLEANS[value]
    raise MayaError(f"{call.procedure}: argument {index + 1} must be an int, got {value!r}")


def _int_array(call: Call, index: int) -> list[int]:
    value = call.args[index]
    if not isinstance(value, list):
        raise MayaError(f"{call.procedure}: argument {index + 1} must be an int array")
    return value


def _set_layers(call: Call) -> None:
    """``setMayaSoftwareLayers``: the named layers (space or comma separated; an empty
    list keeps every layer as it is) become the only renderable ones. Modelled from
    DL's use of it to render one layer; Maya's script itself was not read."""
    wanted = [n for n in re.split(r"[\s,]+", _string(call, 0)) if n]
    if not wanted:
        return
    sim = session()
    for node in wanted:
        if sim._layer(node) is None:
            raise MayaError(f"setMayaSoftwareLayers: {node!r} is not a render layer")
    for node in sim.layer_nodes():
        sim.layer_renderable[node] = node in wanted


def _batch_render(call: Call) -> None:
    """Maya's batch-render MEL as Deadline's MayaBatch plug-in calls it (DL
    GetRenderCommand): ``mayaBatchRenderProcedure(0, "", "", "<renderer>", $opt)``."""
    _int(call, 0)
    renderer = _string(call, 3) or str(session().get_attr("defaultRenderGlobals.currentRenderer"))
    if not session().renderer_loaded(renderer):
        raise MayaError(f"mayaBatchRenderProcedure: renderer {renderer!r} is not available")
    session().batch_render(renderer)


def _need(renderer: str, procedure: str) -> None:
    """A renderer's MEL procedures exist only while its plug-in is loaded."""
    if not session().renderer_loaded(renderer):
        raise MayaError(f'Cannot find procedure "{procedure}".')


def _select_cuda_devices(call: Call) -> None:
    _need("redshift", call.procedure)
    for device in _int_array(call, 0):
        if device != 0:
            # what real Redshift prints; it then falls back to every GPU (MAYA_REFERENCE §5)
            print(f"Invalid device id {device}", flush=True)


def _vray_settings(call: Call) -> None:
    # V-Ray's procedure that creates its options node (DCM vray_handler.py)
    _need("vray", call.procedure)
    session().create_options("vray")


def _redshift_options(call: Call) -> str:
    # DL MayaBatch.py "redshiftGetRedshiftOptionsNode(true)": with true the node is created
    # when missing; the name is returned either way (an empty string when it does not
    # exist and was not asked to be created)
    _need("redshift", call.procedure)
    if call.args and _int(call, 0):
        session().create_options("redshift")
    return "redshiftOptions" if session().exists("redshiftOptions") else ""


def _redshift_extension(call: Call) -> str:
    _need("redshift", call.procedure)
    return REDSHIFT_EXTENSIONS.get(_int(call, 0), "exr")


#: procedure -> (the argument counts it takes, what it does)
_PROCEDURES: dict[str, tuple[tuple[int, ...], Callable[[Call], Any]]] = {
    "renderLayerDisplayName": ((1,), lambda c: session().display_name(_string(c, 0))),
    "setMayaSoftwareLayers": ((2,), _set_layers),
    "mayaBatchRenderProcedure": ((5,), _batch_render),
    # DL runs it before every render-globals set (GetStartFrameCommand and the others)
    "removeRenderLayerAdjustmentAndUnlock": (
        (1,),
        lambda c: session().remove_adjustment(_string(c, 0)),
    ),
    "redshiftSelectCudaDevices": ((1,), _select_cuda_devices),
    "vrayCreateVRaySettingsNode": ((0,), _vray_settings),
    "redshiftGetRedshiftOptionsNode": ((0, 1), _redshift_options),
    "redshiftGetImageExtension": ((1,), _redshift_extension),
}


def eval(text: str) -> Any:
    """Run MEL text; returns the last statement's value (None when it has none).

    Raises:
        MayaError: a syntax error (nothing ran), an unknown procedure, a wrong number of
            arguments, or the procedure's own error.
    """
    result: Any = None
    for call in parse(text):
        known = _PROCEDURES.get(call.procedure)
        if known is None:
            raise MayaError(f'Cannot find procedure "{call.procedure}".')
        counts, run = known
        if len(call.args) not in counts:
            raise MayaError(f"Wrong number of arguments on call to {call.procedure}.")
        result = run(call)
    return result
