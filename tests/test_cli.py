"""The command line as a user meets it: output, JSON, messages and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lrc_toolbox.cli.batch_render_cli import EXIT_BAD_INPUT, EXIT_OK, main


def test_frames_prints_the_stepped_range_with_its_last_frame(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["frames", "1-100x5"]) == EXIT_OK
    out, err = capsys.readouterr()
    assert out.strip() == ", ".join(str(f) for f in [*range(1, 100, 5), 100])
    assert "21 frames" in err


def test_frames_json_gives_frames_and_count(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["frames", "10-1x3", "--json"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out) == {"frames": [10, 7, 4, 1], "count": 4}


def test_frames_with_zero_step_exits_2_with_a_caret_under_the_step(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["frames", "1-10x0"]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("error: bad frame list:")
    assert "step" in err[0]
    text_line, caret_line = err[1], err[2]
    assert text_line.strip() == "1-10x0"
    assert caret_line.index("^") == text_line.index("1-10x0") + len("1-10x")


def test_frames_respects_the_max_frames_setting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LRC_MAX_FRAMES", "10")
    assert main(["frames", "1-11"]) == EXIT_BAD_INPUT
    assert "limit" in capsys.readouterr().err


def test_info_json_without_gpus_reports_cpus_and_explains_the_absence(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # as on a machine without the binding
    assert main(["info", "--json"]) == EXIT_OK
    data = json.loads(capsys.readouterr().out)
    assert data["cpu"]["logical_cores"] >= 1
    assert data["gpus"] == []
    assert data["gpu_error"]
    assert data["available_gpus"] == []


def test_info_json_with_four_simulated_gpus_keeps_one_for_maya(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LRC_SIMULATE_GPUS", "4")
    assert main(["info", "--json"]) == EXIT_OK
    data = json.loads(capsys.readouterr().out)
    assert len(data["gpus"]) == 4
    assert data["reserved_gpus"] == [0]
    assert data["available_gpus"] == [1, 2, 3]
    assert data["simulated"] is True


def test_info_table_shows_each_gpu_role(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LRC_SIMULATE_GPUS", "2")
    assert main(["info"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "kept for Maya (display)" in out
    assert "rendering" in out
    assert "[simulated]" in out


def test_info_table_shows_why_there_is_no_gpu(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)
    assert main(["info"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "GPUs  none usable" in out
    assert "nvidia-ml-py" in out


def test_info_prints_preference_warnings_on_stderr(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LRC_SIMULATE_GPUS", "lots")
    assert main(["info", "--json"]) == EXIT_OK
    assert "LRC_SIMULATE_GPUS" in capsys.readouterr().err


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == EXIT_BAD_INPUT
    assert "usage:" in capsys.readouterr().err


def test_module_entry_point_runs_the_same_cli() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "lrc_toolbox.cli.batch_render_cli", "frames", "1-3", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert json.loads(result.stdout)["frames"] == [1, 2, 3]


def test_console_script_is_installed_next_to_the_interpreter() -> None:
    from pathlib import Path

    bindir = Path(sys.executable).parent
    script = next(
        (p for p in (bindir / "lrc-batch-render", bindir / "lrc-batch-render.exe") if p.exists()),
        None,
    )
    assert script is not None, f"lrc-batch-render not installed in {bindir}: pip install -e ."
    result = subprocess.run(
        [str(script), "frames", "5"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0 and result.stdout.strip() == "5"


def test_frames_accepts_a_list_that_starts_with_a_negative_frame(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["frames", "-3--1", "--json"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)["frames"] == [-3, -2, -1]


SAMPLE_SHOT = (
    Path(__file__).resolve().parents[1] / "lrc_toolbox" / "sim" / "scenes" / "shot010_lighting.ma"
)


def test_layers_json_has_the_documented_keys(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["layers", str(SAMPLE_SHOT), "--json"]) == EXIT_OK
    data = json.loads(capsys.readouterr().out)
    for key in (
        "maya_version",
        "renderer",
        "time_unit",
        "animation",
        "frame_range",
        "frames",
        "image_prefix",
        "layers",
        "warnings",
    ):
        assert key in data
    assert data["frame_range"] == {"start": 1.0, "end": 48.0, "by": 1.0}
    char = next(layer for layer in data["layers"] if layer["name"] == "CHAR")
    assert char == {
        **char,
        "node": "rs_CHAR",
        "master": False,
        "renderable": True,
        "renderer": "arnold",
        "frames": "1-24",
    }


def test_layers_table_lists_each_layer_and_the_frame_total(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["layers", str(SAMPLE_SHOT)]) == EXIT_OK
    out = capsys.readouterr().out
    assert "FX_test" in out and "2 renderable layer(s), 72 frame(s)" in out


@pytest.mark.parametrize(
    ("content", "phrase"),
    [
        (None, "scene not found"),
        (b"FOR4\x00\x00\x00\x10CIMG", "Maya Binary"),
        (b"hello\n", "Maya ASCII"),
    ],
)
def test_layers_fails_cleanly_on_bad_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None, phrase: str
) -> None:
    path = tmp_path / "scene.ma"
    if content is not None:
        path.write_bytes(content)
    assert main(["layers", str(path)]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.startswith("error: ") and phrase in err
