"""Each sample scene of issue 11 renders end to end on the simulator, through the real
engine, with every product of every frame verified (issue 11, "Done when").

The expected files are written out by hand from the naming rules the sources give (MtoA's
``getFileName`` and hooks, Autodesk's folder rules; docs/maya-integration.md), not
computed with the worker's or the simulator's code: the test sees where either drifts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sim_helpers import LEGACY, REDSHIFT, SCENES, SHOT
from test_render_engine import make_api

from lrc_toolbox.core.batch_render_api import BatchRenderAPI
from lrc_toolbox.records.batch import BatchSummary
from lrc_toolbox.records.models import RenderConfig

pytestmark = pytest.mark.qt
TIMEOUT_MS = 90_000


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[BatchRenderAPI]:
    monkeypatch.setenv("LRC_SIM_TIME_SCALE", "0.002")
    monkeypatch.setenv("LRC_SIM_STATE_DIR", str(tmp_path / "sim-state"))
    instance = make_api(tmp_path, simulate_gpus=2)
    yield instance
    instance.shutdown()


def render(
    qtbot: Any, api: BatchRenderAPI, tmp_path: Path, scene: Path, frames: str, **more: Any
) -> tuple[dict[str, Any], set[str], set[str]]:
    """Run a batch; returns its summary, the images on disk and the files ready.json
    lists, both relative to the output folder."""
    out = tmp_path / "images"
    cfg = RenderConfig(
        scene=str(scene), frames=frames, output_dir=str(out), frame_timeout=30.0, **more
    )
    with qtbot.waitSignal(api.batch_finished, timeout=TIMEOUT_MS) as blocker:
        api.start_batch_render(cfg)
    summary = blocker.args[0]
    assert isinstance(summary, BatchSummary)
    on_disk = {
        p.relative_to(out).as_posix()
        for p in out.rglob("*")
        if p.is_file() and p.name != "ready.json"
    }
    ready = json.loads((out / "ready.json").read_text())
    listed = {
        Path(path).relative_to(out).as_posix()
        for layer in ready["layers"].values()
        for paths in layer["files"].values()
        for path in paths
    }
    return summary.to_dict(), on_disk, listed


def test_arnold_unmerged_aovs_write_every_pass_in_layer_folders(
    qtbot: Any, api: BatchRenderAPI, tmp_path: Path
) -> None:
    # 3 layers connected (master, BG, CHAR) -> <RenderLayer>/; AOVs enabled, in use, not
    # merged -> <RenderPass>/, the beauty under beauty/; the disabled Z is not written
    summary, on_disk, listed = render(qtbot, api, tmp_path, SCENES / "arnold_aovs.ma", "1-2")
    expected = {
        f"{layer}/{aov}/arnold_aovs.000{frame}.exr"
        for layer in ("BG", "CHAR")
        for aov in ("beauty", "diffuse", "specular")
        for frame in (1, 2)
    }
    assert summary["state"] == "done" and summary["done"] == 4
    assert on_disk == expected
    assert listed == expected


def test_two_renderable_cameras_write_a_folder_each(
    qtbot: Any, api: BatchRenderAPI, tmp_path: Path
) -> None:
    summary, on_disk, listed = render(qtbot, api, tmp_path, SCENES / "two_cameras.ma", "1-2")
    expected = {f"{cam}/two_cameras.000{f}.exr" for cam in ("camA", "camB") for f in (1, 2)}
    assert summary["done"] == 2
    assert on_disk == expected and listed == expected


def test_three_render_setup_layers_render_the_two_renderable_ones_by_display_name(
    qtbot: Any, api: BatchRenderAPI, tmp_path: Path
) -> None:
    summary, on_disk, listed = render(qtbot, api, tmp_path, SHOT, "1-2")
    expected = {
        f"shot010_lighting/{layer}/{layer}.000{f}.exr" for layer in ("BG", "CHAR") for f in (1, 2)
    }
    assert summary["done"] == 4
    assert on_disk == expected and listed == expected


def test_a_locked_override_does_not_stop_the_layer(
    qtbot: Any, api: BatchRenderAPI, tmp_path: Path
) -> None:
    summary, on_disk, listed = render(qtbot, api, tmp_path, SCENES / "locked_override.ma", "3-4")
    expected = {"locked_override/KEY/KEY.0003.exr", "locked_override/KEY/KEY.0004.exr"}
    assert summary["state"] == "done"
    assert on_disk == expected and listed == expected


def test_no_arnold_options_node_renders_every_frame(
    qtbot: Any, api: BatchRenderAPI, tmp_path: Path
) -> None:
    summary, on_disk, listed = render(
        qtbot, api, tmp_path, SCENES / "no_arnold_options.ma", "1-2", layers=["BG"]
    )
    assert summary["state"] == "done" and summary["done"] == 2
    assert on_disk == listed and len(on_disk) == 2


def test_maya_software_legacy_layers_write_where_render_settings_says(
    qtbot: Any, api: BatchRenderAPI, tmp_path: Path
) -> None:
    summary, on_disk, listed = render(qtbot, api, tmp_path, LEGACY, "1-2")
    expected = {
        "legacy_layers/beauty/beauty.1.iff",
        "legacy_layers/beauty/beauty.2.iff",
        "legacy_layers/occlusion/occ_occlusion.1.iff",
        "legacy_layers/occlusion/occ_occlusion.2.iff",
    }
    assert summary["done"] == 4
    assert on_disk == expected and listed == expected


def test_redshift_renders_each_frame_once(qtbot: Any, api: BatchRenderAPI, tmp_path: Path) -> None:
    summary, on_disk, listed = render(qtbot, api, tmp_path, REDSHIFT, "1-3")
    assert summary["done"] == 3
    assert on_disk == listed and len(on_disk) == 3


def test_vray_renders_each_frame_with_its_own_prefix(
    qtbot: Any, api: BatchRenderAPI, tmp_path: Path
) -> None:
    summary, on_disk, listed = render(qtbot, api, tmp_path, SCENES / "vray_simple.ma", "1-2")
    expected = {"vray_simple.0001.exr", "vray_simple.0002.exr"}
    assert summary["done"] == 2
    assert on_disk == expected and listed == expected
