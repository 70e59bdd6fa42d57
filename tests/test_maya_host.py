"""``lrc_toolbox.maya_host`` against stand-in ``maya`` modules (real Maya is not installed).

Each test builds the few Maya commands it needs as small explicit fakes and installs them
with ``monkeypatch.setitem(sys.modules, ...)``; the live-session tests use the simulator's
``maya`` stand-in (backed by the .ma reader) for a realistic open scene.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import types
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sim_helpers import SHOT

from lrc_toolbox.config.batch_render_defaults import Settings
from lrc_toolbox.core.batch_lock import process_alive
from lrc_toolbox.core.batch_render_api import BadRequest
from lrc_toolbox.core.service_api import ServiceBatchAPI
from lrc_toolbox.maya_host import scene as live
from lrc_toolbox.maya_host import startup, ui
from lrc_toolbox.records.batch import BatchPlan, BatchSummary
from lrc_toolbox.records.models import BatchState, RenderConfig
from lrc_toolbox.scene.description import SceneDescription
from lrc_toolbox.scene.ma_reader import read_ma
from lrc_toolbox.sim import mayapy, runtime
from lrc_toolbox.sim.config import SimConfig
from lrc_toolbox.utils.temp_file_manager import TempFileManager

TIMEOUT_MS = 90_000

# ====================================================================== fakes


class FakeFileCommand:
    """``cmds.file`` for snapshot tests: a scene name, a modified flag, and every call."""

    def __init__(self, scene: str = "", modified: bool = False) -> None:
        self.scene = scene
        self.modified = modified
        self.calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
        self.export_dirties = False
        self.export_renames_to: str | None = None
        self.export_fails: str | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append((args, dict(kwargs)))
        if kwargs.get("query"):
            if kwargs.get("sceneName"):
                return self.scene
            if kwargs.get("modified"):
                return self.modified
            raise RuntimeError(f"unexpected query {kwargs}")
        if kwargs.get("exportAll"):
            if self.export_fails:
                Path(args[0]).write_text("half", encoding="utf-8")
                raise RuntimeError(self.export_fails)
            Path(args[0]).write_text("//Maya ASCII 2024 scene\n", encoding="utf-8")
            if self.export_dirties:
                self.modified = True
            if self.export_renames_to is not None:
                self.scene = self.export_renames_to
            return args[0]
        if "rename" in kwargs:
            self.scene = kwargs["rename"]
            return self.scene
        if "modified" in kwargs:
            self.modified = bool(kwargs["modified"])
            return None
        raise RuntimeError(f"unexpected file() call {args} {kwargs}")


def file_cmds(scene: str = "", modified: bool = False) -> types.SimpleNamespace:
    return types.SimpleNamespace(file=FakeFileCommand(scene, modified))


def query(flag: str) -> tuple[tuple[Any, ...], dict[str, Any]]:
    return ((), {"query": True, flag: True})


def export_call(path: Path) -> tuple[tuple[Any, ...], dict[str, Any]]:
    return (
        (path.as_posix(),),
        {
            "exportAll": True,
            "preserveReferences": True,
            "exportUnloadedReferences": True,
            "type": "mayaAscii",
            "force": True,
        },
    )


# ====================================================================== snapshots


def test_snapshot_keeps_the_scene_name_and_modified_flag(tmp_path: Path) -> None:
    cmds = file_cmds("/shots/s010/lighting_v003.ma", modified=True)
    path = live.snapshot_current_scene(tmp_path / "out", cmds=cmds)
    assert path == tmp_path / "out" / "lighting_v003.ma"
    assert path.read_text(encoding="utf-8").startswith("//Maya ASCII")
    assert cmds.file.calls == [
        query("sceneName"),
        query("modified"),
        export_call(path),
        query("sceneName"),
        query("modified"),
    ]
    assert (cmds.file.scene, cmds.file.modified) == ("/shots/s010/lighting_v003.ma", True)


def test_snapshot_puts_back_a_modified_flag_the_export_changed(tmp_path: Path) -> None:
    cmds = file_cmds("/shots/s010/lighting_v003.ma", modified=False)
    cmds.file.export_dirties = True  # e.g. a plug-in callback touched the scene
    live.snapshot_current_scene(tmp_path, cmds=cmds)
    assert cmds.file.calls[-1] == ((), {"modified": False})
    assert cmds.file.modified is False


def test_snapshot_puts_back_the_scene_name_if_something_renamed_it(tmp_path: Path) -> None:
    cmds = file_cmds("/shots/s010/lighting_v003.ma", modified=True)
    cmds.file.export_renames_to = str(tmp_path / "lighting_v003.ma")
    live.snapshot_current_scene(tmp_path, cmds=cmds)
    assert ((), {"rename": "/shots/s010/lighting_v003.ma"}) in cmds.file.calls
    assert cmds.file.scene == "/shots/s010/lighting_v003.ma"


def test_an_untitled_scene_is_snapshotted_and_stays_untitled(tmp_path: Path) -> None:
    cmds = file_cmds("", modified=True)
    path = live.snapshot_current_scene(tmp_path, cmds=cmds)
    assert path.name == "untitled.ma" and path.is_file()
    assert not any("rename" in kwargs for _args, kwargs in cmds.file.calls)
    assert (cmds.file.scene, cmds.file.modified) == ("", True)


def test_a_temp_manager_gives_the_snapshot_its_standard_name(tmp_path: Path) -> None:
    temp = TempFileManager(tmp_path / "tmp")
    cmds = file_cmds("/shots/s010/lighting_v003.ma")
    path = live.snapshot_current_scene(temp, layer_name="CHAR", cmds=cmds, now=0)
    assert path.parent == temp.snapshots_dir
    assert path.name.startswith("render_lighting_v003_") and path.name.endswith(
        f"_CHAR_{os.getpid()}.ma"
    )


def test_a_failed_export_leaves_no_file_and_says_the_scene_is_unchanged(tmp_path: Path) -> None:
    cmds = file_cmds("/shots/s010/lighting_v003.ma", modified=True)
    cmds.file.export_fails = "No space left on device"
    with pytest.raises(live.SnapshotError, match="No space left on device") as caught:
        live.snapshot_current_scene(tmp_path, cmds=cmds)
    assert "your scene itself was not changed" in str(caught.value)
    assert not (tmp_path / "lighting_v003.ma").exists()
    assert cmds.file.modified is True


def test_the_snapshot_is_made_with_maya_cmds_when_none_is_given(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake = types.ModuleType("maya")
    fake.cmds = file_cmds("/shots/a.ma")  # type: ignore[attr-defined]
    fake.mel = types.ModuleType("maya.mel")  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "maya", fake)
    monkeypatch.setitem(sys.modules, "maya.cmds", fake.cmds)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "maya.mel", fake.mel)  # type: ignore[attr-defined]
    assert live.snapshot_current_scene(tmp_path).name == "a.ma"


# ====================================================================== the live session


@pytest.fixture
def session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[types.SimpleNamespace]:
    """The simulator's ``maya`` stand-in, in this process, with SHOT open as an artist's
    scene (``shot_v003.ma`` in a project at ``tmp_path``). Its ``cmds.file`` also answers
    ``modified`` and ``exportAll`` (the simulator's worker never needs them) and switching
    layers marks the scene modified, as it can in Maya."""
    monkeypatch.chdir(tmp_path)  # the simulated session's project
    monkeypatch.setenv("LRC_SIM_TIME_SCALE", "0.002")
    monkeypatch.setenv("LRC_SIM_STATE_DIR", str(tmp_path / "sim-state"))
    saved = {n: m for n, m in sys.modules.items() if n == "maya" or n.startswith("maya.")}
    mayapy.install_stub()
    runtime.reset_session(SimConfig(time_scale=0.0, startup=0.0))
    import maya
    import maya.cmds as sim_cmds
    import maya.mel as mel
    import maya.standalone as standalone

    standalone.initialize(name="python")
    artist_scene = tmp_path / "scenes" / "shot_v003.ma"
    artist_scene.parent.mkdir()
    shutil.copyfile(SHOT, artist_scene)
    sim_cmds.file(str(artist_scene), open=True, force=True)
    state = types.SimpleNamespace(modified=False, exports=[], scene=artist_scene)

    def file(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("query") and kwargs.get("modified"):
            return state.modified
        if "modified" in kwargs and not kwargs.get("query"):
            state.modified = bool(kwargs["modified"])
            return None
        if kwargs.get("exportAll"):
            shutil.copyfile(runtime.session().scene_path, args[0])
            state.exports.append(args[0])
            return args[0]
        return sim_cmds.file(*args, **kwargs)

    def edit_render_layer_globals(*args: Any, **kwargs: Any) -> Any:
        if not kwargs.get("query"):
            state.modified = True
        return sim_cmds.editRenderLayerGlobals(*args, **kwargs)

    cmds = types.ModuleType("maya.cmds")
    for name in dir(sim_cmds):
        if not name.startswith("_"):
            setattr(cmds, name, getattr(sim_cmds, name))
    cmds.file = file  # type: ignore[attr-defined]
    cmds.editRenderLayerGlobals = edit_render_layer_globals  # type: ignore[attr-defined]
    sys.modules["maya.cmds"] = cmds
    maya.cmds = cmds  # type: ignore[attr-defined]
    state.cmds, state.mel = cmds, mel
    yield state
    for name in [n for n in sys.modules if n == "maya" or n.startswith("maya.")]:
        del sys.modules[name]
    sys.modules.update(saved)
    sys.path.remove(mayapy.STUB_DIR)


def test_live_source_describes_the_open_scene_as_maya_sees_it(
    session: types.SimpleNamespace,
) -> None:
    described = live.LiveSessionSource().describe()
    from_file = read_ma(SHOT)
    assert [(la.name, la.renderable, la.frames) for la in described.layers] == [
        (la.name, la.renderable, la.frames) for la in from_file.layers
    ]
    assert described.path == str(session.scene)


def test_describing_does_not_leave_the_scene_modified(session: types.SimpleNamespace) -> None:
    live.LiveSessionSource().describe()
    assert session.modified is False


def test_live_source_delegates_to_describe_open_scene(monkeypatch: pytest.MonkeyPatch) -> None:
    cmds, mel = file_cmds("/shots/a.ma"), object()
    seen: list[tuple[Any, Any]] = []
    answer = object()

    def describe(c: Any, m: Any) -> Any:
        seen.append((c, m))
        return answer

    monkeypatch.setattr(live, "describe_open_scene", describe)
    assert live.LiveSessionSource(cmds, mel).describe() is answer
    assert seen == [(cmds, mel)]


def test_a_describe_failure_becomes_a_scene_source_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(_c: Any, _m: Any) -> Any:
        raise RuntimeError("No object matches name: rs_BG.renderable")

    monkeypatch.setattr(live, "describe_open_scene", broken)
    from lrc_toolbox.scene.scene_source import SceneSourceError

    with pytest.raises(SceneSourceError, match="render layers of the open Maya scene"):
        live.LiveSessionSource(file_cmds("/a.ma"), object()).describe()


def make_api(tmp_path: Path) -> live.LiveSessionBatchAPI:
    settings = Settings(
        simulate_gpus=3,
        temp_root=str(tmp_path / "tmp"),
        job_store_path=str(tmp_path / "jobs.sqlite"),
        stop_grace_seconds=1.0,
        min_free_disk_mb=0,
        warn_free_disk_mb=0,
    )
    return live.LiveSessionBatchAPI(settings, simulate=True)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[live.LiveSessionBatchAPI]:
    instance = make_api(tmp_path)
    yield instance
    instance.shutdown()


def test_an_empty_scene_or_the_open_file_means_the_live_session(
    session: types.SimpleNamespace, api: live.LiveSessionBatchAPI
) -> None:
    assert api.follows_session(RenderConfig(scene=""))
    assert api.follows_session(RenderConfig(scene=str(session.scene)))
    assert not api.follows_session(RenderConfig(scene=str(SHOT)))


@pytest.mark.qt
def test_the_live_session_renders_with_the_artists_scene_name_and_project(
    qtbot: Any, session: types.SimpleNamespace, api: live.LiveSessionBatchAPI, tmp_path: Path
) -> None:
    session.modified = True  # unsaved changes in Maya
    plans: list[BatchPlan] = []
    api.batch_started.connect(lambda _id, plan: plans.append(plan))
    with qtbot.waitSignal(api.batch_finished, timeout=TIMEOUT_MS) as finished:
        api.start_batch_render(RenderConfig(scene="", layers=["CHAR"], frames="1-2"))
    summary = finished.args[0]
    assert isinstance(summary, BatchSummary) and summary.state is BatchState.DONE
    assert plans[0].scene_name == "shot_v003"
    assert plans[0].project == str(tmp_path)
    assert plans[0].output_dir == str(tmp_path / "images")
    assert sorted(p.name for p in (tmp_path / "images" / "shot_v003" / "CHAR").iterdir()) == [
        "CHAR.0001.exr",
        "CHAR.0002.exr",
    ]
    # the artist's scene is as it was: same name, still modified, never written to
    assert session.cmds.file(query=True, sceneName=True) == str(session.scene)
    assert session.modified is True
    assert session.scene.read_bytes() == SHOT.read_bytes()


def test_the_dashboard_reads_the_live_scene_or_a_file(
    session: types.SimpleNamespace, api: live.LiveSessionBatchAPI
) -> None:
    from lrc_toolbox.scene.scene_source import MayaAsciiSource

    assert isinstance(api.scene_source(""), live.LiveSessionSource)
    assert isinstance(api.scene_source(str(session.scene)), live.LiveSessionSource)
    assert isinstance(api.scene_source(str(SHOT)), MayaAsciiSource)
    assert api.session_scene_path() == str(session.scene)
    assert [la.name for la in api.describe_session().layers][:2] == ["masterLayer", "BG"]


def test_a_file_on_disk_is_rendered_as_the_base_api_does(
    session: types.SimpleNamespace, api: live.LiveSessionBatchAPI
) -> None:
    plan = api.plan_batch(RenderConfig(scene=str(SHOT), frames="1")).plan
    assert plan.scene_name == "shot010_lighting"
    assert session.exports == []


def test_planning_the_live_session_uses_a_throwaway_snapshot(
    session: types.SimpleNamespace, api: live.LiveSessionBatchAPI, tmp_path: Path
) -> None:
    plan = api.plan_batch(RenderConfig(scene="", frames="3")).plan
    assert plan.scene_name == "shot_v003" and plan.project == str(tmp_path)
    assert set(plan.frames_by_layer) == {"BG", "CHAR"}
    assert plan.config.scene == ""
    assert not any((api.temp.root / live.LIVE_EXPORTS_DIR).iterdir())


def test_the_live_session_can_be_planned_for_another_machine(
    session: types.SimpleNamespace, api: live.LiveSessionBatchAPI
) -> None:
    planned = api.plan_batch(RenderConfig(scene="", layers=["BG"], frames="1-3"), local=False)
    assert planned.plan.frames_by_layer == {"BG": [1, 2, 3]}
    assert [layer.name for layer in planned.scene.layers][:2] == ["masterLayer", "BG"]


@pytest.mark.qt
def test_the_history_names_the_artists_scene_and_project_not_the_export(
    qtbot: Any, session: types.SimpleNamespace, api: live.LiveSessionBatchAPI, tmp_path: Path
) -> None:
    with qtbot.waitSignal(api.batch_finished, timeout=TIMEOUT_MS):
        batch = api.start_batch_render(RenderConfig(scene="", layers=["CHAR"], frames="1"))
    config = api.store.get_batch(batch).config
    assert config.scene_name == "shot_v003" and config.project == str(tmp_path)


def test_an_export_keeps_the_scene_name_the_request_gives(
    session: types.SimpleNamespace, api: live.LiveSessionBatchAPI
) -> None:
    config = RenderConfig(scene="", frames="3", scene_name="shot_v003_fix")
    assert api.plan_batch(config).plan.scene_name == "shot_v003_fix"


def test_a_bad_request_is_refused_before_the_scene_is_exported(
    session: types.SimpleNamespace, api: live.LiveSessionBatchAPI
) -> None:
    with pytest.raises(BadRequest, match="frames"):
        api.start_batch_render(RenderConfig(scene="", frames="10-1x"))
    assert session.exports == []


def test_a_batch_that_cannot_start_leaves_no_export_behind(
    session: types.SimpleNamespace, api: live.LiveSessionBatchAPI
) -> None:
    with pytest.raises(BadRequest, match="NOPE"):
        api.start_batch_render(RenderConfig(scene="", layers=["NOPE"]))
    assert len(session.exports) == 1
    assert not any((api.temp.root / live.LIVE_EXPORTS_DIR).iterdir())


def test_old_exports_no_batch_needs_are_pruned(tmp_path: Path) -> None:
    api = make_api(tmp_path)
    exports = api.temp.root / live.LIVE_EXPORTS_DIR
    old, needed, young = (exports / n for n in ("old", "needed", "young"))
    for folder in (old, needed, young):
        folder.mkdir(parents=True)
        (folder / "shot.ma").write_text("//Maya ASCII\n", encoding="utf-8")
    an_hour_ago = time.time() - 2 * live.PRUNE_MIN_AGE_SECONDS
    for folder in (old, needed):
        os.utime(folder, (an_hour_ago, an_hour_ago))
    config = RenderConfig(scene=str(needed / "shot.ma"))
    batch = api.store.create_batch(config, {"BG": [1]}, scene="x", snapshot="y", now=time.time())
    api.store.set_batch_state(batch, BatchState.INTERRUPTED)
    assert live.prune_session_exports(api) == [old]
    assert needed.is_dir() and young.is_dir() and not old.exists()


def test_the_origin_of_an_export_is_read_back(tmp_path: Path) -> None:
    cmds = file_cmds("/shots/s010/lighting_v003.ma", modified=True)
    cmds.workspace = lambda *a, **k: (  # type: ignore[attr-defined]
        "/shots/" if k.get("rootDirectory") else ("images" if "fileRuleEntry" in k else "/r")
    )
    export = live.export_session(tmp_path, cmds=cmds)
    assert export.path.name == "lighting_v003.ma"
    origin = live.read_origin(tmp_path, str(export.path))
    assert origin is not None and origin.scene_name == "lighting_v003"
    assert origin.project == os.path.normpath("/shots/")
    assert json.loads((export.folder / live.ORIGIN_FILE).read_text("utf-8"))["scene_path"]
    assert live.read_origin(tmp_path, str(SHOT)) is None


# ====================================================================== UI: parent and dock


@pytest.fixture
def maya_ui(monkeypatch: pytest.MonkeyPatch, qtbot: Any) -> types.SimpleNamespace:
    """``maya.cmds`` (workspaceControl, deleteUI), ``maya.OpenMayaUI.MQtUtil`` and
    ``maya.app.general.mayaMixin.MayaQWidgetDockableMixin`` stand-ins over real widgets."""
    from Qt import QtCompat, QtWidgets

    main = QtWidgets.QMainWindow()
    main.setObjectName("MayaWindow")
    qtbot.addWidget(main)
    restored_control = QtWidgets.QWidget()
    restored_control.setObjectName("lrcBatchRenderManagerWorkspaceControl")
    qtbot.addWidget(restored_control)
    record = types.SimpleNamespace(
        shows=[], controls=set(), edits=[], deleted=[], added=[], dashboards=[]
    )

    class MQtUtil:
        @staticmethod
        def mainWindow() -> int:
            return int(QtCompat.getCppPointer(main))

        @staticmethod
        def getCurrentParent() -> int:
            return int(QtCompat.getCppPointer(restored_control))

        @staticmethod
        def findControl(name: str) -> int | None:
            for widget in QtWidgets.QApplication.allWidgets():
                if widget.objectName() == name:
                    return int(QtCompat.getCppPointer(widget))
            return None

        @staticmethod
        def addWidgetToMayaLayout(child: int, parent: int) -> None:
            record.added.append((child, parent))
            widget = QtCompat.wrapInstance(child, QtWidgets.QWidget)
            widget.setParent(QtCompat.wrapInstance(parent, QtWidgets.QWidget))

    class MayaQWidgetDockableMixin:
        """Maya's mixin shows the widget inside a new ``<objectName>WorkspaceControl``."""

        def __init__(self, parent: Any = None, *args: Any, **kwargs: Any) -> None:
            super().__init__(parent, *args, **kwargs)  # type: ignore[call-arg]

        def show(self, *args: Any, **kwargs: Any) -> None:
            record.shows.append(kwargs)
            record.controls.add(f"{self.objectName()}WorkspaceControl")  # type: ignore[attr-defined]
            QtWidgets.QWidget.show(self)  # type: ignore[arg-type]

    def workspace_control(name: str, **kwargs: Any) -> Any:
        if kwargs.get("query") and kwargs.get("exists"):
            return name in record.controls
        record.edits.append((name, kwargs))
        return name

    def delete_ui(name: str, **_kwargs: Any) -> None:
        record.deleted.append(name)
        record.controls.discard(name)

    class Dashboard(QtWidgets.QDialog):
        def __init__(self, api: Any, parent: Any = None) -> None:
            super().__init__(parent)
            self.api = api
            record.dashboards.append(self)

    cmds = types.ModuleType("maya.cmds")
    cmds.workspaceControl = workspace_control  # type: ignore[attr-defined]
    cmds.deleteUI = delete_ui  # type: ignore[attr-defined]
    omui = types.ModuleType("maya.OpenMayaUI")
    omui.MQtUtil = MQtUtil  # type: ignore[attr-defined]
    mixin = types.ModuleType("maya.app.general.mayaMixin")
    mixin.MayaQWidgetDockableMixin = MayaQWidgetDockableMixin  # type: ignore[attr-defined]
    maya = types.ModuleType("maya")
    maya.cmds, maya.OpenMayaUI = cmds, omui  # type: ignore[attr-defined]
    for name, module in {
        "maya": maya,
        "maya.cmds": cmds,
        "maya.OpenMayaUI": omui,
        "maya.app": types.ModuleType("maya.app"),
        "maya.app.general": types.ModuleType("maya.app.general"),
        "maya.app.general.mayaMixin": mixin,
    }.items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(ui, "dialog_factory", Dashboard)
    monkeypatch.setattr(ui, "_window", None)
    monkeypatch.setattr(ui, "_api", None)
    record.main, record.restored_control, record.qtbot = main, restored_control, qtbot
    return record


def test_the_main_window_is_wrapped_from_maya_s_pointer(maya_ui: types.SimpleNamespace) -> None:
    window = ui.maya_main_window()
    assert window is not None and window.objectName() == "MayaWindow"


def test_docking_shows_one_window_and_raises_it_the_second_time(
    maya_ui: types.SimpleNamespace,
) -> None:
    api = object()
    first = ui.show_batch_render(api=api)
    maya_ui.qtbot.addWidget(first)
    assert maya_ui.shows == [
        {"dockable": True, "retain": False, "uiScript": ui.RESTORE_SCRIPT},
    ]
    assert first.objectName() == ui.OBJECT_NAME
    assert f"{ui.OBJECT_NAME}WorkspaceControl" == ui.WORKSPACE_CONTROL
    assert len(maya_ui.dashboards) == 1 and maya_ui.dashboards[0].api is api
    second = ui.show_batch_render(api=api)
    assert second is first
    assert len(maya_ui.dashboards) == 1 and len(maya_ui.shows) == 1
    assert maya_ui.edits == [(ui.WORKSPACE_CONTROL, {"edit": True, "restore": True})]


def test_closing_the_dashboard_hides_the_dock_and_showing_brings_it_back(
    maya_ui: types.SimpleNamespace,
) -> None:
    window = ui.show_batch_render(api=object())
    maya_ui.qtbot.addWidget(window)
    dashboard = maya_ui.dashboards[0]
    dashboard.reject()  # Close / Esc / "keep rendering in the background"
    assert maya_ui.edits[-1] == (ui.WORKSPACE_CONTROL, {"edit": True, "visible": False})
    assert ui.show_batch_render(api=object()) is window
    assert dashboard.isVisible() and len(maya_ui.dashboards) == 1


def test_a_stale_workspace_control_is_replaced(maya_ui: types.SimpleNamespace) -> None:
    maya_ui.controls.add(ui.WORKSPACE_CONTROL)  # restored from last session's workspace
    window = ui.show_batch_render(api=object())
    maya_ui.qtbot.addWidget(window)
    assert maya_ui.deleted == [ui.WORKSPACE_CONTROL]
    assert len(maya_ui.shows) == 1


def test_a_closed_dock_is_rebuilt_on_the_next_call(maya_ui: types.SimpleNamespace) -> None:
    from Qt import QtCompat

    first = ui.show_batch_render(api=object())
    QtCompat.delete(first)  # Maya deletes the widget when a retain=False control closes
    maya_ui.controls.clear()
    second = ui.show_batch_render(api=object())
    maya_ui.qtbot.addWidget(second)
    assert second is not first and len(maya_ui.dashboards) == 2


def test_without_docking_the_window_is_parented_to_maya(maya_ui: types.SimpleNamespace) -> None:
    window = ui.show_batch_render(dock=False, api=object())
    assert window.parent() is not None and window.parent().objectName() == "MayaWindow"
    assert window.isWindow() and window.isVisible()
    assert maya_ui.shows == []
    assert ui.show_batch_render(dock=False, api=object()) is window


def test_restore_puts_the_dashboard_into_the_restored_control(
    maya_ui: types.SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    sentinel = object()
    monkeypatch.setattr(ui, "shared_api", lambda: sentinel)
    window = ui.restore_batch_render()
    assert window.parent() is maya_ui.restored_control
    assert maya_ui.dashboards[0].api is sentinel
    assert len(maya_ui.added) == 1 and maya_ui.shows == []


def test_the_real_dashboard_gets_the_live_session_hooks(
    maya_ui: types.SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lrc_toolbox.ui.dialogs import batch_render_dialog

    made: list[tuple[Any, dict[str, Any]]] = []

    def dialog(api: Any, **kwargs: Any) -> Any:
        made.append((api, kwargs))
        return maya_ui.main  # any widget

    monkeypatch.setattr(batch_render_dialog, "BatchRenderDialog", dialog)
    monkeypatch.setattr(ui, "dialog_factory", None)
    api = live.LiveSessionBatchAPI.__new__(live.LiveSessionBatchAPI)  # no Qt/Maya set-up
    ui._make_dashboard(api, None)
    (got_api, kwargs) = made[0]
    assert got_api is api and kwargs["parent"] is None
    assert kwargs["scene_source_factory"] == api.scene_source
    assert kwargs["current_scene"] == api.session_scene_path


@pytest.mark.qt
def test_the_real_dashboard_opens_on_the_live_session(
    qtbot: Any, session: types.SimpleNamespace, api: live.LiveSessionBatchAPI
) -> None:
    dashboard = ui._make_dashboard(api, None)
    qtbot.addWidget(dashboard)
    assert dashboard.api is api


@pytest.mark.parametrize("service", [True, False])
def test_the_session_has_one_shared_api_on_real_mayapy(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, service: bool
) -> None:
    monkeypatch.setenv("LRC_TEMP_ROOT", str(tmp_path / "tmp"))  # no service runs there
    monkeypatch.setenv("LRC_RENDER_SERVICE", "1" if service else "0")
    monkeypatch.setattr(ui, "_api", None)
    assert ui.current_api() is None
    first = ui.shared_api()
    try:
        assert ui.shared_api() is first and ui.current_api() is first
        assert isinstance(first, live.LiveSessionBatchAPI) and first.simulate is False
        # with the render service (the default) the batch renders beside Maya
        assert isinstance(first, ServiceBatchAPI) is service
        assert first.manager is None and not first.is_running
    finally:
        first.shutdown()


def test_the_package_entry_point_shows_the_dashboard(maya_ui: types.SimpleNamespace) -> None:
    import lrc_toolbox

    window = lrc_toolbox.show_batch_render(api=object())
    maya_ui.qtbot.addWidget(window)
    assert window is ui.current_window()


def test_importing_the_package_stays_light() -> None:
    code = (
        "import sys, lrc_toolbox; "
        "heavy = [m for m in ('lrc_toolbox.api', 'Qt', 'lrc_toolbox.maya_host.ui') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_the_public_api_re_exports_the_supported_names() -> None:
    import lrc_toolbox.api as api
    from lrc_toolbox.core.batch_render_api import BatchRenderAPI
    from lrc_toolbox.records.frame_parser import parse_frames

    assert api.BatchRenderAPI is BatchRenderAPI and api.parse_frames is parse_frames
    assert {"show_batch_render", "RenderConfig", "format_frames"} <= set(api.__all__)


# ====================================================================== start-up


class FakeUI:
    """``maya.cmds`` menus, shelves and scriptJobs, with ``maya.mel`` for the shelf bar."""

    def __init__(self, batch: bool = False) -> None:
        self.batch = batch
        self.menus: dict[str, dict[str, Any]] = {}
        self.items: list[dict[str, Any]] = []
        self.shelves: dict[str, list[str]] = {}
        self.buttons: dict[str, dict[str, Any]] = {}
        self.jobs: dict[int, Any] = {}
        self.deleted: list[str] = []
        self.dialogs: list[dict[str, Any]] = []
        self._count = 0

    def about(self, **kwargs: Any) -> Any:
        assert kwargs == {"batch": True}
        return self.batch

    def menu(self, name: str, **kwargs: Any) -> Any:
        if kwargs.get("exists"):
            return name in self.menus
        self.menus[name] = kwargs
        return name

    def menuItem(self, **kwargs: Any) -> str:
        self.items.append(kwargs)
        return f"item{len(self.items)}"

    def deleteUI(self, name: str, **kwargs: Any) -> None:
        self.deleted.append(name)
        if kwargs.get("menu"):
            self.menus.pop(name)
            self.items = [i for i in self.items if i.get("parent") != name]
            return
        for children in self.shelves.values():
            short = name.rsplit("|", 1)[-1]
            if short in children:
                children.remove(short)
                self.buttons.pop(short)

    def shelfTabLayout(self, name: str, **kwargs: Any) -> bool:
        return name == "ShelfLayout" and bool(kwargs.get("exists"))

    def shelfLayout(self, name: str, **kwargs: Any) -> Any:
        if kwargs.get("exists"):
            return name in self.shelves
        if kwargs.get("query"):
            if kwargs.get("fullPathName"):
                return f"MayaWindow|ShelfLayout|{name}"
            return list(self.shelves[name]) or None
        assert kwargs == {"parent": "ShelfLayout"}
        self.shelves[name] = []
        return name

    def shelfButton(self, *args: Any, **kwargs: Any) -> Any:
        if args:
            short = args[0].rsplit("|", 1)[-1]
            if short not in self.buttons:
                raise RuntimeError(f"Object's name '{args[0]}' is not a shelfButton")
            if kwargs.get("query"):
                (flag,) = (k for k in kwargs if k != "query")
                return self.buttons[short].get(flag, "")
            assert kwargs.pop("edit")
            self.buttons[short].update(kwargs)
            return args[0]
        self._count += 1
        short = f"shelfButton{self._count}"
        shelf = kwargs["parent"].rsplit("|", 1)[-1]
        self.shelves[shelf].append(short)
        self.buttons[short] = kwargs
        return f"{kwargs['parent']}|{short}"

    def separator(self, shelf: str) -> None:
        self._count += 1
        self.shelves[shelf].append(f"separator{self._count}")

    def scriptJob(self, **kwargs: Any) -> Any:
        if "exists" in kwargs:
            return kwargs["exists"] in self.jobs
        self._count += 1
        self.jobs[self._count] = kwargs
        return self._count

    def confirmDialog(self, **kwargs: Any) -> str:
        self.dialogs.append(kwargs)
        return "OK"


class FakeMel:
    def __init__(self, top: str = "ShelfLayout") -> None:
        self.top = top
        self.evaluated: list[str] = []

    def eval(self, text: str) -> str:
        self.evaluated.append(text)
        assert "$gShelfTopLevel" in text
        return self.top


@pytest.fixture
def fresh_startup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(startup, "_quit_job", None)


def test_the_menu_is_created_in_maya_s_main_menu_bar() -> None:
    cmds = FakeUI()
    startup.install_menu(cmds)
    assert cmds.menus == {
        startup.MENU_NAME: {"label": "LRC Toolbox", "parent": "MayaWindow", "tearOff": True}
    }
    labels = [item.get("label") for item in cmds.items]
    assert labels == ["Batch Render Manager", None, "About"]


def test_the_menu_is_rebuilt_not_duplicated() -> None:
    cmds = FakeUI()
    startup.install_menu(cmds)
    startup.install_menu(cmds)
    assert list(cmds.menus) == [startup.MENU_NAME]
    assert len(cmds.items) == 3 and cmds.deleted == [startup.MENU_NAME]


def test_the_about_item_names_the_version() -> None:
    import lrc_toolbox

    cmds = FakeUI()
    startup.install_menu(cmds)
    about = next(i for i in cmds.items if i.get("label") == "About")
    original = startup._cmds
    startup._cmds = lambda: cmds  # type: ignore[assignment]
    try:
        about["command"](False)
    finally:
        startup._cmds = original  # type: ignore[assignment]
    assert lrc_toolbox.__version__ in cmds.dialogs[0]["message"]


def test_the_shelf_and_its_button_are_created_when_missing() -> None:
    cmds, mel = FakeUI(), FakeMel()
    button = startup.install_shelf_button(cmds, mel)
    assert list(cmds.shelves) == ["LRC"] and button is not None
    (settings,) = cmds.buttons.values()
    assert settings["command"] == "import lrc_toolbox; lrc_toolbox.show_batch_render()"
    assert settings["sourceType"] == "python" and settings["label"] == startup.SHELF_LABEL


def test_the_shelf_button_is_updated_in_place_not_duplicated() -> None:
    cmds, mel = FakeUI(), FakeMel()
    cmds.shelves["LRC"] = []
    cmds.separator("LRC")
    old = startup.install_shelf_button(cmds, mel)
    cmds.buttons[old.rsplit("|", 1)[-1]]["command"] = "print('old version')"
    again = startup.install_shelf_button(cmds, mel)
    assert again == old and len(cmds.buttons) == 1
    assert next(iter(cmds.buttons.values()))["command"] == startup.SHELF_COMMAND


def test_duplicate_buttons_from_older_installs_are_merged() -> None:
    cmds, mel = FakeUI(), FakeMel()
    cmds.shelves["LRC"] = []
    for _ in range(2):
        cmds.shelfButton(parent="MayaWindow|ShelfLayout|LRC", annotation=startup.SHELF_ANNOTATION)
    startup.install_shelf_button(cmds, mel)
    assert len(cmds.buttons) == 1 and len(cmds.deleted) == 1


def test_no_shelf_bar_means_no_button_and_no_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert startup.install_shelf_button(FakeUI(), FakeMel(top="")) is None
    assert "shelf button was not added" in capsys.readouterr().out


def test_startup_builds_menu_shelf_and_one_quit_handler(fresh_startup: None) -> None:
    cmds, mel = FakeUI(), FakeMel()
    assert startup.startup(cmds, mel, env={}) is True
    assert startup.startup(cmds, mel, env={}) is True
    assert list(cmds.menus) == [startup.MENU_NAME] and len(cmds.buttons) == 1
    (job,) = cmds.jobs.values()
    assert job["event"][0] == "quitApplication" and callable(job["event"][1])


def test_startup_does_nothing_in_batch_mode(fresh_startup: None) -> None:
    cmds = FakeUI(batch=True)
    assert startup.startup(cmds, FakeMel(), env={}) is False
    assert cmds.menus == {} and cmds.shelves == {} and cmds.jobs == {}


def test_startup_does_nothing_in_a_render_worker(fresh_startup: None) -> None:
    cmds = FakeUI(batch=False)  # even if a worker were not in batch mode
    assert startup.startup(cmds, FakeMel(), env={"LRC_WORKER_ID": "gpu1"}) is False
    assert cmds.menus == {} and cmds.jobs == {}


def test_one_broken_piece_does_not_stop_the_others(
    fresh_startup: None, capsys: pytest.CaptureFixture[str]
) -> None:
    cmds = FakeUI()

    def broken_menu(*_a: Any, **_k: Any) -> Any:
        raise RuntimeError("menu bar not ready")

    cmds.menu = broken_menu  # type: ignore[method-assign]
    assert startup.startup(cmds, FakeMel(), env={}) is True
    assert len(cmds.buttons) == 1 and len(cmds.jobs) == 1
    assert "menu could not be set up: menu bar not ready" in capsys.readouterr().out


# ====================================================================== quit


class RunningAPI:
    def __init__(self, running: bool = True) -> None:
        self.is_running = running
        self.batch_id = "20240101-abcdef"
        self.settings = Settings()
        self.calls: list[str] = []

    def shutdown(self) -> None:
        self.calls.append("shutdown")
        self.is_running = False


def test_quitting_stops_a_running_batch_by_default() -> None:
    api = RunningAPI()
    handed: list[str] = []
    done = startup.on_maya_quit(api, hand_off=lambda _a, b: handed.append(b) or 1)
    assert api.calls == ["shutdown"] and handed == []
    assert "lrc-batch-render resume 20240101-abcdef" in done


def test_quitting_with_keep_rendering_hands_the_batch_over() -> None:
    api = RunningAPI()
    handed: list[str] = []
    done = startup.on_maya_quit(api, keep=True, hand_off=lambda _a, b: handed.append(b) or 4242)
    assert api.calls == ["shutdown"] and handed == ["20240101-abcdef"]
    assert "background (manager pid 4242)" in done


def test_a_failed_hand_over_still_leaves_the_batch_resumable() -> None:
    def refuse(_api: Any, _batch: str) -> int:
        raise FileNotFoundError("mayapy")

    done = startup.on_maya_quit(RunningAPI(), keep=True, hand_off=refuse)
    assert "could not keep batch" in done and "resume 20240101-abcdef" in done


class ServiceRunningAPI(ServiceBatchAPI):
    """A service-backed API whose service renders batch 20240101-abcdef (no service)."""

    def __init__(self, settings: Settings | None = None, running: bool = True) -> None:
        super().__init__(settings or Settings(), simulate=True, attach=False)
        self._fake_running = running
        self.batch_id = "20240101-abcdef"
        self.calls: list[str] = []

    @property
    def is_running(self) -> bool:
        return self._fake_running

    @property
    def service_pid(self) -> int | None:
        return 5150

    def stop_batch(self, batch_id: str) -> bool:
        self.calls.append(f"stop {batch_id}")
        return True

    def shutdown(self) -> None:
        self.calls.append("shutdown")
        super().shutdown()


def never_hand_off(_api: Any, _batch: str) -> int:
    raise AssertionError("with the render service nothing is handed off")


def test_quitting_with_the_service_asks_and_keeps_the_batch_rendering() -> None:
    api = ServiceRunningAPI()
    asked: list[str] = []
    done = startup.on_maya_quit(
        api, hand_off=never_hand_off, ask=lambda batch: asked.append(batch) or True
    )
    assert asked == ["20240101-abcdef"] and api.calls == ["shutdown"]  # detached, not stopped
    assert "goes on rendering in the render service (pid 5150)" in done
    assert "Batch Render Manager" in done
    assert "lrc-batch-render status --follow 20240101-abcdef" in done


def test_quitting_with_the_service_and_stop_stops_the_batch_through_it() -> None:
    api = ServiceRunningAPI()
    done = startup.on_maya_quit(api, hand_off=never_hand_off, ask=lambda _batch: False)
    assert api.calls == ["stop 20240101-abcdef", "shutdown"]
    assert "stopped batch 20240101-abcdef" in done
    assert "lrc-batch-render resume 20240101-abcdef" in done


def test_without_a_ui_to_ask_the_preference_decides_and_keeps_by_default() -> None:
    def cannot_ask(_batch: str) -> None:
        return None

    api = ServiceRunningAPI()
    assert "goes on rendering" in startup.on_maya_quit(api, ask=cannot_ask)
    assert api.calls == ["shutdown"]
    api = ServiceRunningAPI(Settings(keep_rendering_on_quit=False))
    assert "stopped batch" in startup.on_maya_quit(api, ask=cannot_ask)
    assert api.calls == ["stop 20240101-abcdef", "shutdown"]


def test_quitting_with_the_service_and_no_batch_only_detaches() -> None:
    api = ServiceRunningAPI(running=False)
    asked: list[str] = []
    assert startup.on_maya_quit(api, ask=lambda b: asked.append(b) or True) == "no batch running"
    assert api.calls == ["shutdown"] and asked == []


class QuitDialogCmds:
    """``cmds.about`` and ``cmds.confirmDialog``: answers as the artist would."""

    def __init__(self, answer: str | None, batch: bool = False) -> None:
        self.answer, self.batch = answer, batch
        self.dialogs: list[dict[str, Any]] = []

    def about(self, batch: bool = False) -> bool:
        return self.batch

    def confirmDialog(self, **kwargs: Any) -> str:  # Maya's name
        self.dialogs.append(kwargs)
        return self.answer if self.answer is not None else str(kwargs["dismissString"])


def test_the_quit_question_keeps_rendering_for_enter_escape_and_the_default() -> None:
    cmds = QuitDialogCmds(answer=None)  # Esc / window closed: the dismiss string
    assert startup.ask_keep_rendering("20240101-abcdef", cmds) is True
    dialog = cmds.dialogs[0]
    assert dialog["button"] == [startup.QUIT_KEEP, startup.QUIT_STOP]
    assert dialog["defaultButton"] == dialog["cancelButton"] == startup.QUIT_KEEP
    assert "lrc-batch-render status --follow 20240101-abcdef" in dialog["message"]
    assert "Batch Render Manager" in dialog["message"]
    assert startup.ask_keep_rendering("x", QuitDialogCmds(startup.QUIT_KEEP)) is True
    assert startup.ask_keep_rendering("x", QuitDialogCmds(startup.QUIT_STOP)) is False
    batch = QuitDialogCmds(startup.QUIT_STOP, batch=True)  # maya -batch: nobody to ask
    assert startup.ask_keep_rendering("x", batch) is None and batch.dialogs == []


def test_quitting_without_a_batch_only_tidies_up() -> None:
    api = RunningAPI(running=False)
    assert startup.on_maya_quit(api) == "no batch running"
    assert api.calls == ["shutdown"]


def test_quitting_before_the_tool_was_used_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ui, "_api", None)
    assert startup.on_maya_quit() == "nothing to do"


def test_keep_rendering_comes_from_the_prefs_file_then_the_variable(tmp_path: Path) -> None:
    prefs = tmp_path / "batch_render.json"
    assert startup.keep_rendering_on_quit(env={}, prefs_file=prefs) is False
    prefs.write_text(json.dumps({"keep_rendering_on_quit": True}), encoding="utf-8")
    assert startup.keep_rendering_on_quit(env={}, prefs_file=prefs) is True
    env = {"LRC_KEEP_RENDERING_ON_QUIT": "0"}
    assert startup.keep_rendering_on_quit(env=env, prefs_file=prefs) is False
    env = {"LRC_KEEP_RENDERING_ON_QUIT": "yes"}
    assert startup.keep_rendering_on_quit(env=env, prefs_file=tmp_path / "none.json") is True
    settings = types.SimpleNamespace(keep_rendering_on_quit=False)  # the Settings field wins
    assert startup.keep_rendering_on_quit(settings, env=env, prefs_file=prefs) is False


def test_keep_rendering_is_the_default_only_with_the_render_service(tmp_path: Path) -> None:
    none = tmp_path / "none.json"
    assert Settings().keep_rendering_on_quit is None and Settings().render_service is True
    assert startup.keep_rendering_on_quit(Settings(), env={}, prefs_file=none) is True
    local = Settings(render_service=False)
    assert startup.keep_rendering_on_quit(local, env={}, prefs_file=none) is False
    assert (
        startup.keep_rendering_on_quit(Settings(), env={}, prefs_file=none, service=False) is False
    )
    stop = Settings(keep_rendering_on_quit=False)
    assert startup.keep_rendering_on_quit(stop, env={}, prefs_file=none) is False


def test_the_headless_manager_resumes_the_batch_under_mayapy() -> None:
    assert startup.handoff_command("/usr/autodesk/maya2024/bin/mayapy", "abc123") == [
        "/usr/autodesk/maya2024/bin/mayapy",
        "-m",
        "lrc_toolbox.maya_host.startup",
        "resume",
        "abc123",
    ]


@pytest.mark.qt
@pytest.mark.slow
def test_a_handed_over_batch_finishes_after_maya_has_gone(
    qtbot: Any, session: types.SimpleNamespace, api: live.LiveSessionBatchAPI, tmp_path: Path
) -> None:
    """Keep rendering on quit, end to end in the simulator: the session's workers are
    killed, and a detached headless manager renders the rest with the artist's scene name
    and the session's project."""
    frames = "1-24"
    batch = api.start_batch_render(RenderConfig(scene="", layers=["CHAR"], frames=frames))
    qtbot.waitUntil(lambda: api.store.get_batch(batch).counts.done > 0, timeout=TIMEOUT_MS)
    left = 24 - api.store.get_batch(batch).counts.done
    done = startup.on_maya_quit(api, keep=True)
    assert "goes on rendering in the background" in done
    assert left > 0, "the batch ended before Maya quit: nothing was handed over"
    record = api.store.get_batch(batch)
    deadline = time.time() + TIMEOUT_MS / 1000
    while record.state is not BatchState.DONE and time.time() < deadline:
        time.sleep(0.2)
        record = api.store.get_batch(batch)
    log = api.temp.root / "logs" / batch / "handoff.log"
    assert record.state is BatchState.DONE, log.read_text(errors="replace")
    # the images by name: a worker killed while writing (the simulator writes a hidden
    # temporary file and renames it) leaves its half-written temporary file beside them
    outputs = sorted(
        path.name
        for path in (tmp_path / "images" / "shot_v003" / "CHAR").iterdir()
        if not path.name.startswith(".")
    )
    assert outputs == [f"CHAR.{frame:04d}.exr" for frame in range(1, 25)]
    starts = [  # each worker log starts a section with the worker's command line
        line
        for worker_log in log.parent.glob("gpu*.log")
        for line in worker_log.read_text(errors="replace").splitlines()
        if line.startswith("# ") and "lrc_toolbox.worker" in line
    ]
    assert len(starts) > 2  # the session's workers, then the headless manager's
    assert all(f"--scene-name shot_v003 --project {tmp_path} " in line for line in starts)


def test_the_service_backed_session_api_exports_here_and_starts_in_the_service(
    session: types.SimpleNamespace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The method order: the live session is exported first (LiveSessionBatchAPI), then
    the export goes to ServiceBatchAPI.start_batch_render; planning stays local."""
    mro = live.LiveSessionServiceAPI.__mro__
    assert mro.index(live.LiveSessionBatchAPI) < mro.index(ServiceBatchAPI)
    api = live.LiveSessionServiceAPI(make_api(tmp_path).settings, simulate=True, attach=False)
    sent: list[RenderConfig] = []

    def start_in_service(self: ServiceBatchAPI, config: RenderConfig, **_: object) -> str:
        sent.append(config)
        return "20261205-1200-abcdef"

    monkeypatch.setattr(ServiceBatchAPI, "start_batch_render", start_in_service)
    try:
        assert not api.is_running and api.batch_id is None and api.manager is None
        plan = api.plan_batch(RenderConfig(scene="", frames="3")).plan
        assert plan.scene_name == "shot_v003" and plan.config.scene == ""
        assert api.start_batch_render(RenderConfig(scene="", layers=["CHAR"])) == (
            "20261205-1200-abcdef"
        )
        assert len(sent) == 1 and Path(sent[0].scene).parent.parent.name == "live"
        assert sent[0].scene_name == "shot_v003" and sent[0].project == str(tmp_path)
        assert api.client_name == "Maya"
    finally:
        api.shutdown()


def stop_service(temp_root: Path) -> None:
    """SIGTERM the render service of ``temp_root`` (it stops its batch), then kill it."""
    import signal

    try:
        info = json.loads((temp_root / "service" / "service.json").read_text(encoding="utf-8"))
        pid = int(info["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except OSError:
            return
        deadline = time.time() + 15
        while process_alive(pid) and time.time() < deadline:
            time.sleep(0.1)
        if not process_alive(pid):
            return


@pytest.mark.qt
@pytest.mark.slow
def test_the_live_session_renders_in_the_render_service_and_goes_on_after_maya_quits(
    qtbot: Any, session: types.SimpleNamespace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The session's API with the render service: the live session is exported here, the
    service renders it with the artist's scene name and project, and quitting Maya with
    "keep rendering" only detaches: the batch finishes without Maya."""
    monkeypatch.setenv("LRC_SIM_TIME_SCALE", "0.3")
    settings = replace(make_api(tmp_path).settings, service_idle_seconds=2.0)
    api = live.LiveSessionServiceAPI(settings, simulate=True)
    try:
        plans: list[BatchPlan] = []
        api.batch_started.connect(lambda _id, plan: plans.append(plan))
        batch = api.start_batch_render(RenderConfig(scene="", layers=["CHAR"], frames="1-12"))
        qtbot.waitUntil(lambda: bool(plans), timeout=TIMEOUT_MS)
        assert plans[0].scene_name == "shot_v003" and plans[0].project == str(tmp_path)
        assert api.is_running and api.batch_id == batch and api.manager is None
        assert len(session.exports) == 1  # exported here, in "Maya"
        done = startup.on_maya_quit(api, ask=lambda _batch: True)
        assert "goes on rendering in the render service" in done
        assert api.store.get_batch(batch).counts.done < 12, "ended before Maya quit"
        deadline = time.time() + TIMEOUT_MS / 1000
        record = api.store.get_batch(batch)
        while record.state is not BatchState.DONE and time.time() < deadline:
            time.sleep(0.2)
            record = api.store.get_batch(batch)
        assert record.state is BatchState.DONE, record.error
        assert len(list((tmp_path / "images" / "shot_v003" / "CHAR").iterdir())) == 12
    finally:
        api.shutdown()
        stop_service(tmp_path / "tmp")


def test_the_live_include_all_lights_preference_wins_over_the_saved_file(
    tmp_path: Path,
) -> None:
    class Cmds:  # Maya's optionVar: -exists, -query
        def optionVar(self, exists: str = "", query: str = "") -> int:
            return 1 if exists else 0  # the artist turned it off in this session

    api = live.LiveSessionBatchAPI(make_api(tmp_path).settings, cmds=Cmds(), mel=object())
    assert api.include_all_lights(SceneDescription(path="", maya_version="2024")) is False


def test_the_service_is_sent_the_sessions_live_include_all_lights_preference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The service plans the batch and cannot ask this Maya: the session's preference of
    now goes with the request."""
    from lrc_toolbox.records.service import Reply

    class Cmds:  # Maya's optionVar: -exists, -query
        def optionVar(self, exists: str = "", query: str = "") -> int:
            return 1 if exists else 0  # the artist turned it off in this session

    api = live.LiveSessionServiceAPI(
        make_api(tmp_path).settings, simulate=True, attach=False, cmds=Cmds(), mel=object()
    )
    asked: list[dict[str, object]] = []

    def ask(self: ServiceBatchAPI, op: object, **fields: object) -> Reply:
        asked.append(fields)
        return Reply(id=1, batch_id="20261205-1200-abcdef")

    monkeypatch.setattr(ServiceBatchAPI, "_ask", ask)
    try:
        api.resume("20261205-1200-abcdef")
    finally:
        api.shutdown()
    assert asked[0]["include_all_lights"] is False


def test_without_maya_the_saved_preference_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAYA_APP_DIR", str(tmp_path / "none"))
    api = make_api(tmp_path)  # as in a hand-off after Maya quit: no maya.cmds to ask
    api._cmds = None
    monkeypatch.setattr(live, "_maya", lambda: (_ for _ in ()).throw(ImportError("no maya")))
    assert api.include_all_lights(SceneDescription(path="", maya_version="2024")) is None
