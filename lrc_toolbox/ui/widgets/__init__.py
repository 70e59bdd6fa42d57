"""Panels of the Batch Render Manager: system info, render configuration, active renders."""

from __future__ import annotations

from lrc_toolbox.ui.widgets.active_renders import (
    ActiveRendersModel,
    ActiveRendersView,
    ProgressDelegate,
)
from lrc_toolbox.ui.widgets.render_config_widget import RenderConfigWidget
from lrc_toolbox.ui.widgets.system_info_widget import SystemInfoWidget

__all__ = [
    "ActiveRendersModel",
    "ActiveRendersView",
    "ProgressDelegate",
    "RenderConfigWidget",
    "SystemInfoWidget",
]
