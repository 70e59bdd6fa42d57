"""A live log view that stays cheap under a flood: 8 workers x 1,000 lines a second.

Why it is built this way (the dashboard runs inside Maya and must never freeze it):

- ``append_log`` only buffers the line (a few microseconds); a single-shot ``QTimer`` flushes
  the buffer about every 100 ms as ONE model change: one ``beginRemoveRows`` for the
  lines that fell out of the window and one ``beginInsertRows`` for the new ones.
- Memory is bounded: only the latest ``max_lines`` lines (all workers together) are kept;
  older ones are dropped. The full logs stay on disk (``<log dir>/<worker>.log``, written
  by the process manager), one click away with "Log file".
- A line is a plain tuple of numbers and strings, which Python's cycle collector stops
  tracking after its first pass: thousands of lines a second never promote into the old
  generations, so they do not make Maya's (large) full collections more frequent.
- The view is a one-column ``QTableView`` with fixed row heights: it tracks rows in C++,
  so a flush costs the same with 50 or 5,000 lines held (a ``QListView`` re-lays out every
  row after each change, calling back into Python twice per row: 40-60 ms per flush with
  5,000 lines), and it paints the visible rows in ONE Python call (a delegate would cost
  a Python call and a style option per row).
- Filters (level, worker) and search walk at most ``max_lines`` lines, once per change.

Call the slots from the GUI thread (signals from other threads arrive queued anyway).
"""

from __future__ import annotations

import bisect
import collections
import functools
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from Qt import QtCore, QtGui, QtWidgets

from lrc_toolbox.core.events import LEVELS
from lrc_toolbox.core.qt_compat import emit_signal

__all__ = [
    "DEFAULT_MAX_LINES",
    "LEVEL",
    "LEVELS",
    "RANK",
    "SEQ",
    "TEXT",
    "TIMESTAMP",
    "WORKER",
    "LogLine",
    "LogModel",
    "LogView",
    "level_colour",
]

DEFAULT_MAX_LINES = 5000
FLUSH_INTERVAL_MS = 100


def flush_timer_for(owner: QtCore.QObject, flush: Callable[[], None]) -> QtCore.QTimer:
    """A single-shot timer that calls ``flush`` once ``FLUSH_INTERVAL_MS`` after it is
    (re)started: the views batch incoming lines and states and redraw once per tick."""
    timer = QtCore.QTimer(owner)
    timer.setSingleShot(True)
    timer.setInterval(FLUSH_INTERVAL_MS)
    timer.timeout.connect(flush)
    return timer


#: log levels, least to most severe
_RANK = {name: rank for rank, name in enumerate(LEVELS)}

#: minimum-level choices offered in the level combo: (label, level)
_LEVEL_CHOICES = (
    ("All levels", "debug"),
    ("Info and above", "info"),
    ("Warnings and errors", "warning"),
    ("Errors only", "error"),
)

# Level text colours. Contrast against the background is at least 4.5:1 (WCAG AA) on
# Maya's field grey (#2b2b2b) and its window grey (#444444 for the debug grey: 3.3:1 is
# enough for de-emphasised text) and on white; info uses the palette's own text colour.
_DARK_BACKGROUND_COLOURS = {
    "debug": "#9e9e9e",
    "warning": "#ffb74d",
    "error": "#ff7b72",
    "fatal": "#ff7b72",
}
_LIGHT_BACKGROUND_COLOURS = {
    "debug": "#6e6e6e",
    "warning": "#8a5a00",
    "error": "#c62828",
    "fatal": "#c62828",
}

_ALL_WORKERS_LABEL = "All workers"
_BATCH_WORKER_LABEL = "batch"  # lines the API logs itself (worker "")

