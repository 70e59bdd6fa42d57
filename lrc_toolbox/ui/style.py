"""Colours shared by the dashboard widgets, and a Maya-like dark look for use OUTSIDE Maya.

Inside Maya the host's own style and palette apply (the widgets only read the palette and
use the few status colours below); :func:`apply_maya_style` is for the stand-alone demo
(``python -m lrc_toolbox.ui``), the screenshots and any other host without a dark theme.

Two kinds of colour live here. FILLS (:data:`OK`, :data:`INFO`, :data:`WARNING`,
:data:`ERROR`, :data:`MUTED`, :data:`ROLE_COLOURS`) paint areas and borders: frame-strip
cells, chips, message borders. TEXT takes its colour from :func:`status_text_colour`, which
picks the variant of a status word for the palette it is drawn on (:data:`TEXT_ON_DARK` on a
dark window such as Maya's, :data:`TEXT_ON_LIGHT` on a light one): each text colour is at
least 4.5:1 against its background (WCAG 2.x, :func:`contrast_ratio`).
"""

from __future__ import annotations

import string
import sys

from Qt import QtGui, QtWidgets

__all__ = [
    "CHIP_TEXT",
    "ERROR",
    "FOCUS_RING",
    "INFO",
    "LEVELS",
    "MUTED",
    "OK",
    "PRIMARY_FILL",
    "ROLE_COLOURS",
    "STATE_LEVELS",
    "TEXT_ON_DARK",
    "TEXT_ON_LIGHT",
    "WARNING",
    "apply_maya_style",
    "contrast_ratio",
    "dark_palette",
    "ensure_readable_palette",
    "exec_dialog",
    "is_dark",
    "light_palette",
    "monospace_font",
    "relative_luminance",
    "running_in_maya",
    "set_primary",
    "set_status_colour",
    "set_text_colour",
    "status_text_colour",
    "style_sheet",
]

#: status FILLS (strip cells, borders, chips), not text: see :func:`status_text_colour`
OK = "#6fb35a"
INFO = "#5e9fd6"
WARNING = "#d6a345"
ERROR = "#e0605a"
MUTED = "#8c8c8c"

#: the status levels a text can have
LEVELS = ("ok", "info", "warning", "error", "muted")

#: status text on a dark window (Maya's #444444, fields #2b2b2b): each at least 4.5:1
TEXT_ON_DARK = {
    "ok": "#8ccf7a",
    "info": "#8fc4f0",
    "warning": "#e8b860",
    "error": "#ff9a92",
    "muted": "#bdbdbd",
}
#: status text on a light window (#efefef, fields white): each at least 4.5:1
TEXT_ON_LIGHT = {
    "ok": "#256b29",
    "info": "#1565c0",
    "warning": "#7a4f00",
    "error": "#b71c1c",
    "muted": "#5c5c5c",
}

#: worker state -> level of its text in the active renders table
STATE_LEVELS = {
    "starting": "info",
    "idle": "muted",
    "rendering": "ok",
    "stopping": "warning",
    "finished": "muted",
    "failed": "error",
    "disabled": "warning",
    "released": "info",
}

#: GPU role -> background colour of its chip in the system panel (text: :data:`CHIP_TEXT`)
ROLE_COLOURS = {
    "maya": "#7a6331",
    "rendering": "#3f6e33",
    "idle": "#4d4d4d",
    "shared": "#35597a",
    "unusable": "#8a3633",
    "disabled": "#7a4e0c",
    "released": "#7a6331",
}
#: the text on a role chip: at least 4.5:1 on every :data:`ROLE_COLOURS` fill
CHIP_TEXT = "#f0f0f0"
#: the primary action's button (Start, or Resume after a stop or a failure) and its text
PRIMARY_FILL = "#2a6496"
PRIMARY_TEXT = "#ffffff"
#: the keyboard focus ring: amber, unlike the primary button's blue
FOCUS_RING = "#f0c060"

# Maya 2024's own colours (window grey, field grey, selection blue)
_WINDOW = "#444444"
_BASE = "#2b2b2b"
_ALTERNATE = "#323232"
_BUTTON = "#5d5d5d"
_TEXT = "#dddddd"
_HIGHLIGHT = "#457599"  # Maya's #5285a6, darkened: white text on it reads at 4.9:1
_PLACEHOLDER = "#a0a0a0"
_DISABLED_TEXT = "#b4b4b4"
_DISABLED_BUTTON = "#3c3c3c"

