"""Tests for where Maya writes a frame: prefix tokens, default folders, padding, extension.

The manager uses these paths to decide whether a frame already exists and whether a render
wrote what it should, so they must match what Maya writes byte for byte.
"""

from __future__ import annotations

import dataclasses
import os
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lrc_toolbox.utils.output_paths import (
    MASTER_LAYER,
    OutputSpec,
    expand_prefix,
    expected_outputs,
    frame_file_name,
    sanitize_token_value,
)

IMAGES_DIR = os.path.abspath(os.path.join(os.sep, "proj", "images"))


def make_spec(**changes: Any) -> OutputSpec:
    base = OutputSpec(
        images_dir=IMAGES_DIR,
        prefix="<Scene>",
        scene="shot",
        layer="BG",
        layer_node="rs_BG",
        camera="shotCam",
        ext="exr",
        version="v003",
    )
    return dataclasses.replace(base, **changes)


# ------------------------------------------------------------------------------ tokens

TOKENS = [
    ("<Scene>", "shot"),
    ("<RenderLayer>", "BG"),
    ("<Layer>", "BG"),
    ("<Camera>", "shotCam"),
    ("<Version>", "v003"),
    ("%s", "shot"),
    ("%l", "BG"),
    ("%c", "shotCam"),
    ("%v", "v003"),
    # case-insensitive
    ("<scene>", "shot"),
    ("<SCENE>", "shot"),
    ("<renderlayer>", "BG"),
    ("<LAYER>", "BG"),
    ("<camera>", "shotCam"),
    ("<VERSION>", "v003"),
    ("%S", "shot"),
    ("%L", "BG"),
    ("%C", "shotCam"),
    ("%V", "v003"),
    # combinations and literal text
    ("<Scene>/<RenderLayer>/<Camera>_<Version>", "shot/BG/shotCam_v003"),
    ("%s/%l/%c_%v", "shot/BG/shotCam_v003"),
    ("renders/<Scene>_final", "renders/shot_final"),
    ("<Scene>/<Scene>", "shot/shot"),
    ("  <Scene>  ", "shot"),
]


@pytest.mark.parametrize(("prefix", "expected"), TOKENS)
def test_expand_prefix_fills_tokens(prefix: str, expected: str) -> None:
    assert expand_prefix(make_spec(prefix=prefix)) == expected


def test_expand_prefix_turns_backslashes_into_slashes() -> None:
    assert expand_prefix(make_spec(prefix="<RenderLayer>\\<Scene>")) == "BG/shot"


def test_expand_prefix_strips_leading_and_trailing_slashes() -> None:
    assert expand_prefix(make_spec(prefix="/<RenderLayer>/<Scene>/")) == "BG/shot"


def test_prefix_that_expands_to_nothing_falls_back_to_the_scene_name() -> None:
    assert expand_prefix(make_spec(prefix="<Version>", version="")) == "shot"


def test_layer_token_uses_the_display_name_not_the_node_name() -> None:
    assert expand_prefix(make_spec(prefix="<RenderLayer>", layer="CHAR", layer_node="rs_CHAR")) == (
        "CHAR"
    )


# ------------------------------------------------------------------------- empty prefix

EMPTY_PREFIX = [
    # (multiple_layers, multiple_cameras, layer, layer_node, expected)
    (False, False, "BG", "rs_BG", "shot"),
    (True, False, "BG", "rs_BG", "rs_BG/shot"),
    (True, False, MASTER_LAYER, "defaultRenderLayer", "masterLayer/shot"),
    (False, True, "BG", "rs_BG", "shotCam/shot"),
    (True, True, "BG", "rs_BG", "rs_BG/shotCam/shot"),
    (True, True, MASTER_LAYER, "defaultRenderLayer", "masterLayer/shotCam/shot"),
    (False, True, MASTER_LAYER, "defaultRenderLayer", "shotCam/shot"),
]


@pytest.mark.parametrize(
    ("multiple_layers", "multiple_cameras", "layer", "layer_node", "expected"), EMPTY_PREFIX
)
def test_empty_prefix_uses_maya_default_folders(
    multiple_layers: bool, multiple_cameras: bool, layer: str, layer_node: str, expected: str
) -> None:
    spec = make_spec(
        prefix="",
        multiple_layers=multiple_layers,
        multiple_cameras=multiple_cameras,
        layer=layer,
        layer_node=layer_node,
    )

    assert expand_prefix(spec) == expected


@pytest.mark.parametrize("prefix", ["", " ", "\t"])
def test_blank_prefix_means_scene(prefix: str) -> None:
    assert expand_prefix(make_spec(prefix=prefix)) == "shot"


def test_empty_prefix_with_a_namespaced_camera_uses_a_sanitised_camera_folder() -> None:
    spec = make_spec(prefix="", multiple_cameras=True, camera="ns:cam")

    assert expand_prefix(spec) == "ns_cam/shot"


