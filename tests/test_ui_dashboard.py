"""The dashboard: render configuration, active renders table, system panel, main window, and
the Batch Render Manager dialog driving real simulated batches end to end (pytest-qt)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("Qt")

from Qt import QtCore, QtGui, QtWidgets
from sim_helpers import SHOT, alive_pids

from lrc_toolbox.config.batch_render_defaults import Settings
from lrc_toolbox.core.batch_render_api import BatchRenderAPI
from lrc_toolbox.core.qt_compat import emit_signal
from lrc_toolbox.records.batch import BatchPlan, BatchSummary, WorkerSummary, batch_log_dir
from lrc_toolbox.records.models import (
    BatchState,
    CPUInfo,
    FrameOrder,
    GPUInfo,
    RenderConfig,
    RenderStatus,
    SingleGpuPolicy,
    SystemInfo,
    WorkerState,
)
from lrc_toolbox.ui import style
from lrc_toolbox.ui.dialogs.batch_render_dialog import BatchRenderDialog
from lrc_toolbox.ui.main_window import MainWindow
from lrc_toolbox.ui.widgets.active_renders import (
    PROGRESS_ROLE,
    STATE_ROLE,
    ActiveRendersModel,
    ActiveRendersView,
    Column,
    ProgressDelegate,
)
from lrc_toolbox.ui.widgets.render_config_widget import LAYER_ROLE, RenderConfigWidget
from lrc_toolbox.ui.widgets.system_info_widget import SystemInfoWidget, gpu_role

pytestmark = pytest.mark.qt
BATCH_MS = 60_000


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("LRC_SIM_TIME_SCALE", "0.002")
    monkeypatch.setenv("LRC_SIM_STATE_DIR", str(tmp_path / "sim-state"))
    return tmp_path


@pytest.fixture
def api(sim: Path) -> Iterator[BatchRenderAPI]:
    settings = Settings(
        simulate_gpus=4,
        temp_root=str(sim / "tmp"),
        job_store_path=str(sim / "jobs.sqlite"),
        min_free_disk_mb=0,
        warn_free_disk_mb=0,
        stop_grace_seconds=1.0,
    )
    instance = BatchRenderAPI(settings, simulate=True)
    yield instance
    instance.shutdown()


@pytest.fixture
def config_widget(qtbot: Any, api: BatchRenderAPI) -> Iterator[RenderConfigWidget]:
    widget = RenderConfigWidget(api.settings)
    qtbot.addWidget(widget)
    widget.set_system_info(api.get_system_info())
    with qtbot.waitSignal(widget.scene_loaded, timeout=10_000):
        widget.set_scene_path(str(SHOT))
    yield widget
    widget.shutdown()


class Answers:
    """What the dialog's questions answer in tests (a real QMessageBox would block)."""

    def __init__(self) -> None:
        self.stop_questions: list[tuple[int, float]] = []
        self.stop = True
        self.close = "stop"


@pytest.fixture
def answers() -> Answers:
    return Answers()


@pytest.fixture
def dialog(
    qtbot: Any, api: BatchRenderAPI, sim: Path, answers: Answers
) -> Iterator[BatchRenderDialog]:
    # not qtbot.addWidget: pytest-qt would close and delete it before this fixture's teardown
    window = BatchRenderDialog(api)

    def confirm_stop(frames_left: int, seconds: float) -> bool:
        answers.stop_questions.append((frames_left, seconds))
        return answers.stop

    window.confirm_stop = confirm_stop  # type: ignore[method-assign]
    window.ask_close_while_rendering = lambda: answers.close  # type: ignore[method-assign]
    window.config_widget.set_output_dir(str(sim / "images"))
    with qtbot.waitSignal(window.config_widget.scene_loaded, timeout=10_000):
        window.set_scene(str(SHOT))
    window.show()
    yield window
    if api.is_running:
        with qtbot.waitSignal(api.batch_finished, timeout=BATCH_MS):
            api.stop_all_renders()
            api.stop_all_renders()
    window.shutdown()
    window.hide()
    window.deleteLater()


def run_to_end(qtbot: Any, dialog: BatchRenderDialog, api: BatchRenderAPI) -> BatchSummary:
    with qtbot.waitSignal(api.batch_finished, timeout=BATCH_MS) as blocker:
        assert dialog.start()
    summary = blocker.args[0]
    assert isinstance(summary, BatchSummary)
    return summary


def alive_worker_pids(api: BatchRenderAPI, batch_id: str) -> list[int]:
    return alive_pids(record.pid for record in api.store.workers(batch_id))


def status(worker: str, **changes: Any) -> RenderStatus:
    values: dict[str, Any] = {
        "worker_id": worker,
        "state": WorkerState.RENDERING,
        "device": f"GPU {worker[-1]} · NVIDIA RTX A6000",
        "layer": "BG",
        "current_frame": 12,
        "progress_percent": 40.0,
        "pid": 4242,
        "started": 1000.0,
        "elapsed": 65.0,
        "frames_done": 3,
    }
    values.update(changes)
    return RenderStatus(**values)


# ----------------------------------------------------------------------------- frames field


def test_a_valid_frame_list_shows_a_grey_preview(config_widget: RenderConfigWidget) -> None:
    config_widget.set_frames("1-100x5")
    assert config_widget.frames_preview() == "21 frames: 1, 6, 11 ... 96, 100"
    assert config_widget.frames_edit.property("invalid") is False
    assert config_widget.validation_error() is None


def test_an_empty_frame_field_means_each_layers_own_frames(
    config_widget: RenderConfigWidget,
) -> None:
    config_widget.set_frames("")
    assert config_widget.frames_preview() == "scene frames per layer"
    assert config_widget.config().frames == ""


