"""``lrc-batch-render log FILE``: what a renderer log says, as a TD reads it.

The sample logs in ``tests/data/logs`` are real line shapes; where each comes from is in
``tests/test_log_parser.py`` (its ``whole logs`` tests and the issue 11 sections).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from lrc_toolbox.cli.batch_render_cli import COMMANDS, EXIT_BAD_INPUT, EXIT_OK, main
from lrc_toolbox.cli.log_command import (
    LIST_LIMIT,
    FrameEnd,
    LogReport,
    read_log,
    read_log_lines,
)
from lrc_toolbox.utils.log_parser import LineKind

LOGS = Path(__file__).parent / "data" / "logs"
DOCS = Path(__file__).resolve().parents[1] / "docs" / "cli.md"
EXIT_FATAL = 1


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["log", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    code, out, _ = _run(capsys, *argv, "--json")
    data: dict[str, Any] = json.loads(out)
    data["exit_code"] = code
    return data


# --------------------------------------------------------------------------- plain output


def test_plain_output_starts_with_the_summary(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run(capsys, str(LOGS / "arnold_failed_frame.log"))
    heads = [line.split()[0] for line in out.splitlines()[:6]]
    assert heads == ["log", "renderer", "frames", "images", "progress", "verdict"]


def test_summary_gives_frames_done_and_failed_with_their_numbers(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, out, _ = _run(capsys, str(LOGS / "arnold_failed_frame.log"))
    assert "frames    3 frames: 2 done (1,3), 1 failed (2)\n" in out


def test_summary_gives_the_images_written_and_the_last_progress(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, out, _ = _run(capsys, str(LOGS / "arnold_failed_frame.log"))
    assert "images    2 written (last: D:/proj/images/sh010/BG/sh010_BG.0003.exr, line 16)" in out
    assert "progress  100% (line 14)" in out


def test_verdict_names_the_fatal_reason_and_its_line(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run(capsys, str(LOGS / "redshift_license_error.log"))
    assert "verdict   fatal: License error: (RLM) All licenses in use (-22) (line 13)\n" in out


def test_verdict_without_a_fatal_line_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run(capsys, str(LOGS / "arnold_gpu_frame.log"))
    assert "verdict   no fatal line\n" in out


def test_problem_lines_follow_the_summary_with_their_line_numbers(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, out, _ = _run(capsys, str(LOGS / "redshift_license_error.log"))
    details = out.split("\n\n", 1)[1]
    assert details.splitlines() == [
        "fatal (2)",
        "  line 13: License error: (RLM) All licenses in use (-22)",
        "  line 14: Frame rendering aborted",
        "",
        "errors (1)",
        '  line 8: Cannot find procedure "xgmPreview".',
    ]


def test_a_long_section_is_cut_in_the_plain_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "warnings.log"
    log.write_text("V-Ray warning: Texture file not found\n" * 25)  # VRAY_LINES' sample
    _, out, _ = _run(capsys, str(log))
    assert "warnings (25)" in out
    assert out.count("  line ") == 20
    assert f"  ... and 5 more (--json lists up to {LIST_LIMIT:,})" in out


# --------------------------------------------------------------------------- exit codes


def test_exit_code_is_0_when_the_log_has_no_fatal_or_frame_failed_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _run(capsys, str(LOGS / "arnold_gpu_frame.log"))[0] == EXIT_OK


def test_exit_code_is_1_for_a_fatal_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(capsys, str(LOGS / "redshift_license_error.log"))[0] == EXIT_FATAL


def test_exit_code_is_1_for_a_frame_failed_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(capsys, str(LOGS / "arnold_failed_frame.log"))[0] == EXIT_FATAL


def test_a_missing_file_exits_2_with_one_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.log"
    code, out, err = _run(capsys, str(missing))
    assert code == EXIT_BAD_INPUT
    assert out == ""
    assert err == f"error: cannot read log {missing}: No such file or directory\n"


def test_a_folder_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, str(tmp_path))
    assert (code, out) == (EXIT_BAD_INPUT, "")
    assert err.startswith(f"error: cannot read log {tmp_path}: ")
    assert len(err.splitlines()) == 1


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs file permissions")
def test_an_unreadable_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "secret.log"
    log.write_text("x\n")
    log.chmod(0)
    code, _, err = _run(capsys, str(log))
    assert code == EXIT_BAD_INPUT
    assert err == f"error: cannot read log {log}: Permission denied\n"


def test_an_unknown_renderer_exits_2_naming_the_supported_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = _run(capsys, str(LOGS / "arnold_gpu_frame.log"), "--renderer", "mentalRay")
    assert code == EXIT_BAD_INPUT
    assert err.startswith("error: unknown renderer 'mentalRay' (supported: arnold, redshift")


# --------------------------------------------------------------------------- JSON


def test_json_is_one_object_with_the_documented_keys(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run(capsys, str(LOGS / "arnold_failed_frame.log"), "--json")
    data = json.loads(out)  # one object: json.loads refuses anything after it
    assert set(data) == {
        "file",
        "renderer",
        "verdict",
        "counts",
        "frames",
        "images",
        "progress",
        "fatal",
        "frame_failed",
        "errors",
        "warnings",
        "limit",
        "truncated",
    }
    doc = DOCS.read_text(encoding="utf-8")
    section = doc[doc.index("## `log`") :]
    assert all(f"`{key}`" in section for key in data)


def test_json_reads_back_into_the_report_record(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run(capsys, str(LOGS / "redshift_plugin_load_failed.log"), "--json")
    assert LogReport.from_dict(json.loads(out)) == read_log(
        LOGS / "redshift_plugin_load_failed.log"
    )


def test_json_frames_carry_their_numbers_ends_and_line_numbers(
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = _json(capsys, str(LOGS / "arnold_failed_frame.log"))
    assert [(f["frame"], f["end"], f["started_line"], f["ended_line"]) for f in data["frames"]] == [
        (1, "done", 1, 5),
        (2, "failed", 7, 9),
        (3, "done", 11, 15),
    ]
    assert data["frames"][1]["reason"] == "[kick] render aborted due to earlier errors"


def test_json_lists_each_problem_line_with_its_number_kind_and_text(
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = _json(capsys, str(LOGS / "arnold_failed_frame.log"))
    assert data["frame_failed"][1] == {
        "line": 10,
        "kind": "frame_failed",
        "reason": "[mtoa] Failed batch render.",
        "text": "// Error: [mtoa] Failed batch render. //",
        "renderer": "arnold",
    }
    assert [e["line"] for e in data["errors"]] == [8]


def test_json_verdict_and_counts(capsys: pytest.CaptureFixture[str]) -> None:
    data = _json(capsys, str(LOGS / "arnold_failed_frame.log"))
    assert data["verdict"] == {
        "kind": "frame_failed",
        "reason": "[kick] render aborted due to earlier errors",
        "line": 9,
    }
    assert data["counts"] == {
        "lines": 16,
        "fatal": 0,
        "frame_failed": 2,
        "errors": 1,
        "warnings": 0,
        "frames": 3,
        "frames_done": 2,
        "frames_failed": 1,
        "frames_no_end": 0,
        "images": 2,
    }


def test_json_verdict_is_null_without_a_fatal_line(capsys: pytest.CaptureFixture[str]) -> None:
    data = _json(capsys, str(LOGS / "vray_frame.log"))
    assert data["verdict"] == {"kind": None, "reason": None, "line": None}
    assert data["exit_code"] == EXIT_OK


# --------------------------------------------------------------------------- the issue 11 logs


def test_redshift_log_the_failed_plugin_load_decides_not_the_missing_maxwell(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # DCM291 (deadline-cloud-for-maya issue #291): the OS reason on the next line is part
    # of the fatal reason; "maxwell" is a warning.
    data = _json(capsys, str(LOGS / "redshift_plugin_load_failed.log"))
    mll = "C:/ProgramData/Redshift/Plugins/Maya/2025/nt-x86-64/redshift4maya.mll"
    assert data["verdict"] == {
        "kind": "fatal",
        "reason": f"Redshift's plug-in redshift4maya could not be loaded from {mll}:"
        " The specified module could not be found",
        "line": 2,
    }
    assert [w["line"] for w in data["warnings"]] == [15]
    assert data["counts"]["fatal"] == 2  # the MEL error and Python's RuntimeError
    assert data["exit_code"] == EXIT_FATAL


def test_redshift_log_read_as_arnold_has_no_fatal_line(capsys: pytest.CaptureFixture[str]) -> None:
    data = _json(capsys, str(LOGS / "redshift_plugin_load_failed.log"), "--renderer", "arnold")
    assert data["renderer"] == {
        "name": "arnold",
        "source": "option",
        "why": "--renderer",
        "line": None,
        "candidates": ["arnold"],
    }
    assert data["verdict"]["kind"] is None
    assert data["counts"]["warnings"] == 3
    assert data["exit_code"] == EXIT_OK


def test_hardware2_log_with_missing_plugins_renders_and_has_no_fatal_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # ISSUE11: five missing plug-ins and a userSetup traceback; CRCRLF endings.
    data = _json(capsys, str(LOGS / "hardware2_missing_plugins.log"))
    assert data["exit_code"] == EXIT_OK
    assert data["counts"]["warnings"] == 5
    assert [(f["frame"], f["end"]) for f in data["frames"]] == [
        (1029, "no_end"),
        (1030, "no_end"),
        (1031, "no_end"),
    ]


# --------------------------------------------------------------------------- renderer guessing


def test_renderer_is_guessed_from_the_first_frame_line(capsys: pytest.CaptureFixture[str]) -> None:
    data = _json(capsys, str(LOGS / "redshift_frame.log"))
    assert data["renderer"] == {
        "name": "redshift",
        "source": "log",
        "why": "a frame started line of Redshift",
        "line": 15,
        "candidates": ["redshift"],
    }


def test_mayas_own_frame_lines_name_both_of_mayas_renderers(
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = _json(capsys, str(LOGS / "hardware2_missing_plugins.log"))
    guess = data["renderer"]
    assert (guess["line"], guess["candidates"]) == (19, ["mayaSoftware", "mayaHardware2"])
    _, out, _ = _run(capsys, str(LOGS / "hardware2_missing_plugins.log"))
    assert "renderer  Maya Software or Maya Hardware 2.0 (guessed from line 19: " in out


def test_a_plugin_line_decides_only_when_no_frame_line_does(
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = _json(capsys, str(LOGS / "redshift_plugin_load_failed.log"))
    assert (data["renderer"]["name"], data["renderer"]["line"]) == ("redshift", 2)
    assert "no frame line" in data["renderer"]["why"]


def test_missing_plugins_of_several_renderers_leave_the_renderer_unknown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The Hardware 2.0 sample's start-up lines, without its frame lines.
    lines = (LOGS / "hardware2_missing_plugins.log").read_bytes().split(b"\r\r\n")[:17]
    log = tmp_path / "startup.log"
    log.write_bytes(b"\n".join(lines) + b"\n")
    data = _json(capsys, str(log))
    assert (data["renderer"]["name"], data["renderer"]["source"]) == (None, "none")
    assert data["counts"]["fatal"] == 0 and data["counts"]["errors"] == 7  # 5 + traceback


def test_the_renderer_option_spellings_of_render_r_work(
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = _json(capsys, str(LOGS / "hardware2_missing_plugins.log"), "--renderer", "hw2")
    assert data["renderer"]["name"] == "mayaHardware2"


def test_the_workers_hello_names_the_renderer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "gpu1.log"
    log.write_text(
        'Error: line 1: Plug-in, "mtoa", was not found on MAYA_PLUG_IN_PATH.\n'
        '@lrc {"ev":"hello","protocol":1,"renderer":"arnold"}\n'
    )
    data = _json(capsys, str(log))
    assert data["renderer"]["why"] == "the worker's hello"
    assert data["verdict"]["kind"] == "fatal"


# --------------------------------------------------------------------------- reading


def test_crcrlf_lines_are_numbered_like_an_editor_and_their_text_has_no_cr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = _json(capsys, str(LOGS / "redshift_license_error.log"))  # "\r\r\n" endings
    assert data["counts"]["lines"] == 14
    assert [e["line"] for e in data["fatal"]] == [13, 14]
    assert all("\r" not in e["text"] for e in data["fatal"] + data["errors"])


def test_bare_cr_progress_rewrites_are_read_as_separate_texts_of_one_line(tmp_path: Path) -> None:
    log = tmp_path / "vray.log"
    log.write_bytes(b"V-Ray:  10 % completed\rV-Ray:  40 % completed\rV-Ray: 100 % completed\r\n")
    with log.open("rb") as stream:
        assert list(read_log_lines(stream)) == [
            (1, "V-Ray:  10 % completed"),
            (1, "V-Ray:  40 % completed"),
            (1, "V-Ray: 100 % completed"),
        ]
    report = read_log(log)
    assert report.progress is not None
    assert (report.progress.percent, report.progress.line) == (100.0, 1)


def test_invalid_utf8_is_replaced_and_the_rest_still_read(tmp_path: Path) -> None:
    log = tmp_path / "garbage.log"
    # lrc_toolbox/sim/runtime.py's "garbage" fault bytes, then a real fatal line.
    log.write_bytes(
        b"\xff\xfe\x00garbage\x1b[2K\r\n"
        b"Error: [Redshift] License error: (RLM) All licenses in use (-22) //\n"
    )
    with log.open("rb") as stream:
        assert next(read_log_lines(stream))[1].startswith("\ufffd\ufffd\x00garbage")
    report = read_log(log)
    assert report.verdict.line == 2


def test_empty_lines_count_and_an_empty_file_is_an_empty_report(tmp_path: Path) -> None:
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    assert read_log(empty).counts.lines == 0
    blank = tmp_path / "blank.log"
    blank.write_bytes(b"\n\r\r\n\n")
    assert read_log(blank).counts.lines == 3


def test_a_huge_line_is_read_in_pieces_with_bounded_memory(tmp_path: Path) -> None:
    log = tmp_path / "huge.log"
    log.write_bytes(b"x" * (8 << 20) + b"\nV-Ray error: Error loading geometry from proxy file\n")
    tracemalloc.start()
    try:
        report = read_log(log)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20  # the 8 MiB line is never held whole as text and bytes
    assert (report.counts.lines, report.verdict.line) == (2, 2)


def test_each_list_keeps_its_first_items_and_counts_all(tmp_path: Path) -> None:
    log = tmp_path / "many.log"
    log.write_text("V-Ray warning: Texture file not found\n" * (LIST_LIMIT + 5))
    report = read_log(log)
    assert report.counts.warnings == LIST_LIMIT + 5
    assert len(report.warnings) == LIST_LIMIT and report.warnings[0].line == 1
    assert report.truncated


def test_a_pipe_is_read_once_without_guessing(tmp_path: Path) -> None:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes here")
    fifo = tmp_path / "log.fifo"
    os.mkfifo(fifo)
    content = (LOGS / "redshift_plugin_load_failed.log").read_bytes()

    def write() -> None:
        with fifo.open("wb") as stream:
            stream.write(content)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        report = read_log(fifo)
    finally:
        writer.join(timeout=10)
    assert (report.renderer.name, report.renderer.source) == (None, "none")
    assert report.counts.fatal == 0 and report.counts.errors == 3  # not known: not fatal


# --------------------------------------------------------------------------- frames


def test_repeated_end_lines_of_one_frame_are_one_frame() -> None:
    # V-Ray prints "Total frame time" and "Render complete" for one frame.
    report = read_log(LOGS / "vray_frame.log")
    assert [(f.frame, f.end) for f in report.frames] == [(12, FrameEnd.DONE)]


def test_a_skipped_frame_after_a_rendered_one_is_a_second_frame() -> None:
    report = read_log(LOGS / "redshift_frame.log")
    assert [(f.frame, f.end) for f in report.frames] == [
        (1001, FrameEnd.DONE),
        (1002, FrameEnd.DONE),
    ]


def test_maya_softwares_finished_rendering_is_an_image_written() -> None:
    report = read_log(LOGS / "maya_software.log")
    assert [i.path for i in report.images] == [
        "/home/jason/maya/projects/default/images/tmp/Shot1.2.iff"
    ]
    assert [(f.frame, f.end) for f in report.frames] == [(None, FrameEnd.DONE)]


def test_a_fatal_line_fails_the_frame_being_rendered() -> None:
    report = read_log(LOGS / "redshift_license_error.log")
    (frame,) = report.frames
    assert (frame.frame, frame.end, frame.ended_line) == (1, FrameEnd.FAILED, 13)


def test_worker_events_give_the_frames_and_are_not_read_as_renderer_lines(
    tmp_path: Path,
) -> None:
    # This project's worker logs: renderer text, then "@lrc" events (records/protocol.py).
    log = tmp_path / "gpu0.log"
    log.write_text(
        '@lrc {"ev":"hello","protocol":1,"renderer":"redshift"}\n'
        '@lrc {"ev":"frame_started","layer":"BG","frame":1}\n'
        "Rendering frame 1 (1/1)...\n"
        '@lrc {"ev":"frame_done","layer":"BG","frame":1,"outputs":["/o/BG.0001.exr"]}\n'
        '@lrc {"ev":"frame_started","layer":"BG","frame":2}\n'
        '@lrc {"ev":"frame_failed","layer":"BG","frame":2,"reason":"Error: [Redshift] License'
        ' error: (RLM) All licenses in use (-22)","fatal":false}\n'
    )
    report = read_log(log)
    assert report.counts.fatal == 0
    assert [(f.layer, f.frame, f.end) for f in report.frames] == [
        ("BG", 1, FrameEnd.DONE),
        ("BG", 2, FrameEnd.FAILED),
    ]
    assert (report.frames[1].reason or "").startswith("Error: [Redshift] License error")


# --------------------------------------------------------------------------- the command


def test_log_is_a_command_of_the_cli() -> None:
    assert "log" in COMMANDS


def test_log_runs_as_a_module_with_json(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "lrc_toolbox.cli.batch_render_cli",
            "log",
            str(LOGS / "redshift_license_error.log"),
            "--json",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == EXIT_FATAL, result.stderr
    assert json.loads(result.stdout)["verdict"]["kind"] == LineKind.FATAL.value


def test_a_reader_that_goes_away_ends_the_output_quietly(tmp_path: Path) -> None:
    log = tmp_path / "many.log"  # --json output far larger than a pipe's buffer
    log.write_text("V-Ray error: Error loading geometry from proxy file\n" * 3000)
    proc = subprocess.Popen(
        [sys.executable, "-m", "lrc_toolbox.cli.batch_render_cli", "log", str(log), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(1) == b"{"
    proc.stdout.close()  # as "| head -1" does
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == EXIT_FATAL
    assert err == b""
