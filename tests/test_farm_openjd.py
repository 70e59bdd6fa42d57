"""The OpenJD job bundle: valid for openjd-model, and rendering FOR REAL with ``openjd run``
(openjd-cli 0.8.0) through run_chunk and the real worker in the simulated mayapy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sim_helpers import SHOT, sim_env

from lrc_toolbox.farm import run_chunk
from lrc_toolbox.farm.openjd import (
    BOOTSTRAP_SCRIPT,
    BundleError,
    OpenJDOptions,
    build_job_template,
    build_parameter_values,
    dump_yaml,
    openjd_cli_job_params,
    validate_bundle,
    write_job_bundle,
    write_simulated_mayapy,
)
from lrc_toolbox.records.frame_parser import parse_frames
from lrc_toolbox.records.models import RenderConfig

GOLDEN = Path(__file__).resolve().parent / "data" / "farm_golden" / "openjd"
#: regenerate the golden files: LRC_UPDATE_GOLDEN=1 pytest tests/test_farm_openjd.py
#: (read at import: the autouse fixture clears LRC_* variables before each test)
UPDATE_GOLDEN = os.environ.get("LRC_UPDATE_GOLDEN") == "1"

yaml = pytest.importorskip("yaml")
posix_only = pytest.mark.skipif(os.name == "nt", reason="the simulator wrapper is a sh script")


def make_plan(tmp_path: Path, **config: Any) -> Any:
    from lrc_toolbox.core.batch_render_api import BatchRenderAPI

    config.setdefault("output_dir", str(tmp_path / "images"))
    return BatchRenderAPI(simulate=True).plan_batch(RenderConfig(scene=str(SHOT), **config)).plan


def chunks_of(job: Any, step_name: str) -> list[list[int]]:
    """The frames of every task/chunk openjd-model makes for a step."""
    from openjd.model import StepParameterSpaceIterator

    step = next(s for s in job.steps if s.name == step_name)
    return [
        run_chunk.parse_openjd_range_expr(str(task["Frame"].value))
        for task in StepParameterSpaceIterator(space=step.parameterSpace)
    ]


# --------------------------------------------------------------------------- the template


def test_template_validates_and_every_layer_renders_exactly_its_frames(tmp_path: Path) -> None:
    pytest.importorskip("openjd.model")
    plan = make_plan(tmp_path, frames="1-100x5", chunk_size=3)
    bundle = write_job_bundle(plan, tmp_path / "bundle")
    job = validate_bundle(bundle)
    assert [s.name for s in job.steps] == ["BG", "CHAR"]  # one step per layer
    for layer in ("BG", "CHAR"):
        chunks = chunks_of(job, layer)
        assert sorted(f for c in chunks for f in c) == parse_frames("1-100x5")
        # CONTIGUOUS: a chunk is one a-b run, so a stepped list runs one frame per task
        assert all(len(c) == 1 for c in chunks)


def test_layers_keep_their_own_frame_ranges(tmp_path: Path) -> None:
    pytest.importorskip("openjd.model")
    plan = make_plan(tmp_path, chunk_size=10)  # no --frames: each layer's own range
    template = build_job_template(plan)
    ranges = {
        s["name"]: s["parameterSpace"]["taskParameterDefinitions"][0]["range"]
        for s in template["steps"]
    }
    assert ranges == {"BG": "1-48", "CHAR": "1-24"}
    job = validate_bundle(write_job_bundle(plan, tmp_path / "bundle"))
    assert all(len(c) <= 10 for c in chunks_of(job, "CHAR"))
    assert sorted(f for c in chunks_of(job, "CHAR") for f in c) == list(range(1, 25))
    assert sorted(f for c in chunks_of(job, "BG") for f in c) == list(range(1, 49))


def test_chunked_step_uses_chunk_int_and_declares_the_extension(tmp_path: Path) -> None:
    plan = make_plan(tmp_path, frames="1-10", chunk_size=4)
    template = build_job_template(plan, OpenJDOptions(target_runtime_seconds=600))
    assert template["specificationVersion"] == "jobtemplate-2023-09"
    assert template["extensions"] == ["TASK_CHUNKING"]
    frame = template["steps"][0]["parameterSpace"]["taskParameterDefinitions"][0]
    assert frame == {
        "name": "Frame",
        "type": "CHUNK[INT]",
        "range": "1-10",
        "chunks": {
            "defaultTaskCount": 4,
            "targetRuntimeSeconds": 600,
            "rangeConstraint": "CONTIGUOUS",
        },
    }


def test_unchunked_step_uses_plain_int(tmp_path: Path) -> None:
    template = build_job_template(make_plan(tmp_path, frames="1-10"))
    assert "extensions" not in template  # TASK_CHUNKING only when a step chunks
    frame = template["steps"][0]["parameterSpace"]["taskParameterDefinitions"][0]
    assert frame == {"name": "Frame", "type": "INT", "range": "1-10"}


def test_noncontiguous_chunks_group_stepped_frames(tmp_path: Path) -> None:
    pytest.importorskip("openjd.model")
    plan = make_plan(tmp_path, frames="1-100x5", chunk_size=4)
    bundle = write_job_bundle(plan, tmp_path / "b", OpenJDOptions(contiguous_chunks=False))
    chunks = chunks_of(validate_bundle(bundle), "BG")
    assert sorted(f for c in chunks for f in c) == parse_frames("1-100x5")
    assert max(len(c) for c in chunks) > 1


def test_host_requirements_timeouts_and_cancelation(tmp_path: Path) -> None:
    gpu = build_job_template(make_plan(tmp_path, frames="1-4", chunk_size=2, frame_timeout=600))
    step = gpu["steps"][0]
    assert step["hostRequirements"] == {"amounts": [{"name": "amount.worker.gpu", "min": 1}]}
    on_run = step["script"]["actions"]["onRun"]
    assert "timeout" not in on_run  # a hard limit only when the user asks for one
    assert on_run["cancelation"] == {"mode": "NOTIFY_THEN_TERMINATE", "notifyPeriodInSeconds": 30}
    assert on_run["command"] == "{{Param.Mayapy}}"
    cpu = build_job_template(make_plan(tmp_path, frames="1-4", cpu_mode=True, cpu_threads=8))
    step = cpu["steps"][0]
    assert step["hostRequirements"] == {"amounts": [{"name": "amount.worker.vcpu", "min": 8}]}
    args = step["script"]["actions"]["onRun"]["args"]
    assert args[args.index("--device") + 1] == "cpu"
    assert args[args.index("--threads") + 1] == "8"
    two = build_job_template(make_plan(tmp_path, frames="1"), OpenJDOptions(gpus_per_task=2))
    assert two["steps"][0]["hostRequirements"]["amounts"][0]["min"] == 2


def test_task_runs_the_worker_through_run_chunk(tmp_path: Path) -> None:
    plan = make_plan(tmp_path, frames="1-3", camera="shotCam", skip_existing=True)
    step = build_job_template(plan)["steps"][0]
    args = step["script"]["actions"]["onRun"]["args"]
    assert args[:10] == [
        "{{Task.File.Bootstrap}}",
        "{{Param.LrcToolboxPath}}",
        "--mayapy",
        "{{Param.Mayapy}}",
        "--session-dir",
        "{{Session.WorkingDirectory}}",
        "--layer",
        "BG",
        "--frames",
        "{{Task.Param.Frame}}",
    ]
    worker = args[args.index("--") + 1 :]
    assert worker[:4] == ["--scene", "{{Param.MayaSceneFile}}", "--scene-name", "shot010_lighting"]
    assert worker[worker.index("--output-dir") + 1] == "{{Param.OutputDir}}"
    assert args[args.index("--camera") + 1] == "shotCam" and "--skip-existing" in args
    assert step["script"]["embeddedFiles"][0]["data"] == BOOTSTRAP_SCRIPT
    assert "{{" not in BOOTSTRAP_SCRIPT


def test_parameters_and_values(tmp_path: Path) -> None:
    plan = make_plan(tmp_path, frames="1-3", max_attempts=4)
    template = build_job_template(plan)
    params = {p["name"]: p for p in template["parameterDefinitions"]}
    assert params["MayaSceneFile"]["type"] == "PATH" and params["MayaSceneFile"]["dataFlow"] == "IN"
    assert params["OutputDir"]["type"] == "PATH" and params["OutputDir"]["dataFlow"] == "OUT"
    assert params["Mayapy"] == {
        "name": "Mayapy",
        "type": "STRING",
        "default": "mayapy",
        "minLength": 1,
        "description": "mayapy on the workers: one executable (no arguments).",
    }
    env = template["jobEnvironments"][0]["variables"]
    assert env["MAYA_ENABLE_LEGACY_RENDER_LAYERS"] == "0"  # a Render Setup scene
    values = {v["name"]: v["value"] for v in build_parameter_values(plan, OpenJDOptions())}
    assert values["MayaSceneFile"] == str(SHOT.resolve())
    assert values["OutputDir"] == str((tmp_path / "images").resolve())
    assert values["deadline:maxRetriesPerTask"] == 3
    assert values["deadline:priority"] == 50
    # the shipped package is the parameter's relative default, not a path of this machine
    assert "LrcToolboxPath" not in values
    assert params["LrcToolboxPath"]["default"] == "lrc_toolbox_bundle"


def test_bad_values_are_refused(tmp_path: Path) -> None:
    plan = make_plan(tmp_path, frames="1", image_prefix="{{Param.X}}/x")
    with pytest.raises(BundleError, match="image prefix"):
        build_job_template(plan)
    with pytest.raises(BundleError, match="priority"):
        build_job_template(make_plan(tmp_path, frames="1"), OpenJDOptions(priority=101))
    with pytest.raises(BundleError, match="mayapy"):
        build_job_template(make_plan(tmp_path, frames="1"), OpenJDOptions(mayapy=" "))


def test_yaml_files_parse_back_to_the_template(tmp_path: Path) -> None:
    plan = make_plan(tmp_path, frames="-3--1,1-100x5", chunk_size=2)
    bundle = write_job_bundle(plan, tmp_path / "bundle")
    text = (bundle / "template.yaml").read_text(encoding="utf-8")
    assert yaml.safe_load(text) == build_job_template(plan)
    values = yaml.safe_load((bundle / "parameter_values.yaml").read_text(encoding="utf-8"))
    assert values == {"parameterValues": build_parameter_values(plan)}


def test_yaml_writer_round_trips_awkward_strings() -> None:
    data = {
        "a": 'quote " back\\slash \t tab \u2028 sep \x85 nel é ✓',
        "b": [[], {}, [1, [2]], {"c": None, "d": True}],
        "multi": "line one\n  indented\n\nafter blank\n",
        "lead": " leading space\nsecond\n",
        "deadline:x": 1.5,
    }
    expected = {**data, "b": [[], {}, [1, [2]], {"d": True}]}
    assert yaml.safe_load(dump_yaml(data)) == expected


def test_template_matches_the_golden_file(tmp_path: Path) -> None:
    plan = make_plan(tmp_path, frames="1-100x5,120", chunk_size=4)
    text = dump_yaml(build_job_template(plan))
    golden = GOLDEN / "shot010_template.yaml"
    if UPDATE_GOLDEN:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_bytes(text.encode("utf-8"))
    assert golden.read_bytes() == text.encode("utf-8"), (
        "the OpenJD template changed; if intended, regenerate with "
        "LRC_UPDATE_GOLDEN=1 pytest tests/test_farm_openjd.py and review the diff"
    )


def test_openjd_check_accepts_the_bundle(tmp_path: Path) -> None:
    pytest.importorskip("openjd.cli")
    bundle = write_job_bundle(make_plan(tmp_path, frames="1-10", chunk_size=3), tmp_path / "b")
    done = subprocess.run(
        [sys.executable, "-m", "openjd", "check", str(bundle / "template.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "passes validation checks" in done.stdout


# --------------------------------------------------------------------------- openjd run


def openjd_run(
    bundle: Path, tmp_path: Path, *extra: str, **env_extra: str
) -> subprocess.CompletedProcess[str]:
    env = sim_env(tmp_path, **env_extra)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "openjd",
            "run",
            str(bundle / "template.yaml"),
            *openjd_cli_job_params(bundle),
            *extra,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


@posix_only
def test_openjd_run_renders_every_frame_with_the_simulator(tmp_path: Path) -> None:
    pytest.importorskip("openjd.cli")
    mayapy = write_simulated_mayapy(tmp_path / "bin")  # Mayapy is ONE command: a wrapper
    plan = make_plan(tmp_path, frames="1-10", chunk_size=4)
    bundle = write_job_bundle(plan, tmp_path / "bundle", OpenJDOptions(mayapy=mayapy))
    done = openjd_run(bundle, tmp_path)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    images = tmp_path / "images" / "shot010_lighting"
    for layer in ("BG", "CHAR"):
        for frame in range(1, 11):
            path = images / layer / f"{layer}.{frame:04d}.exr"
            assert path.is_file() and path.stat().st_size > 0, path
            # the task log carries the worker's own events, as a local render prints them
            assert f'"ev":"frame_done","layer":"{layer}","frame":{frame},' in done.stdout
    assert "Chunks run: 6" in done.stdout  # 1-10 in chunks of at most 4, two layers


@posix_only
def test_openjd_run_fails_the_task_when_a_frame_fails(tmp_path: Path) -> None:
    pytest.importorskip("openjd.cli")
    mayapy = write_simulated_mayapy(tmp_path / "bin")
    plan = make_plan(tmp_path, frames="1-4", chunk_size=4)
    bundle = write_job_bundle(plan, tmp_path / "bundle", OpenJDOptions(mayapy=mayapy))
    done = openjd_run(bundle, tmp_path, "--step", "BG", LRC_SIM_RENDER_ERROR_AT="3")
    assert done.returncode != 0
    assert "lrc run_chunk: frame 3 failed" in done.stdout
    assert (tmp_path / "images" / "shot010_lighting" / "BG" / "BG.0004.exr").is_file()


# --------------------------------------------------------------------------- run_chunk


def chunk_args(tmp_path: Path, frames: str, *extra: str) -> list[str]:
    mayapy = write_simulated_mayapy(tmp_path / "bin")
    return [
        "--mayapy",
        mayapy,
        "--layer",
        "BG",
        "--frames",
        frames,
        *extra,
        "--",
        "--scene",
        str(SHOT),
        "--output-dir",
        str(tmp_path / "images"),
    ]


def use_sim_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **extra: str) -> None:
    for key, value in sim_env(tmp_path, **extra).items():
        monkeypatch.setenv(key, value)


@posix_only
def test_run_chunk_renders_its_frames(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_sim_env(monkeypatch, tmp_path)
    assert run_chunk.main(chunk_args(tmp_path, "3-5")) == run_chunk.EXIT_OK
    out = capsys.readouterr().out
    assert "lrc run_chunk: 3 frame(s) rendered" in out
    for frame in (3, 4, 5):
        assert (tmp_path / "images" / "shot010_lighting" / "BG" / f"BG.{frame:04d}.exr").is_file()


@posix_only
def test_run_chunk_reports_frames_the_worker_never_rendered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_sim_env(monkeypatch, tmp_path, LRC_SIM_CRASH_AT="2")
    assert run_chunk.main(chunk_args(tmp_path, "1-3")) == run_chunk.EXIT_FRAMES_FAILED
    assert "without rendering frame(s) [2, 3]" in capsys.readouterr().out


@posix_only
def test_run_chunk_kills_a_silent_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_sim_env(monkeypatch, tmp_path, LRC_SIM_HANG_AT="2")
    args = chunk_args(tmp_path, "1-2", "--frame-timeout", "3")
    assert run_chunk.main(args) == run_chunk.EXIT_SILENT
    assert "printed nothing for 3 s" in capsys.readouterr().out


def test_run_chunk_refuses_bad_arguments(tmp_path: Path) -> None:
    assert run_chunk.main(["--layer", "BG", "--frames", "5-1", "--", "--scene", "x"]) == 2
    assert run_chunk.main(["--layer", "BG", "--frames", "1-3"]) == 2


def test_run_chunk_reports_a_missing_mayapy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = str(tmp_path / "no-such-mayapy")
    args = ["--mayapy", missing, "--layer", "BG", "--frames", "1", "--", "--scene", str(SHOT)]
    assert run_chunk.main(args) == run_chunk.EXIT_WORKER
    assert "cannot start the worker" in capsys.readouterr().out


def test_worker_environment_puts_this_package_first() -> None:
    env = run_chunk.worker_environment({"PYTHONPATH": os.pathsep.join(["/studio", "/x"])})
    assert env["PYTHONPATH"].split(os.pathsep) == [run_chunk.PACKAGE_ROOT, "/studio", "/x"]
    assert env["PYTHONUNBUFFERED"] == "1"
    assert Path(run_chunk.PACKAGE_ROOT, "lrc_toolbox", "__init__.py").is_file()
