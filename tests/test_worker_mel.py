"""Issue 12 item 13: every string the worker passes to MEL is a quoted, escaped literal
(``lrc_toolbox/worker/mel.py``), and the simulator's ``maya.mel`` reads MEL string
literals as Maya does, so a node name with ``"``, ``\\``, ``;`` or a line break reaches
the procedure whole instead of ending the literal and running as MEL."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sim_helpers import LEGACY, command, run_worker, stub_maya

from lrc_toolbox.records.batch import RenderOverrides
from lrc_toolbox.sim import runtime
from lrc_toolbox.sim.maya_stub.maya import mel as sim_mel
from lrc_toolbox.worker.describe import describe_open_scene
from lrc_toolbox.worker.mel import mel_call, mel_quote
from lrc_toolbox.worker.session import Emitter, WorkerSession

#: names that break a literal pasted into quotes unescaped
AWKWARD = [
    'say "hi"',
    "back\\slash",
    "trailing\\",
    "a;b",
    'x"); renderLayerDisplayName("y',
    "line\nbreak",
    "tab\there",
    "cr\rhere",
    "// not a comment",
    "/* nor this */",
    "$notAVariable",
    "{0, 1}",
    "ünïcødé 层",
    "",
]
#: the layer node of the test scene: a quote, a semicolon and a backslash
ODD_LAYER = 'occ"lu;sion\\x'


def _odd_scene(tmp_path: Path) -> Path:
    """legacy_layers.ma with its ``occlusion`` layer node renamed to ODD_LAYER (escaped as
    a .ma file writes it)."""
    escaped = ODD_LAYER.replace("\\", "\\\\").replace('"', '\\"')
    text = LEGACY.read_text(encoding="utf-8").replace('"occlusion', '"' + escaped)
    path = tmp_path / "odd_layer.ma"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def maya(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, Any]]:
    yield from stub_maya(monkeypatch, tmp_path)


# --------------------------------------------------------------------------- mel_quote


@pytest.mark.parametrize("text", AWKWARD)
def test_a_quoted_string_reads_back_as_exactly_itself(text: str) -> None:
    [call] = sim_mel.parse(f"proc {mel_quote(text)};")
    assert call.args == (text,)


@pytest.mark.parametrize("text", AWKWARD)
def test_a_call_with_an_awkward_argument_stays_one_statement(text: str) -> None:
    calls = sim_mel.parse(mel_call("renderLayerDisplayName", text))
    assert [(c.procedure, c.args) for c in calls] == [("renderLayerDisplayName", (text,))]


def test_quoting_escapes_what_maya_encode_string_escapes() -> None:
    assert mel_quote('a"b\\c\nd\te\rf') == '"a\\"b\\\\c\\nd\\te\\rf"'


def test_a_nul_character_cannot_be_quoted() -> None:
    with pytest.raises(ValueError, match="NUL"):
        mel_quote("a\x00b")


def test_a_call_quotes_strings_and_writes_numbers_booleans_and_arrays() -> None:
    text = mel_call("proc", "s", 3, True, [0, 2])
    assert text == 'proc("s", 3, true, {0, 2});'
    [call] = sim_mel.parse(text)
    assert call.args == ("s", 3, 1, [0, 2])


def test_a_procedure_name_that_is_not_an_identifier_is_refused() -> None:
    with pytest.raises(ValueError, match="not a MEL procedure name"):
        mel_call("print 1; proc")


def test_an_array_of_anything_but_whole_numbers_is_refused() -> None:
    with pytest.raises(TypeError, match="whole numbers"):
        mel_call("redshiftSelectCudaDevices", ['0; system("rm")'])  # type: ignore[list-item]


# --------------------------------------------------------------------------- the MEL reader


def test_an_unterminated_string_is_a_syntax_error_and_nothing_runs(
    maya: dict[str, Any],
) -> None:
    maya["cmds"].file(str(LEGACY), open=True, force=True)
    before = dict(runtime.session().layer_renderable)
    with pytest.raises(RuntimeError, match="Unterminated string"):
        maya["mel"].eval('setMayaSoftwareLayers("beauty", ""); renderLayerDisplayName "x')
    assert runtime.session().layer_renderable == before


def test_a_raw_line_break_inside_a_string_is_unterminated() -> None:
    with pytest.raises(RuntimeError, match=r"Line 1\.6: Unterminated string"):
        sim_mel.parse('proc "a\nb";')


def test_a_backslash_at_the_end_of_a_line_continues_the_string() -> None:
    [call] = sim_mel.parse('proc "con\\\ntinued";')
    assert call.args == ("continued",)


def test_an_unknown_escape_keeps_the_character() -> None:
    [call] = sim_mel.parse('proc "\\q";')
    assert call.args == ("q",)


def test_comments_are_not_statements() -> None:
    calls = sim_mel.parse('// first\n/* second; */ proc "a"; // third')
    assert [(c.procedure, c.args) for c in calls] == [("proc", ("a",))]


def test_command_form_takes_bare_words_as_strings(maya: dict[str, Any]) -> None:
    maya["cmds"].file(str(LEGACY), open=True, force=True)
    assert maya["mel"].eval("renderLayerDisplayName occlusion;") == "occlusion"


def test_a_wrong_number_of_arguments_is_maya_s_error(maya: dict[str, Any]) -> None:
    maya["cmds"].file(str(LEGACY), open=True, force=True)
    with pytest.raises(RuntimeError, match="Wrong number of arguments on call to"):
        maya["mel"].eval('renderLayerDisplayName("beauty", "extra");')


def test_a_variable_is_not_modelled_and_says_so() -> None:
    with pytest.raises(RuntimeError, match="not modelled by the simulator"):
        sim_mel.parse("proc($x);")


# --------------------------------------------------------------------------- the worker


def test_the_worker_resolves_a_layer_node_with_quote_semicolon_and_backslash(
    maya: dict[str, Any], tmp_path: Path
) -> None:
    session = WorkerSession(maya["cmds"], maya["mel"], Emitter(io.StringIO()))
    session.open_scene(str(_odd_scene(tmp_path)), None, str(tmp_path / "img"))
    assert session.layer_nodes()[ODD_LAYER] == ODD_LAYER


def test_describe_names_a_layer_node_with_quote_semicolon_and_backslash(
    maya: dict[str, Any], tmp_path: Path
) -> None:
    maya["cmds"].file(str(_odd_scene(tmp_path)), open=True, force=True)
    description = describe_open_scene(maya["cmds"], maya["mel"])
    assert ODD_LAYER in [layer.name for layer in description.layers]


def test_every_mel_text_of_a_frame_reads_back_as_the_calls_meant(
    maya: dict[str, Any], tmp_path: Path
) -> None:
    sent: list[str] = []

    class Spy:
        def eval(self, text: str) -> Any:
            sent.append(text)
            return maya["mel"].eval(text)

    stream = io.StringIO()
    session = WorkerSession(maya["cmds"], Spy(), Emitter(stream))
    session.open_scene(str(_odd_scene(tmp_path)), None, str(tmp_path / "img"))
    session.render_frame(ODD_LAYER, 1, RenderOverrides())
    layers = [c.args[0] for t in sent for c in sim_mel.parse(t) if c.procedure.startswith("set")]
    assert layers == [ODD_LAYER]  # setMayaSoftwareLayers got the node, whole


def test_a_frame_of_a_layer_node_with_quote_semicolon_and_backslash_renders(
    tmp_path: Path,
) -> None:
    result = run_worker(
        tmp_path,
        [command("render", layer=ODD_LAYER, frames=[1]), command("quit")],
        scene=_odd_scene(tmp_path),
    )
    [done] = result.named("frame_done")
    assert done["layer"] == ODD_LAYER
    assert all(Path(p).is_file() for p in done["outputs"])
    assert not result.named("frame_failed")


def test_the_sample_scenes_still_render_through_the_mel_reader(tmp_path: Path) -> None:
    result = run_worker(
        tmp_path, [command("render", layer="beauty", frames=[1, 2]), command("quit")], scene=LEGACY
    )
    assert [e["frame"] for e in result.named("frame_done")] == [1, 2]
