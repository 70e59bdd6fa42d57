"""The active renders table: one row per worker, keyed by worker id.

:class:`ActiveRendersModel` takes :class:`RenderStatus` snapshots (``get_render_status()``)
and emits ``dataChanged`` only for the cells whose shown value changed, so a 100 ms refresh
of a dozen workers repaints a handful of cells. :class:`ProgressDelegate` draws the progress
column as a native progress bar through the current ``QStyle`` (Maya's, inside Maya).
"""

from __future__ import annotations

import enum
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from Qt import QtCore, QtGui, QtWidgets

from lrc_toolbox.core.qt_compat import emit_signal
from lrc_toolbox.records.batch import remaining_seconds
from lrc_toolbox.records.models import RenderStatus, WorkerState
from lrc_toolbox.ui import style

__all__ = [
    "PROGRESS_ROLE",
    "STATE_ROLE",
    "STATUS_ROLE",
    "ActiveRendersModel",
    "ActiveRendersView",
    "Column",
    "ProgressDelegate",
    "format_duration",
    "format_eta",
    "gpu_of_worker",
]

#: the progress in percent (float) of a rendering row, else None: what the delegate draws
PROGRESS_ROLE = QtCore.Qt.ItemDataRole.UserRole + 1
#: the row's :class:`RenderStatus`
STATUS_ROLE = QtCore.Qt.ItemDataRole.UserRole + 2
#: the row's worker state value ("rendering", "idle", ...)
STATE_ROLE = QtCore.Qt.ItemDataRole.UserRole + 3


class Column(enum.IntEnum):
    WORKER = 0
    LAYER = 1
    FRAME = 2
    DEVICE = 3
    STATE = 4
    PROGRESS = 5
    ELAPSED = 6
    ETA = 7


HEADERS = {
    Column.WORKER: ("Worker", "The worker process (one per GPU slot, or per CPU share)"),
    Column.LAYER: ("Layer", "The render layer it renders"),
    Column.FRAME: ("Frame", "The frame it renders now"),
    Column.DEVICE: ("Device", "Where it renders"),
    Column.STATE: ("State", "starting, rendering, idle, stopping, finished, failed, disabled"),
    Column.PROGRESS: ("Progress", "Progress of the current frame, from the renderer's log"),
    Column.ELAPSED: ("Elapsed", "Time on the current frame (else: the worker's running time)"),
    Column.ETA: ("ETA", "Estimated time left on the current frame"),
}


