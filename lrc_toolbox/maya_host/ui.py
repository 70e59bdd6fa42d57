"""The Batch Render Manager inside Maya's window: parenting, docking, one shared API.

- :func:`maya_main_window` wraps Maya's main window for Qt (MAYA_REFERENCE §7).
- :func:`show_batch_render` shows the dashboard docked in a workspace control (or as a
  floating window parented to Maya), and raises the one that is already open instead of
  making a second.
- :func:`restore_batch_render` is the workspace control's ``uiScript``: Maya runs it when
  it restores a saved workspace at start-up, so it must import without side effects.
- :func:`shared_api` is the session's one API (real mayapy): the dashboard, the shelf, the
  menu and scripts all watch the same batch. With ``Settings.render_service`` (the default)
  it is a :class:`LiveSessionServiceAPI`: the batch renders in the local render service
  beside Maya and survives a Maya crash; a dashboard opened later (in this Maya or the next)
  attaches to it and shows the running batch. Without it, a :class:`LiveSessionBatchAPI`
  renders inside this Maya, as before.

Docking follows Autodesk's "Writing Workspace controls" (Maya SDK): a widget that mixes
``maya.app.general.mayaMixin.MayaQWidgetDockableMixin`` in front of its Qt class, shown
with ``show(dockable=True, retain=False, uiScript=...)``; Maya names the control
``<objectName>WorkspaceControl``; on restore the uiScript creates the widget and moves it
into ``MQtUtil.getCurrentParent()`` with ``MQtUtil.addWidgetToMayaLayout`` (Autodesk's
example; also defTechAndrew's ``DockableMixinWidget.restore`` gist).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from Qt import QtCompat, QtCore, QtWidgets

from lrc_toolbox.maya_host.scene import LiveSessionBatchAPI, LiveSessionServiceAPI

__all__ = [
    "OBJECT_NAME",
    "RESTORE_SCRIPT",
    "WINDOW_TITLE",
    "WORKSPACE_CONTROL",
    "current_api",
    "current_window",
    "maya_main_window",
    "restore_batch_render",
    "shared_api",
    "show_batch_render",
]

OBJECT_NAME = "lrcBatchRenderManager"
WINDOW_TITLE = "LRC Batch Render Manager"
#: the workspace control Maya makes for the docked widget (``<objectName>WorkspaceControl``)
WORKSPACE_CONTROL = f"{OBJECT_NAME}WorkspaceControl"
#: run by Maya when it restores the workspace control; must be importable at start-up
RESTORE_SCRIPT = "import lrc_toolbox.maya_host.ui as u; u.restore_batch_render()"

#: builds the dashboard widget: ``factory(api, parent) -> QWidget``. None = the real
#: ``BatchRenderDialog`` (imported when first needed); tests substitute their own.
dialog_factory: Callable[[Any, Any], Any] | None = None

_api: LiveSessionBatchAPI | None = None
_window: Any = None
_dock_classes: dict[int, type] = {}


# ---------------------------------------------------------------------- API


def shared_api() -> LiveSessionBatchAPI:
    """The session's one API (created on first use; real mayapy, not the simulator):
    service-backed when the artist's ``render_service`` setting is on (the default)."""
    global _api
    if _api is None:
        from lrc_toolbox.config.batch_render_defaults import load_settings

        settings = load_settings().settings
        if settings.render_service:
            _api = LiveSessionServiceAPI(settings, simulate=False)
        else:
            _api = LiveSessionBatchAPI(settings, simulate=False)
    return _api


def current_api() -> LiveSessionBatchAPI | None:
    """The session's API if something created it, else None (never creates one)."""
    return _api


def current_window() -> Any:
    """The dashboard window if one is open (or hidden in a closed dock), else None."""
    global _window
    if _window is not None and not QtCompat.isValid(_window):
        _window = None  # Maya deleted it (retain=False closes delete the widget)
    return _window


# ---------------------------------------------------------------------- Maya's window


def maya_main_window() -> QtWidgets.QWidget | None:
    """Maya's main window as a QWidget (None when Maya has no main window, e.g. batch)."""
    import maya.OpenMayaUI as omui

    pointer = omui.MQtUtil.mainWindow()
    if pointer is None:
        return None
    window = QtCompat.wrapInstance(int(pointer), QtWidgets.QWidget)
    return window if isinstance(window, QtWidgets.QWidget) else None


def _make_dashboard(api: Any, parent: Any) -> Any:
    factory = dialog_factory
    if factory is not None:
        return factory(api, parent)
    from lrc_toolbox.ui.dialogs.batch_render_dialog import BatchRenderDialog

    # with the session's API the dashboard reads layers from the live scene (in the UI
    # thread: maya.cmds belongs to it) and an empty scene field means "the open scene"
    return BatchRenderDialog(
        api,
        scene_source_factory=getattr(api, "scene_source", None),
        parent=parent,
        current_scene=getattr(api, "session_scene_path", None),
    )


