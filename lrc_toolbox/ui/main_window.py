"""The LRC Toolbox main window: a small home for the toolbox's tools.

Its menu bar has Render > Batch Render Manager, which opens ONE dashboard: opening it again
raises the window that is already there (it may be rendering in the background).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from Qt import QtCore, QtGui, QtWidgets

import lrc_toolbox

# imported for its check of the binding, made before the window's first event (the loop runs
# for hours): PySide6 6.12 takes a reference from None per call, see reserve_none_references
from lrc_toolbox.core import qtcore  # noqa: F401

if TYPE_CHECKING:  # both are imported when the dashboard is first opened
    from lrc_toolbox.core.batch_render_api import BatchRenderAPI
    from lrc_toolbox.ui.dialogs.batch_render_dialog import BatchRenderDialog

__all__ = ["MainWindow"]

WELCOME = """<h2>LRC Toolbox</h2>
<p>Tools for lighting, rendering and compositing in Maya.</p>
<p><b>Render &gt; Batch Render Manager</b> renders render layers and frame lists in the
background, one worker per free GPU, while one GPU stays with this Maya session.
Keep working: the renders do not block Maya.</p>"""


class MainWindow(QtWidgets.QMainWindow):
    """The toolbox window.

    Args:
        api: the ``BatchRenderAPI`` the dashboard uses; None creates one (with the user's
            settings) when the dashboard is first opened, and shuts it down on close: a
            ``ServiceBatchAPI`` when ``render_service`` is on (the default: the batch
            renders in the local render service and outlives this window and process),
            else a ``BatchRenderAPI`` that renders in this process.
        scene_source_factory: passed to the dashboard (tests, Maya's live session).
        current_scene: passed to the dashboard (in Maya: the open scene's path).
        dialog_setup: called with each new dashboard (the demo pre-fills a scene).
    """

    def __init__(
        self,
        api: BatchRenderAPI | None = None,
        parent: QtWidgets.QWidget | None = None,
        *,
        scene_source_factory: Callable[[str], Any] | None = None,
        current_scene: Callable[[], str | None] | None = None,
        dialog_setup: Callable[[BatchRenderDialog], None] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("LRCToolboxMainWindow")
        self.setWindowTitle("LRC Toolbox")
        self._api = api
        self._owns_api = api is None
        self._scene_source_factory = scene_source_factory
        self._current_scene = current_scene
        self._dialog_setup = dialog_setup
        self._batch_render_dialog: BatchRenderDialog | None = None
        self._about_box: QtWidgets.QMessageBox | None = None

        welcome = QtWidgets.QLabel(WELCOME, self)
        welcome.setObjectName("LRCWelcome")
        welcome.setWordWrap(True)
        welcome.setAlignment(QtCore.Qt.AlignmentFlag.AlignTop | QtCore.Qt.AlignmentFlag.AlignLeft)
        welcome.setMargin(16)
        open_button = QtWidgets.QPushButton("Open the Batch Render Manager", self)
        open_button.clicked.connect(self._open_batch_render_dialog)
        central = QtWidgets.QWidget(self)
        column = QtWidgets.QVBoxLayout(central)
        column.addWidget(welcome)
        column.addWidget(open_button, 0, QtCore.Qt.AlignmentFlag.AlignLeft)
        column.addStretch(1)
        self.setCentralWidget(central)
        self._create_menu_bar()
        self.statusBar().showMessage(f"LRC Toolbox {lrc_toolbox.__version__}")
        self.resize(520, 300)

    # ------------------------------------------------------------------ menus

    def _create_menu_bar(self) -> None:
        menu_bar = self.menuBar()
        # kept as attributes: PySide2 may otherwise drop the Python side of a menu
        self.file_menu = file_menu = menu_bar.addMenu("&File")
        close_action = QtGui.QAction("Close", self)
        close_action.setShortcut(QtGui.QKeySequence.StandardKey.Close)
        close_action.triggered.connect(self.close)
        file_menu.addAction(close_action)

        self.render_menu = render_menu = menu_bar.addMenu("&Render")
        batch_render_action = QtGui.QAction("Batch Render Manager", self)
        batch_render_action.setObjectName("LRCBatchRenderAction")
        batch_render_action.setStatusTip(
            "Render layers and frames in the background, one worker per free GPU"
        )
        batch_render_action.triggered.connect(self._open_batch_render_dialog)
        render_menu.addAction(batch_render_action)
        self.batch_render_action = batch_render_action

        self.help_menu = help_menu = menu_bar.addMenu("&Help")
        about_action = QtGui.QAction("About LRC Toolbox", self)
        about_action.triggered.connect(self._show_about)
        help_menu.addAction(about_action)

    # ------------------------------------------------------------------ the dashboard

    @property
    def api(self) -> BatchRenderAPI:
        if self._api is None:
            from lrc_toolbox.config.batch_render_defaults import load_settings

            settings = load_settings().settings
            if settings.render_service:
                from lrc_toolbox.core.service_api import ServiceBatchAPI

                self._api = ServiceBatchAPI(settings, client="dashboard", parent=self)
            else:
                from lrc_toolbox.core.batch_render_api import BatchRenderAPI

                self._api = BatchRenderAPI(settings, parent=self)
        return self._api

    @property
    def batch_render_dialog(self) -> BatchRenderDialog | None:
        """The dashboard, if it was opened (it may be hidden)."""
        return self._batch_render_dialog

    def open_batch_render_dialog(self) -> BatchRenderDialog:
        """Open (or show and raise) the Batch Render Manager; returns it."""
        return self._open_batch_render_dialog()

    def _open_batch_render_dialog(self) -> BatchRenderDialog:
        """Open the Batch Render Manager; the one instance is shown and raised."""
        dialog = self._batch_render_dialog
        if dialog is None:
            from lrc_toolbox.ui.dialogs.batch_render_dialog import BatchRenderDialog

            dialog = BatchRenderDialog(
                self.api,
                scene_source_factory=self._scene_source_factory,
                parent=self,
                current_scene=self._current_scene,
            )
            if self._dialog_setup is not None:
                self._dialog_setup(dialog)
            self._batch_render_dialog = dialog
        if dialog.isMinimized():
            dialog.showNormal()
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        return dialog

    def _show_about(self) -> None:
        """Non-modal About box (never blocks Maya's event loop)."""
        if self._about_box is None:
            box = QtWidgets.QMessageBox(self)
            box.setWindowTitle("About LRC Toolbox")
            box.setIcon(QtWidgets.QMessageBox.Icon.Information)
            box.setText(f"<b>LRC Toolbox {lrc_toolbox.__version__}</b>")
            box.setInformativeText(
                "Batch Render Manager for Autodesk Maya: renders layers x frames in parallel "
                "with background mayapy workers, one per free GPU, one GPU kept for Maya.\n\n"
                f"Qt binding: {_binding()}"
            )
            box.setStandardButtons(QtWidgets.QMessageBox.StandardButton.Close)
            self._about_box = box
        self._about_box.show()
        self._about_box.raise_()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        """Closing the toolbox closes the dashboard too (which asks if a batch runs)."""
        dialog = self._batch_render_dialog
        if dialog is not None and dialog.isVisible() and not dialog.close():
            event.ignore()
            return
        if dialog is not None and dialog.running:
            dialog.hide()  # "keep rendering": the API (and its workers) outlive the window
        elif dialog is not None:
            dialog.shutdown()
        if (
            self._owns_api
            and self._api is not None
            and (not self._api.is_running or _in_service(self._api))
        ):
            self._api.shutdown()  # a service-backed API only detaches: the batch goes on
        super().closeEvent(event)


def _in_service(api: BatchRenderAPI) -> bool:
    """Whether ``api``'s batches render in the render service (not in this process)."""
    from lrc_toolbox.core.service_api import ServiceBatchAPI

    return isinstance(api, ServiceBatchAPI)


def _binding() -> str:
    import Qt

    return f"{Qt.__binding__} {Qt.__binding_version__} (Qt {Qt.__qt_version__})"
