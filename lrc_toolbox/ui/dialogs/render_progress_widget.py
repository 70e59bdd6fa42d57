"""The batch progress panel: a per-layer frame strip above the workers' live logs.

Everything that arrives from the render engine is cheap to receive: a log line or a frame
state change is stored in plain Python data and marked dirty; ONE single-shot ``QTimer``
(about 100 ms) then flushes the logs to their view in one batch and repaints the strip
once. The strip paints itself (no widget per frame), so thousands of frames cost a few
hundred rectangle fills per repaint at most. Nothing here blocks: Maya stays responsive
whatever the workers print.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from Qt import QtCore, QtGui, QtWidgets

from lrc_toolbox.core.qt_compat import emit_signal
from lrc_toolbox.records.batch import BatchPlan, BatchSummary
from lrc_toolbox.records.models import BatchState
from lrc_toolbox.ui import style
from lrc_toolbox.ui.widgets.frame_preview import FramePreview
from lrc_toolbox.ui.widgets.log_view import (
    DEFAULT_MAX_LINES,
    LogView,
    UrlOpener,
    flush_timer_for,
)

__all__ = [
    "FRAME_STATES",
    "STATE_COLOURS",
    "BatchSignals",
    "FailedFramesList",
    "FrameDetail",
    "FrameStrip",
    "RenderProgressWidget",
    "StripLegend",
    "duration_words",
]

#: frame states, in the order a summary lists them
FRAME_STATES = ("pending", "running", "done", "failed", "skipped", "cancelled")

#: cell colours; readable against Maya's window grey and against a light window
STATE_COLOURS = {
    "pending": "#8a8a8a",
    "running": style.INFO,
    "done": style.OK,
    "failed": style.ERROR,
    "skipped": "#3fa89b",
    "cancelled": "#6b6b6b",
}

# Codes stored per frame. Where several frames share one pixel column the highest code is
# drawn, so a failure or a running frame is never hidden by its neighbours.
_CODE = {"done": 0, "skipped": 1, "cancelled": 2, "pending": 3, "running": 4, "failed": 5}
_STATE_OF_CODE = {code: state for state, code in _CODE.items()}
_PENDING = _CODE["pending"]

_MARGIN = 4
_ROW_GAP = 3
_MAX_CELL = 40.0  # widest cell, in pixels; a short layer does not stretch across the panel
_MIN_CELL = 1.0  # narrower than this, frames share pixel columns
#: the frame-number steps the strip's numbers may use (every frame, every 2nd, 5th, ...)
_NUMBER_STEPS = (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000)

# Each state has its own SHAPE too, so the strip reads without colour (and in a grey
# screenshot): how much of the cell's height a state fills, and its mark.
#   done: full, solid          skipped: full, hatched        cancelled: a third, solid
#   pending: full, hollow      running: two thirds, solid    failed: taller than full, a cross
_HEIGHT = {0: 1.0, 1: 1.0, 2: 1 / 3, 3: 1.0, 4: 2 / 3, 5: 1.0}
_HOLLOW = frozenset((_CODE["pending"],))
_FAILED = _CODE["failed"]
_SKIPPED = _CODE["skipped"]


@dataclass
class FrameDetail:
    """What a cell's tooltip says beyond its state: who rendered it, how long, why not."""

    worker: str | None = None
    seconds: float | None = None
    reason: str | None = None


def duration_words(seconds: float) -> str:
    """``190`` -> ``3 min 10 s``; ``42`` -> ``42 s``; ``3720`` -> ``1 h 02 min``."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


def paint_cell(
    painter: QtGui.QPainter, rect: QtCore.QRectF, code: int, colour: QtGui.QColor
) -> None:
    """One frame's cell in a ``rect`` as tall as a row's cells: its state's colour AND
    shape (see ``_HEIGHT``), so states differ without colour too."""
    height = rect.height() * _HEIGHT[code]
    if code in _HOLLOW and rect.width() < 4:  # too narrow for an outline: a low bar
        height = rect.height() / 3
    if code == _FAILED:  # taller than any other, past the row's cell band
        cell = QtCore.QRectF(rect.left(), rect.top() - 2, rect.width(), rect.height() + 4)
    else:
        cell = QtCore.QRectF(rect.left(), rect.bottom() - height, rect.width(), height)
    if code in _HOLLOW and rect.width() >= 4:
        pen = QtGui.QPen(colour)
        pen.setWidthF(1.0)
        painter.setPen(pen)
        painter.setBrush(QtCore.Qt.BrushStyle.NoBrush)
        painter.drawRect(cell.adjusted(0.5, 0.5, -0.5, -0.5))
        return
    painter.fillRect(cell, colour)
    if rect.width() < 4:
        return
    if code == _SKIPPED:
        painter.fillRect(cell, QtGui.QBrush(colour.darker(170), QtCore.Qt.BrushStyle.BDiagPattern))
    elif code == _FAILED and rect.width() >= 6:
        pen = QtGui.QPen(QtGui.QColor("#ffffff"))
        pen.setWidthF(1.5)
        painter.setPen(pen)
        inset = cell.adjusted(2, 3, -2, -3)
        painter.drawLine(inset.topLeft(), inset.bottomRight())
        painter.drawLine(inset.bottomLeft(), inset.topRight())


class BatchSignals(Protocol):
    """The signals of ``BatchRenderAPI`` that :meth:`RenderProgressWidget.connect_api`
    listens to (anything with the same signals will do: a test's or a benchmark's)."""

    @property
    def batch_started(self) -> QtCore.SignalInstance[tuple[str, object]]: ...  # id, BatchPlan
    @property
    def frame_started(self) -> QtCore.SignalInstance[tuple[str, str, int]]: ...
    @property
    def frame_finished(self) -> QtCore.SignalInstance[tuple[str, str, int, object]]: ...
    @property
    def frame_failed(self) -> QtCore.SignalInstance[tuple[str, str, int, str, bool]]: ...
    @property
    def log_message(self) -> QtCore.SignalInstance[tuple[float, str, str, str]]: ...
    @property
    def batch_finished(self) -> QtCore.SignalInstance[tuple[object]]: ...  # BatchSummary


@dataclass
class LayerRow:
    """One layer of the strip: its frames in plan order and each frame's state code."""

    name: str
    frames: list[int]
    index: dict[int, int] = field(init=False)  # frame -> position
    codes: bytearray = field(init=False)  # position -> state code
    counts: list[int] = field(init=False)  # state code -> frames in that state

    def __post_init__(self) -> None:
        self.index = {frame: i for i, frame in enumerate(self.frames)}
        self.codes = bytearray([_PENDING]) * len(self.frames)
        self.counts = [0] * len(_CODE)
        self.counts[_PENDING] = len(self.frames)

    def set_code(self, frame: int, code: int) -> bool:
        """Set a frame's state code (a frame not in the plan is added at the end)."""
        i = self.index.get(frame)
        if i is None:
            i = self.index[frame] = len(self.frames)
            self.frames.append(frame)
            self.codes.append(_PENDING)
            self.counts[_PENDING] += 1
        old = self.codes[i]
        if old == code:
            return False
        self.codes[i] = code
        self.counts[old] -= 1
        self.counts[code] += 1
        return True

    def count(self, state: str) -> int:
        return self.counts[_CODE[state]]


