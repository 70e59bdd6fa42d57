"""The OpenJD job bundle on a bare worker: lrc_toolbox shipped inside it, conda software
parameters, one Maya per session, path mapping inside Maya (dirmap), asset references, no
task timeout unless asked, the 150-frame chunk cap. ``openjd run`` (openjd-cli) runs the
bundle with the simulator standing in for mayapy."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sim_helpers import SHOT, sim_env

from lrc_toolbox.farm.openjd import (
    BUNDLED_PACKAGE_DIR,
    BundleError,
    OpenJDOptions,
    build_job_template,
    build_parameter_values,
    default_conda_packages,
    openjd_cli_job_params,
    scene_asset_paths,
    write_job_bundle,
    write_simulated_mayapy,
)
from lrc_toolbox.records.models import RenderConfig

yaml = pytest.importorskip("yaml")
posix_only = pytest.mark.skipif(os.name == "nt", reason="the simulator wrapper is a sh script")
REPO = Path(__file__).resolve().parents[1]


def make_plan(tmp_path: Path, scene: Path = SHOT, **config: Any) -> Any:
    from lrc_toolbox.core.batch_render_api import BatchRenderAPI

    config.setdefault("output_dir", str(tmp_path / "images"))
    return BatchRenderAPI(simulate=True).plan_batch(RenderConfig(scene=str(scene), **config)).plan


def scene_with(tmp_path: Path, head: str = "", tail: str = "") -> Path:
    """A copy of the sample shot with extra statements after its header / at its end."""
    lines = SHOT.read_text(encoding="utf-8").splitlines(keepends=True)
    scene = tmp_path / "scenes" / "shot010_lighting.ma"
    scene.parent.mkdir(parents=True, exist_ok=True)
    scene.write_text("".join(lines[:4]) + head + "".join(lines[4:]) + tail, encoding="utf-8")
    return scene


def openjd_run(bundle: Path, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
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


def frame_done_counts(stdout: str) -> dict[tuple[str, int], int]:
    counts: dict[tuple[str, int], int] = {}
    for layer, frame in re.findall(r'"ev":"frame_done","layer":"(\w+)","frame":(\d+),', stdout):
        key = (layer, int(frame))
        counts[key] = counts.get(key, 0) + 1
    return counts


# --------------------------------------------------------------------------- fresh worker


def bare_python(tmp_path: Path) -> Path:
    """A fresh virtual environment (no pip, no packages): lrc_toolbox is not importable."""
    folder = tmp_path / "bare-venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True, timeout=120
    )
    return folder / "bin" / "python"


def bare_sim_mayapy(folder: Path, python: Path) -> str:
    """The simulated mayapy of a bare worker: the fresh Python; the Maya stand-in's code
    comes from the lrc_toolbox folder the task names (``<bootstrap> <LrcToolboxPath>``) or
    from the PYTHONPATH run_chunk gives the worker: nothing else has lrc_toolbox."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "mayapy"
    path.write_text(
        "#!/bin/sh\n"
        'if [ -z "$PYTHONPATH" ] && [ -d "$2/lrc_toolbox" ]; then\n'
        '  PYTHONPATH="$2"; export PYTHONPATH\n'
        "fi\n"
        f"exec '{python}' -m lrc_toolbox.sim.mayapy \"$@\"\n",
        encoding="utf-8",
    )
    path.chmod(0o755)
    return str(path)


def bare_env(tmp_path: Path) -> dict[str, str]:
    env = sim_env(tmp_path)
    for key in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"):
        env.pop(key, None)
    return env


@posix_only
@pytest.mark.slow
def test_openjd_run_on_a_bare_worker_renders_every_frame_once_with_one_maya(
    tmp_path: Path,
) -> None:
    pytest.importorskip("openjd.cli")
    python = bare_python(tmp_path)
    env = bare_env(tmp_path)
    probe = subprocess.run(
        [str(python), "-c", "import lrc_toolbox"],
        env=env,
        cwd=str(tmp_path),
        capture_output=True,
        timeout=60,
    )
    assert probe.returncode != 0, "lrc_toolbox must not be importable on the bare worker"
    mayapy = bare_sim_mayapy(tmp_path / "bin", python)
    plan = make_plan(tmp_path, frames="1-10", chunk_size=4)
    bundle = write_job_bundle(plan, tmp_path / "bundle", OpenJDOptions(mayapy=mayapy))
    done = openjd_run(bundle, env)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert frame_done_counts(done.stdout) == {
        (layer, frame): 1 for layer in ("BG", "CHAR") for frame in range(1, 11)
    }
    images = tmp_path / "images" / "shot010_lighting"
    assert all((images / "BG" / f"BG.{f:04d}.exr").is_file() for f in range(1, 11))
    shipped = str((bundle / BUNDLED_PACKAGE_DIR).resolve())
    assert f"lrc run_chunk: lrc_toolbox from {shipped}" in done.stdout
    # one Maya for the session: one hello, every chunk sent to it, then quit
    assert done.stdout.count('"ev":"hello"') == 1
    assert done.stdout.count("lrc run_chunk: sent to the session's Maya") == 6
    assert "lrc session: Maya stopped" in done.stdout


