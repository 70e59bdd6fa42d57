"""The render configuration panel: scene, layers, frames, overrides, devices, advanced.

It validates as the artist types (the frame list live, with the parser's own message) and
says in one sentence why Start is not possible yet (:meth:`RenderConfigWidget.validation_error`).
The scene is read in a worker thread: a large .ma takes a second or two, a .mb read through
mayapy much longer, and Maya must not freeze meanwhile.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from Qt import QtCore, QtGui, QtWidgets

from lrc_toolbox.config.batch_render_defaults import Settings
from lrc_toolbox.core.qt_compat import emit_signal
from lrc_toolbox.records.frame_parser import FrameRangeError, format_frames, parse_frames
from lrc_toolbox.records.frame_parser import preview_frames as preview_text
from lrc_toolbox.records.models import FrameOrder, RenderConfig, SystemInfo
from lrc_toolbox.records.renderers import RENDERERS
from lrc_toolbox.scene.description import SceneDescription
from lrc_toolbox.scene.scene_source import (
    MayaAsciiSource,
    MayapySource,
    SceneSource,
    scene_source_for,
)
from lrc_toolbox.ui import style

__all__ = ["RenderConfigWidget"]

log = logging.getLogger(__name__)

SceneSourceFactory = Callable[[str], SceneSource]
CurrentScene = Callable[[], str | None]

LAYER_ROLE = QtCore.Qt.ItemDataRole.UserRole
EMPTY_FRAMES_PREVIEW = "scene frames per layer"
SCENE_FILTER = "Maya scenes (*.ma *.mb);;Maya ASCII (*.ma);;Maya Binary (*.mb);;All files (*)"


def _default_factory(path: str) -> SceneSource:
    return scene_source_for(path)


def _thread_safe(source: SceneSource) -> bool:
    """Sources that may be asked outside the UI thread (pure Python, or a subprocess)."""
    return isinstance(source, (MayaAsciiSource, MayapySource)) or bool(
        getattr(source, "thread_safe", False)
    )


class _DescribeSignals(QtCore.QObject):
    done = QtCore.Signal(object, int)  # SceneDescription, generation
    failed = QtCore.Signal(str, int)


class _DescribeTask(QtCore.QRunnable):
    def __init__(self, source: SceneSource, signals: _DescribeSignals, generation: int) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.source = source
        self.signals = signals
        self.generation = generation

    def run(self) -> None:
        try:
            scene = self.source.describe()
        except Exception as exc:  # SceneSourceError and anything unexpected: a message
            # emit_signal, not .emit(): PySide6 6.12's emit takes a reference from True
            emit_signal(self.signals, "failed", str(exc) or type(exc).__name__, self.generation)
            return
        # emit_signal, not .emit(): PySide6 6.12's emit takes a reference from True
        emit_signal(self.signals, "done", scene, self.generation)


class RenderConfigWidget(QtWidgets.QWidget):
    """What to render and how. :meth:`config` builds the :class:`RenderConfig`.

    Args:
        settings: defaults for the advanced values (workers per GPU, attempts, timeout...).
        scene_source_factory: ``path -> SceneSource`` (default: the .ma reader, or mayapy
            for .mb). The .ma reader and mayapy sources (and any source with
            ``thread_safe = True``) are asked in a worker thread; any other source, such as
            Maya's live session (``maya.cmds`` belongs to the UI thread), in the UI thread.
        current_scene: in Maya, returns the open scene's path ("" for an untitled scene);
            adds a "Current scene" button. With it, an empty path means the open scene.
    """

    changed = QtCore.Signal()
    validity_changed = QtCore.Signal(bool, str)  # ok, reason when not ok
    scene_loaded = QtCore.Signal(object)  # SceneDescription, or None when it failed

    def __init__(
        self,
        settings: Settings | None = None,
        scene_source_factory: SceneSourceFactory | None = None,
        current_scene: CurrentScene | None = None,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("LRCRenderConfigWidget")
        self._settings = settings or Settings()
        self._factory = scene_source_factory or _default_factory
        self._current_scene = current_scene
        self._scene: SceneDescription | None = None
        self._scene_error: str | None = None
        self._requested_path = ""
        self._loading = False
        self._generation = 0
        self._task: _DescribeTask | None = None
        self._frames: list[int] | None = None  # None: empty field (scene frames)
        self._frames_error: str | None = None
        self._system: SystemInfo | None = None
        self._gpu_boxes: dict[int, QtWidgets.QCheckBox] = {}
        #: GPU index -> why the last batch took it out (see :meth:`set_disabled_gpus`)
        self._disabled_gpus: dict[int, str] = {}
        self._unticked: set[int] = set()  # disabled GPUs whose untick was decided
        self._locked = False
        self._validity: tuple[bool, str] | None = None
        self._pool = QtCore.QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._signals = _DescribeSignals(self)
        self._signals.done.connect(self._on_scene_described)
        self._signals.failed.connect(self._on_scene_failed)
        self._build()
        self._on_frames_edited(self.frames_edit.text())
        if current_scene is not None:
            self.use_current_scene()
        else:
            self._update_validity()

    # ------------------------------------------------------------------ layout

    def _build(self) -> None:
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        self.lock_note = QtWidgets.QLabel(self)
        self.lock_note.setObjectName("LRCSetupLockNote")
        self.lock_note.setWordWrap(True)
        self.lock_note.hide()
        layout.addWidget(self.lock_note)
        self._sections: list[QtWidgets.QWidget] = [
            self._build_scene(),
            self._build_layers(),
            self._build_frames(),
            self._build_overrides(),
            self._build_devices(),
            self._build_advanced(),
        ]
        for section in self._sections:
            layout.addWidget(section, 1 if section.objectName() == "LRCLayersBox" else 0)

    def _build_scene(self) -> QtWidgets.QWidget:
        box = QtWidgets.QGroupBox("Scene", self)
        grid = QtWidgets.QGridLayout(box)
        self.scene_edit = QtWidgets.QLineEdit(box)
        self.scene_edit.setPlaceholderText(
            "the scene open in Maya" if self._current_scene else "path of a .ma or .mb scene"
        )
        self.scene_edit.editingFinished.connect(self._on_scene_edited)
        self.browse_button = QtWidgets.QPushButton("Browse…", box)
        self.browse_button.setToolTip("Choose a scene file")
        self.browse_button.clicked.connect(self._browse_scene)
        grid.addWidget(self.scene_edit, 0, 0)
        grid.addWidget(self.browse_button, 0, 1)
        if self._current_scene is not None:
            self.current_button = QtWidgets.QPushButton("Current scene", box)
            self.current_button.setToolTip("Render the scene open in Maya (as last saved)")
            self.current_button.clicked.connect(self.use_current_scene)
            grid.addWidget(self.current_button, 0, 2)
        self.scene_label = QtWidgets.QLabel(box)
        self.scene_label.setWordWrap(True)
        self.scene_label.setTextInteractionFlags(
            QtCore.Qt.TextInteractionFlag.TextSelectableByMouse
        )
        grid.addWidget(self.scene_label, 1, 0, 1, grid.columnCount())
        return box

    def _build_layers(self) -> QtWidgets.QWidget:
        box = QtWidgets.QGroupBox("Render layers", self)
        box.setObjectName("LRCLayersBox")
        column = QtWidgets.QVBoxLayout(box)
        self.all_layers_check = QtWidgets.QCheckBox("All renderable layers", box)
        self.all_layers_check.setChecked(True)
        self.all_layers_check.setToolTip(
            "Render every layer that is renderable in the scene (as a plain batch render does)"
        )
        self.all_layers_check.toggled.connect(self._on_all_layers_toggled)
        column.addWidget(self.all_layers_check)
        self.layer_list = QtWidgets.QListWidget(box)
        self.layer_list.setObjectName("LRCLayerList")
        self.layer_list.setMinimumHeight(84)
        self.layer_list.setUniformItemSizes(True)
        self.layer_list.itemChanged.connect(self._on_layer_item_changed)
        column.addWidget(self.layer_list, 1)
        self.layers_summary = QtWidgets.QLabel(box)
        style.set_status_colour(self.layers_summary, "muted")
        column.addWidget(self.layers_summary)
        return box

    def _build_frames(self) -> QtWidgets.QWidget:
        box = QtWidgets.QGroupBox("Frames", self)
        column = QtWidgets.QVBoxLayout(box)
        self.frames_edit = QtWidgets.QLineEdit(box)
        self.frames_edit.setObjectName("LRCFramesEdit")
        self.frames_edit.setPlaceholderText("e.g. 1-100x5, 120   (empty: each layer's own range)")
        self.frames_edit.setToolTip(
            "Frames, ranges and stepped ranges separated by commas or spaces:\n"
            "  7    1-10    10-1    1-100x5 (steps always include the last frame)"
        )
        self.frames_edit.textChanged.connect(self._on_frames_edited)
        column.addWidget(self.frames_edit)
        self.frames_message = QtWidgets.QLabel(box)
        self.frames_message.setObjectName("LRCFramesMessage")
        self.frames_message.setWordWrap(True)
        column.addWidget(self.frames_message)
        return box

    def _build_overrides(self) -> QtWidgets.QWidget:
        box = QtWidgets.QGroupBox("Overrides", self)
        form = QtWidgets.QFormLayout(box)
        form.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.renderer_combo = QtWidgets.QComboBox(box)
        self.renderer_combo.addItem("scene setting", None)
        for name, info in RENDERERS.items():  # item data: the name Maya stores
            self.renderer_combo.addItem(info.label, name)
        self.renderer_combo.currentIndexChanged.connect(self._emit_changed)
        form.addRow("Renderer", self.renderer_combo)
        self.camera_combo = QtWidgets.QComboBox(box)
        self.camera_combo.addItem("scene setting", None)
        self.camera_combo.currentIndexChanged.connect(self._emit_changed)
        form.addRow("Camera", self.camera_combo)
        output_row = QtWidgets.QHBoxLayout()
        self.output_edit = QtWidgets.QLineEdit(box)
        self.output_edit.setPlaceholderText("the project's images folder")
        self.output_edit.textChanged.connect(self._emit_changed)
        self.output_button = QtWidgets.QToolButton(box)
        self.output_button.setText("…")
        self.output_button.setToolTip("Choose the output folder")
        self.output_button.clicked.connect(self._browse_output)
        output_row.addWidget(self.output_edit, 1)
        output_row.addWidget(self.output_button)
        form.addRow("Output folder", output_row)
        self.prefix_edit = QtWidgets.QLineEdit(box)
        self.prefix_edit.setPlaceholderText("scene setting")
        self.prefix_edit.setToolTip(
            "Image file prefix with Maya's tokens, e.g. <Scene>/<RenderLayer>/<RenderLayer>"
        )
        self.prefix_edit.textChanged.connect(self._emit_changed)
        form.addRow("Image prefix", self.prefix_edit)
        return box

    def _build_devices(self) -> QtWidgets.QWidget:
        box = QtWidgets.QGroupBox("Devices", self)
        form = QtWidgets.QFormLayout(box)
        form.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._gpu_panel = QtWidgets.QWidget(box)
        self._gpu_grid = QtWidgets.QGridLayout(self._gpu_panel)
        self._gpu_grid.setContentsMargins(0, 0, 0, 0)
        self._gpu_note = QtWidgets.QLabel("detecting…", self._gpu_panel)
        self._gpu_note.setWordWrap(True)
        style.set_status_colour(self._gpu_note, "muted")
        self._gpu_grid.addWidget(self._gpu_note, 1, 0, 1, 4)
        form.addRow("GPUs", self._gpu_panel)
        self.processes_spin = QtWidgets.QSpinBox(box)
        self.processes_spin.setRange(1, 16)
        self.processes_spin.setValue(self._settings.processes_per_gpu)
        self.processes_spin.setToolTip(
            "Workers per GPU (CPU mode: number of CPU workers). One per GPU is usually "
            "fastest; two can help light scenes."
        )
        self.processes_spin.valueChanged.connect(self._emit_changed)
        self._processes_label = QtWidgets.QLabel("Workers per GPU", box)
        form.addRow(self._processes_label, self.processes_spin)
        cpu_row = QtWidgets.QHBoxLayout()
        self.cpu_check = QtWidgets.QCheckBox("Render on the CPU", box)
        self.cpu_check.toggled.connect(self._on_cpu_toggled)
        self.threads_spin = QtWidgets.QSpinBox(box)
        self.threads_spin.setRange(0, 4096)
        self.threads_spin.setSpecialValueText("auto")
        self.threads_spin.setPrefix("")
        self.threads_spin.setSuffix(" threads")
        self.threads_spin.setToolTip("Threads per CPU worker; auto shares the free cores")
        self.threads_spin.setEnabled(False)
        self.threads_spin.valueChanged.connect(self._emit_changed)
        cpu_row.addWidget(self.cpu_check)
        cpu_row.addWidget(self.threads_spin)
        cpu_row.addStretch(1)
        form.addRow("CPU", cpu_row)
        return box

    def _build_advanced(self) -> QtWidgets.QWidget:
        panel = QtWidgets.QWidget(self)
        column = QtWidgets.QVBoxLayout(panel)
        column.setContentsMargins(0, 0, 0, 0)
        self.advanced_button = QtWidgets.QToolButton(panel)
        self.advanced_button.setText("Advanced")
        self.advanced_button.setCheckable(True)
        self.advanced_button.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_button.setArrowType(QtCore.Qt.ArrowType.RightArrow)
        self.advanced_button.setAutoRaise(True)
        self.advanced_button.toggled.connect(self._on_advanced_toggled)
        column.addWidget(self.advanced_button)
        self.advanced_box = QtWidgets.QGroupBox(panel)
        form = QtWidgets.QFormLayout(self.advanced_box)
        settings = self._settings
        self.chunk_spin = QtWidgets.QSpinBox(self.advanced_box)
        self.chunk_spin.setRange(1, 1000)
        self.chunk_spin.setValue(settings.chunk_size)
        self.chunk_spin.setToolTip("Frames handed to a worker at a time (1 balances best)")
        self.chunk_spin.valueChanged.connect(self._emit_changed)
        form.addRow("Chunk size", self.chunk_spin)
        self.order_combo = QtWidgets.QComboBox(self.advanced_box)
        self.order_combo.addItem("sequential", FrameOrder.SEQUENTIAL.value)
        self.order_combo.addItem("preview first", FrameOrder.PREVIEW_FIRST.value)
        self.order_combo.setToolTip(
            "preview first: the first, last and middle frames, then the gaps, so the whole "
            "shot can be checked early"
        )
        self.order_combo.setCurrentIndex(0 if settings.frame_order is FrameOrder.SEQUENTIAL else 1)
        self.order_combo.currentIndexChanged.connect(self._emit_changed)
        form.addRow("Frame order", self.order_combo)
        self.attempts_spin = QtWidgets.QSpinBox(self.advanced_box)
        self.attempts_spin.setRange(1, 100)
        self.attempts_spin.setValue(settings.max_attempts)
        self.attempts_spin.setToolTip("A failing frame is tried this many times in all")
        self.attempts_spin.valueChanged.connect(self._emit_changed)
        form.addRow("Max attempts", self.attempts_spin)
        self.timeout_spin = QtWidgets.QDoubleSpinBox(self.advanced_box)
        self.timeout_spin.setRange(0.1, 1440.0)
        self.timeout_spin.setDecimals(1)
        self.timeout_spin.setSuffix(" min")
        self.timeout_spin.setValue(settings.frame_timeout / 60.0)
        self.timeout_spin.setToolTip(
            "A worker that prints nothing for this long is killed and its frame retried"
        )
        self.timeout_spin.valueChanged.connect(self._emit_changed)
        form.addRow("Frame timeout", self.timeout_spin)
        self.skip_existing_check = QtWidgets.QCheckBox("Skip frames whose images exist")
        self.skip_existing_check.toggled.connect(self._emit_changed)
        form.addRow("", self.skip_existing_check)
        self.advanced_box.setVisible(False)
        column.addWidget(self.advanced_box)
        return panel

    # ------------------------------------------------------------------ scene

    def scene(self) -> SceneDescription | None:
        """The scene as read, or None (no scene, still reading, or unreadable)."""
        return self._scene

    def scene_path(self) -> str:
        return self.scene_edit.text().strip()

    @property
    def loading(self) -> bool:
        return self._loading

    def set_scene_path(self, path: str, *, load: bool = True) -> None:
        self.scene_edit.setText(path)
        if load:
            self.load_scene()

    def use_current_scene(self) -> None:
        """Take the scene open in Maya (``current_scene``), if there is one."""
        if self._current_scene is None:
            return
        try:
            path = self._current_scene() or ""
        except Exception as exc:
            log.warning("could not ask Maya for the current scene: %s", exc)
            path = ""
        self.set_scene_path(path)

    def load_scene(self) -> None:
        """Read the scene's layers (in a worker thread unless the source needs the UI one)."""
        self._generation += 1
        self._scene = None
        self._scene_error = None
        self._loading = False
        self._fill_layers(None)
        path = self.scene_path()
        self._requested_path = path
        if path or self._current_scene is not None:
            try:
                source = self._factory(path)
            except Exception as exc:
                self._scene_error = str(exc) or type(exc).__name__
            else:
                if not _thread_safe(source):
                    try:
                        self._apply_scene(source.describe())
                    except Exception as exc:
                        self._scene_error = str(exc) or type(exc).__name__
                else:
                    self._loading = True
                    self._task = _DescribeTask(source, self._signals, self._generation)
                    self._pool.start(self._task)
        self._show_scene_state()
        self._update_validity()
        if not self._loading and self._scene is None:
            # emit_signal, not .emit(): PySide6 6.12's emit takes a reference from True
            emit_signal(self, "scene_loaded", None)

    def _on_scene_described(self, scene: object, generation: int) -> None:
        assert isinstance(scene, SceneDescription)
        self._task = None
        if generation != self._generation:
            return
        self._loading = False
        self._apply_scene(scene)
        self._show_scene_state()
        self._update_validity()

    def _on_scene_failed(self, reason: str, generation: int) -> None:
        self._task = None
        if generation != self._generation:
            return
        self._loading = False
        self._scene_error = reason
        self._show_scene_state()
        self._update_validity()
        # emit_signal, not .emit(): PySide6 6.12's emit takes a reference from True
        emit_signal(self, "scene_loaded", None)

    def _apply_scene(self, scene: SceneDescription) -> None:
        self._scene = scene
        self._fill_layers(scene)
        self._fill_cameras(scene)
        self.prefix_edit.setPlaceholderText(scene.image_prefix or "scene setting")
        known = RENDERERS.get(scene.renderer)
        shown = known.label if known is not None else scene.renderer
        self.renderer_combo.setItemText(0, f"scene setting ({shown})")
        # emit_signal, not .emit(): PySide6 6.12's emit takes a reference from True
        emit_signal(self, "scene_loaded", scene)

    def _show_scene_state(self) -> None:
        label = self.scene_label
        if self._loading:
            label.setText("Reading the scene…")
            style.set_status_colour(label, "info")
            label.setToolTip("")
        elif self._scene_error:
            label.setText(self._scene_error)
            style.set_status_colour(label, "error")
            label.setToolTip("")
        elif self._scene is not None:
            scene = self._scene
            renderable = len(scene.renderable_layers())
            parts = [
                f"Maya {scene.maya_version}" if scene.maya_version else "",
                scene.renderer,
                f"{len(scene.layers)} layers, {renderable} renderable",
                f"{scene.resolution[0]}x{scene.resolution[1]}",
            ]
            text = " · ".join(p for p in parts if p)
            if scene.warnings:
                text += f" · {len(scene.warnings)} warning(s)"
            label.setText(text)
            style.set_status_colour(label, "warning" if scene.warnings else "muted")
            label.setToolTip("\n".join(scene.warnings))
        else:
            label.setText("Choose the scene to render.")
            style.set_status_colour(label, "muted")
            label.setToolTip("")

    def _on_scene_edited(self) -> None:
        if self.scene_path() != self._requested_path or self._scene_error:
            self.load_scene()

    def _browse_scene(self) -> None:
        start = self.scene_path()
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Choose a scene to render", start, SCENE_FILTER
        )
        if path:
            self.set_scene_path(path)

    def _browse_output(self) -> None:
        path = QtWidgets.QFileDialog.getExistingDirectory(
            self, "Choose the output folder", self.output_edit.text()
        )
        if path:
            self.output_edit.setText(path)

    # ------------------------------------------------------------------ layers

    def _fill_layers(self, scene: SceneDescription | None) -> None:
        self.layer_list.blockSignals(True)
        self.layer_list.clear()
        if scene is not None:
            select_all = self.all_layers_check.isChecked()
            for layer in scene.layers:
                frames = format_frames(layer.frames) or "no frames"
                item = QtWidgets.QListWidgetItem(f"{layer.name}    {frames} · {layer.renderer}")
                item.setData(LAYER_ROLE, layer.name)
                item.setFlags(
                    QtCore.Qt.ItemFlag.ItemIsEnabled
                    | QtCore.Qt.ItemFlag.ItemIsUserCheckable
                    | QtCore.Qt.ItemFlag.ItemIsSelectable
                )
                checked = layer.renderable if select_all else False
                item.setCheckState(
                    QtCore.Qt.CheckState.Checked if checked else QtCore.Qt.CheckState.Unchecked
                )
                if not layer.renderable:
                    font = item.font()
                    font.setItalic(True)
                    item.setFont(font)
                    muted = style.status_text_colour("muted", self.layer_list.palette())
                    item.setForeground(QtGui.QBrush(QtGui.QColor(muted)))
                    item.setToolTip(
                        f"{layer.name} is not renderable in the scene; tick it to render it anyway"
                    )
                else:
                    item.setToolTip(
                        f"{layer.name}: frames {frames}, {layer.renderer}, "
                        f"{layer.resolution[0]}x{layer.resolution[1]}"
                    )
                self.layer_list.addItem(item)
        self.layer_list.blockSignals(False)
        self._update_layers_summary()

    def _fill_cameras(self, scene: SceneDescription) -> None:
        cameras: list[str] = []
        for name in [*scene.renderable_cameras, *(c for lay in scene.layers for c in lay.cameras)]:
            if name not in cameras:
                cameras.append(name)
        self.camera_combo.blockSignals(True)
        while self.camera_combo.count() > 1:
            self.camera_combo.removeItem(1)
        for name in cameras:
            self.camera_combo.addItem(name, name)
        self.camera_combo.setCurrentIndex(0)
        self.camera_combo.blockSignals(False)

    def _items(self) -> list[QtWidgets.QListWidgetItem]:
        return [self.layer_list.item(i) for i in range(self.layer_list.count())]

    def layer_names(self) -> list[str]:
        return [str(item.data(LAYER_ROLE)) for item in self._items()]

    def checked_layers(self) -> list[str]:
        """The ticked layers, in the scene's render order."""
        return [
            str(item.data(LAYER_ROLE))
            for item in self._items()
            if item.checkState() == QtCore.Qt.CheckState.Checked
        ]

    def set_layer_checked(self, name: str, checked: bool) -> None:
        for item in self._items():
            if item.data(LAYER_ROLE) == name:
                item.setCheckState(
                    QtCore.Qt.CheckState.Checked if checked else QtCore.Qt.CheckState.Unchecked
                )

    def _renderable_names(self) -> list[str]:
        return [layer.name for layer in self._scene.renderable_layers()] if self._scene else []

    def _on_all_layers_toggled(self, on: bool) -> None:
        if on:
            renderable = set(self._renderable_names())
            self.layer_list.blockSignals(True)
            for item in self._items():
                checked = item.data(LAYER_ROLE) in renderable
                item.setCheckState(
                    QtCore.Qt.CheckState.Checked if checked else QtCore.Qt.CheckState.Unchecked
                )
            self.layer_list.blockSignals(False)
        self._update_layers_summary()
        self._update_validity()
        # emit_signal, not .emit(): PySide6 6.12's emit takes a reference from True
        emit_signal(self, "changed")

    def _on_layer_item_changed(self, _item: QtWidgets.QListWidgetItem) -> None:
        matches = self._scene is not None and self.checked_layers() == self._renderable_names()
        if matches != self.all_layers_check.isChecked():
            self.all_layers_check.blockSignals(True)
            self.all_layers_check.setChecked(matches)
            self.all_layers_check.blockSignals(False)
        self._update_layers_summary()
        self._update_validity()
        # emit_signal, not .emit(): PySide6 6.12's emit takes a reference from True
        emit_signal(self, "changed")

    def selected_frame_count(self) -> int:
        """Frames the batch would render with the current choices (0 when unknown)."""
        if self._scene is None or self._frames_error:
            return 0
        total = 0
        for name in self.checked_layers():
            layer = self._scene.layer(name)
            if layer is not None:
                total += len(self._frames) if self._frames is not None else len(layer.frames)
        return total

    def _update_layers_summary(self) -> None:
        if self._scene is None:
            self.layers_summary.setText("")
            return
        count = len(self.checked_layers())
        word = "layer" if count == 1 else "layers"
        if not count:
            text = "no layer ticked"
        elif self._frames_error:
            text = f"{count} {word}"
        else:
            text = f"{count} {word} · {self.selected_frame_count():,} frames"
        self.layers_summary.setText(text)

    # ------------------------------------------------------------------ frames

    def set_frames(self, text: str) -> None:
        self.frames_edit.setText(text)

    def frames_text(self) -> str:
        return self.frames_edit.text()

    def frames_preview(self) -> str:
        """The grey preview or the red error under the frame field, as shown."""
        return self.frames_message.text()

    @property
    def frames_valid(self) -> bool:
        return self._frames_error is None

    def _on_frames_edited(self, text: str) -> None:
        self._frames_error = None
        self._frames = None
        if text.strip():
            try:
                self._frames = parse_frames(text, max_frames=self._settings.max_frames)
            except FrameRangeError as exc:
                self._frames_error = f"{exc.message} (at column {exc.position + 1})"
        if self._frames_error:
            self.frames_message.setText(self._frames_error)
            style.set_status_colour(self.frames_message, "error")
            self._mark_frames_invalid(True)
            self.frames_edit.setToolTip(self._frames_error)
        else:
            shown = preview_text(self._frames) if self._frames is not None else None
            self.frames_message.setText(shown or EMPTY_FRAMES_PREVIEW)
            style.set_status_colour(self.frames_message, "muted")
            self._mark_frames_invalid(False)
        self._update_layers_summary()
        self._update_validity()
        # emit_signal, not .emit(): PySide6 6.12's emit takes a reference from True
        emit_signal(self, "changed")

    def _mark_frames_invalid(self, invalid: bool) -> None:
        """Show a bad frame list in the field by colour only (a tinted field, and the style
        sheet's red border of the same width): the field keeps its size."""
        edit = self.frames_edit
        if edit.property("invalid") is not None and bool(edit.property("invalid")) == invalid:
            return
        edit.setProperty("invalid", invalid)
        parent = edit.parentWidget()
        palette = QtGui.QPalette(parent.palette() if parent is not None else edit.palette())
        if invalid:
            tint = "#4a2a2a" if style.is_dark(palette) else "#fde8e8"
            palette.setColor(QtGui.QPalette.ColorRole.Base, QtGui.QColor(tint))
        edit.setPalette(palette)
        qstyle = edit.style()
        qstyle.unpolish(edit)
        qstyle.polish(edit)
        edit.update()

    # ------------------------------------------------------------------ lock

    @property
    def locked(self) -> bool:
        return self._locked

    def set_locked(self, locked: bool, note: str = "") -> None:
        """Lock the setup while a batch renders: every field is disabled and ``note`` (one
        line, e.g. "Setup is locked while batch X renders…") says why; unlocking restores
        what each field was (a field disabled for its own reason stays disabled)."""
        self._locked = locked
        for section in self._sections:
            section.setEnabled(not locked)
        self.lock_note.setText(note if locked else "")
        style.set_status_colour(self.lock_note, "info")
        self.lock_note.setVisible(locked and bool(note))

    # ------------------------------------------------------------------ devices

    def set_system_info(self, info: SystemInfo) -> None:
        """Offer a checkbox per GPU; those kept for Maya or broken are shown but disabled."""
        usable = {g.index for g in info.available_gpus()}
        previous = self._system
        if previous is not None and [(g.index, g.index in usable) for g in info.gpus] == [
            (g.index, g.index in {a.index for a in previous.available_gpus()})
            for g in previous.gpus
        ]:
            self._system = info
            return
        self._system = info
        for box in self._gpu_boxes.values():
            self._gpu_grid.removeWidget(box)
            box.hide()
            box.deleteLater()
        self._gpu_boxes = {}
        per_row = 4
        for n, gpu in enumerate(info.gpus):
            box = QtWidgets.QCheckBox(f"GPU {gpu.index}", self._gpu_panel)
            if gpu.index in usable:
                box.setChecked(True)
                box.setToolTip(f"Render on GPU {gpu.index} ({gpu.name})")
            else:
                box.setEnabled(False)
                why = (
                    f"unusable: {gpu.error}"
                    if gpu.error
                    else "kept for your interactive Maya (reserve_gpus in the settings)"
                )
                box.setText(f"GPU {gpu.index} (Maya)" if not gpu.error else f"GPU {gpu.index} ✕")
                box.setToolTip(f"GPU {gpu.index} ({gpu.name}): {why}")
            box.toggled.connect(self._on_gpu_toggled)
            self._gpu_grid.addWidget(box, n // per_row, n % per_row)
            self._gpu_boxes[gpu.index] = box
        # the boxes come after the other fields were made: put them where they are shown
        previous_widget: QtWidgets.QWidget = self.prefix_edit
        for box in self._gpu_boxes.values():
            QtWidgets.QWidget.setTabOrder(previous_widget, box)
            previous_widget = box
        self._show_disabled_gpus(set())  # new boxes: ticked as usual, marked
        if not usable:
            self._gpu_note.setText(
                "No GPU is free for rendering: the batch renders on the CPU."
                if info.gpus or info.gpu_error
                else ""
            )
            self.cpu_check.setChecked(True)
            self.cpu_check.setEnabled(False)
            self.cpu_check.setToolTip("No GPU is free for rendering (see the system panel)")
        else:
            self._gpu_note.setText("")
            self.cpu_check.setEnabled(True)
            self.cpu_check.setToolTip("Render on the CPU cores Maya does not keep")
        self._gpu_note.setVisible(bool(self._gpu_note.text()))
        self._gpu_grid.addWidget(self._gpu_note, (len(info.gpus) - 1) // per_row + 1, 0, 1, 4)
        self._on_cpu_toggled(self.cpu_check.isChecked())

    def set_disabled_gpus(self, reasons: dict[int, str], *, untick: bool = True) -> None:
        """GPUs the batch took out (a worker disabled: out of memory, a driver error...),
        with the reason. Such a GPU's box is unticked once, when it is first reported, and
        marked with the reason: the next batch does not use it unless the artist ticks it
        again (the box stays enabled for that). When that would leave no GPU ticked (every
        worker disabled: the cause is the licence or the scene, not a GPU) the boxes stay
        ticked and are only marked. An empty dict clears the marks.

        Args:
            untick: False while the batch still runs (its GPUs are reported one by one):
                mark only; the unticking waits for the call after the batch ended.
        """
        reasons = {int(index): str(reason) for index, reason in reasons.items()}
        changed = reasons != self._disabled_gpus
        self._disabled_gpus = reasons
        self._unticked &= set(reasons)
        to_untick: set[int] = set()
        pending = set(reasons) - self._unticked
        if untick and pending:
            self._unticked |= pending
            if set(self.checked_gpus()) - set(reasons):  # else nothing would be left
                to_untick = pending
        if changed or to_untick:
            self._show_disabled_gpus(to_untick)

    def disabled_gpus(self) -> dict[int, str]:
        return dict(self._disabled_gpus)

    def _show_disabled_gpus(self, untick: set[int]) -> None:
        system = self._system
        if system is None:
            return
        usable = {g.index for g in system.available_gpus()}
        for index, box in self._gpu_boxes.items():
            if index not in usable:
                continue  # kept for Maya or unusable: its own text says so
            reason = self._disabled_gpus.get(index)
            name = next((g.name for g in system.gpus if g.index == index), "")
            if reason is None:
                box.setText(f"GPU {index}")
                box.setToolTip(f"Render on GPU {index} ({name})")
                style.set_text_colour(box, None)
                continue
            if index in untick and box.isChecked():
                box.setChecked(False)
            box.setText(f"GPU {index}: disabled")
            box.setToolTip(
                f"GPU {index} ({name}) was disabled in the last batch: {reason}\n"
                "Tick it to render on it again in the next batch."
            )
            style.set_status_colour(box, "warning")

    def focus_order(self) -> list[QtWidgets.QWidget]:
        """The fields in the order Tab visits them: top to bottom, the GPU boxes where they
        are shown."""
        widgets: list[QtWidgets.QWidget] = [self.scene_edit, self.browse_button]
        current = getattr(self, "current_button", None)
        if current is not None:
            widgets.append(current)
        widgets += [
            self.all_layers_check,
            self.layer_list,
            self.frames_edit,
            self.renderer_combo,
            self.camera_combo,
            self.output_edit,
            self.output_button,
            self.prefix_edit,
            *self._gpu_boxes.values(),
            self.processes_spin,
            self.cpu_check,
            self.threads_spin,
            self.advanced_button,
            self.chunk_spin,
            self.order_combo,
            self.attempts_spin,
            self.timeout_spin,
            self.skip_existing_check,
        ]
        return widgets

    def checked_gpus(self) -> list[int]:
        return [index for index, box in self._gpu_boxes.items() if box.isChecked()]

    def _usable_gpus(self) -> list[int]:
        return [index for index, box in self._gpu_boxes.items() if box.isEnabled()]

    def _on_gpu_toggled(self, _on: bool) -> None:
        self._update_validity()
        # emit_signal, not .emit(): PySide6 6.12's emit takes a reference from True
        emit_signal(self, "changed")

    def _on_cpu_toggled(self, on: bool) -> None:
        self.threads_spin.setEnabled(on)
        for index, box in self._gpu_boxes.items():
            usable = self._system is not None and index in {
                g.index for g in self._system.available_gpus()
            }
            box.setEnabled(usable and not on)
        self._processes_label.setText("CPU workers" if on else "Workers per GPU")
        self._update_validity()
        # emit_signal, not .emit(): PySide6 6.12's emit takes a reference from True
        emit_signal(self, "changed")

    def _on_advanced_toggled(self, on: bool) -> None:
        self.advanced_box.setVisible(on)
        self.advanced_button.setArrowType(
            QtCore.Qt.ArrowType.DownArrow if on else QtCore.Qt.ArrowType.RightArrow
        )

    def set_output_dir(self, path: str) -> None:
        self.output_edit.setText(path)

    # ------------------------------------------------------------------ result

    def validation_error(self) -> str | None:
        """Why Start is not possible now, in one sentence; None when the input is valid."""
        if not self.scene_path() and self._current_scene is None:
            return "Choose a scene to render."
        if self._loading:
            return "Reading the scene…"
        if self._scene_error:
            return f"The scene cannot be used: {self._scene_error}"
        if self._scene is None:
            return "Press Enter in the scene field to read the scene."
        if self._frames_error:
            return f"Fix the frame list: {self._frames_error}"
        checked = self.checked_layers()
        if not checked:
            if not self._renderable_names():
                return "No layer of this scene is renderable: tick the layers to render."
            return "Tick at least one layer to render."
        if self._frames is None:
            for name in checked:
                layer = self._scene.layer(name)
                if layer is not None and not layer.frames:
                    return f"Layer {name} has no frames in the scene: type a frame list."
        if not self.cpu_check.isChecked() and self._usable_gpus() and not self.checked_gpus():
            return "Tick at least one GPU, or render on the CPU."
        return None

    def is_valid(self) -> bool:
        return self.validation_error() is None

    def _update_validity(self) -> None:
        reason = self.validation_error()
        state = (reason is None, reason or "")
        if state != self._validity:
            self._validity = state
            # emit_signal, not .emit(): PySide6 6.12's emit takes a reference from True
            emit_signal(self, "validity_changed", *state)

    def _emit_changed(self, *_args: Any) -> None:
        # emit_signal, not .emit(): PySide6 6.12's emit takes a reference from True
        emit_signal(self, "changed")

    def config(self) -> RenderConfig:
        """The :class:`RenderConfig` for the current choices (check :meth:`validation_error`
        first: this does not validate)."""
        cpu_mode = self.cpu_check.isChecked()
        all_layers = self.all_layers_check.isChecked() and bool(self._renderable_names())
        gpus: list[int] | None = None
        if not cpu_mode:
            checked = self.checked_gpus()
            if sorted(checked) != sorted(self._usable_gpus()):
                gpus = checked
        threads = self.threads_spin.value()
        return RenderConfig(
            scene=self.scene_path(),
            layers=[] if all_layers else self.checked_layers(),
            frames=self.frames_text().strip(),
            renderer=self.renderer_combo.currentData(),
            camera=self.camera_combo.currentData(),
            output_dir=self.output_edit.text().strip() or None,
            image_prefix=self.prefix_edit.text().strip() or None,
            gpus=gpus,
            processes_per_gpu=self.processes_spin.value(),
            cpu_mode=cpu_mode,
            cpu_threads=threads if cpu_mode and threads > 0 else None,
            chunk_size=self.chunk_spin.value(),
            frame_order=FrameOrder(self.order_combo.currentData()),
            max_attempts=self.attempts_spin.value(),
            frame_timeout=round(self.timeout_spin.value() * 60.0, 3),
            skip_existing=self.skip_existing_check.isChecked(),
        )

    def shutdown(self, wait_ms: int = 3000) -> None:
        """Wait for a scene read still running (before the widget goes)."""
        self._generation += 1
        self._pool.waitForDone(wait_ms)
