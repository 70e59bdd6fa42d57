""" "Send to farm": the dashboard's batch to AWS Deadline Cloud, Thinkbox Deadline 10, or
farm files only, with the checks and messages of ``lrc-batch-render submit``/``export``.

The dialog builds a :class:`~lrc_toolbox.farm.submit.FarmRequest` and hands it to
:func:`~lrc_toolbox.farm.submit.send_to_farm` (the CLI's path) in a worker thread: planning
reads the scene, and a submission waits on the farm, so Maya must not freeze meanwhile. What
can be checked without the scene (:func:`~lrc_toolbox.farm.submit.check_request`) is checked
as the user types: the button is disabled and the reason shown, like the dashboard's Start.

The options are forms built from the option records themselves
(:class:`~lrc_toolbox.farm.openjd.OpenJDOptions`,
:class:`~lrc_toolbox.farm.deadline10.Deadline10Options`; :class:`OptionsForm`): a field added
to a record shows up here with a label made from its name; :data:`FIELD_SPECS` gives it a
better label, a tooltip or a range.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import typing
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from Qt import QtCore, QtGui, QtWidgets

from lrc_toolbox.config.batch_render_defaults import Settings
from lrc_toolbox.core.qt_compat import emit_signal
from lrc_toolbox.farm.deadline10 import Deadline10Options
from lrc_toolbox.farm.openjd import OpenJDOptions
from lrc_toolbox.farm.submit import (
    FarmRequest,
    check_request,
    deadline_cloud_defaults,
    farm_failure,
    send_to_farm,
)
from lrc_toolbox.records.batch import ExitCode
from lrc_toolbox.records.farm import ExportFormat, FarmResult, FarmTarget
from lrc_toolbox.records.frame_parser import FrameRangeError, parse_frames, preview_frames
from lrc_toolbox.records.models import RenderConfig
from lrc_toolbox.ui import style

__all__ = ["FIELD_SPECS", "FarmDialog", "FieldSpec", "OptionsForm"]

log = logging.getLogger(__name__)

#: the targets in the order the dialog offers them, with their labels
TARGET_LABELS = {
    FarmTarget.DEADLINE_CLOUD: "AWS Deadline Cloud",
    FarmTarget.DEADLINE10: "Thinkbox Deadline 10",
    FarmTarget.EXPORT: "Export only (write the files)",
}
FORMAT_LABELS = {
    ExportFormat.OPENJD: "Open Job Description bundle (Deadline Cloud)",
    ExportFormat.DEADLINE10: "Deadline 10 job and plugin files",
}


class FieldSpec(NamedTuple):
    """How one option field is shown: its label, tooltip, and a spin box's range."""

    label: str
    tooltip: str = ""
    minimum: int = 0
    maximum: int = 1_000_000


#: labels, tooltips and ranges of the option records' fields; a field not named here gets a
#: label made from its name (``conda_packages`` -> "Conda packages") and the default range
FIELD_SPECS: dict[str, FieldSpec] = {
    "job_name": FieldSpec("Job name", "Deadline Cloud job name (default: '<scene> - LRC …')"),
    "batch_name": FieldSpec("Batch name", "Deadline 10 batch name (default: scene and time)"),
    "priority": FieldSpec("Priority", "job priority 0-100", 0, 100),
    "pool": FieldSpec("Pool", "Deadline 10 pool (default: the repository's)"),
    "group": FieldSpec("Group", "Deadline 10 group (default: the repository's)"),
    "concurrent_tasks": FieldSpec("Concurrent tasks", "tasks per Worker at once", 1, 16),
    "gpus_per_task": FieldSpec("GPUs per task", "GPUs each task needs (GPU renders)", 0, 16),
    "maya_version": FieldSpec("Maya version", "Deadline 10 Maya version (default: the scene's)"),
    "strict_error_checking": FieldSpec(
        "Strict error checking", "fail a task on any 'Error:' line Maya prints"
    ),
    "mayapy": FieldSpec("Farm mayapy", "the command that runs mayapy on the farm workers"),
    "min_vcpus": FieldSpec("Minimum vCPUs", "CPU renders: vCPUs a worker needs", 0, 4096),
    "target_runtime_seconds": FieldSpec(
        "Chunk runtime (s)", "adaptive chunks: seconds a task should take (chunk size > 1)"
    ),
    "contiguous_chunks": FieldSpec(
        "Contiguous chunks", "a task renders one unbroken run of frames"
    ),
}
#: fields not shown (they keep the record's default): set by the code, or for experts only
HIDDEN_FIELDS = frozenset({"notify_period_seconds", "lrc_toolbox_path"})
#: a ``str | None`` or ``int | None`` field left empty (or at its lowest) means "default"
DEFAULT_TEXT = "default"