def test_a_bad_frame_list_shows_the_parser_message_in_red_and_disables_start(
    dialog: BatchRenderDialog,
) -> None:
    dialog.config_widget.set_frames("1-10x0")
    widget = dialog.config_widget
    assert widget.frames_preview() == "step must be 1 or more (at column 6)"
    assert widget.frames_edit.property("invalid") is True
    message_colour = widget.frames_message.palette().color(QtGui.QPalette.ColorRole.WindowText)
    assert message_colour.name() == style.status_text_colour("error")
    assert not dialog.start_button.isEnabled()
    assert "Fix the frame list: step must be 1 or more" in dialog.reason_label.text()


def test_fixing_the_frame_list_enables_start_again(dialog: BatchRenderDialog) -> None:
    dialog.config_widget.set_frames("1-10x0")
    dialog.config_widget.set_frames("1-10x2")
    assert dialog.start_button.isEnabled()
    assert dialog.config_widget.frames_edit.property("invalid") is False


# ----------------------------------------------------------------------------- layers


def test_layers_are_read_from_the_scene_with_renderable_ones_ticked(
    config_widget: RenderConfigWidget,
) -> None:
    assert config_widget.layer_names() == ["masterLayer", "BG", "CHAR", "FX_test"]
    assert config_widget.checked_layers() == ["BG", "CHAR"]
    assert config_widget.all_layers_check.isChecked()


def test_non_renderable_layers_are_shown_italic_and_greyed(
    config_widget: RenderConfigWidget,
) -> None:
    items = {
        config_widget.layer_list.item(i).data(LAYER_ROLE): config_widget.layer_list.item(i)
        for i in range(config_widget.layer_list.count())
    }
    assert items["FX_test"].font().italic()
    assert items["FX_test"].foreground().color() == QtGui.QColor(style.status_text_colour("muted"))
    assert not items["BG"].font().italic()


def test_choosing_layers_by_hand_turns_off_all_renderable_layers(
    config_widget: RenderConfigWidget,
) -> None:
    config_widget.set_layer_checked("CHAR", False)
    assert not config_widget.all_layers_check.isChecked()
    assert config_widget.config().layers == ["BG"]
    config_widget.all_layers_check.setChecked(True)
    assert config_widget.checked_layers() == ["BG", "CHAR"]
    assert config_widget.config().layers == []


def test_no_layer_ticked_disables_start_with_the_reason(config_widget: RenderConfigWidget) -> None:
    config_widget.set_layer_checked("BG", False)
    config_widget.set_layer_checked("CHAR", False)
    assert config_widget.validation_error() == "Tick at least one layer to render."


def test_a_missing_scene_is_explained_and_blocks_start(
    qtbot: Any, config_widget: RenderConfigWidget, tmp_path: Path
) -> None:
    with qtbot.waitSignal(config_widget.scene_loaded, timeout=10_000):
        config_widget.set_scene_path(str(tmp_path / "gone.ma"))
    assert config_widget.layer_names() == []
    assert "scene not found" in (config_widget.validation_error() or "")
    assert "scene not found" in config_widget.scene_label.text()


def test_the_scene_is_read_off_the_ui_thread(qtbot: Any, api: BatchRenderAPI) -> None:
    from lrc_toolbox.scene.scene_source import MayaAsciiSource

    threads: list[int] = []

    class CountingSource(MayaAsciiSource):
        thread_safe = True

        def describe(self) -> Any:
            threads.append(threading.get_ident())
            return super().describe()

    widget = RenderConfigWidget(api.settings, scene_source_factory=CountingSource)
    qtbot.addWidget(widget)
    with qtbot.waitSignal(widget.scene_loaded, timeout=10_000):
        widget.set_scene_path(str(SHOT))
    widget.shutdown()
    assert threads and threads[0] != threading.get_ident()
    assert widget.checked_layers() == ["BG", "CHAR"]


# ----------------------------------------------------------------------------- config()


def test_config_builds_the_render_config_from_every_field(
    config_widget: RenderConfigWidget, tmp_path: Path
) -> None:
    widget = config_widget
    widget.set_frames("1-24x2")
    widget.set_layer_checked("CHAR", False)
    widget.set_layer_checked("FX_test", True)
    widget.renderer_combo.setCurrentIndex(widget.renderer_combo.findData("redshift"))
    widget.camera_combo.setCurrentIndex(widget.camera_combo.findData("shotCamShape"))
    widget.set_output_dir(str(tmp_path / "out"))
    widget.prefix_edit.setText("<Scene>/<RenderLayer>")
    widget._gpu_boxes[2].setChecked(False)
    widget.processes_spin.setValue(2)
    widget.chunk_spin.setValue(4)
    widget.order_combo.setCurrentIndex(widget.order_combo.findData("preview-first"))
    widget.attempts_spin.setValue(5)
    widget.timeout_spin.setValue(2.5)
    widget.skip_existing_check.setChecked(True)
    assert widget.config() == RenderConfig(
        scene=str(SHOT),
        layers=["BG", "FX_test"],
        frames="1-24x2",
        renderer="redshift",
        camera="shotCamShape",
        output_dir=str(tmp_path / "out"),
        image_prefix="<Scene>/<RenderLayer>",
        gpus=[1, 3],
        processes_per_gpu=2,
        cpu_mode=False,
        cpu_threads=None,
        chunk_size=4,
        frame_order=FrameOrder.PREVIEW_FIRST,
        max_attempts=5,
        frame_timeout=150.0,
        skip_existing=True,
    )


def test_config_defaults_render_every_renderable_layer_on_every_free_gpu(
    config_widget: RenderConfigWidget,
) -> None:
    config = config_widget.config()
    assert config.layers == [] and config.gpus is None and not config.cpu_mode
    assert config.frame_order is FrameOrder.SEQUENTIAL and config.frame_timeout == 1800.0


def test_cpu_mode_sets_threads_and_ignores_gpus(config_widget: RenderConfigWidget) -> None:
    config_widget.cpu_check.setChecked(True)
    config_widget.threads_spin.setValue(6)
    config = config_widget.config()
    assert config.cpu_mode and config.cpu_threads == 6 and config.gpus is None
    assert not config_widget._gpu_boxes[1].isEnabled()


