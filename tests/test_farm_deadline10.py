"""Thinkbox Deadline 10: job/plugin info files against golden files, ``deadlinecommand``
found and run (a stand-in that records what it got), its output parsed."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from sim_helpers import SHOT
from test_farm_frames import deadline_reference_frames

from lrc_toolbox.farm.deadline10 import (
    MACOS_DEADLINE_PATH_FILE,
    Deadline10Options,
    DeadlineCommandNotFound,
    DeadlineSubmitError,
    build_deadline10_jobs,
    effective_chunk_size,
    find_deadlinecommand,
    output_pattern,
    parse_submission_output,
    submit_deadline10,
    write_deadline10_files,
)
from lrc_toolbox.records.frame_parser import parse_frames
from lrc_toolbox.records.models import RenderConfig
from lrc_toolbox.scene.ma_reader import read_ma

GOLDEN = Path(__file__).resolve().parent / "data" / "farm_golden" / "deadline10"
#: regenerate: LRC_UPDATE_GOLDEN=1 pytest tests/test_farm_deadline10.py (then review the diff);
#: read at import because the autouse fixture clears LRC_* variables before each test
UPDATE_GOLDEN = os.environ.get("LRC_UPDATE_GOLDEN") == "1"
posix_only = pytest.mark.skipif(os.name == "nt", reason="the stand-in is a POSIX script")

SUCCESS_OUTPUT = """\
Deadline Command 10.3.2.1 [v10.3.2.1 Release (d2c4e8f7a)]
Submitting to Repository: /mnt/DeadlineRepository10
Submission Contains No Auxiliary Files.

