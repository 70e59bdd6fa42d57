"""Inputs that used to get past validation (issue item 9): each is refused with one
message that says what is wrong and how to fix it, or, for a scene that is only
suspicious, reported as a warning where that is the caller's choice."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest
from sim_helpers import SHOT

from lrc_toolbox.cli.batch_render_cli import EXIT_BAD_INPUT, EXIT_OK, main
from lrc_toolbox.scene.description import (
    MAX_WARNING_CHARS,
    MAX_WARNINGS,
    MAX_WARNINGS_CHARS,
    SceneDescription,
    bounded_warnings,
)
from lrc_toolbox.scene.ma_reader import MayaAsciiError, read_ma

SHOT_TEXT = SHOT.read_text(encoding="utf-8")


def write_scene(tmp_path: Path, text: str, name: str = "scene.ma") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- scene reader


def test_a_complete_scene_is_not_truncated() -> None:
    assert read_ma(SHOT).truncated is None


def test_a_scene_that_ends_inside_a_statement_is_truncated(tmp_path: Path) -> None:
    cut = SHOT_TEXT.index('setAttr ".ren"') + len('setAttr ".r')
    scene = read_ma(write_scene(tmp_path, SHOT_TEXT[:cut]))
    assert scene.truncated is not None
    assert "ends inside a 'setAttr' statement" in scene.truncated


def test_a_scene_without_its_end_line_is_truncated(tmp_path: Path) -> None:
    text = "".join(
        line for line in SHOT_TEXT.splitlines(keepends=True) if not line.startswith("// End of")
    )
    scene = read_ma(write_scene(tmp_path, text))
    assert scene.truncated == "the file has no '// End of' line: it may be truncated"


def test_truncation_travels_through_the_description_json(tmp_path: Path) -> None:
    scene = read_ma(write_scene(tmp_path, SHOT_TEXT[: len(SHOT_TEXT) // 2]))
    again = SceneDescription.from_dict(json.loads(json.dumps(scene.to_dict())))
    assert again.truncated == scene.truncated is not None


@pytest.mark.parametrize(
    ("encoding", "bom", "named"),
    [
        ("utf-16-le", codecs.BOM_UTF16_LE, "UTF-16 (little-endian) with a byte order mark"),
        ("utf-16-le", b"", "UTF-16 (little-endian)"),
        ("utf-16-be", b"", "UTF-16 (big-endian)"),
        ("utf-32-le", codecs.BOM_UTF32_LE, "UTF-32 (little-endian) with a byte order mark"),
        ("cp037", b"", "EBCDIC"),
    ],
)
def test_a_scene_in_a_wide_encoding_is_named_with_what_to_do(
    tmp_path: Path, encoding: str, bom: bytes, named: str
) -> None:
    path = tmp_path / "wide.ma"
    path.write_bytes(bom + SHOT_TEXT.encode(encoding))
    with pytest.raises(MayaAsciiError) as info:
        read_ma(path)
    message = str(info.value)
    assert named in message
    assert "Re-save the scene from Maya as Maya ASCII" in message
    assert "not a Maya ASCII scene" not in message


def test_a_codeset_that_is_not_8_bit_falls_back_to_utf8(tmp_path: Path) -> None:
    text = SHOT_TEXT.replace("//Codeset: 1252", "//Codeset: utf-16", 1)
    assert "//Codeset: utf-16" in text
    scene = read_ma(write_scene(tmp_path, text))
    assert [layer.name for layer in scene.layers] == [layer.name for layer in read_ma(SHOT).layers]


def test_junk_after_the_header_is_skipped_not_a_traceback(tmp_path: Path) -> None:
    # a statement that starts with a character no command can start with, and that
    # str.split() takes for whitespace (it used to raise IndexError)
    path = tmp_path / "junk.ma"
    path.write_bytes(
        b"//Maya ASCII 2024 scene\n" + b"\x1c\x1d\x1e\x1f" * 6 + b";\n// End of junk.ma\n"
    )
    scene = read_ma(path)
    assert scene.layers[0].name == "masterLayer"
    assert scene.truncated is None


def test_one_huge_warning_is_cut_to_its_start(tmp_path: Path) -> None:
    name = "x" * 2_000_000
    path = write_scene(tmp_path, f"//Maya ASCII 2024 scene\n{name} 1;\n// End of s.ma\n")
    scene = read_ma(path)
    unknown = [w for w in scene.warnings if "unknown command" in w]
    assert len(unknown) == 1
    assert len(unknown[0]) <= MAX_WARNING_CHARS
    assert "more characters)" in unknown[0]


def test_warnings_are_bounded_in_count_and_size(tmp_path: Path) -> None:
    body = "".join(f"unknown{i:05d}{'y' * 900} 1;\n" for i in range(3000))
    path = write_scene(tmp_path, f"//Maya ASCII 2024 scene\n{body}// End of s.ma\n")
    scene = read_ma(path)
    assert len(scene.warnings) <= MAX_WARNINGS + 1
    assert sum(len(w) for w in scene.warnings) <= MAX_WARNINGS_CHARS + 100
    assert scene.warnings[-1].startswith("... and ")
    dropped = int(scene.warnings[-1].split()[2])
    assert dropped + len(scene.warnings) - 1 == 3000 + 1  # every unknown + "no camera"


def test_bounded_warnings_says_how_many_were_left_out() -> None:
    kept = bounded_warnings([f"warning {i}" for i in range(MAX_WARNINGS + 7)], dropped=3)
    assert kept[:-1] == [f"warning {i}" for i in range(MAX_WARNINGS)]
    assert kept[-1] == "... and 10 more warnings"


def test_warnings_from_mayapy_are_bounded_too() -> None:
    data = read_ma(SHOT).to_dict()
    data["warnings"] = ["w" * 10_000] * 2 + [f"distinct {i}" for i in range(500)]
    scene = SceneDescription.from_dict(data)
    assert len(scene.warnings) == MAX_WARNINGS + 1
    assert len(scene.warnings[0]) <= MAX_WARNING_CHARS


def test_layers_command_warns_about_a_truncated_scene(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_scene(tmp_path, SHOT_TEXT[: SHOT_TEXT.index("// End of")])
    assert main(["layers", str(path)]) == EXIT_OK
    assert "warning: the file has no '// End of' line: it may be truncated" in (
        capsys.readouterr().out
    )


def test_layers_command_names_a_wide_encoding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "wide.ma"
    path.write_bytes(codecs.BOM_UTF16_LE + SHOT_TEXT.encode("utf-16-le"))
    assert main(["layers", str(path)]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.count("error:") == 1 and "UTF-16" in err


def test_render_refuses_a_truncated_scene_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LRC_JOB_STORE_PATH", str(tmp_path / "jobs.sqlite"))
    monkeypatch.setenv("LRC_TEMP_ROOT", str(tmp_path / "tmp"))
    monkeypatch.setenv("LRC_SIMULATE_GPUS", "2")
    cut = SHOT_TEXT.index('setAttr ".ren"') + len('setAttr ".r')
    path = write_scene(tmp_path, SHOT_TEXT[:cut])
    code = main(["render", "--scene", str(path), "--output", str(tmp_path / "out"), "--simulate"])
    assert code == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.count("error:") == 1
    assert "looks truncated" in err and "ends inside a 'setAttr' statement" in err
    assert not (tmp_path / "jobs.sqlite").exists()
    assert not (tmp_path / "out" / "ready.json").exists()
