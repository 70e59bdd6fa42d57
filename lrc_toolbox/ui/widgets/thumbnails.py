"""Thumbnails of rendered frames, decoded off the GUI thread and cached.

:class:`ThumbnailLoader` hands each request to a small ``QThreadPool``: the pool stats the
file, decodes it scaled down (``QImageReader.setScaledSize``, so a 2K PNG or JPEG is
decoded at thumbnail size where the format allows it) and sends a :class:`Thumbnail` back
through a queued signal. The GUI thread only turns the small ``QImage`` into a ``QPixmap``.

Readers, in order:
- Qt's own (PNG, JPEG; TIFF and TGA through Qt's image-format plugins, when installed:
  ``QImageReader.canRead`` says); uncompressed TGA is read directly first, since Qt's TGA
  plugin refuses top-down files and files without the TGA 2.0 footer (:func:`_decode_raw_tga`);
- OpenImageIO for anything else (OpenEXR, Maya IFF), when the optional package is
  importable (as :func:`lrc_toolbox.utils.image_check.pixel_problem` uses it);
- otherwise no image: the :class:`Thumbnail` carries the format, the size on disk and the
  resolution from the file's header (:func:`~lrc_toolbox.utils.image_check.image_header`)
  and the reason, for a placeholder.

The cache is an LRU of :data:`CACHE_SIZE` thumbnails keyed by path, modification time and
size, so a frame rendered again is decoded again; at most one decode per path is pending.
"""

from __future__ import annotations

import importlib
import logging
import os
import struct
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from Qt import QtCore, QtGui

from lrc_toolbox.core.qt_compat import emit_signal
from lrc_toolbox.utils.image_check import image_header

__all__ = [
    "CACHE_SIZE",
    "THUMBNAIL_SIZE",
    "Thumbnail",
    "ThumbnailLoader",
    "decode_thumbnail",
    "describe_bytes",
]

log = logging.getLogger(__name__)

#: the box a thumbnail is scaled into (aspect ratio kept)
THUMBNAIL_SIZE = QtCore.QSize(256, 160)
#: thumbnails the cache keeps (about 160 KiB each at most)
CACHE_SIZE = 64

Decoder = Callable[[str, QtCore.QSize], "Thumbnail"]


@dataclass(frozen=True)
class Thumbnail:
    """A decoded (or undecodable) frame, as the pool hands it to the GUI thread.

    Attributes:
        path: the file.
        image: the scaled picture; None when no reader could decode it (see ``reason``).
        format: the format's display name (``PNG``, ``OpenEXR``), None if unknown.
        width, height: the full resolution (header or reader), 0 when unknown.
        bytes: the size on disk; -1 when the file is missing.
        mtime_ns: the modification time (the cache key, with ``bytes``).
        reason: why there is no image (``"missing"``, ``"no reader for OpenEXR ..."``).
    """

    path: str
    image: QtGui.QImage | None
    format: str | None
    width: int
    height: int
    bytes: int
    mtime_ns: int
    reason: str | None = None

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.path, self.mtime_ns, self.bytes)

    def describe(self) -> str:
        """``"PNG · 1920x1080 · 3.2 MB"`` (what is known; with a multiplication sign)."""
        parts = [self.format or "unknown format"]
        if self.width and self.height:
            parts.append(f"{self.width}\u00d7{self.height}")
        if self.bytes >= 0:
            parts.append(describe_bytes(self.bytes))
        return " \u00b7 ".join(parts)


def describe_bytes(count: int) -> str:
    """``"812 KB"``, ``"3.2 MB"``: a file size for a caption (1 KB = 1,000 bytes)."""
    if count < 1000:
        return f"{count} B"
    for unit, scale in (("KB", 1e3), ("MB", 1e6), ("GB", 1e9)):
        if count < scale * 1000 or unit == "GB":
            value = count / scale
            return f"{value:.1f} {unit}" if value < 100 else f"{value:.0f} {unit}"
    return f"{count} B"  # pragma: no cover - the loop always returns


