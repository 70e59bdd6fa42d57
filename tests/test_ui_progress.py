"""The progress panel: buffered logs with a line cap, filters, search, follow-tail, log files,
and the per-layer frame strip, driven directly and through the API's signals."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("Qt")

from Qt import QtCore, QtGui, QtWidgets

from lrc_toolbox.core.qt_compat import emit_signal
from lrc_toolbox.records.batch import BatchPlan, BatchSummary, FailedFrame, PlannedWorker
from lrc_toolbox.records.models import BatchState, RenderConfig
from lrc_toolbox.ui.dialogs.render_progress_widget import (
    STATE_COLOURS,
    FrameStrip,
    RenderProgressWidget,
)
from lrc_toolbox.ui.widgets.log_view import TEXT, LogView, level_colour

pytestmark = pytest.mark.qt

T0 = time.mktime((2026, 11, 26, 14, 5, 9, 0, 0, -1))  # 14:05:09 local time

PLAN = BatchPlan(
    config=RenderConfig(scene="/shots/shot010.ma"),
    scene_name="shot010",
    renderer="redshift",
    frames_by_layer={"BG": list(range(1, 25)), "CHAR": list(range(1, 92, 10))},
    workers=[PlannedWorker(id="gpu0", device="GPU 0"), PlannedWorker(id="gpu1", device="GPU 1")],
    batch_id="b1",
)


class FakeApi(QtCore.QObject):
    """The signals of BatchRenderAPI the panel listens to, with the same signatures.

    The tests emit them with ``emit_signal``, as the API does: ``.emit()`` takes a reference
    from ``True`` on PySide6 6.12 (see ``lrc_toolbox/core/qt_compat.py``)."""

    batch_started = QtCore.Signal(str, object)
    frame_started = QtCore.Signal(str, str, int)
    frame_finished = QtCore.Signal(str, str, int, object)
    frame_failed = QtCore.Signal(str, str, int, str, bool)
    log_message = QtCore.Signal(float, str, str, str)
    batch_finished = QtCore.Signal(object)


class Opener:
    def __init__(self) -> None:
        self.urls: list[QtCore.QUrl] = []

    def __call__(self, url: QtCore.QUrl) -> bool:
        self.urls.append(url)
        return True


@pytest.fixture
def panel(qtbot: Any) -> Iterator[RenderProgressWidget]:
    widget = RenderProgressWidget(max_lines=100, opener=Opener())
    qtbot.addWidget(widget)
    widget.resize(900, 500)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget


@pytest.fixture
def log(panel: RenderProgressWidget) -> LogView:
    return panel.log_view


def add_lines(view: LogView | RenderProgressWidget, count: int, **kw: str) -> None:
    level, worker, text = kw.get("level", "info"), kw.get("worker", "gpu0"), kw.get("text", "line")
    for i in range(count):
        view.append_log(T0 + i, level, worker, f"{text} {i}")


# ---------------------------------------------------------------------------- logs


def test_appended_lines_show_after_the_flush_timer(panel: RenderProgressWidget, qtbot: Any) -> None:
    panel.append_log(T0, "info", "gpu0", "Rendering frame 1")
    assert panel.log_view.visible_texts() == []  # buffered, not yet shown
    qtbot.waitUntil(lambda: panel.log_view.visible_texts() == ["Rendering frame 1"], timeout=2000)


def test_a_line_shows_its_time_and_worker(log: LogView) -> None:
    log.append_log(T0, "info", "gpu0", "Rendering frame 1")
    log.flush()
    assert log.model.data(log.model.index(0, 0)) == "14:05:09  gpu0      Rendering frame 1"


def test_a_flush_inserts_all_waiting_lines_in_one_batch(log: LogView, qtbot: Any) -> None:
    inserts: list[tuple[int, int]] = []
    log.model.rowsInserted.connect(lambda _parent, first, last: inserts.append((first, last)))
    add_lines(log, 50)
    log.flush()
    assert inserts == [(0, 49)]


def test_the_line_cap_drops_the_oldest_lines(log: LogView) -> None:
    add_lines(log, 130)  # cap is 100
    log.flush()
    texts = log.visible_texts()
    assert len(texts) == 100
    assert texts[0] == "line 30"
    assert texts[-1] == "line 129"


def test_the_cap_trims_the_front_in_one_removal_per_flush(log: LogView) -> None:
    removals: list[tuple[int, int]] = []
    log.model.rowsRemoved.connect(lambda _parent, first, last: removals.append((first, last)))
    add_lines(log, 100)
    log.flush()
    add_lines(log, 40)
    log.flush()
    assert removals == [(0, 39)]
    assert log.model.rowCount() == 100


def test_a_flood_of_20000_lines_keeps_at_most_the_cap_in_memory(qtbot: Any) -> None:
    view = LogView(max_lines=5000)
    qtbot.addWidget(view)
    for i in range(20_000):
        view.append_log(T0, "info", f"gpu{i % 8}", f"Block {i} rendered")
        if i % 1000 == 999:
            view.flush()
    view.flush()
    assert view.line_count == 5000
    assert view.model.rowCount() == 5000
    assert view.pending_count == 0
    assert view.visible_texts()[0] == "Block 15000 rendered"
    assert "15,000 older lines are only in the log files" in view.status_label.text()


def test_the_level_filter_hides_lower_levels(log: LogView) -> None:
    log.append_log(T0, "debug", "gpu0", "d")
    log.append_log(T0, "info", "gpu0", "i")
    log.append_log(T0, "warning", "gpu0", "w")
    log.append_log(T0, "error", "gpu0", "e")
    log.append_log(T0, "fatal", "gpu0", "f")
    log.flush()
    log.set_min_level("warning")
    assert log.visible_texts() == ["w", "e", "f"]
    assert log.level_combo.currentText() == "Warnings and errors"


def test_lines_arriving_below_the_level_filter_stay_hidden(log: LogView) -> None:
    log.set_min_level("error")
    log.append_log(T0, "info", "gpu0", "i")
    log.append_log(T0, "error", "gpu0", "e")
    log.flush()
    assert log.visible_texts() == ["e"]


def test_the_worker_selector_lists_each_worker_seen(log: LogView) -> None:
    log.append_log(T0, "info", "gpu1", "a")
    log.append_log(T0, "info", "gpu0", "b")
    log.flush()
    combo = log.worker_combo
    assert [combo.itemText(i) for i in range(combo.count())] == ["All workers", "gpu1", "gpu0"]


def test_the_worker_filter_shows_one_worker_without_its_column(log: LogView) -> None:
    for worker, text in [("gpu0", "a"), ("gpu1", "b"), ("gpu0", "c")]:
        log.append_log(T0, "info", worker, text)
    log.flush()
    log.set_worker_filter("gpu0")
    assert log.visible_texts() == ["a", "c"]
    assert log.model.data(log.model.index(0, 0)) == "14:05:09  a"
    log.set_worker_filter(None)
    assert log.visible_texts() == ["a", "b", "c"]


def test_search_counts_matches_and_starts_at_the_newest(log: LogView) -> None:
    for text in ["ok", "ERROR one", "ok", "error two", "ok", "an Error three"]:
        log.append_log(T0, "info", "gpu0", text)
    log.flush()
    log.set_search("error")
    assert log.match_counter_text() == "3 / 3"
    assert log.match_label.text() == "3 / 3"
    assert log.view.currentIndex().row() == 5


def test_search_next_wraps_around_to_the_oldest_match(log: LogView) -> None:
    for text in ["ERROR one", "ok", "error two", "error three"]:
        log.append_log(T0, "info", "gpu0", text)
    log.flush()
    log.set_search("error")
    log.find_next()
    assert log.match_counter_text() == "1 / 3"
    assert log.view.currentIndex().row() == 0
    log.find_next()
    assert log.match_counter_text() == "2 / 3"
    assert log.view.currentIndex().row() == 2


def test_search_previous_goes_back_and_wraps(log: LogView) -> None:
    for text in ["error one", "error two", "ok"]:
        log.append_log(T0, "info", "gpu0", text)
    log.flush()
    log.set_search("error")
    log.find_previous()
    assert log.match_counter_text() == "1 / 2"
    log.find_previous()
    assert log.match_counter_text() == "2 / 2"


def test_search_counts_matches_that_arrive_later(log: LogView) -> None:
    log.set_search("license")
    log.append_log(T0, "error", "gpu0", "No license available")
    log.flush()
    assert log.match_counter_text() == "1 / 1"


def _highlighted_pixels(log: LogView, row: int) -> int:
    image = log.view.viewport().grab().toImage()
    rect = log.view.visualRect(log.model.index(row, 0))
    count = 0
    for x in range(rect.left(), min(rect.right(), image.width() - 1), 2):
        colour = QtGui.QColor(image.pixel(x, rect.center().y()))
        if colour.red() > 200 and colour.green() > 150 and colour.blue() < 170:
            count += 1
    return count


def test_search_highlights_the_matching_text(log: LogView) -> None:
    palette = log.view.palette()
    palette.setColor(QtGui.QPalette.ColorRole.Base, QtGui.QColor("#ffffff"))
    log.setPalette(palette)
    for text in ["nothing here", "Error: CUDA out of memory"]:
        log.append_log(T0, "info", "gpu0", text)
    log.flush()
    log.set_search("cuda")
    log.view.clearSelection()  # the selection colour would cover the highlight
    assert _highlighted_pixels(log, 1) > 0
    assert _highlighted_pixels(log, 0) == 0


def test_search_counter_is_empty_without_a_query(log: LogView) -> None:
    add_lines(log, 3)
    log.flush()
    log.set_search("line")
    log.set_search("")
    assert log.match_label.text() == ""
    assert log.match_count == 0


def test_follow_tail_keeps_the_newest_line_in_view(log: LogView) -> None:
    add_lines(log, 80)
    log.flush()
    bar = log.view.verticalScrollBar()
    assert bar.maximum() > 0
    assert bar.value() == bar.maximum()
    add_lines(log, 10, text="more")
    log.flush()
    assert bar.value() == bar.maximum()


def test_scrolling_up_turns_following_off_and_the_view_stays_put(log: LogView) -> None:
    add_lines(log, 60)
    log.flush()
    bar = log.view.verticalScrollBar()
    bar.setValue(5)  # as a user dragging the scroll bar up
    assert not log.follow_tail
    assert not log.follow_button.isChecked()
    add_lines(log, 10, text="more")
    log.flush()
    assert bar.value() == 5
    assert log.model.line(bar.value())[TEXT] == "line 5"


def test_without_following_the_top_line_stays_when_old_lines_are_dropped(log: LogView) -> None:
    add_lines(log, 100)  # the cap
    log.flush()
    bar = log.view.verticalScrollBar()
    bar.setValue(50)
    add_lines(log, 20, text="more")
    log.flush()
    assert log.model.line(bar.value())[TEXT] == "line 50"
    assert bar.value() == 30


def test_scrolling_back_to_the_bottom_turns_following_on(log: LogView) -> None:
    add_lines(log, 60)
    log.flush()
    bar = log.view.verticalScrollBar()
    bar.setValue(0)
    bar.setValue(bar.maximum())
    assert log.follow_tail
    assert log.follow_button.isChecked()


def test_the_follow_button_jumps_to_the_newest_line(log: LogView) -> None:
    add_lines(log, 60)
    log.flush()
    bar = log.view.verticalScrollBar()
    bar.setValue(0)
    add_lines(log, 10, text="more")
    log.flush()
    log.follow_button.click()
    assert log.follow_tail
    assert bar.value() == bar.maximum()


def test_levels_have_different_colours(log: LogView) -> None:
    for level in ("debug", "info", "warning", "error"):
        log.append_log(T0, level, "gpu0", level)
    log.flush()
    role = int(QtCore.Qt.ItemDataRole.ForegroundRole)
    colours = [log.model.data(log.model.index(row, 0), role) for row in range(4)]
    debug, info, warning, error = colours
    assert info is None  # the palette's own text colour
    assert len({debug.name(), warning.name(), error.name()}) == 3


def _contrast(a: QtGui.QColor, b: QtGui.QColor) -> float:
    def luminance(colour: QtGui.QColor) -> float:
        def channel(value: float) -> float:
            return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

        return (
            0.2126 * channel(colour.redF())
            + 0.7152 * channel(colour.greenF())
            + 0.0722 * channel(colour.blueF())
        )

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize(("background", "dark"), [("#2b2b2b", True), ("#ffffff", False)])
@pytest.mark.parametrize("level", ["warning", "error", "fatal"])
def test_level_colours_are_readable_on_dark_and_light_backgrounds(
    background: str, dark: bool, level: str
) -> None:
    colour = level_colour(level, dark)
    assert colour is not None
    assert _contrast(colour, QtGui.QColor(background)) >= 4.5


def test_a_light_palette_switches_to_the_light_colours(log: LogView) -> None:
    palette = log.view.palette()
    palette.setColor(QtGui.QPalette.ColorRole.Base, QtGui.QColor("#ffffff"))
    log.setPalette(palette)
    log.append_log(T0, "warning", "gpu0", "w")
    log.flush()
    role = int(QtCore.Qt.ItemDataRole.ForegroundRole)
    assert log.model.data(log.model.index(0, 0), role) == level_colour("warning", False)


def test_open_log_file_opens_the_selected_workers_log(
    panel: RenderProgressWidget, tmp_path: Path
) -> None:
    (tmp_path / "gpu1.log").write_text("full log\n", encoding="utf-8")
    panel.set_log_dir(str(tmp_path))
    panel.log_view.set_worker_filter("gpu1")
    panel.log_view.open_button.click()
    opener = panel.log_view.open_url
    assert isinstance(opener, Opener)
    assert [Path(url.toLocalFile()) for url in opener.urls] == [tmp_path / "gpu1.log"]


def test_open_log_file_explains_a_missing_file(panel: RenderProgressWidget, tmp_path: Path) -> None:
    panel.set_log_dir(str(tmp_path))
    panel.log_view.set_worker_filter("gpu3")
    assert panel.log_view.open_log_file() is False
    assert "no log file yet" in panel.log_view.status_label.text()
    assert panel.log_view.open_url.urls == []  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------- frame strip


def test_set_plan_builds_one_row_per_layer_with_its_frames(panel: RenderProgressWidget) -> None:
    panel.set_plan(PLAN)
    rows = panel.frame_strip.layers()
    assert [(row.name, len(row.frames)) for row in rows] == [("BG", 24), ("CHAR", 10)]
    assert rows[1].frames[:3] == [1, 11, 21]
    assert panel.frame_strip.state_of("BG", 12) == "pending"


def test_set_plan_offers_the_plans_workers(panel: RenderProgressWidget) -> None:
    panel.set_plan(PLAN)
    assert panel.log_view.workers() == ["gpu0", "gpu1"]


def test_a_plan_with_a_log_dir_sets_where_log_files_open(
    panel: RenderProgressWidget, tmp_path: Path
) -> None:
    panel.set_plan(replace(PLAN, log_dir=str(tmp_path)))
    panel.log_view.set_worker_filter("gpu0")
    assert panel.log_view.log_file_path() == tmp_path / "gpu0.log"


def test_a_plan_without_a_log_dir_forgets_the_last_batchs(
    panel: RenderProgressWidget, tmp_path: Path
) -> None:
    panel.set_plan(replace(PLAN, log_dir=str(tmp_path)))
    panel.set_plan(PLAN)
    assert panel.log_dir is None


def test_set_frame_state_changes_the_cell(panel: RenderProgressWidget) -> None:
    panel.set_plan(PLAN)
    panel.set_frame_state("BG", 12, "done")
    panel.set_frame_state("CHAR", 21, "failed")
    strip = panel.frame_strip
    assert strip.state_of("BG", 12) == "done"
    assert strip.state_of("CHAR", 21) == "failed"
    assert strip.layer("BG").count("done") == 1  # type: ignore[union-attr]


def test_frame_state_changes_repaint_once_per_flush(
    panel: RenderProgressWidget, qtbot: Any
) -> None:
    panel.set_plan(PLAN)
    QtWidgets.QApplication.processEvents()  # the plan's own repaint
    paints: list[int] = []
    strip = panel.frame_strip
    original = strip.paintEvent

    def counting_paint(event: QtGui.QPaintEvent) -> None:
        paints.append(1)
        original(event)

    strip.paintEvent = counting_paint  # type: ignore[method-assign]
    for frame in range(1, 25):
        panel.set_frame_state("BG", frame, "running")
    QtWidgets.QApplication.processEvents()  # handles every event but the timer's
    assert paints == []
    panel.flush()
    qtbot.waitUntil(lambda: len(paints) >= 1, timeout=2000)
    assert len(paints) == 1


def test_a_frame_outside_the_plan_still_gets_a_cell(panel: RenderProgressWidget) -> None:
    panel.set_plan(PLAN)
    panel.set_frame_state("BG", 500, "running")
    panel.set_frame_state("EXTRA", 7, "done")
    assert panel.frame_strip.state_of("BG", 500) == "running"
    assert [row.name for row in panel.frame_strip.layers()] == ["BG", "CHAR", "EXTRA"]


def test_an_unknown_state_is_refused_with_the_valid_ones(panel: RenderProgressWidget) -> None:
    panel.set_plan(PLAN)
    with pytest.raises(ValueError, match="pending, running, done"):
        panel.set_frame_state("BG", 1, "finished")


def test_the_tooltip_names_layer_frame_and_state(panel: RenderProgressWidget) -> None:
    panel.set_plan(PLAN)
    panel.set_frame_state("BG", 12, "done")
    strip = panel.frame_strip
    centre = strip.cell_rect("BG", 12).center()
    assert strip.tooltip_at(centre) == "BG frame 12: done"
    assert strip.tooltip_at(strip.cell_rect("CHAR", 31).center()) == "CHAR frame 31: pending"


def test_thousands_of_frames_share_pixel_columns_and_still_answer_tooltips(qtbot: Any) -> None:
    strip = FrameStrip()
    qtbot.addWidget(strip)
    strip.resize(600, 60)
    strip.set_layers([("FX", list(range(1, 10_001)))])
    strip.set_frame_state("FX", 5000, "failed")
    strip.show()
    qtbot.waitExposed(strip)
    strip.repaint()  # paints without error with 10,000 frames
    layer, frame = strip.frame_at(strip.cell_rect("FX", 5000).center())  # type: ignore[misc]
    assert layer == "FX"
    assert abs(frame - 5000) < 30


def test_clear_empties_the_logs_and_resets_the_frames(panel: RenderProgressWidget) -> None:
    panel.set_plan(PLAN)
    panel.set_frame_state("BG", 1, "done")
    add_lines(panel, 5)
    panel.flush()
    panel.clear()
    assert panel.log_view.visible_texts() == []
    assert panel.frame_strip.state_of("BG", 1) == "pending"
    assert len(panel.frame_strip.layers()) == 2


# ---------------------------------------------------------------------------- the API


@pytest.fixture
def api(panel: RenderProgressWidget) -> FakeApi:
    fake = FakeApi()
    panel.connect_api(fake)
    emit_signal(fake, "batch_started", "b1", PLAN)
    return fake


def test_connect_api_shows_the_api_log_lines(panel: RenderProgressWidget, api: FakeApi) -> None:
    emit_signal(api, "log_message", T0, "warning", "gpu1", "Texture missing")
    panel.flush()
    assert panel.log_view.visible_texts() == ["Texture missing"]


def test_connect_api_batch_started_builds_the_strip_and_clears_old_logs(
    panel: RenderProgressWidget,
) -> None:
    api = FakeApi()
    panel.connect_api(api)
    add_lines(panel, 3)
    panel.flush()
    emit_signal(api, "batch_started", "b2", PLAN)
    assert panel.log_view.visible_texts() == []
    assert [row.name for row in panel.frame_strip.layers()] == ["BG", "CHAR"]


def test_connect_api_frame_signals_drive_the_strip(
    panel: RenderProgressWidget, api: FakeApi
) -> None:
    emit_signal(api, "frame_started", "gpu0", "BG", 1)
    emit_signal(api, "frame_started", "gpu1", "BG", 2)
    emit_signal(api, "frame_finished", "gpu0", "BG", 1, ["/out/BG.0001.exr"])
    emit_signal(api, "frame_started", "gpu0", "BG", 3)
    emit_signal(api, "frame_failed", "gpu0", "BG", 3, "CUDA error", False)
    strip = panel.frame_strip
    assert [strip.state_of("BG", f) for f in (1, 2, 3)] == ["done", "running", "failed"]


def test_connect_api_a_failure_that_will_retry_goes_back_to_pending(
    panel: RenderProgressWidget, api: FakeApi
) -> None:
    emit_signal(api, "frame_started", "gpu0", "BG", 5)
    emit_signal(api, "frame_failed", "gpu0", "BG", 5, "missing output", True)
    assert panel.frame_strip.state_of("BG", 5) == "pending"


def test_connect_api_a_stopped_batch_cancels_the_unfinished_frames(
    panel: RenderProgressWidget, api: FakeApi
) -> None:
    emit_signal(api, "frame_finished", "gpu0", "BG", 1, [])
    emit_signal(api, "batch_finished", BatchSummary(state=BatchState.CANCELLED))
    strip = panel.frame_strip
    assert strip.state_of("BG", 1) == "done"
    assert strip.state_of("BG", 2) == "cancelled"
    assert "33 cancelled" in panel.summary_label.text()


def test_connect_api_the_summarys_failed_frames_are_marked_failed(
    panel: RenderProgressWidget, api: FakeApi
) -> None:
    failed = FailedFrame(layer="CHAR", frame=21, attempts=3, reason="CUDA error")
    emit_signal(
        api, "batch_finished", BatchSummary(state=BatchState.FAILED, failed_frames=[failed])
    )
    strip = panel.frame_strip
    assert strip.state_of("CHAR", 21) == "failed"
    assert strip.state_of("CHAR", 31) == "pending"  # the batch itself did not fail


def test_connect_api_a_batch_that_failed_as_a_whole_fails_its_unfinished_frames(
    panel: RenderProgressWidget, api: FakeApi
) -> None:
    emit_signal(api, "frame_finished", "gpu0", "BG", 1, [])
    emit_signal(
        api,
        "batch_finished",
        BatchSummary(state=BatchState.FAILED, error="every worker slot failed"),
    )
    strip = panel.frame_strip
    assert strip.state_of("BG", 1) == "done"
    assert strip.state_of("BG", 2) == "failed"


# ----------------------------------------------------------------------------- shapes, numbers


def _ink(image: QtGui.QImage, rect: QtCore.QRectF, colour: str) -> int:
    """Pixels of ``colour`` inside ``rect`` of ``image``."""
    target = QtGui.QColor(colour).rgb()
    r = rect.toRect()
    return sum(
        1
        for x in range(r.left(), r.right() + 1)
        for y in range(r.top() - 2, r.bottom() + 3)
        if 0 <= x < image.width() and 0 <= y < image.height() and image.pixel(x, y) == target
    )


def test_strip_states_differ_by_shape_not_only_by_colour(qtbot: Any) -> None:
    strip = FrameStrip()
    qtbot.addWidget(strip)
    strip.resize(600, strip.sizeHint().height())
    strip.set_layers([("BG", [1, 2, 3, 4])])
    strip.set_frame_state("BG", 1, "done")
    strip.set_frame_state("BG", 2, "failed")
    strip.set_frame_state("BG", 4, "running")
    image = strip.grab().toImage()
    inked = {
        frame: _ink(image, strip.cell_rect("BG", frame), STATE_COLOURS[state])
        for frame, state in ((1, "done"), (2, "failed"), (3, "pending"), (4, "running"))
    }
    # pending is an outline, running two thirds full, done full, failed taller than full
    assert inked[3] < inked[4] < inked[1] < inked[2]


def test_the_strip_writes_frame_numbers_under_its_cells(qtbot: Any) -> None:
    strip = FrameStrip()
    qtbot.addWidget(strip)
    strip.set_layers([("BG", list(range(1001, 1025)))])
    strip.resize(900, strip.sizeHint().height())
    below = strip.cell_rect("BG", 1001)
    assert strip.sizeHint().height() > below.bottom() + strip.fontMetrics().height() // 2
    image = strip.grab().toImage()
    text = strip.palette().color(QtGui.QPalette.ColorRole.WindowText).rgb()
    band = range(int(below.bottom()) + 1, strip.height())
    xs = range(int(below.left()), int(strip.cell_rect("BG", 1024).right()))
    assert any(image.pixel(x, y) == text for x in xs for y in band)


def test_a_short_layer_uses_the_width_it_is_given(qtbot: Any) -> None:
    strip = FrameStrip()
    qtbot.addWidget(strip)
    strip.set_layers([("BG", list(range(1, 25)))])
    strip.resize(1000, strip.sizeHint().height())
    first, last = strip.cell_rect("BG", 1), strip.cell_rect("BG", 24)
    assert last.right() - first.left() > 600  # not 24 x 14 px in the corner


def test_a_cell_tooltip_has_the_render_time_and_worker(qtbot: Any) -> None:
    strip = FrameStrip()
    qtbot.addWidget(strip)
    strip.set_layers([("BG", [12])])
    strip.set_frame_state("BG", 12, "done")
    strip.set_frame_detail("BG", 12, worker="gpu2", seconds=64.2)
    assert strip.frame_tooltip("BG", 12) == "BG frame 12: done in 1 min 04 s on gpu2"


def test_a_resumed_plan_shows_the_whole_batch_on_the_strip(qtbot: Any) -> None:
    widget = RenderProgressWidget()
    qtbot.addWidget(widget)
    plan = BatchPlan(
        config=RenderConfig(scene="/shots/a.ma"),
        scene_name="a",
        renderer="arnold",
        frames_by_layer={"BG": [4, 5, 6]},
        done_before={"BG": [1, 2], "FG": [1]},
        skipped_before={"BG": [3]},
    )
    widget.set_plan(plan)
    strip = widget.frame_strip
    assert [(r.name, r.frames) for r in strip.layers()] == [("BG", [1, 2, 3, 4, 5, 6]), ("FG", [1])]
    assert strip.state_of("BG", 2) == "done" and strip.state_of("BG", 3) == "skipped"
    assert strip.state_of("BG", 4) == "pending"
    assert plan.batch_frame_count == 7 and plan.finished_before == 4
