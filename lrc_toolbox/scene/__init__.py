"""What a Maya scene will render, read without Maya: layers, renderer, frames, output prefix.

``description`` holds the plain-data result (JSON-safe, shared with the mayapy ``--describe``
path); ``ma_reader`` builds it from a Maya ASCII file by streaming it.
"""

from __future__ import annotations