def _scaled(width: int, height: int, box: QtCore.QSize) -> QtCore.QSize:
    if width <= 0 or height <= 0:
        return QtCore.QSize(box)
    scale = min(box.width() / width, box.height() / height, 1.0)
    return QtCore.QSize(max(1, round(width * scale)), max(1, round(height * scale)))


def decode_thumbnail(path: str, box: QtCore.QSize = THUMBNAIL_SIZE) -> Thumbnail:
    """Stat and decode ``path`` scaled into ``box`` (any thread; never raises)."""
    try:
        info = os.stat(path)
    except OSError as exc:
        missing = isinstance(exc, (FileNotFoundError, NotADirectoryError))
        reason = "missing: the file is not there" if missing else f"cannot be read: {exc}"
        return Thumbnail(path, None, None, 0, 0, -1, 0, reason)
    header = image_header(path)
    label = header.label if header else None
    width, height = (header.width, header.height) if header else (0, 0)

    def result(image: QtGui.QImage | None, reason: str | None = None) -> Thumbnail:
        return Thumbnail(path, image, label, width, height, info.st_size, info.st_mtime_ns, reason)

    if info.st_size == 0:
        return result(None, "empty file (0 bytes): the frame was not written")
    if header is not None and header.format == "tga":  # before Qt's reader: see below
        tga = _decode_raw_tga(path, box)
        if tga is not None:
            return result(tga)
    reader = QtGui.QImageReader(path)
    qt_error = None
    if reader.canRead():
        fmt = bytes(reader.format().data()).decode("ascii", "replace")
        full = reader.size()
        if full.isValid():
            reader.setScaledSize(_scaled(full.width(), full.height(), box))
        image = reader.read()
        if not image.isNull():
            if header is None:
                label = fmt.upper()
                if full.isValid():
                    width, height = full.width(), full.height()
            return result(_fit(image, box))
        qt_error = reader.errorString()
    decoded, oiio_error = _decode_with_openimageio(path, box)
    if decoded is not None:
        return result(decoded)
    what = label or "this format"
    if oiio_error is not None:
        return result(None, f"OpenImageIO could not read it: {oiio_error}")
    if qt_error:
        return result(None, f"Qt could not read it: {qt_error}")
    return result(
        None,
        f"no preview for {what}: install OpenImageIO (pip install OpenImageIO) "
        "to see OpenEXR and Maya IFF frames",
    )


def _fit(image: QtGui.QImage, box: QtCore.QSize) -> QtGui.QImage:
    """``image`` scaled into ``box`` if larger (a new image that owns its pixels either way)."""
    if image.width() > box.width() or image.height() > box.height():
        return image.scaled(
            box,
            QtCore.Qt.AspectRatioMode.KeepAspectRatio,
            QtCore.Qt.TransformationMode.SmoothTransformation,
        )
    return image.copy()


def _decode_raw_tga(path: str, box: QtCore.QSize) -> QtGui.QImage | None:
    """An uncompressed true-colour (24 or 32 bits) or grey (8 bits) TGA, either origin;
    None for anything else (RLE, colour-mapped) or a short file.

    Qt's TGA plugin reads only uncompressed true-colour TGA 2.0 files (with the footer)
    stored bottom-up, and warns on the console for every other file, while renderers (and
    the simulator) write top-down files without a footer: this covers what Qt reads and
    more, so it runs first and Qt's reader only when it declines. Header layout
    from the "Truevision TGA File Format Specification, Version 2.0" (1989), as in
    :mod:`lrc_toolbox.utils.image_check`. Alpha is ignored: a thumbnail shows the colour.
    """
    formats = {
        (2, 32): QtGui.QImage.Format.Format_RGB32,  # B, G, R, X in memory (little-endian)
        (2, 24): getattr(QtGui.QImage.Format, "Format_BGR888", None),  # Qt 5.14+
        (3, 8): QtGui.QImage.Format.Format_Grayscale8,
    }
    try:
        with open(path, "rb") as handle:
            head = handle.read(18)
            if len(head) < 18:
                return None
            (id_length, map_type, image_type, _first, _length, _bits, _x, _y, width, height,
             depth, descriptor) = struct.unpack("<BBBHHBHHHHBB", head)  # fmt: skip
            fmt = formats.get((image_type, depth))
            if fmt is None or map_type != 0 or not width or not height:
                return None
            pixel_bytes = depth // 8
            handle.seek(18 + id_length)
            data = handle.read(width * height * pixel_bytes)
    except OSError:
        return None
    if len(data) < width * height * pixel_bytes:
        return None
    image = QtGui.QImage(data, width, height, width * pixel_bytes, fmt)
    flip_x, flip_y = bool(descriptor & 0x10), not descriptor & 0x20  # bit 5 clear: bottom-up
    if flip_x or flip_y:
        image = image.mirrored(flip_x, flip_y)
    return _fit(image, box)


