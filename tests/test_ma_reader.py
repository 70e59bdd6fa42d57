"""Reading Maya ASCII scenes without Maya: layers, overrides, frames, and what goes wrong.

The scenes in ``tests/data/scenes`` are written the way Maya writes them (header block,
default cameras, ``select -ne`` blocks, connections, ``// End of`` trailer); the shapes of
the render setup parts follow Maya-written public scenes (see ``docs/scene-reading.md``).
"""

from __future__ import annotations

import json
import random
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from lrc_toolbox.records.models import ValidationError
from lrc_toolbox.scene.description import LayerDescription, SceneDescription, render_frames
from lrc_toolbox.scene.ma_reader import MAX_WARNINGS, MayaAsciiError, read_ma

SCENES = Path(__file__).parent / "data" / "scenes"
SIM_SCENES = Path(__file__).parent.parent / "lrc_toolbox" / "sim" / "scenes"


def scene(name: str) -> SceneDescription:
    return read_ma(SCENES / name)


def names(description: SceneDescription) -> list[str]:
    return [layer.name for layer in description.layers]


def layer(description: SceneDescription, name: str) -> LayerDescription:
    found = description.layer(name)
    assert found is not None, f"no layer {name!r} in {names(description)}"
    return found


def minimal_scene(body: str, *, codeset: str = "1252", trailer: bool = True) -> str:
    """A small but Maya-shaped scene around ``body`` (inserted before the globals)."""
    text = (
        "//Maya ASCII 2024 scene\n"
        "//Name: inline.ma\n"
        "//Last modified: Mon, Jan 08, 2024 10:00:00 AM\n"
        f"//Codeset: {codeset}\n"
        'requires maya "2024";\n'
        "currentUnit -l centimeter -a degree -t film;\n"
        'fileInfo "application" "maya";\n'
        'createNode transform -s -n "persp";\n'
        '\tsetAttr ".v" no;\n'
        'createNode camera -s -n "perspShape" -p "persp";\n'
        '\tsetAttr -k off ".v" no;\n'
        'createNode renderLayerManager -n "renderLayerManager";\n'
        'createNode renderLayer -n "defaultRenderLayer";\n'
        '\tsetAttr ".g" yes;\n'
        f"{body}"
        'connectAttr "renderLayerManager.rlmi[0]" "defaultRenderLayer.rlid";\n'
    )
    return text + ("// End of inline.ma\n" if trailer else "")