# ---------------------------------------------------------------------------- passes

UNFILLED_PASS = [
    ("<Scene>_<RenderPass>", "shot"),
    ("<Scene>.<RenderPass>", "shot"),
    ("<Scene>_<AOV>", "shot"),
    ("<Scene>.<aov>", "shot"),
    ("<Scene>_%a", "shot"),
    ("<Scene>.%A", "shot"),
    ("<Scene>_<renderpass>", "shot"),
    ("<RenderPass>", "shot"),  # nothing left: falls back to the scene
    ("<RenderLayer>/<Scene>_<RenderPass>", "BG/shot"),
]


@pytest.mark.parametrize(("prefix", "expected"), UNFILLED_PASS)
def test_unfilled_pass_token_is_removed_with_its_separator(prefix: str, expected: str) -> None:
    assert expand_prefix(make_spec(prefix=prefix)) == expected


FILLED_PASS = [
    ("<Scene>_<RenderPass>", "shot_diffuse"),
    ("<Scene>.<RenderPass>", "shot.diffuse"),
    ("<Scene>_<AOV>", "shot_diffuse"),
    ("<Scene>_%a", "shot_diffuse"),
    ("<Scene>_<RENDERPASS>", "shot_diffuse"),
    ("<RenderPass>/<Scene>", "diffuse/shot"),
]


@pytest.mark.parametrize(("prefix", "expected"), FILLED_PASS)
def test_given_pass_fills_the_pass_token(prefix: str, expected: str) -> None:
    assert expand_prefix(make_spec(prefix=prefix), render_pass="diffuse") == expected


def test_given_pass_name_is_sanitised() -> None:
    assert expand_prefix(make_spec(prefix="<Scene>_<AOV>"), render_pass="crypto:mat") == (
        "shot_crypto_mat"
    )


# ---------------------------------------------------------------------- sanitising names

SANITISED = [
    ("shotCam", "shotCam"),
    ("ns:cam", "ns_cam"),
    ("a:b:cam", "a_b_cam"),
    ("|cam", "cam"),
    ("my layer", "my_layer"),
    ("shot-v2.1", "shot-v2.1"),
    ("::", "_"),
    ("", "_"),
]


@pytest.mark.parametrize(("value", "expected"), SANITISED)
def test_sanitize_token_value_makes_names_file_safe(value: str, expected: str) -> None:
    assert sanitize_token_value(value) == expected


@pytest.mark.parametrize(
    ("camera", "expected"), [("ns:cam", "ns_cam"), ("a:b:cam", "a_b_cam"), ("|cam", "cam")]
)
def test_camera_token_drops_namespace_colons(camera: str, expected: str) -> None:
    assert expand_prefix(make_spec(prefix="<Camera>", camera=camera)) == expected


# ----------------------------------------------------------------- frame and extension

FILE_NAMES = [
    # (stem, frame, padding, ext, separator, expected)
    ("shot", 1, 4, "exr", ".", "shot.0001.exr"),
    ("shot", 12, 4, "exr", ".", "shot.0012.exr"),
    ("shot", 0, 4, "exr", ".", "shot.0000.exr"),
    ("shot", 12, 1, "exr", ".", "shot.12.exr"),
    ("shot", 7, 1, "exr", ".", "shot.7.exr"),
    ("shot", 12345, 4, "exr", ".", "shot.12345.exr"),  # wider than the padding
    ("shot", 3, 0, "exr", ".", "shot.3.exr"),  # padding below 1 acts as 1
    ("shot", 1, 4, ".exr", ".", "shot.0001.exr"),  # leading dot on the extension
    ("shot", 1, 4, "iff", ".", "shot.0001.iff"),
    ("shot", 1, 4, "exr", "_", "shot_0001.exr"),
    ("shot", 1, 4, "", ".", "shot.0001"),
    ("BG/shot", 5, 3, "png", ".", "BG/shot.005.png"),
]


@pytest.mark.parametrize(("stem", "frame", "padding", "ext", "separator", "expected"), FILE_NAMES)
def test_frame_file_name_puts_the_padded_frame_before_the_extension(
    stem: str, frame: int, padding: int, ext: str, separator: str, expected: str
) -> None:
    assert frame_file_name(stem, frame, padding, ext, separator) == expected


@pytest.mark.parametrize(
    ("frame", "padding", "expected"),
    [(-12, 4, "shot.-012.exr"), (-1, 4, "shot.-001.exr"), (-1, 1, "shot.-1.exr")],
)
def test_negative_frame_keeps_its_sign_inside_the_padding_assumed_maya_behaviour(
    frame: int, padding: int, expected: str
) -> None:
    # ASSUMPTION: Maya counts the minus sign as one of the padding digits (Python's
    # f"{-12:04d}" == "-012"), as the module documents. Not checked against a real Maya.
    assert frame_file_name("shot", frame, padding, "exr") == expected