@posix_only
def test_a_task_without_a_session_maya_starts_its_own_worker(tmp_path: Path) -> None:
    pytest.importorskip("openjd.cli")
    mayapy = write_simulated_mayapy(tmp_path / "bin")
    plan = make_plan(tmp_path, frames="1-2", chunk_size=2)
    options = OpenJDOptions(mayapy=mayapy, session_maya=False)
    bundle = write_job_bundle(plan, tmp_path / "bundle", options)
    env = sim_env(tmp_path, PYTHONPATH=str(REPO))
    done = openjd_run(bundle, env, "--step", "BG")
    assert done.returncode == 0, done.stdout[-4000:]
    assert frame_done_counts(done.stdout) == {("BG", 1): 1, ("BG", 2): 1}
    assert "lrc session" not in done.stdout


@posix_only
def test_session_start_fails_clearly_when_the_scene_does_not_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from lrc_toolbox.farm import maya_session, run_chunk

    for key, value in sim_env(tmp_path, PYTHONPATH=str(REPO)).items():
        monkeypatch.setenv(key, value)
    mayapy = write_simulated_mayapy(tmp_path / "bin")
    missing = str(tmp_path / "gone.ma")
    argv = ["session-start", "--session-dir", str(tmp_path / "s"), "--mayapy", mayapy]
    assert run_chunk.main([*argv, "--", "--scene", missing]) == maya_session.EXIT_WORKER
    out = capsys.readouterr().out
    assert "Maya or the scene did not start" in out and "gone.ma" in out
    assert maya_session.read_session(str(tmp_path / "s")) is None


@posix_only
def test_a_silent_session_maya_is_stopped_and_later_tasks_start_their_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from lrc_toolbox.farm import maya_session, run_chunk

    for key, value in sim_env(tmp_path, PYTHONPATH=str(REPO), LRC_SIM_HANG_AT="2").items():
        monkeypatch.setenv(key, value)
    mayapy = write_simulated_mayapy(tmp_path / "bin")
    session = str(tmp_path / "s")
    worker = ["--scene", str(SHOT), "--output-dir", str(tmp_path / "images")]
    assert maya_session.start(session, mayapy, worker) == maya_session.EXIT_OK
    chunk = ["--mayapy", mayapy, "--session-dir", session, "--layer", "BG", "--frame-timeout"]
    try:
        assert run_chunk.main([*chunk, "3", "--frames", "1-2", "--", *worker]) == 4
        assert "printed nothing for 3 s" in capsys.readouterr().out
        monkeypatch.setenv("LRC_SIM_HANG_AT", "")
        assert run_chunk.main([*chunk, "60", "--frames", "3", "--", *worker]) == 0
        assert "starting a worker for this task" in capsys.readouterr().out
    finally:
        maya_session.stop(session)


# --------------------------------------------------------------------------- path mapping


@posix_only
def test_path_mapping_rules_reach_maya_as_dirmap(tmp_path: Path) -> None:
    pytest.importorskip("openjd.cli")
    mapped = tmp_path / "mapped" / "assets" / "set.ma"
    mapped.parent.mkdir(parents=True)
    mapped.write_text("//Maya ASCII 2024 scene\n", encoding="utf-8")
    reference = 'file -r -ns "set" -dr 1 -rfn "setRN" "/studio/assets/set.ma";\n'
    scene = scene_with(tmp_path, head=reference)
    mayapy = write_simulated_mayapy(tmp_path / "bin")
    plan = make_plan(tmp_path, scene=scene, frames="1")
    bundle = write_job_bundle(plan, tmp_path / "bundle", OpenJDOptions(mayapy=mayapy))
    rules = {
        "version": "pathmapping-1.0",
        "path_mapping_rules": [
            {
                "source_path_format": "POSIX",
                "source_path": "/studio",
                "destination_path": str(tmp_path / "mapped"),
            }
        ],
    }
    env = sim_env(tmp_path, PYTHONPATH=str(REPO))
    done = openjd_run(bundle, env, "--step", "BG", "--path-mapping-rules", json.dumps(rules))
    assert done.returncode == 0, done.stdout[-4000:]
    assert f"lrc worker: dirmap /studio -> {tmp_path / 'mapped'}" in done.stdout
    assert f"// Loading reference: {mapped}" in done.stdout


