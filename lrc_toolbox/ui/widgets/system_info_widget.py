"""The system panel: each GPU with its memory, load, temperature and role, plus CPU and RAM.

Live figures are refreshed about once a second. The refresh (``SystemDetector.refresh``:
psutil and NVML calls) runs in a thread pool, never in the UI thread, so a slow driver
cannot freeze Maya; a tick is skipped while the previous refresh is still running.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Iterable, Mapping

from Qt import QtCore, QtGui, QtWidgets

from lrc_toolbox.core.qt_compat import emit_signal
from lrc_toolbox.records.models import GPUInfo, SingleGpuPolicy, SystemInfo
from lrc_toolbox.ui import style

__all__ = ["SystemInfoWidget", "gpu_role"]

log = logging.getLogger(__name__)

RefreshFunction = Callable[[SystemInfo], SystemInfo]

ROLE_TEXT = {
    "maya": "kept for Maya",
    "rendering": "rendering",
    "idle": "idle",
    "shared": "shared with Maya",
    "unusable": "unusable",
    "disabled": "disabled",
    "released": "given back to Maya",
}
#: the widest a "disabled: <reason>" chip is drawn (the whole reason is in its tooltip)
DISABLED_CHIP_WIDTH = 170


def gpu_role(
    info: SystemInfo,
    gpu: GPUInfo,
    rendering: Iterable[int] = (),
    disabled: Mapping[int, str] | None = None,
    released: Iterable[int] = (),
) -> tuple[str, str]:
    """What a GPU is used for, as ``(key, text for people)``.

    Keys: ``maya`` (kept for the artist's Maya), ``rendering`` (a worker renders on it),
    ``idle`` (free for rendering, no worker on it), ``shared`` (the only GPU, used by Maya
    and by workers), ``unusable`` (a query error; the text says which), ``disabled`` (the
    batch took it out: ``disabled`` maps GPU index -> reason; the text is
    ``disabled: <reason>``), ``released`` (the artist gave it back to Maya mid-batch).
    """
    if gpu.error is not None:
        return "unusable", f"unusable: {gpu.error}"
    if disabled and gpu.index in disabled:
        return "disabled", f"disabled: {disabled[gpu.index] or 'no reason given'}"
    if gpu.index in set(released):
        return "released", ROLE_TEXT["released"]
    busy = gpu.index in set(rendering)
    if len(info.gpus) == 1:
        if info.single_gpu_policy is SingleGpuPolicy.SHARE:
            return "shared", "shared with Maya" + (" · rendering" if busy else "")
        return "maya", ROLE_TEXT["maya"]
    if gpu.index in info.reserved_gpus:
        return "maya", ROLE_TEXT["maya"]
    if busy:
        return "rendering", ROLE_TEXT["rendering"]
    return "idle", ROLE_TEXT["idle"]


def _gb(mb: float) -> str:
    return f"{mb / 1024:.1f}"


class _RefreshSignals(QtCore.QObject):
    """Carries a refresh result from the pool thread to the UI thread (queued)."""

    done = QtCore.Signal(object, int)  # SystemInfo, generation
    failed = QtCore.Signal(str, int)


class _RefreshTask(QtCore.QRunnable):
    def __init__(
        self, function: RefreshFunction, info: SystemInfo, signals: _RefreshSignals, generation: int
    ) -> None:
        super().__init__()
        self.setAutoDelete(False)  # the widget keeps the reference until the result arrives
        self.function = function
        self.info = info
        self.signals = signals
        self.generation = generation

    def run(self) -> None:
        try:
            fresh = self.function(self.info)
        except Exception as exc:  # a refresh must never take the UI down
            # emit_signal, not .emit(): PySide6 6.12's emit takes a reference from True
            emit_signal(self.signals, "failed", f"{type(exc).__name__}: {exc}", self.generation)
            return
        # emit_signal, not .emit(): PySide6 6.12's emit takes a reference from True
        emit_signal(self.signals, "done", fresh, self.generation)


class _GpuRow:
    """The widgets of one GPU line in the grid."""

    def __init__(self, parent: QtWidgets.QWidget) -> None:
        self.name = QtWidgets.QLabel(parent)
        self.memory = QtWidgets.QProgressBar(parent)
        self.memory.setTextVisible(True)
        self.memory.setMinimumWidth(120)
        self.memory.setMaximumHeight(18)
        self.load = QtWidgets.QLabel(parent)
        self.temperature = QtWidgets.QLabel(parent)
        for label in (self.load, self.temperature):
            label.setAlignment(
                QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter
            )
        self.role = QtWidgets.QLabel(parent)
        self.role.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.role.setMinimumWidth(118)
        self.role_key = ""

    def widgets(self) -> list[QtWidgets.QWidget]:
        return [self.name, self.memory, self.load, self.temperature, self.role]


class SystemInfoWidget(QtWidgets.QWidget):
    """GPUs, CPU and RAM of this machine and what each GPU does now.

    Args:
        refresh_function: ``SystemInfo -> SystemInfo`` live update, run off the UI thread
            (the dialog passes ``api.detector.refresh``); ``None`` disables auto refresh.
        interval_ms: the auto refresh period.
    """

    refreshed = QtCore.Signal(object)  # the new SystemInfo

    def __init__(
        self,
        refresh_function: RefreshFunction | None = None,
        parent: QtWidgets.QWidget | None = None,
        *,
        interval_ms: int = 1000,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("LRCSystemInfoWidget")
        self._refresh_function = refresh_function
        self._info: SystemInfo | None = None
        self._rendering: set[int] = set()
        self._disabled: dict[int, str] = {}
        self._released: frozenset[int] = frozenset()
        self._rows: list[_GpuRow] = []
        self._task: _RefreshTask | None = None
        self._generation = 0
        self._pool = QtCore.QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._signals = _RefreshSignals(self)
        self._signals.done.connect(self._on_refreshed)
        self._signals.failed.connect(self._on_refresh_failed)
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.refresh_now)
        self._build()

    # ------------------------------------------------------------------ layout

    def _build(self) -> None:
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self._grid = QtWidgets.QGridLayout()
        self._grid.setHorizontalSpacing(10)
        self._grid.setVerticalSpacing(3)
        self._grid.setColumnStretch(1, 1)
        for column, text in enumerate(("Device", "Memory", "Load", "Temp", "Role")):
            header = QtWidgets.QLabel(text, self)
            style.set_status_colour(header, "muted")
            if column in (2, 3):
                header.setAlignment(
                    QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter
                )
            elif column == 4:
                header.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
            self._grid.addWidget(header, 0, column)
        layout.addLayout(self._grid)

        self._cpu_name = QtWidgets.QLabel(self)
        self._cpu_load = QtWidgets.QProgressBar(self)
        self._cpu_load.setRange(0, 100)
        self._cpu_load.setMaximumHeight(18)
        self._cpu_role = QtWidgets.QLabel(self)
        self._cpu_role.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self._ram_name = QtWidgets.QLabel("RAM", self)
        self._ram_bar = QtWidgets.QProgressBar(self)
        self._ram_bar.setMaximumHeight(18)

        self._gpu_error = QtWidgets.QLabel(self)
        self._gpu_error.setWordWrap(True)
        self._gpu_error.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        style.set_status_colour(self._gpu_error, "warning")
        self._gpu_error.hide()
        layout.addWidget(self._gpu_error)
        self._notes = QtWidgets.QLabel(self)
        self._notes.setWordWrap(True)
        self._notes.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self._notes.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        style.set_status_colour(self._notes, "muted")
        layout.addWidget(self._notes)
        self._placeholder: QtWidgets.QLabel | None = QtWidgets.QLabel(
            "Detecting CPU, RAM and GPUs…", self
        )
        self._grid.addWidget(self._placeholder, 1, 0, 1, 5)

    def _layout_rows(self, count: int) -> None:
        """(Re)build the grid when the number of GPUs changes; otherwise widgets are reused."""
        if len(self._rows) == count and self._placeholder is None:
            return
        if self._placeholder is not None:
            self._grid.removeWidget(self._placeholder)
            self._placeholder.hide()
            self._placeholder.deleteLater()
            self._placeholder = None
        for row in self._rows:
            for widget in row.widgets():
                self._grid.removeWidget(widget)
                widget.hide()
                widget.deleteLater()
        for widget in (self._cpu_name, self._cpu_load, self._cpu_role):
            self._grid.removeWidget(widget)
        for widget in (self._ram_name, self._ram_bar):
            self._grid.removeWidget(widget)
        self._rows = []
        for index in range(count):
            row = _GpuRow(self)
            for column, widget in enumerate(row.widgets()):
                self._grid.addWidget(widget, index + 1, column)
            self._rows.append(row)
        cpu_line = count + 1
        self._grid.addWidget(self._cpu_name, cpu_line, 0)
        self._grid.addWidget(self._cpu_load, cpu_line, 1, 1, 3)
        self._grid.addWidget(self._cpu_role, cpu_line, 4)
        self._grid.addWidget(self._ram_name, cpu_line + 1, 0)
        self._grid.addWidget(self._ram_bar, cpu_line + 1, 1, 1, 3)

    # ------------------------------------------------------------------ data

    def system_info(self) -> SystemInfo | None:
        return self._info

    def set_system_info(self, info: SystemInfo) -> None:
        """Show ``info`` (from ``detect()`` or a refresh)."""
        self._info = info
        self._layout_rows(len(info.gpus))
        for row, gpu in zip(self._rows, info.gpus, strict=True):
            self._show_gpu(row, info, gpu)
        self._show_cpu(info)
        if info.gpu_error:
            self._gpu_error.setText(f"GPUs: {info.gpu_error}")
        self._gpu_error.setVisible(bool(info.gpu_error))
        notes = "<br>".join(f"• {html.escape(note)}" for note in info.notes)
        self._notes.setText(notes)
        self._notes.setVisible(bool(notes))

    def set_rendering_gpus(self, indices: Iterable[int]) -> None:
        """The GPUs a worker of the running batch renders on (their role becomes
        "rendering"); an empty list when no batch runs."""
        rendering = set(indices)
        if rendering == self._rendering:
            return
        self._rendering = rendering
        if self._info is not None:
            for row, gpu in zip(self._rows, self._info.gpus, strict=True):
                self._show_role(row, self._info, gpu)

    def set_disabled_gpus(self, reasons: Mapping[int, str]) -> None:
        """GPUs the batch took out (GPU index -> reason): their row says
        ``disabled: <reason>`` instead of "idle"; an empty mapping clears them."""
        disabled = {int(index): str(reason) for index, reason in reasons.items()}
        if disabled == self._disabled:
            return
        self._disabled = disabled
        if self._info is not None:
            for row, gpu in zip(self._rows, self._info.gpus, strict=True):
                self._show_role(row, self._info, gpu)

    def set_released_gpus(self, indices: Iterable[int]) -> None:
        """GPUs the artist gave back to Maya mid-batch: their row says so."""
        released = frozenset(int(i) for i in indices)
        if released == self._released:
            return
        self._released = released
        if self._info is not None:
            for row, gpu in zip(self._rows, self._info.gpus, strict=True):
                self._show_role(row, self._info, gpu)

    def gpu_roles(self) -> dict[int, str]:
        """GPU index -> the role text (what an artist reads; the chip may elide it)."""
        if self._info is None:
            return {}
        return {
            g.index: gpu_role(self._info, g, self._rendering, self._disabled, self._released)[1]
            for g in self._info.gpus
        }

    def role_label(self, index: int) -> QtWidgets.QLabel | None:
        """The role chip of GPU ``index`` (tests and screenshots)."""
        if self._info is None:
            return None
        for row, gpu in zip(self._rows, self._info.gpus, strict=True):
            if gpu.index == index:
                return row.role
        return None

    def _show_gpu(self, row: _GpuRow, info: SystemInfo, gpu: GPUInfo) -> None:
        row.name.setText(f"<b>GPU {gpu.index}</b>  {html.escape(gpu.name)}")
        row.name.setToolTip(
            f"{gpu.name}\nUUID {gpu.uuid}\nPCI {gpu.pci_bus_id or 'unknown'}"
            + ("\ndrives the display" if gpu.display_attached else "")
        )
        total = max(1, gpu.memory_total_mb)
        row.memory.setRange(0, total)
        row.memory.setValue(min(total, max(0, gpu.memory_used_mb)))
        row.memory.setFormat(f"{_gb(gpu.memory_used_mb)} / {_gb(gpu.memory_total_mb)} GB")
        processes = ", ".join(
            f"{p.name or 'pid'} {p.pid}"
            + (f" ({p.used_memory_mb} MB)" if p.used_memory_mb is not None else "")
            for p in gpu.processes
        )
        row.memory.setToolTip(
            f"{gpu.memory_used_mb:,} MB used, {gpu.memory_free_mb:,} MB free"
            + (f"\nprocesses: {processes}" if processes else "")
        )
        util = gpu.utilization_percent
        row.load.setText("n/a" if util is None else f"{util} %")
        temp = gpu.temperature_c
        row.temperature.setText("n/a" if temp is None else f"{temp} °C")
        if temp is not None:
            style.set_status_colour(row.temperature, "error" if temp >= 85 else None)
        self._show_role(row, info, gpu)

    def _show_role(self, row: _GpuRow, info: SystemInfo, gpu: GPUInfo) -> None:
        key, text = gpu_role(info, gpu, self._rendering, self._disabled, self._released)
        short = ROLE_TEXT["unusable"] if key == "unusable" else text
        if key == "disabled":
            short = row.role.fontMetrics().elidedText(
                text, QtCore.Qt.TextElideMode.ElideRight, DISABLED_CHIP_WIDTH
            )
        row.role.setText(short)
        row.role.setMinimumWidth(max(118, row.role.fontMetrics().horizontalAdvance(short) + 16))
        tooltip = {
            "maya": "Kept free for your interactive Maya (its viewport); workers do not use it.",
            "rendering": "A background worker renders on this GPU.",
            "idle": "Free for rendering; no worker uses it right now.",
            "shared": "The only GPU: Maya's viewport and the workers share it.",
            "unusable": text,
            "disabled": f"GPU {gpu.index} {text}\nThe batch took it out; its frames went to "
            "the other workers. It is not ticked for the next batch.",
            "released": f"GPU {gpu.index} was given back to Maya during this batch; take it "
            "back from the worker's menu in Active renders.",
        }[key]
        row.role.setToolTip(tooltip)
        if key != row.role_key:
            row.role_key = key
            row.role.setStyleSheet(
                f"QLabel {{ background-color: {style.ROLE_COLOURS[key]}; color: {style.CHIP_TEXT};"
                " border-radius: 3px; padding: 1px 6px; }"
            )

    def _show_cpu(self, info: SystemInfo) -> None:
        cpu = info.cpu
        cores = (
            f"{cpu.physical_cores} cores / {cpu.logical_cores} threads"
            if cpu.physical_cores != cpu.logical_cores
            else f"{cpu.logical_cores} cores"
        )
        self._cpu_name.setText(f"<b>CPU</b>  {cores}")
        self._cpu_name.setToolTip(cpu.name or "unknown CPU")
        load = cpu.load_percent
        self._cpu_load.setValue(0 if load is None else round(load))
        self._cpu_load.setFormat("load unknown" if load is None else f"load {load:.0f} %")
        self._cpu_load.setToolTip(cpu.name or "")
        self._cpu_role.setText(f"{info.reserved_cpu_cores} kept for Maya")
        self._cpu_role.setToolTip(
            f"{info.reserved_cpu_cores} logical cores stay free for Maya; CPU workers use "
            f"{info.render_cpu_cores}."
        )
        total = max(1, info.ram_total_mb)
        used = max(0, info.ram_total_mb - info.ram_available_mb)
        self._ram_bar.setRange(0, total)
        self._ram_bar.setValue(min(total, used))
        self._ram_bar.setFormat(f"{_gb(used)} / {_gb(info.ram_total_mb)} GB used")

    # ------------------------------------------------------------------ refresh

    def start_auto_refresh(self) -> None:
        if self._refresh_function is not None and not self._timer.isActive():
            self._timer.start()

    def stop_auto_refresh(self) -> None:
        self._timer.stop()

    @property
    def refreshing(self) -> bool:
        """True while a refresh runs in the pool thread."""
        return self._task is not None

    def refresh_now(self) -> bool:
        """Start one refresh in the pool thread; False (tick skipped) if one still runs."""
        if self._refresh_function is None or self._info is None or self._task is not None:
            return False
        self._generation += 1
        self._task = _RefreshTask(
            self._refresh_function, self._info, self._signals, self._generation
        )
        self._pool.start(self._task)
        return True

    def _on_refreshed(self, info: object, generation: int) -> None:
        assert isinstance(info, SystemInfo)
        self._task = None
        if generation != self._generation:
            return
        self.set_system_info(info)
        # emit_signal, not .emit(): PySide6 6.12's emit takes a reference from True
        emit_signal(self, "refreshed", info)

    def _on_refresh_failed(self, reason: str, generation: int) -> None:
        self._task = None
        log.warning("system refresh failed: %s", reason)

    def shutdown(self, wait_ms: int = 3000) -> None:
        """Stop refreshing and wait for a refresh still running (before the widget goes)."""
        self._timer.stop()
        self._pool.waitForDone(wait_ms)

    def hideEvent(self, event: QtGui.QHideEvent) -> None:
        super().hideEvent(event)
        self._timer.stop()

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        self.start_auto_refresh()
