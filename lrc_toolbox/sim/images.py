"""Small but valid image files, written where the simulated renderer "renders" a frame.

No imaging library is needed: each format here is simple enough to write directly.
- PNG: RGBA 8-bit, zlib, with CRCs (PNG specification, ISO/IEC 15948).
- OpenEXR: scan-line, uncompressed, half-float B/G/R/A channels, with every attribute the
  OpenEXR file layout requires (channels, compression, dataWindow, displayWindow,
  lineOrder, pixelAspectRatio, screenWindowCenter, screenWindowWidth).
- TIFF: baseline, uncompressed RGBA, little-endian.
- TGA: uncompressed true-colour with alpha.
- IFF: Maya's IFF (``FOR4``/``CIMG`` with a ``TBHD`` header and one uncompressed ``RGBA`` tile).
The picture is a gradient whose tint depends on the frame, so frames differ.
"""

from __future__ import annotations

import errno as errno_module
import os
import struct
import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path

__all__ = ["SUPPORTED_EXTENSIONS", "ImageWriteError", "pixels", "write_image"]


def pixels(width: int, height: int, frame: int) -> list[list[tuple[int, int, int, int]]]:
    """Rows of RGBA pixels, a gradient tinted by the frame number."""
    reds, greens, tint = _gradient(width, height, frame)
    return [[(red, green, tint, 255) for red in reds] for green in greens]


