"""The simulator's ``maya`` stand-in behaves like the parts of Maya the worker relies on."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sim_helpers import SHOT

from lrc_toolbox.sim import mayapy, runtime
from lrc_toolbox.sim.config import SimConfig


@pytest.fixture
def maya(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """The stand-in imported in this process, with a fresh session; removed afterwards."""
    monkeypatch.chdir(tmp_path)
    saved = {n: m for n, m in sys.modules.items() if n == "maya" or n.startswith("maya.")}
    mayapy.install_stub()
    runtime.reset_session(SimConfig(time_scale=0.0, startup=0.0))
    import maya.cmds as cmds
    import maya.mel as mel
    import maya.standalone as standalone
    from maya.app.renderSetup.model import renderSetup

    standalone.initialize(name="python")
    yield {"cmds": cmds, "mel": mel, "standalone": standalone, "renderSetup": renderSetup}
    for name in [n for n in sys.modules if n == "maya" or n.startswith("maya.")]:
        del sys.modules[name]
    sys.modules.update(saved)
    sys.path.remove(mayapy.STUB_DIR)


def _open(maya: dict[str, Any]) -> ModuleType:
    cmds: ModuleType = maya["cmds"]
    cmds.file(str(SHOT), open=True, force=True)
    return cmds


def test_the_stand_in_says_it_is_simulated(maya: dict[str, Any]) -> None:
    import maya as package

    assert package.SIMULATED is True


def test_commands_need_standalone_initialized(maya: dict[str, Any]) -> None:
    maya["standalone"].uninitialize()
    with pytest.raises(RuntimeError, match="initialize"):
        maya["cmds"].getAttr("defaultRenderGlobals.startFrame")


def test_opening_a_missing_file_raises_like_maya(maya: dict[str, Any]) -> None:
    with pytest.raises(RuntimeError, match="File not found"):
        maya["cmds"].file("/nowhere/shot.ma", open=True, force=True)


def test_scene_globals_come_from_the_file(maya: dict[str, Any]) -> None:
    cmds = _open(maya)
    assert cmds.getAttr("defaultRenderGlobals.currentRenderer") == "arnold"
    assert cmds.getAttr("defaultRenderGlobals.endFrame") == 48
    assert cmds.getAttr("defaultResolution.width") == 1920


def test_switching_layer_applies_its_overrides(maya: dict[str, Any]) -> None:
    cmds = _open(maya)
    cmds.editRenderLayerGlobals(currentRenderLayer="rs_CHAR")
    assert cmds.getAttr("defaultRenderGlobals.endFrame") == 24
    cmds.editRenderLayerGlobals(currentRenderLayer="rs_BG")
    assert cmds.getAttr("defaultRenderGlobals.endFrame") == 48


def test_unknown_attribute_raises_like_maya(maya: dict[str, Any]) -> None:
    cmds = _open(maya)
    with pytest.raises(RuntimeError, match="No object matches name"):
        cmds.getAttr("defaultRenderGlobals.noSuchThing")


def test_layer_display_names_come_from_mel(maya: dict[str, Any]) -> None:
    _open(maya)
    mel = maya["mel"]
    assert mel.eval('renderLayerDisplayName "rs_BG"') == "BG"
    assert mel.eval('renderLayerDisplayName "defaultRenderLayer"') == "masterLayer"


def test_unknown_mel_procedure_raises_like_maya(maya: dict[str, Any]) -> None:
    with pytest.raises(RuntimeError, match='Cannot find procedure "xgmPreview"'):
        maya["mel"].eval("xgmPreview()")


def test_cameras_list_shapes_with_their_renderable_flag(maya: dict[str, Any]) -> None:
    cmds = _open(maya)
    shapes = cmds.ls(type="camera")
    assert "shotCamShape" in shapes and "perspShape" in shapes
    assert cmds.getAttr("shotCamShape.renderable") is True
    assert cmds.getAttr("perspShape.renderable") is False
    assert cmds.listRelatives("shotCamShape", parent=True) == ["shotCam"]


def test_render_setup_lists_layers_without_the_master(maya: dict[str, Any]) -> None:
    _open(maya)
    rs = maya["renderSetup"].instance()
    layers = rs.getRenderLayers()
    assert [layer.name() for layer in layers] == ["BG", "CHAR", "FX_test"]
    assert [layer.isRenderable() for layer in layers] == [True, True, False]
    rs.switchToLayer(layers[1])
    assert maya["cmds"].editRenderLayerGlobals(query=True, currentRenderLayer=True) == "rs_CHAR"


def test_arnold_render_writes_the_frame_where_the_prefix_says(
    maya: dict[str, Any], tmp_path: Path
) -> None:
    cmds = _open(maya)
    cmds.workspace(fileRule=["images", str(tmp_path / "img")])
    cmds.editRenderLayerGlobals(currentRenderLayer="rs_BG")
    cmds.arnoldRender(batch=True, seq="12", camera="shotCam")
    assert (tmp_path / "img" / "shot010_lighting" / "BG" / "BG.0012.exr").stat().st_size > 0


def test_render_with_a_plugin_that_is_not_loaded_fails(maya: dict[str, Any]) -> None:
    cmds = _open(maya)
    with pytest.raises(RuntimeError, match="vrend"):
        cmds.vrend(camera="shotCam")


def test_missing_plugin_cannot_be_loaded(
    maya: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LRC_SIM_MISSING_PLUGINS", "vrayformaya")
    runtime.reset_session(SimConfig(time_scale=0.0, startup=0.0))
    maya["standalone"].initialize()
    with pytest.raises(RuntimeError, match='Plug-in, "vrayformaya", was not found'):
        maya["cmds"].loadPlugin("vrayformaya")


def test_render_settings_gives_the_first_image_name(maya: dict[str, Any]) -> None:
    cmds = _open(maya)
    cmds.editRenderLayerGlobals(currentRenderLayer="rs_CHAR")
    (first,) = cmds.renderSettings(firstImageName=True, fullPath=True)
    assert first.endswith("CHAR.0001.exr")


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The simulator's sleeps, recorded instead of slept."""
    seen: list[float] = []
    monkeypatch.setattr(runtime.time, "sleep", seen.append)
    return seen


