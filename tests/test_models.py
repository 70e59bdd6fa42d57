"""Models round-trip through plain JSON data and reject bad data with the field's path."""

from __future__ import annotations

import json

import pytest

from lrc_toolbox.records.models import (
    CPUInfo,
    FrameOrder,
    GPUInfo,
    GPUProcess,
    RenderConfig,
    RenderStatus,
    SingleGpuPolicy,
    SystemInfo,
    ValidationError,
    WorkerState,
)


def _system(
    n_gpus: int, reserved: list[int], policy: SingleGpuPolicy = SingleGpuPolicy.SHARE
) -> SystemInfo:
    gpus = [GPUInfo(index=i, name=f"GPU{i}", uuid=f"GPU-{i}") for i in range(n_gpus)]
    return SystemInfo(
        cpu=CPUInfo(physical_cores=8, logical_cores=16),
        ram_total_mb=65536,
        ram_available_mb=32768,
        gpus=gpus,
        reserved_gpus=reserved,
        single_gpu_policy=policy,
    )


def test_render_config_round_trips_through_json() -> None:
    config = RenderConfig(
        scene="/shots/sh010/lighting.ma",
        layers=["BG", "CHAR"],
        frames="1-100x5",
        renderer="arnold",
        gpus=[1, 2],
        frame_order=FrameOrder.PREVIEW_FIRST,
        frame_timeout=600,
    )
    data = json.loads(json.dumps(config.to_dict()))
    assert data["frame_order"] == "preview-first"
    assert RenderConfig.from_dict(data) == config


def test_render_config_defaults_mean_all_layers_and_scene_frames() -> None:
    config = RenderConfig(scene="a.ma")
    assert config.all_renderable_layers
    assert config.frames == ""
    assert config.max_attempts == 3


def test_from_dict_names_the_field_with_a_wrong_type() -> None:
    with pytest.raises(ValidationError) as info:
        RenderConfig.from_dict({"scene": "a.ma", "layers": ["BG", "FG", 3]})
    assert info.value.field == "layers[2]"
    assert str(info.value) == "layers[2]: expected string, got 3"


def test_from_dict_rejects_unknown_keys_with_a_suggestion() -> None:
    with pytest.raises(ValidationError) as info:
        RenderConfig.from_dict({"scene": "a.ma", "frame": "1-10"})
    assert info.value.field == "frame"
    assert "did you mean 'frames'" in str(info.value)


def test_from_dict_reports_a_missing_required_key() -> None:
    with pytest.raises(ValidationError) as info:
        RenderConfig.from_dict({"frames": "1-10"})
    assert info.value.field == "scene"
    assert "required" in str(info.value)


def test_from_dict_rejects_a_bad_enum_value_listing_the_choices() -> None:
    with pytest.raises(ValidationError) as info:
        RenderConfig.from_dict({"scene": "a.ma", "frame_order": "random"})
    assert "'sequential'" in str(info.value) and "'preview-first'" in str(info.value)


def test_from_dict_does_not_take_a_boolean_for_an_integer() -> None:
    with pytest.raises(ValidationError) as info:
        RenderConfig.from_dict({"scene": "a.ma", "max_attempts": True})
    assert "expected integer" in str(info.value)


def test_from_dict_accepts_an_integer_for_a_float_field() -> None:
    assert RenderConfig.from_dict({"scene": "a.ma", "frame_timeout": 60}).frame_timeout == 60.0


def test_from_dict_requires_an_object() -> None:
    with pytest.raises(ValidationError, match="expected object"):
        RenderConfig.from_dict(["a.ma"])  # type: ignore[arg-type]


def test_validate_reports_a_bad_frame_list_under_frames() -> None:
    with pytest.raises(ValidationError) as info:
        RenderConfig(scene="a.ma", frames="1-10x0").validate()
    assert info.value.field == "frames"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"scene": "  "}, "scene"),
        ({"layers": ["BG", ""]}, "layers[1]"),
        ({"gpus": [1, -1]}, "gpus[1]"),
        ({"gpus": [1, 1]}, "gpus"),
        ({"processes_per_gpu": 0}, "processes_per_gpu"),
        ({"cpu_threads": 0}, "cpu_threads"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"frame_timeout": 0.0}, "frame_timeout"),
    ],
)
def test_validate_names_the_field_that_is_wrong(changes: dict[str, object], field: str) -> None:
    values: dict[str, object] = {"scene": "a.ma", **changes}
    with pytest.raises(ValidationError) as info:
        RenderConfig(**values).validate()  # type: ignore[arg-type]
    assert info.value.field == field


def test_system_info_round_trips_with_nested_gpus_and_processes() -> None:
    info = _system(2, [0])
    info.gpus[1].processes = [GPUProcess(pid=42, name="mayapy", used_memory_mb=900)]
    info.gpu_error = None
    assert SystemInfo.from_dict(json.loads(json.dumps(info.to_dict()))) == info


def test_available_gpus_leaves_out_the_reserved_one() -> None:
    assert [g.index for g in _system(4, [0]).available_gpus()] == [1, 2, 3]


def test_available_gpus_leaves_out_gpus_with_errors() -> None:
    info = _system(3, [0])
    info.gpus[2].error = "GPU is lost"
    assert [g.index for g in info.available_gpus()] == [1]


def test_single_gpu_is_shared_under_the_share_policy() -> None:
    assert [g.index for g in _system(1, [0], SingleGpuPolicy.SHARE).available_gpus()] == [0]


def test_single_gpu_is_kept_for_maya_under_the_cpu_policy() -> None:
    assert _system(1, [0], SingleGpuPolicy.CPU).available_gpus() == []


def test_render_cpu_cores_keeps_maya_share_but_at_least_one() -> None:
    info = _system(0, [])
    assert info.render_cpu_cores == 14
    info.cpu = CPUInfo(physical_cores=1, logical_cores=2)
    assert info.render_cpu_cores == 1


def test_render_status_round_trips() -> None:
    status = RenderStatus(
        worker_id="gpu1-a", state=WorkerState.RENDERING, layer="BG", current_frame=12
    )
    assert RenderStatus.from_dict(status.to_dict()) == status


def test_validate_names_the_supported_renderers_for_an_unknown_one() -> None:
    with pytest.raises(ValidationError, match=r"renderer: 'mentalRay' is not supported.*vray"):
        RenderConfig(scene="a.ma", renderer="mentalRay").validate()


def test_validate_refuses_an_empty_camera_name() -> None:
    with pytest.raises(ValidationError, match="camera"):
        RenderConfig(scene="a.ma", camera=" ").validate()


def test_from_stored_ignores_keys_a_newer_version_added_but_still_checks_types() -> None:
    data = {"scene": "a.ma", "chunk_size": 2, "added_later": True}
    assert RenderConfig.from_stored(data) == RenderConfig(scene="a.ma", chunk_size=2)
    with pytest.raises(ValidationError, match="chunk_size"):
        RenderConfig.from_stored({"scene": "a.ma", "chunk_size": "two"})
