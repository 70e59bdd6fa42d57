"""No frame outside its folder (issue item 1): every image path must resolve inside the
output folder after token expansion, checked when the batch is planned (before any
worker starts) for every planned layer and camera, naming where the prefix came from."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sim_helpers import SCENES, SHOT
from test_cli_render import CLI
from test_cli_render import cli_env as cli_env_of

from lrc_toolbox.core.batch_render_api import BatchRenderAPI, OutputOutsideFolder
from lrc_toolbox.records.models import RenderConfig
from lrc_toolbox.utils.output_paths import OutputSpec, expected_outputs, path_inside

SHOT_TEXT = SHOT.read_text(encoding="utf-8")
SHOT_PREFIX = '"<Scene>/<RenderLayer>/<RenderLayer>"'


def cli_env(tmp_path: Path) -> dict[str, str]:
    return cli_env_of(tmp_path, LRC_SIMULATE_GPUS="2")


def run_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], env=cli_env(tmp_path), capture_output=True, text=True, timeout=180
    )


@pytest.fixture
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> BatchRenderAPI:
    monkeypatch.setenv("LRC_TEMP_ROOT", str(tmp_path / "tmp"))
    monkeypatch.setenv("LRC_JOB_STORE_PATH", str(tmp_path / "jobs.sqlite"))
    monkeypatch.setenv("LRC_SIMULATE_GPUS", "2")
    monkeypatch.setenv("LRC_MIN_FREE_DISK_MB", "0")
    monkeypatch.setenv("LRC_WARN_FREE_DISK_MB", "0")
    return BatchRenderAPI(simulate=True)


def scene_with_prefix(tmp_path: Path, prefix: str, name: str = "shot.ma") -> Path:
    assert SHOT_PREFIX in SHOT_TEXT
    path = tmp_path / name
    path.write_text(SHOT_TEXT.replace(SHOT_PREFIX, json.dumps(prefix)), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- path_inside


def test_a_relative_path_below_the_folder_is_inside(tmp_path: Path) -> None:
    assert path_inside("shot/BG/BG.0001.exr", tmp_path)


def test_a_path_that_climbs_out_is_not_inside(tmp_path: Path) -> None:
    assert not path_inside("../x.0001.exr", tmp_path / "out")


def test_a_path_that_climbs_out_and_back_in_is_inside(tmp_path: Path) -> None:
    assert path_inside("a/../b/x.0001.exr", tmp_path)
    assert path_inside(tmp_path / "out" / ".." / "out" / "x.exr", tmp_path / "out")


def test_an_absolute_path_elsewhere_is_not_inside(tmp_path: Path) -> None:
    assert not path_inside(tmp_path / "elsewhere" / "x.exr", tmp_path / "out")


def test_a_sibling_folder_sharing_the_name_start_is_not_inside(tmp_path: Path) -> None:
    assert not path_inside(tmp_path / "out2" / "x.exr", tmp_path / "out")


def test_the_folder_itself_is_not_a_file_inside_it(tmp_path: Path) -> None:
    assert not path_inside(tmp_path, tmp_path)


def test_a_symlink_inside_that_leads_out_is_not_inside(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "elsewhere").mkdir()
    (out / "link").symlink_to(tmp_path / "elsewhere")
    assert not path_inside(out / "link" / "x.exr", out)


def test_a_path_with_a_nul_byte_is_not_inside(tmp_path: Path) -> None:
    assert not path_inside("x\0.exr", tmp_path)


SEGMENTS = st.lists(st.sampled_from(["a", "b", "..", ".", "c.exr"]), min_size=1, max_size=8)


@settings(max_examples=200, deadline=None)
@given(SEGMENTS)
def test_path_inside_agrees_with_lexical_normalisation(segments: list[str]) -> None:
    folder = os.path.join(os.sep, "srv", "renders", "out")  # no symlinks there
    relative = os.path.normpath(os.path.join(*segments))
    lexically_inside = relative != "." and relative.split(os.sep)[0] != ".."
    assert path_inside(os.path.join(*segments), folder) == lexically_inside


# --------------------------------------------------------------------------- the prediction


def spec(prefix: str, images_dir: str, **extra: object) -> OutputSpec:
    values: dict[str, object] = dict(
        images_dir=images_dir,
        prefix=prefix,
        scene="shot",
        layer="BG",
        layer_node="rs_BG",
        camera="cam",
        ext="exr",
    )
    values.update(extra)
    return OutputSpec(**values)  # type: ignore[arg-type]


def test_an_absolute_prefix_is_where_maya_writes(tmp_path: Path) -> None:
    target = tmp_path / "abs" / "<Scene>"
    (path,) = expected_outputs(spec(str(target), str(tmp_path / "out")), 7)
    assert path == str(tmp_path / "abs" / "shot.0007.exr")


def test_a_dotdot_scene_name_is_seen_escaping(tmp_path: Path) -> None:
    out = tmp_path / "a" / "out"
    (path,) = expected_outputs(spec("<Scene>/<Scene>", str(out), scene=".."), 1)
    assert not path_inside(path, out)


# --------------------------------------------------------------------------- plan time


def test_image_prefix_climbing_out_is_refused_at_plan_time(
    api: BatchRenderAPI, tmp_path: Path
) -> None:
    config = RenderConfig(scene=str(SHOT), output_dir=str(tmp_path / "out"), image_prefix="../../x")
    with pytest.raises(OutputOutsideFolder) as info:
        api.plan_batch(config)
    error = info.value
    assert error.exit_code == 2 and error.field == "image_prefix"
    assert "image prefix '../../x'" in str(error)
    assert str(tmp_path / "out") in str(error)


def test_the_scene_prefix_climbing_out_names_the_layer_and_plug(
    api: BatchRenderAPI, tmp_path: Path
) -> None:
    scene = scene_with_prefix(tmp_path, "../<Scene>/<RenderLayer>")
    config = RenderConfig(scene=str(scene), output_dir=str(tmp_path / "out"))
    with pytest.raises(OutputOutsideFolder) as info:
        api.plan_batch(config)
    message = str(info.value)
    assert info.value.field is None
    assert "defaultRenderGlobals.imageFilePrefix" in message and "layer BG" in message
    assert str(scene) in message


def test_an_absolute_prefix_inside_the_folder_is_accepted(
    api: BatchRenderAPI, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    config = RenderConfig(
        scene=str(SHOT), output_dir=str(out), image_prefix=f"{out}/<Scene>/<RenderLayer>"
    )
    assert api.plan_batch(config).plan.frame_count > 0


def test_an_absolute_prefix_outside_the_folder_is_refused(
    api: BatchRenderAPI, tmp_path: Path
) -> None:
    config = RenderConfig(
        scene=str(SHOT),
        output_dir=str(tmp_path / "out"),
        image_prefix=f"{tmp_path}/elsewhere/<Scene>",
    )
    with pytest.raises(OutputOutsideFolder, match="outside the output folder"):
        api.plan_batch(config)


def test_a_prefix_that_climbs_out_and_back_in_is_accepted(
    api: BatchRenderAPI, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    config = RenderConfig(scene=str(SHOT), output_dir=str(out), image_prefix="a/../<Scene>")
    assert api.plan_batch(config).plan.frame_count > 0


def test_a_scene_file_named_dotdot_is_blamed_on_its_name(
    api: BatchRenderAPI, tmp_path: Path
) -> None:
    scene = scene_with_prefix(tmp_path, "<Scene>/x", name="...ma")
    assert scene.stem == ".."
    config = RenderConfig(scene=str(scene), output_dir=str(tmp_path / "out"))
    with pytest.raises(OutputOutsideFolder) as info:
        api.plan_batch(config)
    assert "the scene file's name '..'" in str(info.value)
    assert "--scene-name" in str(info.value)


def test_vray_prefix_from_its_own_settings_node_is_checked(
    api: BatchRenderAPI, tmp_path: Path
) -> None:
    text = (SCENES / "vray_simple.ma").read_text(encoding="utf-8")
    scene = tmp_path / "vray.ma"
    scene.write_text(text.replace('"<Scene>";', '"../../<Scene>";'), encoding="utf-8")
    config = RenderConfig(scene=str(scene), output_dir=str(tmp_path / "out"))
    with pytest.raises(OutputOutsideFolder, match=r"vraySettings\.fileNamePrefix"):
        api.plan_batch(config)


def test_dotdot_scene_name_is_refused_by_validation(api: BatchRenderAPI, tmp_path: Path) -> None:
    from lrc_toolbox.core.batch_render_api import BadRequest

    config = RenderConfig(scene=str(SHOT), output_dir=str(tmp_path / "out"), scene_name="..")
    with pytest.raises(BadRequest, match="scene_name"):
        api.plan_batch(config)


# --------------------------------------------------------------------------- the CLI


def test_cli_image_prefix_climbing_out_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "shots" / "a" / "b" / "out"
    result = run_cli(
        tmp_path,
        "render",
        "--scene",
        str(SHOT),
        "--frames",
        "1-2",
        "--output",
        str(out),
        "--image-prefix",
        "../../x",
        "--simulate",
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("error:") == 1
    assert "--image-prefix '../../x'" in result.stderr
    assert not (tmp_path / "shots").exists()  # not even the output folder
    assert not (tmp_path / "jobs.sqlite").exists()


def test_cli_job_file_key_is_named(tmp_path: Path) -> None:
    job = tmp_path / "job.json"
    job.write_text(
        json.dumps(
            {
                "defaults": {"output_dir": "out"},
                "jobs": [
                    {"scene": str(SHOT), "frames": "1"},
                    {"scene": str(SHOT), "frames": "1", "image_prefix": "../<Scene>"},
                ],
            }
        ),
        encoding="utf-8",
    )
    result = run_cli(tmp_path, "render", "--config", str(job), "--simulate", "--dry-run")
    assert result.returncode == 2, result.stderr
    assert f"{job}: jobs[1].image_prefix '../<Scene>'" in result.stderr


def test_cli_scene_name_with_dotdot_is_refused(tmp_path: Path) -> None:
    result = run_cli(
        tmp_path,
        "render",
        "--scene",
        str(SHOT),
        "--scene-name",
        "..",
        "--output",
        str(tmp_path / "out"),
        "--simulate",
        "--dry-run",
    )
    assert result.returncode == 2
    assert "error: --scene-name: '..' is not a file name" in result.stderr


def test_cli_scene_prefix_escaping_is_reported_as_json(tmp_path: Path) -> None:
    scene = scene_with_prefix(tmp_path, "/../../<Scene>/../../../x")
    result = run_cli(
        tmp_path,
        "render",
        "--scene",
        str(scene),
        "--output",
        str(tmp_path / "out"),
        "--simulate",
        "--json",
    )
    assert result.returncode == 2
    (event,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert event["event"] == "error" and event["exit_code"] == 2
    assert "imageFilePrefix" in event["message"]
    assert not (tmp_path / "jobs.sqlite").exists()