class FrameStrip(QtWidgets.QWidget):
    """One row per layer, one small cell per frame, coloured by the frame's state.

    State changes only touch a ``bytearray``; the repaint waits for the flush timer.

    Args:
        flush_timer: A single-shot timer shared with sibling widgets; the strip starts it
            when it has changes and its owner calls :meth:`flush`. None: its own timer.
    """

    def __init__(
        self,
        *,
        flush_timer: QtCore.QTimer | None = None,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._rows: list[LayerRow] = []
        self._by_name: dict[str, LayerRow] = {}
        self._details: dict[tuple[str, int], FrameDetail] = {}
        self._dirty = False
        self._bounds_cache: dict[tuple[int, int], list[tuple[int, int]]] = {}
        self._geometry: tuple[int, int, int] | None = None
        self._flush_timer = (
            flush_timer if flush_timer is not None else flush_timer_for(self, self.flush)
        )
        self._brushes = {code: QtGui.QColor(STATE_COLOURS[s]) for s, code in _CODE.items()}
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)  # frame_hovered
        self.setSizePolicy(
            QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Fixed
        )

    # ------------------------------------------------------------------ data

    def set_layers(self, layers: Iterable[tuple[str, list[int]]]) -> None:
        """Replace the rows: every frame starts pending."""
        self._rows = [LayerRow(name, list(frames)) for name, frames in layers]
        self._by_name = {row.name: row for row in self._rows}
        self._details = {}
        self._rows_changed()
        self.update()

    def layers(self) -> list[LayerRow]:
        return list(self._rows)

    def layer(self, name: str) -> LayerRow | None:
        return self._by_name.get(name)

    def set_frame_state(self, layer: str, frame: int, state: str) -> None:
        """Record a frame's state; the strip repaints at the next flush.

        Raises:
            ValueError: ``state`` is not one of :data:`FRAME_STATES`.
        """
        code = _CODE.get(state)
        if code is None:
            raise ValueError(
                f"unknown frame state {state!r}; expected one of {', '.join(FRAME_STATES)}"
            )
        row = self._by_name.get(layer)
        if row is None:  # a layer the plan did not name: show it rather than drop it
            row = LayerRow(layer, [])
            self._rows.append(row)
            self._by_name[layer] = row
            self._rows_changed()
        if frame not in row.index:  # a frame the plan did not name: widens the count
            self._geometry = None
        if row.set_code(frame, code) and not self._dirty:
            self._dirty = True
            if not self._flush_timer.isActive():
                self._flush_timer.start()

    def set_frame_detail(
        self,
        layer: str,
        frame: int,
        *,
        worker: str | None = None,
        seconds: float | None = None,
        reason: str | None = None,
    ) -> None:
        """What the frame's tooltip adds to its state: its worker, render time, failure."""
        self._details[(layer, frame)] = FrameDetail(worker, seconds, reason)

    def frame_detail(self, layer: str, frame: int) -> FrameDetail | None:
        return self._details.get((layer, frame))

    def state_of(self, layer: str, frame: int) -> str | None:
        row = self._by_name.get(layer)
        if row is None or frame not in row.index:
            return None
        return _STATE_OF_CODE[row.codes[row.index[frame]]]

    def reset_states(self, state: str = "pending") -> None:
        """Put every frame back to one state (keeps the rows)."""
        code = _CODE[state]
        for row in self._rows:
            row.codes = bytearray([code]) * len(row.frames)
            row.counts = [0] * len(_CODE)
            row.counts[code] = len(row.frames)
        self.update()

    def mark_unfinished(self, state: str, layers: Iterable[str] | None = None) -> None:
        """Set every pending or running frame to ``state`` (the batch ended without them)."""
        names = set(layers) if layers is not None else None
        for row in self._rows:
            if names is not None and row.name not in names:
                continue
            for i, code in enumerate(row.codes):
                if code in (_PENDING, _CODE["running"]):
                    row.set_code(row.frames[i], _CODE[state])
        self.update()

    def totals(self) -> dict[str, int]:
        """Frames per state over every layer, plus ``total``."""
        totals = {state: 0 for state in FRAME_STATES}
        for row in self._rows:
            for state in FRAME_STATES:
                totals[state] += row.count(state)
        totals["total"] = sum(len(row.frames) for row in self._rows)
        return totals

    def flush(self) -> None:
        """Repaint once for every change since the last flush."""
        if self._dirty:
            self._dirty = False
            self.update()

    # ------------------------------------------------------------------ geometry

    def _metrics(self) -> tuple[int, int, int]:
        """Row height (cells and their frame numbers), label column width and count column
        width (cached until the rows or the font change)."""
        if self._geometry is None:
            metrics = self.fontMetrics()
            widest = max((metrics.horizontalAdvance(row.name) for row in self._rows), default=0)
            longest = max((len(row.frames) for row in self._rows), default=0)
            self._geometry = (
                self._cell_height() + self._number_font_metrics().height(),
                min(widest, 14 * metrics.averageCharWidth()) + 14,  # slack: no false elision
                metrics.horizontalAdvance(f"{longest}/{longest}") + 8,
            )
        return self._geometry

    def _cell_height(self) -> int:
        return max(self.fontMetrics().height(), 12) + 2

    def _number_font(self) -> QtGui.QFont:
        font = QtGui.QFont(self.font())
        size = font.pointSizeF()
        if size > 0:
            font.setPointSizeF(max(6.0, size - 1.5))
        return font

    def _number_font_metrics(self) -> QtGui.QFontMetrics:
        return QtGui.QFontMetrics(self._number_font())

    def _rows_changed(self) -> None:
        self._geometry = None
        self.updateGeometry()

    def changeEvent(self, event: QtCore.QEvent) -> None:
        if event.type() == QtCore.QEvent.Type.FontChange:
            self._rows_changed()
        super().changeEvent(event)

    def _cells_rect(self, row_index: int) -> QtCore.QRectF:
        row_height, label_width, count_width = self._metrics()
        top = _MARGIN + row_index * (row_height + _ROW_GAP)
        left = _MARGIN + label_width
        right = self.width() - _MARGIN - count_width
        return QtCore.QRectF(left, top, max(1, right - left), self._cell_height())

    @staticmethod
    def _cell_width(row: LayerRow, available: float) -> float:
        return min(_MAX_CELL, available / max(1, len(row.frames)))

    def sizeHint(self) -> QtCore.QSize:
        rows = max(1, len(self._rows))
        height = 2 * _MARGIN + rows * self._metrics()[0] + (rows - 1) * _ROW_GAP
        return QtCore.QSize(400, height)

    def minimumSizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(120, self.sizeHint().height())

    def cell_rect(self, layer: str, frame: int) -> QtCore.QRectF:
        """Where a frame's cell is drawn (in widget coordinates); empty if not shown."""
        for row_index, row in enumerate(self._rows):
            if row.name == layer and frame in row.index:
                cells = self._cells_rect(row_index)
                n = len(row.frames)
                i = row.index[frame]
                width = self._cell_width(row, cells.width())
                if width >= _MIN_CELL:
                    return QtCore.QRectF(
                        cells.left() + i * width, cells.top(), width, cells.height()
                    )
                x = cells.left() + int(i * cells.width() / n)
                return QtCore.QRectF(x, cells.top(), 1, cells.height())
        return QtCore.QRectF()

    def frame_at(self, pos: QtCore.QPoint | QtCore.QPointF) -> tuple[str, int] | None:
        """The layer and frame under a point, or None."""
        x, y = float(pos.x()), float(pos.y())
        row_height = self._metrics()[0]
        for row_index, row in enumerate(self._rows):
            cells = self._cells_rect(row_index)
            if not (cells.top() <= y < cells.top() + row_height) or not row.frames:
                continue
            width = self._cell_width(row, cells.width())
            if width >= _MIN_CELL:
                i = int((x - cells.left()) // width)
            else:
                i = int((x - cells.left()) * len(row.frames) // cells.width())
            if x >= cells.left() and 0 <= i < len(row.frames):
                return row.name, row.frames[i]
            return None
        return None

    def tooltip_at(self, pos: QtCore.QPoint | QtCore.QPointF) -> str:
        """``"BG frame 12: done in 1 min 04 s on gpu2"`` over a cell; a layer summary over
        its name."""
        hit = self.frame_at(pos)
        if hit is not None:
            layer, frame = hit
            return self.frame_tooltip(layer, frame)
        y = float(pos.y())
        for row_index, row in enumerate(self._rows):
            cells = self._cells_rect(row_index)
            if cells.top() <= y < cells.bottom():
                parts = [f"{row.count(s)} {s}" for s in FRAME_STATES if row.count(s)]
                return f"{row.name}: {len(row.frames)} frames ({', '.join(parts) or 'none'})"
        return ""

    def frame_tooltip(self, layer: str, frame: int) -> str:
        """A frame's state with its render time, worker and failure reason when known."""
        state = self.state_of(layer, frame)
        text = f"{layer} frame {frame}: {state}"
        detail = self._details.get((layer, frame))
        if detail is None:
            return text
        if detail.seconds is not None and state in ("done", "failed"):
            text += f" in {duration_words(detail.seconds)}"
        if detail.worker:
            text += f" on {detail.worker}"
        if detail.reason and state == "failed":
            text += f"\n{detail.reason}"
        return text

    def event(self, event: QtCore.QEvent) -> bool:
        if event.type() == QtCore.QEvent.Type.ToolTip and isinstance(event, QtGui.QHelpEvent):
            text = self.tooltip_at(event.pos())
            if text:
                QtWidgets.QToolTip.showText(event.globalPos(), text, self)
            else:
                QtWidgets.QToolTip.hideText()
                event.ignore()
            return True
        return super().event(event)

    # ------------------------------------------------------------------ painting

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        painter = QtGui.QPainter(self)
        try:
            if not self._rows:
                painter.setPen(self.palette().color(QtGui.QPalette.ColorRole.PlaceholderText))
                painter.drawText(
                    self.rect(),
                    int(QtCore.Qt.AlignmentFlag.AlignCenter),
                    "No batch yet: the frames of each layer appear here",
                )
                return
            exposed = QtCore.QRectF(event.rect())
            for row_index, row in enumerate(self._rows):
                cells = self._cells_rect(row_index)
                band = QtCore.QRectF(0, cells.top() - 2, self.width(), self._metrics()[0] + 4)
                if band.intersects(exposed):
                    self._paint_row(painter, row, cells)
            self._paint_selection(painter)
        finally:
            painter.end()

    def _paint_row(self, painter: QtGui.QPainter, row: LayerRow, cells: QtCore.QRectF) -> None:
        metrics = self.fontMetrics()
        text_colour = self.palette().color(QtGui.QPalette.ColorRole.WindowText)
        painter.setPen(text_colour)
        _row_height, label_width, count_width = self._metrics()
        label = QtCore.QRectF(_MARGIN, cells.top(), label_width - 8, cells.height())
        name = metrics.elidedText(row.name, QtCore.Qt.TextElideMode.ElideRight, int(label.width()))
        align_left = QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter
        painter.drawText(label, int(align_left), name)
        finished = row.count("done") + row.count("skipped")
        count = QtCore.QRectF(cells.right() + 4, cells.top(), count_width, cells.height())
        painter.drawText(count, int(align_left), f"{finished}/{len(row.frames)}")

        n = len(row.frames)
        if not n:
            return
        width = self._cell_width(row, cells.width())
        cell_top = cells.top() + 2
        cell_height = cells.height() - 4
        brushes = self._brushes
        if width >= _MIN_CELL:
            left = cells.left()
            if width >= 4:  # cells with a 1 px gap between them, each with its shape
                for i, code in enumerate(row.codes):
                    rect = QtCore.QRectF(left + i * width, cell_top, width - 1, cell_height)
                    paint_cell(painter, rect, code, brushes[code])
            else:  # no gap: a run of one state is one rectangle
                start = 0
                for code, run in itertools.groupby(row.codes):
                    span = sum(1 for _ in run)
                    rect = QtCore.QRectF(left + start * width, cell_top, span * width, cell_height)
                    paint_cell(painter, rect, code, brushes[code])
                    start += span
            self._paint_numbers(painter, row, cells, width)
            return
        # more frames than pixels: each pixel column shows its most important frame
        columns = int(cells.width())
        codes = row.codes
        column_codes = [max(codes[a:b]) for a, b in self._column_bounds(n, columns)]
        x = cells.left()
        for code, run in itertools.groupby(column_codes):
            span = sum(1 for _ in run)
            paint_cell(painter, QtCore.QRectF(x, cell_top, span, cell_height), code, brushes[code])
            x += span
        self._paint_numbers(painter, row, cells, cells.width() / n)

    def _paint_numbers(
        self, painter: QtGui.QPainter, row: LayerRow, cells: QtCore.QRectF, width: float
    ) -> None:
        """Frame numbers under the cells, like Maya's time slider: every frame where they
        fit, else every 2nd, 5th, 10th, ... frame of the row (by position), plus the last."""
        metrics = self._number_font_metrics()
        n = len(row.frames)
        widest = max(
            metrics.horizontalAdvance(str(row.frames[0])),
            metrics.horizontalAdvance(str(row.frames[-1])),
        )
        room = widest + 6
        step = next((k for k in _NUMBER_STEPS if k * width >= room), n)
        painter.setFont(self._number_font())
        painter.setPen(self.palette().color(QtGui.QPalette.ColorRole.WindowText))
        top = cells.bottom()
        height = float(metrics.height())
        shown: list[int] = list(range(0, n, step))
        if shown[-1] != n - 1 and (n - 1 - shown[-1]) * width >= room:
            shown.append(n - 1)
        for i in shown:
            centre = cells.left() + (i + 0.5) * width
            box = QtCore.QRectF(centre - room / 2, top, room, height)
            painter.drawText(box, int(QtCore.Qt.AlignmentFlag.AlignCenter), str(row.frames[i]))
        painter.setFont(self.font())

    def _column_bounds(self, frames: int, columns: int) -> list[tuple[int, int]]:
        """For each pixel column, the slice of frames it shows (cached per size)."""
        key = (frames, columns)
        bounds = self._bounds_cache.get(key)
        if bounds is None:
            bounds = []
            for column in range(columns):
                first = column * frames // columns
                bounds.append((first, max(first + 1, (column + 1) * frames // columns)))
            if len(self._bounds_cache) > 16:
                self._bounds_cache.clear()
            self._bounds_cache[key] = bounds
        return bounds

    # ------------------------------------------------------------------ selection

    #: a cell was chosen by click or arrow key: layer, frame
    frame_selected = QtCore.Signal(str, int)
    #: a cell was double-clicked, or Enter pressed on the selected one: layer, frame
    frame_activated = QtCore.Signal(str, int)
    #: a context menu was asked for on a cell: layer, frame, global position
    frame_menu_requested = QtCore.Signal(str, int, QtCore.QPoint)
    #: the mouse moved onto another cell: layer, frame ("", -1 when it left the cells)
    frame_hovered = QtCore.Signal(str, int)

    _selection: tuple[str, int] | None = None
    _hovered: tuple[str, int] | None = None

    def selected_frame(self) -> tuple[str, int] | None:
        """The selected cell's layer and frame, or None."""
        selection = self._selection
        if selection is None:
            return None
        row = self._by_name.get(selection[0])
        return selection if row is not None and selection[1] in row.index else None

    def select_frame(self, layer: str, frame: int) -> bool:
        """Select a cell (as a click does) and emit ``frame_selected``; False if not shown."""
        row = self._by_name.get(layer)
        if row is None or frame not in row.index:
            return False
        self._selection = (layer, frame)
        self.update()
        # emit_signal, not .emit(): PySide6 6.12's emit takes a reference from True
        emit_signal(self, "frame_selected", layer, frame)
        return True

    def mousePressEvent(self, event: QtGui.QMouseEvent) -> None:
        hit = self.frame_at(_event_pos(event))
        if hit is not None and event.button() == QtCore.Qt.MouseButton.LeftButton:
            self.setFocus(QtCore.Qt.FocusReason.MouseFocusReason)
            self.select_frame(*hit)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QtGui.QMouseEvent) -> None:
        self._set_hovered(self.frame_at(_event_pos(event)))
        super().mouseMoveEvent(event)

    def leaveEvent(self, event: QtCore.QEvent) -> None:
        self._set_hovered(None)
        super().leaveEvent(event)

    def _set_hovered(self, hit: tuple[str, int] | None) -> None:
        """Emit ``frame_hovered`` when the cell under the mouse changes (not per move)."""
        if hit == self._hovered:
            return
        self._hovered = hit
        layer, frame = hit if hit is not None else ("", -1)
        # emit_signal, not .emit(): PySide6 6.12's emit takes a reference from True
        emit_signal(self, "frame_hovered", layer, frame)

    def mouseDoubleClickEvent(self, event: QtGui.QMouseEvent) -> None:
        hit = self.frame_at(_event_pos(event))
        if hit is not None and event.button() == QtCore.Qt.MouseButton.LeftButton:
            if hit != self.selected_frame():
                self.select_frame(*hit)
            # emit_signal, not .emit(): PySide6 6.12's emit takes a reference from True
            emit_signal(self, "frame_activated", *hit)
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def contextMenuEvent(self, event: QtGui.QContextMenuEvent) -> None:
        hit = self.frame_at(event.pos())
        if hit is None:
            event.ignore()
            return
        if hit != self.selected_frame():
            self.select_frame(*hit)
        # emit_signal, not .emit(): PySide6 6.12's emit takes a reference from True
        emit_signal(self, "frame_menu_requested", hit[0], hit[1], event.globalPos())
        event.accept()

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:
        key = event.key()
        keys = QtCore.Qt.Key
        if key in (keys.Key_Return, keys.Key_Enter):
            selection = self.selected_frame()
            if selection is not None:
                # emit_signal, not .emit(): PySide6 6.12's emit takes a reference from True
                emit_signal(self, "frame_activated", *selection)
                event.accept()
                return
        moves = {int(keys.Key_Left): (0, -1), int(keys.Key_Right): (0, 1),
                 int(keys.Key_Up): (-1, 0), int(keys.Key_Down): (1, 0),
                 int(keys.Key_Home): (0, -(1 << 30)), int(keys.Key_End): (0, 1 << 30)}  # fmt: skip
        move = moves.get(int(key))
        if move is not None and self._move_selection(*move):
            event.accept()
            return
        super().keyPressEvent(event)

    def _move_selection(self, rows: int, frames: int) -> bool:
        """Move the selection by rows and frames (clamped); the first cell if none."""
        shown = [row for row in self._rows if row.frames]
        if not shown:
            return False
        selection = self.selected_frame()
        if selection is None:
            return self.select_frame(shown[0].name, shown[0].frames[0])
        current = self._by_name[selection[0]]
        position = current.index[selection[1]]
        row_index = next(i for i, row in enumerate(shown) if row is current)
        row = shown[max(0, min(len(shown) - 1, row_index + rows))]
        position = max(0, min(len(row.frames) - 1, position + frames))
        target = (row.name, row.frames[position])
        if target == selection:
            return True  # at an edge: the key is still the strip's
        return self.select_frame(*target)

    def focusInEvent(self, event: QtGui.QFocusEvent) -> None:
        super().focusInEvent(event)
        self.update()

    def focusOutEvent(self, event: QtGui.QFocusEvent) -> None:
        super().focusOutEvent(event)
        self.update()

    def _paint_selection(self, painter: QtGui.QPainter) -> None:
        """The selected cell's ring (2 px, the palette's Highlight) and, with keyboard
        focus, a dotted focus rectangle."""
        palette = self.palette()
        selection = self.selected_frame()
        rect = self.cell_rect(*selection) if selection is not None else QtCore.QRectF()
        painter.save()
        try:
            painter.setBrush(QtCore.Qt.BrushStyle.NoBrush)
            if not rect.isEmpty():
                if rect.width() < 4:  # a 1 px column: widen the ring so it shows
                    rect.adjust(-1.5, 0, 1.5, 0)
                pen = QtGui.QPen(palette.color(QtGui.QPalette.ColorRole.Highlight), 2)
                painter.setPen(pen)
                painter.drawRect(rect.adjusted(-1, 1, 0, -1))
            if self.hasFocus():
                pen = QtGui.QPen(palette.color(QtGui.QPalette.ColorRole.WindowText), 1)
                pen.setStyle(QtCore.Qt.PenStyle.DotLine)
                painter.setPen(pen)
                ring = rect.adjusted(-3, -1, 2, 1) if not rect.isEmpty() else None
                painter.drawRect(
                    ring
                    if ring is not None
                    else QtCore.QRectF(self.rect()).adjusted(0.5, 0.5, -1.5, -1.5)
                )
        finally:
            painter.restore()


def _event_pos(event: QtGui.QMouseEvent) -> QtCore.QPointF:
    """The event's position (``position()`` in Qt 6, ``localPos()`` in Qt 5)."""
    position = getattr(event, "position", None)
    return QtCore.QPointF(position() if position is not None else event.localPos())


class StripLegend(QtWidgets.QWidget):
    """The strip's key: each state's cell, drawn as the strip draws it, and its name."""

    _STATES = ("done", "running", "pending", "failed", "skipped", "cancelled")

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._brushes = {s: QtGui.QColor(STATE_COLOURS[s]) for s in self._STATES}
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Maximum, QtWidgets.QSizePolicy.Policy.Fixed)
        self.setToolTip(
            "Frame states: the strip draws each with its own shape, not only its colour"
        )

    def _cell(self) -> int:
        return max(10, self.fontMetrics().height() - 2)

    def sizeHint(self) -> QtCore.QSize:
        metrics = self.fontMetrics()
        cell = self._cell()
        width = sum(cell + 4 + metrics.horizontalAdvance(s) + 10 for s in self._STATES)
        return QtCore.QSize(width, metrics.height() + 4)

    def minimumSizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(0, self.sizeHint().height())

    def paintEvent(self, _event: QtGui.QPaintEvent) -> None:
        painter = QtGui.QPainter(self)
        try:
            metrics = self.fontMetrics()
            cell = self._cell()
            x = 0.0
            top = (self.height() - cell) / 2
            text = self.palette().color(QtGui.QPalette.ColorRole.WindowText)
            for state in self._STATES:
                width = cell + 4 + metrics.horizontalAdvance(state)
                if x + width > self.width():
                    break  # a narrow dock: the key shows what fits
                rect = QtCore.QRectF(x, top + 2, cell, cell - 4)
                paint_cell(painter, rect, _CODE[state], self._brushes[state])
                painter.setPen(text)
                painter.drawText(
                    QtCore.QRectF(x + cell + 4, 0, width, self.height()),
                    int(QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter),
                    state,
                )
                x += width + 10
        finally:
            painter.end()


#: where a failed frame's entry keeps its (layer, frame, worker)
_FAILURE_ROLE = QtCore.Qt.ItemDataRole.UserRole + 1


class FailedFramesList(QtWidgets.QListWidget):
    """The frames that failed for good, live: each with its worker and reason.
    Activating one (double-click, Enter) emits ``failure_activated(layer, frame, worker)``:
    the progress widget shows that worker's log lines at the failure."""

    failure_activated = QtCore.Signal(str, int, str)
    #: entries listed at most; the rest are counted (a batch that failed as a whole fails
    #: every frame it did not render with one reason: the message area says it once)
    MAX_ROWS = 500

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("LRCFailedFrames")
        self._rows: dict[tuple[str, int], QtWidgets.QListWidgetItem] = {}
        #: failed frames not listed (past MAX_ROWS)
        self.unlisted = 0
        self.setUniformItemSizes(True)
        self.setAlternatingRowColors(True)
        self.setToolTip("Double-click a failed frame to see its worker's log lines at the failure")
        self.itemActivated.connect(self._on_activated)

    def add_failure(self, layer: str, frame: int, worker: str, reason: str) -> None:
        """List a frame that failed for good (again: its entry is updated)."""
        first_line = (reason or "no reason given").strip().splitlines()[0]
        who = f" · {worker}" if worker else ""
        text = f"{layer} frame {frame}{who}: {first_line}"
        item = self._rows.get((layer, frame))
        if item is None and len(self._rows) >= self.MAX_ROWS:
            self.unlisted += 1
            return
        if item is None:
            item = QtWidgets.QListWidgetItem(text)
            self._rows[(layer, frame)] = item
            self.addItem(item)
        else:
            item.setText(text)
        item.setData(_FAILURE_ROLE, (layer, frame, worker, reason))
        item.setToolTip(reason or text)

    def remove_failure(self, layer: str, frame: int) -> None:
        """A frame rendered after all (a resume): off the list."""
        item = self._rows.pop((layer, frame), None)
        if item is not None:
            self.takeItem(self.row(item))

    def has_failure(self, layer: str, frame: int) -> bool:
        return (layer, frame) in self._rows

    def failures(self) -> list[tuple[str, int, str, str]]:
        """``(layer, frame, worker, reason)`` of every listed frame, in order."""
        return [self.item(i).data(_FAILURE_ROLE) for i in range(self.count())]

    def clear_failures(self) -> None:
        self._rows.clear()
        self.unlisted = 0
        self.clear()

    def _on_activated(self, item: QtWidgets.QListWidgetItem) -> None:
        layer, frame, worker, _reason = item.data(_FAILURE_ROLE)
        emit_signal(self, "failure_activated", layer, frame, worker)

    def sizeHint(self) -> QtCore.QSize:
        rows = max(1, min(4, self.count()))
        height = rows * (self.fontMetrics().height() + 4) + 2 * self.frameWidth() + 2
        return QtCore.QSize(300, height)


class RenderProgressWidget(QtWidgets.QWidget):
    """The live view of a batch: a summary line, the frame strip and the logs.

    Args:
        max_lines: Log lines kept in memory (all workers together); older lines stay only
            in the log files on disk.
        opener: Opens a file URL (default ``QDesktopServices.openUrl``); for tests.
        image_viewer: the ``image_viewer`` setting: what opens a frame (None: the system).
    """

    def __init__(
        self,
        max_lines: int = DEFAULT_MAX_LINES,
        *,
        opener: UrlOpener | None = None,
        image_viewer: str | None = None,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._flush_timer = flush_timer_for(self, self.flush)
        # the thumbnail of the latest finished frame, or of the strip cell chosen
        self.preview = FramePreview(image_viewer=image_viewer, opener=opener)
        self.preview.setObjectName("LRCFramePreview")

        self.summary_label = QtWidgets.QLabel()
        self.summary_label.setSizePolicy(
            QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred
        )
        self.legend = StripLegend()
        self.frame_strip = FrameStrip(flush_timer=self._flush_timer)
        self.log_view = LogView(max_lines, flush_timer=self._flush_timer, opener=opener)
        self.failed_list = FailedFramesList()
        self.failed_list.failure_activated.connect(self.show_failure_log)
        self._failed_box = QtWidgets.QWidget()
        failed_layout = QtWidgets.QVBoxLayout(self._failed_box)
        failed_layout.setContentsMargins(0, 0, 0, 0)
        failed_layout.setSpacing(2)
        self.failed_label = QtWidgets.QLabel()
        failed_layout.addWidget(self.failed_label)
        failed_layout.addWidget(self.failed_list, 1)
        self._failed_box.hide()

        strip_area = QtWidgets.QScrollArea()
        strip_area.setWidgetResizable(True)
        strip_area.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        strip_area.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        strip_area.setWidget(self.frame_strip)
        self._strip_area = strip_area
        self.preview.connect_strip(self.frame_strip)
        # the preview sits beside the log, the tallest part: the strip keeps its own height
        bottom = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        bottom.setChildrenCollapsible(True)  # a narrow dock may fold the preview away
        bottom.addWidget(self.log_view)
        bottom.addWidget(self.preview)
        bottom.setStretchFactor(0, 1)
        bottom.setStretchFactor(1, 0)
        bottom.setCollapsible(0, False)
        self._bottom_splitter = bottom

        splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        splitter.addWidget(strip_area)
        splitter.addWidget(self._failed_box)
        splitter.addWidget(bottom)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 0)
        splitter.setStretchFactor(2, 1)
        splitter.setChildrenCollapsible(False)

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.legend)  # its own line: the counts never lose room to it
        layout.addWidget(splitter, 1)
        self._update_summary()

    # ------------------------------------------------------------------ slots

    @QtCore.Slot(float, str, str, str)
    def append_log(self, timestamp: float, level: str, worker: str, text: str) -> None:
        """Buffer a log line; it is shown at the next flush (about 100 ms)."""
        self.log_view.append_log(timestamp, level, worker, text)

    def set_plan(self, plan: BatchPlan) -> None:
        """Build the strip from a plan: one row per layer, every frame pending.

        The plan's workers are offered in the log's worker selector, and its ``log_dir``
        (None until the batch has an id) is where "Log file" looks.
        """
        strip = self.frame_strip
        strip.set_layers(plan.whole_batch().items())  # a resume: the whole batch
        for state, before in (("done", plan.done_before), ("skipped", plan.skipped_before)):
            for layer, frames in before.items():
                for frame in frames:
                    strip.set_frame_state(layer, frame, state)
        self.log_view.add_workers(worker.id for worker in plan.workers)
        self.set_log_dir(plan.log_dir or "")
        self._strip_area.setMinimumHeight(
            min(self.frame_strip.sizeHint().height(), 8 * self.fontMetrics().height())
        )
        self.preview.set_output_dir(plan.output_dir or None)
        self._update_summary()

    def show_outcome(self, summary: BatchSummary) -> None:
        """Mark the frames the engine ended without a frame signal: those the summary lists
        as failed, the unfinished ones of a stopped batch (cancelled), and those of a batch
        that failed as a whole (every worker slot failed)."""
        strip = self.frame_strip
        for failed in summary.failed_frames:
            strip.set_frame_state(failed.layer, failed.frame, "failed")
            if not self.failed_list.has_failure(failed.layer, failed.frame):
                detail = strip.frame_detail(failed.layer, failed.frame)
                worker = (detail.worker or "") if detail is not None else ""
                self.add_failure(failed.layer, failed.frame, worker, failed.reason)
        if summary.state is BatchState.CANCELLED:
            strip.mark_unfinished("cancelled")
        elif summary.state is BatchState.FAILED and summary.error:
            strip.mark_unfinished("failed")
        self.flush()

    @QtCore.Slot(str, int, str)
    def set_frame_state(self, layer: str, frame: int, state: str) -> None:
        """Colour a frame's cell: pending, running, done, failed, skipped or cancelled."""
        self.frame_strip.set_frame_state(layer, frame, state)

    def add_failure(self, layer: str, frame: int, worker: str, reason: str) -> None:
        """A frame failed for good: list it with its reason, tooltip included."""
        self.failed_list.add_failure(layer, frame, worker, reason)
        self.frame_strip.set_frame_detail(layer, frame, worker=worker or None, reason=reason)
        self._update_failed_label()

    def remove_failure(self, layer: str, frame: int) -> None:
        self.failed_list.remove_failure(layer, frame)
        self._update_failed_label()

    def _update_failed_label(self) -> None:
        listed = self.failed_list.count()
        count = listed + self.failed_list.unlisted
        self._failed_box.setVisible(count > 0)
        self.failed_list.setFixedHeight(self.failed_list.sizeHint().height())
        more = f", {self.failed_list.unlisted} not listed" if self.failed_list.unlisted else ""
        self.failed_label.setText(
            f"Failed frames ({count}{more}): double-click one to see its log lines" if count else ""
        )

    def show_failure_log(self, _layer: str, _frame: int, worker: str) -> None:
        """The log lines of a failed frame: its worker's lines, searched for the failure."""
        reason = ""
        for layer, frame, who, text in self.failed_list.failures():
            if (layer, frame) == (_layer, _frame):
                reason, worker = text, who or worker
        if worker:
            self.log_view.set_worker_filter(worker)
        needle = (reason or "").strip().splitlines()[0][:60] if reason.strip() else ""
        self.log_view.set_search(needle or f"frame {_frame}")

    def shutdown(self) -> None:
        """Drop queued thumbnail decodes and wait for the running one (window closing)."""
        self.preview.shutdown()

    @QtCore.Slot(str)
    def set_log_dir(self, path: str) -> None:
        """Where the full logs are: ``<path>/<worker>.log``."""
        self.log_view.set_log_dir(path or None)

    @QtCore.Slot()
    def clear(self) -> None:
        """Empty the logs and put every frame back to pending (the rows stay)."""
        self.log_view.clear()
        self.frame_strip.reset_states()
        self.preview.clear()
        self.failed_list.clear_failures()
        self._update_failed_label()
        self._update_summary()

    def flush(self) -> None:
        """Show what arrived since the last flush: logs in one batch, one strip repaint."""
        self.log_view.flush()
        self.frame_strip.flush()
        self._update_summary()

    # ------------------------------------------------------------------ the API

    def connect_api(self, api: BatchSignals) -> None:
        """Listen to a ``BatchRenderAPI`` (or anything with the same signals)."""
        api.log_message.connect(self.log_view.append_log)  # the hot path: one call per line
        api.batch_started.connect(self._on_batch_started)
        api.frame_started.connect(self._on_frame_started)
        api.frame_finished.connect(self._on_frame_finished)
        api.frame_failed.connect(self._on_frame_failed)
        api.batch_finished.connect(self._on_batch_finished)

    @QtCore.Slot(str, object)
    def _on_batch_started(self, _batch_id: str, plan: object) -> None:
        assert isinstance(plan, BatchPlan)
        self.clear()
        self.set_plan(plan)

    @QtCore.Slot(str, str, int)
    def _on_frame_started(self, _worker: str, layer: str, frame: int) -> None:
        self.frame_strip.set_frame_state(layer, frame, "running")

    @QtCore.Slot(str, str, int, object)
    def _on_frame_finished(self, _worker: str, layer: str, frame: int, outputs: Any) -> None:
        self.frame_strip.set_frame_state(layer, frame, "done")
        if isinstance(outputs, (list, tuple)):
            self.preview.frame_done(layer, frame, [str(path) for path in outputs])

    @QtCore.Slot(str, str, int, str, bool)
    def _on_frame_failed(
        self, worker: str, layer: str, frame: int, reason: str, retry: bool
    ) -> None:
        self.frame_strip.set_frame_state(layer, frame, "pending" if retry else "failed")
        if not retry:
            self.add_failure(layer, frame, worker, reason)

    @QtCore.Slot(object)
    def _on_batch_finished(self, summary: object) -> None:
        assert isinstance(summary, BatchSummary)
        self.show_outcome(summary)

    # ------------------------------------------------------------------ summary

    def _update_summary(self) -> None:
        totals = self.frame_strip.totals()
        if not totals["total"]:
            text = "No batch yet"
        else:
            finished = totals["done"] + totals["skipped"]
            parts = [f"{finished:,} / {totals['total']:,} frames finished"]
            for state in ("running", "failed", "cancelled"):
                if totals[state]:
                    parts.append(f"{totals[state]:,} {state}")
            text = " \u00b7 ".join(parts)
        if self.summary_label.text() != text:
            self.summary_label.setText(text)

    # ------------------------------------------------------------------ reading

    @property
    def log_dir(self) -> Path | None:
        return self.log_view.log_dir

    def set_opener(self, opener: Callable[[QtCore.QUrl], Any]) -> None:
        """Replace how files are opened (tests, or a host with its own file browser)."""
        self.log_view.open_url = opener