Result=Success
JobID=6650b7a3c2f1e84d2c0a9b17
The job was submitted successfully. To view the job, open the Deadline Monitor.
"""
FAILURE_OUTPUT = """\
Submitting to Repository: /mnt/DeadlineRepository10
Error: The pool 'gpu' does not exist.
Result=Failure
"""


def fixed_plan(output_dir: str = "/projects/shot010/images", **config: Any) -> Any:
    """A plan of the sample scene with fixed paths, so the files are the same everywhere
    (the Arnold device script goes into ``output_dir``: give a real folder to write)."""
    from lrc_toolbox.core.batch_render_api import BatchRenderAPI, PlannedBatch
    from lrc_toolbox.records.batch import BatchPlan

    config.setdefault("scene", "/projects/shot010/scenes/shot010_lighting.ma")
    cfg = RenderConfig(**config)
    scene = read_ma(SHOT)
    warnings: list[str] = []
    frames = BatchRenderAPI._frames_by_layer(cfg, scene, warnings)
    plan = BatchPlan(
        config=cfg,
        scene_name="shot010_lighting",
        renderer=scene.renderer,
        frames_by_layer=frames,
        mayapy=["mayapy"],
        output_dir=output_dir,
        project="/projects/shot010",
        render_setup=scene.render_setup,
        warnings=warnings,
    )
    return PlannedBatch(plan=plan, scene=scene, slots=[])


CASES: dict[str, tuple[dict[str, Any], Deadline10Options]] = {
    # the scene's own ranges (BG 1-48, CHAR 1-24), GPU, chunks of 10
    "shot010_gpu": (
        {"chunk_size": 10},
        Deadline10Options(
            batch_name="shot010_lighting v012",
            pool="gpu",
            secondary_pool="all",
            group="maya2024",
            priority=60,
            concurrent_tasks=2,
            machine_limit=4,
            limit_groups=["arnold", "nuke"],
            comment="lighting v012",
            department="lighting",
            initial_status="Suspended",
            gpus_per_task=1,
            maya_version="2025",
            task_timeout_minutes=120,
            arnold_startup_script="/studio/deadline/lrc_arnold_gpu.mel",
        ),
    ),
    # our stepped syntax (last frame kept), negatives, CPU, a camera and an image prefix
    "shot010_stepped_cpu": (
        {
            "frames": "1-100x5,-3--1",
            "layers": ["CHAR"],
            "chunk_size": 4,
            "cpu_mode": True,
            "cpu_threads": 16,
            "camera": "shotCam",
            "image_prefix": "<Scene>/<RenderLayer>/<Camera>/beauty",
            "skip_existing": True,
        },
        Deadline10Options(
            batch_name="shot010 stepped", strict_error_checking=True, scene_arnold_device=True
        ),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_files_match_the_golden_files(case: str, tmp_path: Path) -> None:
    config, options = CASES[case]
    written = write_deadline10_files(fixed_plan(**config), tmp_path, options)
    folder = GOLDEN / case
    if UPDATE_GOLDEN:
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.iterdir():
            old.unlink()
        for job_file, plugin_file, _ in written:
            for path in (job_file, plugin_file):
                (folder / path.name).write_bytes(path.read_bytes())
    produced = sorted(p.name for j, q, _ in written for p in (j, q))
    assert produced == sorted(p.name for p in folder.iterdir())
    for name in produced:
        assert (tmp_path / name).read_bytes() == (folder / name).read_bytes(), (
            f"{name} differs from {folder / name}; if intended, regenerate with "
            "LRC_UPDATE_GOLDEN=1 pytest tests/test_farm_deadline10.py and review the diff"
        )


def test_one_job_per_layer_in_one_batch_with_explicit_frames() -> None:
    plan = fixed_plan(frames="1-100x5", chunk_size=1)
    jobs = build_deadline10_jobs(plan, Deadline10Options(batch_name="b"))
    assert [j.layer for j in jobs] == ["BG", "CHAR"]
    for job in jobs:
        info = job.job_info
        assert info["Plugin"] == "MayaBatch" and info["BatchName"] == "b"
        # Deadline itself would read 1-100x5 without frame 100; the list is explicit
        assert deadline_reference_frames(info["Frames"]) == parse_frames("1-100x5")
        plugin = job.plugin_info
        assert plugin["UsingRenderLayers"] == "1"
        assert plugin["UseLegacyRenderLayers"] == "0"  # Render Setup scene
        assert plugin["RenderLayer"] == f"rs_{job.layer}"
        assert plugin["Build"] == "64bit" and plugin["Version"] == "2024"


def test_text_is_key_equals_value_lines() -> None:
    job = build_deadline10_jobs(fixed_plan(frames="1-3"))[0]
    text = job.job_info_text()
    assert text.endswith("\n") and text.splitlines()[0] == "Plugin=MayaBatch"
    assert all(line.count("=") >= 1 for line in text.splitlines())


def test_output_pattern_uses_hash_padding() -> None:
    plan = fixed_plan(frames="1")
    assert output_pattern(plan, "BG") == (
        "/projects/shot010/images/shot010_lighting/BG",
        "BG.####.exr",
    )


@pytest.mark.parametrize(
    ("frames", "chunk", "expected"),
    [
        ([1, 2, 3, 4, 5, 6], 3, 3),
        ([1, 2, 3, 4, 10, 11], 2, 2),  # every chunk is a run
        ([1, 2, 3, 4, 10, 11], 3, 1),  # [4, 10, 11] spans a gap
        ([1, 6, 11], 2, 1),
        ([10, 9, 8, 7], 2, 1),  # backwards
        ([1, 2, 3], 1, 1),
        ([5], 10, 10),
    ],
)
def test_effective_chunk_size(frames: list[int], chunk: int, expected: int) -> None:
    assert effective_chunk_size(frames, chunk) == expected


def test_a_gapped_chunked_layer_falls_back_to_one_frame_per_task() -> None:
    job = build_deadline10_jobs(fixed_plan(frames="1-20x5", chunk_size=3))[0]
    assert job.job_info["ChunkSize"] == "1"
    assert any("reduced from 3 to 1" in w for w in job.warnings)


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValueError, match="priority"):
        build_deadline10_jobs(fixed_plan(frames="1"), Deadline10Options(priority=150))
    with pytest.raises(ValueError, match="line break"):
        build_deadline10_jobs(fixed_plan(frames="1"), Deadline10Options(pool="a\nb"))


# --------------------------------------------------------------------------- documented keys

#: job info keys the Monitor's Maya submitter writes (``scripts/Submission/MayaSubmission.py``
#: lines 557-609 in applemin/Deadline_Development, Thinkbox's repository scripts) plus
#: ``OutputFilename0`` (``submission/Maya/Main/SubmitMayaToDeadline.mel``)
DOCUMENTED_JOB_INFO_KEYS = {
    *("Plugin", "Name", "Comment", "Department", "Pool", "SecondaryPool", "Group"),
    *("Priority", "TaskTimeoutMinutes", "EnableAutoTimeout", "ConcurrentTasks"),
    *("LimitConcurrentTasksToNumberOfCpus", "MachineLimit", "Blacklist", "Whitelist"),
    *("LimitGroups", "JobDependencies", "OnJobComplete", "InitialStatus", "Frames"),
    *("ChunkSize", "OutputDirectory0", "OutputFilename0", "BatchName"),
}
#: MayaBatch plugin info keys this module may write: each is a section of
#: ``plugins/MayaBatch/MayaBatch.options`` or (``RenderLayer``, ``UsingRenderLayers``) read
#: by ``plugins/MayaBatch/MayaBatch.py`` with ``GetPluginInfoEntry*``; the value types are
#: the ``Type=`` of the .options file (MayaBatch.py reads UsingRenderLayers as a boolean)
MAYABATCH_KEY_TYPES = {
    "SceneFile": "filename",
    "Version": "label",
    "Build": "enum None;32bit;64bit",
    "ProjectPath": "folder",
    "OutputFilePath": "folder",
    "OutputFilePrefix": "string",
    "Renderer": "label",
    "RenderLayer": "string",
    "UsingRenderLayers": "boolean",
    "UseLegacyRenderLayers": "boolean",
    "Animation": "boolean",
    "Camera": "enum",
    "GPUsPerTask": "integer",
    "MaxProcessors": "integer",
    "SkipExistingFrames": "boolean",
    "StrictErrorChecking": "boolean",
    "StartupScript": "filename",
}
JOB_INFO_INTEGERS = {"ChunkSize", "ConcurrentTasks", "Priority", "MachineLimit"}
JOB_INFO_INTEGERS |= {"TaskTimeoutMinutes"}

EVERY_OPTION = Deadline10Options(
    batch_name="b",
    pool="gpu",
    secondary_pool="all",
    group="maya",
    priority=70,
    concurrent_tasks=2,
    machine_limit=3,
    limit_groups=["arnold"],
    comment="c",
    department="lighting",
    initial_status="Active",
    maya_version="2025",
    strict_error_checking=True,
    task_timeout_minutes=90,
)


def check_documented(job: Any) -> None:
    assert set(job.job_info) <= DOCUMENTED_JOB_INFO_KEYS, (
        set(job.job_info) - DOCUMENTED_JOB_INFO_KEYS
    )
    assert set(job.plugin_info) <= set(MAYABATCH_KEY_TYPES), set(job.plugin_info) - set(
        MAYABATCH_KEY_TYPES
    )
    for key, value in job.job_info.items():
        if key in JOB_INFO_INTEGERS:
            assert value.isdigit(), (key, value)
    assert job.job_info.get("InitialStatus", "Active") in ("Active", "Suspended")
    for key, value in job.plugin_info.items():
        kind = MAYABATCH_KEY_TYPES[key]
        if kind == "boolean":
            assert value in ("0", "1"), (key, value)
        elif kind == "integer":
            assert value.isdigit(), (key, value)
        elif kind.startswith("enum "):
            assert value in kind[5:].split(";"), (key, value)
        elif kind in ("filename", "folder") and value:
            assert value.startswith("/"), (key, value)  # absolute on this POSIX plan


@pytest.mark.parametrize(
    ("config", "options"),
    [
        ({"frames": "1-10"}, Deadline10Options()),
        ({"frames": "1-10", "chunk_size": 5}, EVERY_OPTION),
        (
            {"frames": "1-5", "cpu_mode": True, "cpu_threads": 8, "skip_existing": True},
            Deadline10Options(scene_arnold_device=True),
        ),
        ({"frames": "1", "camera": "shotCam", "image_prefix": "<Scene>/x"}, EVERY_OPTION),
    ],
)
def test_every_key_is_a_documented_key_of_its_type(
    config: dict[str, Any], options: Deadline10Options
) -> None:
    for job in build_deadline10_jobs(fixed_plan(**config), options):
        check_documented(job)


def test_new_job_keys_are_written_as_the_submitter_writes_them() -> None:
    info = build_deadline10_jobs(fixed_plan(frames="1"), EVERY_OPTION)[0].job_info
    assert info["SecondaryPool"] == "all"
    assert info["MachineLimit"] == "3"
    assert info["LimitGroups"] == "arnold"
    assert info["Comment"] == "c" and info["Department"] == "lighting"
    assert info["InitialStatus"] == "Active"
    assert info["TaskTimeoutMinutes"] == "90"


def test_no_task_timeout_or_limits_unless_asked() -> None:
    info = build_deadline10_jobs(fixed_plan(frames="1", frame_timeout=3600))[0].job_info
    for key in ("TaskTimeoutMinutes", "MachineLimit", "LimitGroups", "InitialStatus"):
        assert key not in info


def test_strict_error_checking_is_off_by_default() -> None:
    plugin = build_deadline10_jobs(fixed_plan(frames="1"))[0].plugin_info
    assert plugin["StrictErrorChecking"] == "0"


def test_version_is_the_planning_mayas_release_not_the_scenes() -> None:
    plan = fixed_plan(frames="1")
    plan.plan.mayapy = ["/usr/autodesk/maya2025/bin/mayapy"]
    job = build_deadline10_jobs(plan)[0]
    assert job.plugin_info["Version"] == "2025"  # the scene was saved by 2024
    assert job.warnings == []
    plan.plan.mayapy = [r"C:\Program Files\Autodesk\Maya2026\bin\mayapy.exe"]
    assert build_deadline10_jobs(plan)[0].plugin_info["Version"] == "2026"


def test_version_falls_back_to_the_scenes_with_a_warning() -> None:
    job = build_deadline10_jobs(fixed_plan(frames="1"))[0]  # mayapy "mayapy": no release
    assert job.plugin_info["Version"] == "2024"
    assert any("--maya-version" in w for w in job.warnings)


def test_arnold_gpu_device_is_set_by_a_startup_script(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    plan = fixed_plan(str(tmp_path / "images"), frames="1-3", layers=["BG"])
    (_, plugin_file, job) = write_deadline10_files(plan, tmp_path / "dl")[0]
    script = Path(job.plugin_info["StartupScript"])
    assert script.parent == tmp_path / "images" and script.is_file()
    assert f"StartupScript={script}\n" in plugin_file.read_text(encoding="utf-8")
    mel = script.read_text(encoding="utf-8")
    assert "setAttr defaultArnoldRenderOptions.renderDevice 1;" in mel
    assert "setAttr defaultArnoldRenderOptions.manual_gpu_devices 0;" in mel
    assert "skipExistingFrames" not in mel


def test_arnold_cpu_and_skip_existing_in_the_startup_script() -> None:
    plan = fixed_plan(frames="1", cpu_mode=True, skip_existing=True)
    job = build_deadline10_jobs(plan)[0]
    assert job.startup_script is not None
    name, mel = job.startup_script
    assert job.plugin_info["StartupScript"].endswith(name)
    assert "renderDevice 0;" in mel and "manual_gpu_devices" not in mel
    assert "setAttr defaultRenderGlobals.skipExistingFrames 1;" in mel


def test_a_studio_startup_script_is_used_as_given() -> None:
    options = Deadline10Options(arnold_startup_script="/studio/arnold_gpu.mel")
    job = build_deadline10_jobs(fixed_plan(frames="1"), options)[0]
    assert job.plugin_info["StartupScript"] == "/studio/arnold_gpu.mel"
    assert job.startup_script is None


def test_scene_device_says_the_device_is_not_set() -> None:
    options = Deadline10Options(scene_arnold_device=True)
    job = build_deadline10_jobs(fixed_plan(frames="1"), options)[0]
    assert "StartupScript" not in job.plugin_info
    assert any("device is NOT set" in w for w in job.warnings)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (Deadline10Options(machine_limit=-1), "machine limit"),
        (Deadline10Options(task_timeout_minutes=0), "task timeout"),
        (Deadline10Options(initial_status="Paused"), "Active or Suspended"),
        (Deadline10Options(maya_version="maya 2025"), "release like 2025"),
        (Deadline10Options(limit_groups=["a,b"]), "limit group"),
        (Deadline10Options(comment="a\nb"), "line break"),
    ],
)
def test_bad_new_options_are_refused(options: Deadline10Options, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_deadline10_jobs(fixed_plan(frames="1"), options)


# --------------------------------------------------------------------------- output parsing


def test_success_output_gives_the_job_id() -> None:
    assert parse_submission_output(SUCCESS_OUTPUT) == "6650b7a3c2f1e84d2c0a9b17"
    assert parse_submission_output("Result=Success\r\nJobID=abc\r\n") == "abc"


@pytest.mark.parametrize(
    "output",
    [FAILURE_OUTPUT, "", "JobID=abc\n", "Result=Success\n", "Result = Failed\nJobID=x"],
)
def test_anything_but_success_is_an_error(output: str) -> None:
    with pytest.raises(DeadlineSubmitError) as caught:
        parse_submission_output(output)
    assert caught.value.output == output
    if output == FAILURE_OUTPUT:
        assert "The pool 'gpu' does not exist" in str(caught.value)


# --------------------------------------------------------------------------- finding it


def test_explicit_path_wins_and_must_exist(tmp_path: Path) -> None:
    tool = tmp_path / "deadlinecommand"
    tool.write_text("")
    assert find_deadlinecommand(str(tool), env={}) == str(tool)
    assert find_deadlinecommand(str(tmp_path), env={}, platform="linux") == str(tool)
    with pytest.raises(DeadlineCommandNotFound, match="does not exist"):
        find_deadlinecommand(str(tmp_path / "nope"), env={})


def test_deadline_path_variable_names_the_bin_folder() -> None:
    seen = {"/opt/dl/bin/deadlinecommand"}
    found = find_deadlinecommand(
        env={"DEADLINE_PATH": "/opt/dl/bin"}, platform="linux", exists=seen.__contains__
    )
    assert found == "/opt/dl/bin/deadlinecommand"
    win = find_deadlinecommand(
        env={"DEADLINE_PATH": r"D:\DL\bin"},
        platform="win32",
        exists={r"D:\DL\bin\deadlinecommand.exe"}.__contains__,
    )
    assert win == r"D:\DL\bin\deadlinecommand.exe"


def test_macos_reads_the_deadline_path_file() -> None:
    found = find_deadlinecommand(
        env={},
        platform="darwin",
        read_text=lambda path: (
            "/Applications/Thinkbox/Deadline10/Resources\n"
            if path == MACOS_DEADLINE_PATH_FILE
            else None
        ),
        exists={"/Applications/Thinkbox/Deadline10/Resources/deadlinecommand"}.__contains__,
    )
    assert found == "/Applications/Thinkbox/Deadline10/Resources/deadlinecommand"


def test_path_then_install_defaults() -> None:
    found = find_deadlinecommand(
        env={"PATH": "/usr/local/bin"},
        platform="linux",
        which=lambda name, where: f"{where}/{name}",
        exists=lambda p: True,
    )
    assert found == "/usr/local/bin/deadlinecommand"
    default = find_deadlinecommand(
        env={},
        platform="linux",
        exists={"/opt/Thinkbox/Deadline10/bin/deadlinecommand"}.__contains__,
    )
    assert default == "/opt/Thinkbox/Deadline10/bin/deadlinecommand"
    win = r"C:\Program Files\Thinkbox\Deadline10\bin\deadlinecommand.exe"
    assert find_deadlinecommand(env={}, platform="win32", exists={win}.__contains__) == win


def test_not_found_lists_every_place_looked() -> None:
    with pytest.raises(DeadlineCommandNotFound) as caught:
        find_deadlinecommand(
            env={"DEADLINE_PATH": "/dl", "PATH": "/bin"},
            platform="darwin",
            read_text=lambda path: "/Users/Shared/dl",
            which=lambda name, where: None,
            exists=lambda p: False,
        )
    message = str(caught.value)
    for place in (
        "/dl/deadlinecommand (DEADLINE_PATH)",
        f"/Users/Shared/dl/deadlinecommand ({MACOS_DEADLINE_PATH_FILE})",
        "deadlinecommand on PATH (PATH)",
        "/Applications/Thinkbox/Deadline10/Resources/deadlinecommand (Deadline 10 default)",
        "DEADLINE_PATH",
        "--deadlinecommand",
    ):
        assert place in message
    assert len(caught.value.searched) == 4


# --------------------------------------------------------------------------- submitting


STAND_IN = """\
#!{python}
# A stand-in for Thinkbox's deadlinecommand: records argv and the files' contents.
import json, os, sys
record = os.path.join(os.path.dirname(os.path.abspath(__file__)), "calls.jsonl")
entry = {{"argv": sys.argv[1:], "files": {{}}}}
for arg in sys.argv[1:]:
    if os.path.isfile(arg):
        with open(arg, encoding="utf-8") as handle:
            entry["files"][arg] = handle.read()