def test_gpu_checkboxes_offer_only_the_free_gpus(config_widget: RenderConfigWidget) -> None:
    boxes = config_widget._gpu_boxes
    assert sorted(boxes) == [0, 1, 2, 3]
    assert not boxes[0].isEnabled() and not boxes[0].isChecked()
    assert all(boxes[i].isEnabled() and boxes[i].isChecked() for i in (1, 2, 3))


def test_unticking_every_gpu_disables_start(config_widget: RenderConfigWidget) -> None:
    for index in (1, 2, 3):
        config_widget._gpu_boxes[index].setChecked(False)
    assert config_widget.validation_error() == "Tick at least one GPU, or render on the CPU."


# ----------------------------------------------------------------------------- table model


def test_the_model_has_one_row_per_worker_and_every_column(qtbot: Any) -> None:
    model = ActiveRendersModel()
    model.update_statuses([status("gpu1"), status("gpu2", state=WorkerState.IDLE)], now=2000.0)
    assert model.rowCount() == 2 and model.columnCount() == 8
    shown = [model.data(model.index(0, c)) for c in range(8)]
    assert shown == ["gpu1", "BG", "12", "GPU 1 · NVIDIA RTX A6000", "rendering", "40 %", "", ""]
    assert model.headerData(Column.ETA, QtCore.Qt.Horizontal) == "ETA"


def test_the_model_computes_elapsed_and_eta_of_the_current_frame() -> None:
    model = ActiveRendersModel()
    model.update_statuses([status("gpu1")], frame_started={"gpu1": 1970.0}, now=2000.0)
    assert model.data(model.index(0, Column.ELAPSED)) == "0:30"
    assert model.data(model.index(0, Column.ETA)) == "~45 s"  # 30 s for 40 %: 45 s to go


def test_an_idle_worker_shows_its_running_time_and_no_frame() -> None:
    model = ActiveRendersModel()
    model.update_statuses([status("gpu2", state=WorkerState.IDLE)], now=2000.0)
    assert model.data(model.index(0, Column.FRAME)) == ""
    assert model.data(model.index(0, Column.ELAPSED)) == "1:05"
    assert model.data(model.index(0, Column.PROGRESS), PROGRESS_ROLE) is None


def test_the_model_roles_feed_the_delegate_colours_and_tooltips() -> None:
    model = ActiveRendersModel()
    model.update_statuses([status("gpu1"), status("gpu3", state=WorkerState.FAILED)])
    assert model.data(model.index(0, Column.PROGRESS), PROGRESS_ROLE) == 40.0
    assert model.data(model.index(0, Column.LAYER), PROGRESS_ROLE) is None
    assert model.data(model.index(1, Column.STATE), STATE_ROLE) == "failed"
    brush = model.data(model.index(1, Column.STATE), QtCore.Qt.ForegroundRole)
    assert brush.color() == QtGui.QColor(style.status_text_colour("error"))
    alignment = model.data(model.index(0, Column.FRAME), QtCore.Qt.TextAlignmentRole)
    assert alignment & int(QtCore.Qt.AlignRight)
    assert "process id 4242" in model.data(model.index(0, 0), QtCore.Qt.ToolTipRole)


def test_data_changed_is_emitted_only_for_the_rows_that_changed(qtbot: Any) -> None:
    model = ActiveRendersModel()
    statuses = [status("gpu1"), status("gpu2"), status("gpu3")]
    model.update_statuses(statuses, now=2000.0)
    changes: list[tuple[int, int, int]] = []
    model.dataChanged.connect(
        lambda top, bottom, *_: changes.append((top.row(), top.column(), bottom.column()))
    )
    statuses[1] = status("gpu2", progress_percent=80.0)
    model.update_statuses(statuses, now=2000.0)
    assert changes == [(1, Column.PROGRESS, Column.PROGRESS)]


def test_an_unchanged_snapshot_emits_nothing(qtbot: Any) -> None:
    model = ActiveRendersModel()
    statuses = [status("gpu1"), status("gpu2")]
    model.update_statuses(statuses, now=2000.0)
    with qtbot.assertNotEmitted(model.dataChanged):
        assert model.update_statuses(statuses, now=2000.3) == []


def test_a_finished_workers_clock_stops() -> None:
    model = ActiveRendersModel()
    model.update_statuses([status("gpu1", state=WorkerState.FINISHED, elapsed=10.0)])
    model.update_statuses([status("gpu1", state=WorkerState.FINISHED, elapsed=99.0)])
    assert model.data(model.index(0, Column.ELAPSED)) == "0:10"


def test_the_delegate_paints_a_progress_bar(qtbot: Any) -> None:
    model = ActiveRendersModel()
    model.update_statuses([status("gpu1", progress_percent=60.0)])
    view = ActiveRendersView(model)
    qtbot.addWidget(view)
    view.resize(900, 120)
    view.show()
    assert isinstance(view.itemDelegateForColumn(Column.PROGRESS), ProgressDelegate)
    image = QtGui.QImage(200, 24, QtGui.QImage.Format_ARGB32)
    image.fill(QtGui.QColor("#000000"))
    option = QtWidgets.QStyleOptionViewItem()
    option.rect = QtCore.QRect(0, 0, 200, 24)
    option.palette = view.palette()
    option.fontMetrics = view.fontMetrics()
    painter = QtGui.QPainter(image)
    try:
        view.progress_delegate.paint(painter, option, model.index(0, Column.PROGRESS))
    finally:
        painter.end()
    colours = {image.pixel(x, 12) for x in range(0, 200, 4)}
    assert len(colours) > 2  # a filled chunk, an empty groove and text, not a blank cell
    assert not view.grab().isNull()


# ----------------------------------------------------------------------------- system panel