def _gradient(width: int, height: int, frame: int) -> tuple[list[int], list[int], int]:
    """The picture is separable: red varies along x, green along y, blue is the frame tint."""
    reds = [(x * 255) // max(1, width - 1) for x in range(width)]
    greens = [(y * 255) // max(1, height - 1) for y in range(height)]
    return reds, greens, (frame * 37) % 256


def _rows(width: int, height: int, frame: int, order: str = "RGBA") -> list[bytes]:
    """Interleaved 8-bit rows, top to bottom, channels in ``order`` (fast: one slice
    assignment per channel and row instead of a Python loop per pixel)."""
    reds, greens, tint = _gradient(width, height, frame)
    red_bytes = bytes(reds)
    step = len(order)
    rows = []
    for green in greens:
        row = bytearray(width * step)
        for offset, channel in enumerate(order):
            if channel == "R":
                row[offset::step] = red_bytes
            else:
                value = {"G": green, "B": tint, "A": 255}[channel]
                row[offset::step] = bytes((value,)) * width
        rows.append(bytes(row))
    return rows


def _png(width: int, height: int, frame: int) -> bytes:
    raw = b"".join(b"\x00" + row for row in _rows(width, height, frame))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def _exr(width: int, height: int, frame: int) -> bytes:
    def attr(name: str, kind: str, data: bytes) -> bytes:
        return name.encode() + b"\0" + kind.encode() + b"\0" + struct.pack("<i", len(data)) + data

    names = ["A", "B", "G", "R"]  # channels are stored sorted by name
    chlist = b"".join(n.encode() + b"\0" + struct.pack("<iB3xii", 1, 0, 1, 1) for n in names)
    chlist += b"\0"
    box = struct.pack("<iiii", 0, 0, width - 1, height - 1)
    header = (
        struct.pack("<ii", 20000630, 2)  # magic, version 2 (single-part scan-line)
        + attr("channels", "chlist", chlist)
        + attr("compression", "compression", b"\0")
        + attr("dataWindow", "box2i", box)
        + attr("displayWindow", "box2i", box)
        + attr("lineOrder", "lineOrder", b"\0")
        + attr("pixelAspectRatio", "float", struct.pack("<f", 1.0))
        + attr("screenWindowCenter", "v2f", struct.pack("<ff", 0.0, 0.0))
        + attr("screenWindowWidth", "float", struct.pack("<f", 1.0))
        + b"\0"
    )
    reds, greens, tint = _gradient(width, height, frame)
    red_line = struct.pack(f"<{width}e", *(red / 255.0 for red in reds))
    alpha_line = struct.pack("<e", 1.0) * width
    blue_line = struct.pack("<e", tint / 255.0) * width
    lines = []
    for y, green in enumerate(greens):
        # per scan line, each channel's values in channel-name order A, B, G, R
        data = alpha_line + blue_line + struct.pack("<e", green / 255.0) * width + red_line
        lines.append(struct.pack("<ii", y, len(data)) + data)
    table_size = 8 * height
    offsets, position = [], len(header) + table_size
    for line in lines:
        offsets.append(position)
        position += len(line)
    return header + struct.pack(f"<{height}Q", *offsets) + b"".join(lines)


def _tif(width: int, height: int, frame: int) -> bytes:
    data = b"".join(_rows(width, height, frame))
    entries = [
        (256, 3, 1, width),  # ImageWidth
        (257, 3, 1, height),  # ImageLength
        (258, 3, 4, 0),  # BitsPerSample -> offset of 4 shorts, patched below
        (259, 3, 1, 1),  # Compression: none
        (262, 3, 1, 2),  # Photometric: RGB
        (273, 4, 1, 0),  # StripOffsets -> patched
        (277, 3, 1, 4),  # SamplesPerPixel
        (278, 3, 1, height),  # RowsPerStrip
        (279, 4, 1, len(data)),  # StripByteCounts
        (338, 3, 1, 2),  # ExtraSamples: unassociated alpha
    ]
    ifd_offset = 8
    ifd_size = 2 + 12 * len(entries) + 4
    bits_offset = ifd_offset + ifd_size
    data_offset = bits_offset + 8
    out = b"II*\0" + struct.pack("<I", ifd_offset) + struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        if tag == 258:
            value = bits_offset
        if tag == 273:
            value = data_offset
        packed = (
            struct.pack("<HH", value, 0) if kind == 3 and count == 1 else struct.pack("<I", value)
        )
        out += struct.pack("<HHI", tag, kind, count) + packed
    out += struct.pack("<I", 0) + struct.pack("<4H", 8, 8, 8, 8)
    return out + data


def _tga(width: int, height: int, frame: int) -> bytes:
    header = struct.pack("<BBBHHBHHHHBB", 0, 0, 2, 0, 0, 0, 0, 0, width, height, 32, 0x28)
    body = b"".join(_rows(width, height, frame, "BGRA"))
    return header + body


def _iff(width: int, height: int, frame: int) -> bytes:
    """Maya IFF: a CIMG form with a 32-byte TBHD header and one uncompressed RGBA tile."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        pad = b"\0" * (-len(data) % 4)
        return kind + struct.pack(">I", len(data)) + data + pad

    # width, height, prnum, prden, flags (RGB|alpha), bytes (0 = 8 bit), tiles,
    # compression (0 = none), x/y orientation
    tbhd = struct.pack(">IIHHIHHIii", width, height, 1, 1, 3, 0, 1, 0, 0, 0)
    # IFF stores rows bottom-up, each pixel as A, B, G, R
    rows = _rows(width, height, frame, "ABGR")
    tile = struct.pack(">HHHH", 0, 0, width - 1, height - 1) + b"".join(reversed(rows))
    tbmp = b"TBMP" + chunk(b"RGBA", tile)
    body = b"CIMG" + chunk(b"TBHD", tbhd) + b"FOR4" + struct.pack(">I", len(tbmp)) + tbmp
    return b"FOR4" + struct.pack(">I", len(body)) + body


_WRITERS: dict[str, Callable[[int, int, int], bytes]] = {
    "png": _png,
    "exr": _exr,
    "tif": _tif,
    "tiff": _tif,
    "tga": _tga,
    "iff": _iff,
}
SUPPORTED_EXTENSIONS = tuple(_WRITERS)


class ImageWriteError(RuntimeError):
    """The image could not be written (disk full, read-only or missing folder, no
    permission): a RuntimeError, as ``maya.cmds`` raises, worded as the renderer's own
    error. ``path`` is the image, ``errno`` the operating system's error number."""

    def __init__(self, path: Path, exc: OSError) -> None:
        reason = exc.strerror or str(exc) or type(exc).__name__
        code = errno_module.errorcode.get(exc.errno or 0)
        super().__init__(
            f'Error: cannot write image "{path}": {reason}' + (f" ({code})" if code else "")
        )
        self.path = path
        self.errno = exc.errno


def write_image(path: str | os.PathLike[str], width: int, height: int, frame: int) -> int:
    """Write the image (format from the extension) atomically; returns its size in bytes.

    The bytes go to an exclusively created temporary file beside the image, which is then
    renamed over it; on ANY failure the temporary file is removed, so a full or read-only
    disk leaves nothing behind (an existing image is left as it was).

    Raises:
        ValueError: an extension the simulator cannot write (the message lists those it can).
        ImageWriteError: the file system refused the folder, the file or its bytes.
    """
    target = Path(path)
    ext = target.suffix.lower().lstrip(".")
    writer = _WRITERS.get(ext)
    if writer is None:
        raise ValueError(
            f"the simulator cannot write .{ext} images; set the scene's image format to one "
            f"of: {', '.join(SUPPORTED_EXTENSIONS)}"
        )
    data = writer(max(1, width), max(1, height), frame)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise ImageWriteError(target, exc) from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, _FILE_MODE)  # mkstemp makes 0600; an image is as open() makes it
        os.replace(tmp, target)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise ImageWriteError(target, exc) from exc
        raise
    return len(data)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


#: the mode ``open()`` gives a new file under this process's umask (read once, at import)
_FILE_MODE = 0o666 & ~_umask()
