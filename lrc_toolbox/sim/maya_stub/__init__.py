"""Holds the ``maya`` stand-in package; the simulated mayapy puts this folder on sys.path."""

from __future__ import annotations
