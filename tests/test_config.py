"""Preferences: defaults, a per-user JSON file, LRC_* overrides; bad data never crashes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lrc_toolbox.config.batch_render_defaults import (
    PREFS_FILE_NAME,
    Settings,
    default_maya_app_dir,
    load_settings,
    prefs_dir,
    save_settings,
)
from lrc_toolbox.records.models import FrameOrder, SingleGpuPolicy, ValidationError


def test_defaults_keep_one_gpu_and_two_cores_for_maya(prefs_dir: Path) -> None:
    loaded = load_settings()
    assert loaded.settings.reserve_gpus == 1
    assert loaded.settings.reserve_cpu_cores == 2
    assert loaded.settings.temp_keep_latest == 5
    assert loaded.settings.max_attempts == 3
    assert loaded.warnings == []
    assert loaded.source is None


def test_preferences_file_overrides_defaults(prefs_dir: Path) -> None:
    (prefs_dir / PREFS_FILE_NAME).write_text(
        json.dumps({"reserve_gpus": 2, "frame_order": "preview-first"})
    )
    loaded = load_settings()
    assert loaded.settings.reserve_gpus == 2
    assert loaded.settings.frame_order is FrameOrder.PREVIEW_FIRST
    assert loaded.source == prefs_dir / PREFS_FILE_NAME


def test_corrupt_preferences_file_falls_back_to_defaults_with_a_warning(prefs_dir: Path) -> None:
    (prefs_dir / PREFS_FILE_NAME).write_text("{ not json")
    loaded = load_settings()
    assert loaded.settings == Settings()
    assert len(loaded.warnings) == 1
    assert PREFS_FILE_NAME in loaded.warnings[0] and "using defaults" in loaded.warnings[0]


def test_preferences_file_that_is_not_an_object_falls_back_to_defaults(prefs_dir: Path) -> None:
    (prefs_dir / PREFS_FILE_NAME).write_text("[1, 2]")
    loaded = load_settings()
    assert loaded.settings == Settings()
    assert "JSON object" in loaded.warnings[0]


def test_one_bad_key_is_ignored_and_the_good_ones_kept(prefs_dir: Path) -> None:
    (prefs_dir / PREFS_FILE_NAME).write_text(
        json.dumps({"reserve_gpus": "two", "max_attempts": 5, "colour": "red", "chunk_size": 0})
    )
    loaded = load_settings()
    assert loaded.settings.reserve_gpus == 1
    assert loaded.settings.max_attempts == 5
    assert loaded.settings.chunk_size == 1
    joined = "\n".join(loaded.warnings)
    assert "reserve_gpus: expected integer" in joined
    assert "colour: unknown key" in joined
    assert "chunk_size: must be 1 or more" in joined


def test_environment_overrides_the_preferences_file(
    prefs_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (prefs_dir / PREFS_FILE_NAME).write_text(json.dumps({"reserve_cpu_cores": 4}))
    monkeypatch.setenv("LRC_RESERVE_CPU_CORES", "6")
    monkeypatch.setenv("LRC_SIMULATE_GPUS", "4")
    monkeypatch.setenv("LRC_SINGLE_GPU_POLICY", "CPU")
    monkeypatch.setenv("LRC_FRAME_TIMEOUT", "90.5")
    settings = load_settings().settings
    assert settings.reserve_cpu_cores == 6
    assert settings.simulate_gpus == 4
    assert settings.single_gpu_policy is SingleGpuPolicy.CPU
    assert settings.frame_timeout == 90.5


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("LRC_SIMULATE_GPUS", "four"),
        ("LRC_SIMULATE_GPUS", "-1"),
        ("LRC_RESERVE_GPUS", "1.5"),
        ("LRC_SINGLE_GPU_POLICY", "maybe"),
        ("LRC_MAX_ATTEMPTS", "0"),
    ],
)
def test_bad_environment_value_is_ignored_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, var: str, value: str
) -> None:
    monkeypatch.setenv(var, value)
    loaded = load_settings()
    assert loaded.settings == Settings()
    assert len(loaded.warnings) == 1 and var in loaded.warnings[0]


def test_empty_simulate_variable_means_real_hardware(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LRC_SIMULATE_GPUS", "")
    assert load_settings().settings.simulate_gpus is None


def test_image_viewer_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LRC_IMAGE_VIEWER", "/opt/djv/bin/djv --fit")
    assert load_settings().settings.image_viewer == "/opt/djv/bin/djv --fit"


def test_empty_image_viewer_variable_means_the_system_viewer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LRC_IMAGE_VIEWER", " ")
    assert load_settings().settings.image_viewer is None


def test_prefs_dir_follows_maya_app_dir() -> None:
    env = {"MAYA_APP_DIR": "/studio/prefs/maya"}
    assert prefs_dir(env) == Path("/studio/prefs/maya/lrc_toolbox")


def test_lrc_prefs_dir_wins_over_maya_app_dir() -> None:
    assert prefs_dir({"MAYA_APP_DIR": "/a", "LRC_PREFS_DIR": "/b"}) == Path("/b")


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        ("linux", "/home/ann/maya"),
        ("win32", "/home/ann/Documents/maya"),
        ("darwin", "/home/ann/Library/Preferences/Autodesk/maya"),
    ],
)
def test_maya_app_dir_defaults_per_platform(platform: str, expected: str) -> None:
    assert default_maya_app_dir({"HOME": "/home/ann"}, platform) == Path(expected)


def test_save_then_load_round_trips(prefs_dir: Path) -> None:
    written = save_settings(Settings(reserve_gpus=0, frame_order=FrameOrder.PREVIEW_FIRST))
    assert written == prefs_dir / PREFS_FILE_NAME
    assert load_settings().settings.frame_order is FrameOrder.PREVIEW_FIRST
    assert not list(prefs_dir.glob("*.tmp"))


def test_save_refuses_invalid_settings(prefs_dir: Path) -> None:
    with pytest.raises(ValidationError):
        save_settings(Settings(max_attempts=0))
    assert not (prefs_dir / PREFS_FILE_NAME).exists()


def test_temp_root_defaults_to_a_per_user_folder() -> None:
    root = Settings().resolved_temp_root()
    assert root.name.startswith("lrc_toolbox-")
    assert Settings(temp_root="/scratch/x").resolved_temp_root() == Path("/scratch/x")