_DISPLAY_ROLE = int(QtCore.Qt.ItemDataRole.DisplayRole)
_FOREGROUND_ROLE = int(QtCore.Qt.ItemDataRole.ForegroundRole)
_TOOLTIP_ROLE = int(QtCore.Qt.ItemDataRole.ToolTipRole)
_TEXT_MARGIN = 3
_ROLE_HIGHLIGHT = QtGui.QPalette.ColorRole.Highlight
_ROLE_HIGHLIGHTED_TEXT = QtGui.QPalette.ColorRole.HighlightedText
_ROLE_TEXT = QtGui.QPalette.ColorRole.Text
_ELIDE_RIGHT = QtCore.Qt.TextElideMode.ElideRight
_ALIGN_LEFT = int(QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter)

UrlOpener = Callable[[QtCore.QUrl], Any]


def level_colour(level: str, dark_background: bool) -> QtGui.QColor | None:
    """The text colour of a level, or None for the palette's own text colour (info)."""
    table = _DARK_BACKGROUND_COLOURS if dark_background else _LIGHT_BACKGROUND_COLOURS
    name = table.get(level)
    return QtGui.QColor(name) if name else None


def _is_dark(palette: QtGui.QPalette) -> bool:
    return palette.color(QtGui.QPalette.ColorRole.Base).lightness() < 128


#: One log line: ``(seq, timestamp, level, rank, worker, text)``. ``seq`` increases with
#: every line appended, across all workers, so tuples sort (and bisect) by it.
LogLine = tuple[int, float, str, int, str, str]
SEQ: Final = 0
TIMESTAMP: Final = 1
LEVEL: Final = 2
RANK: Final = 3
WORKER: Final = 4
TEXT: Final = 5


@functools.lru_cache(maxsize=512)
def _clock(second: int) -> str:
    return time.strftime("%H:%M:%S", time.localtime(second))


class LogModel(QtCore.QAbstractListModel):
    """The lines that pass the current filters, oldest first.

    The model holds references to lines owned by :class:`LogView`'s window; it never
    copies them, so filtering costs no memory beyond one list of references.
    """

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[LogLine] = []
        self.show_worker = True
        self.dark_background = True
        self._colours: dict[str, QtGui.QColor | None] = {}
        self._update_colours()

    # -- Qt model interface ----------------------------------------------------------

    def rowCount(
        self, parent: QtCore.QModelIndex | QtCore.QPersistentModelIndex | None = None
    ) -> int:
        if parent is not None and parent.isValid():
            return 0
        return len(self._rows)

    def data(
        self, index: QtCore.QModelIndex | QtCore.QPersistentModelIndex, role: int = _DISPLAY_ROLE
    ) -> Any:
        row = index.row()
        if not index.isValid() or row >= len(self._rows):
            return None
        line = self._rows[row]
        if role == _DISPLAY_ROLE:
            return self.display_text(line)
        if role == _FOREGROUND_ROLE:
            return self._colours.get(line[LEVEL])
        if role == _TOOLTIP_ROLE:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(line[TIMESTAMP]))
            worker = line[WORKER] or _BATCH_WORKER_LABEL
            return f"{stamp}  {worker}  {line[LEVEL]}\n{line[TEXT]}"
        return None

    # -- lines -----------------------------------------------------------------------

    def prefix(self, line: LogLine) -> str:
        """What precedes the text on screen: the time, and the worker in the combined view."""
        clock = _clock(int(line[TIMESTAMP]))
        if self.show_worker:
            return f"{clock}  {(line[WORKER] or _BATCH_WORKER_LABEL):<8}  "
        return f"{clock}  "

    def display_text(self, line: LogLine) -> str:
        return self.prefix(line) + line[TEXT]

    def line(self, row: int) -> LogLine:
        return self._rows[row]

    def lines(self) -> list[LogLine]:
        return list(self._rows)

    def row_of_seq(self, seq: int) -> int:
        """The row of the line numbered ``seq``, or -1 when it is filtered out or dropped."""
        row = self.row_at_or_after(seq)
        if row < len(self._rows) and self._rows[row][SEQ] == seq:
            return row
        return -1

    def row_at_or_after(self, seq: int) -> int:
        """The first row whose line is numbered ``seq`` or later (``rowCount`` if none)."""
        return bisect.bisect_left(self._rows, (seq,))

    def append_and_trim(self, new: list[LogLine], first_kept_seq: int) -> int:
        """Drop rows older than ``first_kept_seq``, then append ``new``: one removal and
        one insertion, whatever the number of lines. Returns how many rows were dropped."""
        dropped = self.row_at_or_after(first_kept_seq)
        if dropped:
            self.beginRemoveRows(QtCore.QModelIndex(), 0, dropped - 1)
            del self._rows[:dropped]
            self.endRemoveRows()
        if new:
            start = len(self._rows)
            self.beginInsertRows(QtCore.QModelIndex(), start, start + len(new) - 1)
            self._rows.extend(new)
            self.endInsertRows()
        return dropped

    def reset_rows(self, rows: list[LogLine]) -> None:
        self.beginResetModel()
        self._rows = rows
        self.endResetModel()

    # -- look ------------------------------------------------------------------------

    def set_dark_background(self, dark: bool) -> None:
        if dark != self.dark_background:
            self.dark_background = dark
            self._update_colours()
            if self._rows:
                last = self.index(len(self._rows) - 1, 0)
                # emit_signal, not .emit(): PySide6 6.12's emit takes a reference from True
                emit_signal(self, "dataChanged", self.index(0, 0), last, [_FOREGROUND_ROLE])

    def colour(self, level: str) -> QtGui.QColor | None:
        return self._colours.get(level)

    def _update_colours(self) -> None:
        self._colours = {level: level_colour(level, self.dark_background) for level in LEVELS}


