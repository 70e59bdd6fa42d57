"""Renderer options nodes (issue 11): the simulator creates them only when the scene or the
renderer's creation call does, like Maya and MtoA; the worker creates them before setting
anything and fails the frame when a required setting cannot be applied."""

from __future__ import annotations

import ast
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sim_helpers import SCENES, SHOT, command, run_worker, sim_env, stub_maya

from lrc_toolbox.records import protocol
from lrc_toolbox.records.batch import RenderOverrides
from lrc_toolbox.scene.ma_reader import read_ma
from lrc_toolbox.sim import runtime
from lrc_toolbox.worker.renderers import (
    ArnoldHandler,
    RedshiftHandler,
    RendererSettingError,
    RenderSettings,
    VRayHandler,
)
from lrc_toolbox.worker.session import Emitter, WorkerSession

NO_OPTIONS = SCENES / "no_arnold_options.ma"
SIM_DIR = Path(runtime.__file__).resolve().parent
OPTS = "defaultArnoldRenderOptions"
GPU = RenderSettings(device="gpu")

_MINIMAL = """//Maya ASCII 2024 scene
requires maya "2024";
requires "{plugin}" "1.0";
currentUnit -l centimeter -a degree -t film;
createNode renderLayerManager -n "renderLayerManager";
createNode renderLayer -n "defaultRenderLayer";
\tsetAttr ".g" yes;
connectAttr "renderLayerManager.rlmi[0]" "defaultRenderLayer.rlid";
select -ne :defaultRenderGlobals;
\tsetAttr ".ren" -type "string" "{renderer}";
"""