def write(tmp_path: Path, text: str, name: str = "inline.ma", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


# --------------------------------------------------------------------------- Render Setup


def test_render_setup_layers_follow_the_nxt_prv_chain_not_file_order() -> None:
    description = scene("render_setup_layers.ma")
    assert names(description) == ["masterLayer", "BG", "CHAR", "FX"]
    assert [x.node for x in description.layers] == [
        "defaultRenderLayer",
        "rs_BG",
        "rs_CHAR",
        "rs_FX",
    ]
    assert description.render_setup is True
    assert not any(x.legacy for x in description.layers)


def test_render_setup_renderable_flags_come_from_rndr_including_the_master_layer() -> None:
    description = scene("render_setup_layers.ma")
    assert {x.name: x.renderable for x in description.layers} == {
        "masterLayer": False,
        "BG": True,
        "CHAR": True,
        "FX": False,
    }
    assert [x.name for x in description.renderable_layers()] == ["BG", "CHAR"]


@pytest.mark.parametrize(
    ("name", "start", "end", "by", "frames"),
    [
        ("masterLayer", 1.0, 100.0, 1.0, "1-100"),
        ("BG", 10.0, 80.0, 1.0, "10-80"),  # absolute start 10, relative end 100 * 1 - 20
        ("CHAR", 1.0, 24.0, 1.0, "1-24"),  # absolute end 24; disabled start 999 ignored
        ("FX", 1.0, 100.0, 2.0, "1-99x2"),  # relative step 1 * 2; disabled collection ignored
    ],
)
def test_render_setup_frame_overrides_apply_per_layer(
    name: str, start: float, end: float, by: float, frames: str
) -> None:
    found = layer(scene("render_setup_layers.ma"), name)
    assert (found.start_frame, found.end_frame, found.by_frame) == (start, end, by)
    assert found.to_dict()["frames"] == frames


def test_render_setup_renderer_override_changes_that_layer_only() -> None:
    description = scene("render_setup_layers.ma")
    assert {x.name: x.renderer for x in description.layers} == {
        "masterLayer": "arnold",
        "BG": "arnold",
        "CHAR": "mayaSoftware",
        "FX": "arnold",
    }
    assert description.renderer == "arnold"


def test_render_setup_image_prefix_override_changes_that_layer_only() -> None:
    description = scene("render_setup_layers.ma")
    assert layer(description, "CHAR").image_prefix == "<Scene>/char/<RenderLayer>"
    assert layer(description, "BG").image_prefix == "<Scene>/<RenderLayer>/<RenderLayer>"
    assert description.image_prefix == "<Scene>/<RenderLayer>/<RenderLayer>"


def test_render_setup_camera_override_makes_a_camera_renderable_in_one_layer() -> None:
    description = scene("render_setup_layers.ma")
    assert description.renderable_cameras == ["shotCamShape"]
    assert layer(description, "BG").cameras == ["perspShape", "shotCamShape"]
    assert layer(description, "CHAR").cameras == ["shotCamShape"]


def test_render_setup_overrides_are_listed_for_transparency() -> None:
    description = scene("render_setup_layers.ma")
    assert layer(description, "BG").overrides == {
        "defaultRenderGlobals.startFrame": 10.0,
        "defaultRenderGlobals.endFrame": 80.0,
        "perspShape.renderable": True,
    }
    assert layer(description, "CHAR").overrides == {
        "defaultRenderGlobals.endFrame": 24.0,
        "defaultRenderGlobals.currentRenderer": "mayaSoftware",
        "defaultRenderGlobals.imageFilePrefix": "<Scene>/char/<RenderLayer>",
    }
    assert layer(description, "masterLayer").overrides == {}


def test_render_setup_header_facts() -> None:
    description = scene("render_setup_layers.ma")
    assert description.maya_version == "2024"
    assert description.requires == ["stereoCamera", "mtoa", "renderSetup.py"]
    assert (description.time_unit, description.fps) == ("film", 24.0)
    assert description.resolution == (1920, 1080)
    assert description.warnings == []


def test_scene_saved_with_a_render_setup_layer_visible_recovers_master_values() -> None:
    # Render Setup keeps the master value in the override application node's original
    # value while a layer is visible; the globals then hold the visible layer's values.
    description = scene("rs_saved_visible.ma")
    assert description.current_layer == "CHAR"
    assert layer(description, "masterLayer").to_dict()["frames"] == "1-100"
    assert layer(description, "KEY").to_dict()["frames"] == "1-100"
    assert layer(description, "CHAR").to_dict()["frames"] == "11-24"


def test_nested_collection_override_reaches_its_camera() -> None:
    description = scene("rs_saved_visible.ma")
    assert layer(description, "KEY").cameras == ["perspShape", "heroShape"]
    assert layer(description, "CHAR").cameras == ["perspShape"]


def test_broken_render_setup_chain_falls_back_to_file_order_with_a_warning() -> None:
    description = scene("rs_broken_chain.ma")
    assert names(description) == ["masterLayer", "layerA", "layerB", "layerC"]
    assert any("layer order could not be read" in w for w in description.warnings)


# --------------------------------------------------------------------------- legacy layers


def test_legacy_layers_are_ordered_by_render_layer_manager_index() -> None:
    description = scene("legacy_adjustments.ma")
    assert names(description) == ["masterLayer", "bg_layer", "char_layer", "shadow_layer"]
    assert description.render_setup is False
    assert [x.legacy for x in description.layers] == [False, True, True, True]


def test_legacy_current_layer_is_read_from_the_manager() -> None:
    assert scene("legacy_adjustments.ma").current_layer == "char_layer"


def test_legacy_master_values_come_from_its_adjustments_when_another_layer_is_current() -> None:
    master = layer(scene("legacy_adjustments.ma"), "masterLayer")
    assert (master.renderer, master.end_frame) == ("arnold", 120.0)
    assert master.cameras == ["renderCamShape"]


def test_legacy_current_layer_uses_the_values_stored_on_the_nodes() -> None:
    char = layer(scene("legacy_adjustments.ma"), "char_layer")
    assert (char.renderer, char.to_dict()["frames"]) == ("mayaSoftware", "1-30")


def test_legacy_adjustments_apply_to_their_layer_only() -> None:
    description = scene("legacy_adjustments.ma")
    bg = layer(description, "bg_layer")
    assert bg.image_prefix == "<Scene>/bg/<RenderLayer>"
    assert bg.cameras == ["perspShape", "renderCamShape"]
    assert bg.overrides == {
        "defaultRenderGlobals.imageFilePrefix": "<Scene>/bg/<RenderLayer>",
        "perspShape.renderable": True,
    }
    shadow = layer(description, "shadow_layer")
    assert (shadow.renderable, shadow.renderer, shadow.end_frame) == (False, "arnold", 120.0)


def test_references_are_listed_once() -> None:
    assert scene("legacy_adjustments.ma").references == ["P:/show/assets/set/set_v012.ma"]


def test_imported_render_layer_managers_are_ignored() -> None:
    description = scene("imported_manager.ma")
    assert names(description) == ["masterLayer", "beauty"]
    assert description.warnings == []


# --------------------------------------------------------------------------- master only


def test_scene_without_layers_has_only_the_master_layer() -> None:
    description = scene("master_only.ma")
    assert names(description) == ["masterLayer"]
    master = description.layers[0]
    assert (master.node, master.master, master.renderable) == ("defaultRenderLayer", True, True)


def test_renderer_defaults_to_maya_software_when_the_file_does_not_set_it() -> None:
    assert scene("master_only.ma").renderer == "mayaSoftware"


def test_a_stepped_range_stops_at_the_last_step_within_the_end_frame() -> None:
    description = scene("master_only.ma")
    assert description.frames() == list(range(101, 148, 2))
    assert description.to_dict()["frames"] == "101-147x2"


def test_scene_without_render_layer_manager_has_an_implicit_master_layer() -> None:
    description = scene("no_render_layer_manager.ma")
    assert [(x.name, x.node, x.renderable) for x in description.layers] == [
        ("masterLayer", "defaultRenderLayer", True)
    ]
    assert description.to_dict()["frames"] == "1-24"
    assert description.image_prefix == "prop/<Scene>"


def test_animation_off_renders_only_the_current_time() -> None:
    description = scene("animation_off.ma")
    assert description.animation is False
    assert description.current_time == 37.0
    assert description.frames() == [37]
    assert description.layers[0].frames == [37]


# --------------------------------------------------------------------------- syntax


def test_long_name_files_are_read_like_short_name_files() -> None:
    description = scene("long_names.ma")
    assert (description.renderer, description.animation) == ("arnold", True)
    assert description.image_prefix == "shots/<Scene>/<RenderLayer>/<RenderLayer>"
    assert (description.start_frame, description.end_frame, description.by_frame) == (
        1001.0,
        1048.0,
        3.0,
    )
    assert (description.time_unit, description.fps, description.current_time) == (
        "ntsc",
        30.0,
        12.0,
    )
    assert description.resolution == (2048, 1152)
    assert description.renderable_cameras == ["perspShape", "hero_CAMShape"]
    assert [(x.name, x.renderable) for x in description.layers] == [
        ("masterLayer", True),
        ("beauty", True),
        ("matte", False),
    ]


def test_quotes_semicolons_and_slashes_inside_strings_are_kept() -> None:
    description = scene("odd_quoting.ma")
    assert description.image_prefix == 'renders/<Scene>/say "hi"; //v2\\<RenderLayer>'
    assert description.references == ["C:/proj/assets/lib; final//v2.ma"]
    assert description.end_frame == 30.0  # not the 999 inside a script node's string
    assert description.warnings == []


def test_multi_line_values_and_flags_before_values_are_read() -> None:
    description = scene("multiline_flags.ma")
    assert description.renderer == "redshift"  # setAttr -cb on ".ren" -type "string" ...
    assert description.start_frame == 5.0  # setAttr -av -k on ".fs" 5;
    assert description.end_frame == 72.0  # value on the next line; `-k on ".ef";` alone
    assert description.image_prefix == "<Scene>/<RenderLayer>/<Camera>/<Scene>"
    assert description.resolution == (1998, 1080)
    assert description.warnings == []


def test_camera_fstop_is_not_mistaken_for_the_start_frame() -> None:
    # `.fs` is the camera's f-stop (5.6) and RedshiftOptions has its own `.ef`;
    # only the defaultRenderGlobals block sets the render range.
    description = scene("multiline_flags.ma")
    assert description.start_frame == 5.0
    assert description.renderable_cameras == ["cam_mainShape"]


def test_absolute_setattr_and_several_statements_on_one_line(tmp_path: Path) -> None:
    body = (
        'createNode renderGlobals -s -n "defaultRenderGlobals";\n'
        'setAttr "defaultRenderGlobals.an" yes; setAttr "defaultRenderGlobals.ef" 30;\n'
        'select -ne :defaultRenderGlobals; setAttr ".fs" 7; setAttr ".ren" -type "string" "vray";\n'
    )
    description = read_ma(write(tmp_path, minimal_scene(body)))
    assert (description.renderer, description.to_dict()["frames"]) == ("vray", "7-30")


def test_a_render_setting_driven_by_a_connection_is_reported(tmp_path: Path) -> None:
    body = (
        'createNode expression -n "expression1";\n'
        '\tsetAttr ".ixp" -type "string" ".O[0] = 42;";\n'
        "select -ne :defaultRenderGlobals;\n"
        '\tsetAttr ".an" yes;\n'
        '\tsetAttr ".ef" 24;\n'
        'connectAttr "expression1.out[0]" ":defaultRenderGlobals.ef";\n'
    )
    description = read_ma(write(tmp_path, minimal_scene(body)))
    assert description.end_frame == 24.0
    assert any("endFrame is driven by expression1.out[0]" in w for w in description.warnings)


@pytest.mark.parametrize("newline", ["\r\n", "mixed"])
def test_windows_line_endings_read_the_same(tmp_path: Path, newline: str) -> None:
    original = (SCENES / "render_setup_layers.ma").read_text(encoding="cp1252")
    lines = original.split("\n")
    if newline == "mixed":
        converted = "".join(line + ("\r\n" if i % 2 else "\n") for i, line in enumerate(lines))
    else:
        converted = "\r\n".join(lines)
    copy = write(tmp_path, converted, "render_setup_layers.ma", "cp1252")
    expected = scene("render_setup_layers.ma").to_dict()
    actual = read_ma(copy).to_dict()
    expected.pop("path")
    actual.pop("path")
    assert actual == expected


@pytest.mark.parametrize(
    ("codeset", "encoding"), [("UTF-8", "utf-8"), ("1252", "cp1252"), ("932", "cp932")]
)
def test_strings_are_decoded_with_the_files_codeset(
    tmp_path: Path, codeset: str, encoding: str
) -> None:
    prefix = "renders/日本/<Scene>" if encoding == "cp932" else "renders/Ünïcode_é/<Scene>"
    body = f'select -ne :defaultRenderGlobals;\n\tsetAttr ".ifp" -type "string" "{prefix}";\n'
    path = write(tmp_path, minimal_scene(body, codeset=codeset), encoding=encoding)
    assert read_ma(path).image_prefix == prefix


# --------------------------------------------------------------------------- frames


def test_fractional_range_after_a_unit_change_is_rounded_with_warnings() -> None:
    description = scene("fractional_ntsc.ma")
    assert (description.time_unit, description.fps) == ("ntsc", 30.0)
    assert (description.start_frame, description.end_frame) == (1.25, 47.5)
    assert description.to_dict()["frames"] == "1-48"
    assert any("1.25" in w and "uses 1" in w for w in description.warnings)
    assert any("47.5" in w and "uses 48" in w for w in description.warnings)


@pytest.mark.parametrize(
    ("args", "frames", "warning"),
    [
        ((True, 1, 10, 1, 1), list(range(1, 11)), None),
        ((True, 1, 10, 3, 1), [1, 4, 7, 10], None),
        ((True, 1, 9, 3, 1), [1, 4, 7], None),
        ((True, 1, 10, 2.5, 1), [1, 4, 7, 10], "frame step 2.5"),
        ((True, 10, 1, 1, 1), [], "before start frame"),
        ((True, 1, 5, 0, 1), [1, 2, 3, 4, 5], "below 1"),
        ((False, 1, 10, 1, 12.5), [13], "current time 12.5"),
        ((False, 1, 10, 1, -3), [-3], None),
    ],
)
def test_render_frames_rules(
    args: tuple[bool, float, float, float, float], frames: list[int], warning: str | None
) -> None:
    result, warnings = render_frames(*args)
    assert result == frames
    if warning is None:
        assert warnings == []
    else:
        assert any(warning in w for w in warnings), warnings


def test_render_frames_caps_huge_ranges() -> None:
    frames, warnings = render_frames(True, 1, 1_000_000_000, 1, 1, max_frames=1000)
    assert len(frames) == 1000
    assert "1,000,000,000 frames" in warnings[0]


# --------------------------------------------------------------------------- bad input


def test_broken_and_unknown_content_is_skipped_with_warnings() -> None:
    description = scene("broken_content.ma")
    assert names(description) == ["masterLayer", "layer1"]
    assert description.image_prefix == "broken/<Scene>"  # read after the broken statement
    assert description.resolution == (800, 600)
    assert description.start_frame == 1.0  # "soon" is not a number: Maya's default
    joined = "\n".join(description.warnings)
    for expected in (
        "unknown command 'fooBarBaz'",
        "has no closing ';'",
        "setAttr without an attribute name",
        "connectAttr without two plugs",
        "cannot read 'soon' as float",
        "ends inside a 'setAttr' statement",
        "may be truncated",
    ):
        assert expected in joined


def test_warnings_are_capped(tmp_path: Path) -> None:
    body = "".join(f"unknownCommand{i} -flag {i};\n" for i in range(MAX_WARNINGS + 30))
    description = read_ma(write(tmp_path, minimal_scene(body)))
    assert len(description.warnings) == MAX_WARNINGS + 1
    assert description.warnings[-1] == "... and 30 more warnings"


def test_missing_file_says_so(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "shot.ma"
    with pytest.raises(MayaAsciiError, match=r"scene not found: .*shot\.ma"):
        read_ma(missing)


def test_folder_is_not_a_scene(tmp_path: Path) -> None:
    with pytest.raises(MayaAsciiError, match="folder, not a file"):
        read_ma(tmp_path)


@pytest.mark.parametrize(("magic", "name"), [(b"FOR4", "shot.mb"), (b"FOR8", "renamed.ma")])
def test_maya_binary_is_detected_by_content(tmp_path: Path, magic: bytes, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(magic + b"\x00\x00\x0f\xa0Maya" + bytes(random.Random(1).randbytes(256)))
    with pytest.raises(MayaAsciiError) as caught:
        read_ma(path)
    message = str(caught.value)
    assert "Maya Binary (.mb)" in message
    assert "mayapy" in message
    assert "Maya ASCII (.ma)" in message


@pytest.mark.parametrize(
    "content", ["", "hello\nworld\n", "// a MEL script\nsetAttr defaultRenderGlobals.fs 1;\n"]
)
def test_text_that_is_not_maya_ascii_is_refused(tmp_path: Path, content: str) -> None:
    path = write(tmp_path, content, "notes.ma")
    with pytest.raises(MayaAsciiError, match=r"not a Maya ASCII scene.*'//Maya ASCII' header"):
        read_ma(path)


# --------------------------------------------------------------------------- to_dict / from_dict

SCENE_KEYS = {
    "maya_version",
    "renderer",
    "time_unit",
    "animation",
    "frame_range",
    "frames",
    "image_prefix",
    "layers",
    "warnings",
}
LAYER_KEYS = {"name", "node", "master", "renderable", "renderer", "frames", "image_prefix"}


def test_to_dict_has_the_documented_keys_and_is_json_safe() -> None:
    data = scene("render_setup_layers.ma").to_dict()
    assert data.keys() >= SCENE_KEYS
    assert data["frame_range"] == {"start": 1.0, "end": 100.0, "by": 1.0}
    assert data["frames"] == "1-100"
    for entry in data["layers"]:
        assert entry.keys() >= LAYER_KEYS
        assert isinstance(entry["master"], bool) and isinstance(entry["renderable"], bool)
        assert isinstance(entry["frames"], str)
    assert json.loads(json.dumps(data)) == data


ALL_SCENES = sorted(p.name for p in SCENES.glob("*.ma"))


@pytest.mark.parametrize("name", ALL_SCENES)
def test_from_dict_reverses_to_dict(name: str) -> None:
    description = scene(name)
    data = json.loads(json.dumps(description.to_dict()))
    assert SceneDescription.from_dict(data) == description


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.pop("renderer"), "renderer"),
        (lambda d: d.update(animation="yes"), "animation"),
        (lambda d: d["layers"][1].update(frames="1-x"), "layers[1].frames"),
        (lambda d: d["layers"][0].pop("node"), "layers[0].node"),
        (lambda d: d["frame_range"].update(start="one"), "frame_range.start"),
    ],
)
def test_from_dict_names_the_bad_field(change: Any, field: str) -> None:
    data = scene("render_setup_layers.ma").to_dict()
    change(data)
    with pytest.raises(ValidationError) as caught:
        SceneDescription.from_dict(data)
    assert caught.value.field == field


