"""The dashboard fits a dock and reads well: small sizes, fixed buttons, contrast in both
themes, keyboard use (Enter, Tab, Alt keys), the setup locked while rendering, a disabled GPU
shown with its reason (pytest-qt, offscreen, on the simulator)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("Qt")

from Qt import QtCore, QtGui, QtWidgets
from sim_helpers import SHOT

from lrc_toolbox.config.batch_render_defaults import Settings
from lrc_toolbox.core.batch_render_api import BatchRenderAPI
from lrc_toolbox.records.batch import BatchSummary
from lrc_toolbox.records.models import (
    BatchState,
    CPUInfo,
    GPUInfo,
    RenderStatus,
    SystemInfo,
    WorkerState,
)
from lrc_toolbox.ui import style
from lrc_toolbox.ui.dialogs.batch_render_dialog import BatchRenderDialog
from lrc_toolbox.ui.widgets.active_renders import ActiveRendersModel, ActiveRendersView, Column
from lrc_toolbox.ui.widgets.render_config_widget import RenderConfigWidget
from lrc_toolbox.ui.widgets.system_info_widget import SystemInfoWidget

pytestmark = pytest.mark.qt
BATCH_MS = 60_000
MIN_TEXT_CONTRAST = 4.5


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[BatchRenderAPI]:
    monkeypatch.setenv("LRC_SIM_TIME_SCALE", "0.002")
    monkeypatch.setenv("LRC_SIM_STATE_DIR", str(tmp_path / "sim-state"))
    settings = Settings(
        simulate_gpus=4,
        temp_root=str(tmp_path / "tmp"),
        job_store_path=str(tmp_path / "jobs.sqlite"),
        min_free_disk_mb=0,
        warn_free_disk_mb=0,
        stop_grace_seconds=1.0,
    )
    instance = BatchRenderAPI(settings, simulate=True)
    yield instance
    instance.shutdown()


@pytest.fixture
def dialog(qtbot: Any, api: BatchRenderAPI, tmp_path: Path) -> Iterator[BatchRenderDialog]:
    window = BatchRenderDialog(api)
    window.confirm_stop = lambda _left, _seconds: True  # type: ignore[method-assign]
    window.ask_close_while_rendering = lambda: "stop"  # type: ignore[method-assign]
    window.config_widget.set_output_dir(str(tmp_path / "images"))
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


def at_size(qtbot: Any, dialog: BatchRenderDialog, width: int, height: int) -> None:
    dialog.resize(width, height)
    qtbot.waitUntil(lambda: dialog.size() == QtCore.QSize(width, height))
    QtWidgets.QApplication.processEvents()
    QtWidgets.QApplication.processEvents()


def rect_in(widget: QtWidgets.QWidget, ancestor: QtWidgets.QWidget) -> QtCore.QRect:
    return QtCore.QRect(widget.mapTo(ancestor, QtCore.QPoint(0, 0)), widget.size())


def main_buttons(dialog: BatchRenderDialog) -> list[QtWidgets.QPushButton]:
    return [dialog.start_button, dialog.resume_button, dialog.stop_button, dialog.close_button]


def button_rects(dialog: BatchRenderDialog) -> list[QtCore.QRect]:
    return [rect_in(button, dialog) for button in main_buttons(dialog)]


def stopped(dialog: BatchRenderDialog) -> None:
    """As after a batch stopped by the artist (the state the dialog records)."""
    dialog._last_batch = ("20260101-000000-test", BatchState.CANCELLED)
    dialog._controls_key = None
    dialog._update_controls()


def run_to_end(qtbot: Any, dialog: BatchRenderDialog, api: BatchRenderAPI) -> BatchSummary:
    with qtbot.waitSignal(api.batch_finished, timeout=BATCH_MS) as blocker:
        assert dialog.start()
    summary = blocker.args[0]
    assert isinstance(summary, BatchSummary)
    qtbot.waitUntil(lambda: not dialog.running and not dialog.config_widget.locked)
    return summary


def text_colour(widget: QtWidgets.QWidget) -> str:
    return str(widget.palette().color(QtGui.QPalette.ColorRole.WindowText).name())


# ----------------------------------------------------------------------------- a small dock


def test_the_minimum_size_fits_a_small_dock(dialog: BatchRenderDialog) -> None:
    minimum = dialog.minimumSizeHint().expandedTo(dialog.minimumSize())
    assert minimum.width() <= 620 and minimum.height() <= 440


def test_every_main_button_is_whole_and_inside_the_window_at_640_by_480(
    qtbot: Any, dialog: BatchRenderDialog
) -> None:
    at_size(qtbot, dialog, 640, 480)
    window = dialog.rect()
    for button, rect in zip(main_buttons(dialog), button_rects(dialog), strict=True):
        assert button.isVisible(), button.text()
        assert window.contains(rect), (button.text(), rect)
        assert rect.width() >= button.sizeHint().width(), button.text()


def test_a_narrow_window_shows_setup_and_progress_as_tabs(
    qtbot: Any, dialog: BatchRenderDialog
) -> None:
    at_size(qtbot, dialog, 640, 480)
    assert dialog.narrow
    at_size(qtbot, dialog, 1320, 860)
    assert not dialog.narrow and dialog.setup_panel.isVisible()
    assert dialog.progress_panel.isVisible()


def test_the_log_view_keeps_a_few_lines_at_640_by_480(
    qtbot: Any, dialog: BatchRenderDialog
) -> None:
    at_size(qtbot, dialog, 640, 480)
    dialog.set_setup_folded(True)  # the Progress tab
    QtWidgets.QApplication.processEvents()
    log_view = dialog.progress_widget.log_view
    line = log_view.fontMetrics().lineSpacing()
    assert log_view.isVisible()
    assert log_view.height() >= dialog.LOG_MIN_LINES * line


@pytest.mark.parametrize("size", [(640, 480), (1000, 520)])
def test_the_system_rows_do_not_overlap(
    qtbot: Any, dialog: BatchRenderDialog, size: tuple[int, int]
) -> None:
    at_size(qtbot, dialog, *size)
    if dialog.narrow:
        dialog._tabs.setCurrentIndex(2)  # the System tab
        QtWidgets.QApplication.processEvents()
    widget = dialog.system_widget
    chips = [widget.role_label(index) for index in range(4)]
    rects = [rect_in(chip, widget) for chip in chips if chip is not None]
    assert len(rects) == 4
    for upper, lower in itertools.pairwise(rects):
        assert upper.height() > 0 and upper.bottom() < lower.top(), (upper, lower)


def test_buttons_keep_their_place_when_resume_becomes_available(
    qtbot: Any, dialog: BatchRenderDialog
) -> None:
    at_size(qtbot, dialog, 640, 480)
    before = button_rects(dialog)
    stopped(dialog)
    QtWidgets.QApplication.processEvents()
    assert dialog.resume_button.isEnabled()
    assert button_rects(dialog) == before


def test_a_message_moves_neither_the_panels_nor_the_buttons(
    qtbot: Any, dialog: BatchRenderDialog
) -> None:
    at_size(qtbot, dialog, 640, 480)
    panels = rect_in(dialog._stack, dialog)
    buttons = button_rects(dialog)
    dialog.message_area.show_message("The batch failed: something went wrong.", "error")
    QtWidgets.QApplication.processEvents()
    assert dialog.message_area.isVisible()
    assert rect_in(dialog._stack, dialog) == panels and button_rects(dialog) == buttons


def test_a_two_line_message_needs_no_scroll_bar(qtbot: Any, dialog: BatchRenderDialog) -> None:
    at_size(qtbot, dialog, 640, 480)
    area = dialog.message_area
    metrics = area.fontMetrics()
    word = "rendered "
    words = int(1.6 * (area.width() - 60) / metrics.horizontalAdvance(word))
    area.show_message((word * words).strip(), "info")  # about one and a half lines
    QtWidgets.QApplication.processEvents()
    QtWidgets.QApplication.processEvents()
    assert not area.scrolls()


def test_the_frames_field_keeps_its_size_when_invalid(
    qtbot: Any, dialog: BatchRenderDialog
) -> None:
    at_size(qtbot, dialog, 1320, 860)
    edit = dialog.config_widget.frames_edit
    qtbot.waitUntil(lambda: edit.width() > 100)
    before = (edit.geometry(), edit.sizeHint())
    dialog.config_widget.set_frames("1-10x0")
    QtWidgets.QApplication.processEvents()
    assert not dialog.config_widget.frames_valid
    assert (edit.geometry(), edit.sizeHint()) == before


def test_the_device_column_shows_a_long_device_name_whole(qtbot: Any) -> None:
    model = ActiveRendersModel()
    view = ActiveRendersView(model)
    qtbot.addWidget(view)
    device = "GPU 3 · NVIDIA RTX 6000 Ada Generation (simulated)"
    model.update_statuses(
        [RenderStatus(worker_id="gpu3", state=WorkerState.RENDERING, device=device)]
    )
    needed = view.fontMetrics().horizontalAdvance(device)
    assert view.columnWidth(Column.DEVICE) >= needed


def test_reading_the_scene_is_said_in_a_neutral_colour(
    qtbot: Any, dialog: BatchRenderDialog
) -> None:
    dialog.set_scene(str(SHOT))  # read again: "Reading the scene…" until it is read
    assert dialog.config_widget.loading
    assert dialog.reason_label.text() == "Reading the scene…"
    assert text_colour(dialog.reason_label) == style.status_text_colour("info")
    qtbot.waitUntil(lambda: not dialog.config_widget.loading, timeout=10_000)


# ----------------------------------------------------------------------------- contrast


def test_contrast_ratio_follows_wcag() -> None:
    assert style.contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert style.contrast_ratio("#ffffff", "#000000") == pytest.approx(21.0)
    assert style.contrast_ratio("#444444", "#444444") == pytest.approx(1.0)
    assert style.contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


def test_a_bad_colour_name_is_refused_with_a_message() -> None:
    with pytest.raises(ValueError, match="not a colour"):
        style.contrast_ratio("reddish", "#ffffff")


PALETTES = {"dark": style.dark_palette, "light": style.light_palette}
ROLE = QtGui.QPalette.ColorRole
GROUP = QtGui.QPalette.ColorGroup
#: (text role, background role) pairs as the widgets draw them
TEXT_ON = [
    (ROLE.WindowText, ROLE.Window),
    (ROLE.Text, ROLE.Base),
    (ROLE.Text, ROLE.AlternateBase),
    (ROLE.PlaceholderText, ROLE.Base),
    (ROLE.PlaceholderText, ROLE.AlternateBase),
    (ROLE.ButtonText, ROLE.Button),
    (ROLE.ToolTipText, ROLE.ToolTipBase),
    (ROLE.HighlightedText, ROLE.Highlight),
]


def contrasts(palette: QtGui.QPalette, group: Any) -> dict[str, float]:
    return {
        f"{fg} on {bg}": style.contrast_ratio(palette.color(group, fg), palette.color(group, bg))
        for fg, bg in TEXT_ON
    }


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_palette_text_reads_at_4_5_to_1(theme: str) -> None:
    palette = PALETTES[theme]()
    low = {k: v for k, v in contrasts(palette, GROUP.Active).items() if v < MIN_TEXT_CONTRAST}
    assert not low


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_disabled_text_reads_at_4_5_to_1(theme: str) -> None:
    palette = PALETTES[theme]()
    low = {k: v for k, v in contrasts(palette, GROUP.Disabled).items() if v < MIN_TEXT_CONTRAST}
    assert not low


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_status_text_reads_at_4_5_to_1_on_windows_and_fields(theme: str) -> None:
    palette = PALETTES[theme]()
    backgrounds = [palette.color(role) for role in (ROLE.Window, ROLE.Base, ROLE.AlternateBase)]
    low = {
        (level, background.name()): style.contrast_ratio(
            style.status_text_colour(level, palette), background
        )
        for level in style.LEVELS
        for background in backgrounds
    }
    assert {k: v for k, v in low.items() if v < MIN_TEXT_CONTRAST} == {}
    for state, level in style.STATE_LEVELS.items():  # the worker table's words
        assert level in style.LEVELS, state


def test_chip_and_primary_button_text_reads_at_4_5_to_1() -> None:
    for role, fill in style.ROLE_COLOURS.items():
        assert style.contrast_ratio(style.CHIP_TEXT, fill) >= MIN_TEXT_CONTRAST, role
    assert style.contrast_ratio(style.PRIMARY_TEXT, style.PRIMARY_FILL) >= MIN_TEXT_CONTRAST


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_style_sheet_button_and_field_text_reads_at_4_5_to_1(theme: str) -> None:
    colours = style._SHEET_COLOURS[theme]
    pairs = [
        ("text", "button"),
        ("text", "hover"),
        ("text", "pressed"),
        ("disabled_text", "disabled_button"),
        ("text", "base"),
        ("disabled_text", "base"),
        ("text", "invalid"),
        ("text", "header"),
        ("text", "tooltip"),
        ("primary_text", "primary"),
        ("primary_text", "primary_hover"),
        ("bar_text", "chunk"),
        ("bar_text", "base"),
    ]
    low = {
        pair: style.contrast_ratio(colours[pair[0]], colours[pair[1]])
        for pair in pairs
        if style.contrast_ratio(colours[pair[0]], colours[pair[1]]) < MIN_TEXT_CONTRAST
    }
    assert not low


def test_the_text_colours_follow_the_palette() -> None:
    dark, light = style.dark_palette(), style.light_palette()
    assert style.is_dark(dark) and not style.is_dark(light)
    assert style.status_text_colour("error", dark) == style.TEXT_ON_DARK["error"]
    assert style.status_text_colour("error", light) == style.TEXT_ON_LIGHT["error"]


def test_a_faint_host_placeholder_is_made_readable(qtbot: Any) -> None:
    widget = QtWidgets.QWidget()
    qtbot.addWidget(widget)
    palette = style.dark_palette()
    palette.setColor(ROLE.PlaceholderText, QtGui.QColor("#3a3a3a"))  # 1.3:1, as in Maya
    widget.setPalette(palette)
    assert style.ensure_readable_palette(widget)
    fixed = widget.palette()
    ratio = style.contrast_ratio(fixed.color(ROLE.PlaceholderText), fixed.color(ROLE.Base))
    assert ratio >= MIN_TEXT_CONTRAST


# ----------------------------------------------------------------------------- keyboard


def test_the_focus_ring_is_drawn_and_differs_from_the_primary_look(qtbot: Any) -> None:
    panel = QtWidgets.QWidget()
    qtbot.addWidget(panel)
    panel.setStyleSheet(style.style_sheet("dark"))
    row = QtWidgets.QHBoxLayout(panel)
    plain, primary = QtWidgets.QPushButton("Plain", panel), QtWidgets.QPushButton("Go", panel)
    row.addWidget(plain)
    row.addWidget(primary)
    style.set_primary(primary, True)
    panel.show()
    qtbot.waitActive(panel)

    def edge(button: QtWidgets.QPushButton) -> str:
        return str(button.grab().toImage().pixelColor(0, button.height() // 2).name())

    unfocused = edge(plain)
    plain.setFocus()
    qtbot.waitUntil(plain.hasFocus)
    assert edge(plain) == style.FOCUS_RING != unfocused
    assert edge(primary) != style.FOCUS_RING


def test_enter_in_the_frames_field_does_not_start_a_batch(
    qtbot: Any, dialog: BatchRenderDialog, api: BatchRenderAPI
) -> None:
    dialog.config_widget.set_frames("1-2")
    assert dialog.start_button.isEnabled()
    edit = dialog.config_widget.frames_edit
    edit.setFocus()
    qtbot.keyClick(edit, QtCore.Qt.Key.Key_Return)
    qtbot.keyClick(edit, QtCore.Qt.Key.Key_Enter)
    QtWidgets.QApplication.processEvents()
    assert not api.is_running and not dialog.running and dialog.batch_id is None
    assert dialog.isVisible()


def test_no_button_is_a_default_button(dialog: BatchRenderDialog) -> None:
    stopped(dialog)
    for button in dialog.findChildren(QtWidgets.QPushButton):
        assert not button.isDefault() and not button.autoDefault(), button.text()


def test_tab_goes_through_the_setup_then_the_gpus_then_the_buttons(
    dialog: BatchRenderDialog,
) -> None:
    config = dialog.config_widget
    gpu_boxes = list(config._gpu_boxes.values())
    expected = [
        config.scene_edit,
        config.frames_edit,
        config.prefix_edit,
        *gpu_boxes,
        config.processes_spin,
        dialog.start_button,
        dialog.resume_button,
        dialog.stop_button,
        dialog.close_button,
    ]
    chain: list[QtWidgets.QWidget] = []
    widget: QtWidgets.QWidget = config.scene_edit
    for _ in range(500):
        chain.append(widget)
        widget = widget.nextInFocusChain()
        if widget is config.scene_edit:
            break
    positions = [chain.index(w) for w in expected]
    assert positions == sorted(positions)


def test_the_main_buttons_have_unique_alt_keys(dialog: BatchRenderDialog) -> None:
    keys: dict[str, str] = {}
    for button in dialog.findChildren(QtWidgets.QAbstractButton):
        text = button.text().replace("&&", "")
        if "&" in text:
            key = text[text.index("&") + 1].lower()
            assert key not in keys, (text, keys[key])
            keys[key] = text
    assert {"s", "r", "t", "c", "u"} <= set(keys)


def test_alt_s_starts_the_batch(qtbot: Any, dialog: BatchRenderDialog, api: BatchRenderAPI) -> None:
    dialog.config_widget.set_frames("1-2")
    dialog.activateWindow()
    qtbot.waitActive(dialog)
    with qtbot.waitSignal(api.batch_finished, timeout=BATCH_MS):
        qtbot.keyClick(
            dialog.config_widget.frames_edit,
            QtCore.Qt.Key.Key_S,
            QtCore.Qt.KeyboardModifier.AltModifier,
        )
    assert dialog.batch_id is not None


# ----------------------------------------------------------------------------- while a batch runs


def test_the_setup_is_locked_while_a_batch_runs_and_unlocked_after(
    qtbot: Any, dialog: BatchRenderDialog, api: BatchRenderAPI
) -> None:
    dialog.config_widget.set_frames("1-2")
    locked: list[tuple[bool, bool, str]] = []
    api.batch_started.connect(
        lambda *_: QtCore.QTimer.singleShot(
            0,
            lambda: locked.append(
                (
                    dialog.config_widget.locked,
                    dialog.config_widget.frames_edit.isEnabled(),
                    dialog.config_widget.lock_note.text(),
                )
            ),
        )
    )
    run_to_end(qtbot, dialog, api)
    assert locked and locked[0][0] and not locked[0][1]
    assert "locked" in locked[0][2] and "next batch" in locked[0][2]
    assert not dialog.config_widget.locked and dialog.config_widget.frames_edit.isEnabled()
    assert not dialog.config_widget.lock_note.isVisible()


def test_the_setup_folds_away_while_a_batch_runs_and_comes_back(
    qtbot: Any, dialog: BatchRenderDialog, api: BatchRenderAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LRC_SIM_TIME_SCALE", "0.2")
    at_size(qtbot, dialog, 1320, 860)
    dialog.config_widget.set_frames("1-6")
    assert dialog.start()
    assert dialog.setup_folded and not dialog.setup_panel.isVisible()
    dialog.setup_toggle.click()  # the artist unfolds it to look
    assert dialog.setup_panel.isVisible() and not dialog.config_widget.frames_edit.isEnabled()
    with qtbot.waitSignal(api.batch_finished, timeout=BATCH_MS):
        dialog.stop()
    qtbot.waitUntil(lambda: not dialog.running)
    assert not dialog.setup_folded and dialog.setup_panel.isVisible()


def test_hide_replaces_close_while_rendering_and_the_batch_goes_on(
    qtbot: Any, dialog: BatchRenderDialog, api: BatchRenderAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LRC_SIM_TIME_SCALE", "0.2")
    dialog.config_widget.set_frames("1-6")
    assert dialog.close_button.text() == "&Close"
    assert dialog.start()
    assert dialog.close_button.text() == "&Hide"
    dialog.close_button.click()
    assert not dialog.isVisible() and api.is_running and dialog.running


def test_resume_is_the_primary_action_after_a_stop(
    qtbot: Any, dialog: BatchRenderDialog, api: BatchRenderAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LRC_SIM_TIME_SCALE", "0.2")
    dialog.config_widget.set_frames("1-6")
    assert dialog.start_button.property("primary")
    assert dialog.start()
    qtbot.waitUntil(lambda: dialog.running)
    with qtbot.waitSignal(api.batch_finished, timeout=BATCH_MS) as blocker:
        dialog.stop()
    assert blocker.args[0].state is BatchState.CANCELLED
    qtbot.waitUntil(lambda: dialog.resume_button.isEnabled())
    assert dialog.resume_button.property("primary") and not dialog.start_button.property("primary")
    assert not dialog.resume_button.isDefault() and not dialog.start_button.isDefault()


# ----------------------------------------------------------------------------- disabled GPUs


def system_info() -> SystemInfo:
    gpus = [
        GPUInfo(index=i, name="RTX A6000", uuid=f"GPU-{i}", memory_total_mb=49140) for i in range(3)
    ]
    return SystemInfo(
        gpus=gpus,
        cpu=CPUInfo(name="Xeon", physical_cores=16, logical_cores=32),
        ram_total_mb=131072,
        ram_available_mb=65536,
        reserved_gpus=[0],
        reserved_cpu_cores=4,
    )


def test_the_system_panel_says_disabled_with_the_reason(qtbot: Any) -> None:
    widget = SystemInfoWidget()
    qtbot.addWidget(widget)
    widget.set_system_info(system_info())
    widget.set_disabled_gpus({2: "License was not obtained"})
    assert widget.gpu_roles()[2] == "disabled: License was not obtained"
    chip = widget.role_label(2)
    assert chip is not None and chip.text().startswith("disabled")
    assert "License was not obtained" in chip.toolTip()
    assert widget.gpu_roles()[1] == "idle"
    widget.set_disabled_gpus({})
    assert widget.gpu_roles()[2] == "idle"


def test_the_device_choice_unticks_a_disabled_gpu_once_and_says_why(qtbot: Any) -> None:
    widget = RenderConfigWidget(Settings())
    qtbot.addWidget(widget)
    widget.set_system_info(system_info())
    assert widget.checked_gpus() == [1, 2]
    widget.set_disabled_gpus({2: "out of GPU memory"})
    box = widget._gpu_boxes[2]
    assert widget.checked_gpus() == [1] and box.isEnabled()
    assert "disabled" in box.text() and "out of GPU memory" in box.toolTip()
    box.setChecked(True)  # the artist wants it back for the next batch
    widget.set_disabled_gpus({2: "out of GPU memory"})  # the same report again
    assert widget.checked_gpus() == [1, 2]


def test_while_the_batch_runs_a_disabled_gpu_is_marked_and_unticked_after(qtbot: Any) -> None:
    widget = RenderConfigWidget(Settings())
    qtbot.addWidget(widget)
    widget.set_system_info(system_info())
    widget.set_disabled_gpus({2: "out of GPU memory"}, untick=False)
    assert widget.checked_gpus() == [1, 2] and "disabled" in widget._gpu_boxes[2].text()
    widget.set_disabled_gpus({2: "out of GPU memory"})  # the batch is over
    assert widget.checked_gpus() == [1]


def test_gpus_all_disabled_alike_stay_ticked_and_marked(qtbot: Any) -> None:
    widget = RenderConfigWidget(Settings())
    qtbot.addWidget(widget)
    widget.set_system_info(system_info())
    widget.set_disabled_gpus({1: "License was not obtained", 2: "License was not obtained"})
    assert widget.checked_gpus() == [1, 2]
    assert all("disabled" in widget._gpu_boxes[i].text() for i in (1, 2))


def test_a_batch_that_disables_its_gpus_shows_them_in_both_places(
    qtbot: Any, dialog: BatchRenderDialog, api: BatchRenderAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LRC_SIM_LICENCE_FAIL", "1")
    dialog.config_widget.set_frames("1-2")
    summary = run_to_end(qtbot, dialog, api)
    assert summary.state is BatchState.FAILED
    qtbot.waitUntil(lambda: dialog.system_widget.gpu_roles()[1].startswith("disabled: "))
    roles = dialog.system_widget.gpu_roles()
    assert all(roles[i].startswith("disabled: ") for i in (1, 2, 3)), roles
    assert "License" in roles[1] or "licen" in roles[1].lower()
    assert set(dialog.config_widget.disabled_gpus()) == {1, 2, 3}
    # every GPU failed alike (a licence): they stay ticked, Start stays possible
    assert dialog.config_widget.checked_gpus() == [1, 2, 3]


def test_resume_is_the_primary_action_after_a_failure(
    qtbot: Any, dialog: BatchRenderDialog, api: BatchRenderAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LRC_SIM_LICENCE_FAIL", "1")
    dialog.config_widget.set_frames("1-2")
    run_to_end(qtbot, dialog, api)
    assert dialog.resume_button.property("primary") and not dialog.start_button.property("primary")