@pytest.fixture
def maya(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """The stand-in ``maya`` and ``mtoa`` in this process, on a fresh session seeing one GPU."""
    yield from stub_maya(monkeypatch, tmp_path)


def _open(maya: dict[str, Any], scene: Path) -> Any:
    cmds = maya["cmds"]
    cmds.file(str(scene), open=True, force=True)
    return cmds


def _scene(tmp_path: Path, renderer: str, plugin: str) -> Path:
    path = tmp_path / f"{renderer}_no_options.ma"
    path.write_text(_MINIMAL.format(renderer=renderer, plugin=plugin))
    return path


# --------------------------------------------------------------------------- simulator


def test_the_reader_lists_an_options_node_the_file_creates() -> None:
    assert OPTS in read_ma(SHOT).node_attributes


def test_the_sample_scene_has_no_arnold_options_node() -> None:
    scene = read_ma(NO_OPTIONS)
    assert OPTS not in scene.node_attributes
    assert {x.renderer for x in scene.layers} == {"arnold"}


def test_a_missing_options_node_does_not_exist(maya: dict[str, Any]) -> None:
    assert _open(maya, NO_OPTIONS).objExists(OPTS) is False


def test_getattr_on_a_missing_options_node_raises_like_maya(maya: dict[str, Any]) -> None:
    cmds = _open(maya, NO_OPTIONS)
    with pytest.raises(RuntimeError, match=f"No object matches name: {OPTS}.renderDevice"):
        cmds.getAttr(f"{OPTS}.renderDevice")


def test_setattr_on_a_missing_options_node_raises_like_maya(maya: dict[str, Any]) -> None:
    cmds = _open(maya, NO_OPTIONS)
    with pytest.raises(RuntimeError, match="No object matches name"):
        cmds.setAttr(f"{OPTS}.renderDevice", 1)


def test_create_options_makes_mtoas_four_nodes(maya: dict[str, Any]) -> None:
    cmds = _open(maya, NO_OPTIONS)
    import mtoa.core

    mtoa.core.createOptions()
    nodes = [OPTS, "defaultArnoldFilter", "defaultArnoldDriver", "defaultArnoldDisplayDriver"]
    assert all(cmds.objExists(n) for n in nodes)


def test_create_options_gives_mtoas_defaults(maya: dict[str, Any]) -> None:
    cmds = _open(maya, NO_OPTIONS)
    import mtoa.core

    mtoa.core.createOptions()
    values = [
        cmds.getAttr(f"{OPTS}.{a}")
        for a in ("renderDevice", "abortOnLicenseFail", "skipLicenseCheck", "manual_gpu_devices")
    ]
    assert values == [0, False, False, False]


def test_create_options_keeps_an_existing_node(maya: dict[str, Any]) -> None:
    cmds = _open(maya, SHOT)
    cmds.setAttr(f"{OPTS}.renderDevice", 1)
    import mtoa.core

    mtoa.core.createOptions()
    assert cmds.getAttr(f"{OPTS}.renderDevice") == 1


def test_arnold_render_without_options_renders_on_the_cpu(
    maya: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    cmds = _open(maya, NO_OPTIONS)
    cmds.editRenderLayerGlobals(currentRenderLayer="rs_BG")
    cmds.arnoldRender(batch=True, seq="1", camera="shotCam")
    log = capsys.readouterr().out
    assert " CPU @ " in log and " GPU 0:" not in log


def test_vray_creation_proc_makes_vray_settings(maya: dict[str, Any], tmp_path: Path) -> None:
    cmds = _open(maya, _scene(tmp_path, "vray", "vrayformaya"))
    assert not cmds.objExists("vraySettings")
    maya["mel"].eval("vrayCreateVRaySettingsNode")
    assert cmds.objExists("vraySettings.productionEngine")


def test_redshift_creation_proc_makes_redshift_options(
    maya: dict[str, Any], tmp_path: Path
) -> None:
    cmds = _open(maya, _scene(tmp_path, "redshift", "redshift4maya"))
    assert maya["mel"].eval("redshiftGetRedshiftOptionsNode(false);") == ""
    assert maya["mel"].eval("redshiftGetRedshiftOptionsNode(true);") == "redshiftOptions"
    assert cmds.objExists("redshiftOptions.abortOnLicenseFail")


def test_creation_procs_need_their_plugin(maya: dict[str, Any], tmp_path: Path) -> None:
    _open(maya, _scene(tmp_path, "redshift", "redshift4maya"))
    with pytest.raises(RuntimeError, match='Cannot find procedure "vrayCreateVRaySettingsNode"'):
        maya["mel"].eval("vrayCreateVRaySettingsNode();")


#: what the simulator must never import: the worker, and the worker's own prediction of
#: where images land (a simulator that used it would agree with the worker by construction)
_FORBIDDEN = (("lrc_toolbox", "worker"), ("lrc_toolbox", "utils", "output_paths"))


def _forbidden_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            parts = tuple(name.split("."))
            if any(parts[: len(bad)] == bad for bad in _FORBIDDEN):
                found.append(name)
    return found


SIM_FILES = sorted(str(p.relative_to(SIM_DIR)) for p in SIM_DIR.rglob("*.py"))


@pytest.mark.parametrize("rel", SIM_FILES)
def test_the_simulator_models_maya_without_the_worker_or_its_prediction(rel: str) -> None:
    assert _forbidden_imports(SIM_DIR / rel) == []


def test_the_import_check_sees_the_prediction(tmp_path: Path) -> None:
    # the checker itself: both spellings of the forbidden import are caught
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from lrc_toolbox.utils import output_paths\nimport lrc_toolbox.worker.session\n"
    )
    assert _forbidden_imports(probe) == [
        "lrc_toolbox.utils.output_paths",
        "lrc_toolbox.worker.session",
    ]


# --------------------------------------------------------------------------- worker


def test_arnold_handler_creates_the_options_node(maya: dict[str, Any]) -> None:
    cmds = _open(maya, NO_OPTIONS)
    ArnoldHandler().configure(cmds, maya["mel"], GPU)
    assert cmds.objExists(OPTS)


def test_arnold_gpu_slot_sets_the_gpu_device(maya: dict[str, Any]) -> None:
    cmds = _open(maya, NO_OPTIONS)
    ArnoldHandler().configure(cmds, maya["mel"], GPU)
    assert cmds.getAttr(f"{OPTS}.renderDevice") == 1


def test_arnold_cpu_slot_sets_the_cpu_device(maya: dict[str, Any]) -> None:
    cmds = _open(maya, SHOT)
    cmds.setAttr(f"{OPTS}.renderDevice", 1)
    ArnoldHandler().configure(cmds, maya["mel"], RenderSettings(device="cpu"))
    assert cmds.getAttr(f"{OPTS}.renderDevice") == 0


def test_arnold_licence_switches_are_set(maya: dict[str, Any]) -> None:
    cmds = _open(maya, NO_OPTIONS)
    ArnoldHandler().configure(cmds, maya["mel"], GPU)
    assert cmds.getAttr(f"{OPTS}.abortOnLicenseFail") == 1
    assert cmds.getAttr(f"{OPTS}.skipLicenseCheck") == 0


def test_arnold_skip_existing_frames_is_turned_off(maya: dict[str, Any]) -> None:
    cmds = _open(maya, SHOT)
    cmds.setAttr("defaultRenderGlobals.skipExistingFrames", True)
    ArnoldHandler().configure(cmds, maya["mel"], GPU)
    assert cmds.getAttr("defaultRenderGlobals.skipExistingFrames") == 0


def test_arnold_gpu_slot_clears_a_manual_gpu_selection(maya: dict[str, Any]) -> None:
    cmds = _open(maya, SHOT)
    cmds.setAttr(f"{OPTS}.manual_gpu_devices", True)
    ArnoldHandler().configure(cmds, maya["mel"], GPU)
    assert cmds.getAttr(f"{OPTS}.manual_gpu_devices") == 0


def test_redshift_handler_creates_its_node_and_licence_switch(
    maya: dict[str, Any], tmp_path: Path
) -> None:
    cmds = _open(maya, _scene(tmp_path, "redshift", "redshift4maya"))
    RedshiftHandler().configure(cmds, maya["mel"], GPU)
    assert cmds.getAttr("redshiftOptions.abortOnLicenseFail") == 1
    assert cmds.getAttr("redshiftOptions.skipExistingFrames") == 0


def test_vray_handler_creates_its_node(maya: dict[str, Any], tmp_path: Path) -> None:
    cmds = _open(maya, _scene(tmp_path, "vray", "vrayformaya"))
    VRayHandler().configure(cmds, maya["mel"], GPU)
    assert cmds.getAttr("vraySettings.vrscene_render_on") == 1


def _refuse(monkeypatch: pytest.MonkeyPatch, plug: str) -> None:
    """Make the simulated Maya refuse one plug the way Maya refuses a locked attribute."""
    sim = runtime.session()
    original = sim.set_attr

    def set_attr(name: str, value: Any) -> None:
        if name == plug:
            raise runtime.MayaError(f"The attribute '{plug}' is locked or connected")
        original(name, value)

    monkeypatch.setattr(sim, "set_attr", set_attr)


def test_a_refused_required_setting_raises_naming_the_plug(
    maya: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    cmds = _open(maya, SHOT)
    _refuse(monkeypatch, f"{OPTS}.skipLicenseCheck")
    with pytest.raises(RendererSettingError, match=rf"{OPTS}\.skipLicenseCheck.*locked"):
        ArnoldHandler().configure(cmds, maya["mel"], GPU)


def test_a_refused_required_setting_fails_the_frame_with_the_reason(
    maya: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    stream = io.StringIO()
    session = WorkerSession(maya["cmds"], maya["mel"], Emitter(stream), settings=GPU)
    session.open_scene(str(SHOT), str(tmp_path / "project"), str(tmp_path / "images"))
    _refuse(monkeypatch, f"{OPTS}.abortOnLicenseFail")
    session.render_frame("BG", 1, RenderOverrides())
    events = [protocol.decode_line(line) for line in stream.getvalue().splitlines()]
    failed = [e for e in events if e is not None and e.name == "frame_failed"]
    assert len(failed) == 1
    assert "abortOnLicenseFail" in failed[0]["reason"] and "locked" in failed[0]["reason"]


# --------------------------------------------------------------------------- end to end


def test_scene_without_options_renders_on_the_slots_gpu(tmp_path: Path) -> None:
    env = sim_env(tmp_path, CUDA_VISIBLE_DEVICES="GPU-5f0e1b2a")
    run = run_worker(
        tmp_path,
        [command("render", layer="BG", frames=[1]), command("quit")],
        scene=NO_OPTIONS,
        env=env,
    )
    assert [e["frame"] for e in run.named("frame_done")] == [1], run.stderr
    assert any(" GPU 0:" in line for line in run.log)
    assert not any(" CPU @ " in line for line in run.log)


def test_redshift_log_level_is_raised_to_the_one_deadline_reads_progress_at(
    maya: dict[str, Any], tmp_path: Path
) -> None:
    cmds = _open(maya, _scene(tmp_path, "redshift", "redshift4maya"))
    RedshiftHandler().configure(cmds, maya["mel"], GPU)
    assert cmds.getAttr("redshiftOptions.logLevel") == 2


def test_vray_keeps_the_colour_and_alpha_channels(maya: dict[str, Any], tmp_path: Path) -> None:
    cmds = _open(maya, _scene(tmp_path, "vray", "vrayformaya"))
    maya["mel"].eval("vrayCreateVRaySettingsNode();")
    cmds.setAttr("vraySettings.dontSaveRgbChannel", 1)
    VRayHandler().configure(cmds, maya["mel"], GPU)
    assert (
        cmds.getAttr("vraySettings.dontSaveRgbChannel"),
        cmds.getAttr("vraySettings.noAlpha"),
    ) == (0, 0)