def test_layer_lookup_by_display_name_or_node() -> None:
    description = scene("render_setup_layers.ma")
    assert layer(description, "rs_CHAR") is layer(description, "CHAR")
    assert description.layer("defaultRenderLayer") is description.layer("masterLayer")
    assert description.layer("nope") is None


# --------------------------------------------------------------------------- shipped scenes


def test_shot010_sample_scene() -> None:
    description = read_ma(SIM_SCENES / "shot010_lighting.ma")
    assert description.render_setup is True
    assert "mtoa" in description.requires
    assert (description.renderer, description.resolution) == ("arnold", (1920, 1080))
    assert description.image_prefix == "<Scene>/<RenderLayer>/<RenderLayer>"
    assert description.renderable_cameras == ["shotCamShape"]
    assert [(x.name, x.renderable, x.to_dict()["frames"]) for x in description.layers] == [
        ("masterLayer", False, "1-48"),
        ("BG", True, "1-48"),
        ("CHAR", True, "1-24"),
        ("FX_test", False, "1-48"),
    ]
    assert description.warnings == []


def test_output_settings_are_reported_as_stored() -> None:
    description = read_ma(SIM_SCENES / "shot010_lighting.ma")
    assert description.node_attributes["defaultRenderGlobals"] == {
        "imageFormat": 51,
        "imfPluginKey": "exr",
        "extensionPadding": 4,
        "putFrameBeforeExt": True,
    }
    assert description.node_attributes["defaultArnoldDriver"] == {"aiTranslator": "exr"}
    long_names = scene("long_names.ma").node_attributes
    assert long_names["defaultRenderGlobals"] == {"imageFormat": 51}