with open(record, "a", encoding="utf-8") as handle:
    handle.write(json.dumps(entry) + "\\n")
if os.environ.get("STANDIN_DEADLINE_FAIL"):
    print("Error: The pool 'gpu' does not exist.")
    print("Result=Failure")
    sys.exit(1)
count = sum(1 for _ in open(record, encoding="utf-8"))
print("Submitting to Repository: /mnt/DeadlineRepository10")
print("Result=Success")
print("JobID=job%04d" % count)
"""


def stand_in(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    tool = folder / "deadlinecommand"
    tool.write_text(STAND_IN.format(python=sys.executable), encoding="utf-8")
    tool.chmod(0o755)
    return tool


def calls(tool: Path) -> list[dict[str, Any]]:
    record = tool.parent / "calls.jsonl"
    if not record.exists():
        return []
    return [json.loads(line) for line in record.read_text(encoding="utf-8").splitlines()]


@posix_only
def test_submit_runs_deadlinecommand_with_job_and_plugin_files(tmp_path: Path) -> None:
    tool = stand_in(tmp_path / "bin")
    written = write_deadline10_files(fixed_plan(str(tmp_path), frames="1-10"), tmp_path / "files")
    ids = submit_deadline10([(j, p) for j, p, _ in written], str(tool))
    assert ids == ["job0001", "job0002"]
    recorded = calls(tool)
    assert [c["argv"] for c in recorded] == [[str(j), str(p)] for j, p, _ in written]
    for call, (job_file, plugin_file, job) in zip(recorded, written, strict=True):
        assert call["files"][str(job_file)] == job.job_info_text()
        assert call["files"][str(plugin_file)] == job.plugin_info_text()


@posix_only
def test_submit_fails_clearly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tool = stand_in(tmp_path / "bin")
    written = write_deadline10_files(fixed_plan(str(tmp_path), frames="1-10"), tmp_path / "files")
    monkeypatch.setenv("STANDIN_DEADLINE_FAIL", "1")
    with pytest.raises(DeadlineSubmitError) as caught:
        submit_deadline10([(j, p) for j, p, _ in written], str(tool))
    assert "did not accept the job (Failure)" in str(caught.value)
    assert "The pool 'gpu' does not exist" in str(caught.value)
    assert "exit code 1" in str(caught.value)
    assert len(calls(tool)) == 1  # stops at the first refusal


def test_submit_reports_a_command_that_cannot_run(tmp_path: Path) -> None:
    written = write_deadline10_files(fixed_plan(str(tmp_path), frames="1"), tmp_path)
    with pytest.raises(DeadlineSubmitError, match="could not run"):
        submit_deadline10([(j, p) for j, p, _ in written], str(tmp_path / "missing"))


# --------------------------------------------------------------------------- the CLI


def farm_cli(argv: list[str]) -> tuple[int, str, str]:
    import argparse
    import io

    from lrc_toolbox.farm.cli import add_farm_parsers, run_farm_command

    parser = argparse.ArgumentParser()
    add_farm_parsers(parser.add_subparsers(dest="command"))
    out, err = io.StringIO(), io.StringIO()
    code = run_farm_command(parser.parse_args(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def test_cli_export_writes_the_files(tmp_path: Path) -> None:
    code, out, err = farm_cli(
        [
            "export",
            "--deadline10",
            str(tmp_path / "dl"),
            "--scene",
            str(SHOT),
            "--frames",
            "1-100x5",
            "--output",
            str(tmp_path / "images"),
            "--pool",
            "gpu",
            "--group",
            "maya",
            "--priority",
            "70",
            "--batch-name",
            "shot010 test",
            "--simulate",
            "--json",
        ]
    )
    assert code == 0, err
    result = json.loads(out)
    assert [Path(j).name for j, _ in result["deadline10"]] == [
        "shot010_lighting_BG.job",
        "shot010_lighting_CHAR.job",
    ]
    job = Path(result["deadline10"][0][0]).read_text(encoding="utf-8")
    assert "Pool=gpu\nGroup=maya\nPriority=70\n" in job
    assert "BatchName=shot010 test\n" in job
    frames = next(line for line in job.splitlines() if line.startswith("Frames="))
    assert deadline_reference_frames(frames[7:]) == parse_frames("1-100x5")


def test_cli_export_takes_the_new_deadline10_options(tmp_path: Path) -> None:
    code, out, err = farm_cli(
        [
            *("export", "--deadline10", str(tmp_path / "dl"), "--scene", str(SHOT)),
            *("--layers", "BG", "--frames", "1-4", "--output", str(tmp_path / "images")),
            *("--secondary-pool", "all", "--machine-limit", "2", "--limit-groups", "a, b"),
            *("--comment", "note", "--department", "fx", "--initial-status", "Suspended"),
            *("--strict-errors", "--task-timeout-minutes", "60", "--maya-version", "2025"),
            *("--simulate", "--json"),
        ]
    )
    assert code == 0, err
    job_path, plugin_path = json.loads(out)["deadline10"][0]
    job = Path(job_path).read_text(encoding="utf-8")
    for line in (
        "SecondaryPool=all",
        "MachineLimit=2",
        "LimitGroups=a,b",
        "Comment=note",
        "Department=fx",
        "InitialStatus=Suspended",
        "TaskTimeoutMinutes=60",
    ):
        assert f"{line}\n" in job
    plugin = Path(plugin_path).read_text(encoding="utf-8")
    assert "StrictErrorChecking=1\n" in plugin and "Version=2025\n" in plugin
    script = tmp_path / "images" / "lrc_deadline10_arnold_gpu.mel"
    assert script.is_file()
    assert err.count(f"set by the MayaBatch StartupScript {script}") == 1


def test_cli_says_when_the_arnold_device_is_left_to_the_scene(tmp_path: Path) -> None:
    code, _, err = farm_cli(
        [
            *("export", "--deadline10", str(tmp_path / "dl"), "--scene", str(SHOT)),
            *("--frames", "1", "--output", str(tmp_path / "images")),
            *("--scene-arnold-device", "--simulate"),
        ]
    )
    assert code == 0, err
    assert err.count("Arnold's render device is NOT set") == 2  # one per layer


@posix_only
def test_cli_submit_deadline10(tmp_path: Path) -> None:
    tool = stand_in(tmp_path / "bin")
    code, out, err = farm_cli(
        [
            "submit",
            "--deadline10",
            "--deadlinecommand",
            str(tool),
            "--scene",
            str(SHOT),
            "--layers",
            "BG",
            "--frames",
            "1-10",
            "--output",
            str(tmp_path / "images"),
            "--simulate",
            "--json",
        ]
    )
    assert code == 0, err
    assert json.loads(out) == {"deadline10": {"BG": "job0001"}}
    assert len(calls(tool)) == 1


def test_cli_submit_without_deadlinecommand_is_an_environment_problem(tmp_path: Path) -> None:
    code, _, err = farm_cli(
        [
            "submit",
            "--deadline10",
            "--deadlinecommand",
            str(tmp_path / "missing" / "deadlinecommand"),
            "--scene",
            str(SHOT),
            "--frames",
            "1",
            "--output",
            str(tmp_path / "images"),
            "--simulate",
        ]
    )
    assert code == 3
    assert "does not exist" in err


def test_cli_bad_input_exits_2(tmp_path: Path) -> None:
    base = ["--scene", str(SHOT), "--output", str(tmp_path / "images"), "--simulate"]
    code, _, err = farm_cli(["export", *base])
    assert code == 2 and "--openjd DIR and/or --deadline10 DIR" in err
    code, _, err = farm_cli(["export", "--deadline10", str(tmp_path), "--layers", "NOPE", *base])
    assert code == 2 and "NOPE" in err
    code, _, err = farm_cli(["export", "--deadline10", str(tmp_path), "--frames", "1-x", *base])
    assert code == 2
    code, _, err = farm_cli(
        ["export", "--deadline10", str(tmp_path), "--priority", "500", "--frames", "1", *base]
    )
    assert code == 2 and "priority" in err


def test_cli_export_takes_its_defaults_from_the_preferences_like_render(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LRC_CHUNK_SIZE", "4")  # the user's preference, as 'render' reads it
    monkeypatch.setenv("LRC_PREFS_DIR", str(tmp_path / "prefs"))
    code, out, err = farm_cli(
        [
            *("export", "--deadline10", str(tmp_path / "dl"), "--scene", str(SHOT)),
            *("--frames", "1-8", "--layers", "BG", "--output", str(tmp_path / "images")),
            *("--simulate", "--json"),
        ]
    )
    assert code == 0, err
    job = Path(json.loads(out)["deadline10"][0][0]).read_text(encoding="utf-8")
    assert "ChunkSize=4\n" in job


def test_cli_export_reads_a_job_file_like_render(tmp_path: Path) -> None:
    job_file = tmp_path / "job.json"
    job_file.write_text(
        json.dumps({"scene": str(SHOT), "layers": ["CHAR"], "frames": "1-3", "chunk_size": 3}),
        encoding="utf-8",
    )
    code, out, err = farm_cli(
        [
            *("export", "--deadline10", str(tmp_path / "dl"), "--config", str(job_file)),
            *("--output", str(tmp_path / "images"), "--simulate", "--json"),
        ]
    )
    assert code == 0, err
    (job_path, _) = json.loads(out)["deadline10"][0]
    assert Path(job_path).name == "shot010_lighting_CHAR.job"
    assert "ChunkSize=3\n" in Path(job_path).read_text(encoding="utf-8")


def test_cli_export_refuses_a_job_file_with_several_jobs(tmp_path: Path) -> None:
    job_file = tmp_path / "jobs.json"
    jobs = [{"scene": str(SHOT), "frames": "1"}, {"scene": str(SHOT), "frames": "2"}]
    job_file.write_text(json.dumps({"jobs": jobs}), encoding="utf-8")
    code, _, err = farm_cli(["export", "--deadline10", str(tmp_path), "--config", str(job_file)])
    assert code == 2
    assert "holds 2 jobs" in err