def test_sim_dirmap_follows_the_documented_flags() -> None:
    from lrc_toolbox.sim.runtime import SimMaya

    sim = SimMaya()
    assert sim.convert_directory("/studio/a.ma") == "/studio/a.ma"  # off until enabled
    sim.dirmaps["/studio"] = "/mnt/x"
    assert sim.convert_directory("/studio/a.ma") == "/studio/a.ma"
    sim.dirmap_enabled = True
    assert sim.convert_directory("/studio/a.ma") == "/mnt/x/a.ma"
    assert sim.convert_directory("/Studio/a.ma") == "/Studio/a.ma"  # case-sensitive
    assert sim.convert_directory("/studioX/a.ma") == "/studioX/a.ma"  # whole folders only


@pytest.fixture
def stub_cmds(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    """The simulator's ``maya.cmds`` in this process, with a fresh session."""
    from lrc_toolbox.sim import mayapy, runtime
    from lrc_toolbox.sim.config import SimConfig

    monkeypatch.chdir(tmp_path)
    saved = {n: m for n, m in sys.modules.items() if n == "maya" or n.startswith("maya.")}
    mayapy.install_stub()
    runtime.reset_session(SimConfig(time_scale=0.0, startup=0.0))
    import maya.cmds as cmds
    import maya.standalone as standalone

    standalone.initialize(name="python")
    yield cmds
    for name in [n for n in sys.modules if n == "maya" or n.startswith("maya.")]:
        del sys.modules[name]
    sys.modules.update(saved)
    sys.path.remove(mayapy.STUB_DIR)


def test_worker_maps_the_rules_with_the_stubs_dirmap(stub_cmds: Any, tmp_path: Path) -> None:
    from lrc_toolbox.worker.path_mapping import apply_path_mapping

    rules = tmp_path / "rules.json"
    rule = {"source_path_format": "POSIX", "source_path": "/studio", "destination_path": "/mnt/s"}
    rules.write_text(json.dumps({"version": "pathmapping-1.0", "path_mapping_rules": [rule]}))
    assert apply_path_mapping(stub_cmds, str(rules)) == [("/studio", "/mnt/s")]
    assert stub_cmds.dirmap(query=True, enable=True) is True
    assert stub_cmds.dirmap(getAllMappings=True) == ["/studio", "/mnt/s"]
    assert stub_cmds.dirmap(convertDirectory="/studio/tex/a.png") == "/mnt/s/tex/a.png"


def test_stub_dirmap_wants_forward_slashes(stub_cmds: Any) -> None:
    with pytest.raises(RuntimeError, match="forward slashes"):
        stub_cmds.dirmap(mapDirectory=("C:\\proj", "/p"))
    with pytest.raises(RuntimeError, match="give one of"):
        stub_cmds.dirmap()


def test_worker_refuses_a_bad_rules_file(tmp_path: Path) -> None:
    from lrc_toolbox.worker.path_mapping import PathMappingError, read_rules

    bad = tmp_path / "rules.json"
    bad.write_text('{"version": "pathmapping-9", "path_mapping_rules": []}', encoding="utf-8")
    with pytest.raises(PathMappingError, match=r"pathmapping-1\.0"):
        read_rules(str(bad))
    bad.write_text("{}", encoding="utf-8")
    assert read_rules(str(bad)) == []  # a session without rules
    windows = {
        "source_path_format": "WINDOWS",
        "source_path": "C:\\proj\\",
        "destination_path": "/p",
    }
    bad.write_text(json.dumps({"version": "pathmapping-1.0", "path_mapping_rules": [windows]}))
    assert read_rules(str(bad)) == [("C:/proj", "/p")]


# --------------------------------------------------------------------------- bundle contents


def test_parameters_carry_the_conda_software_and_the_shipped_package(tmp_path: Path) -> None:
    parameters = pytest.importorskip("deadline.client.job_bundle.parameters")
    plan = make_plan(tmp_path, frames="1-3")
    bundle = write_job_bundle(plan, tmp_path / "bundle")
    # what the deadline client submits: the values plus the template's defaults
    submitted = {p["name"]: p for p in parameters.read_job_bundle_parameters(str(bundle))}
    assert submitted["CondaPackages"]["value"] == "maya=2024.* maya-mtoa"
    assert submitted["CondaChannels"]["value"] == "deadline-cloud"
    package = Path(submitted["LrcToolboxPath"]["value"])
    assert package == (bundle / BUNDLED_PACKAGE_DIR).resolve()
    assert (package / "lrc_toolbox" / "farm" / "run_chunk.py").is_file()
    assert submitted["LrcToolboxPath"]["dataFlow"] == "IN"
    assert submitted["LrcToolboxPath"]["userInterface"] == {"control": "HIDDEN"}


def test_nothing_in_the_bundle_points_at_the_submitting_machine(tmp_path: Path) -> None:
    plan = make_plan(tmp_path, frames="1-3")
    bundle = write_job_bundle(plan, tmp_path / "bundle")
    allowed = {str(SHOT.resolve()), str((tmp_path / "images").resolve())}
    machine = [str(REPO), sys.prefix, str(Path.home()), str(tmp_path)]
    for name in ("template.yaml", "parameter_values.yaml"):
        text = (bundle / name).read_text(encoding="utf-8")
        for path in allowed:
            text = text.replace(path, "<user path>")
        for path in machine:
            assert path not in text, f"{name} names {path}"
    shipped = bundle / BUNDLED_PACKAGE_DIR / "lrc_toolbox"
    assert not list(shipped.rglob("__pycache__")) and not list(shipped.rglob("*.ma"))
    assert not (shipped / "ui").exists()


def test_shipped_package_is_replaced_on_re_export(tmp_path: Path) -> None:
    plan = make_plan(tmp_path, frames="1")
    stale = tmp_path / "bundle" / BUNDLED_PACKAGE_DIR / "lrc_toolbox" / "stale.py"
    stale.parent.mkdir(parents=True)
    stale.write_text("", encoding="utf-8")
    write_job_bundle(plan, tmp_path / "bundle")
    assert not stale.exists()


def test_a_worker_install_is_named_instead_of_shipped(tmp_path: Path) -> None:
    plan = make_plan(tmp_path, frames="1")
    options = OpenJDOptions(lrc_toolbox_path="/studio/pipeline/python")
    bundle = write_job_bundle(plan, tmp_path / "bundle", options)
    values = {v["name"]: v["value"] for v in build_parameter_values(plan, options)}
    assert values["LrcToolboxPath"] == "/studio/pipeline/python"
    assert not (bundle / BUNDLED_PACKAGE_DIR).exists()


@pytest.mark.parametrize(
    ("renderer", "expected"),
    [
        ("arnold", "maya=2024.* maya-mtoa"),
        ("redshift", "maya=2024.* maya-redshift"),
        ("vray", "maya=2024.* maya-vray"),
        ("mayaSoftware", "maya=2024.*"),
    ],
)
def test_conda_packages_follow_maya_and_the_renderer(
    tmp_path: Path, renderer: str, expected: str
) -> None:
    plan = make_plan(tmp_path, frames="1")
    plan.config.renderer = renderer
    assert default_conda_packages(plan) == expected


def test_conda_options_override_the_defaults(tmp_path: Path) -> None:
    plan = make_plan(tmp_path, frames="1")
    options = OpenJDOptions(conda_packages="maya=2026.* maya-mtoa", conda_channels="studio")
    params = {p["name"]: p for p in build_job_template(plan, options)["parameterDefinitions"]}
    assert params["CondaPackages"]["default"] == "maya=2026.* maya-mtoa"
    assert params["CondaChannels"]["default"] == "studio"
    values = {v["name"]: v["value"] for v in build_parameter_values(plan, options)}
    assert values["CondaPackages"] == "maya=2026.* maya-mtoa"
    assert values["CondaChannels"] == "studio"


def test_asset_references_list_the_scene_files(tmp_path: Path) -> None:
    texture = tmp_path / "tex" / "wood.png"
    texture.parent.mkdir(parents=True)
    texture.write_bytes(b"png")
    tail = (
        'createNode file -n "wood";\n'
        f'\tsetAttr ".ftn" -type "string" "{texture}";\n'
        'createNode file -n "tiles";\n'
        f'\tsetAttr ".ftn" -type "string" "{tmp_path / "tex" / "tile.<UDIM>.exr"}";\n'
        'createNode gpuCache -n "cacheShape";\n'
        '\tsetAttr ".cfn" -type "string" "/studio/caches/city.abc";\n'
    )
    head = 'file -r -ns "set" -rfn "setRN" "/studio/assets/set.ma";\n'
    scene = scene_with(tmp_path, head=head, tail=tail)
    assert scene_asset_paths(scene) == {
        "filenames": [str(texture)],
        "directories": [str(tmp_path / "tex")],
        "referenced": ["/studio/assets/set.ma", "/studio/caches/city.abc"],
    }
    bundle = write_job_bundle(make_plan(tmp_path, scene=scene, frames="1"), tmp_path / "b")
    refs = yaml.safe_load((bundle / "asset_references.yaml").read_text(encoding="utf-8"))
    assert refs["assetReferences"]["inputs"]["filenames"] == [str(scene.resolve()), str(texture)]
    assert refs["assetReferences"]["outputs"]["directories"] == [
        str((tmp_path / "images").resolve())
    ]


# --------------------------------------------------------------------------- limits


def test_no_task_timeout_unless_one_is_asked_for(tmp_path: Path) -> None:
    plan = make_plan(tmp_path, frames="1-4", chunk_size=2, frame_timeout=600)
    on_run = build_job_template(plan)["steps"][0]["script"]["actions"]["onRun"]
    assert "timeout" not in on_run
    asked = build_job_template(plan, OpenJDOptions(task_timeout_seconds=7200))
    assert asked["steps"][0]["script"]["actions"]["onRun"]["timeout"] == 7200
    with pytest.raises(BundleError, match="task timeout"):
        build_job_template(plan, OpenJDOptions(task_timeout_seconds=0))


def test_chunks_over_150_frames_are_refused(tmp_path: Path) -> None:
    plan = make_plan(tmp_path, frames="1-300", chunk_size=151)
    with pytest.raises(BundleError, match="150 frames per task"):
        build_job_template(plan)
    assert build_job_template(make_plan(tmp_path, frames="1-300", chunk_size=150))


# --------------------------------------------------------------------------- command line


def farm_cli(argv: list[str]) -> tuple[int, str, str]:
    import argparse
    import io

    from lrc_toolbox.farm.cli import add_farm_parsers, run_farm_command

    parser = argparse.ArgumentParser()
    add_farm_parsers(parser.add_subparsers(dest="command"))
    out, err = io.StringIO(), io.StringIO()
    code = run_farm_command(parser.parse_args(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def test_cli_sets_conda_software_and_the_task_timeout(tmp_path: Path) -> None:
    base = ["--scene", str(SHOT), "--frames", "1-4", "--output", str(tmp_path / "images")]
    code, _, err = farm_cli(
        [
            "export",
            "--openjd",
            str(tmp_path / "b"),
            *base,
            "--conda-packages",
            "maya=2025.* maya-mtoa=5.4",
            "--conda-channels",
            "studio deadline-cloud",
            "--task-timeout",
            "3600",
        ]
    )
    assert code == 0, err
    values = yaml.safe_load((tmp_path / "b" / "parameter_values.yaml").read_text("utf-8"))
    named = {v["name"]: v["value"] for v in values["parameterValues"]}
    assert named["CondaPackages"] == "maya=2025.* maya-mtoa=5.4"
    assert named["CondaChannels"] == "studio deadline-cloud"
    template = yaml.safe_load((tmp_path / "b" / "template.yaml").read_text("utf-8"))
    assert template["steps"][0]["script"]["actions"]["onRun"]["timeout"] == 3600


def test_cli_refuses_chunks_over_the_service_limit(tmp_path: Path) -> None:
    base = ["--scene", str(SHOT), "--frames", "1-400", "--output", str(tmp_path / "images")]
    code, _, err = farm_cli(
        ["export", "--openjd", str(tmp_path / "b"), *base, "--chunk-size", "200"]
    )
    assert code != 0
    assert "150 frames per task" in err
