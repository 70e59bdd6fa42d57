"""JSON job files: one job or several, validation by key path, merging with flags."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lrc_toolbox.config.job_file import (
    SCHEMA_PATH,
    JobFileError,
    job_schema,
    load_job_file,
)
from lrc_toolbox.records.models import FrameOrder, RenderConfig

DOCS_SCHEMA = Path(__file__).resolve().parents[1] / "docs" / "job-config.schema.json"


def write(tmp_path: Path, data: object, name: str = "job.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def test_a_single_job_file_gives_one_config(tmp_path: Path) -> None:
    path = write(tmp_path, {"scene": "/s/a.ma", "layers": ["BG"], "frames": "1-24"})
    (config,) = load_job_file(path)
    assert config == RenderConfig(scene="/s/a.ma", layers=["BG"], frames="1-24")


def test_several_jobs_share_the_defaults(tmp_path: Path) -> None:
    data = {
        "version": 1,
        "defaults": {"output_dir": "/renders", "max_attempts": 2},
        "jobs": [{"scene": "/s/a.ma"}, {"scene": "/s/b.ma", "max_attempts": 5}],
    }
    first, second = load_job_file(write(tmp_path, data))
    assert (first.output_dir, first.max_attempts) == ("/renders", 2)
    assert (second.output_dir, second.max_attempts) == ("/renders", 5)


def test_flags_win_over_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, {"scene": "/s/a.ma", "frames": "1-24", "chunk_size": 4})
    (config,) = load_job_file(path, {"frames": "1-5"})
    assert config.frames == "1-5" and config.chunk_size == 4


def test_preferences_sit_below_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, {"scene": "/s/a.ma", "max_attempts": 4})
    (config,) = load_job_file(path, base={"max_attempts": 7, "chunk_size": 3})
    assert config.max_attempts == 4 and config.chunk_size == 3


def test_layers_all_means_every_renderable_layer(tmp_path: Path) -> None:
    (config,) = load_job_file(write(tmp_path, {"scene": "/s/a.ma", "layers": "all"}))
    assert config.layers == [] and config.all_renderable_layers


def test_relative_paths_are_relative_to_the_job_file(tmp_path: Path) -> None:
    (config,) = load_job_file(write(tmp_path, {"scene": "shots/a.ma", "output_dir": "out"}))
    assert config.scene == str(tmp_path / "shots" / "a.ma")
    assert config.output_dir == str(tmp_path / "out")


def test_frame_order_is_read_from_its_text(tmp_path: Path) -> None:
    path = write(tmp_path, {"scene": "/s/a.ma", "frame_order": "preview-first"})
    assert load_job_file(path)[0].frame_order is FrameOrder.PREVIEW_FIRST


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"jobs": [{"scene": "a.ma"}, {"scene": "b.ma", "layers": ["BG", "FG", 3]}]},
            "jobs[1].layers[2]: expected string, got 3",
        ),
        ({"scene": "a.ma", "frame": "1-2"}, "frame: unknown key (did you mean 'frames'?)"),
        ({"jobz": []}, "jobz: unknown key"),
        (
            {"jobs": [{"scene": "a.ma"}], "defualts": {}},
            "defualts: unknown key (did you mean 'defaults'?)",
        ),
        ({"jobs": []}, "jobs: expected a non-empty list"),
        ({"jobs": [{"scene": "a.ma", "frames": "1-10x0"}]}, "jobs[0].frames: step must be 1"),
        ({"jobs": [{"frames": "1-10"}]}, "jobs[0].scene: required key is missing"),
        ({"defaults": {"gpus": "1"}, "jobs": [{"scene": "a.ma"}]}, "defaults.gpus: expected list"),
        ({"version": 2, "jobs": [{"scene": "a.ma"}]}, "version: this lrc_toolbox reads"),
        ({"scene": "a.ma", "max_attempts": "3"}, "max_attempts: expected integer, got '3'"),
    ],
)
def test_bad_job_files_name_the_key_path(tmp_path: Path, data: object, message: str) -> None:
    with pytest.raises(JobFileError) as info:
        load_job_file(write(tmp_path, data))
    assert message in str(info.value)
    assert "job.json" in str(info.value)


def test_a_file_that_is_not_json_says_so(tmp_path: Path) -> None:
    path = tmp_path / "job.json"
    path.write_text("{scene: a.ma")
    with pytest.raises(JobFileError, match="not valid JSON"):
        load_job_file(path)


def test_a_missing_job_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(JobFileError, match="job file not found"):
        load_job_file(tmp_path / "nope.json")


def test_the_shipped_schemas_match_the_code() -> None:
    expected = json.loads(json.dumps(job_schema()))
    assert json.loads(SCHEMA_PATH.read_text()) == expected
    assert json.loads(DOCS_SCHEMA.read_text()) == expected


def test_the_schema_lists_every_render_config_field() -> None:
    job = job_schema()["oneOf"][0]
    assert set(job["properties"]) == set(RenderConfig(scene="x").to_dict())
    assert job["required"] == ["scene"] and job["additionalProperties"] is False
