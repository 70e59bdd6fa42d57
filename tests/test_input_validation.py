"""Inputs that used to get past validation (issue item 9): each is refused with one
message that says what is wrong and how to fix it, or, for a scene that is only
suspicious, reported as a warning where that is the caller's choice."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sim_helpers import SHOT

from lrc_toolbox.cli.batch_render_cli import EXIT_BAD_INPUT, EXIT_OK, main
from lrc_toolbox.cli.render_options import OptionError, _layer_list
from lrc_toolbox.records.frame_parser import FrameRangeError, parse_frames
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


# --------------------------------------------------------------------------- options


def render_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LRC_JOB_STORE_PATH", str(tmp_path / "jobs.sqlite"))
    monkeypatch.setenv("LRC_TEMP_ROOT", str(tmp_path / "tmp"))
    monkeypatch.setenv("LRC_SIMULATE_GPUS", "2")
    monkeypatch.setenv("LRC_MIN_FREE_DISK_MB", "0")
    monkeypatch.setenv("LRC_WARN_FREE_DISK_MB", "0")


@pytest.mark.parametrize(
    ("option", "value", "phrase"),
    [
        ("--frames", "", "empty value: give frames such as"),
        ("--frames", "  ", "empty value: give frames such as"),
        ("--frames", "1,,2", "between them (at column 3): '1,,2'"),
        ("--layers", "", "empty layer list"),
        ("--layers", ",", "name 1 of 2 is empty"),
        ("--layers", "BG,,CHAR", "name 2 of 3 is empty"),
        ("--layers", "BG,BG", "listed twice"),
        ("--frame-timeout", "inf", "got inf"),
        ("--frame-timeout", "1e999", "got inf"),
        ("--frame-timeout", "nan", "got nan"),
        ("--frame-timeout", "0", "above 0"),
        ("--frame-timeout", "1e7", "at most 604800"),
        ("--output", "", "empty value: name a folder"),
        ("--image-prefix", " ", "empty value: give a prefix"),
        ("--camera", "", "empty value: name a camera"),
        ("--scene-name", "..", "'..' is not a file name"),
        ("--scene-name", "a/b", "is not a file name"),
    ],
)
def test_a_bad_option_is_one_message_naming_it_with_exit_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    option: str,
    value: str,
    phrase: str,
) -> None:
    render_env(monkeypatch, tmp_path)
    args = ["render", "--scene", str(SHOT), option, value, "--simulate", "--dry-run"]
    if option != "--output":
        args += ["--output", str(tmp_path / "out")]
    assert main(args) == EXIT_BAD_INPUT
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {option}: ")
    assert phrase in lines[0]
    assert captured.out == ""


def test_layers_all_still_means_every_renderable_layer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    render_env(monkeypatch, tmp_path)
    args = ["render", "--scene", str(SHOT), "--layers", "ALL", "--simulate", "--dry-run"]
    assert main([*args, "--output", str(tmp_path / "out"), "--json"]) == EXIT_OK
    (plan,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert set(plan["layers"]) == {layer.name for layer in read_ma(SHOT).renderable_layers()}


def test_a_bad_option_with_json_is_an_error_event(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    render_env(monkeypatch, tmp_path)
    args = ["render", "--scene", str(SHOT), "--frames", "", "--simulate", "--json"]
    assert main(args) == EXIT_BAD_INPUT
    (event,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert event["event"] == "error" and event["exit_code"] == EXIT_BAD_INPUT
    assert event["message"].startswith("--frames: empty value")


# --------------------------------------------------------------------------- job files


def write_job(tmp_path: Path, data: object | str) -> Path:
    path = tmp_path / "job.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("job", "phrase"),
    [
        ({"layers": []}, "job.json: layers: an empty layer list"),
        ({"layers": " "}, "job.json: layers: an empty layer list"),
        ({"frames": ""}, "job.json: frames: empty value"),
        ({"output_dir": ""}, "job.json: output_dir: empty value"),
        ({"image_prefix": ""}, "job.json: image_prefix: empty value"),
        ({"frame_timeout": 10**400}, "frame_timeout: the number is too large"),
        ({"frame_timeout": 1e9}, "frame_timeout: must be a number of seconds"),
    ],
)
def test_an_empty_or_impossible_job_value_is_refused(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    job: dict[str, object],
    phrase: str,
) -> None:
    render_env(monkeypatch, tmp_path)
    path = write_job(tmp_path, {"scene": str(SHOT), **job})
    assert main(["render", "--config", str(path), "--simulate", "--dry-run"]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.count("error:") == 1 and phrase in err


def test_an_empty_layer_list_in_defaults_names_its_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    render_env(monkeypatch, tmp_path)
    path = write_job(tmp_path, {"defaults": {"layers": []}, "jobs": [{"scene": str(SHOT)}]})
    assert main(["render", "--config", str(path), "--simulate", "--dry-run"]) == EXIT_BAD_INPUT
    assert "defaults.layers: an empty layer list" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ('{"scene": "a.ma", "frame_timeout": NaN}', "NaN is not a JSON number"),
        ('{"scene": "a.ma", "frame_timeout": Infinity}', "Infinity is not a JSON number"),
        ('{"scene": "a.ma", "frame_timeout": 1e999}', "the number 1e999 is too large"),
        ('{"scene": "a.ma", "x": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested more than"),
        ('{"scene": "a.ma", "x": ' + "{}" * 10 + "}", "is not valid JSON"),
    ],
)
def test_job_json_that_would_crash_the_parser_is_one_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, phrase: str
) -> None:
    path = write_job(tmp_path, text)
    assert main(["render", "--config", str(path), "--simulate", "--dry-run"]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.count("error:") == 1 and "Traceback" not in err and phrase in err


def test_a_huge_job_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    from lrc_toolbox.config.job_file import JobFileError, load_job_file
    from lrc_toolbox.config.json_input import MAX_JSON_BYTES

    path = tmp_path / "job.json"
    with path.open("wb") as handle:
        handle.truncate(MAX_JSON_BYTES + 1)
    with pytest.raises(JobFileError, match="is the right file"):
        load_job_file(path)


def test_a_deeply_nested_preferences_file_is_a_warning(
    prefs_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lrc_toolbox.config.batch_render_defaults import load_settings

    (prefs_dir / "batch_render.json").write_text("[" * 100_000 + "]" * 100_000)
    loaded = load_settings()
    assert loaded.settings.frame_timeout == 1800.0
    assert len(loaded.warnings) == 1 and "nested more than" in loaded.warnings[0]


def test_an_infinite_frame_timeout_variable_is_ignored_with_a_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from lrc_toolbox.config.batch_render_defaults import load_settings

    monkeypatch.setenv("LRC_FRAME_TIMEOUT", "inf")
    monkeypatch.setenv("LRC_STOP_GRACE_SECONDS", "1e999")
    loaded = load_settings()
    assert loaded.settings.frame_timeout == 1800.0
    assert loaded.settings.stop_grace_seconds == 10.0
    assert len(loaded.warnings) == 2


def test_render_config_refuses_an_infinite_timeout_from_the_python_api() -> None:
    from lrc_toolbox.records.models import RenderConfig, ValidationError

    with pytest.raises(ValidationError, match="frame_timeout"):
        RenderConfig(scene="s.ma", frame_timeout=float("inf")).validate()


# --------------------------------------------------------------------------- --dry-run


def test_dry_run_writes_nothing_anywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "root"
    monkeypatch.setenv("LRC_PREFS_DIR", str(root / "prefs"))
    monkeypatch.setenv("LRC_JOB_STORE_PATH", str(root / "store" / "jobs.sqlite"))
    monkeypatch.setenv("LRC_TEMP_ROOT", str(root / "tmp"))
    monkeypatch.setenv("LRC_SIMULATE_GPUS", "2")
    monkeypatch.setenv("LRC_SIM_STATE_DIR", str(root / "sim"))
    monkeypatch.setenv("MAYA_APP_DIR", str(root / "maya"))
    out = root / "shots" / "out"
    args = ["render", "--scene", str(SHOT), "--output", str(out), "--simulate"]
    assert main([*args, "--dry-run", "--json"]) == EXIT_OK
    (plan,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert plan["output_dir"] == str(out)
    assert plan["snapshot"].startswith(str(root / "tmp" / "snapshots"))
    assert not root.exists()  # no output folder, temp root, snapshot, job store, prefs


def test_dry_run_refuses_an_output_path_through_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    render_env(monkeypatch, tmp_path)
    (tmp_path / "afile").write_text("x")
    out = tmp_path / "afile" / "out"
    args = ["render", "--scene", str(SHOT), "--output", str(out), "--simulate", "--dry-run"]
    assert main(args) == EXIT_BAD_INPUT
    assert "is a file, not a folder" in capsys.readouterr().err


# --------------------------------------------------------------------------- --skip-existing


def test_the_worker_skip_check_wants_a_complete_image(tmp_path: Path) -> None:
    from lrc_toolbox.sim.images import write_image
    from lrc_toolbox.worker.session import _complete

    good = tmp_path / "good.exr"
    write_image(good, 8, 8, 1)
    short = tmp_path / "short.exr"
    short.write_bytes(good.read_bytes()[:100])
    text = tmp_path / "text.exr"
    text.write_text("not an image\n" * 10)
    assert _complete(str(good))
    assert not _complete(str(short))
    assert not _complete(str(text))


def test_skip_existing_renders_a_short_or_text_exr_again(tmp_path: Path) -> None:
    import subprocess

    from test_cli_render import CLI, cli_env

    env = cli_env(tmp_path, LRC_SIMULATE_GPUS="2")
    out = tmp_path / "out"
    command = [*CLI, "render"]
    command += ["--scene", str(SHOT), "--layers", "BG", "--frames", "1-3"]
    command += ["--output", str(out), "--simulate", "--json"]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180)
    assert first.returncode == 0, first.stderr
    images = sorted(out.rglob("*.0*.exr"))
    assert len(images) == 3
    images[0].write_bytes(images[0].read_bytes()[:100])  # a 100-byte "EXR"
    images[1].write_text("not an image\n")  # a text file named .exr
    again = subprocess.run(
        [*command, "--skip-existing"], env=env, capture_output=True, text=True, timeout=180
    )
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout.splitlines()[-1])["summary"]
    assert (summary["done"], summary["skipped"]) == (2, 1)
    assert all(image.stat().st_size > 1000 for image in images)


# --------------------------------------------------------------------------- properties

LAYER_NAMES = st.text(
    alphabet=st.characters(blacklist_characters=",", blacklist_categories=("Cs",)), min_size=1
).filter(lambda name: name.strip() and name.strip().lower() != "all")


@given(st.lists(LAYER_NAMES, min_size=1, max_size=6))
def test_layer_lists_of_real_names_read_back(names: list[str]) -> None:
    assert _layer_list(",".join(names)) == [name.strip() for name in names]


@given(st.lists(LAYER_NAMES, max_size=5), st.integers(min_value=0, max_value=5), st.text(" \t"))
def test_a_layer_list_with_an_empty_name_is_always_refused(
    names: list[str], where: int, blank: str
) -> None:
    names = [*names[:where], blank, *names[where:]]
    with pytest.raises(OptionError) as info:
        _layer_list(",".join(names))
    assert info.value.field == "--layers"


FRAME_ITEMS = st.lists(st.integers(min_value=-500, max_value=500).map(str), min_size=2, max_size=6)


@given(FRAME_ITEMS, st.data())
def test_an_empty_item_between_commas_is_refused_at_its_column(
    items: list[str], data: st.DataObject
) -> None:
    gap = data.draw(st.integers(min_value=1, max_value=len(items) - 1))
    blank = data.draw(st.sampled_from(["", " ", "\t", "  "]))
    text = ",".join(items[:gap]) + "," + blank + "," + ",".join(items[gap:])
    with pytest.raises(FrameRangeError) as info:
        parse_frames(text)
    second_comma = len(",".join(items[:gap])) + 1 + len(blank)
    assert info.value.position == second_comma
    assert "two commas" in info.value.message


@given(FRAME_ITEMS)
def test_single_commas_with_blanks_around_them_still_separate(items: list[str]) -> None:
    assert parse_frames(" , ".join(items)) == list(dict.fromkeys(int(i) for i in items))