def test_the_system_panel_shows_four_gpus_with_gpu0_kept_for_maya(
    qtbot: Any, api: BatchRenderAPI
) -> None:
    panel = SystemInfoWidget()
    qtbot.addWidget(panel)
    panel.set_system_info(api.get_system_info())
    assert panel.gpu_roles() == {0: "kept for Maya", 1: "idle", 2: "idle", 3: "idle"}
    names = [row.name.text() for row in panel._rows]
    assert len(names) == 4 and "GPU 0" in names[0] and "RTX A6000" in names[0]
    panel.set_rendering_gpus({1, 3})
    assert panel.gpu_roles()[1] == "rendering" and panel.gpu_roles()[2] == "idle"


def test_the_system_panel_shows_notes_and_the_gpu_error(qtbot: Any) -> None:
    info = SystemInfo(
        cpu=CPUInfo(physical_cores=8, logical_cores=16),
        ram_total_mb=32_000,
        ram_available_mb=16_000,
        gpu_error="No NVIDIA driver library (NVML) was found",
        notes=["No usable NVIDIA GPU: workers will render on the CPU"],
    )
    panel = SystemInfoWidget()
    qtbot.addWidget(panel)
    panel.set_system_info(info)
    assert "NVML" in panel._gpu_error.text() and not panel._gpu_error.isHidden()
    assert "render on the CPU" in panel._notes.text()


def test_gpu_roles_cover_a_shared_single_gpu_and_a_broken_one() -> None:
    cpu = CPUInfo(physical_cores=4, logical_cores=8)
    one = GPUInfo(index=0, name="RTX", uuid="GPU-a")
    shared = SystemInfo(cpu=cpu, ram_total_mb=1, ram_available_mb=1, gpus=[one])
    assert gpu_role(shared, one, {0}) == ("shared", "shared with Maya · rendering")
    shared.single_gpu_policy = SingleGpuPolicy.CPU
    assert gpu_role(shared, one)[0] == "maya"
    broken = GPUInfo(index=1, name="RTX", uuid="GPU-b", error="GPU is lost")
    two = SystemInfo(cpu=cpu, ram_total_mb=1, ram_available_mb=1, gpus=[one, broken])
    assert gpu_role(two, broken) == ("unusable", "unusable: GPU is lost")


def test_the_refresh_runs_off_the_ui_thread(qtbot: Any, api: BatchRenderAPI) -> None:
    threads: list[int] = []

    def refresh(info: SystemInfo) -> SystemInfo:
        threads.append(threading.get_ident())
        return api.detector.refresh(info)

    panel = SystemInfoWidget(refresh)
    qtbot.addWidget(panel)
    panel.set_system_info(api.get_system_info())
    with qtbot.waitSignal(panel.refreshed, timeout=5_000):
        assert panel.refresh_now()
    panel.shutdown()
    assert threads and threads[0] != threading.get_ident()


def test_a_tick_is_skipped_while_a_refresh_still_runs(qtbot: Any, api: BatchRenderAPI) -> None:
    release = threading.Event()

    def slow_refresh(info: SystemInfo) -> SystemInfo:
        release.wait(5)
        return info

    panel = SystemInfoWidget(slow_refresh)
    qtbot.addWidget(panel)
    panel.set_system_info(api.get_system_info())
    assert panel.refresh_now()
    started = time.monotonic()
    assert not panel.refresh_now()  # skipped, and the UI thread did not wait
    assert time.monotonic() - started < 0.5
    with qtbot.waitSignal(panel.refreshed, timeout=5_000):
        release.set()
    assert panel.refresh_now()
    panel.shutdown()


# ----------------------------------------------------------------------------- main window


def test_the_render_menu_opens_one_dashboard_and_raises_it_again(
    qtbot: Any, api: BatchRenderAPI
) -> None:
    window = MainWindow(api)
    qtbot.addWidget(window)
    window.show()
    titles = [a.text().replace("&", "") for a in window.menuBar().actions()]
    assert titles == ["File", "Render", "Help"]
    assert [a.text() for a in window.render_menu.actions()] == ["Batch Render Manager"]
    window.batch_render_action.trigger()
    first = window.batch_render_dialog
    assert isinstance(first, BatchRenderDialog) and first.isVisible()
    first.hide()
    window.batch_render_action.trigger()
    assert window.batch_render_dialog is first and first.isVisible()
    assert len(window.findChildren(BatchRenderDialog)) == 1
    first.shutdown()


# ----------------------------------------------------------------------------- end to end


def test_the_dialog_renders_a_batch_to_the_end(
    qtbot: Any, dialog: BatchRenderDialog, api: BatchRenderAPI
) -> None:
    rows: list[int] = []
    dialog.renders_model.rowsInserted.connect(lambda _parent, first, _last: rows.append(first))
    dialog.config_widget.set_frames("1-4")
    summary = run_to_end(qtbot, dialog, api)
    assert summary.state is BatchState.DONE and summary.done == 8
    qtbot.waitUntil(lambda: dialog.start_button.isEnabled())  # idle again
    assert dialog.overall_bar.value() == dialog.overall_bar.maximum() == 8
    assert "(100 %)" in dialog.overall_bar.text()
    assert rows and dialog.renders_model.worker_ids() == ["gpu1", "gpu2", "gpu3"]
    assert not dialog.running
    assert not dialog.stop_button.isEnabled() and dialog.close_button.text() == "&Close"
    assert dialog.status_label.text().startswith("Done: 8 / 8 frames")
    assert dialog.message_area.level() == "ok"


def test_open_log_file_looks_in_the_batchs_log_folder(
    qtbot: Any, dialog: BatchRenderDialog, api: BatchRenderAPI
) -> None:
    dialog.config_widget.set_frames("1-2")
    run_to_end(qtbot, dialog, api)
    assert dialog.batch_id is not None
    expected = batch_log_dir(api.temp.root, dialog.batch_id)
    assert dialog.progress_widget.log_dir == expected