def test_legacy_sample_scene() -> None:
    description = read_ma(SIM_SCENES / "legacy_layers.ma")
    assert description.render_setup is False
    assert {x.renderer for x in description.layers} == {"mayaSoftware"}
    assert [(x.name, x.legacy, x.renderable) for x in description.layers] == [
        ("masterLayer", False, False),
        ("beauty", True, True),
        ("occlusion", True, True),
    ]
    assert layer(description, "occlusion").to_dict()["frames"] == "1-12"
    assert description.warnings == []


def test_redshift_sample_scene() -> None:
    description = read_ma(SIM_SCENES / "redshift_simple.ma")
    assert names(description) == ["masterLayer"]
    assert (description.renderer, description.to_dict()["frames"]) == ("redshift", "1-10")
    assert description.requires == ["redshift4maya"]
    assert description.warnings == []


@pytest.mark.parametrize("path", sorted(SIM_SCENES.glob("*.ma")), ids=lambda p: p.name)
def test_sample_scenes_stay_small(path: Path) -> None:
    assert path.stat().st_size < 50 * 1024


# --------------------------------------------------------------------------- big files


def _write_big_scene(path: Path, target_bytes: int) -> int:
    """Mostly mesh arrays (the bulk of real scenes), Render Setup at the end."""
    rng = random.Random(5)
    vertices = 20_000
    numbers = [f"{rng.uniform(-50, 50):.8g}" for _ in range(vertices * 3)]
    rows = "\n\t\t ".join(" ".join(numbers[i : i + 9]) for i in range(0, len(numbers), 9))
    block = (
        'createNode transform -n "rock_@";\n'
        'createNode mesh -n "rock_@Shape" -p "rock_@";\n'
        '\tsetAttr -k off ".v";\n'
        '\tsetAttr ".uvst[0].uvsn" -type "string" "map1";\n'
        f'\tsetAttr -s {vertices} ".vt[0:{vertices - 1}]"  {rows};\n'
    )
    head = (SCENES / "render_setup_layers.ma").read_text(encoding="cp1252")
    split = head.index('createNode lightLinker -s -n "lightLinker1";')
    written = 0
    with path.open("w", encoding="cp1252", newline="\n") as handle:
        handle.write(head[:split])
        index = 0
        while written < target_bytes:
            chunk = block.replace("@", str(index))
            handle.write(chunk)
            written += len(chunk)
            index += 1
        handle.write(head[split:])
    return path.stat().st_size


