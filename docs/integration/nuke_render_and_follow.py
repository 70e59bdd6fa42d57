"""Nuke: render a Maya batch from Nuke's Script Editor and reload Read nodes as frames land.

Paste into Nuke's Script Editor (Nuke's Python must see lrc_toolbox: add the repository
folder to NUKE_PATH or sys.path), then::

    follow = render_and_follow("/shots/sh010/lighting/sh010_lighting_v012.ma",
                               layers=["BG", "CHAR"], frames="1001-1100",
                               output_dir="/shots/sh010/renders/v012")

One Read node per layer is created (or reused) and re-pointed at the frames that are
finished, read from the batch's ``ready.json``; it is reloaded whenever new frames land.
``follow.stop()`` stops watching (the render itself goes on); ``follow.handle.stop()``
stops the render.
"""

from __future__ import annotations

import re
import threading
from typing import Any

import nuke

from lrc_toolbox import api

_FRAME = re.compile(r"^(?P<head>.*?)(?P<frame>-?\d+)(?P<tail>\.[^./\\]+)$")


def nuke_pattern(path: str, frame: int) -> str:
    """``/r/BG.0012.exr`` (frame 12) -> ``/r/BG.####.exr``, Nuke's padded file pattern."""
    match = _FRAME.match(path)
    if not match or int(match.group("frame")) != frame:
        return path
    return match.group("head") + "#" * len(match.group("frame").lstrip("-")) + match.group("tail")


class Follow:
    """Polls ready.json on a thread; changes Read nodes on Nuke's main thread."""

    def __init__(self, handle: api.BatchHandle, output_dir: str, poll: float = 2.0) -> None:
        self.handle = handle
        self.output_dir = output_dir
        self.poll = poll
        self.seen: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lrc-follow", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            finished = self.handle.done
            self.check()
            if finished:  # one last look after the batch ended, then stop
                return
            self._stop.wait(self.poll)

    def check(self) -> None:
        ready = api.read_ready(self.output_dir)
        if not ready:
            return
        for layer, entry in ready["layers"].items():
            if entry["count"] == self.seen.get(layer) or not entry["files"]:
                continue
            self.seen[layer] = entry["count"]
            frames = api.parse_frames(entry["frames"])
            first = str(frames[0])
            pattern = nuke_pattern(entry["files"][first][0], frames[0])
            nuke.executeInMainThread(_update_read, args=(layer, pattern, min(frames), max(frames)))


def _update_read(layer: str, pattern: str, first: int, last: int) -> None:
    name = f"LRC_{layer}"
    node = nuke.toNode(name) or nuke.createNode("Read", f"name {name}", inpanel=False)
    node["file"].setValue(pattern)
    node["first"].setValue(first)
    node["last"].setValue(last)
    node["reload"].execute()


def render_and_follow(
    scene: str,
    *,
    layers: list[str] | None = None,
    frames: str = "",
    output_dir: str,
    poll: float = 2.0,
    simulate: bool = False,
) -> Follow:
    config: dict[str, Any] = {
        "scene": scene,
        "layers": layers or [],
        "frames": frames,
        "output_dir": output_dir,
    }
    handle = api.submit(config, simulate=simulate)
    return Follow(handle, output_dir, poll)