class _LogTableView(QtWidgets.QTableView):
    """A one-column table of log lines that paints its visible rows itself.

    Each row shows the line in its level colour, the selection, and the search matches
    highlighted behind the text.
    """

    def __init__(self, model: LogModel, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._log_model = model
        self.needle = ""  # lower-case search text
        self.match_colour = QtGui.QColor(255, 200, 0, 110)
        self.setModel(model)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.setCornerButtonEnabled(False)
        self.horizontalHeader().hide()
        self.horizontalHeader().setStretchLastSection(True)
        vertical = self.verticalHeader()
        vertical.hide()
        vertical.setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Fixed)
        vertical.setMinimumSectionSize(1)
        self.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setVerticalScrollMode(QtWidgets.QAbstractItemView.ScrollMode.ScrollPerItem)
        self.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setTabKeyNavigation(False)
        self.setFont(QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.SystemFont.FixedFont))

    def setFont(self, font: QtGui.QFont | str | Iterable[str]) -> None:  # rows as tall as the font
        super().setFont(font)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 2)

    def layout_now(self) -> None:
        self.executeDelayedItemsLayout()

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        model = self._log_model
        count = model.rowCount()
        area = event.rect()
        first = self.rowAt(area.top())
        if not count or first < 0:
            return
        last = self.rowAt(area.bottom())
        last = count - 1 if last < 0 else last
        viewport = self.viewport()
        painter = QtGui.QPainter(viewport)
        try:
            painter.setFont(self.font())
            metrics = painter.fontMetrics()
            palette = self.palette()
            text_colour = palette.color(_ROLE_TEXT)
            highlight = palette.brush(_ROLE_HIGHLIGHT)
            highlighted_text = palette.color(_ROLE_HIGHLIGHTED_TEXT)
            is_selected = self.selectionModel().isRowSelected
            root = QtCore.QModelIndex()
            width = viewport.width() - 2 * _TEXT_MARGIN
            height = self.verticalHeader().defaultSectionSize()
            for row in range(first, last + 1):
                line = model.line(row)
                prefix = model.prefix(line)
                text = prefix + line[TEXT]
                top = self.rowViewportPosition(row)
                selected = is_selected(row, root)
                if selected:
                    painter.fillRect(0, top, viewport.width(), height, highlight)
                rect = QtCore.QRect(_TEXT_MARGIN, top, width, height)
                if self.needle:
                    self._paint_matches(painter, rect, metrics, text, len(prefix))
                if selected:
                    painter.setPen(highlighted_text)
                else:
                    painter.setPen(model.colour(line[LEVEL]) or text_colour)
                painter.drawText(rect, _ALIGN_LEFT, metrics.elidedText(text, _ELIDE_RIGHT, width))
        finally:
            painter.end()

    def _paint_matches(
        self,
        painter: QtGui.QPainter,
        rect: QtCore.QRect,
        metrics: QtGui.QFontMetrics,
        text: str,
        start: int,
    ) -> None:
        haystack = text.lower()
        size = len(self.needle)
        at = haystack.find(self.needle, start)
        while at >= 0:
            left = rect.left() + metrics.horizontalAdvance(text[:at])
            if left > rect.right():
                break
            width = metrics.horizontalAdvance(text[at : at + size])
            painter.fillRect(
                QtCore.QRect(left, rect.top(), width, rect.height()), self.match_colour
            )
            at = haystack.find(self.needle, at + size)