# a light palette (Qt's own light grey, darker greys for hints and disabled text)
_LIGHT = {
    "window": "#efefef",
    "text": "#1e1e1e",
    "base": "#ffffff",
    "alternate": "#f5f5f5",
    "button": "#e6e6e6",
    "placeholder": "#666666",
    "disabled_text": "#5c5c5c",
    "disabled_button": "#e0e0e0",
    "highlight": "#2a6496",
}

# Buttons and line edits are drawn by the style sheet so that focus, the primary action
# and an invalid field change only colours: the border keeps its width (the 2 px focus ring
# takes its extra pixel from the padding), so nothing moves or shrinks.
_STYLESHEET_TEMPLATE = """
QPushButton { background-color: $button; color: $text; border: 1px solid $edge;
              border-radius: 3px; padding: 4px 12px; min-height: 16px; }
QPushButton:hover { background-color: $hover; }
QPushButton:pressed { background-color: $pressed; }
QPushButton:disabled { background-color: $disabled_button; color: $disabled_text;
                       border-color: $disabled_edge; }
QPushButton[primary="true"] { background-color: $primary; color: $primary_text;
                              border-color: $primary_edge; }
QPushButton[primary="true"]:hover { background-color: $primary_hover; }
QPushButton[primary="true"]:disabled { background-color: $disabled_button;
                                       color: $disabled_text; border-color: $disabled_edge; }
QPushButton:focus { border: 2px solid $focus; padding: 3px 11px; }
QLineEdit { border: 1px solid $field_edge; border-radius: 2px; padding: 2px 3px;
            background-color: $base; }
QLineEdit:focus { border-color: $focus; }
QLineEdit[invalid="true"] { border-color: $error; background-color: $invalid; }
QLineEdit:disabled { color: $disabled_text; }
QToolButton:focus { border: 1px solid $focus; border-radius: 2px; }
QGroupBox { font-weight: bold; border: 1px solid $group_edge; border-radius: 3px;
            margin-top: 1.1em; padding-top: 0.35em; }
QGroupBox::title { subcontrol-origin: margin; left: 8px; padding: 0 4px; }
QToolTip { color: $text; background-color: $tooltip; border: 1px solid $highlight; }
QProgressBar { border: 1px solid $field_edge; border-radius: 2px; background: $base;
               text-align: center; color: $bar_text; }
QProgressBar::chunk { background-color: $chunk; }
QTableView { gridline-color: $header; }
QHeaderView::section { background-color: $header; color: $text; padding: 3px 4px;
                       border: 0; border-right: 1px solid $field_edge; }
"""

_SHEET_COLOURS = {
    "dark": {
        "button": _BUTTON,
        "text": _TEXT,
        "edge": "#2a2a2a",
        "hover": "#616161",
        "pressed": "#4a4a4a",
        "disabled_button": _DISABLED_BUTTON,
        "disabled_text": _DISABLED_TEXT,
        "disabled_edge": "#333333",
        "primary": PRIMARY_FILL,
        "primary_text": PRIMARY_TEXT,
        "primary_edge": "#1b4466",
        "primary_hover": "#3274ab",
        "focus": FOCUS_RING,
        "field_edge": "#222222",
        "base": _BASE,
        "error": TEXT_ON_DARK["error"],
        "invalid": "#4a2a2a",
        "group_edge": "#2e2e2e",
        "tooltip": _BASE,
        "highlight": _HIGHLIGHT,
        "chunk": _HIGHLIGHT,
        "bar_text": "#ffffff",
        "header": "#3a3a3a",
    },
    "light": {
        "button": _LIGHT["button"],
        "text": _LIGHT["text"],
        "edge": "#9a9a9a",
        "hover": "#f2f2f2",
        "pressed": "#d6d6d6",
        "disabled_button": _LIGHT["disabled_button"],
        "disabled_text": _LIGHT["disabled_text"],
        "disabled_edge": "#c4c4c4",
        "primary": PRIMARY_FILL,
        "primary_text": PRIMARY_TEXT,
        "primary_edge": "#1b4466",
        "primary_hover": "#3274ab",
        "focus": "#c77700",
        "field_edge": "#9a9a9a",
        "base": _LIGHT["base"],
        "error": TEXT_ON_LIGHT["error"],
        "invalid": "#fde8e8",
        "group_edge": "#b8b8b8",
        "tooltip": "#ffffdc",
        "highlight": _LIGHT["highlight"],
        "chunk": "#7fb0d6",
        "bar_text": _LIGHT["text"],
        "header": "#e3e3e3",
    },
}


