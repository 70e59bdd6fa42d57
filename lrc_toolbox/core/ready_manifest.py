"""``ready.json``: which frames of a running batch are finished, beside the images.

A Nuke Read node, a review tool or a script polls this one small file instead of the
render folder: it is replaced atomically (written to a temporary name, then renamed), so a
reader never sees half a file. Format::

    {"version": 1, "batch_id": "...", "scene": "...", "state": "running", "updated": 1764115200.0,
     "layers": {"BG": {"frames": "1-12,14", "count": 13, "total": 48,
                       "files": {"1": ["/renders/sh010/BG/BG.0001.exr"], ...},
                       "provenance": {"1": {"snapshot": "...", "snapshot_sha256": "...",
                                            "renderer": "arnold", "renderer_version": "5.4.0",
                                            "device": "GPU 1 ...", "gpu_uuid": "GPU-...",
                                            "attempt": 1, "render_seconds": 41.2, ...}}}}}

``provenance`` (a ``FrameProvenance`` record per frame) is there for frames whose render
recorded one.

``frames`` uses the frame-list syntax of ``lrc-batch-render frames`` (parse it with
``lrc_toolbox.api.parse_frames``); ``state`` becomes done, failed or cancelled at the end.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lrc_toolbox.records.batch import FrameProvenance
from lrc_toolbox.records.frame_parser import format_frames

__all__ = ["READY_FILE_NAME", "ReadyManifest", "read_ready"]

READY_FILE_NAME = "ready.json"


class ReadyManifest:
    """Collects finished frames and rewrites ``<output_dir>/ready.json`` after each."""

    def __init__(
        self,
        output_dir: str | os.PathLike[str],
        *,
        batch_id: str,
        scene: str,
        plan: Mapping[str, Sequence[int]],
    ) -> None:
        self.path = Path(output_dir) / READY_FILE_NAME
        self.batch_id = batch_id
        self.scene = scene
        self.totals = {layer: len(frames) for layer, frames in plan.items()}
        self.files: dict[str, dict[int, list[str]]] = {layer: {} for layer in plan}
        self.provenance: dict[str, dict[int, FrameProvenance]] = {layer: {} for layer in plan}
        self.state = "running"

    def add(
        self,
        layer: str,
        frame: int,
        outputs: Sequence[str],
        provenance: FrameProvenance | None = None,
        *,
        write: bool = True,
    ) -> None:
        self.files.setdefault(layer, {})[int(frame)] = [str(p) for p in outputs]
        if provenance is not None:
            self.provenance.setdefault(layer, {})[int(frame)] = provenance
        if write:
            self.write()

    def finish(self, state: str) -> None:
        self.state = state
        self.write()

    def to_dict(self) -> dict[str, Any]:
        layers = {}
        for layer, files in self.files.items():
            frames = sorted(files)
            origins = self.provenance.get(layer, {})
            layers[layer] = {
                "frames": format_frames(frames),
                "count": len(frames),
                "total": self.totals.get(layer, len(frames)),
                "files": {str(f): files[f] for f in frames},
                "provenance": {str(f): origins[f].to_dict() for f in frames if f in origins},
            }
        return {
            "version": 1,
            "batch_id": self.batch_id,
            "scene": self.scene,
            "state": self.state,
            "updated": round(time.time(), 3),
            "layers": layers,
        }

    def write(self) -> None:
        """Replace the file atomically; a failure to write is not a render failure."""
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(self.to_dict(), indent=1) + "\n", encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError:
            try:
                tmp.unlink()
            except OSError:
                pass


def read_ready(output_dir: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The manifest in a render folder, or None when there is none (yet)."""
    try:
        data: dict[str, Any] = json.loads(
            (Path(output_dir) / READY_FILE_NAME).read_text(encoding="utf-8")
        )
    except (OSError, ValueError):
        return None
    return data