def _dock_class() -> type:
    """The dockable host widget class, built on Maya's mixin (only exists inside Maya)."""
    from maya.app.general.mayaMixin import MayaQWidgetDockableMixin

    key = id(MayaQWidgetDockableMixin)
    if key not in _dock_classes:
        # Maya's mixin is untyped (Any), and subclassing it is how a widget docks
        class BatchRenderDock(MayaQWidgetDockableMixin, QtWidgets.QWidget):  # type: ignore[misc]
            """Holds the dashboard inside Maya's workspace control."""

            def __init__(self, api: Any, parent: Any = None) -> None:
                super().__init__(parent=parent)
                self.setObjectName(OBJECT_NAME)
                self.setWindowTitle(WINDOW_TITLE)
                layout = QtWidgets.QVBoxLayout(self)
                layout.setContentsMargins(0, 0, 0, 0)
                self.dashboard = _make_dashboard(api, self)
                # a QDialog embedded in a layout must be a plain child widget
                self.dashboard.setWindowFlags(QtCore.Qt.WindowType.Widget)
                layout.addWidget(self.dashboard)
                finished = getattr(self.dashboard, "finished", None)
                if finished is not None:
                    finished.connect(self._dashboard_closed)

            def _dashboard_closed(self, *_args: Any) -> None:
                """The dashboard closed itself (Close, Esc, "keep rendering in the
                background"): hide the control too; it and the batch stay alive."""
                import maya.cmds as cmds

                if cmds.workspaceControl(WORKSPACE_CONTROL, query=True, exists=True):
                    cmds.workspaceControl(WORKSPACE_CONTROL, edit=True, visible=False)

        _dock_classes[key] = BatchRenderDock
    return _dock_classes[key]


def _raise_window(window: Any) -> None:
    if _is_docked(window):
        import maya.cmds as cmds

        if cmds.workspaceControl(WORKSPACE_CONTROL, query=True, exists=True):
            # shows a closed (hidden) control again and brings its tab to the front; the
            # mixin's own show() is not called again, it would redo the docking set-up
            cmds.workspaceControl(WORKSPACE_CONTROL, edit=True, restore=True)
            window.dashboard.show()
            return
    window.show()
    window.raise_()
    window.activateWindow()


def _is_docked(window: Any) -> bool:
    return any(isinstance(window, cls) for cls in _dock_classes.values())


def show_batch_render(dock: bool = True, api: Any = None) -> Any:
    """Show the Batch Render Manager; an open one is raised, never duplicated.

    Args:
        dock: dock it in a Maya workspace control (True) or show a floating window
            parented to Maya's main window.
        api: the API to show (default: :func:`shared_api`).

    Returns:
        The window (the dockable host, or the dashboard itself when not docked).
    """
    global _window
    existing = current_window()
    if existing is not None:
        _raise_window(existing)
        return existing
    api = api if api is not None else shared_api()
    if dock:
        import maya.cmds as cmds

        if cmds.workspaceControl(WORKSPACE_CONTROL, query=True, exists=True):
            # left over from a workspace restored without our widget: start clean
            cmds.deleteUI(WORKSPACE_CONTROL)
        window = _dock_class()(api)
        window.show(dockable=True, retain=False, uiScript=RESTORE_SCRIPT)
    else:
        window = _make_dashboard(api, maya_main_window())
        window.setObjectName(OBJECT_NAME)
        window.setWindowTitle(WINDOW_TITLE)
        window.setWindowFlags(window.windowFlags() | QtCore.Qt.WindowType.Window)
        window.show()
    _window = window
    return window


def restore_batch_render() -> Any:
    """The workspace control's uiScript: rebuild the dashboard inside the restored control.

    Maya calls it while it restores a saved workspace (start-up, or reopening the
    control); ``MQtUtil.getCurrentParent()`` is then the control being restored.
    """
    global _window
    import maya.OpenMayaUI as omui

    control = omui.MQtUtil.getCurrentParent()
    window = current_window()
    if window is None:
        window = _dock_class()(shared_api())
        _window = window
    if control is not None:
        # Autodesk's example finds the widget with MQtUtil.findControl(objectName); its own
        # pointer is the same widget without the risk of a second one of that name
        # Qt.py returns the address itself (shiboken's first item); its stub says a tuple
        address: int = QtCompat.getCppPointer(window)  # type: ignore[assignment]
        omui.MQtUtil.addWidgetToMayaLayout(int(address), int(control))
    return window
