"""The latest finished frame of a layer (or the frame chosen in the strip), as a thumbnail.

A compact panel for the dashboard (usable at about 200 px wide): a layer chooser, the
thumbnail, a caption ``"BG · frame 12 · PNG · 1920x1080 · 3.2 MB"`` and three buttons:
"Open" (the studio viewer of the ``image_viewer`` setting, else the system's
application), "Folder" (the output folder) and "Copy path".

Cheap on the GUI thread: a finished frame is a dictionary entry; at most one thumbnail
decode for this panel is in flight (in :class:`ThumbnailLoader`'s pool): when frames
finish faster than thumbnails decode, the panel skips to the newest one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from Qt import QtCore, QtGui, QtWidgets

from lrc_toolbox.config.batch_render_defaults import viewer_command
from lrc_toolbox.core.qt_compat import emit_signal
from lrc_toolbox.ui import style
from lrc_toolbox.ui.widgets.log_view import UrlOpener
from lrc_toolbox.ui.widgets.thumbnails import Thumbnail, ThumbnailLoader

if TYPE_CHECKING:
    from lrc_toolbox.ui.dialogs.render_progress_widget import FrameStrip

__all__ = ["DetachedStarter", "FramePreview", "start_detached"]

#: ``start(program, arguments) -> started``; :func:`start_detached` by default
DetachedStarter = Callable[[str, list[str]], bool]

_SEP = " \u00b7 "


def start_detached(program: str, arguments: list[str]) -> bool:
    """Start a program detached (no shell); whether it started."""
    result = QtCore.QProcess.startDetached(program, arguments)
    started = result[0] if isinstance(result, tuple) else result  # PySide6: (ok, pid)
    return bool(started)


class FramePreview(QtWidgets.QWidget):
    """Thumbnail, caption and actions for one frame of the batch.

    Feed it :meth:`frame_done` for every finished frame; it follows the latest frame of
    the chosen layer until :meth:`show_frame` picks one (choosing a layer again follows
    its latest frame again).

    Args:
        image_viewer: the ``image_viewer`` setting (None: the system's application).
        opener: opens a file or folder URL; ``QDesktopServices.openUrl`` by default
            (tests pass a fake). Also settable later as the ``open_url`` attribute.
        starter: starts the viewer detached (tests may pass a fake).
        loader: a shared :class:`ThumbnailLoader`; None makes one.

    Signals:
        message(text, level): something the user should read (``"info"``, ``"warning"``,
            ``"error"``); the dashboard shows it.
    """

    message = QtCore.Signal(str, str)

    def __init__(
        self,
        *,
        image_viewer: str | None = None,
        opener: UrlOpener | None = None,
        starter: DetachedStarter | None = None,
        loader: ThumbnailLoader | None = None,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.image_viewer = image_viewer
        self.open_url: UrlOpener = opener or QtGui.QDesktopServices.openUrl
        self.start_detached: DetachedStarter = starter or start_detached
        self.loader = loader if loader is not None else ThumbnailLoader(parent=self)
        self.loader.ready.connect(self._on_ready)
        self._outputs: dict[tuple[str, int], list[str]] = {}
        self._latest: dict[str, int] = {}  # layer -> its last finished frame
        self._output_dir: str | None = None
        self._shown: tuple[str, int] | None = None
        self._follow = True
        self._wanted: str | None = None  # the path whose thumbnail should show
        self._in_flight: str | None = None  # this panel's one pending request
        self._thumbnail: Thumbnail | None = None
        self._hover_back: tuple[tuple[str, int] | None, bool] | None = None
        self._build()
        self._refresh_actions()

    # ------------------------------------------------------------------ layout

    def _build(self) -> None:
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.layer_combo = QtWidgets.QComboBox(self)
        self.layer_combo.setToolTip("The layer whose latest finished frame is shown")
        self.layer_combo.setAccessibleName("Preview layer")
        self.layer_combo.setSizeAdjustPolicy(
            QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.layer_combo.setMinimumContentsLength(6)
        self.layer_combo.activated.connect(self._on_layer_chosen)
        layout.addWidget(self.layer_combo)

        self.image_label = QtWidgets.QLabel(self)
        self.image_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.image_label.setMinimumSize(120, 80)
        self.image_label.setSizePolicy(
            QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Ignored
        )
        self.image_label.setWordWrap(True)
        self.image_label.setFrameShape(QtWidgets.QFrame.Shape.StyledPanel)
        self.image_label.setAccessibleName("Frame thumbnail")
        layout.addWidget(self.image_label, 1)

        self.caption = QtWidgets.QLabel(self)
        self.caption.setWordWrap(True)
        self.caption.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        lines = 2 * self.caption.fontMetrics().lineSpacing()
        self.caption.setMinimumHeight(lines)  # two lines reserved: no layout jump
        layout.addWidget(self.caption)

        buttons = QtWidgets.QHBoxLayout()
        buttons.setSpacing(4)
        self.open_button = QtWidgets.QPushButton("Open", self)
        self.open_button.setToolTip("Open the frame in the image viewer (double-click a cell)")
        self.open_button.clicked.connect(self.open_frame)
        self.folder_button = QtWidgets.QPushButton("Folder", self)
        self.folder_button.setToolTip("Open the output folder")
        self.folder_button.clicked.connect(self.open_output_folder)
        self.copy_button = QtWidgets.QPushButton("Copy path", self)
        self.copy_button.setToolTip("Copy the frame's path to the clipboard")
        self.copy_button.clicked.connect(self.copy_path)
        for button in (self.open_button, self.folder_button, self.copy_button):
            button.setAutoDefault(False)
            button.setSizePolicy(
                QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Fixed
            )
            buttons.addWidget(button)
        layout.addLayout(buttons)
        self._show_placeholder("No frame yet: finished frames appear here")
        self.caption.setText("")

    def minimumSizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(180, 160)

    def sizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(260, 240)

    # ------------------------------------------------------------------ feeding

    def frame_done(self, layer: str, frame: int, outputs: Sequence[str]) -> None:
        """A frame finished: ``outputs`` are its image paths, the beauty first."""
        if not outputs:
            return
        self._outputs[(layer, frame)] = list(outputs)
        self._latest[layer] = frame
        if self.layer_combo.findText(layer) < 0:
            self.layer_combo.addItem(layer)
        if self.layer_combo.currentIndex() < 0 or not self.layer_combo.currentText():
            self.layer_combo.setCurrentIndex(self.layer_combo.findText(layer))
        if self._follow and layer == self.layer_combo.currentText():
            self._show(layer, frame)

    def frames_done(self, frames: Sequence[tuple[str, int, Sequence[str]]]) -> None:
        """Many finished frames at once (the dashboard's 100 ms flush): each is recorded,
        the panel shows only the newest of its layer, once."""
        followed_before = self.layer_combo.currentText()
        for layer, frame, outputs in frames:
            if not outputs:
                continue
            self._outputs[(layer, frame)] = list(outputs)
            self._latest[layer] = frame
            if self.layer_combo.findText(layer) < 0:
                self.layer_combo.addItem(layer)
        if self.layer_combo.count() and not self.layer_combo.currentText():
            self.layer_combo.setCurrentIndex(0)
        followed = self.layer_combo.currentText()
        latest = self._latest.get(followed)
        if (
            self._follow
            and latest is not None
            and (followed != followed_before or self._shown != (followed, latest))
        ):
            self._show(followed, latest)

    def on_frame_finished(self, _worker: str, layer: str, frame: int, outputs: object) -> None:
        """A slot for ``BatchRenderAPI.frame_finished`` (worker, layer, frame, outputs)."""
        if isinstance(outputs, (list, tuple)):
            self.frame_done(layer, frame, [str(path) for path in outputs])

    def connect_strip(self, strip: FrameStrip) -> None:
        """Follow a frame strip: its selection and hovered cell show here, a double-click
        or Enter opens the frame, a cell's context menu offers this panel's actions."""
        strip.frame_selected.connect(self.show_frame)
        strip.frame_hovered.connect(self.hover_frame)
        strip.frame_activated.connect(self.open_frame_at)
        strip.frame_menu_requested.connect(self.show_menu)

    def show_frame(self, layer: str, frame: int) -> None:
        """Show one frame (the strip's selection); stops following the latest frame."""
        self._hover_back = None
        self._follow = False
        index = self.layer_combo.findText(layer)
        if index >= 0:
            self.layer_combo.setCurrentIndex(index)
        self._show(layer, frame)

    def hover_frame(self, layer: str, frame: int) -> None:
        """Show a hovered strip cell while the mouse is on it (``frame < 0``: it left, the
        selection or the latest frame shows again); a cell never rendered is ignored."""
        if frame < 0 or (layer, frame) not in self._outputs:
            if self._hover_back is not None:
                back, self._hover_back = self._hover_back, None
                if back[0] is not None:
                    self._show(*back[0])
                self._follow = back[1]
                if self._follow:
                    self.follow_latest()
            return
        if self._hover_back is None:
            self._hover_back = (self._shown, self._follow)
        self._follow = False
        self._show(layer, frame)

    def open_frame_at(self, layer: str, frame: int) -> bool:
        """Show and open one frame (the strip's ``frame_activated``)."""
        self.show_frame(layer, frame)
        return self.open_frame()

    def menu_for(self, layer: str, frame: int) -> QtWidgets.QMenu:
        """A context menu for a strip cell: Open frame, Open output folder, Copy path
        (the frame is shown first; actions of a frame not rendered are disabled)."""
        self.show_frame(layer, frame)
        menu = QtWidgets.QMenu(self)
        has_frame = self.current_path() is not None
        for text, slot, enabled in (
            ("Open frame", self.open_frame, has_frame),
            ("Open output folder", self.open_output_folder, self.output_folder() is not None),
            ("Copy path", self.copy_path, has_frame),
        ):
            action = menu.addAction(text)
            action.setEnabled(enabled)
            action.triggered.connect(slot)
        return menu

    def show_menu(self, layer: str, frame: int, global_pos: QtCore.QPoint) -> None:
        """Pop up :meth:`menu_for` at ``global_pos`` (the strip's ``frame_menu_requested``)."""
        menu = self.menu_for(layer, frame)
        menu.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(global_pos)

    def follow_latest(self, layer: str | None = None) -> None:
        """Show the latest finished frame of ``layer`` (the chosen one) from now on."""
        self._hover_back = None
        self._follow = True
        if layer is not None and self.layer_combo.findText(layer) >= 0:
            self.layer_combo.setCurrentIndex(self.layer_combo.findText(layer))
        name = self.layer_combo.currentText()
        if name in self._latest:
            self._show(name, self._latest[name])

    def set_output_dir(self, path: str | os.PathLike[str] | None) -> None:
        """The batch's output folder ("Folder" opens it; else the shown frame's folder)."""
        self._output_dir = None if path is None else os.fspath(path)
        self._refresh_actions()

    def set_image_viewer(self, command: str | None) -> None:
        """The ``image_viewer`` setting (None: the system's application)."""
        self.image_viewer = command

    def clear(self) -> None:
        """Forget every frame (a new batch)."""
        self._outputs.clear()
        self._latest.clear()
        self._shown = None
        self._follow = True
        self._wanted = None
        self._thumbnail = None
        self._hover_back = None
        self.layer_combo.clear()
        self._show_placeholder("No frame yet: finished frames appear here")
        self.caption.setText("")
        self._refresh_actions()

    # ------------------------------------------------------------------ state

    def shown_frame(self) -> tuple[str, int] | None:
        return self._shown

    def current_path(self) -> str | None:
        """The shown frame's beauty image, or None."""
        if self._shown is None:
            return None
        outputs = self._outputs.get(self._shown)
        return outputs[0] if outputs else None

    def caption_text(self) -> str:
        return str(self.caption.text())

    def _show(self, layer: str, frame: int) -> None:
        self._shown = (layer, frame)
        path = self.current_path()
        self._refresh_actions()
        if path is None:
            self._wanted = None
            self._thumbnail = None
            self._show_placeholder("Not rendered yet")
            self.caption.setText(f"{layer}{_SEP}frame {frame}{_SEP}not rendered yet")
            return
        self._wanted = path
        known = self.loader.latest(path)
        if known is not None:
            self._display(known)
        else:
            self.caption.setText(f"{layer}{_SEP}frame {frame}{_SEP}loading\u2026")
        if self._in_flight is None:
            self._in_flight = path
            self.loader.request(path)

    def _on_ready(self, thumbnail: object) -> None:
        assert isinstance(thumbnail, Thumbnail)
        if thumbnail.path == self._in_flight:
            self._in_flight = None
        if thumbnail.path == self._wanted:
            self._display(thumbnail)
        elif self._in_flight is None and self._wanted is not None:
            self._in_flight = self._wanted  # frames finished meanwhile: the newest only
            self.loader.request(self._wanted)

    def _display(self, thumbnail: Thumbnail) -> None:
        self._thumbnail = thumbnail
        layer, frame = self._shown if self._shown is not None else ("", 0)
        pixmap = self.loader.pixmap(thumbnail)
        if pixmap is not None:
            self._set_pixmap(pixmap)
        elif thumbnail.bytes < 0:
            self._show_placeholder(f"Frame file missing:\n{os.path.basename(thumbnail.path)}")
        else:
            self._show_placeholder(f"{thumbnail.describe()}\n{thumbnail.reason or ''}".strip())
        self.caption.setText(f"{layer}{_SEP}frame {frame}{_SEP}{thumbnail.describe()}")
        self.caption.setToolTip(
            thumbnail.path + (f"\n{thumbnail.reason}" if thumbnail.reason else "")
        )

    def _set_pixmap(self, pixmap: QtGui.QPixmap) -> None:
        size = self.image_label.contentsRect().size()
        if (
            size.width() > 8
            and size.height() > 8
            and (pixmap.width() > size.width() or pixmap.height() > size.height())
        ):
            pixmap = pixmap.scaled(
                size,
                QtCore.Qt.AspectRatioMode.KeepAspectRatio,
                QtCore.Qt.TransformationMode.SmoothTransformation,
            )
        style.set_text_colour(self.image_label, None)
        self.image_label.setPixmap(pixmap)

    def _show_placeholder(self, text: str) -> None:
        self.image_label.clear()
        style.set_text_colour(self.image_label, style.MUTED)
        self.image_label.setText(text)

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._thumbnail is not None and self._thumbnail.image is not None:
            pixmap = self.loader.pixmap(self._thumbnail)
            if pixmap is not None:
                self._set_pixmap(pixmap)

    def _refresh_actions(self) -> None:
        has_frame = self.current_path() is not None
        self.open_button.setEnabled(has_frame)
        self.copy_button.setEnabled(has_frame)
        self.folder_button.setEnabled(has_frame or self._output_dir is not None)

    def _on_layer_chosen(self, index: int) -> None:
        self.follow_latest(self.layer_combo.itemText(index))

    # ------------------------------------------------------------------ actions

    def _say(self, text: str, level: str) -> None:
        # emit_signal, not .emit(): PySide6 6.12's emit takes a reference from True
        emit_signal(self, "message", text, level)

    def open_frame(self) -> bool:
        """Open the shown frame: in the studio viewer when set and it starts, else with
        the system's application. Returns False (with a message) when there is none."""
        path = self.current_path()
        if path is None:
            self._say("No frame to open yet: wait for a frame to finish.", "warning")
            return False
        if not os.path.isfile(path):
            self._say(f"Cannot open {path}: the file is not there (moved or deleted?).", "error")
            return False
        if self.image_viewer:
            command = viewer_command(self.image_viewer)
            if command and self.start_detached(command[0], [*command[1:], path]):
                return True
            self._say(
                f"The image viewer {self.image_viewer!r} did not start: check the "
                "image_viewer setting (the program must exist and be executable). "
                "Opening the frame with the system's viewer instead.",
                "error",
            )
        self.open_url(QtCore.QUrl.fromLocalFile(path))
        return True

    def output_folder(self) -> str | None:
        """The output folder set, else the shown frame's folder."""
        if self._output_dir is not None:
            return self._output_dir
        path = self.current_path()
        return str(Path(path).parent) if path is not None else None

    def open_output_folder(self) -> bool:
        """Open the output folder in the file browser; False (with a message) if missing."""
        folder = self.output_folder()
        if folder is None:
            self._say("No output folder yet: it is known once a batch starts.", "warning")
            return False
        if not os.path.isdir(folder):
            self._say(
                f"The output folder {folder} does not exist yet: it appears with the first "
                "finished frame.",
                "warning",
            )
            return False
        self.open_url(QtCore.QUrl.fromLocalFile(folder))
        return True

    def copy_path(self) -> bool:
        """Put the shown frame's path on the clipboard."""
        path = self.current_path()
        if path is None:
            self._say("No frame yet: there is no path to copy.", "warning")
            return False
        clipboard = QtWidgets.QApplication.clipboard()
        if clipboard is None:  # pragma: no cover - always there with a QApplication
            return False
        clipboard.setText(path)
        self._say(f"Copied {path}", "info")
        return True

    def shutdown(self, wait_ms: int = 3000) -> None:
        """Drop queued thumbnail decodes and wait for the running one."""
        self.loader.shutdown(wait_ms)