def style_sheet(theme: str = "dark") -> str:
    """The application style sheet of :func:`apply_maya_style` for ``theme``."""
    return string.Template(_STYLESHEET_TEMPLATE).substitute(_SHEET_COLOURS[theme])


def relative_luminance(colour: str | QtGui.QColor) -> float:
    """WCAG 2.x relative luminance of an sRGB colour, 0 (black) to 1 (white).

    https://www.w3.org/TR/WCAG21/#dfn-relative-luminance: each channel c in 0..1 is
    linearised (c / 12.92 up to 0.04045, else ((c + 0.055) / 1.055) ** 2.4), then
    L = 0.2126 R + 0.7152 G + 0.0722 B.
    """
    qcolour = QtGui.QColor(colour)
    if not qcolour.isValid():
        raise ValueError(f"not a colour: {colour!r} (use a name such as #444444)")

    def linear(channel: int) -> float:
        c = channel / 255.0
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    return (
        0.2126 * linear(qcolour.red())
        + 0.7152 * linear(qcolour.green())
        + 0.0722 * linear(qcolour.blue())
    )


def contrast_ratio(fg: str | QtGui.QColor, bg: str | QtGui.QColor) -> float:
    """WCAG 2.x contrast ratio of two colours, 1.0 to 21.0 (the order does not matter).

    https://www.w3.org/TR/WCAG21/#dfn-contrast-ratio: (L1 + 0.05) / (L2 + 0.05), L1 the
    lighter colour's :func:`relative_luminance`. Body text needs at least 4.5 (SC 1.4.3).
    """
    lighter, darker = sorted((relative_luminance(fg), relative_luminance(bg)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def is_dark(palette: QtGui.QPalette | None = None) -> bool:
    """Whether ``palette`` (default: the application's) has a dark window, like Maya's."""
    palette = palette if palette is not None else QtWidgets.QApplication.palette()
    window = palette.color(QtGui.QPalette.ColorRole.Window)
    return relative_luminance(window) < 0.18


def status_text_colour(level: str, palette: QtGui.QPalette | None = None) -> str:
    """The colour of a status text (``ok``, ``info``, ``warning``, ``error``, ``muted``) on
    ``palette`` (default: the application's): the dark-window or light-window variant."""
    table = TEXT_ON_DARK if is_dark(palette) else TEXT_ON_LIGHT
    return table.get(level, table["info"])


def set_status_colour(widget: QtWidgets.QWidget, level: str | None) -> None:
    """Colour a label's text for a status level, readable on the palette it is drawn on
    (None: the normal text colour)."""
    if level is None:
        set_text_colour(widget, None)
        return
    parent = widget.parentWidget()
    palette = parent.palette() if parent is not None else QtWidgets.QApplication.palette()
    set_text_colour(widget, status_text_colour(level, palette))


def set_primary(button: QtWidgets.QAbstractButton, primary: bool) -> None:
    """Mark the primary action (drawn in the highlight colour). Only the look changes:
    it is never the dialog's default button, so Enter does not press it."""
    if bool(button.property("primary")) == primary:
        return
    button.setProperty("primary", primary)
    parent = button.parentWidget()
    palette = QtGui.QPalette(parent.palette() if parent is not None else button.palette())
    if primary:  # for hosts without this module's style sheet (Maya): the palette
        palette.setColor(QtGui.QPalette.ColorRole.Button, QtGui.QColor(PRIMARY_FILL))
        palette.setColor(QtGui.QPalette.ColorRole.ButtonText, QtGui.QColor(PRIMARY_TEXT))
    button.setPalette(palette)
    qstyle = button.style()
    qstyle.unpolish(button)
    qstyle.polish(button)
    button.update()


def _placeholder_for(palette: QtGui.QPalette) -> str:
    return _PLACEHOLDER if is_dark(palette) else _LIGHT["placeholder"]


def ensure_readable_palette(widget: QtWidgets.QWidget) -> bool:
    """Give ``widget`` (and its children) a readable placeholder colour when the host's
    palette has a faint one (Maya's): hints such as "Search" must read at 4.5:1 on the
    field. Returns True when the palette was changed."""
    palette = widget.palette()
    base = palette.color(QtGui.QPalette.ColorRole.Base)
    role = QtGui.QPalette.ColorRole.PlaceholderText
    if contrast_ratio(palette.color(role), base) >= 4.5:
        return False
    colour = QtGui.QColor(_placeholder_for(palette))
    for group in (QtGui.QPalette.ColorGroup.Active, QtGui.QPalette.ColorGroup.Inactive):
        palette.setColor(group, role, colour)
    widget.setPalette(palette)
    return True


def dark_palette() -> QtGui.QPalette:
    """Maya 2024's dark palette, with readable placeholder and disabled text."""
    palette = QtGui.QPalette()
    colours = {
        QtGui.QPalette.ColorRole.Window: _WINDOW,
        QtGui.QPalette.ColorRole.WindowText: _TEXT,
        QtGui.QPalette.ColorRole.Base: _BASE,
        QtGui.QPalette.ColorRole.AlternateBase: _ALTERNATE,
        QtGui.QPalette.ColorRole.ToolTipBase: _BASE,
        QtGui.QPalette.ColorRole.ToolTipText: _TEXT,
        QtGui.QPalette.ColorRole.Text: _TEXT,
        QtGui.QPalette.ColorRole.PlaceholderText: _PLACEHOLDER,
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
    _set_disabled(palette, _DISABLED_TEXT, _DISABLED_BUTTON, _PLACEHOLDER)
    return palette


def light_palette() -> QtGui.QPalette:
    """A light palette (for hosts with a light theme), with the same readability rules."""
    palette = QtGui.QPalette()
    colours = {
        QtGui.QPalette.ColorRole.Window: _LIGHT["window"],
        QtGui.QPalette.ColorRole.WindowText: _LIGHT["text"],
        QtGui.QPalette.ColorRole.Base: _LIGHT["base"],
        QtGui.QPalette.ColorRole.AlternateBase: _LIGHT["alternate"],
        QtGui.QPalette.ColorRole.ToolTipBase: "#ffffdc",
        QtGui.QPalette.ColorRole.ToolTipText: _LIGHT["text"],
        QtGui.QPalette.ColorRole.Text: _LIGHT["text"],
        QtGui.QPalette.ColorRole.PlaceholderText: _LIGHT["placeholder"],
        QtGui.QPalette.ColorRole.Button: _LIGHT["button"],
        QtGui.QPalette.ColorRole.ButtonText: _LIGHT["text"],
        QtGui.QPalette.ColorRole.BrightText: "#ffffff",
        QtGui.QPalette.ColorRole.Highlight: _LIGHT["highlight"],
        QtGui.QPalette.ColorRole.HighlightedText: "#ffffff",
        QtGui.QPalette.ColorRole.Link: "#1565c0",
        QtGui.QPalette.ColorRole.Mid: "#c4c4c4",
        QtGui.QPalette.ColorRole.Dark: "#9f9f9f",
        QtGui.QPalette.ColorRole.Light: "#ffffff",
        QtGui.QPalette.ColorRole.Shadow: "#767676",
    }
    for role, colour in colours.items():
        palette.setColor(role, QtGui.QColor(colour))
    _set_disabled(
        palette, _LIGHT["disabled_text"], _LIGHT["disabled_button"], _LIGHT["placeholder"]
    )
    return palette


def _set_disabled(palette: QtGui.QPalette, text: str, button: str, placeholder: str) -> None:
    disabled = QtGui.QPalette.ColorGroup.Disabled
    for role in (
        QtGui.QPalette.ColorRole.Text,
        QtGui.QPalette.ColorRole.ButtonText,
        QtGui.QPalette.ColorRole.WindowText,
    ):
        palette.setColor(disabled, role, QtGui.QColor(text))
    palette.setColor(disabled, QtGui.QPalette.ColorRole.Button, QtGui.QColor(button))
    palette.setColor(disabled, QtGui.QPalette.ColorRole.PlaceholderText, QtGui.QColor(placeholder))


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
    app: QtWidgets.QApplication | None = None,
    *,
    font_point_size: int | None = 9,
    theme: str = "dark",
) -> bool:
    """Give a stand-alone application Maya's dark look; does nothing inside Maya.

    Args:
        font_point_size: Maya's compact UI text size; None keeps the platform's font size.
        theme: ``"dark"`` (Maya's) or ``"light"``.

    Returns:
        True when the style was applied.
    """
    if theme not in ("dark", "light"):
        raise ValueError(f"unknown theme {theme!r}: use 'dark' or 'light'")
    if running_in_maya():
        return False
    app = app or QtWidgets.QApplication.instance()
    if app is None:
        return False
    app.setStyle(QtWidgets.QStyleFactory.create("Fusion"))
    app.setPalette(dark_palette() if theme == "dark" else light_palette())
    if font_point_size is not None:
        font = app.font()
        font.setPointSize(font_point_size)
        app.setFont(font)
    app.setStyleSheet(style_sheet(theme))
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
