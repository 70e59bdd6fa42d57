"""The simulator's renderer log formats must read back as intended through the real parser.

If a format drifted from what :mod:`lrc_toolbox.utils.log_parser` understands, every
simulated test of progress, outputs and fault handling would silently test nothing. The
formats themselves are modelled on public samples cited in ``renderer_logs.py`` and
``tests/test_log_parser.py``.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lrc_toolbox.records.renderers import RENDERER_NAMES
from lrc_toolbox.sim import renderer_logs
from lrc_toolbox.sim.renderer_logs import (
    FATAL_KINDS,
    FrameLog,
    error_line,
    fatal_line,
    frame_log,
    startup_lines,
)
from lrc_toolbox.utils.log_parser import LineKind, LogParser, ParsedLine

K = LineKind
DEVICES = ["0", "GPU-5f1a2b3c-0000-1111-2222-333344445555", "CPU"]
# Paths with the traps real logs have: a number that is not the frame, spaces, non-ASCII.
OUTPUTS = [
    "/proj/images/beauty/Shot1.2_beauty.0012.exr",
    "/proj/images/beauty/with spaces/Shot1.2_AO.0012.exr",
    "/proj/images/beauty/юникод/Shot1.2_Z.0012.exr",
]
STEPS = [0.0, 12.5, 20.0, 33.3, 50.0, 99.6, 100.0]


def _log(renderer: str, device: str = "0", outputs: list[str] | None = None) -> FrameLog:
    return frame_log(
        renderer,
        frame=12,
        layer="beauty",
        camera="shotCam",
        outputs=OUTPUTS if outputs is None else outputs,
        device=device,
        seconds=83.25,
    )


def _parse(renderer: str, lines: list[str]) -> list[ParsedLine]:
    parser = LogParser(renderer)
    return [parser.parse_line(line) for line in lines]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("renderer", RENDERER_NAMES)
def test_start_lines_announce_the_frame_and_nothing_alarming(renderer: str, device: str) -> None:
    parsed = _parse(renderer, _log(renderer, device).start)
    kinds = {p.kind for p in parsed}
    assert K.FRAME_STARTED in kinds
    assert kinds <= {K.FRAME_STARTED, K.INFO}
    assert {p.frame for p in parsed if p.frame is not None} <= {12}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("renderer", RENDERER_NAMES)
def test_progress_lines_report_the_percent_given(renderer: str, device: str) -> None:
    log = _log(renderer, device)
    # Redshift reports whole blocks; others whole percents.
    tolerance = 100.0 / log.blocks / 2 + 0.5 if renderer == "redshift" else 0.5
    for step in STEPS:
        parsed = _parse(renderer, log.progress(step))
        assert [p.kind for p in parsed] == [K.PROGRESS]
        assert parsed[0].renderer == renderer
        assert parsed[0].percent == pytest.approx(step, abs=tolerance)


@pytest.mark.parametrize("renderer", RENDERER_NAMES)
def test_progress_may_restart_lower_for_the_next_layer(renderer: str) -> None:
    log = _log(renderer)
    values = [_parse(renderer, log.progress(p))[0].percent for p in (100.0, 0.0)]
    assert values == [100.0, 0.0]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("renderer", RENDERER_NAMES)
def test_end_lines_finish_the_frame_and_name_every_output(renderer: str, device: str) -> None:
    parsed = _parse(renderer, _log(renderer, device).end)
    assert K.FRAME_DONE in {p.kind for p in parsed}
    assert not [p for p in parsed if p.kind in (K.FATAL, K.ERROR, K.WARNING)]
    paths = [p.path for p in parsed if p.kind in (K.OUTPUT, K.FRAME_DONE) and p.path]
    assert paths == OUTPUTS
    assert all(p.frame in (None, 12) for p in parsed)  # never a number from a path


@pytest.mark.parametrize("renderer", RENDERER_NAMES)
def test_a_whole_frame_parses_line_by_line_in_order(renderer: str) -> None:
    log = _log(renderer)
    lines = [*log.start, *(x for s in STEPS for x in log.progress(s)), *log.end]
    parser = LogParser(renderer)
    parsed = [parser.parse_line(line + "\r\r\n") for line in lines]
    assert [p.text for p in parsed] == lines
    kinds = [p.kind for p in parsed]
    assert kinds.index(K.FRAME_STARTED) < kinds.index(K.PROGRESS)
    last_progress = len(kinds) - 1 - kinds[::-1].index(K.PROGRESS)
    assert last_progress < kinds.index(K.FRAME_DONE) or renderer == "redshift"


def test_frame_numbers_appear_where_the_renderer_prints_them() -> None:
    frames = {
        r: {p.frame for p in _parse(r, _log(r).start + _log(r).end) if p.frame is not None}
        for r in RENDERER_NAMES
    }
    assert frames == {
        "arnold": {12},
        "redshift": {12},
        "vray": {12},
        "mayaSoftware": set(),
        "mayaHardware2": set(),
    }


def test_arnold_gpu_device_line_only_on_gpu() -> None:
    gpu = [p.pattern for p in _parse("arnold", _log("arnold", "1").start)]
    cpu = [p.pattern for p in _parse("arnold", _log("arnold", "CPU").start)]
    assert "gpu_device" in gpu
    assert "gpu_device" not in cpu


def test_arnold_lines_keep_the_real_column_layout() -> None:
    # MAYA_REFERENCE §6: "00:00:15   325MB         |    20% done - 115 rays/pixel".
    line = _log("arnold").progress(20.0)[0]
    assert line.startswith("00:00:16  1280MB         |    20% done - ")


def test_a_frame_without_outputs_names_no_path() -> None:
    # Maya's own renderers say "Finished Rendering <image>", so without an image they
    # print no done line; the others still announce the end of the frame.
    for renderer in RENDERER_NAMES:
        log = _log(renderer, outputs=[])
        parsed = _parse(renderer, log.start + log.progress(50) + log.end)
        done = K.FRAME_DONE in {p.kind for p in parsed}
        assert done is (renderer not in ("mayaSoftware", "mayaHardware2"))
        assert not [p for p in parsed if p.path]


def test_unknown_renderer_prints_maya_softwares_format() -> None:
    log = _log("renderman")
    assert log.renderer == "mayaSoftware"
    assert _parse("mayaSoftware", log.progress(40))[0].percent == 40.0


@pytest.mark.parametrize("renderer", RENDERER_NAMES)
def test_startup_lines_are_information_only(renderer: str) -> None:
    for gpus in ([], ["NVIDIA RTX A4500"], ["NVIDIA RTX A4500", "NVIDIA RTX A6000"]):
        for parser_renderer in (renderer, None):
            parsed = _parse(str(parser_renderer), startup_lines(renderer, "2024", gpus))
            assert {p.kind for p in parsed} <= {K.INFO}, parsed


def test_startup_lines_list_each_gpu() -> None:
    gpus = ["NVIDIA RTX A4500", "NVIDIA RTX A6000"]
    for renderer in ("arnold", "redshift"):
        text = "\n".join(startup_lines(renderer, "2025", gpus))
        assert all(name in text for name in gpus)


FAULT_SUBJECTS: list[str | None] = [None, "maya", *RENDERER_NAMES]


@pytest.mark.parametrize("subject", FAULT_SUBJECTS)
@pytest.mark.parametrize(
    "kind", [k for k in FATAL_KINDS if k not in ("missing_plugin", "invalid_device")]
)
def test_fatal_lines_are_fatal_for_every_renderer(kind: str, subject: str | None) -> None:
    lines = fatal_line(kind, subject)
    assert lines
    # MtoA's "[mtoa] Failed batch render" fails that arnoldRender call, not the worker
    # (ArnoldRenderCmd.cpp; Deadline's MayaBatch fails the task): it fails the frame.
    expected = K.FRAME_FAILED if (kind, subject) == ("aborted", "arnold") else K.FATAL
    for parser_renderer in (subject, None, "mayaSoftware"):
        parser = LogParser(parser_renderer)
        assert all(parser.parse_line(line).kind is expected for line in lines), lines


@pytest.mark.parametrize(
    ("plugin", "renderer"),
    [("mtoa", "arnold"), ("redshift4maya", "redshift"), ("vrayformaya", "vray")],
)
def test_the_renderers_own_missing_plugin_is_fatal(plugin: str, renderer: str) -> None:
    # The simulator calls fatal_line("missing_plugin", name) (lrc_toolbox/sim/runtime.py).
    (parsed,) = _parse(renderer, fatal_line("missing_plugin", plugin))
    assert parsed.kind is K.FATAL
    assert parsed.reason == f'Plug-in, "{plugin}", was not found on MAYA_PLUG_IN_PATH'


@pytest.mark.parametrize("plugin", ["redshift4maya", "vrayformaya", "weird-plug_in 2"])
def test_a_missing_plugin_the_render_does_not_need_is_a_warning(plugin: str) -> None:
    (parsed,) = _parse("arnold", fatal_line("missing_plugin", plugin))
    assert parsed.kind is K.WARNING
    assert plugin in (parsed.reason or "")


def test_invalid_device_fault_is_fatal_for_redshift() -> None:
    (parsed,) = _parse("redshift", fatal_line("invalid_device", "7"))
    assert (parsed.kind, parsed.reason) == (K.FATAL, "Invalid device id: 7")


def test_licence_fault_per_renderer_is_reported_by_that_renderer() -> None:
    owners = {
        subject: _parse(subject, fatal_line("licence", subject))[0].renderer
        for subject in ("maya", "arnold", "redshift", "vray")
    }
    assert owners == {"maya": "maya", "arnold": "arnold", "redshift": "redshift", "vray": "vray"}
    assert fatal_line("license", "arnold") == fatal_line("licence", "arnold")


def test_unknown_fault_kind_says_which_kinds_exist() -> None:
    with pytest.raises(ValueError, match="missing_plugin"):
        fatal_line("meteor")


@pytest.mark.parametrize("renderer", [None, "arnold", "redshift"])
def test_error_line_is_an_error_the_render_survives(renderer: str | None) -> None:
    parsed = _parse(str(renderer), error_line(renderer))
    assert [p.kind for p in parsed] == [K.ERROR]


@given(
    st.sampled_from(RENDERER_NAMES),
    st.integers(-1000, 100_000),
    st.floats(0, 100),
    st.floats(0, 10_000),
    st.sampled_from(DEVICES),
)
def test_any_frame_and_percent_round_trip(
    renderer: str, frame: int, percent: float, seconds: float, device: str
) -> None:
    log = frame_log(
        renderer,
        frame=frame,
        layer="L",
        camera="cam",
        outputs=["/o/x.exr"],
        device=device,
        seconds=seconds,
    )
    (progress,) = _parse(renderer, log.progress(percent))
    tolerance = 100.0 / log.blocks / 2 + 0.5 if renderer == "redshift" else 0.5
    assert progress.kind is K.PROGRESS
    assert progress.percent == pytest.approx(percent, abs=tolerance)
    started = [p.frame for p in _parse(renderer, log.start) if p.frame is not None]
    assert started in ([], [frame])


def test_module_exports_what_the_simulator_uses() -> None:
    assert {"frame_log", "fatal_line", "startup_lines", "FrameLog"} <= set(renderer_logs.__all__)