@settings(max_examples=40, deadline=None)
@given(frame=st.integers(min_value=-(10**6), max_value=10**7), padding=st.integers(0, 8))
def test_frame_number_in_the_file_name_reads_back_as_the_frame(frame: int, padding: int) -> None:
    name = frame_file_name("shot", frame, padding, "exr")

    match = re.fullmatch(r"shot\.(-?\d+)\.exr", name)
    assert match is not None
    assert int(match.group(1)) == frame
    assert len(match.group(1)) >= max(1, padding)


# --------------------------------------------------------------------- expected outputs


def test_expected_outputs_joins_the_images_dir() -> None:
    assert expected_outputs(make_spec(prefix="<RenderLayer>/<Scene>"), 7) == [
        os.path.join(IMAGES_DIR, "BG", "shot.0007.exr")
    ]


def test_expected_outputs_uses_the_spec_padding_separator_and_extension() -> None:
    spec = make_spec(padding=2, separator="_", ext=".png")

    assert expected_outputs(spec, 3) == [os.path.join(IMAGES_DIR, "shot_03.png")]


def test_expected_outputs_gives_one_path_per_pass() -> None:
    spec = make_spec(
        prefix="<RenderLayer>/<Scene>_<RenderPass>", passes=["beauty", "diffuse", "specular"]
    )

    assert expected_outputs(spec, 1) == [
        os.path.join(IMAGES_DIR, "BG", "shot_beauty.0001.exr"),
        os.path.join(IMAGES_DIR, "BG", "shot_diffuse.0001.exr"),
        os.path.join(IMAGES_DIR, "BG", "shot_specular.0001.exr"),
    ]


@pytest.mark.parametrize("passes", [[""], []])
def test_expected_outputs_without_passes_gives_the_beauty_alone(passes: list[str]) -> None:
    spec = make_spec(prefix="<Scene>_<RenderPass>", passes=passes)

    assert expected_outputs(spec, 1) == [os.path.join(IMAGES_DIR, "shot.0001.exr")]


def test_expected_outputs_are_normalised_absolute_paths() -> None:
    messy_dir = os.path.join(IMAGES_DIR, "sub", "..", ".", "") + "/"
    spec = make_spec(prefix="<RenderLayer>//./<Scene>", images_dir=messy_dir)

    (path,) = expected_outputs(spec, 1)

    assert os.path.isabs(path)
    assert path == os.path.normpath(path)
    assert path == os.path.join(IMAGES_DIR, "BG", "shot.0001.exr")


def test_expected_outputs_normalises_the_gap_left_by_an_unfilled_pass_folder() -> None:
    spec = make_spec(prefix="<RenderLayer>/<RenderPass>/<Scene>")

    assert expected_outputs(spec, 1) == [os.path.join(IMAGES_DIR, "BG", "shot.0001.exr")]


# --------------------------------------------------------------------------- properties

PREFIX_PIECES = st.sampled_from(
    [
        "<Scene>",
        "<RenderLayer>",
        "<Layer>",
        "<Camera>",
        "<Version>",
        "<RenderPass>",
        "<AOV>",
        "%s",
        "%l",
        "%c",
        "%v",
        "%a",
        "_",
        ".",
        "/",
        "renders",
    ]
)
NAMES = st.text(min_size=1, max_size=12)


@settings(max_examples=40, deadline=None)
@given(
    pieces=st.lists(PREFIX_PIECES, max_size=8),
    scene=NAMES,
    layer=NAMES,
    camera=NAMES,
    render_pass=st.sampled_from(["", "diffuse"]),
)
def test_expanded_prefix_never_keeps_a_token(
    pieces: list[str], scene: str, layer: str, camera: str, render_pass: str
) -> None:
    spec = make_spec(prefix="".join(pieces), scene=scene, layer=layer, camera=camera)

    expanded = expand_prefix(spec, render_pass)

    assert "<" not in expanded
    assert ">" not in expanded
    assert "%" not in expanded
    assert expanded


def test_several_passes_without_a_pass_token_get_a_folder_each() -> None:
    paths = expected_outputs(make_spec(prefix="<Scene>", passes=["diffuse", "spec"]), 1)
    assert len(set(paths)) == 2
    assert [os.path.basename(os.path.dirname(p)) for p in paths] == ["diffuse", "spec"]


def test_version_value_cannot_leave_the_images_folder() -> None:
    spec = make_spec(prefix="<Scene>_<Version>", version="v1/../../x")
    (path,) = expected_outputs(spec, 1)
    assert os.path.dirname(path) == os.path.normpath(spec.images_dir)


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [("<RenderPass>_<Scene>", "shot"), ("<RenderLayer>/<RenderPass>/<Scene>", "BG/shot")],
)
def test_unfilled_pass_token_takes_the_separator_after_it(prefix: str, expected: str) -> None:
    assert expand_prefix(make_spec(prefix=prefix)) == expected
