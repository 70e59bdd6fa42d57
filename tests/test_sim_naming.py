"""The simulator's model of Maya's and MtoA's image naming (lrc_toolbox.sim.naming).

Expected paths are written out by hand from the sources (MtoA ``scripts/mtoa/utils.py``
``getFileName``/``expandFileTokens`` and ``hooks.py``; ``OptionsTranslator.cpp``
``ProcessAOVs``; Autodesk "Subfolders and names of rendered images"), never computed with
the worker's prediction.
"""

from __future__ import annotations

from lrc_toolbox.sim.naming import (
    ArnoldAovState,
    FrameNaming,
    arnold_outputs,
    expand_file_tokens,
    maya_file_name,
    mtoa_file_name,
)

IMAGES = "/proj/images"


def naming(**changes: object) -> FrameNaming:
    values: dict[str, object] = {
        "images_dir": IMAGES,
        "scene": "shot",
        "prefix": "",
        "layer_node": "rs_BG",
        "layer_display": "BG",
        "connected_layers": 1,
        "renderable_cameras": 1,
        "padding": 4,
    }
    values.update(changes)
    return FrameNaming(**values)  # type: ignore[arg-type]


def mtoa(n: FrameNaming, *, strict: bool = True, **tokens: str) -> str:
    base = {"RenderLayer": n.layer_node, "Camera": "cam", "Extension": "exr", "Scene": n.scene}
    base.update(tokens)
    return mtoa_file_name(n, path=n.prefix, tokens=base, frame=7, strict_aovs=strict)


def test_bracket_group_is_kept_when_its_token_has_a_value() -> None:
    assert expand_file_tokens("file[_<RenderPass>].jpg", {"RenderPass": "diffuse"}) == (
        "file_diffuse.jpg"
    )


def test_bracket_group_is_dropped_when_its_token_has_no_value() -> None:
    assert expand_file_tokens("file[_<RenderPass>].jpg", {}) == "file.jpg"


def test_an_unmatched_token_outside_brackets_is_removed() -> None:
    assert expand_file_tokens("a_<Nope>_b", {}) == "a__b"


def test_a_colon_in_a_token_value_becomes_an_underscore() -> None:
    assert expand_file_tokens("<Camera>", {"Camera": "ns:cam"}) == "ns_cam"


def test_one_layer_one_camera_no_aovs_is_scene_frame_ext() -> None:
    assert mtoa(naming()) == "/proj/images/shot.0007.exr"


def test_more_than_one_connected_layer_adds_the_display_name_folder() -> None:
    assert mtoa(naming(connected_layers=2)) == "/proj/images/BG/shot.0007.exr"


def test_the_default_layer_folder_is_master_layer() -> None:
    n = naming(connected_layers=2, layer_node="defaultRenderLayer", layer_display="masterLayer")
    assert mtoa(n) == "/proj/images/masterLayer/shot.0007.exr"


def test_more_than_one_renderable_camera_adds_the_camera_folder_inside_the_layer() -> None:
    n = naming(connected_layers=3, renderable_cameras=2)
    assert mtoa(n) == "/proj/images/BG/cam/shot.0007.exr"


def test_unstrict_aovs_add_the_pass_folder_innermost() -> None:
    n = naming(connected_layers=2, renderable_cameras=2)
    assert mtoa(n, strict=False, RenderPass="diffuse") == (
        "/proj/images/BG/cam/diffuse/shot.0007.exr"
    )


def test_folders_are_added_even_to_a_prefix_without_tokens() -> None:
    n = naming(connected_layers=2, prefix="comp/shot")
    assert mtoa(n) == "/proj/images/BG/comp/shot.0007.exr"


def test_a_layer_token_in_the_prefix_replaces_the_folder() -> None:
    n = naming(connected_layers=2, prefix="<Scene>/<RenderLayer>/<RenderLayer>")
    assert mtoa(n) == "/proj/images/shot/BG/BG.0007.exr"


def test_an_absolute_prefix_gets_no_folders() -> None:
    n = naming(connected_layers=2, renderable_cameras=2, prefix="/out/<Scene>")
    assert mtoa(n, strict=False, RenderPass="diffuse") == "/out/shot.0007.exr"


def test_a_temp_path_lands_under_tmp() -> None:
    n = naming()
    path = mtoa_file_name(
        n, path="", tokens={"Extension": "exr"}, frame=1, strict_aovs=True, temp=True
    )
    assert path == "/proj/images/tmp/shot.0001.exr"


def test_padding_counts_a_minus_sign_as_a_digit() -> None:
    # MtoA pads str(int(round(frame))) with zeros in front of the sign
    assert naming(padding=4).frame_text(-5) == "00-5"


def aovs(**changes: object) -> ArnoldAovState:
    values: dict[str, object] = {
        "mode": 1,
        "merge": False,
        "aovs": (("diffuse", True), ("specular", True), ("Z", False)),
    }
    values.update(changes)
    return ArnoldAovState(**values)  # type: ignore[arg-type]


def test_enabled_aovs_each_get_a_file_under_their_pass_folder() -> None:
    paths = arnold_outputs(naming(), aovs(), camera="cam", ext="exr", frame=1)
    assert paths == [
        "/proj/images/beauty/shot.0001.exr",
        "/proj/images/diffuse/shot.0001.exr",
        "/proj/images/specular/shot.0001.exr",
    ]


def test_a_disabled_aov_alone_still_puts_the_beauty_in_its_folder() -> None:
    # "AOVs are considered in-use even if they are not enabled"
    paths = arnold_outputs(naming(), aovs(aovs=(("Z", False),)), camera="c", ext="exr", frame=1)
    assert paths == ["/proj/images/beauty/shot.0001.exr"]


def test_merged_aovs_write_one_file_without_a_pass_folder() -> None:
    paths = arnold_outputs(naming(), aovs(merge=True), camera="c", ext="exr", frame=1)
    assert paths == ["/proj/images/shot.0001.exr"]


def test_aovs_disabled_in_the_options_write_the_beauty_alone() -> None:
    paths = arnold_outputs(naming(), aovs(mode=0), camera="c", ext="exr", frame=1)
    assert paths == ["/proj/images/shot.0001.exr"]


def test_batch_only_aovs_are_written_in_a_batch_render() -> None:
    paths = arnold_outputs(naming(), aovs(mode=2), camera="c", ext="exr", frame=1)
    assert len(paths) == 3


def test_no_aov_nodes_no_pass_folder() -> None:
    paths = arnold_outputs(naming(), aovs(aovs=()), camera="c", ext="exr", frame=1)
    assert paths == ["/proj/images/shot.0001.exr"]


def test_maya_names_default_layer_folders_by_node() -> None:
    n = naming(connected_layers=2, padding=1)
    assert maya_file_name(n, camera="cam", ext="iff", frame=3) == "/proj/images/rs_BG/shot.3.iff"


def test_maya_adds_no_folder_to_a_prefix_the_user_wrote() -> None:
    n = naming(connected_layers=2, renderable_cameras=2, prefix="<Scene>_<Camera>", padding=2)
    assert maya_file_name(n, camera="ns:cam", ext="png", frame=3) == (
        "/proj/images/shot_ns_cam.03.png"
    )


def test_maya_preview_renders_land_under_tmp() -> None:
    n = naming(padding=1)
    assert maya_file_name(n, camera="c", ext="iff", frame=2, temp=True) == (
        "/proj/images/tmp/shot.2.iff"
    )