@pytest.mark.slow
def test_a_200_mb_scene_is_read_with_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.ma"
    size = _write_big_scene(path, 200 * 1024 * 1024)
    assert size > 200 * 1024 * 1024
    tracemalloc.start()
    started = time.perf_counter()
    try:
        description = read_ma(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    seconds = time.perf_counter() - started
    assert peak < 20 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
    assert seconds < 60, f"{seconds:.1f} s for {size / 1e6:.0f} MB"
    assert names(description) == ["masterLayer", "BG", "CHAR", "FX"]
    assert layer(description, "CHAR").to_dict()["frames"] == "1-24"
    assert description.warnings == []


@pytest.mark.slow
def test_a_single_very_long_line_does_not_fill_memory(tmp_path: Path) -> None:
    head = (SCENES / "render_setup_layers.ma").read_text(encoding="cp1252")
    split = head.index('createNode lightLinker -s -n "lightLinker1";')
    path = tmp_path / "long_line.ma"
    chunk = " ".join(["1.2345 -6.789 0.5"] * 1000) + " "
    with path.open("w", encoding="cp1252", newline="\n") as handle:
        handle.write(head[:split])
        handle.write('createNode mesh -n "bigShape";\n\tsetAttr -s 9999999 ".vt[0:9999998]" ')
        for _ in range(3000):  # about 54 MB on one line
            handle.write(chunk)
        handle.write(";\n" + head[split:])
    tracemalloc.start()
    try:
        description = read_ma(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
    assert names(description) == ["masterLayer", "BG", "CHAR", "FX"]
    assert description.warnings == []


def test_a_renderable_layer_without_a_renderable_camera_is_reported(tmp_path: Path) -> None:
    body = (
        'createNode renderLayer -n "nocam";\n'
        '\tsetAttr -s 1 ".adjs";\n'
        '\tsetAttr ".adjs[0].val" 0;\n'
        'connectAttr "renderLayerManager.rlmi[1]" "nocam.rlid";\n'
        'connectAttr ":perspShape.rnd" "nocam.adjs[0].plg";\n'
    )
    description = read_ma(write(tmp_path, minimal_scene(body)))
    assert layer(description, "nocam").cameras == []
    assert "layer nocam: no camera is renderable" in description.warnings


# --------------------------------------------------------------------------- Arnold AOVs

NEW_SIM_SCENES = ["arnold_aovs.ma", "two_cameras.ma", "locked_override.ma", "vray_simple.ma"]


def aov_scene(body: str) -> str:
    """An inline scene with the Arnold options node and ``body`` (aiAOV nodes, links)."""
    return minimal_scene(
        'createNode aiOptions -s -n "defaultArnoldRenderOptions";\n'
        'createNode aiAOVDriver -s -n "defaultArnoldDriver";\n'
        '\tsetAttr ".ai_translator" -type "string" "exr";\n' + body
    )


def test_arnold_aovs_are_listed_in_connection_order_with_their_enabled_flag() -> None:
    description = read_ma(SIM_SCENES / "arnold_aovs.ma")
    assert [(a.node, a.name, a.enabled) for a in description.arnold_aovs] == [
        ("aiAOV_diffuse", "diffuse", True),
        ("aiAOV_specular", "specular", True),
        ("aiAOV_Z", "Z", False),
    ]


def test_arnold_aov_settings_are_reported_under_their_long_names() -> None:
    attributes = read_ma(SIM_SCENES / "arnold_aovs.ma").node_attributes
    assert attributes["defaultArnoldRenderOptions"]["aovMode"] == 1
    assert attributes["defaultArnoldDriver"] == {"aiTranslator": "exr", "mergeAOVs": False}
    assert "aovm" not in attributes["defaultArnoldRenderOptions"]


def test_arnold_variance_aovs_and_merge_short_names_become_long_names(tmp_path: Path) -> None:
    body = (
        "select -ne :defaultArnoldRenderOptions;\n"
        '\tsetAttr ".aovm" 2;\n'
        '\tsetAttr ".varaovs" yes;\n'
        "select -ne :defaultArnoldDriver;\n"
        '\tsetAttr ".merge_AOVs" yes;\n'
    )
    attributes = read_ma(write(tmp_path, aov_scene(body))).node_attributes
    assert attributes["defaultArnoldRenderOptions"] == {
        "aovMode": 2,
        "outputVarianceAOVs": True,
    }
    assert attributes["defaultArnoldDriver"] == {"aiTranslator": "exr", "mergeAOVs": True}


def test_an_aov_node_not_connected_to_the_options_node_is_not_listed(tmp_path: Path) -> None:
    body = (
        'createNode aiAOV -n "aiAOV_diffuse";\n'
        '\tsetAttr ".aovn" -type "string" "diffuse";\n'
        'createNode aiAOV -n "aiAOV_orphan";\n'
        '\tsetAttr ".aovn" -type "string" "orphan";\n'
        'connectAttr ":defaultArnoldDriver.msg" "aiAOV_orphan.out[0].drvr";\n'
        'connectAttr "aiAOV_diffuse.msg" ":defaultArnoldRenderOptions.aovs" -na;\n'
    )
    description = read_ma(write(tmp_path, aov_scene(body)))
    assert [a.name for a in description.arnold_aovs] == ["diffuse"]
    assert description.warnings == []


def test_only_aiaov_nodes_connected_to_the_aov_list_are_aovs(tmp_path: Path) -> None:
    body = (
        'createNode aiAOVFilter -n "aiAOVFilter1";\n'
        'createNode aiAOV -n "aiAOV_N";\n'
        '\tsetAttr ".aovn" -type "string" "N";\n'
        'connectAttr "aiAOVFilter1.msg" ":defaultArnoldRenderOptions.aovs" -na;\n'
        'connectAttr "aiAOV_N.msg" ":defaultArnoldRenderOptions.aovs" -na;\n'
    )
    description = read_ma(write(tmp_path, aov_scene(body)))
    assert [(a.node, a.name) for a in description.arnold_aovs] == [("aiAOV_N", "N")]


def test_aov_long_names_and_explicit_indices_are_read(tmp_path: Path) -> None:
    body = (
        'createNode aiAOV -n "aiAOV_a";\n'
        '\tsetAttr ".name" -type "string" "albedo";\n'
        '\tsetAttr ".enabled" no;\n'
        'createNode aiAOV -n "aiAOV_b";\n'
        '\tsetAttr ".aovn" -type "string" "beauty_extra";\n'
        'createNode aiAOV -n "aiAOV_c";\n'
        '\tsetAttr ".aovn" -type "string" "coat";\n'
        'connectAttr "aiAOV_b.msg" ":defaultArnoldRenderOptions.aovList[2]";\n'
        'connectAttr "aiAOV_a.message" ":defaultArnoldRenderOptions.aovs[0]";\n'
        'connectAttr "aiAOV_c.msg" ":defaultArnoldRenderOptions.aovList" -na;\n'
    )
    description = read_ma(write(tmp_path, aov_scene(body)))
    assert [(a.name, a.enabled) for a in description.arnold_aovs] == [
        ("albedo", False),
        ("beauty_extra", True),
        ("coat", True),
    ]


def test_a_scene_without_aovs_lists_none() -> None:
    assert read_ma(SIM_SCENES / "two_cameras.ma").arnold_aovs == []
    assert read_ma(SIM_SCENES / "shot010_lighting.ma").arnold_aovs == []


# --------------------------------------------------------------------------- locked overrides


def locked_scene_text() -> str:
    return (SIM_SCENES / "locked_override.ma").read_text(encoding="cp1252")


def test_a_locked_override_value_is_reported_for_its_layer() -> None:
    description = read_ma(SIM_SCENES / "locked_override.ma")
    key = layer(description, "KEY")
    assert (key.start_frame, key.end_frame) == (3.0, 8.0)
    assert key.locked_overrides == ["defaultRenderGlobals.endFrame"]


def test_an_unlocked_override_is_not_reported_as_locked() -> None:
    description = read_ma(SIM_SCENES / "locked_override.ma")
    key = layer(description, "KEY")
    assert key.overrides["defaultRenderGlobals.startFrame"] == 3.0
    assert "defaultRenderGlobals.startFrame" not in key.locked_overrides
    assert layer(description, "masterLayer").locked_overrides == []
    assert all(not x.locked_overrides for x in read_ma(SIM_SCENES / "shot010_lighting.ma").layers)


@pytest.mark.parametrize(
    ("flags", "locked"),
    [("-l on", True), ("-lock on", True), ("-l 1", True), ("-l yes", True), ("-l off", False)],
)
def test_lock_flag_spellings(tmp_path: Path, flags: str, locked: bool) -> None:
    text = locked_scene_text().replace('setAttr -l on ".atv" 8;', f'setAttr {flags} ".atv" 8;')
    key = layer(read_ma(write(tmp_path, text)), "KEY")
    assert key.end_frame == 8.0
    assert key.locked_overrides == (["defaultRenderGlobals.endFrame"] if locked else [])


def test_a_lock_without_a_value_still_locks(tmp_path: Path) -> None:
    text = locked_scene_text().replace(
        'setAttr -l on ".atv" 8;', 'setAttr ".atv" 8;\n\tsetAttr -l on ".attrValue";'
    )
    key = layer(read_ma(write(tmp_path, text)), "KEY")
    assert key.locked_overrides == ["defaultRenderGlobals.endFrame"]


def test_a_disabled_locked_override_is_not_reported(tmp_path: Path) -> None:
    text = locked_scene_text().replace(
        'setAttr -l on ".atv" 8;', 'setAttr -l on ".atv" 8;\n\tsetAttr ".sen" no;'
    )
    key = layer(read_ma(write(tmp_path, text)), "KEY")
    assert key.end_frame == 10.0
    assert key.locked_overrides == []


def test_only_the_winning_override_of_a_plug_decides_if_it_is_locked(tmp_path: Path) -> None:
    # the first override (startFrame node) now also targets endFrame and is the locked one;
    # the later, unlocked endFrame override wins and takes the setAttr
    text = (
        locked_scene_text()
        .replace('"startFrame";\n\tsetAttr ".tgName"', '"endFrame";\n\tsetAttr ".tgName"')
        .replace('setAttr ".atv" 3;', 'setAttr -l on ".atv" 3;')
        .replace('setAttr -l on ".atv" 8;', 'setAttr ".atv" 8;')
    )
    key = layer(read_ma(write(tmp_path, text)), "KEY")
    assert (key.start_frame, key.end_frame) == (1.0, 8.0)
    assert key.locked_overrides == []


@pytest.mark.parametrize(("plug", "locked"), [(".ofs", True), (".mul", False)])
def test_a_relative_override_is_locked_by_its_offset(
    tmp_path: Path, plug: str, locked: bool
) -> None:
    # Render Setup sets a relative override by changing its offset, so only that lock counts
    text = (SCENES / "rs_saved_visible.ma").read_text(encoding="cp1252")
    text = text.replace(f'setAttr "{plug}" ', f'setAttr -l on "{plug}" ', 1)
    char = layer(read_ma(write(tmp_path, text)), "CHAR")
    assert "defaultRenderGlobals.startFrame" in char.overrides
    assert ("defaultRenderGlobals.startFrame" in char.locked_overrides) is locked


# --------------------------------------------------------------------------- new sample scenes


@pytest.mark.parametrize("name", NEW_SIM_SCENES)
def test_new_sample_scenes_parse_without_warnings(name: str) -> None:
    assert read_ma(SIM_SCENES / name).warnings == []


def test_arnold_aovs_sample_scene() -> None:
    description = read_ma(SIM_SCENES / "arnold_aovs.ma")
    assert (description.renderer, description.image_prefix) == ("arnold", "")
    assert description.renderable_cameras == ["shotCamShape"]
    assert [(x.name, x.node, x.renderable, x.to_dict()["frames"]) for x in description.layers] == [
        ("masterLayer", "defaultRenderLayer", False, "1-6"),
        ("BG", "rs_BG", True, "1-6"),
        ("CHAR", "rs_CHAR", True, "1-6"),
    ]


def test_two_cameras_sample_scene() -> None:
    description = read_ma(SIM_SCENES / "two_cameras.ma")
    assert names(description) == ["masterLayer"]
    assert (description.renderer, description.image_prefix) == ("arnold", "")
    assert description.renderable_cameras == ["camAShape", "camBShape"]
    assert "perspShape" in description.cameras
    assert description.node_attributes["defaultArnoldDriver"] == {"aiTranslator": "exr"}


def test_locked_override_sample_scene() -> None:
    description = read_ma(SIM_SCENES / "locked_override.ma")
    assert [(x.name, x.renderable) for x in description.layers] == [
        ("masterLayer", False),
        ("KEY", True),
    ]
    assert description.to_dict()["frames"] == "1-10"
    assert description.image_prefix == "<Scene>/<RenderLayer>/<RenderLayer>"
    assert description.renderable_cameras == ["shotCamShape"]


def test_vray_sample_scene() -> None:
    description = read_ma(SIM_SCENES / "vray_simple.ma")
    assert names(description) == ["masterLayer"]
    assert (description.renderer, description.to_dict()["frames"]) == ("vray", "1-5")
    assert description.requires == ["vrayformaya"]
    assert description.resolution == (320, 180)
    assert description.renderable_cameras == ["renderCamShape"]
    assert description.node_attributes["vraySettings"] == {
        "fileNamePrefix": "<Scene>",
        "imageFormatStr": "exr",
    }


# --------------------------------------------------------------------------- round trip


@pytest.mark.parametrize("name", ["arnold_aovs.ma", "locked_override.ma"])
def test_round_trip_keeps_aovs_and_locked_overrides(name: str) -> None:
    description = read_ma(SIM_SCENES / name)
    data = json.loads(json.dumps(description.to_dict()))
    again = SceneDescription.from_dict(data)
    assert again == description
    assert again.arnold_aovs == description.arnold_aovs
    assert [x.locked_overrides for x in again.layers] == [
        x.locked_overrides for x in description.layers
    ]


def test_stored_dicts_without_the_new_keys_load_with_empty_lists() -> None:
    data = read_ma(SIM_SCENES / "arnold_aovs.ma").to_dict()
    data.pop("arnold_aovs")
    for entry in data["layers"]:
        entry.pop("locked_overrides")
    description = SceneDescription.from_dict(data)
    assert description.arnold_aovs == []
    assert all(x.locked_overrides == [] for x in description.layers)


def test_a_bad_aov_entry_names_its_field() -> None:
    data = read_ma(SIM_SCENES / "arnold_aovs.ma").to_dict()
    data["arnold_aovs"][1]["enabled"] = "yes"
    with pytest.raises(ValidationError) as caught:
        SceneDescription.from_dict(data)
    assert caught.value.field == "arnold_aovs[1].enabled"
