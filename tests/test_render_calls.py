"""Render calls and product queries as proven tools make them, against the simulator's
model of Maya (issue 11): Maya Software through Maya's batch procedure, Redshift through
``rsRender -batch`` with the other layers off, products asked from ``renderSettings`` and
MtoA's ``getFileName``, locked Render Setup overrides and legacy adjustments."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sim_helpers import LEGACY, REDSHIFT, SCENES, SHOT, stub_maya

from lrc_toolbox.records import protocol
from lrc_toolbox.records.batch import RenderOverrides
from lrc_toolbox.sim import runtime
from lrc_toolbox.worker.renderers import (
    ArnoldHandler,
    ProductQuery,
    RedshiftHandler,
    RendererHandler,
)
from lrc_toolbox.worker.session import Emitter, WorkerSession


@pytest.fixture
def maya(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, Any]]:
    yield from stub_maya(monkeypatch, tmp_path)


def _open(maya: dict[str, Any], scene: Path) -> Any:
    maya["cmds"].file(str(scene), open=True, force=True)
    return maya["cmds"]


def _session(maya: dict[str, Any], scene: Path, out: Path) -> tuple[WorkerSession, io.StringIO]:
    stream = io.StringIO()
    session = WorkerSession(maya["cmds"], maya["mel"], Emitter(stream))
    session.open_scene(str(scene), None, str(out))
    return session, stream


def _events(stream: io.StringIO) -> list[protocol.Event]:
    found = []
    for line in stream.getvalue().splitlines():
        event = protocol.decode_line(line)
        if event is not None:
            found.append(event)
    return found


# --------------------------------------------------------------------------- the model


def test_render_without_batch_is_a_preview_under_tmp(maya: dict[str, Any], tmp_path: Path) -> None:
    cmds = _open(maya, LEGACY)
    cmds.workspace(fileRule=["images", str(tmp_path / "img")])
    cmds.currentTime(5)
    written = cmds.render("renderCam")
    assert Path(written).parent.parts[-1] == "tmp" or "tmp" in Path(written).parts
    assert Path(written).name.endswith(".5.iff")


def test_render_settings_names_the_layers_first_image(maya: dict[str, Any], tmp_path: Path) -> None:
    cmds = _open(maya, LEGACY)
    cmds.workspace(fileRule=["images", str(tmp_path / "img")])
    [name] = cmds.renderSettings(firstImageName=True, layer="occlusion", camera="renderCam")
    assert name == "legacy_layers/occlusion/occ_occlusion.1.iff"


def test_render_settings_full_path_is_under_the_images_rule(
    maya: dict[str, Any], tmp_path: Path
) -> None:
    cmds = _open(maya, LEGACY)
    cmds.workspace(fileRule=["images", str(tmp_path / "img")])
    [name] = cmds.renderSettings(firstImageName=True, fullPath=True, layer="beauty")
    assert name == str(tmp_path / "img" / "legacy_layers" / "beauty" / "beauty.1.iff")


def test_maya_batch_procedure_renders_only_the_layers_left_renderable(
    maya: dict[str, Any], tmp_path: Path
) -> None:
    cmds = _open(maya, LEGACY)
    cmds.workspace(fileRule=["images", str(tmp_path / "img")])
    cmds.setAttr("defaultRenderGlobals.endFrame", 2)
    maya["mel"].eval('setMayaSoftwareLayers("beauty", "");')
    maya["mel"].eval('mayaBatchRenderProcedure(0, "", "", "mayaSoftware", "");')
    written = sorted(
        p.relative_to(tmp_path / "img").as_posix() for p in (tmp_path / "img").rglob("*.iff")
    )
    assert written == ["legacy_layers/beauty/beauty.1.iff", "legacy_layers/beauty/beauty.2.iff"]


def test_rs_render_batch_renders_every_renderable_layer(
    maya: dict[str, Any], tmp_path: Path
) -> None:
    # DCM PR #470: rsRender -batch renders each renderable layer, not just the current one
    cmds = _open(maya, LEGACY)
    cmds.setAttr("defaultRenderGlobals.currentRenderer", "redshift", type="string")
    runtime.session().loaded_plugins.add("redshift4maya")
    cmds.workspace(fileRule=["images", str(tmp_path / "img")])
    cmds.setAttr("defaultRenderGlobals.endFrame", 1)
    cmds.rsRender(render=True, batch=True, animation=True, camera="renderCam")
    layers = {p.parent.name for p in (tmp_path / "img").rglob("*.*")}
    assert layers == {"beauty", "occlusion"}


# --------------------------------------------------------------------------- the worker


def test_maya_software_products_come_from_render_settings(
    maya: dict[str, Any], tmp_path: Path
) -> None:
    cmds = _open(maya, LEGACY)
    cmds.workspace(fileRule=["images", str(tmp_path / "img")])
    cmds.editRenderLayerGlobals(currentRenderLayer="occlusion")
    cmds.setAttr("defaultRenderGlobals.startFrame", 9)
    query = ProductQuery(layer_node="occlusion", camera="renderCam", frame=9, scene="x")
    assert RendererHandler().products(cmds, maya["mel"], query) == [
        str(tmp_path / "img" / "legacy_layers" / "occlusion" / "occ_occlusion.9.iff")
    ]


def test_arnold_products_list_each_enabled_aov(maya: dict[str, Any], tmp_path: Path) -> None:
    cmds = _open(maya, SCENES / "arnold_aovs.ma")
    cmds.workspace(fileRule=["images", str(tmp_path / "img")])
    cmds.editRenderLayerGlobals(currentRenderLayer="rs_BG")
    query = ProductQuery(layer_node="rs_BG", camera="shotCam", frame=2, scene="arnold_aovs")
    paths = ArnoldHandler().products(cmds, maya["mel"], query) or []
    rel = [Path(p).relative_to(tmp_path / "img").parts[:2] for p in paths]
    assert rel == [("BG", "beauty"), ("BG", "diffuse"), ("BG", "specular")]


def test_maya_software_frame_renders_through_the_batch_procedure(
    maya: dict[str, Any], tmp_path: Path
) -> None:
    session, stream = _session(maya, LEGACY, tmp_path / "img")
    session.render_frame("occlusion", 3, RenderOverrides())
    [done] = [e for e in _events(stream) if e.name == "frame_done"]
    assert done.get("outputs") == [
        str(tmp_path / "img" / "legacy_layers" / "occlusion" / "occ_occlusion.3.iff")
    ]
    assert not (tmp_path / "img" / "tmp").exists()


def test_maya_software_renders_only_the_frames_layer(maya: dict[str, Any], tmp_path: Path) -> None:
    session, _ = _session(maya, LEGACY, tmp_path / "img")
    session.render_frame("occlusion", 3, RenderOverrides())
    folders = {p.parent.name for p in (tmp_path / "img").rglob("*.iff")}
    assert folders == {"occlusion"}


def test_redshift_leaves_only_the_frames_layer_renderable(
    maya: dict[str, Any], tmp_path: Path
) -> None:
    cmds = _open(maya, LEGACY)
    cmds.setAttr("defaultRenderGlobals.currentRenderer", "redshift", type="string")
    runtime.session().loaded_plugins.add("redshift4maya")
    cmds.workspace(fileRule=["images", str(tmp_path / "img")])
    cmds.editRenderLayerGlobals(currentRenderLayer="beauty")
    cmds.setAttr("defaultRenderGlobals.startFrame", 1)
    cmds.setAttr("defaultRenderGlobals.endFrame", 1)
    RedshiftHandler().render(cmds, maya["mel"], "renderCam", "beauty", 1)
    assert {p.parent.name for p in (tmp_path / "img").rglob("*.*")} == {"beauty"}
    assert cmds.getAttr("occlusion.renderable") == 0


def test_redshift_scene_frame_is_done_with_its_product(
    maya: dict[str, Any], tmp_path: Path
) -> None:
    session, stream = _session(maya, REDSHIFT, tmp_path / "img")
    session.render_frame("masterLayer", 4, RenderOverrides())
    [done] = [e for e in _events(stream) if e.name == "frame_done"]
    assert [Path(p).exists() for p in done.get("outputs")] == [True]


def test_camera_override_turns_the_other_cameras_off(maya: dict[str, Any], tmp_path: Path) -> None:
    session, stream = _session(maya, SCENES / "two_cameras.ma", tmp_path / "img")
    session.render_frame("masterLayer", 1, RenderOverrides(camera="camB"))
    [done] = [e for e in _events(stream) if e.name == "frame_done"]
    # one renderable camera left: MtoA adds no <Camera>/ folder
    assert [Path(p).relative_to(tmp_path / "img").as_posix() for p in done.get("outputs")] == [
        "two_cameras.0001.exr"
    ]


def test_a_locked_override_is_disabled_in_the_snapshot_and_the_frame_renders(
    maya: dict[str, Any], tmp_path: Path
) -> None:
    session, stream = _session(maya, SCENES / "locked_override.ma", tmp_path / "img")
    session.render_frame("KEY", 4, RenderOverrides())
    names = [e.name for e in _events(stream)]
    assert names == ["frame_started", "frame_done"]


def test_a_locked_override_the_worker_cannot_disable_fails_the_frame_with_the_plug(
    maya: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    session, stream = _session(maya, SCENES / "locked_override.ma", tmp_path / "img")
    monkeypatch.setattr(session, "disable_render_setup_override", lambda plug: None)
    session.render_frame("KEY", 4, RenderOverrides())
    [failed] = [e for e in _events(stream) if e.name == "frame_failed"]
    assert "defaultRenderGlobals.endFrame" in str(failed.get("reason"))


def test_legacy_adjustments_are_removed_before_each_set(
    maya: dict[str, Any], tmp_path: Path
) -> None:
    session, _ = _session(maya, LEGACY, tmp_path / "img")
    session.render_frame("occlusion", 3, RenderOverrides())
    assert "defaultRenderGlobals.endFrame" in runtime.session().disabled.get("occlusion", set())


def test_the_shot_scene_products_use_display_names(maya: dict[str, Any], tmp_path: Path) -> None:
    session, stream = _session(maya, SHOT, tmp_path / "img")
    session.render_frame("BG", 1, RenderOverrides())
    [done] = [e for e in _events(stream) if e.name == "frame_done"]
    assert [Path(p).relative_to(tmp_path / "img").as_posix() for p in done.get("outputs")] == [
        "shot010_lighting/BG/BG.0001.exr"
    ]


def test_describe_lists_the_arnold_aovs_like_the_file_reader(maya: dict[str, Any]) -> None:
    from lrc_toolbox.scene.ma_reader import read_ma
    from lrc_toolbox.worker.describe import describe_open_scene

    scene = SCENES / "arnold_aovs.ma"
    cmds = _open(maya, scene)
    described = describe_open_scene(cmds, maya["mel"], path=str(scene))
    assert described.arnold_aovs == read_ma(scene).arnold_aovs
