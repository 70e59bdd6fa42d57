"""Colours shared by the dashboard widgets, and a Maya-like dark look for use OUTSIDE Maya.

Inside Maya the host's own style and palette apply (the widgets only read the palette and
use the few status colours below); :func:`apply_maya_style` is for the stand-alone demo
(``python -m lrc_toolbox.ui``), the screenshots and any other host without a dark theme.
"""

from __future__ import annotations

import sys

from Qt import QtGui, QtWidgets

__all__ = [
    "ERROR",
    "INFO",
    "MUTED",
    "OK",
    "ROLE_COLOURS",
    "STATE_COLOURS",
    "WARNING",
    "apply_maya_style",
    "exec_dialog",
    "monospace_font",
    "running_in_maya",
    "set_text_colour",
]

#: status colours: readable on Maya's dark grey and on a light palette alike
OK = "#6fb35a"
INFO = "#5e9fd6"
WARNING = "#d6a345"
ERROR = "#e0605a"
MUTED = "#8c8c8c"

#: worker state -> colour of its text in the active renders table
STATE_COLOURS = {
    "starting": INFO,
    "idle": MUTED,
    "rendering": OK,
    "stopping": WARNING,
    "finished": MUTED,
    "failed": ERROR,
    "disabled": ERROR,
}

#: GPU role -> background colour of its chip in the system panel
ROLE_COLOURS = {
    "maya": "#7a6331",
    "rendering": "#3f6e33",
    "idle": "#4d4d4d",
    "shared": "#35597a",
    "unusable": "#8a3633",
}

# Maya 2024's own colours (window grey, field grey, selection blue)
_WINDOW = "#444444"
_BASE = "#2b2b2b"
_ALTERNATE = "#323232"
_BUTTON = "#5d5d5d"
_TEXT = "#dddddd"
_HIGHLIGHT = "#5285a6"

_STYLESHEET = """
QGroupBox { font-weight: bold; border: 1px solid #2e2e2e; border-radius: 3px;
            margin-top: 1.1em; padding-top: 0.35em; }
QGroupBox::title { subcontrol-origin: margin; left: 8px; padding: 0 4px; }
QToolTip { color: #dddddd; background-color: #2b2b2b; border: 1px solid #5285a6; }
QProgressBar { border: 1px solid #2b2b2b; border-radius: 2px; background: #2b2b2b;
               text-align: center; color: #eeeeee; }
QProgressBar::chunk { background-color: #5285a6; }
QTableView { gridline-color: #3a3a3a; }
QHeaderView::section { background-color: #3a3a3a; color: #dddddd; padding: 3px 4px;
                       border: 0; border-right: 1px solid #2b2b2b; }
"""


def running_in_maya() -> bool:
    """True inside an interactive Maya session (its ``maya.cmds`` is loaded, not batch)."""
    cmds = sys.modules.get("maya.cmds")
    if cmds is None:
        return False
    try:
        return not bool(cmds.about(batch=True))
    except Exception:
        return False


def apply_maya_style(
    app: QtWidgets.QApplication | None = None, *, font_point_size: int | None = 9
) -> bool:
    """Give a stand-alone application Maya's dark look; does nothing inside Maya.

    Args:
        font_point_size: Maya's compact UI text size; None keeps the platform's font size.

    Returns:
        True when the style was applied.
    """
    if running_in_maya():
        return False
    app = app or QtWidgets.QApplication.instance()
    if app is None:
        return False
    app.setStyle(QtWidgets.QStyleFactory.create("Fusion"))
    palette = QtGui.QPalette()
    colours = {
        QtGui.QPalette.ColorRole.Window: _WINDOW,
        QtGui.QPalette.ColorRole.WindowText: _TEXT,
        QtGui.QPalette.ColorRole.Base: _BASE,
        QtGui.QPalette.ColorRole.AlternateBase: _ALTERNATE,
        QtGui.QPalette.ColorRole.ToolTipBase: _BASE,
        QtGui.QPalette.ColorRole.ToolTipText: _TEXT,
        QtGui.QPalette.ColorRole.Text: _TEXT,
        QtGui.QPalette.ColorRole.Button: _BUTTON,
        QtGui.QPalette.ColorRole.ButtonText: _TEXT,
        QtGui.QPalette.ColorRole.BrightText: "#ffffff",
        QtGui.QPalette.ColorRole.Highlight: _HIGHLIGHT,
        QtGui.QPalette.ColorRole.HighlightedText: "#ffffff",
        QtGui.QPalette.ColorRole.Link: "#79b8e6",
        QtGui.QPalette.ColorRole.Mid: "#3a3a3a",
        QtGui.QPalette.ColorRole.Dark: "#2e2e2e",
        QtGui.QPalette.ColorRole.Light: "#6a6a6a",
        QtGui.QPalette.ColorRole.Shadow: "#1e1e1e",
    }
    for role, colour in colours.items():
        palette.setColor(role, QtGui.QColor(colour))
    disabled = QtGui.QColor("#7d7d7d")
    for role in (
        QtGui.QPalette.ColorRole.Text,
        QtGui.QPalette.ColorRole.ButtonText,
        QtGui.QPalette.ColorRole.WindowText,
    ):
        palette.setColor(QtGui.QPalette.ColorGroup.Disabled, role, disabled)
    palette.setColor(
        QtGui.QPalette.ColorGroup.Disabled, QtGui.QPalette.ColorRole.Button, QtGui.QColor("#4a4a4a")
    )
    app.setPalette(palette)
    if font_point_size is not None:
        font = app.font()
        font.setPointSize(font_point_size)
        app.setFont(font)
    app.setStyleSheet(_STYLESHEET)
    return True


def exec_dialog(dialog: QtWidgets.QDialog) -> int:
    """Run a modal dialog: ``exec`` in PySide6, ``exec_`` in PySide2."""
    run = getattr(dialog, "exec", None) or dialog.exec_
    return int(run())


def monospace_font() -> QtGui.QFont:
    font = QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.SystemFont.FixedFont)
    return font


def set_text_colour(widget: QtWidgets.QWidget, colour: str | None) -> None:
    """Colour a label's text without a style sheet (which would drop the host's style)."""
    palette = widget.palette()
    if colour is None:
        parent = widget.parentWidget()
        base = parent.palette() if parent is not None else QtWidgets.QApplication.palette()
        palette.setColor(
            QtGui.QPalette.ColorRole.WindowText, base.color(QtGui.QPalette.ColorRole.WindowText)
        )
    else:
        palette.setColor(QtGui.QPalette.ColorRole.WindowText, QtGui.QColor(colour))
    widget.setPalette(palette)
