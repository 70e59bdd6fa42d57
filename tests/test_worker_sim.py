"""The real worker, run inside the simulated mayapy exactly as the manager runs it."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest
from sim_helpers import (
    LEGACY,
    MAYAPY,
    REDSHIFT,
    SHOT,
    command,
    parse_output,
    rest_of_output,
    run_worker,
    sim_env,
)

from lrc_toolbox.records import protocol
from lrc_toolbox.utils.log_parser import LineKind, LogParser

RENDER_BG_123 = command("render", layer="BG", frames=[1, 2, 3])
QUIT = command("quit")


def test_renders_three_frames_and_reports_each_file(tmp_path: Path) -> None:
    run = run_worker(tmp_path, [RENDER_BG_123, QUIT])
    assert run.returncode == 0, run.stderr
    assert run.names[0] == "hello" and run.names[-1] == "bye"
    done = run.named("frame_done")
    assert [e["frame"] for e in done] == [1, 2, 3]
    for event in done:
        (path,) = event["outputs"]
        assert Path(path).is_file() and Path(path).stat().st_size > 0
    assert len(list((tmp_path / "images").rglob("*.exr"))) == 3


def test_files_land_where_the_image_prefix_says(tmp_path: Path) -> None:
    run = run_worker(tmp_path, [command("render", layer="BG", frames=[7]), QUIT])
    (path,) = run.named("frame_done")[0]["outputs"]
    # prefix <Scene>/<RenderLayer>/<RenderLayer>, Arnold's exr driver
    assert Path(path) == tmp_path / "images" / "shot010_lighting" / "BG" / "BG.0007.exr"


def test_scene_name_keeps_the_artists_name_in_paths(tmp_path: Path) -> None:
    run = run_worker(
        tmp_path,
        [command("render", layer="BG", frames=[1]), QUIT],
        args=["--scene-name", "sh010_v012"],
    )
    (path,) = run.named("frame_done")[0]["outputs"]
    assert "sh010_v012" in Path(path).parts


def test_hello_reports_protocol_renderer_and_pinned_gpu(tmp_path: Path) -> None:
    env = sim_env(tmp_path, CUDA_VISIBLE_DEVICES="GPU-5f0e1b2a", CUDA_DEVICE_ORDER="PCI_BUS_ID")
    run = run_worker(tmp_path, [QUIT], env=env)
    hello = run.named("hello")[0]
    protocol.check_hello(hello)
    assert hello["renderer"] == "arnold"
    assert hello["devices"]["CUDA_VISIBLE_DEVICES"] == "GPU-5f0e1b2a"
    assert hello["maya_version"] == "2024"


def test_renderer_log_reports_the_gpu_it_was_given(tmp_path: Path) -> None:
    env = sim_env(tmp_path, CUDA_VISIBLE_DEVICES="GPU-5f0e1b2a")
    run = run_worker(tmp_path, [command("render", layer="BG", frames=[1]), QUIT], env=env)
    assert any("GPU" in line for line in run.log)


def test_renderer_progress_lines_parse_as_progress(tmp_path: Path) -> None:
    run = run_worker(tmp_path, [command("render", layer="BG", frames=[1]), QUIT])
    parser = LogParser("arnold")
    percents = [p.percent for p in map(parser.parse_line, run.log) if p.kind is LineKind.PROGRESS]
    assert percents and percents[-1] == 100


def test_switches_between_layers_and_keeps_each_layers_prefix(tmp_path: Path) -> None:
    run = run_worker(
        tmp_path,
        [command("render", layer="BG", frames=[1]), command("render", layer="CHAR", frames=[1])],
    )
    layers = [Path(e["outputs"][0]).parent.name for e in run.named("frame_done")]
    assert layers == ["BG", "CHAR"]


def test_layer_can_be_named_by_its_node(tmp_path: Path) -> None:
    run = run_worker(tmp_path, [command("render", layer="rs_CHAR", frames=[2]), QUIT])
    assert run.named("frame_done")


def test_frames_outside_the_layers_own_range_still_render(tmp_path: Path) -> None:
    # CHAR ends at 24 in the scene; the manager decides the frames, not the scene
    run = run_worker(tmp_path, [command("render", layer="CHAR", frames=[40]), QUIT])
    assert [e["frame"] for e in run.named("frame_done")] == [40]


def test_unknown_layer_fails_the_frame_as_fatal(tmp_path: Path) -> None:
    run = run_worker(tmp_path, [command("render", layer="NOPE", frames=[1]), QUIT])
    failed = run.named("frame_failed")[0]
    assert failed["fatal"] is True
    assert "NOPE" in failed["reason"] and "BG" in failed["reason"]


def test_unsupported_renderer_is_a_clear_fatal_error(tmp_path: Path) -> None:
    run = run_worker(
        tmp_path,
        [command("render", layer="BG", frames=[1]), QUIT],
        args=["--renderer", "mentalRay"],
    )
    failed = run.named("frame_failed")[0]
    assert failed["fatal"] is True
    assert "mentalRay" in failed["reason"] and "arnold" in failed["reason"]


def test_missing_plugin_is_fatal_with_mayas_wording(tmp_path: Path) -> None:
    env = sim_env(tmp_path, LRC_SIM_MISSING_PLUGINS="mtoa")
    run = run_worker(tmp_path, [command("render", layer="BG", frames=[1]), QUIT], env=env)
    failed = run.named("frame_failed")[0]
    assert failed["fatal"] is True
    assert 'Plug-in, "mtoa", was not found on MAYA_PLUG_IN_PATH' in failed["reason"]


def test_after_a_failed_layer_switch_every_frame_gives_the_real_reason(tmp_path: Path) -> None:
    env = sim_env(tmp_path, LRC_SIM_MISSING_PLUGINS="mtoa")
    run = run_worker(tmp_path, [command("render", layer="BG", frames=[1, 2]), QUIT], env=env)
    reasons = [event["reason"] for event in run.named("frame_failed")]
    assert len(reasons) == 2
    assert all('Plug-in, "mtoa", was not found' in reason for reason in reasons), reasons


def test_bad_command_gets_an_error_and_the_worker_goes_on(tmp_path: Path) -> None:
    run = run_worker(tmp_path, ["{not json\n", command("render", layer="BG", frames=[1]), QUIT])
    assert "not JSON" in run.named("error")[0]["reason"]
    assert run.named("frame_done") and run.returncode == 0


def test_end_of_input_ends_the_worker_cleanly(tmp_path: Path) -> None:
    run = run_worker(tmp_path, [command("render", layer="BG", frames=[1])])
    assert run.returncode == 0
    assert run.named("bye")[0]["reason"] == "end of input"


def test_bad_overrides_are_refused_and_the_worker_goes_on(tmp_path: Path) -> None:
    bad = command("render", layer="BG", frames=[1], overrides={"resolution": [64, 64]})
    run = run_worker(tmp_path, [bad, QUIT])
    assert "bad render overrides" in run.named("error")[0]["reason"]
    assert run.named("bye")[0]["reason"] == "quit"


@pytest.mark.parametrize(
    ("scene", "layer", "suffix"),
    [(LEGACY, "beauty", ".iff"), (REDSHIFT, "masterLayer", ".exr")],
)
def test_other_renderers_write_their_own_format(
    tmp_path: Path, scene: Path, layer: str, suffix: str
) -> None:
    run = run_worker(tmp_path, [command("render", layer=layer, frames=[1, 2]), QUIT], scene=scene)
    outputs = [Path(e["outputs"][0]) for e in run.named("frame_done")]
    assert len(outputs) == 2 and all(p.suffix == suffix and p.is_file() for p in outputs)
    assert outputs[0] != outputs[1]


def test_camera_override_renders_that_camera(tmp_path: Path) -> None:
    run = run_worker(
        tmp_path,
        [command("render", layer="BG", frames=[1], overrides={"camera": "persp"}), QUIT],
    )
    assert run.named("frame_done")


def test_image_prefix_override_changes_the_file_name(tmp_path: Path) -> None:
    overrides = {"image_prefix": "renders/<RenderLayer>_<Camera>"}
    run = run_worker(
        tmp_path, [command("render", layer="BG", frames=[3], overrides=overrides), QUIT]
    )
    (path,) = run.named("frame_done")[0]["outputs"]
    assert Path(path).relative_to(tmp_path / "images").as_posix() == "renders/BG_shotCam.0003.exr"


# ----------------------------------------------------------------------------- faults


def _live_worker(tmp_path: Path) -> subprocess.Popen[str]:
    """The worker as the manager runs it: commands written while it renders (frames of
    BG are 1 simulated second: 0.2 s here)."""
    cmd = [*MAYAPY, "-m", "lrc_toolbox.worker", "--scene", str(SHOT)]
    cmd += ["--project", str(tmp_path / "project"), "--output-dir", str(tmp_path / "images")]
    env = sim_env(tmp_path, LRC_SIM_TIME_SCALE="0.2", LRC_SIM_CONFIG='{"startup": 0}')
    return subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, bufsize=1
    )


def _events_until(proc: subprocess.Popen[str], name: str) -> list[protocol.Event]:
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:
        event = protocol.event_or_none(line.rstrip("\n"))
        if event is not None:
            seen.append(event)
            if event.name == name:
                return seen
    raise AssertionError(f"the worker ended before {name!r}: {seen}")


def _write(proc: subprocess.Popen[str], *lines: str) -> None:
    assert proc.stdin is not None
    proc.stdin.write("".join(lines))
    proc.stdin.flush()


def test_a_command_sent_while_rendering_follows_without_waiting(tmp_path: Path) -> None:
    proc = _live_worker(tmp_path)
    _events_until(proc, "ready")
    _write(proc, command("render", layer="BG", frames=[1]))
    _events_until(proc, "frame_started")
    _write(proc, command("render", layer="BG", frames=[2]), QUIT)  # sent ahead
    out, _ = rest_of_output(proc)
    run = parse_output(out.encode())[0]
    names = [(e.name, e.get("frame")) for e in run]
    assert names[names.index(("frame_done", 1)) + 1 :] == [
        ("ready", None),
        ("frame_started", 2),
        ("frame_done", 2),
        ("ready", None),
        ("bye", None),
    ]
    assert proc.wait() == 0


def test_stop_goes_before_a_command_sent_ahead_and_ends_after_the_frame(
    tmp_path: Path,
) -> None:
    proc = _live_worker(tmp_path)
    _events_until(proc, "ready")
    _write(proc, command("render", layer="BG", frames=[1, 2]))
    _events_until(proc, "frame_started")
    _write(proc, command("render", layer="BG", frames=[3]), command("stop"))
    out, _ = rest_of_output(proc)
    run = parse_output(out.encode())[0]
    assert [e.get("frame") for e in run if e.name == "frame_done"] == [1]  # finished
    assert [e.name for e in run if e.name == "frame_started"] == []  # nothing begun
    assert run[-1].name == "bye" and run[-1]["reason"] == "stop"
    assert proc.wait() == 0


def test_crash_fault_kills_the_process_mid_frame(tmp_path: Path) -> None:
    env = sim_env(tmp_path, LRC_SIM_CRASH_AT="2")
    run = run_worker(tmp_path, [RENDER_BG_123, QUIT], env=env)
    assert run.returncode == 139
    assert [e["frame"] for e in run.named("frame_done")] == [1]
    assert run.named("frame_started")[-1]["frame"] == 2


def test_crash_fault_fires_only_as_often_as_asked(tmp_path: Path) -> None:
    env = sim_env(tmp_path, LRC_SIM_CRASH_AT="1", LRC_SIM_FAULT_TIMES="1")
    first = run_worker(tmp_path, [command("render", layer="BG", frames=[1]), QUIT], env=env)
    second = run_worker(tmp_path, [command("render", layer="BG", frames=[1]), QUIT], env=env)
    assert first.returncode == 139
    assert second.returncode == 0 and second.named("frame_done")


def test_hang_fault_stops_all_output_mid_frame(tmp_path: Path) -> None:
    env = sim_env(tmp_path, LRC_SIM_HANG_AT="1")
    proc = subprocess.Popen(
        [*MAYAPY, "-m", "lrc_toolbox.worker", "--scene", str(SHOT), "--output-dir", str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
    )
    assert proc.stdin is not None
    proc.stdin.write((command("render", layer="BG", frames=[1]) + QUIT).encode())
    proc.stdin.close()
    with pytest.raises(subprocess.TimeoutExpired):
        proc.wait(timeout=3)
    proc.send_signal(signal.SIGKILL)
    assert proc.stdout is not None
    out = proc.stdout.read()
    proc.wait()
    events, _ = parse_output(out)
    names = [e.name for e in events]
    assert "frame_started" in names and "frame_done" not in names and "bye" not in names


def test_licence_fault_stops_at_startup_with_the_licence_message(tmp_path: Path) -> None:
    env = sim_env(tmp_path, LRC_SIM_LICENCE_FAIL="1")
    run = run_worker(tmp_path, [RENDER_BG_123, QUIT], env=env)
    assert run.returncode == 1
    assert "hello" not in run.names
    kinds = {LogParser().parse_line(line).kind for line in run.log}
    assert LineKind.FATAL in kinds


def test_missing_output_fault_fails_the_frame_naming_the_file(tmp_path: Path) -> None:
    env = sim_env(tmp_path, LRC_SIM_MISSING_OUTPUT_AT="2")
    run = run_worker(tmp_path, [RENDER_BG_123, QUIT], env=env)
    failed = run.named("frame_failed")[0]
    assert failed["frame"] == 2 and failed["fatal"] is False
    assert failed["reason"].endswith("BG.0002.exr is missing.")
    assert [e["frame"] for e in run.named("frame_done")] == [1, 3]


def test_garbage_on_stdout_does_not_hide_the_events(tmp_path: Path) -> None:
    env = sim_env(tmp_path, LRC_SIM_GARBAGE_AT="2")
    run = run_worker(tmp_path, [RENDER_BG_123, QUIT], env=env)
    assert [e["frame"] for e in run.named("frame_done")] == [1, 2, 3]
    assert any("@lrc {not json" in line for line in run.log)


def test_render_error_fails_that_frame_only(tmp_path: Path) -> None:
    env = sim_env(tmp_path, LRC_SIM_RENDER_ERROR_AT="2")
    run = run_worker(tmp_path, [RENDER_BG_123, QUIT], env=env)
    failed = run.named("frame_failed")[0]
    assert failed["frame"] == 2 and failed["fatal"] is False and "failed" in failed["reason"]
    assert [e["frame"] for e in run.named("frame_done")] == [1, 3]


def test_cuda_error_prints_a_line_the_log_parser_calls_fatal(tmp_path: Path) -> None:
    env = sim_env(tmp_path, LRC_SIM_CUDA_ERROR_AT="1", CUDA_VISIBLE_DEVICES="GPU-1")
    run = run_worker(tmp_path, [command("render", layer="BG", frames=[1]), QUIT], env=env)
    assert run.named("frame_failed")
    parser = LogParser("arnold")
    assert any(parser.parse_line(line).kind is LineKind.FATAL for line in run.log)


def test_slow_start_still_says_hello(tmp_path: Path) -> None:
    env = sim_env(tmp_path, LRC_SIM_SLOW_START="5")
    run = run_worker(tmp_path, [QUIT], env=env)
    assert run.names[:2] == ["hello", "ready"]


def test_bad_simulator_profile_exits_2_with_the_key(tmp_path: Path) -> None:
    env = sim_env(tmp_path, LRC_SIM_CONFIG='{"faults": [{"kind": "explode"}]}')
    run = run_worker(tmp_path, [QUIT], env=env)
    assert run.returncode == 2
    assert "faults[0].kind" in run.stderr


def test_scene_that_does_not_open_is_a_startup_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.ma"
    broken.write_text("not a maya file\n")
    run = run_worker(tmp_path, [QUIT], scene=broken)
    assert run.returncode == 3
    assert run.named("error")[0]["fatal"] is True


# ------------------------------------------------------------------ --await-scene


def _run_awaiting(tmp_path: Path, commands: list[str]) -> tuple[int, list[protocol.Event], str]:
    """The worker started before its scene exists (``--await-scene``), fed ``commands``."""
    cmd = [*MAYAPY, "-m", "lrc_toolbox.worker", "--await-scene"]
    cmd += ["--project", str(tmp_path / "project"), "--output-dir", str(tmp_path / "images")]
    result = subprocess.run(
        cmd,
        input="".join(commands),
        capture_output=True,
        text=True,
        env=sim_env(tmp_path),
        timeout=60,
    )
    events = parse_output(result.stdout.encode())[0]
    return result.returncode, events, result.stderr


def test_a_worker_awaiting_its_scene_opens_the_one_open_names_and_renders(
    tmp_path: Path,
) -> None:
    code, events, stderr = _run_awaiting(
        tmp_path, [command("open", scene=str(SHOT)), RENDER_BG_123, QUIT]
    )
    assert code == 0, stderr
    assert events[0].name == "hello" and events[0]["scene"] == str(SHOT)
    assert [e["frame"] for e in events if e.name == "frame_done"] == [1, 2, 3]
    assert events[-1].name == "bye"


def test_a_worker_awaiting_its_scene_ends_cleanly_on_stop_and_opens_nothing(
    tmp_path: Path,
) -> None:
    code, events, stderr = _run_awaiting(tmp_path, [command("stop")])
    assert code == 0, stderr
    assert [(e.name, e.get("reason")) for e in events] == [("bye", "stop")]


def test_a_worker_awaiting_its_scene_refuses_another_first_command(tmp_path: Path) -> None:
    code, events, _ = _run_awaiting(tmp_path, [RENDER_BG_123])
    assert code == 3  # a start-up failure: the manager counts it against the slot
    error = next(e for e in events if e.name == "error")
    assert error["fatal"] is True
    assert "needs 'open' with a scene first" in error["reason"]
    assert not [e for e in events if e.name in ("hello", "frame_started")]