def test_start_is_disabled_while_a_batch_runs(
    qtbot: Any, dialog: BatchRenderDialog, api: BatchRenderAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LRC_SIM_TIME_SCALE", "0.2")
    dialog.config_widget.set_frames("1-6")
    assert dialog.start()
    assert not dialog.start_button.isEnabled() and dialog.stop_button.isEnabled()
    assert dialog.close_button.text() == "&Hide"
    assert not dialog.start()  # no double start
    assert api.is_running


def test_stop_ends_the_batch_as_cancelled_and_leaves_no_worker_process(
    qtbot: Any,
    dialog: BatchRenderDialog,
    api: BatchRenderAPI,
    answers: Answers,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LRC_SIM_TIME_SCALE", "0.2")
    dialog.config_widget.set_frames("1-24")  # 48 frames: more than 20 left, Stop asks
    assert dialog.start()
    batch_id = dialog.batch_id
    assert batch_id is not None
    qtbot.waitUntil(
        lambda: any(s.state is WorkerState.RENDERING for s in api.get_render_status()),
        timeout=BATCH_MS,
    )
    with qtbot.waitSignal(api.batch_finished, timeout=BATCH_MS) as blocker:
        assert dialog.stop()
        assert dialog.stop_button.text() == "Force s&top"
    assert answers.stop_questions and answers.stop_questions[0][0] > 20
    assert blocker.args[0].state is BatchState.CANCELLED
    assert api.store.get_batch(batch_id).state is BatchState.CANCELLED
    qtbot.waitUntil(lambda: not alive_worker_pids(api, batch_id), timeout=10_000)
    qtbot.waitUntil(lambda: dialog.start_button.isEnabled())
    assert dialog.resume_button.isVisible()


def test_declining_the_stop_question_keeps_rendering(
    qtbot: Any,
    dialog: BatchRenderDialog,
    api: BatchRenderAPI,
    answers: Answers,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LRC_SIM_TIME_SCALE", "0.2")
    answers.stop = False
    dialog.config_widget.set_frames("1-24")
    assert dialog.start()
    assert not dialog.stop()
    assert api.is_running and dialog.stop_button.text() == "S&top"


def test_keep_rendering_on_close_hides_the_window_and_the_batch_goes_on(
    qtbot: Any,
    dialog: BatchRenderDialog,
    api: BatchRenderAPI,
    answers: Answers,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LRC_SIM_TIME_SCALE", "0.2")
    answers.close = "background"
    dialog.config_widget.set_frames("1-6")
    assert dialog.start()
    dialog.close()
    assert not dialog.isVisible() and api.is_running and dialog.running


def test_cancelling_the_close_question_keeps_the_window_open(
    qtbot: Any,
    dialog: BatchRenderDialog,
    api: BatchRenderAPI,
    answers: Answers,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LRC_SIM_TIME_SCALE", "0.2")
    answers.close = "cancel"
    dialog.config_widget.set_frames("1-6")
    assert dialog.start()
    assert not dialog.close()
    assert dialog.isVisible() and api.is_running


def test_an_unknown_layer_is_shown_in_the_message_area(
    dialog: BatchRenderDialog, api: BatchRenderAPI, sim: Path
) -> None:
    config = RenderConfig(scene=str(SHOT), layers=["NOPE"], output_dir=str(sim / "images"))
    assert not dialog.start(config)
    assert dialog.message_area.isVisible() and dialog.message_area.level() == "error"
    assert "layer 'NOPE' is not in" in dialog.message_area.text()
    assert "Traceback" not in dialog.message_area.text()
    assert not api.is_running and dialog.start_button.isEnabled()


def test_a_scene_deleted_after_reading_is_shown_in_the_message_area(
    qtbot: Any, dialog: BatchRenderDialog, api: BatchRenderAPI, tmp_path: Path
) -> None:
    scene = tmp_path / "copy.ma"
    scene.write_bytes(SHOT.read_bytes())
    with qtbot.waitSignal(dialog.config_widget.scene_loaded, timeout=10_000):
        dialog.set_scene(str(scene))
    scene.unlink()
    assert not dialog.start()
    assert "Cannot start the batch: scene not found" in dialog.message_area.text()
    assert not api.is_running


def test_a_failed_frame_is_reported_with_its_reason(
    qtbot: Any, dialog: BatchRenderDialog, api: BatchRenderAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LRC_SIM_RENDER_ERROR_AT", "3")
    dialog.config_widget.set_frames("1-4")
    dialog.config_widget.set_layer_checked("CHAR", False)
    dialog.config_widget.attempts_spin.setValue(1)
    summary = run_to_end(qtbot, dialog, api)
    assert summary.state is BatchState.FAILED and summary.failed == 1
    qtbot.waitUntil(lambda: dialog.message_area.level() == "error")
    assert "1 frame(s) failed: BG frame 3" in dialog.message_area.text()
    assert "1 failed" in dialog.status_label.text()
    assert dialog.progress_widget.frame_strip.state_of("BG", 3) == "failed"


def test_a_licence_failure_on_every_worker_is_one_clear_error(
    qtbot: Any, dialog: BatchRenderDialog, api: BatchRenderAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LRC_SIM_LICENCE_FAIL", "1")
    dialog.config_widget.set_frames("1-2")
    summary = run_to_end(qtbot, dialog, api)
    assert summary.state is BatchState.FAILED
    qtbot.waitUntil(lambda: dialog.message_area.level() == "error")
    text = dialog.message_area.text()
    assert text.startswith("The batch failed: every worker slot failed")
    assert "License was not obtained" in text and "4 frame(s) were not rendered" in text


def test_resume_renders_what_a_stopped_batch_left(
    qtbot: Any, dialog: BatchRenderDialog, api: BatchRenderAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LRC_SIM_TIME_SCALE", "0.2")
    dialog.config_widget.set_frames("1-6")
    dialog.config_widget.set_layer_checked("CHAR", False)
    with qtbot.waitSignal(api.frame_finished, timeout=BATCH_MS):
        assert dialog.start()
    batch_id = dialog.batch_id
    with qtbot.waitSignal(api.batch_finished, timeout=BATCH_MS):
        assert dialog.stop()
    qtbot.waitUntil(lambda: dialog.resume_button.isEnabled())
    monkeypatch.setenv("LRC_SIM_TIME_SCALE", "0.002")
    with qtbot.waitSignal(api.batch_finished, timeout=BATCH_MS) as blocker:
        dialog.resume_button.click()
    assert blocker.args[0].state is BatchState.DONE and dialog.batch_id == batch_id
    assert api.store.get_batch(batch_id).state is BatchState.DONE


def test_in_maya_the_open_scene_is_filled_in(qtbot: Any, api: BatchRenderAPI) -> None:
    widget = RenderConfigWidget(api.settings, current_scene=lambda: str(SHOT))
    qtbot.addWidget(widget)
    qtbot.waitUntil(lambda: widget.scene() is not None, timeout=10_000)
    widget.shutdown()
    assert widget.scene_path() == str(SHOT) and widget.current_button.text() == "Current scene"
    assert widget.checked_layers() == ["BG", "CHAR"]


def test_a_dashboard_opened_during_a_batch_shows_it(
    qtbot: Any, api: BatchRenderAPI, sim: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LRC_SIM_TIME_SCALE", "0.2")
    api.start_batch_render(
        RenderConfig(scene=str(SHOT), frames="1-6", output_dir=str(sim / "images"))
    )
    window = BatchRenderDialog(api)
    try:
        assert window.running and window.counts()["total"] == 12
        assert not window.start_button.isEnabled() and window.stop_button.isEnabled()
        qtbot.waitUntil(lambda: window.renders_model.rowCount() == 3, timeout=BATCH_MS)
    finally:
        with qtbot.waitSignal(api.batch_finished, timeout=BATCH_MS):
            api.stop_all_renders()
            api.stop_all_renders()
        window.shutdown()
        window.deleteLater()


def test_a_dashboard_opened_during_a_batch_opens_its_log_folder(
    qtbot: Any, api: BatchRenderAPI, sim: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LRC_SIM_TIME_SCALE", "0.2")
    batch_id = api.start_batch_render(
        RenderConfig(scene=str(SHOT), frames="1-6", output_dir=str(sim / "images"))
    )
    window = BatchRenderDialog(api)
    try:
        assert window.progress_widget.log_dir == batch_log_dir(api.temp.root, batch_id)
    finally:
        with qtbot.waitSignal(api.batch_finished, timeout=BATCH_MS):
            api.stop_all_renders()
            api.stop_all_renders()
        window.shutdown()
        window.deleteLater()


def test_a_batch_the_render_service_left_interrupted_keeps_its_counts_and_offers_resume(
    qtbot: Any, dialog: BatchRenderDialog, api: BatchRenderAPI
) -> None:
    """The render service died mid-batch: its API ends the batch as INTERRUPTED with a
    summary that has no counts; the window keeps the counts it saw and offers Resume."""
    plan = BatchPlan(
        config=RenderConfig(scene=str(SHOT)),
        scene_name="shot010_lighting",
        renderer="arnold",
        frames_by_layer={"BG": [1, 2, 3, 4]},
    )
    emit_signal(api, "batch_started", "20261205-1200-abcdef", plan)
    for frame in (1, 2):
        emit_signal(api, "frame_finished", "gpu1", "BG", frame, [])
    qtbot.waitUntil(lambda: dialog.counts()["done"] == 2 and dialog.running)
    reason = (
        "the render service stopped while batch 20261205-1200-abcdef was rendering; its "
        "workers stopped with it. Resume it to render the rest: lrc-batch-render resume "
        "20261205-1200-abcdef"
    )
    summary = BatchSummary(
        batch_id="20261205-1200-abcdef",
        state=BatchState.INTERRUPTED,
        finished=True,
        error=reason,
        environment=True,
    )
    emit_signal(api, "batch_finished", summary)
    qtbot.waitUntil(lambda: dialog.status_label.text().startswith("Interrupted: 2 / 4 frames"))
    assert dialog.counts() == {"total": 4, "done": 2, "failed": 0, "skipped": 0}
    assert dialog.message_area.level() == "error"
    text = dialog.message_area.text()
    assert text.startswith("Interrupted: 2 of 4 frames finished, 2 not rendered")
    assert "render service stopped" in text and "Resume renders the rest" not in text
    assert dialog.resume_button.isVisible() and dialog.resume_button.isEnabled()
    assert dialog.start_button.isEnabled() and not dialog.stop_button.isEnabled()


def test_the_log_views_worker_choice_asks_the_service_for_that_workers_lines(
    qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lrc_toolbox.core.service_api import ServiceBatchAPI

    asked: list[list[str]] = []
    monkeypatch.setattr(ServiceBatchAPI, "set_log_workers", lambda self, w: asked.append(w))
    settings = Settings(simulate_gpus=4, temp_root=str(tmp_path / "tmp"))
    api = ServiceBatchAPI(settings, simulate=True, attach=False)
    dialog = BatchRenderDialog(api)
    qtbot.addWidget(dialog)
    log_view = dialog.progress_widget.log_view
    log_view.set_worker_filter("gpu2")
    log_view.set_worker_filter(None)
    assert asked == [["gpu2"], []]
    api.shutdown()


# ----------------------------------------------------------------------------- the whole batch


def test_after_stop_and_resume_the_dashboard_counts_the_whole_batch(
    qtbot: Any, dialog: BatchRenderDialog, api: BatchRenderAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LRC_SIM_TIME_SCALE", "0.2")
    dialog.config_widget.set_frames("1-8")
    dialog.config_widget.set_layer_checked("CHAR", False)
    with qtbot.waitSignal(api.frame_finished, timeout=BATCH_MS):
        assert dialog.start()
    with qtbot.waitSignal(api.batch_finished, timeout=BATCH_MS):
        assert dialog.stop()
    qtbot.waitUntil(lambda: dialog.resume_button.isEnabled())
    before = dialog.counts()["done"]
    assert 0 < before < 8
    monkeypatch.setenv("LRC_SIM_TIME_SCALE", "0.002")
    with qtbot.waitSignal(api.batch_started, timeout=BATCH_MS):
        dialog.resume_button.click()
    qtbot.waitUntil(lambda: dialog.progress_widget.frame_strip.layer("BG") is not None)
    row = dialog.progress_widget.frame_strip.layer("BG")
    assert row is not None and row.frames == list(range(1, 9))  # all 8, not the rest
    assert row.count("done") >= before
    assert dialog.counts()["total"] == 8 and dialog.counts()["done"] >= before
    with qtbot.waitSignal(api.batch_finished, timeout=BATCH_MS):
        pass
    qtbot.waitUntil(lambda: dialog.message_area.level() == "ok")
    assert dialog.message_area.text().startswith(f"All 8 frames rendered: {8 - before} in this run")
    assert dialog.overall_bar.value() == dialog.overall_bar.maximum() == 8
    assert dialog.status_label.text().startswith("Done: 8 / 8 frames")


def test_failed_frames_are_not_progress_in_the_overall_bar(
    qtbot: Any, dialog: BatchRenderDialog, api: BatchRenderAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LRC_SIM_LICENCE_FAIL", "1")
    dialog.config_widget.set_frames("1-2")
    summary = run_to_end(qtbot, dialog, api)
    assert summary.state is BatchState.FAILED
    qtbot.waitUntil(lambda: dialog.message_area.level() == "error")
    bar = dialog.overall_bar  # was "4 / 4 frames (100 %)"
    assert bar.value() == 0 and bar.maximum() == 4 and bar.failed() == summary.failed
    assert bar.text().startswith("0 / 4 done") and bar.text().endswith("(0 %)")


def test_a_frame_that_failed_for_good_is_listed_at_once_with_its_reason(
    qtbot: Any, dialog: BatchRenderDialog, api: BatchRenderAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LRC_SIM_RENDER_ERROR_AT", "3")
    dialog.config_widget.set_frames("1-4")
    dialog.config_widget.set_layer_checked("CHAR", False)
    dialog.config_widget.attempts_spin.setValue(1)
    listed: list[tuple[str, int, str, str]] = []
    with qtbot.waitSignal(api.frame_failed, timeout=BATCH_MS):
        assert dialog.start()
    failures = dialog.progress_widget.failed_list
    qtbot.waitUntil(lambda: failures.count() == 1)  # before the batch ends
    listed = failures.failures()
    layer, frame, worker, reason = listed[0]
    assert (layer, frame) == ("BG", 3) and worker.startswith("gpu") and reason
    assert failures.item(0).text().startswith(f"BG frame 3 · {worker}: ")
    tooltip = dialog.progress_widget.frame_strip.frame_tooltip("BG", 3)
    assert tooltip.startswith(f"BG frame 3: failed on {worker}") and reason in tooltip


def test_activating_a_failed_frame_shows_its_workers_log_lines_at_the_failure(
    qtbot: Any,
) -> None:
    from lrc_toolbox.ui.dialogs.render_progress_widget import RenderProgressWidget

    widget = RenderProgressWidget()
    qtbot.addWidget(widget)
    widget.append_log(1.0, "info", "gpu1", "frame 3 started")
    widget.append_log(2.0, "error", "gpu2", "Arnold: texture missing: /show/tex/a.tx")
    widget.flush()
    widget.add_failure("BG", 3, "gpu2", "Arnold: texture missing: /show/tex/a.tx")
    failures = widget.failed_list
    failures.setCurrentRow(0)
    qtbot.keyClick(failures, QtCore.Qt.Key.Key_Return)  # Enter (or a double-click) activates
    assert widget.log_view.worker_filter == "gpu2"
    assert widget.log_view.match_count == 1
    assert widget.failed_label.text().startswith("Failed frames (1)")


def test_a_rebuilt_dashboard_shows_the_running_batch_its_scene_and_counts(
    qtbot: Any, api: BatchRenderAPI, sim: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LRC_SIM_TIME_SCALE", "0.2")
    api.start_batch_render(
        RenderConfig(scene=str(SHOT), frames="1-6", output_dir=str(sim / "images"))
    )
    window = BatchRenderDialog(api)
    try:
        qtbot.waitUntil(lambda: window.status_label.text() != "No batch yet.")
        assert window.status_label.text().startswith(f"{window.counts()['done']} / 12 frames")
        assert window.config_widget.scene_path() == str(SHOT)
        strip = window.progress_widget.frame_strip
        assert [row.name for row in strip.layers()] == ["BG", "CHAR"]
    finally:
        with qtbot.waitSignal(api.batch_finished, timeout=BATCH_MS):
            api.stop_all_renders()
            api.stop_all_renders()
        window.shutdown()
        window.deleteLater()


def test_the_eta_is_also_a_clock_time() -> None:
    from lrc_toolbox.ui.dialogs.batch_render_dialog import _clock_time

    now = time.mktime((2026, 12, 5, 14, 0, 0, 0, 0, -1))
    assert _clock_time(32 * 60, now) == "at 14:32"
    assert _clock_time(20 * 3600, now) == "at Sun 10:00"


def test_no_worker_row_reads_starting_after_the_batch_ended(
    qtbot: Any, dialog: BatchRenderDialog, api: BatchRenderAPI
) -> None:
    plan = BatchPlan(
        config=RenderConfig(scene=str(SHOT)),
        scene_name="shot010_lighting",
        renderer="arnold",
        frames_by_layer={"BG": [1, 2]},
    )
    emit_signal(api, "batch_started", "20261205-1300-abcdef", plan)
    qtbot.waitUntil(lambda: dialog.progress_widget.frame_strip.layer("BG") is not None)
    dialog.renders_model.update_statuses(
        [status("gpu1", state=WorkerState.STARTING), status("gpu2")]
    )
    emit_signal(
        api,
        "batch_finished",
        BatchSummary(
            batch_id="20261205-1300-abcdef",
            state=BatchState.FAILED,
            total=2,
            failed=2,
            workers={"gpu2": WorkerSummary(device="GPU 2", disabled="licence not obtained")},
        ),
    )
    qtbot.waitUntil(lambda: not dialog.running)
    model = dialog.renders_model
    qtbot.waitUntil(lambda: model.status(0).state is WorkerState.FINISHED)
    assert model.status(1).state is WorkerState.DISABLED
    assert model.status(1).message == "licence not obtained"


def test_a_dashboard_opened_after_the_batch_ended_shows_its_frames_from_the_store(
    qtbot: Any, dialog: BatchRenderDialog, api: BatchRenderAPI
) -> None:
    """The render service replays how its last batch ended (batch_started, batch_finished in
    one delivery, no frame events): the new window reads the frames from the job store."""
    dialog.config_widget.set_frames("1-3")
    summary = run_to_end(qtbot, dialog, api)
    plan = dialog._plan
    assert plan is not None and summary.state is BatchState.DONE
    window = BatchRenderDialog(api)
    try:
        emit_signal(api, "batch_started", summary.batch_id, plan)  # the replay, in one turn
        emit_signal(api, "batch_finished", summary)
        strip = window.progress_widget.frame_strip
        qtbot.waitUntil(lambda: strip.totals()["done"] == 6)
        assert window.status_label.text().startswith("Done: 6 / 6 frames")
        assert "ended before this window opened" in window.status_label.text()
    finally:
        window.shutdown()
        window.deleteLater()


def test_the_preview_shows_the_latest_finished_frame_of_the_batch(
    qtbot: Any, dialog: BatchRenderDialog, api: BatchRenderAPI
) -> None:
    dialog.config_widget.set_frames("1-3")
    dialog.config_widget.set_layer_checked("CHAR", False)
    finished: list[tuple[str, int]] = []  # three workers: in any order
    api.frame_finished.connect(lambda _w, layer, frame, _o: finished.append((layer, frame)))
    run_to_end(qtbot, dialog, api)
    preview = dialog.progress_widget.preview
    qtbot.waitUntil(lambda: preview.shown_frame() == finished[-1])
    path = preview.current_path()
    assert path is not None and Path(path).is_file()
    strip = dialog.progress_widget.frame_strip
    emit_signal(strip, "frame_selected", "BG", 1)  # a click on the first cell
    assert preview.shown_frame() == ("BG", 1)


# ----------------------------------------------------------------------------- GPU hand-back


def test_a_gpu_given_back_from_the_worker_menu_frees_it_and_the_batch_finishes(
    qtbot: Any, dialog: BatchRenderDialog, api: BatchRenderAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LRC_SIM_TIME_SCALE", "0.05")
    dialog.config_widget.set_frames("1-20")  # still rendering while the panel catches up
    with qtbot.waitSignal(api.frame_started, timeout=BATCH_MS):
        assert dialog.start()
    model = dialog.renders_model
    qtbot.waitUntil(lambda: model.row_of("gpu2") >= 0)
    menu = dialog.renders_view.menu_for(model.status(model.row_of("gpu2")))
    assert menu is not None
    texts = [action.text() for action in menu.actions()]
    assert "Give GPU 2 back to Maya after this frame" in texts
    give_back = next(a for a in menu.actions() if a.text() == "Give GPU 2 back to Maya now")
    give_back.trigger()
    assert "GPU 2" in dialog.message_area.text() and dialog.message_area.level() == "info"
    qtbot.waitUntil(
        lambda: dialog.system_widget.gpu_roles().get(2) == "given back to Maya", timeout=BATCH_MS
    )
    released = model.status(model.row_of("gpu2"))
    assert released.state is WorkerState.RELEASED
    take_back = dialog.renders_view.menu_for(released)
    assert take_back is not None
    assert [a.text() for a in take_back.actions()] == ["Take GPU 2 back into the batch"]
    qtbot.waitUntil(lambda: dialog.message_area.level() == "ok", timeout=BATCH_MS)
    assert dialog.counts() == {"total": 40, "done": 40, "failed": 0, "skipped": 0}
    assert "Given back to Maya during the batch: gpu2." in dialog.message_area.text()


def test_giving_back_a_gpu_the_batch_does_not_use_is_refused_with_the_reason(
    qtbot: Any, dialog: BatchRenderDialog, api: BatchRenderAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LRC_SIM_TIME_SCALE", "0.2")
    dialog.config_widget.set_frames("1-6")
    with qtbot.waitSignal(api.batch_started, timeout=BATCH_MS):
        assert dialog.start()
    assert not dialog.release_gpu(0)  # the GPU kept for Maya renders nothing
    assert dialog.message_area.level() == "error" and "GPU 0" in dialog.message_area.text()


def test_maya_short_of_gpu_memory_offers_once_to_give_a_gpu_back(
    qtbot: Any, dialog: BatchRenderDialog, api: BatchRenderAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lrc_toolbox.records.models import MayaGpuPressure

    pressure = MayaGpuPressure(gpu=0, used_percent=95.0, message="Maya's GPU 0 is short")
    asked: list[object] = []

    def fake(info: object) -> MayaGpuPressure:
        asked.append(info)
        return pressure

    monkeypatch.setattr(api.detector, "maya_gpu_pressure", fake)
    monkeypatch.setenv("LRC_SIM_TIME_SCALE", "0.2")
    dialog.config_widget.set_frames("1-6")
    with qtbot.waitSignal(api.batch_started, timeout=BATCH_MS):
        assert dialog.start()
    info = api.get_system_info()
    dialog._on_system_refreshed(info)
    assert dialog.message_area.level() == "warning"
    assert dialog.message_area.text().startswith("Maya's GPU 0 is short. To give a GPU back")
    dialog.message_area.clear()
    dialog._on_system_refreshed(info)  # said once a batch, not every second
    assert dialog.message_area.text() == "" and len(asked) == 1