def _label_for(name: str) -> str:
    return name.replace("_", " ").capitalize()


def _base_type(hint: Any) -> tuple[Any, bool]:
    """``int | None`` -> ``(int, True)``; ``str`` -> ``(str, False)``."""
    args = typing.get_args(hint)
    if args and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return (rest[0] if len(rest) == 1 else hint), True
    return hint, False


class OptionsForm(QtWidgets.QWidget):
    """A form for an options record (a dataclass): a check box per ``bool``, a spin box per
    ``int`` or ``float``, a list per enum, a line per ``str`` (``list[str]``: comma
    separated); ``X | None`` shows "default" for None. Fields of other types keep the
    record's value.

    :meth:`value` is the record with the form's values (``dataclasses.replace``).
    """

    changed = QtCore.Signal()

    def __init__(
        self,
        record: Any,
        specs: Mapping[str, FieldSpec] = FIELD_SPECS,
        hidden: Iterable[str] = HIDDEN_FIELDS,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._record = record
        self._widgets: dict[str, QtWidgets.QWidget] = {}
        self._kinds: dict[str, tuple[Any, bool]] = {}
        form = QtWidgets.QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        hints = typing.get_type_hints(type(record))
        skip = set(hidden)
        for item in dataclasses.fields(record):
            if item.name in skip or not item.init:
                continue
            kind = _base_type(hints[item.name])
            spec = specs.get(item.name, FieldSpec(_label_for(item.name)))
            widget = self._make(kind, spec, getattr(record, item.name))
            if widget is None:
                continue
            widget.setObjectName(f"LRCFarmOption_{item.name}")
            widget.setToolTip(spec.tooltip)
            self._widgets[item.name] = widget
            self._kinds[item.name] = kind
            if isinstance(widget, QtWidgets.QCheckBox):
                form.addRow("", widget)
            else:
                form.addRow(spec.label + ":", widget)

    def _make(
        self, kind: tuple[Any, bool], spec: FieldSpec, value: Any
    ) -> QtWidgets.QWidget | None:
        base, optional = kind
        if base is bool and not optional:
            box = QtWidgets.QCheckBox(spec.label, self)
            box.setChecked(bool(value))
            box.toggled.connect(self._emit_changed)
            return box
        if base is int:
            spin = QtWidgets.QSpinBox(self)
            low = spec.minimum - 1 if optional else spec.minimum
            spin.setRange(low, spec.maximum)
            if optional:
                spin.setSpecialValueText(DEFAULT_TEXT)
            spin.setValue(low if value is None else int(value))
            spin.valueChanged.connect(self._emit_changed)
            return spin
        if base is float:
            double = QtWidgets.QDoubleSpinBox(self)
            double.setDecimals(1)
            low = spec.minimum - 1 if optional else spec.minimum
            double.setRange(low, spec.maximum)
            if optional:
                double.setSpecialValueText(DEFAULT_TEXT)
            double.setValue(low if value is None else float(value))
            double.valueChanged.connect(self._emit_changed)
            return double
        if isinstance(base, type) and issubclass(base, enum.Enum):
            combo = QtWidgets.QComboBox(self)
            if optional:
                combo.addItem(DEFAULT_TEXT, None)
            for member in base:
                combo.addItem(str(member.value), member)
            combo.setCurrentIndex(max(0, combo.findData(value)))
            combo.currentIndexChanged.connect(self._emit_changed)
            return combo
        if base is str or typing.get_origin(base) is list:
            edit = QtWidgets.QLineEdit(self)
            if isinstance(value, list):
                edit.setText(", ".join(str(v) for v in value))
            elif value is not None:
                edit.setText(str(value))
            if optional or typing.get_origin(base) is list:
                edit.setPlaceholderText(DEFAULT_TEXT)
            edit.textChanged.connect(self._emit_changed)
            return edit
        return None  # a type the form does not know: the record's value stays

    def _emit_changed(self, *_args: Any) -> None:
        # emit_signal, not .emit(): PySide6 6.12's emit takes a reference from True
        emit_signal(self, "changed")

    def field_names(self) -> list[str]:
        return list(self._widgets)

    def widget(self, name: str) -> QtWidgets.QWidget:
        return self._widgets[name]

    def set_field(self, name: str, value: Any) -> None:
        """Set a shown field (None: "default")."""
        widget = self._widgets[name]
        if isinstance(widget, QtWidgets.QCheckBox):
            widget.setChecked(bool(value))
        elif isinstance(widget, QtWidgets.QSpinBox):
            widget.setValue(widget.minimum() if value is None else int(value))
        elif isinstance(widget, QtWidgets.QDoubleSpinBox):
            widget.setValue(widget.minimum() if value is None else float(value))
        elif isinstance(widget, QtWidgets.QComboBox):
            widget.setCurrentIndex(max(0, widget.findData(value)))
        elif isinstance(widget, QtWidgets.QLineEdit):
            text = ", ".join(value) if isinstance(value, list) else (value or "")
            widget.setText(str(text))

    def _read(self, name: str) -> Any:
        widget = self._widgets[name]
        base, optional = self._kinds[name]
        if isinstance(widget, QtWidgets.QCheckBox):
            return widget.isChecked()
        if isinstance(widget, (QtWidgets.QSpinBox, QtWidgets.QDoubleSpinBox)):
            if optional and widget.value() == widget.minimum():
                return None
            return widget.value()
        if isinstance(widget, QtWidgets.QComboBox):
            return widget.currentData()
        assert isinstance(widget, QtWidgets.QLineEdit)
        text = widget.text().strip()
        if typing.get_origin(base) is list:
            return [part.strip() for part in text.split(",") if part.strip()]
        if not text and optional:
            return None
        return text

    def value(self) -> Any:
        """The record with this form's values."""
        return dataclasses.replace(
            self._record, **{name: self._read(name) for name in self._widgets}
        )


# --------------------------------------------------------------------------- the worker


class _FarmSignals(QtCore.QObject):
    done = QtCore.Signal(object)  # FarmResult
    failed = QtCore.Signal(str, int)  # message, exit code
    note = QtCore.Signal(str)  # the Deadline Cloud client's messages
    defaults = QtCore.Signal(str, str)  # farm id, queue id from 'deadline config'


class _DefaultsTask(QtCore.QRunnable):
    """Reads ``deadline config``'s farm and queue ids off the UI thread (importing the
    client's configuration module takes about half a second)."""

    def __init__(self, signals: _FarmSignals) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.signals = signals

    def run(self) -> None:
        farm, queue = deadline_cloud_defaults()
        # emit_signal, not .emit(): PySide6 6.12's emit takes a reference from True
        emit_signal(self.signals, "defaults", farm, queue)


class _FarmTask(QtCore.QRunnable):
    """Runs :func:`send_to_farm` off the UI thread (it reads the scene, may wait on a farm)."""

    def __init__(
        self,
        request: FarmRequest,
        config: RenderConfig,
        settings: Settings | None,
        signals: _FarmSignals,
    ) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.request = request
        self.config = config
        self.settings = settings
        self.signals = signals

    def _note(self, text: str) -> None:
        # emit_signal, not .emit(): PySide6 6.12's emit takes a reference from True
        emit_signal(self.signals, "note", str(text))

    def run(self) -> None:
        try:
            result = send_to_farm(
                self.request, self.config, self.settings, print_function=self._note
            )
        except Exception as exc:
            failure = farm_failure(exc)
            if failure is None:  # a bug: still one message, and the details in the log
                log.exception("sending the batch to the farm failed")
                failure = (ExitCode.FAILED_FRAMES, f"{type(exc).__name__}: {exc}")
            emit_signal(self.signals, "failed", failure[1], int(failure[0]))
            return
        emit_signal(self.signals, "done", result)


# --------------------------------------------------------------------------- the dialog


def _sentence(text: str) -> str:
    """The CLI's message (after ``error:``) as the dialog shows it: first letter capital."""
    text = text.strip()
    return text[:1].upper() + text[1:]


class FarmDialog(QtWidgets.QDialog):
    """Send the dashboard's batch to a farm. Non-modal: :meth:`show` it (tests may use
    :meth:`exec_blocking`).

    Args:
        config: the batch as the dashboard set it up (``config_widget.config()``).
        settings: the user's preferences (planning reads them as ``render`` does).
        simulate: plan with the simulated mayapy and make a bundle run the simulator.
    """

    sent = QtCore.Signal(object)  # FarmResult: the batch was exported or submitted
    send_failed = QtCore.Signal(str)  # the message shown

    #: what the dialog says while the worker runs, per target
    BUSY_TEXT = {
        FarmTarget.DEADLINE_CLOUD: "Reading the scene and submitting to Deadline Cloud…",
        FarmTarget.DEADLINE10: "Reading the scene and submitting to Deadline 10…",
        FarmTarget.EXPORT: "Reading the scene and writing the files…",
    }

    def __init__(
        self,
        config: RenderConfig,
        settings: Settings | None = None,
        parent: QtWidgets.QWidget | None = None,
        *,
        simulate: bool = False,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("LRCFarmDialog")
        self.setWindowTitle("Send to farm")
        self.setSizeGripEnabled(True)
        self._config = config
        self._settings = settings
        self._simulate = simulate
        self._busy = False
        self._task: _FarmTask | None = None
        self._result: FarmResult | None = None
        self._notes: list[str] = []
        self._pool = QtCore.QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._signals = _FarmSignals(self)
        self._signals.done.connect(self._on_done)
        self._signals.failed.connect(self._on_failed)
        self._signals.note.connect(self._notes.append)
        self._signals.defaults.connect(self._on_defaults)
        self._defaults_task: _DefaultsTask | None = None
        self._build()
        self._prefill_cloud_ids()
        self._on_target_changed()
        self.resize(600, 480)

    # ------------------------------------------------------------------ layout

    def _build(self) -> None:
        from lrc_toolbox.ui.dialogs.batch_render_dialog import MessageArea

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)
        style.ensure_readable_palette(self)

        self.batch_label = QtWidgets.QLabel(self)
        self.batch_label.setObjectName("LRCFarmBatch")
        self.batch_label.setWordWrap(True)
        layout.addWidget(self.batch_label)

        top = QtWidgets.QFormLayout()
        top.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.target_combo = QtWidgets.QComboBox(self)
        self.target_combo.setObjectName("LRCFarmTarget")
        for target, label in TARGET_LABELS.items():
            self.target_combo.addItem(label, target.value)
        self.target_combo.currentIndexChanged.connect(self._on_target_changed)
        target_label = QtWidgets.QLabel("Send &to:", self)
        target_label.setBuddy(self.target_combo)
        top.addRow(target_label, self.target_combo)
        layout.addLayout(top)

        scroll = QtWidgets.QScrollArea(self)
        scroll.setObjectName("LRCFarmOptions")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body = QtWidgets.QWidget()
        column = QtWidgets.QVBoxLayout(body)
        column.setContentsMargins(0, 0, 4, 0)
        column.addWidget(self._build_cloud(body))
        column.addWidget(self._build_deadline10(body))
        column.addWidget(self._build_export(body))
        self.openjd_form = OptionsForm(OpenJDOptions(), parent=body)
        self.deadline10_form = OptionsForm(Deadline10Options(), parent=body)
        self.options_box = QtWidgets.QGroupBox("Job options", body)
        options = QtWidgets.QVBoxLayout(self.options_box)
        options.addWidget(self.openjd_form)
        options.addWidget(self.deadline10_form)
        column.addWidget(self.options_box)
        column.addStretch(1)
        scroll.setWidget(body)
        layout.addWidget(scroll, 1)
        for form in (self.openjd_form, self.deadline10_form):
            form.changed.connect(self._update_controls)

        self.message_area = MessageArea(self)
        layout.addWidget(self.message_area)

        # the reason has a row of its own (two lines, fixed): a long one (what to set for
        # Deadline Cloud) is read whole at 640 px, and its text never moves the buttons
        self.reason_label = QtWidgets.QLabel(self)
        self.reason_label.setObjectName("LRCFarmReason")
        self.reason_label.setWordWrap(True)
        self.reason_label.setTextInteractionFlags(
            QtCore.Qt.TextInteractionFlag.TextSelectableByMouse
        )
        self.reason_label.setSizePolicy(
            QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Fixed
        )
        self.reason_label.setFixedHeight(2 * self.fontMetrics().lineSpacing() + 2)
        layout.addWidget(self.reason_label)
        bar = QtWidgets.QHBoxLayout()
        bar.addStretch(1)
        self.open_folder_button = QtWidgets.QPushButton("&Open folder", self)
        self.open_folder_button.setObjectName("LRCFarmOpenFolder")
        self.open_folder_button.setToolTip("Open the folder the files were written to")
        self.open_folder_button.clicked.connect(self.open_folder)
        policy = self.open_folder_button.sizePolicy()
        policy.setRetainSizeWhenHidden(True)
        self.open_folder_button.setSizePolicy(policy)
        self.open_folder_button.hide()
        bar.addWidget(self.open_folder_button)
        self.send_button = QtWidgets.QPushButton("&Submit", self)
        self.send_button.setObjectName("LRCFarmSend")
        self.send_button.clicked.connect(self.send)
        self.send_button.ensurePolished()
        width = 84
        for text in ("&Submit", "E&xport"):
            self.send_button.setText(text)
            width = max(width, self.send_button.sizeHint().width())
        self.send_button.setFixedWidth(width)
        bar.addWidget(self.send_button)
        self.close_button = QtWidgets.QPushButton("&Close", self)
        self.close_button.setObjectName("LRCFarmClose")
        self.close_button.clicked.connect(self.reject)
        bar.addWidget(self.close_button)
        layout.addLayout(bar)
        for button in self.findChildren(QtWidgets.QPushButton):
            button.setAutoDefault(False)  # Enter in a field never sends the batch
            button.setDefault(False)
        self._show_batch()

    def _line(self, parent: QtWidgets.QWidget, name: str, placeholder: str = "") -> Any:
        edit = QtWidgets.QLineEdit(parent)
        edit.setObjectName(name)
        edit.setPlaceholderText(placeholder)
        edit.textChanged.connect(self._update_controls)
        return edit

    def _build_cloud(self, parent: QtWidgets.QWidget) -> QtWidgets.QWidget:
        box = self.cloud_box = QtWidgets.QGroupBox("Deadline Cloud queue", parent)
        form = QtWidgets.QFormLayout(box)
        form.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.farm_id_edit = self._line(box, "LRCFarmFarmId", "farm-…")
        self.queue_id_edit = self._line(box, "LRCFarmQueueId", "queue-…")
        form.addRow("&Farm id:", self.farm_id_edit)
        form.addRow("&Queue id:", self.queue_id_edit)
        self.auto_accept_check = QtWidgets.QCheckBox(
            "Upload files from new locations without &asking", box
        )
        self.auto_accept_check.setToolTip(
            "When the queue's job attachments would upload files from a location its storage "
            "profile does not know, answer yes (otherwise the client's default: no)"
        )
        form.addRow("", self.auto_accept_check)
        self.cloud_note = QtWidgets.QLabel(box)
        self.cloud_note.setObjectName("LRCFarmCloudNote")
        self.cloud_note.setWordWrap(True)
        form.addRow(self.cloud_note)
        return box

    def _build_deadline10(self, parent: QtWidgets.QWidget) -> QtWidgets.QWidget:
        box = self.deadline10_box = QtWidgets.QGroupBox("Deadline 10 repository", parent)
        form = QtWidgets.QFormLayout(box)
        form.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        row = QtWidgets.QHBoxLayout()
        self.deadlinecommand_edit = self._line(
            box, "LRCFarmDeadlineCommand", "found automatically (DEADLINE_PATH, PATH)"
        )
        row.addWidget(self.deadlinecommand_edit, 1)
        browse = QtWidgets.QPushButton("&Browse…", box)
        browse.clicked.connect(self._browse_deadlinecommand)
        row.addWidget(browse)
        form.addRow("deadlinecommand:", row)
        return box

    def _build_export(self, parent: QtWidgets.QWidget) -> QtWidgets.QWidget:
        box = self.export_box = QtWidgets.QGroupBox("Files", parent)
        form = QtWidgets.QFormLayout(box)
        form.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.format_buttons: dict[ExportFormat, QtWidgets.QRadioButton] = {}
        formats = QtWidgets.QVBoxLayout()
        group = QtWidgets.QButtonGroup(box)
        for export_format, label in FORMAT_LABELS.items():
            radio = QtWidgets.QRadioButton(label, box)
            radio.setObjectName(f"LRCFarmFormat_{export_format.value}")
            group.addButton(radio)
            formats.addWidget(radio)
            self.format_buttons[export_format] = radio
        self.format_buttons[ExportFormat.OPENJD].setChecked(True)
        for radio in self.format_buttons.values():
            radio.toggled.connect(self._on_format_toggled)
        form.addRow("Write:", formats)
        row = QtWidgets.QHBoxLayout()
        self.folder_edit = self._line(box, "LRCFarmFolder", "a new or empty folder")
        row.addWidget(self.folder_edit, 1)
        browse = QtWidgets.QPushButton("B&rowse…", box)
        browse.clicked.connect(self._browse_folder)
        row.addWidget(browse)
        folder_label = QtWidgets.QLabel("Fol&der:", box)
        folder_label.setBuddy(self.folder_edit)
        form.addRow(folder_label, row)
        return box

    def _show_batch(self) -> None:
        config = self._config
        scene = config.scene.replace("\\", "/").rsplit("/", 1)[-1] or "no scene"
        layers = ", ".join(config.layers) if config.layers else "every renderable layer"
        frames = "the scene's frames"
        if config.frames.strip():
            try:
                frames = preview_frames(parse_frames(config.frames))
            except FrameRangeError:
                frames = f"frames {config.frames}"
        device = "CPU" if config.cpu_mode else "GPU"
        self.batch_label.setText(f"{scene} · {layers} · {frames} · {device}")
        self.batch_label.setToolTip(config.scene)
        style.set_status_colour(self.batch_label, "muted")

    def _prefill_cloud_ids(self) -> None:
        """Ask ``deadline config`` for the farm and queue ids in the worker thread."""
        self.cloud_note.setText("Reading 'deadline config'…")
        style.set_status_colour(self.cloud_note, "muted")
        self._defaults_task = _DefaultsTask(self._signals)
        self._pool.start(self._defaults_task)

    @property
    def defaults_read(self) -> bool:
        """Whether ``deadline config`` was read (the ids are filled in when it had them)."""
        return self._defaults_task is None

    def _on_defaults(self, farm: str, queue: str) -> None:
        self._defaults_task = None
        # what the user typed meanwhile wins
        if farm and not self.farm_id_edit.text().strip():
            self.farm_id_edit.setText(farm)
        if queue and not self.queue_id_edit.text().strip():
            self.queue_id_edit.setText(queue)
        if farm or queue:
            self.cloud_note.setText("Farm and queue from 'deadline config'.")
        else:
            self.cloud_note.setText(
                "Tip: 'deadline config set defaults.farm_id …' and "
                "'defaults.queue_id …' fill these in."
            )

    # ------------------------------------------------------------------ state

    def config(self) -> RenderConfig:
        return self._config

    def set_config(self, config: RenderConfig) -> None:
        """Send this batch instead (the dashboard's setup changed)."""
        self._config = config
        self._show_batch()
        self._update_controls()

    @property
    def busy(self) -> bool:
        """Whether a send is running in the worker thread."""
        return self._busy

    def farm_result(self) -> FarmResult | None:
        """The last send's result (None before one worked)."""
        return self._result

    def target(self) -> FarmTarget:
        return FarmTarget(self.target_combo.currentData())

    def set_target(self, target: FarmTarget) -> None:
        self.target_combo.setCurrentIndex(self.target_combo.findData(target.value))

    def export_format(self) -> ExportFormat:
        for export_format, radio in self.format_buttons.items():
            if radio.isChecked():
                return export_format
        return ExportFormat.OPENJD

    def set_export_format(self, export_format: ExportFormat) -> None:
        self.format_buttons[export_format].setChecked(True)

    def request(self) -> FarmRequest:
        """The request the dialog's fields make."""
        target = self.target()
        return FarmRequest(
            target=target,
            export_format=self.export_format(),
            folder=self.folder_edit.text().strip() if target is FarmTarget.EXPORT else "",
            openjd=self.openjd_form.value(),
            deadline10=self.deadline10_form.value(),
            farm_id=self.farm_id_edit.text().strip(),
            queue_id=self.queue_id_edit.text().strip(),
            auto_accept=self.auto_accept_check.isChecked(),
            deadlinecommand=self.deadlinecommand_edit.text().strip() or None,
            simulate=self._simulate,
        )

    def validation_error(self) -> str | None:
        """Why the batch cannot be sent now (the CLI's check and message); None when it
        can."""
        try:
            check_request(self.request(), self._config)
        except Exception as exc:
            failure = farm_failure(exc)
            if failure is None:
                raise
            return _sentence(failure[1])
        return None

    # ------------------------------------------------------------------ reactions

    def _on_target_changed(self, *_args: Any) -> None:
        target = self.target()
        self.cloud_box.setVisible(target is FarmTarget.DEADLINE_CLOUD)
        self.deadline10_box.setVisible(target is FarmTarget.DEADLINE10)
        self.export_box.setVisible(target is FarmTarget.EXPORT)
        self.send_button.setText("E&xport" if target is FarmTarget.EXPORT else "&Submit")
        self._on_format_toggled()

    def _on_format_toggled(self, *_args: Any) -> None:
        openjd = self.request().writes_openjd
        self.openjd_form.setVisible(openjd)
        self.deadline10_form.setVisible(not openjd)
        self.options_box.setTitle(
            "Job options (Open Job Description)" if openjd else "Job options (Deadline 10)"
        )
        self._update_controls()

    def _update_controls(self, *_args: Any) -> None:
        if self._busy:
            self.send_button.setEnabled(False)
            self.reason_label.setText(self.BUSY_TEXT[self.target()])
            style.set_status_colour(self.reason_label, "info")
        else:
            reason = self.validation_error()
            self.send_button.setEnabled(reason is None)
            style.set_primary(self.send_button, reason is None)
            if reason:
                self.reason_label.setText(reason)
                style.set_status_colour(self.reason_label, "error")
            else:
                what = "write the files" if self.target() is FarmTarget.EXPORT else "submit"
                self.reason_label.setText(f"Ready to {what}.")
                style.set_status_colour(self.reason_label, "muted")
        self.reason_label.setToolTip(self.reason_label.text())
        self.send_button.setToolTip(self.reason_label.text())

    def _browse_folder(self) -> None:
        path = QtWidgets.QFileDialog.getExistingDirectory(
            self, "Choose the folder for the farm files", self.folder_edit.text()
        )
        if path:
            self.folder_edit.setText(path)

    def _browse_deadlinecommand(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Choose deadlinecommand", self.deadlinecommand_edit.text()
        )
        if path:
            self.deadlinecommand_edit.setText(path)

    # ------------------------------------------------------------------ sending

    def send(self) -> bool:
        """Check, then plan and export or submit in a worker thread; False (and the reason
        shown) when the input is not valid or a send is already running."""
        if self._busy:
            return False
        reason = self.validation_error()
        if reason:
            self.message_area.show_message(reason, "error")
            return False
        self._busy = True
        self._notes = []
        self._result = None
        self.open_folder_button.hide()
        self.message_area.clear()
        self._task = _FarmTask(self.request(), self._config, self._settings, self._signals)
        self._pool.start(self._task)
        self._update_controls()
        return True

    def _on_done(self, result: object) -> None:
        assert isinstance(result, FarmResult)
        self._busy = False
        self._task = None
        self._result = result
        notes = [*result.warnings]
        text = result.summary()
        if notes:
            text += "".join(f"\nWarning: {note}" for note in notes)
        self.message_area.show_message(text, "warning" if notes else "ok")
        self.open_folder_button.setVisible(bool(result.folder))
        self._update_controls()
        # emit_signal, not .emit(): PySide6 6.12's emit takes a reference from True
        emit_signal(self, "sent", result)

    def _on_failed(self, message: str, _code: int) -> None:
        self._busy = False
        self._task = None
        text = _sentence(message)
        if self._notes:  # what the Deadline Cloud client said last
            text += "\n" + "\n".join(self._notes[-3:])
        self.message_area.show_message(text, "error")
        self._update_controls()
        # emit_signal, not .emit(): PySide6 6.12's emit takes a reference from True
        emit_signal(self, "send_failed", text)

    def open_folder(self) -> bool:
        """Open the folder of the last result in the file browser."""
        if self._result is None or not self._result.folder:
            return False
        url = QtCore.QUrl.fromLocalFile(self._result.folder)
        return bool(QtGui.QDesktopServices.openUrl(url))

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:
        """Enter and Return never press a button (QDialog would press its default one)."""
        if event.key() in (QtCore.Qt.Key.Key_Return, QtCore.Qt.Key.Key_Enter):
            event.accept()
            return
        super().keyPressEvent(event)

    def shutdown(self, wait_ms: int = 30_000) -> None:
        """Wait for a send still running (before the window goes)."""
        self._pool.waitForDone(wait_ms)

    def exec_blocking(self) -> int:
        """Run modally (tests only: in Maya the dialog is shown, never exec'd)."""
        return style.exec_dialog(self)