class LogView(QtWidgets.QWidget):
    """Per-worker and combined logs with level filter, search, follow-tail and a line cap.

    Args:
        max_lines: Most lines held in memory, all workers together; older lines are dropped.
        flush_timer: A single-shot timer shared with sibling widgets. When given, the view
            only starts it when lines are waiting, and its owner calls :meth:`flush` on
            timeout; when None the view makes its own.
        opener: Opens a file or folder URL; defaults to ``QDesktopServices.openUrl``
            (tests pass a fake). Also settable later as the ``open_url`` attribute.
    """

    follow_tail_changed = QtCore.Signal(bool)
    #: the worker whose lines are shown (None: all): a render service sends that worker's
    #: renderer lines on request
    worker_filter_changed = QtCore.Signal(object)

    def __init__(
        self,
        max_lines: int = DEFAULT_MAX_LINES,
        *,
        flush_timer: QtCore.QTimer | None = None,
        opener: UrlOpener | None = None,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        if max_lines < 1:
            raise ValueError(f"max_lines must be 1 or more, got {max_lines}")
        self.max_lines = max_lines
        self.open_url: UrlOpener = opener or QtGui.QDesktopServices.openUrl
        self._window: collections.deque[LogLine] = collections.deque(maxlen=max_lines)
        self._pending: collections.deque[LogLine] = collections.deque(maxlen=max_lines)
        self._next_seq = 0
        self._workers: dict[str, None] = {}  # seen, in order
        self._min_rank = 0
        self._worker_filter: str | None = None
        self._log_dir: Path | None = None
        self._follow = True
        self._programmatic_scroll = 0
        self._needle = ""
        self._matches: list[int] = []  # seqs of the visible lines that match, oldest first
        self._current_match: int | None = None  # seq of the current match

        self._flush_timer = (
            flush_timer if flush_timer is not None else flush_timer_for(self, self.flush)
        )

        self.model = LogModel(self)
        self._build_ui()
        self.model.set_dark_background(_is_dark(self.view.palette()))

    # ------------------------------------------------------------------ building

    def _build_ui(self) -> None:
        self.worker_combo = QtWidgets.QComboBox()
        self.worker_combo.addItem(_ALL_WORKERS_LABEL, None)
        # a small dock: the combos may shrink to a few characters (their lists stay whole)
        self.worker_combo.setSizeAdjustPolicy(
            QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.worker_combo.setMinimumContentsLength(7)
        self.worker_combo.setToolTip("Show the lines of one worker, or of all of them")
        self.worker_combo.currentIndexChanged.connect(self._on_worker_chosen)

        self.level_combo = QtWidgets.QComboBox()
        for label, level in _LEVEL_CHOICES:
            self.level_combo.addItem(label, level)
        self.level_combo.setToolTip("Hide lines below this level")
        self.level_combo.setSizeAdjustPolicy(
            QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.level_combo.setMinimumContentsLength(8)
        self.level_combo.currentIndexChanged.connect(self._on_level_chosen)

        self.search_edit = QtWidgets.QLineEdit()
        self.search_edit.setPlaceholderText("Search")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.setToolTip("Find text in the lines shown (Enter: next match)")
        self.search_edit.textChanged.connect(self.set_search)
        self.search_edit.returnPressed.connect(self.find_next)
        self.previous_button = QtWidgets.QToolButton()
        self.previous_button.setText("\u25b2")
        self.previous_button.setToolTip("Previous match (older)")
        self.previous_button.clicked.connect(self.find_previous)
        self.next_button = QtWidgets.QToolButton()
        self.next_button.setText("\u25bc")
        self.next_button.setToolTip("Next match (newer; wraps around)")
        self.next_button.clicked.connect(self.find_next)
        self.match_label = QtWidgets.QLabel()
        self.match_label.setMinimumWidth(self.fontMetrics().horizontalAdvance("000 / 000"))

        self.follow_button = QtWidgets.QToolButton()
        self.follow_button.setText("Follow")
        self.follow_button.setCheckable(True)
        self.follow_button.setChecked(True)
        self.follow_button.setToolTip(
            "Keep showing the newest lines. Scrolling up stops following; scrolling back to "
            "the bottom starts again."
        )
        self.follow_button.toggled.connect(self.set_follow_tail)

        self.open_button = QtWidgets.QPushButton("Log file")
        self.open_button.setAutoDefault(False)
        self.open_button.clicked.connect(self.open_log_file)

        bar = QtWidgets.QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.worker_combo)
        bar.addWidget(self.level_combo)
        bar.addWidget(self.search_edit, 1)
        bar.addWidget(self.previous_button)
        bar.addWidget(self.next_button)
        bar.addWidget(self.match_label)
        bar.addWidget(self.follow_button)
        bar.addWidget(self.open_button)

        self.view = _LogTableView(self.model)
        scroll_bar = self.view.verticalScrollBar()
        scroll_bar.valueChanged.connect(self._on_scrolled)
        scroll_bar.rangeChanged.connect(self._on_range_changed)

        self.status_label = QtWidgets.QLabel()
        self.status_label.setEnabled(False)  # the palette's muted text colour
        self.status_label.setSizePolicy(  # new text every flush: no relayout for it
            QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred
        )

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.status_label)

        copy = QtGui.QShortcut(QtGui.QKeySequence.StandardKey.Copy, self.view)
        copy.setContext(QtCore.Qt.ShortcutContext.WidgetShortcut)  # never Maya's Ctrl+C
        copy.activated.connect(self.copy_selection)
        self._update_match_label()
        self._update_open_button()
        self._update_status()

    # ------------------------------------------------------------------ appending

    @QtCore.Slot(float, str, str, str)
    def append_log(self, timestamp: float, level: str, worker: str, text: str) -> None:
        """Buffer one line (cheap); it reaches the view at the next flush."""
        if "\n" in text or "\r" in text or "\t" in text:
            for part in text.expandtabs(4).splitlines() or [""]:
                self._buffer(timestamp, level, worker, part)
        else:
            self._buffer(timestamp, level, worker, text)

    def _buffer(self, timestamp: float, level: str, worker: str, text: str) -> None:
        rank = _RANK.get(level)
        if rank is None:  # "WARNING", or a level this view does not know: shown as info
            level = level.lower() if level.lower() in _RANK else "info"
            rank = _RANK[level]
        self._pending.append((self._next_seq, timestamp, level, rank, worker, text))
        self._next_seq += 1
        if len(self._pending) == 1 and not self._flush_timer.isActive():
            self._flush_timer.start()

    def flush(self) -> None:
        """Move the buffered lines into the window and the view, in one batch."""
        if not self._pending:
            return
        new = list(self._pending)
        self._pending.clear()
        self._window.extend(new)  # the deque drops the oldest lines past max_lines
        first_kept = self._window[0][SEQ]
        workers = self._workers
        for line in new:
            if line[WORKER] not in workers:
                self._add_worker(line[WORKER])
        accepted = [line for line in new if line[SEQ] >= first_kept and self._accepts(line)]
        with self._keeping_scroll_position() as dropped_rows:
            dropped_rows.append(self.model.append_and_trim(accepted, first_kept))
        self._update_matches(accepted, first_kept)
        self._update_status()

    def _accepts(self, line: LogLine) -> bool:
        return line[RANK] >= self._min_rank and (
            self._worker_filter is None or line[WORKER] == self._worker_filter
        )

    def clear(self) -> None:
        """Forget every line (the log files on disk are untouched); filters stay."""
        self._pending.clear()
        self._window.clear()
        with self._keeping_scroll_position():
            self.model.reset_rows([])
        self._matches.clear()
        self._current_match = None
        self._update_match_label()
        self._update_status()

    # ------------------------------------------------------------------ workers

    def add_workers(self, workers: Iterable[str]) -> None:
        """Offer workers in the selector before their first line (e.g. from the plan)."""
        for worker in workers:
            if worker not in self._workers:
                self._add_worker(worker)

    def workers(self) -> list[str]:
        return list(self._workers)

    def _add_worker(self, worker: str) -> None:
        self._workers[worker] = None
        self.worker_combo.addItem(worker or _BATCH_WORKER_LABEL, worker)

    # ------------------------------------------------------------------ filters

    @property
    def min_level(self) -> str:
        return LEVELS[self._min_rank]

    def set_min_level(self, level: str) -> None:
        """Show only lines at ``level`` or above (``debug`` shows everything)."""
        if level not in _RANK:
            raise ValueError(f"unknown log level {level!r}; expected one of {', '.join(LEVELS)}")
        rank = min(_RANK[level], _RANK["error"])  # fatal lines show with the errors
        for i, (_label, choice) in enumerate(_LEVEL_CHOICES):
            if _RANK[choice] == rank:
                self.level_combo.setCurrentIndex(i)  # refilters through _on_level_chosen
                return

    def _on_level_chosen(self, index: int) -> None:
        rank = _RANK[self.level_combo.itemData(index)]
        if rank != self._min_rank:
            self._min_rank = rank
            self._refilter()

    @property
    def worker_filter(self) -> str | None:
        return self._worker_filter

    def set_worker_filter(self, worker: str | None) -> None:
        """Show one worker's lines (``None``: all workers). An unseen worker is added."""
        if worker is not None and worker not in self._workers:
            self._add_worker(worker)
        index = self.worker_combo.findData(worker) if worker is not None else 0
        self.worker_combo.setCurrentIndex(index)  # refilters through _on_worker_chosen

    def _on_worker_chosen(self, index: int) -> None:
        worker = self.worker_combo.itemData(index) if index > 0 else None
        if worker != self._worker_filter:
            self._worker_filter = worker
            self.model.show_worker = worker is None
            self._refilter()
            emit_signal(self, "worker_filter_changed", worker)
        self._update_open_button()

    def _refilter(self) -> None:
        rows = [line for line in self._window if self._accepts(line)]
        with self._keeping_scroll_position(anchor=True):
            self.model.reset_rows(rows)
        self._recompute_matches()

    # ------------------------------------------------------------------ search

    def set_search(self, text: str) -> None:
        """Highlight the lines containing ``text`` (any case) and go to the newest one."""
        if self.search_edit.text() != text:
            self.search_edit.setText(text)  # comes back here through textChanged
            return
        self._needle = text.lower()
        self.view.needle = self._needle
        self._recompute_matches()
        self._current_match = self._matches[-1] if self._matches else None
        self._show_current_match()

    def _recompute_matches(self) -> None:
        needle = self._needle
        self._matches = (
            [line[SEQ] for line in self.model.lines() if needle in line[TEXT].lower()]
            if needle
            else []
        )
        if self._current_match is not None and self._current_match not in self._matches:
            self._current_match = self._matches[-1] if self._matches else None
        self._update_match_label()
        self.view.viewport().update()

    def _update_matches(self, accepted: list[LogLine], first_kept: int) -> None:
        if not self._needle:
            return
        dropped = bisect.bisect_left(self._matches, first_kept)
        if dropped:
            del self._matches[:dropped]
            if self._current_match is not None and self._current_match < first_kept:
                self._current_match = self._matches[0] if self._matches else None
        needle = self._needle
        self._matches.extend(line[SEQ] for line in accepted if needle in line[TEXT].lower())
        if self._current_match is None and self._matches:
            self._current_match = self._matches[0]
        self._update_match_label()

    def find_next(self) -> None:
        """Go to the next (newer) match, wrapping to the oldest after the newest."""
        self._step_match(+1)

    def find_previous(self) -> None:
        """Go to the previous (older) match, wrapping to the newest after the oldest."""
        self._step_match(-1)

    def _step_match(self, step: int) -> None:
        if not self._matches:
            return
        if self._current_match is None:
            position = 0 if step > 0 else len(self._matches) - 1
        else:
            position = (self._match_position() + step) % len(self._matches)
        self._current_match = self._matches[position]
        self._show_current_match()

    def _match_position(self) -> int:
        assert self._current_match is not None
        return bisect.bisect_left(self._matches, self._current_match)

    @property
    def match_count(self) -> int:
        return len(self._matches)

    @property
    def current_match_number(self) -> int:
        """1-based position of the current match; 0 when there is none."""
        return 0 if self._current_match is None else self._match_position() + 1

    def match_counter_text(self) -> str:
        if not self._needle:
            return ""
        return f"{self.current_match_number} / {len(self._matches)}"

    def _show_current_match(self) -> None:
        self._update_match_label()
        if self._current_match is None:
            self.view.clearSelection()
            return
        row = self.model.row_of_seq(self._current_match)
        if row < 0:
            return
        index = self.model.index(row, 0)
        self.view.setCurrentIndex(index)
        if not self.view.viewport().rect().contains(self.view.visualRect(index)):
            # a user action: scrolling up to a match stops following, like any scroll up
            self.view.scrollTo(index, QtWidgets.QAbstractItemView.ScrollHint.PositionAtCenter)

    def _update_match_label(self) -> None:
        self.match_label.setText(self.match_counter_text())

    # ------------------------------------------------------------------ follow tail

    @property
    def follow_tail(self) -> bool:
        return self._follow

    def set_follow_tail(self, follow: bool) -> None:
        """Follow the newest lines (scrolls to the bottom now) or stay where the view is."""
        follow = bool(follow)
        if follow != self._follow:
            self._follow = follow
            if self.follow_button.isChecked() != follow:
                self.follow_button.setChecked(follow)
            # emit_signal, not .emit(): PySide6 6.12's emit takes a reference from True
            emit_signal(self, "follow_tail_changed", follow)
        if follow:
            with self._programmatic():
                self.view.scrollToBottom()

    def _on_scrolled(self, value: int) -> None:
        if self._programmatic_scroll:
            return
        # the user moved the view: following is on exactly when they are at the bottom
        self.set_follow_tail(value >= self.view.verticalScrollBar().maximum())

    def _on_range_changed(self, _minimum: int, maximum: int) -> None:
        if self._follow and not self._programmatic_scroll:
            with self._programmatic():
                self.view.verticalScrollBar().setValue(maximum)

    @contextmanager
    def _programmatic(self) -> Iterator[None]:
        self._programmatic_scroll += 1
        try:
            yield
        finally:
            self._programmatic_scroll -= 1

    @contextmanager
    def _keeping_scroll_position(self, anchor: bool = False) -> Iterator[list[int]]:
        """Change the model without the view jumping: at the bottom when following, else
        on the same top line (the caller appends how many rows it dropped at the front;
        ``anchor`` finds the top line again by number instead, after a refilter)."""
        bar = self.view.verticalScrollBar()
        with self._programmatic():
            top = bar.value()
            top_seq = None
            if anchor and not self._follow and 0 <= top < self.model.rowCount():
                top_seq = self.model.line(top)[SEQ]
            dropped: list[int] = []
            yield dropped
            self.view.layout_now()
            if self._follow:
                bar.setValue(bar.maximum())
            elif top_seq is not None:
                bar.setValue(self.model.row_at_or_after(top_seq))
            elif not anchor:
                bar.setValue(max(0, top - sum(dropped)))

    # ------------------------------------------------------------------ log files

    @property
    def log_dir(self) -> Path | None:
        return self._log_dir

    def set_log_dir(self, path: str | Path | None) -> None:
        """Where the workers' full logs are (``<dir>/<worker>.log``)."""
        self._log_dir = Path(path) if path else None
        self._update_open_button()

    def log_file_path(self) -> Path | None:
        """The selected worker's log file; with all workers shown, the log folder."""
        if self._log_dir is None:
            return None
        if self._worker_filter is None:
            return self._log_dir
        if not self._worker_filter:
            return None  # the batch's own messages have no file
        return self._log_dir / f"{self._worker_filter}.log"

    def open_log_file(self) -> bool:
        """Open the selected worker's full log (the folder for all workers). Returns False,
        with the reason in the status line, when there is nothing to open."""
        path = self.log_file_path()
        if path is None:
            self._update_status("no log folder yet: the logs appear once a batch starts")
            return False
        if not path.exists():
            self._update_status(f"no log file yet: {path}")
            return False
        self.open_url(QtCore.QUrl.fromLocalFile(str(path)))
        return True

    def _update_open_button(self) -> None:
        path = self.log_file_path()
        self.open_button.setEnabled(path is not None)
        if path is None:
            self.open_button.setToolTip(
                "No log file: the batch has not started or the line comes from the batch itself"
            )
        elif self._worker_filter is None:
            self.open_button.setToolTip(
                f"Open the log folder {path} (choose a worker to open its log)"
            )
        else:
            self.open_button.setToolTip(f"Open the full log {path}")

    # ------------------------------------------------------------------ reading

    @property
    def line_count(self) -> int:
        """Lines held in memory (the window), all workers together."""
        return len(self._window)

    @property
    def pending_count(self) -> int:
        return len(self._pending)

    @property
    def total_appended(self) -> int:
        return self._next_seq

    def visible_texts(self) -> list[str]:
        """The text of the lines that pass the filters, oldest first (for tests and copy)."""
        return [line[TEXT] for line in self.model.lines()]

    def copy_selection(self) -> None:
        rows = sorted(index.row() for index in self.view.selectionModel().selectedIndexes())
        text = "\n".join(self.model.display_text(self.model.line(row)) for row in rows)
        QtWidgets.QApplication.clipboard().setText(text)

    def _update_status(self, message: str | None = None) -> None:
        if message is None:
            older = self._next_seq - len(self._pending) - len(self._window)
            message = f"{len(self._window):,} lines in memory"
            if older > 0:
                message += f"; {older:,} older lines are only in the log files"
        if self.status_label.text() != message:
            self.status_label.setText(message)

    # ------------------------------------------------------------------ look

    def changeEvent(self, event: QtCore.QEvent) -> None:
        if event.type() == QtCore.QEvent.Type.PaletteChange:
            self.model.set_dark_background(_is_dark(self.view.palette()))
        super().changeEvent(event)
