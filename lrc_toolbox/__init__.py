"""LRC Toolbox: the Batch Render Manager for Autodesk Maya.

The supported surface for scripts and other tools is :mod:`lrc_toolbox.api`.
"""

from __future__ import annotations

__version__ = "0.1.0"