def test_start_up_is_waited_for_once_the_scene_has_loaded(
    maya: dict[str, Any], sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime, "_seconds_since_exec", lambda: 1.0)
    runtime.reset_session(SimConfig(time_scale=1.0, startup=5.0))
    maya["standalone"].initialize()
    assert sleeps == []  # reading the scene counts towards the start-up: nothing yet
    _open(maya)
    (waited,) = sleeps
    assert 3.0 < waited <= 4.0  # 5 s from exec, 1 s of which had passed, less the reading
    _open(maya)
    assert len(sleeps) == 1  # once per session


def test_a_scene_opened_late_still_takes_its_load_time(
    maya: dict[str, Any], sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    # a worker started before its snapshot existed (--await-scene) opens it once Maya's own
    # part of the start-up is over: only the scene-load part (2 s here) is left to wait
    monkeypatch.setattr(runtime, "_seconds_since_exec", lambda: 1.0)
    clock = [100.0]
    monkeypatch.setattr(runtime.time, "monotonic", lambda: clock[0])
    runtime.reset_session(SimConfig(time_scale=1.0, startup=5.0, scene_load=2.0))
    maya["standalone"].initialize()
    clock[0] += 10.0  # the manager's copy took longer than Maya's start
    _open(maya)
    assert sleeps == [2.0]


def test_switching_to_another_layer_costs_the_layer_switch(
    maya: dict[str, Any], sleeps: list[float]
) -> None:
    cmds = _open(maya)
    runtime.session().config = SimConfig(time_scale=1.0, startup=0.0, layer_switch=2.5)
    cmds.editRenderLayerGlobals(currentRenderLayer="rs_CHAR")
    assert sleeps == [2.5]


def test_switching_to_the_current_layer_costs_nothing(
    maya: dict[str, Any], sleeps: list[float]
) -> None:
    cmds = _open(maya)
    cmds.editRenderLayerGlobals(currentRenderLayer="rs_CHAR")
    runtime.session().config = SimConfig(time_scale=1.0, startup=0.0, layer_switch=2.5)
    sleeps.clear()
    cmds.editRenderLayerGlobals(currentRenderLayer="rs_CHAR")
    assert sleeps == []