def _decode_with_openimageio(
    path: str, box: QtCore.QSize
) -> tuple[QtGui.QImage | None, str | None]:
    """(image, None), (None, reason) when OpenImageIO failed, (None, None) without it."""
    try:
        oiio = importlib.import_module("OpenImageIO")
    except ImportError:
        return None, None
    try:
        source = oiio.ImageBuf(path)
        spec = source.spec()
        if source.has_error or spec.width <= 0 or spec.height <= 0:
            return None, str(source.geterror()).strip() or "no pixels"
        size = _scaled(spec.width, spec.height, box)
        roi = oiio.ROI(0, size.width(), 0, size.height(), 0, 1, 0, spec.nchannels)
        small = oiio.ImageBufAlgo.resize(source, roi=roi)
        if spec.format.basetype in (oiio.HALF, oiio.FLOAT, oiio.DOUBLE):
            converted = oiio.ImageBufAlgo.colorconvert(small, "linear", "sRGB")
            if not converted.has_error:
                small = converted
        channels = spec.nchannels
        if channels >= 3:
            order = (0, 1, 2, 3) if channels >= 4 else (0, 1, 2, 1.0)
        else:
            order = (0, 0, 0, 1.0)
        rgba = oiio.ImageBufAlgo.channels(small, order)
        data = bytes(rgba.get_pixels(oiio.UINT8).tobytes())
        w, h = size.width(), size.height()
        image = QtGui.QImage(data, w, h, 4 * w, QtGui.QImage.Format.Format_RGBA8888)
        return image.copy(), None  # copy: the QImage must own its pixels
    except Exception as exc:  # an optional binding: its failures become a placeholder
        return None, str(exc) or type(exc).__name__


