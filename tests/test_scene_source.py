"""SceneSource: the .ma reader and mayapy's --describe give the same answer."""

from __future__ import annotations

from pathlib import Path

import pytest
from sim_helpers import LEGACY, MAYAPY, SHOT, sim_env

from lrc_toolbox.scene.ma_reader import read_ma
from lrc_toolbox.scene.scene_source import (
    MayaAsciiSource,
    MayapySource,
    SceneSourceError,
    scene_source_for,
)


def _layers(scene: object) -> list[tuple[str, str, bool, str, list[int]]]:
    return [
        (layer.name, layer.node, layer.renderable, layer.renderer, layer.frames)
        for layer in scene.layers  # type: ignore[attr-defined]
    ]


def test_ma_file_is_read_without_maya() -> None:
    assert isinstance(scene_source_for(SHOT), MayaAsciiSource)


@pytest.mark.parametrize("scene", [SHOT, LEGACY])
def test_mayapy_describe_matches_the_ma_reader(tmp_path: Path, scene: Path) -> None:
    described = MayapySource(scene, MAYAPY, env=sim_env(tmp_path)).describe()
    direct = read_ma(scene)
    assert _layers(described) == _layers(direct)
    assert described.renderer == direct.renderer
    assert described.maya_version == direct.maya_version


def test_binary_scene_without_mayapy_says_what_to_do(tmp_path: Path) -> None:
    scene = tmp_path / "shot.mb"
    scene.write_bytes(b"FOR8\x00\x00\x00\x00\x00\x00\x00\x10MAYA")
    with pytest.raises(SceneSourceError, match="mayapy"):
        scene_source_for(scene)


def test_binary_scene_with_mayapy_is_described_by_mayapy(tmp_path: Path) -> None:
    scene = tmp_path / "shot.mb"
    scene.write_bytes(b"FOR4\x00\x00\x00\x10CIMG")
    assert isinstance(scene_source_for(scene, MAYAPY), MayapySource)


def test_mayapy_that_cannot_open_the_scene_reports_its_reason(tmp_path: Path) -> None:
    scene = tmp_path / "shot.mb"
    scene.write_bytes(b"FOR4\x00\x00\x00\x10CIMG")
    with pytest.raises(SceneSourceError, match="Maya Binary"):
        MayapySource(scene, MAYAPY, env=sim_env(tmp_path)).describe()


def test_missing_mayapy_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SceneSourceError, match="mayapy not found"):
        MayapySource(SHOT, [str(tmp_path / "no-mayapy")]).describe()


def test_missing_scene_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SceneSourceError, match="not found"):
        scene_source_for(tmp_path / "nope.ma")
