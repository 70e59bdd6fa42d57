"""Tests for the simulator's cost model and fault injection.

Every test passes its environment to ``load_sim_config`` explicitly, so nothing depends on
the real process environment. Faults are what the integration tests of the manager rely on
to provoke crashes, hangs and bad output, so each way of asking for one is pinned here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lrc_toolbox.sim.config import (
    FAULT_KINDS,
    LAYER_SWITCH_SHARE,
    SCENE_LOAD_SHARE,
    Fault,
    SimConfig,
    SimConfigError,
    load_sim_config,
)


def profile(**data: object) -> dict[str, str]:
    """An environment holding ``data`` as an inline JSON profile."""
    return {"LRC_SIM_CONFIG": json.dumps(data)}


# ---------------------------------------------------------------------------- defaults


def test_empty_environment_gives_the_default_cost_model() -> None:
    config = load_sim_config({})

    assert (
        config.time_scale,
        config.startup,
        config.frame_cost,
        config.default_frame_cost,
        config.jitter,
        config.progress_steps,
    ) == (1.0, 2.0, {}, 1.0, 0.1, 5)


def test_empty_environment_has_no_faults() -> None:
    assert load_sim_config({}).faults == []


def test_empty_environment_has_no_state_dir() -> None:
    assert load_sim_config({}).state_dir is None


@pytest.mark.parametrize("name", ["LRC_SIM_CONFIG", "LRC_SIM_PROFILE", "LRC_SIM_STATE_DIR"])
def test_empty_variables_count_as_unset(name: str) -> None:
    assert load_sim_config({name: ""}) == load_sim_config({})


def test_reads_os_environ_when_no_mapping_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LRC_SIM_TIME_SCALE", "0.5")

    assert load_sim_config().time_scale == 0.5


# -------------------------------------------------------------------------- time scale


def test_time_scale_scales_startup_seconds() -> None:
    config = load_sim_config({"LRC_SIM_TIME_SCALE": "0.01", **profile(startup=3.0)})

    assert config.startup_seconds() == pytest.approx(0.03)


@pytest.mark.parametrize("scale", ["0.001", "0.5", "2", "10"])
def test_time_scale_scales_frame_seconds(scale: str) -> None:
    unscaled = load_sim_config({})
    scaled = load_sim_config({"LRC_SIM_TIME_SCALE": scale})

    assert scaled.frame_seconds("BG", 12) == pytest.approx(
        unscaled.frame_seconds("BG", 12) * float(scale)
    )


def test_zero_time_scale_makes_every_duration_zero() -> None:
    config = load_sim_config({"LRC_SIM_TIME_SCALE": "0"})

    assert (config.startup_seconds(), config.frame_seconds("BG", 1)) == (0.0, 0.0)


# ---------------------------------------------------------------------------- frame cost


@pytest.mark.parametrize(("layer", "seconds"), [("BG", 4.0), ("CHAR", 0.5), ("FX", 2.0)])
def test_frame_cost_is_looked_up_per_layer_with_a_default(layer: str, seconds: float) -> None:
    config = load_sim_config(
        profile(frame_cost={"BG": 4, "CHAR": 0.5}, default_frame_cost=2, jitter=0)
    )

    assert config.frame_seconds(layer, 1) == seconds


def test_frame_cost_is_matched_by_exact_layer_name() -> None:
    config = load_sim_config(profile(frame_cost={"BG": 4}, jitter=0))

    assert config.frame_seconds("bg", 1) == 1.0


def test_jitter_is_deterministic_per_layer_and_frame() -> None:
    first = load_sim_config({})
    second = load_sim_config({})

    assert [first.frame_seconds("BG", f) for f in range(20)] == [
        second.frame_seconds("BG", f) for f in range(20)
    ]


def test_jitter_varies_between_frames() -> None:
    config = load_sim_config(profile(jitter=0.5))

    assert len({config.frame_seconds("BG", f) for f in range(1, 21)}) > 1


def test_jitter_varies_between_layers() -> None:
    config = load_sim_config(profile(jitter=0.5))

    assert [config.frame_seconds("BG", f) for f in range(1, 21)] != [
        config.frame_seconds("CHAR", f) for f in range(1, 21)
    ]


@settings(max_examples=40, deadline=None)
@given(
    layer=st.text(max_size=10),
    frame=st.integers(-10_000, 100_000),
    base=st.floats(0, 100),
    jitter=st.floats(0, 1),
)
def test_jitter_stays_within_plus_or_minus_jitter(
    layer: str, frame: int, base: float, jitter: float
) -> None:
    config = SimConfig(default_frame_cost=base, jitter=jitter)

    seconds = config.frame_seconds(layer, frame)

    assert base * (1 - jitter) - 1e-9 <= seconds <= base * (1 + jitter) + 1e-9


def test_jitter_larger_than_one_never_gives_a_negative_duration() -> None:
    config = load_sim_config(profile(jitter=5))

    assert min(config.frame_seconds("BG", f) for f in range(50)) == 0.0


# ------------------------------------------------------------------------------ profile


def test_profile_file_named_by_lrc_sim_profile_is_read(tmp_path: Path) -> None:
    path = tmp_path / "profile.json"
    path.write_text(json.dumps({"startup": 7, "frame_cost": {"BG": 3}}), encoding="utf-8")

    config = load_sim_config({"LRC_SIM_PROFILE": str(path)})

    assert (config.startup, config.frame_cost) == (7.0, {"BG": 3.0})


def test_inline_profile_in_lrc_sim_config_is_read() -> None:
    config = load_sim_config(profile(default_frame_cost=0.25, jitter=0, progress_steps=3))

    assert (config.default_frame_cost, config.jitter, config.progress_steps) == (0.25, 0.0, 3)


def test_profile_file_wins_over_inline_profile(tmp_path: Path) -> None:
    path = tmp_path / "profile.json"
    path.write_text('{"startup": 7}', encoding="utf-8")

    config = load_sim_config({"LRC_SIM_PROFILE": str(path), **profile(startup=9)})

    assert config.startup == 7.0


@pytest.mark.parametrize(("steps", "expected"), [(0, 1), (1, 1), (10, 10)])
def test_progress_steps_is_at_least_one(steps: int, expected: int) -> None:
    assert load_sim_config(profile(progress_steps=steps)).progress_steps == expected


@pytest.mark.parametrize(
    ("key", "value"),
    [("progress_steps", -3), ("startup", -1.0), ("frame_cost", {"BG": float("inf")})],
)
def test_negative_or_infinite_numbers_are_rejected(key: str, value: object) -> None:
    with pytest.raises(SimConfigError, match=key):
        load_sim_config(profile(**{key: value}))


def test_profile_faults_are_read_with_all_their_keys() -> None:
    fault = {
        "kind": "crash",
        "frame": 5,
        "layer": "BG",
        "device": "1",
        "times": 2,
        "exit_code": 134,
        "seconds": 1.5,
    }

    config = load_sim_config(profile(faults=[fault]))

    assert config.faults == [
        Fault("crash", frame=5, layer="BG", device="1", times=2, exit_code=134, seconds=1.5)
    ]


def test_profile_fault_defaults_to_a_segfault_every_time() -> None:
    (fault,) = load_sim_config(profile(faults=[{"kind": "crash"}])).faults

    assert (fault.exit_code, fault.times, fault.frame) == (139, None, None)


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_every_fault_kind_is_accepted_in_a_profile(kind: str) -> None:
    (fault,) = load_sim_config(profile(faults=[{"kind": kind}])).faults

    assert fault.kind == kind


# ---------------------------------------------------------------------------- shortcuts

SHORTCUTS = [
    # (variable, value, kind, frame, seconds)
    ("LRC_SIM_CRASH_AT", "5", "crash", 5, 0.0),
    ("LRC_SIM_HANG_AT", "7", "hang", 7, 0.0),
    ("LRC_SIM_LICENCE_FAIL", "1", "licence", None, 0.0),
    ("LRC_SIM_MISSING_OUTPUT_AT", "3", "missing_output", 3, 0.0),
    ("LRC_SIM_GARBAGE_AT", "2", "garbage", 2, 0.0),
    ("LRC_SIM_SLOW_START", "30", "slow_start", None, 30.0),
    ("LRC_SIM_RENDER_ERROR_AT", "4", "render_error", 4, 0.0),
    ("LRC_SIM_CUDA_ERROR_AT", "-4", "cuda_error", -4, 0.0),
]


@pytest.mark.parametrize(("variable", "value", "kind", "frame", "seconds"), SHORTCUTS)
def test_shortcut_variable_makes_its_fault(
    variable: str, value: str, kind: str, frame: int | None, seconds: float
) -> None:
    (fault,) = load_sim_config({variable: value}).faults

    assert (fault.kind, fault.frame, fault.seconds, fault.times) == (kind, frame, seconds, None)


@pytest.mark.parametrize(("variable", "value", "kind", "frame", "seconds"), SHORTCUTS)
def test_shortcut_fault_fires_at_its_frame(
    variable: str, value: str, kind: str, frame: int | None, seconds: float
) -> None:
    config = load_sim_config({variable: value})

    assert config.take_fault(kind, frame=frame) is config.faults[0]


def test_shortcut_frame_filter_skips_other_frames() -> None:
    config = load_sim_config({"LRC_SIM_CRASH_AT": "5"})

    assert config.take_fault("crash", frame=4) is None


def test_shortcut_faults_come_after_the_profile_faults() -> None:
    config = load_sim_config(
        {"LRC_SIM_HANG_AT": "7", **profile(faults=[{"kind": "crash", "frame": 1}])}
    )

    assert [(f.kind, f.index) for f in config.faults] == [("crash", 0), ("hang", 1)]


def test_several_shortcuts_make_several_faults() -> None:
    config = load_sim_config({"LRC_SIM_CRASH_AT": "5", "LRC_SIM_SLOW_START": "2.5"})

    assert sorted(f.kind for f in config.faults) == ["crash", "slow_start"]


def test_lrc_sim_fault_times_limits_how_often_a_shortcut_fires() -> None:
    config = load_sim_config({"LRC_SIM_CRASH_AT": "5", "LRC_SIM_FAULT_TIMES": "2"})

    taken = [config.take_fault("crash", frame=5) for _ in range(4)]

    assert [fault is not None for fault in taken] == [True, True, False, False]


def test_shortcut_without_fault_times_fires_every_time() -> None:
    config = load_sim_config({"LRC_SIM_CRASH_AT": "5"})

    assert all(config.take_fault("crash", frame=5) is not None for _ in range(10))


# ---------------------------------------------------------------------------- take_fault

FILTERED_FAULT = {"kind": "cuda_error", "frame": 5, "layer": "BG", "device": "1"}

FILTERS = [
    # (take_fault kind, frame, layer, device, fires)
    ("cuda_error", 5, "BG", "1", True),
    ("cuda_error", 6, "BG", "1", False),
    ("cuda_error", None, "BG", "1", False),
    ("cuda_error", 5, "CHAR", "1", False),
    ("cuda_error", 5, None, "1", False),
    ("cuda_error", 5, "BG", "0", False),
    ("cuda_error", 5, "BG", "", False),
    ("crash", 5, "BG", "1", False),
]


@pytest.mark.parametrize(("kind", "frame", "layer", "device", "fires"), FILTERS)
def test_take_fault_honours_frame_layer_and_device_filters(
    kind: str, frame: int | None, layer: str | None, device: str, fires: bool
) -> None:
    config = load_sim_config(profile(faults=[FILTERED_FAULT]))

    fault = config.take_fault(kind, frame=frame, layer=layer, device=device)

    assert (fault is not None) is fires


@pytest.mark.parametrize(
    ("frame", "layer", "device"), [(1, "BG", "0"), (99, "CHAR", "3"), (None, None, "")]
)
def test_fault_without_filters_matches_anything(
    frame: int | None, layer: str | None, device: str
) -> None:
    config = load_sim_config(profile(faults=[{"kind": "hang"}]))

    assert config.take_fault("hang", frame=frame, layer=layer, device=device) is not None


def test_take_fault_moves_on_to_the_next_fault_once_one_is_used_up() -> None:
    config = load_sim_config(
        profile(faults=[{"kind": "crash", "times": 1, "exit_code": 1}, {"kind": "crash"}])
    )

    taken = [config.take_fault("crash") for _ in range(3)]

    assert [fault.exit_code if fault else None for fault in taken] == [1, 139, 139]


def test_fault_with_zero_times_never_fires() -> None:
    config = load_sim_config(profile(faults=[{"kind": "crash", "times": 0}]))

    assert config.take_fault("crash") is None


# ----------------------------------------------------------------- counting across workers


def shared_env(state_dir: Path, times: int) -> dict[str, str]:
    return {
        "LRC_SIM_CRASH_AT": "5",
        "LRC_SIM_FAULT_TIMES": str(times),
        "LRC_SIM_STATE_DIR": str(state_dir),
    }


def test_state_dir_is_read_from_lrc_sim_state_dir(tmp_path: Path) -> None:
    assert load_sim_config({"LRC_SIM_STATE_DIR": str(tmp_path)}).state_dir == str(tmp_path)


def test_second_worker_cannot_take_a_fault_the_first_used_up(tmp_path: Path) -> None:
    first = load_sim_config(shared_env(tmp_path, times=1))
    second = load_sim_config(shared_env(tmp_path, times=1))
    assert first.take_fault("crash", frame=5) is not None

    assert second.take_fault("crash", frame=5) is None


def test_fault_times_are_shared_between_workers(tmp_path: Path) -> None:
    workers = [load_sim_config(shared_env(tmp_path, times=3)) for _ in range(3)]

    fired = [w.take_fault("crash", frame=5) is not None for w in workers for _ in range(2)]

    assert fired.count(True) == 3


def test_state_dir_is_created_when_missing(tmp_path: Path) -> None:
    state_dir = tmp_path / "state" / "run1"
    config = load_sim_config(shared_env(state_dir, times=1))

    config.take_fault("crash", frame=5)

    assert state_dir.is_dir()


def test_without_state_dir_each_process_counts_its_own_firings() -> None:
    env = {"LRC_SIM_CRASH_AT": "5", "LRC_SIM_FAULT_TIMES": "1"}
    first, second = load_sim_config(env), load_sim_config(env)

    assert first.take_fault("crash", frame=5) is not None
    assert second.take_fault("crash", frame=5) is not None


def test_unlimited_fault_leaves_no_marker_files(tmp_path: Path) -> None:
    config = load_sim_config({"LRC_SIM_CRASH_AT": "5", "LRC_SIM_STATE_DIR": str(tmp_path)})

    config.take_fault("crash", frame=5)

    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------- errors

BAD_PROFILES = [
    # (faults/keys in the inline profile, text the error must contain)
    ({"faults": [{"kind": "explode"}]}, "faults[0].kind"),
    ({"faults": [{"frame": 3}]}, "faults[0].kind"),
    ({"faults": [{"kind": "crash", "when": 3}]}, "faults[0]: unknown key(s) when"),
    ({"faults": [{"kind": "crash"}, {"kind": "hang", "frame": "5"}]}, "faults[1].frame"),
    ({"faults": [{"kind": "crash", "frame": True}]}, "faults[0].frame"),
    ({"faults": [{"kind": "crash", "times": "once"}]}, "faults[0].times"),
    ({"faults": [{"kind": "crash", "exit_code": None}]}, "faults[0].exit_code"),
    ({"faults": [{"kind": "slow_start", "seconds": "30"}]}, "faults[0].seconds"),
    ({"faults": ["crash"]}, "faults[0]: expected an object"),
    ({"faults": {"kind": "crash"}}, "faults: expected a list"),
    ({"frame_cost": [1, 2]}, "frame_cost: expected an object"),
    ({"frame_cost": 3}, "frame_cost: expected an object"),
    ({"frame_cost": {"BG": "3s"}}, "frame_cost.BG"),
    ({"startup": "2"}, "startup"),
    ({"default_frame_cost": None}, "default_frame_cost"),
    ({"jitter": [0.1]}, "jitter"),
    ({"progress_steps": False}, "progress_steps"),
]


@pytest.mark.parametrize(("data", "key"), BAD_PROFILES)
def test_bad_profile_key_raises_naming_the_key(data: dict[str, object], key: str) -> None:
    with pytest.raises(SimConfigError) as info:
        load_sim_config({"LRC_SIM_CONFIG": json.dumps(data)})

    assert key in str(info.value)


@pytest.mark.parametrize("text", ["{", "startup: 2", "{'startup': 2}", "[1,"])
def test_inline_profile_that_is_not_json_raises_naming_the_variable(text: str) -> None:
    with pytest.raises(SimConfigError, match="LRC_SIM_CONFIG is not valid JSON"):
        load_sim_config({"LRC_SIM_CONFIG": text})


@pytest.mark.parametrize("text", ["[]", "3", '"startup"', "null"])
def test_inline_profile_that_is_not_an_object_raises(text: str) -> None:
    with pytest.raises(SimConfigError, match="LRC_SIM_CONFIG: expected a JSON object"):
        load_sim_config({"LRC_SIM_CONFIG": text})


def test_profile_file_with_bad_json_raises_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "profile.json"
    path.write_text('{"startup": }', encoding="utf-8")

    with pytest.raises(SimConfigError, match=re.escape(f"simulator profile {path}")):
        load_sim_config({"LRC_SIM_PROFILE": str(path)})


def test_missing_profile_file_raises_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.json"

    with pytest.raises(SimConfigError, match=re.escape(f"simulator profile {path}")):
        load_sim_config({"LRC_SIM_PROFILE": str(path)})


def test_profile_file_that_is_not_an_object_raises_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "profile.json"
    path.write_text("[]", encoding="utf-8")

    with pytest.raises(SimConfigError, match=re.escape(f"{path}: expected a JSON object")):
        load_sim_config({"LRC_SIM_PROFILE": str(path)})


@pytest.mark.parametrize("value", ["fast", "", " ", "1x", "0.5s"])
def test_non_number_time_scale_raises_naming_the_variable(value: str) -> None:
    with pytest.raises(SimConfigError, match="LRC_SIM_TIME_SCALE must be a number"):
        load_sim_config({"LRC_SIM_TIME_SCALE": value})


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("LRC_SIM_CRASH_AT", "five"),
        ("LRC_SIM_HANG_AT", "7.5"),
        ("LRC_SIM_GARBAGE_AT", "2-3"),
        ("LRC_SIM_SLOW_START", "30s"),
    ],
)
def test_non_number_shortcut_raises_naming_the_variable(variable: str, value: str) -> None:
    with pytest.raises(SimConfigError, match=re.escape(f"{variable}={value!r}: expected a number")):
        load_sim_config({variable: value})


def test_sim_config_error_is_a_value_error() -> None:
    assert issubclass(SimConfigError, ValueError)


def test_bad_fault_times_blames_lrc_sim_fault_times() -> None:
    with pytest.raises(SimConfigError, match="LRC_SIM_FAULT_TIMES"):
        load_sim_config({"LRC_SIM_CRASH_AT": "5", "LRC_SIM_FAULT_TIMES": "x"})


def test_licence_fail_set_to_zero_means_off() -> None:
    assert load_sim_config({"LRC_SIM_LICENCE_FAIL": "0"}).faults == []


@pytest.mark.parametrize("fault", [{"kind": "crash", "device": 0}, {"kind": "crash", "layer": 3}])
def test_fault_filters_must_be_strings(fault: dict[str, object]) -> None:
    with pytest.raises(SimConfigError, match="expected a string"):
        load_sim_config({"LRC_SIM_CONFIG": json.dumps({"faults": [fault]})})


@pytest.mark.parametrize("key", ["frame", "times"])
def test_fault_frame_and_times_must_be_whole_numbers(key: str) -> None:
    fault = {"kind": "crash", key: 2.5}
    with pytest.raises(SimConfigError, match="whole number"):
        load_sim_config({"LRC_SIM_CONFIG": json.dumps({"faults": [fault]})})


@pytest.mark.parametrize("scale", ["-1", "nan", "inf"])
def test_time_scale_must_be_finite_and_not_negative(scale: str) -> None:
    with pytest.raises(SimConfigError, match="LRC_SIM_TIME_SCALE"):
        load_sim_config({"LRC_SIM_TIME_SCALE": scale})


# -------------------------------------------------------------------------- layer switches


def test_a_layer_switch_costs_a_share_of_startup_by_default() -> None:
    config = load_sim_config({"LRC_SIM_TIME_SCALE": "0.5", **profile(startup=8.0)})

    assert config.layer_switch_seconds() == pytest.approx(LAYER_SWITCH_SHARE * 8.0 * 0.5)


def test_a_profile_sets_the_layer_switch_cost_in_seconds() -> None:
    config = load_sim_config({"LRC_SIM_TIME_SCALE": "0.5", **profile(layer_switch=3.0)})

    assert config.layer_switch_seconds() == pytest.approx(1.5)


def test_a_negative_layer_switch_cost_is_refused() -> None:
    with pytest.raises(SimConfigError, match="layer_switch"):
        load_sim_config(profile(layer_switch=-1))


# -------------------------------------------------------------------------- scene load


def test_the_scene_load_is_a_share_of_startup_by_default() -> None:
    config = load_sim_config({"LRC_SIM_TIME_SCALE": "0.5", **profile(startup=8.0)})

    assert config.scene_load_seconds() == pytest.approx(SCENE_LOAD_SHARE * 8.0 * 0.5)


def test_a_scene_load_longer_than_the_startup_is_the_whole_startup() -> None:
    config = load_sim_config(profile(startup=2.0, scene_load=3.0))

    assert config.scene_load_seconds() == pytest.approx(2.0)


def test_a_negative_scene_load_is_refused() -> None:
    with pytest.raises(SimConfigError, match="scene_load"):
        load_sim_config(profile(scene_load=-1))