class _LruCache:
    """Thumbnails by key, least recently used first out; shared by the pool's threads."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._items: OrderedDict[tuple[str, int, int], Thumbnail] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, int, int]) -> Thumbnail | None:
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def put(self, item: Thumbnail) -> None:
        with self._lock:
            self._items[item.key] = item
            self._items.move_to_end(item.key)
            while len(self._items) > self.limit:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


class _LoadSignals(QtCore.QObject):
    done = QtCore.Signal(object)  # Thumbnail


class _LoadTask(QtCore.QRunnable):
    def __init__(
        self,
        path: str,
        box: QtCore.QSize,
        decoder: Decoder,
        cache: _LruCache,
        signals: _LoadSignals,
    ) -> None:
        super().__init__()
        self.setAutoDelete(False)  # the loader keeps the reference until the result arrives
        self.path = path
        self.box = QtCore.QSize(box)
        self.decoder = decoder
        self.cache = cache
        self.signals = signals

    def run(self) -> None:
        try:
            info = os.stat(self.path)
            cached = self.cache.get((self.path, info.st_mtime_ns, info.st_size))
        except OSError:
            cached = None
        if cached is not None:
            thumbnail = cached
        else:
            try:
                thumbnail = self.decoder(self.path, self.box)
            except Exception as exc:  # a decode must never take the UI down
                thumbnail = Thumbnail(self.path, None, None, 0, 0, -1, 0, f"cannot be read: {exc}")
            if thumbnail.image is not None:
                self.cache.put(thumbnail)
        # emit_signal, not .emit(): PySide6 6.12's emit takes a reference from True
        emit_signal(self.signals, "done", thumbnail)


class ThumbnailLoader(QtCore.QObject):
    """Loads thumbnails in a thread pool; :attr:`ready` brings each one to the GUI thread.

    Args:
        box: the size thumbnails are scaled into.
        decoder: ``decoder(path, box) -> Thumbnail``, run in the pool (tests count calls).
        threads: the pool's threads (decoding holds the GIL part of the time: keep it small).
        cache_size: thumbnails kept.
    """

    ready = QtCore.Signal(object)  # Thumbnail

    def __init__(
        self,
        *,
        box: QtCore.QSize = THUMBNAIL_SIZE,
        decoder: Decoder | None = None,
        threads: int = 1,
        cache_size: int = CACHE_SIZE,
        parent: QtCore.QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.box = QtCore.QSize(box)
        self._decoder: Decoder = decoder or decode_thumbnail
        self._cache = _LruCache(cache_size)
        self._pixmaps: OrderedDict[tuple[str, int, int], QtGui.QPixmap] = OrderedDict()
        self._latest: dict[str, Thumbnail] = {}
        self._pending: dict[str, _LoadTask] = {}
        self._again: set[str] = set()
        self._pool = QtCore.QThreadPool(self)
        self._pool.setMaxThreadCount(max(1, threads))
        self._signals = _LoadSignals(self)
        self._signals.done.connect(self._on_done)

    def request(self, path: str) -> None:
        """Load ``path`` in the pool; :attr:`ready` follows (from the cache when the file
        did not change). A request while one for the path is pending runs once after it."""
        if path in self._pending:
            self._again.add(path)
            return
        task = _LoadTask(path, self.box, self._decoder, self._cache, self._signals)
        self._pending[path] = task
        self._pool.start(task)

    def is_pending(self, path: str) -> bool:
        return path in self._pending

    def latest(self, path: str) -> Thumbnail | None:
        """The last thumbnail delivered for ``path`` (the file may have changed since)."""
        return self._latest.get(path)

    def pixmap(self, thumbnail: Thumbnail) -> QtGui.QPixmap | None:
        """The thumbnail as a pixmap (GUI thread only; converted once, kept with the cache)."""
        if thumbnail.image is None:
            return None
        pixmap = self._pixmaps.get(thumbnail.key)
        if pixmap is None:
            pixmap = QtGui.QPixmap.fromImage(thumbnail.image)
            self._pixmaps[thumbnail.key] = pixmap
            while len(self._pixmaps) > self._cache.limit:
                self._pixmaps.popitem(last=False)
        else:
            self._pixmaps.move_to_end(thumbnail.key)
        return pixmap

    def cached_count(self) -> int:
        return len(self._cache)

    def _on_done(self, thumbnail: object) -> None:
        assert isinstance(thumbnail, Thumbnail)
        self._pending.pop(thumbnail.path, None)
        self._latest[thumbnail.path] = thumbnail
        if len(self._latest) > 4 * self._cache.limit:
            self._latest.pop(next(iter(self._latest)))
        if thumbnail.path in self._again:
            self._again.discard(thumbnail.path)
            self.request(thumbnail.path)
        # emit_signal, not .emit(): PySide6 6.12's emit takes a reference from True
        emit_signal(self, "ready", thumbnail)

    def wait(self, msecs: int = 3000) -> bool:
        """Wait for the pool's running decodes (before the loader goes; tests)."""
        return bool(self._pool.waitForDone(msecs))

    def shutdown(self, wait_ms: int = 3000) -> None:
        """Drop queued decodes and wait for the running one."""
        self._pool.clear()
        self._pool.waitForDone(wait_ms)