def format_duration(seconds: float | None) -> str:
    """``7`` -> ``0:07``, ``83`` -> ``1:23``, ``3723`` -> ``1:02:03``; None -> ``""``."""
    if seconds is None or seconds < 0:
        return ""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_eta(seconds: float | None) -> str:
    """A rough time left for people: ``~40 s``, ``~3 min``, ``~1 h 05 min``."""
    if seconds is None or seconds < 0:
        return ""
    if seconds < 10:
        return f"~{max(1, round(seconds))} s"
    if seconds < 60:
        return f"~{round(seconds / 5) * 5} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"~{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"~{hours} h {minutes:02d} min"


@dataclass
class _Row:
    status: RenderStatus
    cells: tuple[Any, ...]  # one comparable value per column (what is shown)
    progress: float | None


class ActiveRendersModel(QtCore.QAbstractTableModel):
    """One row per worker; feed it with :meth:`update_statuses`."""

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[_Row] = []
        self._index: dict[str, int] = {}

    # ------------------------------------------------------------------ Qt API

    def rowCount(
        self, parent: QtCore.QModelIndex | QtCore.QPersistentModelIndex | None = None
    ) -> int:
        if parent is not None and parent.isValid():
            return 0
        return len(self._rows)

    def columnCount(
        self, parent: QtCore.QModelIndex | QtCore.QPersistentModelIndex | None = None
    ) -> int:
        if parent is not None and parent.isValid():
            return 0
        return len(Column)

    def headerData(
        self, section: int, orientation: Any, role: int = QtCore.Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != QtCore.Qt.Orientation.Horizontal or not 0 <= section < len(Column):
            return None
        title, tooltip = HEADERS[Column(section)]
        if role == QtCore.Qt.ItemDataRole.DisplayRole:
            return title
        if role == QtCore.Qt.ItemDataRole.ToolTipRole:
            return tooltip
        return None

    def flags(self, index: QtCore.QModelIndex | QtCore.QPersistentModelIndex) -> Any:
        if not index.isValid():
            return QtCore.Qt.ItemFlag.NoItemFlags
        return QtCore.Qt.ItemFlag.ItemIsEnabled | QtCore.Qt.ItemFlag.ItemIsSelectable

    def data(
        self,
        index: QtCore.QModelIndex | QtCore.QPersistentModelIndex,
        role: int = QtCore.Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        column = Column(index.column())
        if role == QtCore.Qt.ItemDataRole.DisplayRole:
            return row.cells[column]
        if role == PROGRESS_ROLE:
            return row.progress if column is Column.PROGRESS else None
        if role == STATUS_ROLE:
            return row.status
        if role == STATE_ROLE:
            return row.status.state.value
        if role == QtCore.Qt.ItemDataRole.ForegroundRole and column is Column.STATE:
            level = style.STATE_LEVELS.get(row.status.state.value)
            # the palette's variant: readable on a dark (Maya) and a light table alike
            return QtGui.QBrush(QtGui.QColor(style.status_text_colour(level))) if level else None
        if role == QtCore.Qt.ItemDataRole.TextAlignmentRole:
            if column in (Column.FRAME, Column.ELAPSED, Column.ETA):
                return int(
                    QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter
                )
            return int(QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter)
        if role == QtCore.Qt.ItemDataRole.ToolTipRole:
            return _tooltip(row.status)
        return None

    # ------------------------------------------------------------------ feeding

    def worker_ids(self) -> list[str]:
        return [row.status.worker_id for row in self._rows]

    def row_of(self, worker_id: str) -> int:
        """The row of a worker, -1 if it has none."""
        return self._index.get(worker_id, -1)

    def status(self, row: int) -> RenderStatus:
        return self._rows[row].status

    def clear(self) -> None:
        self.beginResetModel()
        self._rows = []
        self._index = {}
        self.endResetModel()

    def update_statuses(
        self,
        statuses: Iterable[RenderStatus],
        frame_started: Mapping[str, float] | None = None,
        now: float | None = None,
    ) -> list[int]:
        """Merge a snapshot: new workers are appended, changed cells are announced.

        Args:
            statuses: ``get_render_status()``; workers not in it keep their last row.
            frame_started: worker id -> epoch time its current frame started (from the
                ``frame_started`` signal), for the per-frame elapsed time and ETA.
            now: the time to compute durations at (tests pass a fixed one).

        Returns:
            The rows that changed (new rows included).
        """
        now = time.time() if now is None else now
        started = frame_started or {}
        changed: list[int] = []
        for status in statuses:
            row_number = self._index.get(status.worker_id)
            previous = self._rows[row_number] if row_number is not None else None
            row = _make_row(status, started.get(status.worker_id), now, previous)
            if row_number is None:
                position = len(self._rows)
                self.beginInsertRows(QtCore.QModelIndex(), position, position)
                self._rows.append(row)
                self._index[status.worker_id] = position
                self.endInsertRows()
                changed.append(position)
                continue
            assert previous is not None
            columns = [
                c
                for c in range(len(Column))
                if row.cells[c] != previous.cells[c]
                or (c == Column.PROGRESS and row.progress != previous.progress)
            ]
            self._rows[row_number] = row
            if columns:
                # emit_signal, not .emit(): PySide6 6.12's emit takes a reference from True
                emit_signal(
                    self,
                    "dataChanged",
                    self.index(row_number, min(columns)),
                    self.index(row_number, max(columns)),
                    [],
                )
                changed.append(row_number)
        return changed


def _make_row(
    status: RenderStatus, frame_started: float | None, now: float, previous: _Row | None
) -> _Row:
    rendering = status.state is WorkerState.RENDERING and status.current_frame is not None
    progress: float | None = None
    elapsed: float | None = None
    eta: float | None = None
    if rendering:
        progress = round(max(0.0, min(100.0, status.progress_percent or 0.0)), 1)
        elapsed = now - frame_started if frame_started is not None else None
        if elapsed is not None and elapsed >= 1.0 and progress < 100.0:
            eta = remaining_seconds(elapsed, progress, 100.0)
        if eta is None:
            eta = status.eta
    elif status.started is not None:
        elapsed = status.elapsed
    elapsed_text = format_duration(elapsed)
    if (
        status.state.final
        and previous is not None
        and previous.status.state.final
        and previous.status.worker_id == status.worker_id
    ):
        elapsed_text = previous.cells[Column.ELAPSED]  # a finished worker's clock stops
    cells = (
        status.worker_id,
        status.layer or "",
        "" if status.current_frame is None or not rendering else str(status.current_frame),
        status.device,
        status.state.value,
        "" if progress is None else f"{progress:.0f} %",
        elapsed_text,
        format_eta(eta) if rendering else "",
    )
    return _Row(status=status, cells=cells, progress=progress)


def _tooltip(status: RenderStatus) -> str:
    lines = [f"{status.worker_id} on {status.device}" if status.device else status.worker_id]
    if status.pid:
        lines.append(f"process id {status.pid}")
    lines.append(f"{status.frames_done} frame(s) done, {status.frames_failed} failed")
    if status.message:
        lines.append(status.message)
    return "\n".join(lines)


class ProgressDelegate(QtWidgets.QStyledItemDelegate):
    """Draws :data:`PROGRESS_ROLE` as a progress bar with the view's style; other cells
    (and rows that are not rendering) are drawn as usual."""

    def paint(
        self,
        painter: QtGui.QPainter,
        option: QtWidgets.QStyleOptionViewItem,
        index: QtCore.QModelIndex | QtCore.QPersistentModelIndex,
    ) -> None:
        value = index.data(PROGRESS_ROLE)
        if value is None:
            super().paint(painter, option, index)
            return
        widget = option.widget
        qstyle = widget.style() if widget is not None else QtWidgets.QApplication.style()
        background = QtWidgets.QStyleOptionViewItem(option)
        self.initStyleOption(background, index)
        background.text = ""
        qstyle.drawControl(
            QtWidgets.QStyle.ControlElement.CE_ItemViewItem, background, painter, widget
        )
        bar = QtWidgets.QStyleOptionProgressBar()
        bar.rect = option.rect.adjusted(3, 3, -3, -3)
        bar.palette = option.palette
        bar.fontMetrics = option.fontMetrics
        bar.state = (
            QtWidgets.QStyle.StateFlag.State_Enabled | QtWidgets.QStyle.StateFlag.State_Horizontal
        )
        bar.minimum = 0
        bar.maximum = 1000
        bar.progress = round(float(value) * 10)
        bar.text = f"{float(value):.0f} %"
        bar.textVisible = True
        bar.textAlignment = QtCore.Qt.AlignmentFlag.AlignCenter
        painter.save()
        qstyle.drawControl(QtWidgets.QStyle.ControlElement.CE_ProgressBar, bar, painter, widget)
        painter.restore()


class ActiveRendersView(QtWidgets.QTableView):
    """The table, with a context menu to stop one worker (a request: the dialog acts)."""

    stop_worker_requested = QtCore.Signal(str)
    #: give a GPU back to Maya mid-batch: (GPU index, finish its current frame first)
    gpu_release_requested = QtCore.Signal(int, bool)
    #: take a given-back GPU into the batch again
    gpu_return_requested = QtCore.Signal(int)

    def __init__(
        self, model: ActiveRendersModel | None = None, parent: QtWidgets.QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("LRCActiveRendersView")
        self.setModel(model or ActiveRendersModel(self))
        self.progress_delegate = ProgressDelegate(self)
        self.setItemDelegateForColumn(Column.PROGRESS, self.progress_delegate)
        self.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(24)
        header = self.horizontalHeader()
        header.setHighlightSections(False)
        self.fit_columns()
        # the device gets the width its text needs (not what is left over: it was cut);
        # the last column takes the slack, a narrow dock scrolls sideways
        header.setStretchLastSection(True)
        self.setTextElideMode(QtCore.Qt.TextElideMode.ElideMiddle)
        self.model().rowsInserted.connect(self._fit_device_column)
        self.model().modelReset.connect(self._fit_device_column)
        self.setContextMenuPolicy(QtCore.Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._context_menu)

    def fit_columns(self) -> None:
        """Column widths from the font: the header or a typical value, whichever is wider
        (a fixed width that fits the text, instead of resizing to contents on every tick)."""
        metrics = self.fontMetrics()
        samples = {
            Column.WORKER: "gpu12-b",
            Column.LAYER: "MASTER_BG",
            Column.FRAME: "-1234",
            Column.DEVICE: "GPU 12 · NVIDIA RTX A6000",
            Column.STATE: "rendering",
            Column.PROGRESS: "100 % 100 % 100 %",
            Column.ELAPSED: "1:00:00",
            Column.ETA: "~1 h 05 min",
        }
        header_metrics = self.horizontalHeader().fontMetrics()
        for column, sample in samples.items():
            title = HEADERS[column][0]
            width = max(metrics.horizontalAdvance(sample), header_metrics.horizontalAdvance(title))
            self.setColumnWidth(column, width + 24)

    def _fit_device_column(self, *_args: Any) -> None:
        """Widen the Device column to its longest text when workers are added (not on
        every tick); a longer name than the sample is shown whole, never cut."""
        metrics = self.fontMetrics()
        model = self.model()
        widest = max(
            (
                metrics.horizontalAdvance(str(model.index(row, Column.DEVICE).data() or ""))
                for row in range(model.rowCount())
            ),
            default=0,
        )
        if widest + 24 > self.columnWidth(Column.DEVICE):
            self.setColumnWidth(Column.DEVICE, widest + 24)

    def _context_menu(self, position: QtCore.QPoint) -> None:
        index = self.indexAt(position)
        if not index.isValid():
            return
        status = index.data(STATUS_ROLE)
        menu = self.menu_for(status) if status is not None else None
        if menu is not None:
            menu.popup(self.viewport().mapToGlobal(position))

    def menu_for(self, status: RenderStatus) -> QtWidgets.QMenu | None:
        """A worker's menu: stop it; on a GPU, give the GPU back to Maya (after its
        current frame, or now) or, once given back, take it into the batch again."""
        gpu = gpu_of_worker(status.worker_id)
        menu = QtWidgets.QMenu(self)
        # emit_signal, not .emit(): PySide6 6.12's emit takes a reference from True
        if status.state is WorkerState.RELEASED and gpu is not None:
            back = menu.addAction(f"Take GPU {gpu} back into the batch")
            back.setToolTip("A new worker starts on it and takes frames again")
            back.triggered.connect(lambda: emit_signal(self, "gpu_return_requested", gpu))
            return menu
        if status.state.final:
            return None
        if gpu is not None:
            later = menu.addAction(f"Give GPU {gpu} back to Maya after this frame")
            later.setToolTip(
                "The worker finishes its current frame, then exits; its other "
                "frames go to the other workers"
            )
            later.triggered.connect(lambda: emit_signal(self, "gpu_release_requested", gpu, True))
            now = menu.addAction(f"Give GPU {gpu} back to Maya now")
            now.setToolTip(
                "The worker stops at once; its frame renders on another worker "
                "(the try does not count)"
            )
            now.triggered.connect(lambda: emit_signal(self, "gpu_release_requested", gpu, False))
            menu.addSeparator()
        action = menu.addAction(f"Stop worker {status.worker_id}")
        action.setToolTip("Its frame goes back to the queue for the other workers")
        action.triggered.connect(
            lambda: emit_signal(self, "stop_worker_requested", status.worker_id)
        )
        return menu


_GPU_WORKER = re.compile(r"^gpu(\d+)")


def gpu_of_worker(worker_id: str) -> int | None:
    """The GPU a worker renders on: ``gpu2`` and ``gpu2-b`` -> 2; a CPU worker -> None."""
    match = _GPU_WORKER.match(worker_id)
    return int(match.group(1)) if match else None
