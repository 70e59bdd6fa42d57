"""Dialogs of the dashboard: the Batch Render Manager and its progress/log panel."""

from __future__ import annotations
