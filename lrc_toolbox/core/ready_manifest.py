"""``ready.json``: which frames of a running batch are finished, beside the images.

A Nuke Read node, a review tool or a script polls this one small file instead of the
render folder. Format::

    {"version": 1, "batch_id": "...", "scene": "...", "state": "running", "updated": 1764115200.0,
     "layers": {"BG": {"frames": "1-12,14", "count": 13, "total": 48,
                       "files": {"1": ["/renders/sh010/BG/BG.0001.exr"], ...},
                       "provenance": {"1": {"snapshot": "...", "snapshot_sha256": "...",
                                            "renderer": "arnold", "renderer_version": "5.4.0",
                                            "device": "GPU 1 ...", "gpu_uuid": "GPU-...",
                                            "attempt": 1, "render_seconds": 41.2, ...}}}}}

``provenance`` (a ``FrameProvenance`` record per frame) is there for frames whose render
recorded one. ``frames`` uses the frame-list syntax of ``lrc-batch-render frames`` (parse it
with ``lrc_toolbox.api.parse_frames``); ``state`` becomes done, failed or cancelled at the end.

Guarantees:

- **Never torn.** Each write goes to a temporary file in the same folder, created
  exclusively under an unpredictable name (``tempfile.mkstemp``), flushed to disk
  (``fsync``), then renamed over ``ready.json`` (``os.replace``): a reader sees the old file
  or the new one. A failed write removes its temporary file and leaves the old one.
- **Never lists an unfinished frame.** A frame is added only once it is finished.
- **Cost per frame independent of the batch's size.** Writes are coalesced: :meth:`add`
  writes only when one is due (:meth:`flush_if_due`); the owner also calls
  :meth:`flush_if_due` from a periodic timer (the manager's 250 ms watchdog), so a frame
  that finished between writes is listed at the next due write; :meth:`finish` writes
  once at the end. A write is due no sooner than :data:`MIN_WRITE_INTERVAL` seconds after
  the last one, and no sooner than :data:`WRITE_COST_FACTOR` times that write's own
  duration: at any batch size the file takes at most about 1 / (1 + WRITE_COST_FACTOR)
  of the manager's time (a 40 ms write of a 10,000-frame file waits 1.6 s). Each
  frame's JSON is made once, when it is added, and kept, UTF-8 encoded, in chunks of
  :data:`_CHUNK` frames: a write re-joins only the chunks that changed and never copies
  the pieces into one string.
- **A failed write is not silent.** :meth:`write`, :meth:`flush`, :meth:`flush_if_due`
  and :meth:`finish` raise :class:`ManifestWriteError` (an ``OSError`` naming the file and
  the operating system's reason), for the batch's owner to stop the batch (exit 3,
  environment); nothing is lost, as the job store holds every finished frame. The
  manifest stays dirty, so the next write (at the latest :meth:`finish`, or ``resume``)
  makes it true again once the disk is writable; :meth:`flush_if_due` retries no sooner
  than :data:`RETRY_INTERVAL` seconds after a failure.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lrc_toolbox.records.batch import FrameProvenance
from lrc_toolbox.records.frame_parser import format_frames

__all__ = [
    "MIN_WRITE_INTERVAL",
    "READY_FILE_NAME",
    "RETRY_INTERVAL",
    "WRITE_COST_FACTOR",
    "ManifestWriteError",
    "ReadyManifest",
    "read_ready",
]

READY_FILE_NAME = "ready.json"
#: seconds between two coalesced writes at least (so at most 4 a second)
MIN_WRITE_INTERVAL = 0.25
#: ...and at least this many times the last write's duration: a write that takes 20 ms
#: (a big batch, a slow network share) is followed by 800 ms without one, which keeps the
#: time spent on ready.json under 1/41 (2.4 %) of the batch at any size
WRITE_COST_FACTOR = 40.0
#: seconds :meth:`ReadyManifest.flush_if_due` waits after a failed write before trying again
RETRY_INTERVAL = 2.0
#: frames per cached chunk of JSON text (a new frame re-joins only its own chunk)
_CHUNK = 256
#: os.replace tries on Windows, where a reader holding the file open makes it fail for a
#: moment (a sharing violation); elsewhere the rename cannot be blocked by a reader
_REPLACE_TRIES = 20 if os.name == "nt" else 1
_REPLACE_PAUSE = 0.025


class ManifestWriteError(OSError):
    """``ready.json`` could not be written (disk full, read-only or missing folder, no
    permission). ``path`` is the file, ``reason`` the operating system's message and
    ``errno`` its number; ``str()`` says what to do."""

    def __init__(self, path: str | os.PathLike[str], reason: str, errno: int | None = None):
        super().__init__(errno, reason)
        self.path = Path(path)
        self.reason = reason
        self.filename = str(self.path)

    @classmethod
    def from_os_error(cls, path: Path, exc: OSError) -> ManifestWriteError:
        return cls(path, exc.strerror or str(exc) or type(exc).__name__, exc.errno)

    def __str__(self) -> str:
        return (
            f"cannot write {self.path}: {self.reason}. The finished frames are safe (the job "
            "store lists them with their files); free space on that disk or make the folder "
            "writable, then resume the batch, which rewrites ready.json"
        )


@dataclass
class _Chunk:
    """Up to _CHUNK consecutive frame numbers of a layer (``frame // _CHUNK``)."""

    #: frame -> (its ``files`` member, its ``provenance`` member or None)
    entries: dict[int, tuple[str, str | None]] = field(default_factory=dict)
    #: (sorted frames, their files members, their provenance members: joined, UTF-8),
    #: until a frame is added to the chunk
    joined: tuple[list[int], bytes, bytes] | None = None

    def join(self) -> tuple[list[int], bytes, bytes]:
        if self.joined is None:
            frames = sorted(self.entries)
            entries = [self.entries[f] for f in frames]
            self.joined = (
                frames,
                _SEP.join(files.encode() for files, _ in entries),
                _SEP.join(origin.encode() for _, origin in entries if origin is not None),
            )
        return self.joined


_SEP = b",\n    "


@dataclass
class _Layer:
    """One layer's finished frames, as the JSON text each frame got when it was added."""

    #: frames planned for the layer; None for a layer outside the plan (total = count)
    total: int | None
    chunks: dict[int, _Chunk] = field(default_factory=dict)
    #: the layer's JSON value in pieces (UTF-8), until a frame is added
    parts: list[bytes] | None = None

    def add(self, frame: int, files: str, provenance: str | None) -> None:
        chunk = self.chunks.setdefault(frame // _CHUNK, _Chunk())
        chunk.entries[frame] = (files, provenance)
        chunk.joined = None
        self.parts = None

    def render(self) -> list[bytes]:
        """The layer's JSON value: only chunks that changed are joined again, and the big
        pieces are never copied into one string."""
        if self.parts is not None:
            return self.parts
        frames: list[int] = []
        files_parts, origin_parts = [], []
        for key in sorted(self.chunks):
            members, files, origins = self.chunks[key].join()
            frames.extend(members)
            files_parts.append(files)
            if origins:
                origin_parts.append(origins)
        total = len(frames) if self.total is None else self.total
        self.parts = [
            f'{{"frames": {json.dumps(format_frames(frames))}, "count": {len(frames)}, '
            f'"total": {total},\n   "files": {{'.encode(),
            *_members(files_parts),
            b'},\n   "provenance": {',
            *_members(origin_parts),
            b"}}",
        ]
        return self.parts


def _members(parts: list[bytes]) -> list[bytes]:
    """The members of a JSON object, one a line; nothing for an empty object."""
    if not parts:
        return []
    joined = [b"\n    "]
    for number, part in enumerate(parts):
        joined += [_SEP, part] if number else [part]
    return [*joined, b"\n   "]


class ReadyManifest:
    """Collects finished frames and keeps ``<output_dir>/ready.json`` up to date with few
    writes (see the module's guarantees)."""

    def __init__(
        self,
        output_dir: str | os.PathLike[str],
        *,
        batch_id: str,
        scene: str,
        plan: Mapping[str, Sequence[int]],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``clock``: seconds, monotonic; what the write intervals are measured with."""
        self.path = Path(output_dir) / READY_FILE_NAME
        self.batch_id = batch_id
        self.scene = scene
        self.state = "running"
        self._layers = {layer: _Layer(total=len(frames)) for layer, frames in plan.items()}
        #: something changed since the last successful write
        self.dirty = True
        self._clock = clock
        self._last_end: float | None = None  # clock() when the last write ended
        self._last_cost = 0.0
        self._failed_at: float | None = None
        #: the file's writes so far, and the seconds they took (rendering included)
        self.writes = 0
        self.write_seconds = 0.0

    # ------------------------------------------------------------------ frames

    def lists(self, layer: str, frame: int) -> bool:
        """Whether the frame is already recorded as finished."""
        entry = self._layers.get(layer)
        chunk = entry.chunks.get(int(frame) // _CHUNK) if entry is not None else None
        return chunk is not None and int(frame) in chunk.entries

    def add(
        self,
        layer: str,
        frame: int,
        outputs: Sequence[str],
        provenance: FrameProvenance | None = None,
        *,
        write: bool = True,
    ) -> None:
        """Record a FINISHED frame and its files; with ``write``, write the file when a
        write is due (:meth:`flush_if_due`), else only record it.

        Raises:
            ManifestWriteError: a due write failed.
        """
        frame = int(frame)
        key = json.dumps(str(frame))
        files = f"{key}: {json.dumps([str(p) for p in outputs])}"
        origin = f"{key}: {json.dumps(provenance.to_dict())}" if provenance else None
        entry = self._layers.get(layer)
        if entry is None:  # a layer outside the plan: listed, its total is its count
            entry = self._layers[layer] = _Layer(total=None)
        entry.add(frame, files, origin)
        self.dirty = True
        if write:
            self.flush_if_due()

    # ------------------------------------------------------------------ writing

    def due(self, now: float | None = None) -> bool:
        """Whether :meth:`flush_if_due` would write now."""
        if not self.dirty:
            return False
        now = self._clock() if now is None else now
        if self._failed_at is not None:
            return now - self._failed_at >= RETRY_INTERVAL
        if self._last_end is None:
            return True
        wait = max(MIN_WRITE_INTERVAL, WRITE_COST_FACTOR * self._last_cost)
        return now - self._last_end >= wait

    def flush_if_due(self, now: float | None = None) -> bool:
        """Write when a write is due (call it often: from a timer, after each frame).
        Returns whether it wrote.

        Raises:
            ManifestWriteError: the write failed.
        """
        if not self.due(now):
            return False
        self.write()
        return True

    def flush(self) -> bool:
        """Write now if anything changed since the last write. Returns whether it wrote.

        Raises:
            ManifestWriteError: the write failed.
        """
        if not self.dirty:
            return False
        self.write()
        return True

    def finish(self, state: str) -> None:
        """The batch ended (done, failed, cancelled): write its final state now.

        Raises:
            ManifestWriteError: the write failed (the state is kept: a later :meth:`flush`
                writes it once the disk is writable again).
        """
        self.state = state
        self.dirty = True
        self.write()

    def write(self) -> None:
        """Replace the file now, atomically (temporary file, fsync, rename).

        Raises:
            ManifestWriteError: it could not be written; the old file is left as it was
                and no temporary file is left behind.
        """
        started = self._clock()
        try:
            _replace_atomically(self.path, self._parts())
        except OSError as exc:
            self._failed_at = self._clock()
            raise ManifestWriteError.from_os_error(self.path, exc) from exc
        finally:
            self.write_seconds += self._clock() - started
        self._last_end = self._clock()
        self._last_cost = self._last_end - started
        self._failed_at = None
        self.dirty = False
        self.writes += 1

    # ------------------------------------------------------------------ content

    def render(self) -> str:
        """The file's text: the ONE definition of its content is :meth:`_parts`."""
        return b"".join(self._parts()).decode("utf-8")

    def _parts(self) -> list[bytes]:
        head = json.dumps(
            {
                "version": 1,
                "batch_id": self.batch_id,
                "scene": self.scene,
                "state": self.state,
                "updated": round(time.time(), 3),
            }
        )
        parts = [head[:-1].encode() + b',\n "layers": {']
        for number, (name, layer) in enumerate(self._layers.items()):
            parts.append(f"{',' if number else ''}\n  {json.dumps(name)}: ".encode())
            parts += layer.render()
        parts.append(b"}}\n")
        return parts

    def to_dict(self) -> dict[str, Any]:
        """What the file holds (as :func:`read_ready` reads it)."""
        data: dict[str, Any] = json.loads(self.render())
        return data


def _default_mode() -> int:
    """rw for everyone the process's umask lets in (what ``open()`` would create)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o644


def _replace_atomically(path: Path, data: Sequence[bytes]) -> None:
    """Write the pieces of ``data`` to an exclusively created temporary file beside
    ``path``, fsync it, rename it over ``path``; on any failure remove the temporary file
    and re-raise."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = path.stat().st_mode & 0o777  # keep what the folder's owner chose
    except OSError:
        mode = _default_mode()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.writelines(data)
            handle.flush()
            os.fsync(handle.fileno())
        if os.name == "posix":
            os.chmod(tmp, mode)  # mkstemp makes 0600: readers of other users need to read
        for attempt in range(_REPLACE_TRIES):
            try:
                os.replace(tmp, path)
                break
            except PermissionError:
                if attempt + 1 == _REPLACE_TRIES:
                    raise
                time.sleep(_REPLACE_PAUSE)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def read_ready(output_dir: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The manifest in a render folder, or None when there is none (yet)."""
    try:
        data: dict[str, Any] = json.loads(
            (Path(output_dir) / READY_FILE_NAME).read_text(encoding="utf-8")
        )
    except (OSError, ValueError):
        return None
    return data
