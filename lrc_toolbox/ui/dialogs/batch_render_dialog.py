"""The Batch Render Manager dashboard: configure, start, watch, stop.

The dialog talks to :class:`BatchRenderAPI` only through its methods and signals. Signal
handlers only RECORD what happened; a 100 ms timer pushes the recorded state into the
widgets in one go, so a chatty renderer (hundreds of log lines a second on many workers)
costs one repaint per tick, not one per line, and Maya stays responsive.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import time
from collections.abc import Callable
from typing import Any

from Qt import QtCore, QtGui, QtWidgets

from lrc_toolbox.core.batch_render_api import (
    BadRequest,
    BatchError,
    BatchRenderAPI,
    EnvironmentProblem,
)
from lrc_toolbox.core.service_api import ServiceBatchAPI
from lrc_toolbox.records.batch import (
    BatchPlan,
    BatchSummary,
    GpuHandback,
    LayerCounts,
    batch_log_dir,
    remaining_seconds,
)
from lrc_toolbox.records.models import (
    BatchState,
    FrameState,
    RenderConfig,
    RenderStatus,
    SystemInfo,
    WorkerState,
)
from lrc_toolbox.ui import style
from lrc_toolbox.ui.dialogs.render_progress_widget import RenderProgressWidget, duration_words
from lrc_toolbox.ui.widgets.active_renders import (
    ActiveRendersModel,
    ActiveRendersView,
    format_eta,
    gpu_of_worker,
)
from lrc_toolbox.ui.widgets.batch_bar import BatchProgressBar
from lrc_toolbox.ui.widgets.log_view import FLUSH_INTERVAL_MS
from lrc_toolbox.ui.widgets.render_config_widget import (
    CurrentScene,
    RenderConfigWidget,
    SceneSourceFactory,
)
from lrc_toolbox.ui.widgets.system_info_widget import SystemInfoWidget

__all__ = ["BatchRenderDialog", "MessageArea"]

log = logging.getLogger(__name__)

#: answers of :meth:`BatchRenderDialog.ask_close_while_rendering`
CLOSE_STOP = "stop"
CLOSE_BACKGROUND = "background"
CLOSE_CANCEL = "cancel"

#: the status line's first word for a batch that ended in this state
_ENDED_WORDS = {
    BatchState.DONE: "Done",
    BatchState.FAILED: "Finished with failures",
    BatchState.CANCELLED: "Stopped",
    BatchState.INTERRUPTED: "Interrupted",
}


class MessageArea(QtWidgets.QFrame):
    """A non-modal message line (errors, warnings, results): selectable, closable, never a
    dialog that would block Maya or a test.

    Its height is fixed at :data:`LINES` lines of text and it keeps its place while hidden,
    so a message appearing or going never moves the panels or the buttons; a longer message
    scrolls inside it.
    """

    LEVELS = {"error": style.ERROR, "warning": style.WARNING, "info": style.INFO, "ok": style.OK}
    #: lines of text the area shows without scrolling
    LINES = 2

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("LRCMessageArea")
        self._level = ""
        row = QtWidgets.QHBoxLayout(self)
        row.setContentsMargins(6, 3, 2, 3)
        row.setSpacing(4)
        self._label = QtWidgets.QLabel()
        self._label.setObjectName("LRCMessageText")
        self._label.setWordWrap(True)
        self._label.setAlignment(
            QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter
        )
        self._label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self._label.setContentsMargins(0, 0, 0, 0)
        self._scroll = QtWidgets.QScrollArea(self)
        self._scroll.setObjectName("LRCMessageScroll")
        self._scroll.setWidgetResizable(True)
        self._scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        self._scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._scroll.setWidget(self._label)
        self._scroll.viewport().setAutoFillBackground(False)
        self._label.setAutoFillBackground(False)
        row.addWidget(self._scroll, 1)
        close = QtWidgets.QToolButton(self)
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Hide this message")
        close.clicked.connect(self.clear)
        row.addWidget(close, 0, QtCore.Qt.AlignmentFlag.AlignTop)
        self._close = close
        lines = self.fontMetrics().lineSpacing() * self.LINES
        self.setFixedHeight(lines + 3 + 3 + 2 * self.frameWidth() + 4)
        policy = self.sizePolicy()
        policy.setRetainSizeWhenHidden(True)  # its room stays: nothing moves when it hides
        self.setSizePolicy(policy)
        self.hide()

    def show_message(self, text: str, level: str = "error") -> None:
        colour = self.LEVELS.get(level, style.INFO)
        self._level = level
        self._label.setText(text)
        self.setStyleSheet(
            f"QFrame#LRCMessageArea {{ border: 1px solid {colour}; border-radius: 3px;"
            f" background-color: rgba(0, 0, 0, 40); }}"
        )
        style.set_status_colour(self._label, level if level in style.LEVELS else "info")
        self.show()
        self._scroll.verticalScrollBar().setValue(0)

    def clear(self) -> None:
        self._level = ""
        self._label.setText("")
        self.hide()

    def text(self) -> str:
        return self._label.text()

    def level(self) -> str:
        return self._level

    def scrolls(self) -> bool:
        """Whether the message is longer than the area (its scroll bar shows)."""
        return self._scroll.verticalScrollBar().isVisible()


class BatchRenderDialog(QtWidgets.QDialog):
    """The dashboard. One batch at a time; it can be hidden while rendering and shown again.

    Args:
        api: the engine; the dialog only calls its methods and listens to its signals.
        scene_source_factory: ``path -> SceneSource`` for reading layers (tests, Maya's
            live session); default: the .ma reader / mayapy.
        current_scene: in Maya, ``() -> path of the open scene``.
    """

    #: Stop asks first when the batch ran longer than this or has more frames left
    STOP_CONFIRM_SECONDS = 30.0
    STOP_CONFIRM_FRAMES = 20
    #: after a start or resume the API accepted, how long its ``batch_started`` may take
    #: (the render service's arrives a moment later) before Start is offered again
    START_ANNOUNCE_MS = 5000

    def __init__(
        self,
        api: BatchRenderAPI,
        scene_source_factory: SceneSourceFactory | None = None,
        parent: QtWidgets.QWidget | None = None,
        *,
        current_scene: CurrentScene | None = None,
    ) -> None:
        super().__init__(parent)
        self.api = api
        self.setObjectName("LRCBatchRenderDialog")
        self.setWindowTitle("Batch Render Manager")
        self.setWindowFlags(
            self.windowFlags()
            | QtCore.Qt.WindowType.WindowMinMaxButtonsHint
            | QtCore.Qt.WindowType.WindowCloseButtonHint
        )
        self.setSizeGripEnabled(True)
        self.resize(1320, 860)
        # recorded by the signal handlers, pushed into the widgets by _flush
        self._running = False
        #: a start or resume was accepted and its batch_started has not arrived yet
        self._starting = False
        self._announced = 0  # batch_started signals seen
        self._stop_requested = False
        self._batch_id: str | None = None
        self._last_batch: tuple[str, BatchState] | None = None  # (id, final state)
        self._plan: BatchPlan | None = None
        self._total = 0
        self._done = 0
        self._failed = 0
        self._skipped = 0
        #: frames of the batch finished in its earlier runs (a resume): (done, skipped)
        self._before = (0, 0)
        self._started_at = 0.0
        #: (time, frames finished then) the ETA counts from: frames replayed by the render
        #: service to a window that attached late finished before it watched
        self._rate_base: tuple[float, int] = (0.0, 0)
        self._watching_since_start = True
        #: the batch shown had ended before this window opened (its times are unknown)
        self._ended_unwatched = False
        #: Maya's GPU was said to be short of memory during this batch (said once)
        self._pressure_told = False
        self._finished_at: float | None = None
        self._frame_started: dict[str, float] = {}
        self._pending_plan: BatchPlan | None = None
        self._pending_logs: list[tuple[float, str, str, str]] = []
        self._pending_frames: dict[tuple[str, int], str] = {}
        #: (layer, frame, worker, reason) of frames that failed for good since the last flush
        self._pending_failures: list[tuple[str, int, str, str]] = []
        #: (layer, frame, worker, render seconds) of frames finished since the last flush
        self._pending_details: list[tuple[str, int, str, float | None]] = []
        #: (layer, frame, image paths) of frames finished since the last flush: the preview
        self._pending_outputs: list[tuple[str, int, list[str]]] = []
        self._pending_summary: BatchSummary | None = None
        self._dirty = False
        self._live_workers = 0
        self._shut_down = False
        self._controls_key: tuple[Any, ...] | None = None

        self._build(scene_source_factory, current_scene)
        self._connect_api()
        info = api.get_system_info()
        self.system_widget.set_system_info(info)
        self.config_widget.set_system_info(info)
        # a GPU that breaks (or recovers) mid-session: its checkbox follows
        self.system_widget.refreshed.connect(self._on_system_refreshed)
        self._flush_timer = QtCore.QTimer(self)
        self._flush_timer.setInterval(FLUSH_INTERVAL_MS)  # a repeating tick, unlike the views'
        self._flush_timer.timeout.connect(self._flush)
        self._starting_timer = QtCore.QTimer(self)
        self._starting_timer.setSingleShot(True)
        self._starting_timer.setInterval(self.START_ANNOUNCE_MS)
        self._starting_timer.timeout.connect(self._started_or_not)
        # fires once the events delivered with a batch_started are handled (see _settle_start)
        self._announce_timer = QtCore.QTimer(self)
        self._announce_timer.setSingleShot(True)
        self._announce_timer.setInterval(0)
        self._announce_timer.timeout.connect(self._settle_start)
        if api.is_running:  # opened on a batch started elsewhere (script, another window)
            self._adopt_running_batch()
        self._update_controls()

    def _adopt_running_batch(self) -> None:
        """Show a batch that started before this window existed (a script, another window,
        the render service after a Maya crash). Its frames and counts come from the job
        store, which the engine keeps current wherever it runs (the scheduler of an engine
        in this process is preferred for the counts); the log starts now.

        A service-backed API also replays the running batch shortly after it attaches
        (``batch_started`` and every finished frame): that replaces what is shown here.
        """
        self._running = True
        batch_id = self._batch_id = self.api.batch_id
        now = self._started_at = time.time()
        manager = self.api.manager
        counts: LayerCounts | BatchSummary | None = (
            manager.scheduler.summary() if manager is not None else None
        )
        if batch_id:
            self.progress_widget.set_log_dir(str(batch_log_dir(self.api.temp.root, batch_id)))
            try:
                counts = self._adopt_from_store(batch_id, counts)
            except Exception as exc:  # a damaged or busy store: show what the engine says
                log.warning("batch %s: its frames could not be read: %s", batch_id, exc)
        counts = counts or LayerCounts()
        self._total = counts.total
        self._done = counts.done
        self._failed = counts.failed
        self._skipped = counts.skipped
        # the start of the batch's workers when the store knows it, else the frames that
        # finished before this window watched are left out of the ETA
        known = self._started_at != now
        self._rate_base = (self._started_at, 0 if known else self._finished_count())
        self._note_attached(self._finished_count())
        self._mark_dirty()

    def _adopt_from_store(
        self, batch_id: str, counts: LayerCounts | BatchSummary | None
    ) -> LayerCounts | BatchSummary:
        """The adopted batch's plan (its frame strip) and frame states from the job store;
        returns ``counts``, or the store's when None."""
        store = self.api.store
        record = store.get_batch(batch_id)
        layers, states = self._frames_from_store(batch_id)
        config = record.config
        plan = BatchPlan(
            config=config,
            scene_name=config.scene_name or "",
            renderer="",
            frames_by_layer=layers,
            output_dir=config.output_dir or "",
            project=config.project,
            batch_id=record.id,
            log_dir=str(batch_log_dir(self.api.temp.root, record.id)),
        )
        self._plan = self._pending_plan = plan
        self._pending_frames = states
        if config.scene and not self.config_widget.scene_path():
            self.config_widget.set_scene_path(config.scene)  # the batch's scene, not none
        started = [w.started for w in store.workers(batch_id) if w.ended is None and w.started]
        if started:  # this run's workers: the ETA and "took" count from their start
            self._started_at = min(started)
        whole = record.counts  # the whole batch, earlier runs of a resumed one included
        if counts is not None:  # an engine here counts this run: the rest came before
            self._before = (
                max(0, whole.done - counts.done),
                max(0, whole.skipped - counts.skipped),
            )
        return whole

    def _frames_from_store(
        self, batch_id: str
    ) -> tuple[dict[str, list[int]], dict[tuple[str, int], str]]:
        """Every frame of a batch from the job store (layer -> frames, and the state of
        each frame that is not pending); failures, render times and the running frames'
        start times are recorded for the next flush."""
        layers: dict[str, list[int]] = {}
        states: dict[tuple[str, int], str] = {}
        for outcome in self.api.store.frames(batch_id):
            layers.setdefault(outcome.layer, []).append(outcome.frame)
            if outcome.state is not FrameState.PENDING:
                states[(outcome.layer, outcome.frame)] = outcome.state.value
            if outcome.state is FrameState.RUNNING and outcome.worker and outcome.started:
                self._frame_started[outcome.worker] = outcome.started
            elif outcome.state is FrameState.FAILED:
                reason = outcome.errors[-1] if outcome.errors else (outcome.note or "")
                self._pending_failures.append(
                    (outcome.layer, outcome.frame, outcome.worker or "", reason)
                )
            elif outcome.state is FrameState.DONE:
                if outcome.started and outcome.finished:
                    seconds = outcome.finished - outcome.started
                    self._pending_details.append(
                        (outcome.layer, outcome.frame, outcome.worker or "", seconds)
                    )
                if outcome.outputs:
                    self._pending_outputs.append(
                        (outcome.layer, outcome.frame, list(outcome.outputs))
                    )
        return layers, states

    def _on_system_refreshed(self, info: object) -> None:
        assert isinstance(info, SystemInfo)
        self.config_widget.set_system_info(info)
        if self._running and not self._pressure_told:
            pressure = self.api.detector.maya_gpu_pressure(info)
            if pressure is not None:  # once a batch: Maya's own GPU is short of memory
                self._pressure_told = True
                self.message_area.show_message(
                    f"{pressure.message}. To give a GPU back to Maya, right-click its worker "
                    "in Active renders.",
                    "warning",
                )

    # ------------------------------------------------------------------ layout

    def _build(
        self, scene_source_factory: SceneSourceFactory | None, current_scene: CurrentScene | None
    ) -> None:
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        style.ensure_readable_palette(self)  # a host palette with faint hints (Maya's)

        self.config_widget = RenderConfigWidget(
            settings=self.api.settings,
            scene_source_factory=scene_source_factory,
            current_scene=current_scene,
        )
        self.config_widget.validity_changed.connect(self._on_validity_changed)
        self.config_widget.changed.connect(self._update_controls)
        scroll = QtWidgets.QScrollArea()
        scroll.setObjectName("LRCSetupPanel")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        scroll.setWidget(self.config_widget)
        self._config_scroll = self.setup_panel = scroll

        # the progress side: System, Active renders, Frames and logs, one above the other in
        # a splitter; the whole side scrolls when the window is smaller than their minimums
        # (a dock): panels scroll, they never overlap
        right = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        right.setObjectName("LRCProgressSplitter")
        right.setChildrenCollapsible(False)
        self._right_splitter = right
        system_box = QtWidgets.QGroupBox("System", right)
        system_layout = QtWidgets.QVBoxLayout(system_box)
        system_layout.setContentsMargins(6, 4, 6, 4)
        self.system_widget = SystemInfoWidget(self.api.detector.refresh)
        system_scroll = QtWidgets.QScrollArea(system_box)
        system_scroll.setObjectName("LRCSystemScroll")
        system_scroll.setWidgetResizable(True)
        system_scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        system_scroll.setWidget(self.system_widget)
        line = self.fontMetrics().lineSpacing()
        system_scroll.setMinimumHeight(3 * line)
        self._system_scroll = system_scroll
        system_layout.addWidget(system_scroll)
        right.addWidget(system_box)
        self._system_box = system_box

        renders_box = QtWidgets.QGroupBox("Active renders", right)
        self.renders_box = renders_box
        renders_layout = QtWidgets.QVBoxLayout(renders_box)
        renders_layout.setContentsMargins(6, 4, 6, 4)
        self.renders_model = ActiveRendersModel(self)
        self.renders_view = ActiveRendersView(self.renders_model, renders_box)
        self.renders_view.stop_worker_requested.connect(self._on_stop_worker_requested)
        self.renders_view.gpu_release_requested.connect(self.release_gpu)
        self.renders_view.gpu_return_requested.connect(self.return_gpu)
        self.renders_view.setMinimumHeight(4 * line)
        renders_layout.addWidget(self.renders_view, 1)
        self.overall_bar = BatchProgressBar(renders_box)
        self.overall_bar.setObjectName("LRCOverallProgress")
        self.overall_bar.setRange(0, 1)
        self.overall_bar.setValue(0)
        self.overall_bar.setFormat("no batch running")
        renders_layout.addWidget(self.overall_bar)
        self.status_label = QtWidgets.QLabel("No batch yet.", renders_box)
        self.status_label.setObjectName("LRCStatusLine")
        self.status_label.setSizePolicy(
            QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred
        )
        renders_layout.addWidget(self.status_label)
        right.addWidget(renders_box)

        progress_box = QtWidgets.QGroupBox("Frames and logs", right)
        progress_layout = QtWidgets.QVBoxLayout(progress_box)
        progress_layout.setContentsMargins(2, 4, 2, 2)
        self.progress_widget = RenderProgressWidget(
            self.api.settings.log_view_lines,
            image_viewer=self.api.settings.image_viewer,
            parent=progress_box,
        )
        self.progress_widget.preview.message.connect(self._on_preview_message)
        # the log never gets squeezed below a few lines: the side scrolls instead
        self.progress_widget.log_view.setMinimumHeight(self.LOG_MIN_LINES * line + 3 * line)
        progress_layout.addWidget(self.progress_widget)
        right.addWidget(progress_box)
        right.setStretchFactor(0, 0)
        right.setStretchFactor(1, 1)
        right.setStretchFactor(2, 2)
        progress_scroll = QtWidgets.QScrollArea()
        progress_scroll.setObjectName("LRCProgressPanel")
        progress_scroll.setWidgetResizable(True)
        progress_scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        progress_scroll.setWidget(right)
        self.progress_panel = progress_scroll

        # wide: setup | progress side by side; narrow (a dock): a tab each (see resizeEvent)
        self._splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        self._splitter.setChildrenCollapsible(False)
        self._tabs = QtWidgets.QTabWidget()
        self._tabs.setObjectName("LRCNarrowTabs")
        self._tabs.setDocumentMode(True)
        self._tabs.currentChanged.connect(self._on_tab_changed)
        self._stack = QtWidgets.QStackedWidget(self)
        self._stack.addWidget(self._splitter)
        self._stack.addWidget(self._tabs)
        layout.addWidget(self._stack, 1)
        self._narrow: bool | None = None
        self._setup_needed = 0
        self._setup_folded = False
        self._heights_fitted = False
        # fits the panels' heights once laid out (a child timer: it dies with the window)
        self._fit_timer = QtCore.QTimer(self)
        self._fit_timer.setSingleShot(True)
        self._fit_timer.setInterval(0)
        self._fit_timer.timeout.connect(self._fit_progress_heights)
        self._apply_layout(narrow=False)
        self._splitter.setSizes([430, 890])

        self.message_area = MessageArea(self)
        layout.addWidget(self.message_area)

        bar = QtWidgets.QWidget(self)
        bar.setObjectName("LRCButtonBar")
        buttons = QtWidgets.QHBoxLayout(bar)
        buttons.setContentsMargins(0, 0, 0, 0)
        self.setup_toggle = QtWidgets.QToolButton(bar)
        self.setup_toggle.setObjectName("LRCSetupToggle")
        self.setup_toggle.setText("Set&up")
        self.setup_toggle.setCheckable(True)
        self.setup_toggle.setChecked(True)
        self.setup_toggle.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.setup_toggle.setAutoRaise(True)
        self.setup_toggle.toggled.connect(self._on_setup_toggled)
        buttons.addWidget(self.setup_toggle)
        self.farm_button = QtWidgets.QToolButton(bar)
        self.farm_button.setObjectName("LRCSendToFarm")
        self.farm_button.setText("Send to &farm…")  # narrow: in the tabs' corner instead
        self.farm_button.setAutoRaise(True)
        self.farm_button.setToolTip(
            "Send this setup to Deadline Cloud or Deadline 10, or write the farm files"
        )
        self.farm_button.clicked.connect(self.open_farm_dialog)
        buttons.addWidget(self.farm_button)
        self.reason_label = QtWidgets.QLabel(bar)
        self.reason_label.setObjectName("LRCStartReason")
        self.reason_label.setWordWrap(True)
        self.reason_label.setSizePolicy(
            QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Fixed
        )
        self.reason_label.setFixedHeight(2 * line + 2)  # two lines: its text never moves the bar
        buttons.addWidget(self.reason_label, 1)
        self.start_button = QtWidgets.QPushButton("&Start", bar)
        self.start_button.setObjectName("LRCStartButton")
        self.start_button.clicked.connect(lambda: self.start())
        self.resume_button = QtWidgets.QPushButton("&Resume", bar)
        self.resume_button.setObjectName("LRCResumeButton")
        self.resume_button.setToolTip(
            "Render what the last stopped or failed batch left undone (available after a "
            "Stop or a failure)"
        )
        self.resume_button.clicked.connect(self.resume)
        self.stop_button = QtWidgets.QPushButton("S&top", bar)
        self.stop_button.setObjectName("LRCStopButton")
        self.stop_button.clicked.connect(self.stop)
        self.close_button = QtWidgets.QPushButton("&Close", bar)
        self.close_button.setObjectName("LRCCloseButton")
        self.close_button.clicked.connect(self._on_close_button)
        texts = {
            self.start_button: ["&Start"],
            self.resume_button: ["&Resume"],
            self.stop_button: ["S&top", "Force s&top"],
            self.close_button: ["&Close", "&Hide"],
        }
        for button, variants in texts.items():
            # a fixed width that fits every text it shows: no button moves or resizes
            button.ensurePolished()
            width = 84
            for text in variants:
                button.setText(text)
                width = max(width, button.sizeHint().width())
            button.setText(variants[0])
            button.setFixedWidth(width)
            policy = button.sizePolicy()
            policy.setRetainSizeWhenHidden(True)  # Resume keeps its place while hidden
            button.setSizePolicy(policy)
            buttons.addWidget(button)
        layout.addWidget(bar)
        self._bar = bar
        self._place_farm_button()
        self._no_default_buttons()
        self._set_tab_order()

    #: the log view shows at least this many lines at any window size (it scrolls)
    LOG_MIN_LINES = 4
    #: below this width (a dock) setup and progress are tabs, not side by side
    NARROW_WIDTH = 900
    #: side by side, the progress gets at least this width (else: tabs)
    PROGRESS_MIN_WIDTH = 420

    def _no_default_buttons(self) -> None:
        """No button of the dashboard is a default button: Enter in a field (the frame
        list) must never press Start. Resume and Start are marked primary by look only."""
        for button in self.findChildren(QtWidgets.QPushButton):
            button.setAutoDefault(False)
            button.setDefault(False)

    def _set_tab_order(self) -> None:
        """Setup fields top to bottom, then Start, Resume, Stop, Hide, then the rest."""
        chain: list[QtWidgets.QWidget] = [
            *self.config_widget.focus_order(),
            self.start_button,
            self.resume_button,
            self.stop_button,
            self.close_button,
            self.setup_toggle,
        ]
        for first, second in itertools.pairwise(chain):
            QtWidgets.QWidget.setTabOrder(first, second)

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:
        """Enter and Return never press a button here (QDialog would press its default
        button); Esc still closes (:meth:`reject`)."""
        if event.key() in (QtCore.Qt.Key.Key_Return, QtCore.Qt.Key.Key_Enter):
            event.accept()
            return
        super().keyPressEvent(event)

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        super().resizeEvent(event)
        wide_enough = max(self.NARROW_WIDTH, self._setup_needed + self.PROGRESS_MIN_WIDTH)
        self._apply_layout(narrow=self.width() < wide_enough)
        if not self._heights_fitted:
            self._heights_fitted = True
            self._fit_timer.start()

    def _fit_progress_heights(self) -> None:
        """First sizes of the System / Active renders / Frames and logs panels: the System
        rows as tall as they need (at most a third), the table a few rows, the log the rest."""
        right = self._right_splitter
        total = sum(right.sizes()) or right.height()
        if total <= 0 or self._shut_down:
            return
        line = self.fontMetrics().lineSpacing()
        self._fit_setup_width()
        renders = min(self.renders_box.sizeHint().height(), 8 * line + 60, total // 3)
        if self._narrow:  # the System panel is a tab of its own
            right.setSizes([renders, max(1, total - renders)])
            return
        chrome = self._system_box.sizeHint().height() - self._system_scroll.sizeHint().height()
        system = min(self.system_widget.sizeHint().height() + chrome + 2, total * 2 // 5)
        right.setSizes([system, renders, max(1, total - system - renders)])

    @property
    def narrow(self) -> bool:
        """Whether setup and progress are tabs (a narrow window or dock)."""
        return bool(self._narrow)

    def _apply_layout(self, narrow: bool) -> None:
        """Side by side when wide; tabs when narrow (Setup, Progress, System): at 640 x 480
        neither half is usable with the other beside or above it (the setup alone needs
        ~440 px of width, the progress side ~370 px of height without the System rows)."""
        if narrow == self._narrow:
            return
        self._narrow = narrow
        setup, progress = self.setup_panel, self.progress_panel
        self._fit_setup_width()
        if narrow:
            sizes = self._splitter.sizes()
            self._wide_sizes = sizes if all(sizes) else [430, 890]
            self._tabs.blockSignals(True)
            self._tabs.addTab(setup, "Setup")
            self._tabs.addTab(progress, "Progress")
            self._tabs.addTab(self._system_box, "System")
            self._tabs.blockSignals(False)
            self._system_box.show()
            setup.show()
            self._stack.setCurrentWidget(self._tabs)
        else:
            self._tabs.blockSignals(True)
            while self._tabs.count():
                self._tabs.removeTab(0)
            self._tabs.blockSignals(False)
            self._right_splitter.insertWidget(0, self._system_box)
            self._system_box.show()
            self._splitter.addWidget(setup)
            self._splitter.addWidget(progress)
            self._splitter.setStretchFactor(0, 0)
            self._splitter.setStretchFactor(1, 1)
            progress.show()
            self._stack.setCurrentWidget(self._splitter)
            if getattr(self, "_wide_sizes", None):
                self._splitter.setSizes(self._wide_sizes)
        self.set_setup_folded(self._setup_folded)
        self._place_farm_button()
        if getattr(self, "_heights_fitted", False):
            self._fit_timer.start()

    def _place_farm_button(self) -> None:
        """ "Send to farm" sits beside Setup when wide; narrow (640 px), in the tabs' free
        corner, so that the reason beside Start keeps its room."""
        button = getattr(self, "farm_button", None)
        bar = self._bar.layout() if hasattr(self, "_bar") else None
        if button is None or not isinstance(bar, QtWidgets.QBoxLayout):
            return
        if self._narrow:
            self._tabs.setCornerWidget(button, QtCore.Qt.Corner.TopRightCorner)
        elif bar.indexOf(button) < 0:
            self._tabs.setCornerWidget(None, QtCore.Qt.Corner.TopRightCorner)  # type: ignore[arg-type]
            bar.insertWidget(1, button)
        button.show()

    def _fit_setup_width(self) -> None:
        """Side by side, the setup gets the width its fields need (GPU boxes and their
        marks come after it was built) without making that the window's minimum: a
        narrower window shows tabs instead (:meth:`resizeEvent`)."""
        self._setup_needed = (
            self.config_widget.minimumSizeHint().width()
            + self.setup_panel.verticalScrollBar().sizeHint().width()
            + 6
        )
        if self._narrow:
            return
        sizes = self._splitter.sizes()
        total = sum(sizes)
        if len(sizes) == 2 and 0 < sizes[0] < self._setup_needed < total:
            self._splitter.setSizes([self._setup_needed, total - self._setup_needed])

    @property
    def setup_folded(self) -> bool:
        return self._setup_folded

    def set_setup_folded(self, folded: bool) -> None:
        """Fold the setup away (the progress gets the room) or show it again. Wide: the
        setup panel hides; narrow: the Progress tab (folded) or the Setup tab is shown."""
        self._setup_folded = folded
        if self._narrow:
            self._tabs.blockSignals(True)
            self._tabs.setCurrentWidget(self.progress_panel if folded else self.setup_panel)
            self._tabs.blockSignals(False)
        else:
            self.setup_panel.setVisible(not folded)
        toggle = getattr(self, "setup_toggle", None)
        if toggle is not None:
            toggle.blockSignals(True)
            toggle.setChecked(not folded)
            toggle.blockSignals(False)
            toggle.setArrowType(
                QtCore.Qt.ArrowType.RightArrow if folded else QtCore.Qt.ArrowType.LeftArrow
            )
            toggle.setToolTip(
                "Show the setup (scene, layers, frames, devices)"
                if folded
                else "Fold the setup away to give the progress more room"
            )

    def open_farm_dialog(self) -> QtWidgets.QDialog:
        """Show "Send to farm" (non-modal) for the current setup; returns the dialog."""
        from lrc_toolbox.ui.dialogs.farm_dialog import FarmDialog

        config = self.config_widget.config()
        dialog = getattr(self, "farm_dialog", None)
        if dialog is None:
            simulate = bool(getattr(self.api, "simulate", False))
            dialog = self.farm_dialog = FarmDialog(
                config, self.api.settings, self, simulate=simulate
            )
        else:
            dialog.set_config(config)
        dialog.show()
        dialog.raise_()
        return dialog

    def _on_setup_toggled(self, shown: bool) -> None:
        self.set_setup_folded(not shown)

    def _on_tab_changed(self, index: int) -> None:
        if self._narrow:
            self._setup_folded = self._tabs.widget(index) is not self.setup_panel
            self.setup_toggle.blockSignals(True)
            self.setup_toggle.setChecked(not self._setup_folded)
            self.setup_toggle.blockSignals(False)

    def _on_close_button(self) -> None:
        """Close when idle; Hide while rendering: the window goes, the batch goes on."""
        if self._running:
            super().reject()  # no question: the button says what it does
        else:
            self.close()

    def _show_disabled_gpus(self, statuses: list[RenderStatus]) -> None:
        """GPUs whose worker the batch disabled, with its reason, in the System panel and
        in the device choice."""
        reasons: dict[int, str] = {}
        released: set[int] = set()
        for status in statuses:
            gpu = gpu_of_worker(status.worker_id)
            if gpu is not None and status.state is WorkerState.DISABLED:
                reasons[gpu] = status.message or "no reason given"
            elif gpu is not None and status.state is WorkerState.RELEASED:
                released.add(gpu)
        self.system_widget.set_disabled_gpus(reasons)
        self.system_widget.set_released_gpus(released if self._running else ())
        changed = reasons != self.config_widget.disabled_gpus()
        # while the batch runs its GPUs are reported one by one: untick once it is over
        self.config_widget.set_disabled_gpus(reasons, untick=not self._running)
        if changed:
            self._fit_setup_width()  # "GPU 2: disabled" is wider than "GPU 2"

    def _connect_api(self) -> None:
        api = self.api
        api.batch_started.connect(self._on_batch_started)
        api.worker_started.connect(self._on_worker_event)
        api.frame_started.connect(self._on_frame_started)
        api.frame_progress.connect(self._on_worker_event)
        api.frame_finished.connect(self._on_frame_finished)
        api.frame_failed.connect(self._on_frame_failed)
        api.worker_finished.connect(self._on_worker_event)
        api.log_message.connect(self._on_log_message)
        api.batch_finished.connect(self._on_batch_finished)
        if isinstance(api, ServiceBatchAPI):
            # the renderer's own lines of the one worker the log view shows, on request
            self.progress_widget.log_view.worker_filter_changed.connect(self._on_log_worker)

    def _on_preview_message(self, text: str, level: str) -> None:
        self.message_area.show_message(text, level)

    def _on_log_worker(self, worker: object) -> None:
        api = self.api
        if isinstance(api, ServiceBatchAPI):
            api.set_log_workers([str(worker)] if worker else [])

    def _disconnect_api(self) -> None:
        api = self.api
        pairs = [
            (api.batch_started, self._on_batch_started),
            (api.worker_started, self._on_worker_event),
            (api.frame_started, self._on_frame_started),
            (api.frame_progress, self._on_worker_event),
            (api.frame_finished, self._on_frame_finished),
            (api.frame_failed, self._on_frame_failed),
            (api.worker_finished, self._on_worker_event),
            (api.log_message, self._on_log_message),
            (api.batch_finished, self._on_batch_finished),
        ]
        for signal, slot in pairs:
            try:
                signal.disconnect(slot)
            except (RuntimeError, TypeError):  # already gone
                pass

    # ------------------------------------------------------------------ public

    @property
    def running(self) -> bool:
        return self._running

    @property
    def batch_id(self) -> str | None:
        return self._batch_id

    def set_scene(self, path: str) -> None:
        self.config_widget.set_scene_path(path)

    def counts(self) -> dict[str, int]:
        """Frames of the current (or last) batch: total, done, failed, skipped."""
        return {
            "total": self._total,
            "done": self._done,
            "failed": self._failed,
            "skipped": self._skipped,
        }

    def start(self, config: RenderConfig | None = None) -> bool:
        """Start a batch with ``config`` (default: the panel's). Errors go to the message
        area; returns True when the batch started."""
        if self._running or self._starting or self.api.is_running:
            return False  # no double start
        if config is None:
            reason = self.config_widget.validation_error()
            if reason:
                self.message_area.show_message(reason, "error")
                return False
            config = self.config_widget.config()
        self.message_area.clear()
        return self._call_api(lambda: self.api.start_batch_render(config), "start")

    def resume(self) -> bool:
        """Render what the last stopped/failed batch of this window left undone."""
        if self._running or self._starting or self._last_batch is None:
            return False
        batch_id = self._last_batch[0]
        self.message_area.clear()
        return self._call_api(lambda: self.api.resume(batch_id), "resume")

    def _call_api(self, call: Callable[[], object], what: str) -> bool:
        self.start_button.setEnabled(False)  # until the answer: no double click
        announced = self._announced
        try:
            call()
        except BadRequest as exc:
            self.message_area.show_message(f"Cannot {what} the batch: {exc}", "error")
        except EnvironmentProblem as exc:
            self.message_area.show_message(f"This computer cannot {what} the batch: {exc}", "error")
        except BatchError as exc:
            self.message_area.show_message(f"Cannot {what} the batch: {exc}", "error")
        except Exception as exc:  # never a traceback in the artist's face
            log.exception("unexpected error while trying to %s a batch", what)
            self.message_area.show_message(
                f"Unexpected error, the batch did not {what}: {type(exc).__name__}: {exc} "
                "(details in the Script Editor / console)",
                "error",
            )
        else:
            if self._announced == announced:
                # the render service announces the batch a moment later (batch_started):
                # until then (at most START_ANNOUNCE_MS) Start and Resume stay disabled
                self._starting = True
                self._starting_timer.start()
            self._flush()
            return True
        finally:
            self._controls_key = None  # the Start button was touched directly above
            self._update_controls()
        return False

    def stop(self) -> bool:
        """Stop the batch (asks first when much would be lost); a second Stop forces."""
        if not self._running:
            return False
        if self._stop_requested:
            self.api.stop_all_renders()  # the API kills at once on a second call
            self.status_label.setText("Killing the workers…")
            return True
        left = max(0, self._total - self._finished_count())
        ran = time.time() - self._started_at
        if (ran > self.STOP_CONFIRM_SECONDS or left > self.STOP_CONFIRM_FRAMES) and (
            not self.confirm_stop(left, ran)
        ):
            return False
        self._stop_requested = True
        self.api.stop_all_renders()
        self._mark_dirty()
        self._update_controls()
        return True

    # overridable questions (tests replace them; they never block there)

    def confirm_stop(self, frames_left: int, seconds_running: float) -> bool:
        """Ask before stopping a long batch; True = stop."""
        answer = QtWidgets.QMessageBox.question(
            self,
            "Stop the batch?",
            f"{frames_left} frame(s) are not rendered yet and the batch has run for "
            f"{duration_words(seconds_running)}.\n\nFrames being rendered now are lost; "
            "finished frames stay. Resume renders the rest later.\n\nStop the batch?",
            QtWidgets.QMessageBox.StandardButton.Yes | QtWidgets.QMessageBox.StandardButton.No,
            QtWidgets.QMessageBox.StandardButton.No,
        )
        return bool(answer == QtWidgets.QMessageBox.StandardButton.Yes)

    def ask_close_while_rendering(self) -> str:
        """Closing while a batch runs: ``"stop"``, ``"background"`` (hide the window, keep
        rendering) or ``"cancel"`` (keep the window open)."""
        box = QtWidgets.QMessageBox(self)
        box.setIcon(QtWidgets.QMessageBox.Icon.Question)
        box.setWindowTitle("A batch is rendering")
        box.setText("A batch is still rendering. What should happen to it?")
        box.setInformativeText(
            "Keep rendering: the window closes and the workers go on; open the Batch Render "
            "Manager again to see them."
        )
        stop = box.addButton("Stop the batch", QtWidgets.QMessageBox.ButtonRole.DestructiveRole)
        keep = box.addButton("Keep rendering", QtWidgets.QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QtWidgets.QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(keep)
        style.exec_dialog(box)
        clicked = box.clickedButton()
        if clicked is stop:
            return CLOSE_STOP
        if clicked is keep:
            return CLOSE_BACKGROUND
        return CLOSE_CANCEL

    def reject(self) -> None:
        """Close button, window X and Esc all come here (QDialog.closeEvent calls it)."""
        if self._running:
            choice = self.ask_close_while_rendering()
            if choice == CLOSE_CANCEL:
                return
            if choice == CLOSE_STOP:
                self._stop_without_asking()
        super().reject()

    def _stop_without_asking(self) -> None:
        self._stop_requested = True
        self.api.stop_all_renders()
        self._mark_dirty()

    def shutdown(self) -> None:
        """Stop listening and wait for background reads (the window is going away for good)."""
        if self._shut_down:
            return
        self._shut_down = True
        self._flush_timer.stop()
        self._starting_timer.stop()
        self._announce_timer.stop()
        self._disconnect_api()
        self.system_widget.shutdown()
        self.config_widget.shutdown()
        self.progress_widget.shutdown()

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        if self._running:
            self._mark_dirty()

    # ------------------------------------------------------------------ API signals: record

    def _mark_dirty(self) -> None:
        self._dirty = True
        if not self._flush_timer.isActive() and not self._shut_down:
            self._flush_timer.start()

    def _on_batch_started(self, batch_id: str, plan: object) -> None:
        assert isinstance(plan, BatchPlan)
        self._starting = False
        self._announced += 1
        self._running = True
        self._stop_requested = False
        self._batch_id = batch_id
        self._plan = plan
        self._pending_plan = plan
        self._pending_logs = []
        self._pending_frames = {}
        self._pending_failures = []
        self._pending_details = []
        self._pending_outputs = []
        self._pending_summary = None
        self._frame_started = {}
        # the whole batch: a resume's plan also names what its earlier runs finished
        self._before = (_frames_in(plan.done_before), _frames_in(plan.skipped_before))
        if plan.done_before:  # the earlier runs' images: the preview can show them too
            try:
                for outcome in self.api.store.frames(batch_id, states=[FrameState.DONE]):
                    if outcome.outputs:
                        self._pending_outputs.append(
                            (outcome.layer, outcome.frame, list(outcome.outputs))
                        )
            except Exception as exc:  # only the preview of earlier frames is missing
                log.warning("batch %s: earlier frames could not be read: %s", batch_id, exc)
        self._total = plan.batch_frame_count
        self._done, self._skipped = self._before
        self._failed = 0
        self._started_at = time.time()
        self._rate_base = (self._started_at, self._finished_count())
        self._watching_since_start = False
        self._ended_unwatched = False
        self._pressure_told = False
        self._announce_timer.start()  # after the frames replayed with it (_settle_start)
        self._finished_at = None
        self._mark_dirty()

    def _started_or_not(self) -> None:
        """No ``batch_started`` came in time (a batch queued behind another one in the
        render service starts later): offer Start again."""
        if self._starting:
            self._starting = False
            self._controls_key = None
            self._update_controls()

    def _on_worker_event(self, *_args: Any) -> None:
        self._mark_dirty()

    def _on_frame_started(self, worker: str, layer: str, frame: int) -> None:
        self._frame_started[worker] = time.time()
        self._pending_frames[(layer, frame)] = "running"
        self._mark_dirty()

    def _on_frame_finished(self, worker: str, layer: str, frame: int, outputs: Any) -> None:
        self._done += 1
        if isinstance(outputs, (list, tuple)) and outputs:
            self._pending_outputs.append((layer, frame, [str(path) for path in outputs]))
        started = self._frame_started.pop(worker, None)
        self._pending_frames[(layer, frame)] = "done"
        seconds = time.time() - started if started is not None else None
        self._pending_details.append((layer, frame, worker, seconds))
        self._mark_dirty()

    def _on_frame_failed(
        self, worker: str, layer: str, frame: int, reason: str, will_retry: bool
    ) -> None:
        self._frame_started.pop(worker, None)
        if will_retry:
            self._pending_frames[(layer, frame)] = "pending"
        else:
            self._failed += 1
            self._pending_frames[(layer, frame)] = "failed"
            self._pending_failures.append((layer, frame, worker, reason))
        self._mark_dirty()

    def _on_log_message(self, timestamp: float, level: str, worker: str, text: str) -> None:
        self._pending_logs.append((timestamp, level, worker, text))
        self._mark_dirty()

    def _on_batch_finished(self, summary: object) -> None:
        assert isinstance(summary, BatchSummary)
        self._pending_summary = summary
        if summary.total or not self._total:
            # the summary counts this run; the earlier runs of a resumed batch add theirs
            done_before, skipped_before = self._before
            self._done = summary.done + done_before
            self._failed = summary.failed
            self._skipped = summary.skipped + skipped_before
            self._total = summary.total + done_before + skipped_before
        # else a summary without counts (the render service died: the API ends the batch
        # as interrupted without them): the counts seen so far stay
        self._finished_at = time.time()
        if not self._watching_since_start and summary.batch_id == self._batch_id:
            # a batch that had ended before this window opened (the render service replays
            # how its last batch ended): its frames come from the job store
            self._watching_since_start = True
            self._ended_unwatched = True
            try:
                _layers, states = self._frames_from_store(summary.batch_id)
                self._pending_frames.update(states)
            except Exception as exc:  # only the strip is less exact: the counts stand
                log.warning("batch %s: its frames could not be read: %s", summary.batch_id, exc)
        self._running = False
        self._stop_requested = False
        self._frame_started = {}
        self._last_batch = (summary.batch_id or self._batch_id or "", summary.state)
        self._mark_dirty()

    # ------------------------------------------------------------------ flush: push

    def _flush(self) -> None:
        """Push everything recorded since the last tick into the widgets (one pass)."""
        if self._shut_down:
            return
        progress = self.progress_widget
        if self._pending_plan is not None:
            plan, self._pending_plan = self._pending_plan, None
            self.renders_model.clear()
            progress.clear()
            progress.set_plan(plan)  # its log folder too
            if plan.warnings:
                self.message_area.show_message(" ".join(plan.warnings), "warning")
        if self._pending_logs:
            logs, self._pending_logs = self._pending_logs, []
            for entry in logs:
                progress.append_log(*entry)
        if self._pending_frames:
            frames, self._pending_frames = self._pending_frames, {}
            for (layer, frame), state in frames.items():
                progress.set_frame_state(layer, frame, state)
        if self._pending_details:
            details, self._pending_details = self._pending_details, []
            strip = progress.frame_strip
            for layer, frame, worker, seconds in details:
                strip.set_frame_detail(layer, frame, worker=worker, seconds=seconds)
        if self._pending_outputs:
            outputs, self._pending_outputs = self._pending_outputs, []
            progress.preview.frames_done(outputs)
        if self._pending_failures:
            failures, self._pending_failures = self._pending_failures, []
            for layer, frame, worker, reason in failures:
                progress.add_failure(layer, frame, worker, reason)
        if self._running or self._dirty:
            statuses = self.api.get_render_status()
            self.renders_model.update_statuses(statuses, self._frame_started)
            self._live_workers = sum(1 for s in statuses if not s.state.final)
            self.system_widget.set_rendering_gpus(_gpu_indices(statuses) if self._running else ())
            self._show_disabled_gpus(statuses)
        if self._pending_summary is not None:
            summary, self._pending_summary = self._pending_summary, None
            self._end_worker_rows(summary)
            progress.show_outcome(summary)
            self._show_summary(summary)
        self._dirty = False
        self._update_progress()
        progress.flush()  # the strip repaints in this tick, with the bar: they agree
        self._update_controls()
        if not self._running and not self._pending_logs and not self._pending_frames:
            self._flush_timer.stop()

    def _end_worker_rows(self, summary: BatchSummary) -> None:
        """The batch is over: no worker row may still read "starting" or "rendering" (the
        render service sends no statuses after the end; a worker that never started has
        none). Disabled slots say why."""
        model = self.renders_model
        ended = []
        for row in range(model.rowCount()):
            status = model.status(row)
            if status.state.final:
                continue
            info = summary.workers.get(status.worker_id)
            disabled = info.disabled if info is not None else None
            ended.append(
                dataclasses.replace(
                    status,
                    state=WorkerState.DISABLED if disabled else WorkerState.FINISHED,
                    current_frame=None,
                    progress_percent=None,
                    eta=None,
                    message=disabled or status.message,
                )
            )
        if ended:
            model.update_statuses(ended)

    def _settle_start(self) -> None:
        """Just after a ``batch_started``, in the next turn of the event loop: frames that
        finished already came with it (the render service replays a running batch to a
        window that attaches late, in one delivery; an engine's own frames come later, from
        its workers). They were rendered before this window watched: the log says so, the
        ETA leaves them out, and "took" and the running frames' times come from the job
        store instead of from now."""
        if self._watching_since_start or self._shut_down:
            return
        self._watching_since_start = True
        finished = self._finished_count()
        if not finished or not self._running or not self._batch_id:
            return
        self._note_attached(finished)
        now = time.time()
        self._rate_base = (now, finished)
        try:
            store = self.api.store
            started = [
                w.started for w in store.workers(self._batch_id) if w.ended is None and w.started
            ]
            for outcome in store.frames(self._batch_id, states=[FrameState.RUNNING]):
                if outcome.worker in self._frame_started and outcome.started:
                    self._frame_started[outcome.worker] = outcome.started  # not "now"
        except Exception:  # only the times shown are less exact
            started = []
        if started:
            self._started_at = min(min(started), self._started_at)
            self._rate_base = (self._started_at, 0)
        self._mark_dirty()

    def _note_attached(self, finished: int) -> None:
        """Say in the log that this window joined a batch already under way."""
        self._pending_logs.append(
            (
                time.time(),
                "info",
                "",
                f"Showing batch {self._batch_id}, already rendering: {finished} of "
                f"{self._total} frames had finished. Earlier log lines are in the log files "
                "(Log file).",
            )
        )

    def _finished_count(self) -> int:
        return self._done + self._failed + self._skipped

    def _update_progress(self) -> None:
        total, finished = self._total, self._finished_count()
        if self._batch_id is None:
            return
        rendered = self._done + self._skipped  # a failed frame is not progress
        self.overall_bar.set_counts(rendered, self._failed, total)
        parts = [f"{rendered} / {total} frames"]
        if self._failed:
            parts.append(f"{self._failed} failed")
        if self._skipped:
            parts.append(f"{self._skipped} skipped")
        if self._running:
            parts.append(f"{self._live_workers} worker{'s' if self._live_workers != 1 else ''}")
            since, base = self._rate_base
            remaining = remaining_seconds(time.time() - since, finished - base, total - base)
            if self._stop_requested:
                parts.append("stopping…")
            elif remaining is not None and finished < total:
                parts.append(f"ETA {format_eta(remaining)} ({_clock_time(remaining)})")
        elif self._finished_at is not None:
            ended = _ENDED_WORDS.get(self._last_batch[1]) if self._last_batch else None
            parts.insert(0, (ended or "Ended") + ":")
            if self._ended_unwatched:
                parts.append("ended before this window opened")
            else:
                parts.append(f"took {duration_words(self._finished_at - self._started_at)}")
        self.status_label.setText(" · ".join(parts).replace(": · ", ": "))

    def _show_summary(self, summary: BatchSummary) -> None:
        """One message for how the batch ended: what happened, where, what to do next."""
        state = summary.state
        output = self._plan.output_dir if self._plan is not None else ""
        took = duration_words((self._finished_at or time.time()) - self._started_at)
        if self._ended_unwatched:
            took = "a run that ended before this window opened"
        batch = summary.batch_id
        disabled = [
            f"{worker}: {info.disabled}"
            for worker, info in summary.workers.items()
            if info.disabled
        ]
        if state is BatchState.DONE:
            count = summary.done + summary.skipped
            before = sum(self._before)
            where = f" Images: {output}" if output else ""
            if before:  # a resumed batch: the whole batch, and what this run added
                text = (
                    f"All {count + before} frames rendered: {count} in this run ({took}), "
                    f"{before} before it.{where}"
                )
            else:
                text = f"All {count} frames rendered in {took}.{where}"
            if disabled:
                text += " Workers taken out of the batch: " + "; ".join(disabled) + "."
            released = sorted(w for w, info in summary.workers.items() if info.released)
            if released:  # not a failure: the artist asked for them
                text += " Given back to Maya during the batch: " + ", ".join(released) + "."
            self.message_area.show_message(text, "warning" if disabled else "ok")
            return
        if state is BatchState.CANCELLED:
            left = summary.cancelled
            self.message_area.show_message(
                f"Stopped: {self._finished_count()} of {self._total} frames finished, {left} "
                f"not rendered. Resume renders the rest (batch {batch}).",
                "info",
            )
            return
        if state is BatchState.INTERRUPTED:
            left = max(0, self._total - self._finished_count())
            reason = (summary.error or "the batch's manager stopped").rstrip(".")
            advice = (
                "" if "resume" in reason.lower() else f" Resume renders the rest (batch {batch})."
            )
            self.message_area.show_message(
                f"Interrupted: {self._finished_count()} of {self._total} frames finished, "
                f"{left} not rendered: {reason}.{advice}",
                "error",
            )
            return
        error = summary.error or ""
        failed = summary.failed_frames
        lines = [f"The batch failed: {error}." if error else ""]
        if not error and disabled:
            lines.append("Workers taken out of the batch: " + "; ".join(disabled) + ".")
        own = [f for f in failed if f.reason != error]
        if own:
            shown = "; ".join(f"{f.layer} frame {f.frame}: {f.reason}" for f in own[:3])
            more = f" (and {len(own) - 3} more)" if len(own) > 3 else ""
            lines.append(f"{len(own)} frame(s) failed: {shown}{more}.")
        # frames the batch never got to: failed with the batch's own reason, or (since a
        # batch that stops for its environment keeps them for resume) still pending
        not_rendered = len(failed) - len(own) + summary.pending
        if not_rendered:
            lines.append(f"{not_rendered} frame(s) were not rendered.")
        lines.append(
            f"Resume renders the frames that are not done (batch {batch}); the log has the details."
        )
        self.message_area.show_message(" ".join(line for line in lines if line), "error")

    def _on_validity_changed(self, _ok: bool, _reason: str) -> None:
        self._update_controls()

    def _update_controls(self) -> None:
        running = self._running
        reason = self.config_widget.validation_error()
        key = (
            running,
            self._starting,
            reason,
            self._stop_requested,
            self._last_batch,
            self._batch_id,
            self.config_widget.selected_frame_count(),
            len(self.config_widget.checked_layers()),
        )
        if key == self._controls_key:
            return  # called every flush: touch the widgets only when something changed
        self._controls_key = key
        self._lock_setup(running or self._starting)
        self.start_button.setEnabled(not running and not self._starting and reason is None)
        self.start_button.setToolTip(
            reason or "Start rendering in the background (a new batch: every chosen frame)"
        )
        resumable = self._last_batch is not None and self._last_batch[1].resumable
        self.resume_button.setEnabled(resumable and not running and not self._starting)
        # after a stop or a failure, Resume is the primary action (by look only: Enter
        # presses nothing); Start beside it would render everything again
        resume_first = resumable and not running
        style.set_primary(self.resume_button, resume_first and self.resume_button.isEnabled())
        style.set_primary(self.start_button, not resume_first and self.start_button.isEnabled())
        self.stop_button.setEnabled(running)
        if self._stop_requested:
            self.stop_button.setText("Force s&top")
            self.stop_button.setToolTip("Kill the workers now (their current frames are lost)")
        else:
            self.stop_button.setText("S&top")
            self.stop_button.setToolTip(
                "Stop the batch: no new frames; the frames rendering now are ended"
            )
        self.close_button.setText("&Hide" if running else "&Close")
        self.close_button.setToolTip(
            "Hide this window: the batch goes on rendering; open the Batch Render Manager "
            "again to see it"
            if running
            else "Close this window"
        )
        if running:
            self.reason_label.setText("")
        elif reason:
            self.reason_label.setText(reason)
            # reading the scene is not an error: it is said in a neutral colour
            level = "info" if self.config_widget.loading else "error"
            style.set_status_colour(self.reason_label, level)
        else:
            frames = self.config_widget.selected_frame_count()
            layers = len(self.config_widget.checked_layers())
            self.reason_label.setText(
                f"Ready: {layers} layer{'s' if layers != 1 else ''} · {frames:,} frames"
            )
            style.set_status_colour(self.reason_label, "muted")
        self.reason_label.setToolTip(self.reason_label.text())

    def _lock_setup(self, locked: bool) -> None:
        """While a batch runs the setup is locked (it started that batch; what is set
        there is for the next one) and folded away; it unfolds when the batch ends."""
        if locked == self.config_widget.locked:
            if locked:  # the batch id arrives after the start: the note names it
                self.config_widget.set_locked(True, self._lock_note())
            return
        self.config_widget.set_locked(locked, self._lock_note() if locked else "")
        self.set_setup_folded(locked)

    def _lock_note(self) -> str:
        batch = f"batch {self._batch_id}" if self._running and self._batch_id else "a batch"
        return f"Setup is locked while {batch} renders; it applies to the next batch."

    def release_gpu(self, gpu: int, finish_frame: bool = True) -> bool:
        """Give GPU ``gpu`` back to Maya mid-batch: its worker finishes its current frame
        (or stops now), then exits; its frames go to the others. The answer (or why not)
        goes to the message area."""
        if not self._running:
            return False
        return self._handback(lambda: self.api.release_gpu(gpu, finish_frame=finish_frame))

    def return_gpu(self, gpu: int) -> bool:
        """Take a GPU given back to Maya into the running batch again."""
        if not self._running:
            return False
        return self._handback(lambda: self.api.return_gpu(gpu))

    def _handback(self, call: Callable[[], GpuHandback]) -> bool:
        try:
            result = call()
        except BatchError as exc:
            self.message_area.show_message(str(exc), "error")
            return False
        except Exception as exc:  # never a traceback in the artist's face
            log.exception("giving a GPU back or taking it back failed")
            self.message_area.show_message(f"{type(exc).__name__}: {exc}", "error")
            return False
        self.message_area.show_message(result.message, "info")
        self._mark_dirty()
        return True

    def _on_stop_worker_requested(self, worker_id: str) -> None:
        if self._running:
            self.api.stop_worker(worker_id)
            self._mark_dirty()


def _clock_time(seconds_from_now: float, now: float | None = None) -> str:
    """When a wait ends, as a clock time: ``at 14:32``; ``Tue 09:10`` past today."""
    now = time.time() if now is None else now
    when = time.localtime(now + max(0.0, seconds_from_now))
    today = time.localtime(now)
    same_day = (when.tm_year, when.tm_yday) == (today.tm_year, today.tm_yday)
    return "at " + time.strftime("%H:%M" if same_day else "%a %H:%M", when)


def _frames_in(layers: dict[str, list[int]]) -> int:
    return sum(len(frames) for frames in layers.values())


def _gpu_indices(statuses: list[RenderStatus]) -> set[int]:
    indices = set()
    for status in statuses:
        gpu = gpu_of_worker(status.worker_id)
        if gpu is not None and not status.state.final:
            indices.add(gpu)
    return indices
