"""Is a rendered image complete? A header and structure check per format, standard library only.

A frame counted as done when its file existed and was not empty, so a renderer killed
mid-write or a full disk left a truncated image that counted. :func:`check_image` reads each
format's own structure (by its magic bytes, not its extension) far enough to know that every
piece the file announces is really there, without decoding pixels and without holding a
file in memory: it seeks to what it needs, in 64 KiB blocks. An OpenEXR, TIFF or raw TGA
costs a block or two (about 100 KiB read for a 200 MB OpenEXR, well under a millisecond);
PNG, IFF and RLE TGA are walked chunk by chunk, so a file of many small chunks passes
through whole (block by block).
:func:`pixel_problem` is the optional pixel check, through OpenImageIO when installed.
:func:`image_header` reads only a file's resolution from its header (for the dashboard's
placeholder when no decoder can show the image), from the same format descriptions.

What each format check verifies (and what it does not) is in the checker's docstring:
:func:`_check_exr`, :func:`_check_png`, :func:`_check_jpeg`, :func:`_check_tiff`,
:func:`_check_iff`, :func:`_check_tga`. In short: the structure is complete and consistent,
the pixel data is not decoded, and checksums are verified only where they are cheap.

Sources (written from these descriptions; no code was copied):

- OpenEXR: "OpenEXR File Layout", https://openexr.com/en/latest/OpenEXRFileLayout.html
  (magic number, version flags, header attributes, offset tables, chunk layouts of
  scan-line, tiled, deep and multi-part files), and the scan lines per block of each
  compression from "Technical Introduction to OpenEXR",
  https://openexr.com/en/latest/TechnicalIntroduction.html (NONE/RLE/ZIPS 1, ZIP/PXR24 16,
  PIZ/B44/B44A/DWAA 32, DWAB 256); mip-map and rip-map level sizes as that document defines
  them (rounding down or up, one level per halving). The newer codes 10-13 (HTJ2K256,
  HTJ2K32, LJ2K, ZSTD) are not in those documents: their lines per chunk were measured on
  files written by the OpenEXR 3.5.3 library. Offset-table sizes for mip-maps and rip-maps
  rounding up and down were compared with that library's too.
- PNG: W3C/ISO "Portable Network Graphics (PNG) Specification", ISO/IEC 15948,
  https://www.w3.org/TR/png/ (signature, chunk layout and CRC, IHDR first, IEND last).
- JPEG: ITU-T T.81 / ISO/IEC 10918-1 Annex B (marker codes and segment lengths) and
  JFIF 1.02.
- TIFF: "TIFF Revision 6.0" (Adobe, 1992), sections 2 (header, IFDs, field types), 3-6
  (StripOffsets, StripByteCounts, RowsPerStrip, PlanarConfiguration) and 15 (tiles); BigTIFF
  as described by libtiff's "BigTIFF file format" notes (version 43, 8-byte offsets).
- TGA: "Truevision TGA File Format Specification, Version 2.0" (1989): the 18-byte header,
  the RLE packets and the optional 26-byte footer.
- Maya IFF: Autodesk's "Maya IFF" reference (Alias help, "How to Read Maya IFF files":
  FOR4/FOR8 groups, big-endian tags and sizes, 4- or 8-byte alignment), and the CIMG /
  TBHD / TBMP / RGBA tile layout as OpenImageIO's reader documents it
  (``src/iff.imageio/iff_pvt.cpp``: TBHD of 24 or 32 bytes, at least one tile). The FOR8
  chunk header (4-byte tag, 4 reserved bytes, 8-byte size) follows the public notes on
  Maya's 64-bit IFF (``agibli/sansapp`` ``docs/maya_iff.md``, written for Maya binary
  scenes); no Maya FOR8 *image* was available to confirm it. Maya writes images as FOR4.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import os
import stat
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

__all__ = [
    "CHECKED_EXTENSIONS",
    "MTIME_SLACK_SECONDS",
    "PIXEL_CHECK_AVAILABLE",
    "UNCHECKED_EXTENSIONS",
    "ImageCheck",
    "ImageHeader",
    "check_image",
    "format_label",
    "image_header",
    "image_header_size",
    "pixel_problem",
]

#: How much older than the attempt's start a file may look and still count as this
#: attempt's product. File systems store modification times coarsely (FAT: 2 s, ext3 and
#: HFS+: 1 s, some network shares round to the second) and a file server's clock may lag
#: the render host's; one second covers the usual local case. A file older than
#: ``since - MTIME_SLACK_SECONDS`` was not written by this attempt.
MTIME_SLACK_SECONDS = 1.0

#: extension (lower case, no dot) -> the format whose structure is checked
CHECKED_EXTENSIONS: dict[str, str] = {
    "exr": "exr",
    "sxr": "exr",
    "png": "png",
    "jpg": "jpeg",
    "jpeg": "jpeg",
    "jpe": "jpeg",
    "jfif": "jpeg",
    "tif": "tiff",
    "tiff": "tiff",
    "iff": "iff",
    "tga": "tga",
}

#: image (and movie) extensions Maya and its renderers can write that this module does not
#: read: a file with one of these and unrecognised content passes with a note
UNCHECKED_EXTENSIONS = frozenset(
    {
        "als", "avi", "bmp", "bw", "cin", "dds", "dib", "dpx", "eps", "gif", "hdr", "int",
        "inta", "j2k", "jp2", "mov", "pbm", "pgm", "pic", "pnm", "ppm", "psb", "psd", "rgb",
        "rgba", "rla", "sgi", "vrimg", "webp", "xpm", "yuv",
    }
)  # fmt: skip

_LABELS = {
    "exr": "OpenEXR",
    "png": "PNG",
    "jpeg": "JPEG",
    "tiff": "TIFF",
    "iff": "Maya IFF",
    "tga": "TGA",
}

_BLOCK = 64 * 1024  # bytes read at a time; the most held in memory besides offset tables


@dataclass(frozen=True)
class ImageCheck:
    """The verdict on one output file.

    Attributes:
        path: the file, as given.
        ok: the file is this attempt's complete product as far as its structure shows.
        reason: when not ok, one sentence naming the file and what is wrong.
        format: what the content is (``exr``, ``png``, ``jpeg``, ``tiff``, ``iff``, ``tga``),
            whatever the extension says; None when missing, empty or unrecognised.
        note: when ok, what was not checked (a format this module does not read), if any.
    """

    path: str
    ok: bool
    reason: str | None = None
    format: str | None = None
    note: str | None = None


class _Truncated(Exception):
    """The structure announces bytes the file does not have."""


class _Invalid(Exception):
    """The structure is inconsistent (a wrong magic, a bad field, a pointer into the header)."""


# ---------------------------------------------------------------------------- reading


def _open(path: str) -> BinaryIO:
    """Open for reading (a seam for the tests, which count the bytes read)."""
    return open(path, "rb")


class _Reader:
    """Random access to a file through one cached block, so walks over small chunks cost
    one read per 64 KiB rather than one per chunk."""

    def __init__(self, handle: BinaryIO, size: int) -> None:
        self._handle = handle
        self.size = size
        self._start = 0
        self._data = b""

    def read(self, offset: int, count: int, what: str) -> bytes:
        """Exactly ``count`` bytes at ``offset``; :class:`_Truncated` if the file is shorter."""
        if offset < 0 or count < 0:
            raise _Invalid(f"{what} has a negative position or size")
        end = offset + count
        if end > self.size:
            raise _Truncated(
                f"{what} needs bytes {offset:,} to {end:,} but the file has {self.size:,} bytes"
            )
        if self._start <= offset and end <= self._start + len(self._data):
            at = offset - self._start
            return self._data[at : at + count]
        self._handle.seek(offset)
        if count <= _BLOCK:
            self._data = self._handle.read(min(_BLOCK, self.size - offset))
            self._start = offset
            data = self._data[:count]
        else:
            data = self._handle.read(count)
        if len(data) != count:
            raise _Truncated(f"{what}: the file became shorter while it was being checked")
        return data

    def unpack(self, fmt: str, offset: int, what: str) -> tuple[int, ...]:
        values: tuple[int, ...] = struct.unpack(fmt, self.read(offset, struct.calcsize(fmt), what))
        return values

    def cstring(self, offset: int, limit: int, what: str) -> bytes:
        """A null-terminated string of at most ``limit`` bytes (without its null)."""
        available = min(limit + 1, self.size - offset)
        data = self.read(offset, available, what) if available > 0 else b""
        end = data.find(b"\0")
        if end < 0:
            if available < limit + 1:
                raise _Truncated(f"{what} at byte {offset:,} runs to the end of the file")
            raise _Invalid(f"{what} at byte {offset:,} is longer than {limit} bytes")
        return data[:end]


# ------------------------------------------------------------------------- public API


def check_image(path: str | os.PathLike[str], *, since: float | None = None) -> ImageCheck:
    """Whether ``path`` is a complete image written by this attempt.

    Checks, in order: the file exists and is a regular file, is not empty, was modified no
    earlier than ``since`` (the attempt's start, epoch seconds; allowing
    :data:`MTIME_SLACK_SECONDS` for coarse file-system timestamps), its content is a format
    recognised by its magic bytes and agrees with its extension, and its structure is
    complete (see the module docstring). Never raises for a bad or unreadable file: every
    problem is a result with ``ok=False``.

    Extensions: the last dot-suffix that is not all digits counts, so ``beauty.0001.exr``
    and ``beauty.exr.0001`` both claim EXR. Content in a format of
    :data:`CHECKED_EXTENSIONS` under another image extension fails ("holds a PNG image").
    A file whose extension is in :data:`UNCHECKED_EXTENSIONS` (``.dpx``, ``.hdr``, ...) and
    whose content is none of the checked formats passes with a ``note`` saying it was not
    checked: the renderers write those formats and this module cannot vouch for them, but
    failing every such frame would make the check unusable. Unrecognised content with no
    extension or an unrelated one fails as "unknown image format". TGA has no magic bytes:
    it is recognised by its extension or its TGA 2.0 footer.
    """
    name = os.fspath(path)
    try:
        info = os.stat(name)
    except (FileNotFoundError, NotADirectoryError):
        return ImageCheck(name, False, f"{name} is missing.")
    except OSError as exc:
        return ImageCheck(name, False, f"{name} cannot be read: {exc.strerror or exc}.")
    if not stat.S_ISREG(info.st_mode):
        return ImageCheck(name, False, f"{name} is not a regular file.")
    if info.st_size == 0:
        return ImageCheck(name, False, f"{name} is empty (0 bytes).")
    if since is not None and info.st_mtime < since - MTIME_SLACK_SECONDS:
        return ImageCheck(
            name,
            False,
            f"{name} is older than this attempt (written at {_when(info.st_mtime)}, "
            f"attempt started at {_when(since)}).",
        )
    try:
        with _open(name) as handle:
            reader = _Reader(handle, info.st_size)
            return _check_content(name, reader)
    except OSError as exc:
        return ImageCheck(name, False, f"{name} cannot be read: {exc.strerror or exc}.")


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch).isoformat(sep=" ", timespec="milliseconds")


def _claimed_extension(name: str) -> str | None:
    """The extension the name claims: the last suffix that is not a frame number."""
    for part in reversed(os.path.basename(name).split(".")[1:]):
        if part and not part.isdigit():
            return part.lower()
    return None


_MAGICS = (
    (b"\x76\x2f\x31\x01", "exr"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8", "jpeg"),
    (b"II*\0", "tiff"),
    (b"MM\0*", "tiff"),
    (b"II+\0", "tiff"),
    (b"MM\0+", "tiff"),
    (b"FOR4", "iff"),
    (b"FOR8", "iff"),
)
_TGA_SIGNATURE = b"TRUEVISION-XFILE.\0"


def _detect(reader: _Reader) -> str | None:
    """The format by magic bytes; a file shorter than a magic that it begins is that format
    (so a file cut inside its signature reads as truncated, not as unknown)."""
    head = reader.read(0, min(8, reader.size), "the first bytes")
    for magic, fmt in _MAGICS:
        if head.startswith(magic) or (len(head) < len(magic) and magic.startswith(head)):
            return fmt
    if reader.size >= 18 + 26:
        tail = reader.read(reader.size - len(_TGA_SIGNATURE), len(_TGA_SIGNATURE), "footer")
        if tail == _TGA_SIGNATURE:
            return "tga"
    return None


def _check_content(name: str, reader: _Reader) -> ImageCheck:
    ext = _claimed_extension(name)
    claimed = CHECKED_EXTENSIONS.get(ext or "")
    fmt = _detect(reader)
    if fmt is None and claimed == "tga":
        fmt = "tga"  # TGA has no magic bytes: the extension is the only claim there is
    if fmt is None:
        if ext in UNCHECKED_EXTENSIONS:
            note = f"not checked: this checker does not read .{ext} files"
            return ImageCheck(name, True, None, None, note)
        head = reader.read(0, min(8, reader.size), "the first bytes").hex(" ")
        what = f"is not a {_LABELS[claimed]} file" if claimed else "is in an unknown image format"
        return ImageCheck(
            name,
            False,
            f"{name} {what}: its first bytes ({head}) match none of the checked formats "
            f"({', '.join(_LABELS.values())}).",
        )
    if ext is not None and (claimed or ext in UNCHECKED_EXTENSIONS) and claimed != fmt:
        return ImageCheck(
            name,
            False,
            f"{name} has the extension .{ext} but holds a {_LABELS[fmt]} image.",
            fmt,
        )
    try:
        remark = _CHECKERS[fmt](reader)
    except _Truncated as exc:
        return ImageCheck(name, False, f"{name} is truncated: {exc}.", fmt)
    except _Invalid as exc:
        return ImageCheck(name, False, f"{name} is not a valid {_LABELS[fmt]} file: {exc}.", fmt)
    except (struct.error, ValueError, IndexError, OverflowError) as exc:  # a safety net
        return ImageCheck(
            name,
            False,
            f"{name} is not a valid {_LABELS[fmt]} file: its structure could not be parsed "
            f"({exc}).",
            fmt,
        )
    return ImageCheck(name, True, None, fmt, remark)


# ---------------------------------------------------------------------------- OpenEXR

#: compression code -> scan lines per chunk. 0-9 (NONE, RLE, ZIPS, ZIP, PIZ, PXR24, B44, B44A,
#: DWAA, DWAB) as documented; 10-13 (HTJ2K256, HTJ2K32, LJ2K, ZSTD), newer than the layout
#: document, as the OpenEXR 3.5.3 library writes them (measured: 256, 32, 256 and 1 lines).
_EXR_LINES_PER_CHUNK = {
    0: 1, 1: 1, 2: 1, 3: 16, 4: 32, 5: 16, 6: 32, 7: 32, 8: 32, 9: 256,
    10: 256, 11: 32, 12: 256, 13: 1,
}  # fmt: skip
_EXR_TILED, _EXR_LONG_NAMES, _EXR_NON_IMAGE, _EXR_MULTIPART = 0x200, 0x400, 0x800, 0x1000
_EXR_KINDS = ("scanlineimage", "tiledimage", "deepscanline", "deeptile")
_EXR_NEEDED = {
    "dataWindow": ("box2i", 16),
    "compression": ("compression", 1),
    "tiles": ("tiledesc", 9),
    "chunkCount": ("int", 4),
    "type": ("string", None),
}


@dataclass(frozen=True)
class _ExrPart:
    kind: str
    x_min: int
    y_min: int
    width: int
    height: int
    compression: int
    lines: int | None  # scan lines per chunk (scan-line parts with a known compression)
    chunks: int


def _check_exr(reader: _Reader) -> str | None:
    """OpenEXR (single-part scan-line or tiled, deep, multi-part).

    Verifies: the magic number; version 2 with known flags; every part's header up to its
    null terminator (attribute names and types null-terminated and within the length
    limit, sizes within the file), with ``dataWindow``, ``compression``, ``tiles`` (tiled
    parts) and ``type`` (deep and multi-part files) present and well-formed; the number of
    chunks, computed from the data window and the compression's scan lines per chunk or
    from the tile description (one level, mip-map or rip-map levels, rounding down or up),
    and equal to ``chunkCount`` when that attribute is present (it must be, for a
    compression this module does not know); every part's offset table within the file and
    every offset in it past the end of the headers and tables (an all-zero table is the
    mark of a writer that never finished) and before the end of the file; and the chunk
    that starts last: its part number, its scan line (a block start inside the data
    window) or tile coordinates, and that its declared data size is positive and ends
    within the file. All parts of a multi-part file are checked.

    Does not: decompress or read pixel data, check chunks other than the last one beyond
    their offsets, check channel lists or other attributes, or check for overlapping chunks.
    """
    _magic, version = reader.unpack("<iI", 0, "the magic number and version field")
    if version & 0xFF != 2:
        raise _Invalid(f"the version field says version {version & 0xFF}, expected 2")
    flags = version & ~0xFF
    unknown = flags & ~(_EXR_TILED | _EXR_LONG_NAMES | _EXR_NON_IMAGE | _EXR_MULTIPART)
    if unknown:
        raise _Invalid(f"the version field has unknown flags 0x{unknown:x}")
    if flags & _EXR_TILED and flags & (_EXR_NON_IMAGE | _EXR_MULTIPART):
        raise _Invalid("the version field sets the single-part tiled flag with deep or multi-part")
    multipart = bool(flags & _EXR_MULTIPART)
    limit = 255 if flags & _EXR_LONG_NAMES else 31

    headers: list[dict[str, bytes]] = []
    pos = 8
    while True:
        if multipart and reader.read(pos, 1, "the end of the header list") == b"\0":
            pos += 1
            break
        where = f" of part {len(headers)}" if multipart else ""
        header, pos = _exr_header(reader, pos, limit, where)
        headers.append(header)
        if not multipart:
            break
    if not headers:
        raise _Invalid("the multi-part file has no parts")
    parts = [_exr_part(header, index, flags) for index, header in enumerate(headers)]

    tables_end = pos + 8 * sum(part.chunks for part in parts)
    if tables_end > reader.size:
        raise _Truncated(
            f"the offset table{'s' if len(parts) > 1 else ''} ({sum(p.chunks for p in parts):,} "
            f"chunks) need bytes {pos:,} to {tables_end:,} but the file has {reader.size:,} bytes"
        )
    last_offset, last_part = -1, 0
    for index, part in enumerate(parts):
        where = f" of part {index}" if multipart else ""
        lowest, highest = _exr_table_range(reader, pos, part.chunks, where)
        if lowest == 0:
            raise _Truncated(
                f"the offset table{where} holds zero offsets: chunks were never written "
                "(a writer fills the table in as it finishes)"
            )
        if lowest < tables_end:
            raise _Invalid(
                f"a chunk offset{where} ({lowest:,}) points into the header or offset tables, "
                f"which end at byte {tables_end:,}"
            )
        if highest >= reader.size:
            raise _Truncated(
                f"a chunk{where} starts at byte {highest:,} but the file has {reader.size:,} bytes"
            )
        if highest > last_offset:
            last_offset, last_part = highest, index
        pos += 8 * part.chunks
    _exr_last_chunk(reader, last_offset, last_part, parts[last_part], multipart)
    return None


def _exr_header(reader: _Reader, pos: int, limit: int, where: str) -> tuple[dict[str, bytes], int]:
    """The needed attributes' raw values of one header, and the position after its null."""
    found: dict[str, bytes] = {}
    attributes = 0
    while True:
        name_bytes = reader.cstring(pos, limit, f"an attribute name in the header{where}")
        pos += len(name_bytes) + 1
        if not name_bytes:
            if not attributes:
                raise _Invalid(f"the header{where} has no attributes")
            return found, pos
        attributes += 1
        name = name_bytes.decode("latin-1")
        kind = reader.cstring(pos, limit, f"the type of attribute {name!r}").decode("latin-1")
        pos += len(kind) + 1
        (size,) = reader.unpack("<i", pos, f"the size of attribute {name!r}")
        pos += 4
        if size < 0:
            raise _Invalid(f"attribute {name!r} has a negative size ({size})")
        if pos + size > reader.size:
            raise _Truncated(
                f"attribute {name!r} needs bytes {pos:,} to {pos + size:,} "
                f"but the file has {reader.size:,} bytes"
            )
        expected = _EXR_NEEDED.get(name)
        if expected is not None:
            want_kind, want_size = expected
            if kind != want_kind or (want_size is not None and size != want_size):
                raise _Invalid(
                    f"attribute {name!r}{where} is {kind} of {size} bytes, "
                    f"expected {want_kind}" + (f" of {want_size} bytes" if want_size else "")
                )
            found[name] = reader.read(pos, min(size, 256), f"attribute {name!r}")
        pos += size


def _exr_part(header: dict[str, bytes], index: int, flags: int) -> _ExrPart:
    where = f" of part {index}" if flags & _EXR_MULTIPART else ""
    for name in ("dataWindow", "compression"):
        if name not in header:
            raise _Invalid(f"the header{where} has no {name!r} attribute")
    if flags & (_EXR_MULTIPART | _EXR_NON_IMAGE):
        if "type" not in header:
            raise _Invalid(f"the header{where} has no 'type' attribute")
        kind = header["type"].split(b"\0")[0].decode("latin-1")
        if kind not in _EXR_KINDS:
            raise _Invalid(f"the header{where} has an unknown type {kind!r}")
    else:
        kind = "tiledimage" if flags & _EXR_TILED else "scanlineimage"
    x_min, y_min, x_max, y_max = struct.unpack("<iiii", header["dataWindow"])
    width, height = x_max - x_min + 1, y_max - y_min + 1
    if width < 1 or height < 1:
        raise _Invalid(f"the data window{where} is empty ({x_min},{y_min} to {x_max},{y_max})")
    compression = header["compression"][0]
    lines: int | None = None
    computed: int | None
    if kind in ("tiledimage", "deeptile"):
        if "tiles" not in header:
            raise _Invalid(f"the tiled header{where} has no 'tiles' attribute")
        computed = _exr_tile_count(width, height, header["tiles"], where)
    else:
        lines = _EXR_LINES_PER_CHUNK.get(compression)
        computed = -(-height // lines) if lines else None
    if "chunkCount" in header:
        (declared,) = struct.unpack("<i", header["chunkCount"])
        if declared < 1:
            raise _Invalid(f"the chunkCount{where} is {declared}")
        if computed is not None and declared != computed:
            raise _Invalid(
                f"the chunkCount{where} says {declared} chunks but the data window, "
                f"compression and tiles give {computed}"
            )
        computed = declared
    if computed is None:
        raise _Invalid(
            f"the compression code{where} ({compression}) is unknown, so the number of chunks "
            "cannot be computed, and there is no chunkCount attribute"
        )
    return _ExrPart(kind, x_min, y_min, width, height, compression, lines, computed)


def _exr_tile_count(width: int, height: int, tiledesc: bytes, where: str) -> int:
    tile_w, tile_h, mode = (int(value) for value in struct.unpack("<IIB", tiledesc))
    level_mode, rounding = mode & 0x0F, mode >> 4
    if tile_w < 1 or tile_h < 1:
        raise _Invalid(f"the tile size{where} is {tile_w}x{tile_h}")
    if level_mode > 2 or rounding > 1:
        raise _Invalid(f"the tile description{where} has an unknown level or rounding mode")

    def levels(size: int) -> int:
        log = size.bit_length() - 1
        if rounding and size != 1 << log:
            log += 1
        return log + 1

    def level_size(size: int, level: int) -> int:
        if rounding:
            return max(1, -(-size // (1 << level)))
        return max(1, size >> level)

    def tiles(level_x: int, level_y: int) -> int:
        across = -(-level_size(width, level_x) // tile_w)
        down = -(-level_size(height, level_y) // tile_h)
        return across * down

    if level_mode == 0:
        return tiles(0, 0)
    if level_mode == 1:
        return sum(tiles(level, level) for level in range(levels(max(width, height))))
    return sum(tiles(lx, ly) for ly in range(levels(height)) for lx in range(levels(width)))


def _exr_table_range(reader: _Reader, pos: int, count: int, where: str) -> tuple[int, int]:
    """The lowest and highest offset of a table of ``count`` uint64, read in blocks."""
    lowest, highest = 1 << 64, -1
    per_block = _BLOCK // 8
    for first in range(0, count, per_block):
        n = min(per_block, count - first)
        values = struct.unpack(
            f"<{n}Q", reader.read(pos + 8 * first, 8 * n, f"the offset table{where}")
        )
        lowest, highest = min(lowest, *values), max(highest, *values)
    return lowest, highest


def _exr_last_chunk(
    reader: _Reader, offset: int, index: int, part: _ExrPart, multipart: bool
) -> None:
    """The chunk that starts last must be what its part's table says, and end in the file."""
    what = "the last chunk"
    pos = offset
    if multipart:
        (number,) = reader.unpack("<i", pos, what)
        if number != index:
            raise _Invalid(
                f"{what} (byte {offset:,}) says part {number} but part {index}'s table points to it"
            )
        pos += 4
    if part.kind == "scanlineimage":
        y, size = reader.unpack("<ii", pos, what)
        _exr_check_line(y, part, offset)
        data, pos = size, pos + 8
    elif part.kind == "tiledimage":
        tx, ty, lx, ly, size = reader.unpack("<iiiii", pos, what)
        _exr_check_tile(tx, ty, lx, ly, offset)
        data, pos = size, pos + 20
    elif part.kind == "deepscanline":
        y, table, packed, _unpacked = reader.unpack("<iqqq", pos, what)
        _exr_check_line(y, part, offset)
        if table < 0 or packed < 0:
            raise _Invalid(f"{what} (byte {offset:,}) has a negative size")
        data, pos = table + packed, pos + 28
    else:
        tx, ty, lx, ly, table, packed, _unpacked = reader.unpack("<iiiiqqq", pos, what)
        _exr_check_tile(tx, ty, lx, ly, offset)
        if table < 0 or packed < 0:
            raise _Invalid(f"{what} (byte {offset:,}) has a negative size")
        data, pos = table + packed, pos + 40
    if data <= 0:
        raise _Truncated(
            f"{what} (byte {offset:,}) declares {data} bytes of data: it was never written"
        )
    if pos + data > reader.size:
        raise _Truncated(
            f"{what} (byte {offset:,}) holds {data:,} bytes of data ending at byte "
            f"{pos + data:,} but the file has {reader.size:,} bytes"
        )


def _exr_check_line(y: int, part: _ExrPart, offset: int) -> None:
    row = y - part.y_min
    if not 0 <= row < part.height or (part.lines and row % part.lines):
        raise _Invalid(
            f"the last chunk (byte {offset:,}) says scan line {y}, which does not start a block "
            f"of the data window (lines {part.y_min} to {part.y_min + part.height - 1}"
            + (f", {part.lines} per chunk)" if part.lines else ")")
        )


def _exr_check_tile(tx: int, ty: int, lx: int, ly: int, offset: int) -> None:
    if min(tx, ty, lx, ly) < 0:
        raise _Invalid(
            f"the last chunk (byte {offset:,}) has negative tile coordinates ({tx},{ty}) "
            f"or level ({lx},{ly})"
        )


# -------------------------------------------------------------------------------- PNG

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_DEPTHS = {0: {1, 2, 4, 8, 16}, 2: {8, 16}, 3: {1, 2, 4, 8}, 4: {8, 16}, 6: {8, 16}}
_PNG_CRC_LIMIT = 1 << 20  # CRCs are checked on chunks up to this size, IDAT excepted


def _check_png(reader: _Reader) -> str | None:
    """PNG.

    Verifies: the 8-byte signature; the chunk walk (each length at most 2^31-1, each type
    four ASCII letters, each chunk with its CRC inside the file); IHDR first, 13 bytes,
    with a non-zero size and a valid bit depth / colour type / compression / filter /
    interlace; at least one IDAT; IEND present, empty and the last thing in the file
    (strict: bytes after IEND fail); the CRC of every chunk except IDAT (and except any
    chunk over 1 MiB), so IHDR, IEND and the metadata are checksummed.

    Does not: check IDAT CRCs or decompress the image data (that would read the whole
    file), check PLTE against the colour type, or check chunk ordering beyond IHDR first
    and IEND last.
    """
    if reader.read(0, 8, "the PNG signature") != _PNG_SIGNATURE:
        raise _Invalid("the signature is wrong")
    pos, count, seen_idat = 8, 0, False
    while True:
        if pos == reader.size:
            raise _Truncated(f"the file ends after {count} chunks without the IEND chunk")
        length, kind = struct.unpack(">I4s", reader.read(pos, 8, "a chunk header"))
        label = kind.decode("latin-1")
        if not kind.isalpha() or not kind.isascii():
            raise _Invalid(f"the chunk at byte {pos:,} has an invalid type {kind!r}")
        if length > 0x7FFFFFFF:
            raise _Invalid(f"the {label} chunk at byte {pos:,} declares {length:,} bytes")
        end = pos + 12 + length
        if end > reader.size:
            raise _Truncated(
                f"the {label} chunk at byte {pos:,} needs bytes up to {end:,} "
                f"but the file has {reader.size:,} bytes"
            )
        if count == 0 and kind != b"IHDR":
            raise _Invalid(f"the first chunk is {label}, not IHDR")
        if kind == b"IHDR":
            if count:
                raise _Invalid("a second IHDR chunk")
            _png_ihdr(reader, pos, length)
        if kind != b"IDAT" and length <= _PNG_CRC_LIMIT:
            body = reader.read(pos + 4, 4 + length, f"the {label} chunk")
            (crc,) = reader.unpack(">I", pos + 8 + length, f"the {label} chunk's CRC")
            if zlib.crc32(body) & 0xFFFFFFFF != crc:
                raise _Invalid(f"the {label} chunk at byte {pos:,} has a wrong CRC")
        seen_idat = seen_idat or kind == b"IDAT"
        count += 1
        pos = end
        if kind == b"IEND":
            if length:
                raise _Invalid("the IEND chunk is not empty")
            if not seen_idat:
                raise _Invalid("there is no IDAT chunk (no image data)")
            if pos != reader.size:
                raise _Invalid(f"{reader.size - pos:,} bytes follow the IEND chunk")
            return None


def _png_ihdr(reader: _Reader, pos: int, length: int) -> None:
    if length != 13:
        raise _Invalid(f"the IHDR chunk holds {length} bytes, not 13")
    width, height, depth, colour, compression, filtering, interlace = reader.unpack(
        ">IIBBBBB", pos + 8, "the IHDR chunk"
    )
    if not 0 < width <= 0x7FFFFFFF or not 0 < height <= 0x7FFFFFFF:
        raise _Invalid(f"the IHDR chunk says {width}x{height} pixels")
    if depth not in _PNG_DEPTHS.get(colour, set()):
        raise _Invalid(f"the IHDR chunk has bit depth {depth} with colour type {colour}")
    if compression or filtering or interlace > 1:
        raise _Invalid("the IHDR chunk has an unknown compression, filter or interlace method")


# ------------------------------------------------------------------------------- JPEG

_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_JPEG_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM, RST0-7: markers without a length


def _check_jpeg(reader: _Reader) -> str | None:
    """JPEG (JFIF, Exif, baseline, progressive).

    Verifies: SOI (FF D8) at the start; the marker segments up to the first SOS, each
    length (at least 2) within the file; a frame header (SOF0-3, 5-7, 9-11, 13-15) before
    the first SOS with a non-zero width and at least one component; the scan header
    complete; and the file ending with EOI (FF D9) after it. Strict: bytes after EOI (some
    cameras pad with zeros) fail, because a render writer never adds them and they cannot
    be told apart from a cut-off file cheaply.

    Does not: decode the entropy-coded data, walk the markers between scans of a
    progressive file, check the tables (DQT, DHT) against the frame, or check that the
    scans cover every component.
    """
    if reader.read(0, 2, "the SOI marker") != b"\xff\xd8":
        raise _Invalid("it does not start with the SOI marker FF D8")
    pos, frame = 2, False
    while True:
        if reader.read(pos, 1, "a marker")[0] != 0xFF:
            raise _Invalid(f"a marker was expected at byte {pos:,}")
        while reader.read(pos, 1, "a marker")[0] == 0xFF:  # FF fill bytes may precede a marker
            pos += 1
        marker = reader.read(pos, 1, "a marker")[0]
        pos += 1
        if marker in _JPEG_STANDALONE:
            continue
        if marker in (0x00, 0xD8, 0xD9):
            raise _Invalid(f"marker FF {marker:02X} at byte {pos - 2:,} comes before any scan")
        (length,) = reader.unpack(">H", pos, f"the length of segment FF {marker:02X}")
        if length < 2:
            raise _Invalid(f"segment FF {marker:02X} at byte {pos - 2:,} has length {length}")
        end = pos + length
        if end > reader.size:
            raise _Truncated(
                f"segment FF {marker:02X} at byte {pos - 2:,} needs bytes up to {end:,} "
                f"but the file has {reader.size:,} bytes"
            )
        if marker in _JPEG_SOF:
            if length < 8:
                raise _Invalid(f"the frame header FF {marker:02X} is {length} bytes long")
            _precision, _lines, width, components = reader.unpack(
                ">BHHB", pos + 2, "the frame header"
            )
            if width == 0 or components == 0:
                raise _Invalid(f"the frame header says width {width}, {components} components")
            frame = True
        if marker == 0xDA:
            if not frame:
                raise _Invalid("a scan (SOS) comes before any frame header (SOF)")
            break
        pos = end
    if reader.size - 2 < end or reader.read(reader.size - 2, 2, "the EOI marker") != b"\xff\xd9":
        raise _Truncated(
            "it does not end with the EOI marker FF D9 (the image data was cut short, "
            "or something follows the marker)"
        )
    return None


# ------------------------------------------------------------------------------- TIFF

_TIFF_TYPE_SIZES = {
    1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4,
    16: 8, 17: 8, 18: 8,
}  # fmt: skip
_TIFF_INT_CODES = {1: "B", 3: "H", 4: "I", 16: "Q"}  # the types counts and offsets may use
_TIFF_WANTED = {256, 257, 258, 273, 277, 278, 279, 284, 322, 323, 324, 325}
_TIFF_MAX_IFDS = 1024


def _check_tiff(reader: _Reader) -> str | None:
    """TIFF 6.0 and BigTIFF, either byte order.

    Verifies: the header (II or MM, 42 or 43; for BigTIFF offset size 8), a non-zero
    first-IFD offset past the header; for every IFD in the chain (up to 1024, with loop
    detection): the entry count (non-zero) and entries within the file, every value stored
    outside its entry within the file, ImageWidth and ImageLength present and non-zero,
    StripOffsets with StripByteCounts (or TileOffsets with TileByteCounts) present and of
    equal length, at least as many strips or tiles as the image size, RowsPerStrip (or tile
    size) and PlanarConfiguration need, and every strip or tile non-empty and ending within
    the file; the next-IFD offset within the file.

    Does not: decompress strips, check that uncompressed strips hold the bytes their rows
    need, follow SubIFDs or EXIF IFDs, or check the baseline's required fields beyond those.
    """
    head = reader.read(0, 8, "the TIFF header")
    order = "<" if head[:2] == b"II" else ">"
    (version,) = struct.unpack(order + "H", head[2:4])
    big = version == 43
    if big:
        offset_size, zero, ifd = reader.unpack(order + "HHQ", 4, "the BigTIFF header")
        if offset_size != 8 or zero:
            raise _Invalid(f"the BigTIFF header says offsets of {offset_size} bytes")
        first = 16
    else:
        (ifd,) = struct.unpack(order + "I", head[4:8])
        first = 8
    if ifd == 0:
        raise _Truncated("the header points to no image directory: the writer never wrote it")
    seen: set[int] = set()
    index = 0
    while ifd and index < _TIFF_MAX_IFDS:
        if ifd in seen:
            raise _Invalid(f"IFD {index} at byte {ifd:,} was already read (a loop)")
        if ifd < first:
            raise _Invalid(f"IFD {index} at byte {ifd:,} overlaps the header")
        seen.add(ifd)
        ifd = _tiff_ifd(reader, order, big, ifd, index)
        index += 1
    return None


def _tiff_ifd(reader: _Reader, order: str, big: bool, pos: int, index: int) -> int:
    """Check one IFD; returns the next IFD's offset."""
    where = f"IFD {index}"
    (count,) = reader.unpack(order + ("Q" if big else "H"), pos, f"the entry count of {where}")
    if count == 0:
        raise _Invalid(f"{where} at byte {pos:,} has no entries")
    entry_size, inline = (20, 8) if big else (12, 4)
    start = pos + (8 if big else 2)
    table = reader.read(start, entry_size * count + inline, f"the entries of {where}")
    fields: dict[int, tuple[int, ...]] = {}
    entry_fmt = order + ("HHQ" if big else "HHI")
    offset_fmt = order + ("Q" if big else "I")
    for i in range(count):
        entry = table[entry_size * i : entry_size * (i + 1)]
        tag, kind, n = struct.unpack_from(entry_fmt, entry)
        value = entry[entry_size - inline :]
        size = _TIFF_TYPE_SIZES.get(kind)
        if size is None:
            continue  # unknown field types are to be skipped (TIFF 6.0, section 2)
        total = size * n
        at = None
        if total > inline:
            (at,) = struct.unpack(offset_fmt, value)
            if at + total > reader.size:
                raise _Truncated(
                    f"the values of tag {tag} in {where} need bytes {at:,} to {at + total:,} "
                    f"but the file has {reader.size:,} bytes"
                )
        if tag in _TIFF_WANTED:
            code = _TIFF_INT_CODES.get(kind)
            if code is None:
                raise _Invalid(f"tag {tag} in {where} has field type {kind}, not an integer")
            data = value[:total] if at is None else reader.read(at, total, f"tag {tag}")
            fields[tag] = struct.unpack(f"{order}{n}{code}", data)
    (next_ifd,) = struct.unpack(offset_fmt, table[entry_size * count :])
    _tiff_strips(reader, fields, where)
    if next_ifd >= reader.size:
        raise _Truncated(
            f"{where} points to a next IFD at byte {next_ifd:,} but the file has "
            f"{reader.size:,} bytes"
        )
    return int(next_ifd)


def _tiff_strips(reader: _Reader, fields: dict[int, tuple[int, ...]], where: str) -> None:
    def one(tag: int, default: int | None = None) -> int:
        values = fields.get(tag)
        if not values:
            if default is None:
                raise _Invalid(f"{where} has no tag {tag}")
            return default
        return values[0]

    width, height = one(256), one(257)
    if not width or not height:
        raise _Invalid(f"{where} says the image is {width}x{height} pixels")
    planes = one(277, 1) if one(284, 1) == 2 else 1
    if 324 in fields or 325 in fields:
        offsets_tag, counts_tag, label = 324, 325, "tile"
        tile_w, tile_h = one(322), one(323)
        if not tile_w or not tile_h:
            raise _Invalid(f"{where} has tiles of {tile_w}x{tile_h} pixels")
        needed = -(-width // tile_w) * -(-height // tile_h) * planes
    else:
        offsets_tag, counts_tag, label = 273, 279, "strip"
        rows = one(278, 0xFFFFFFFF) or 0xFFFFFFFF
        needed = -(-height // rows) * planes
    offsets, counts = fields.get(offsets_tag), fields.get(counts_tag)
    if not offsets or not counts:
        raise _Invalid(f"{where} lacks the {label} offsets or {label} byte counts")
    if len(offsets) != len(counts):
        raise _Invalid(f"{where} has {len(offsets)} {label} offsets but {len(counts)} byte counts")
    if len(offsets) < needed:
        raise _Invalid(f"{where} has {len(offsets)} {label}s, the image needs {needed}")
    for number, (offset, count) in enumerate(zip(offsets, counts, strict=True)):
        if count == 0:
            raise _Invalid(f"{label} {number} of {where} is empty (0 bytes)")
        if offset + count > reader.size:
            raise _Truncated(
                f"{label} {number} of {where} needs bytes {offset:,} to {offset + count:,} "
                f"but the file has {reader.size:,} bytes"
            )


# ------------------------------------------------------------------------------- IFF

_IFF_GROUPS = {b"FOR4", b"FOR8", b"CAT4", b"CAT8", b"LIS4", b"LIS8", b"PRO4", b"PRO8"}
_IFF_RGB, _IFF_ALPHA, _IFF_ZBUFFER = 1, 2, 4


def _iff_chunks(
    reader: _Reader, pos: int, end: int, wide: bool, where: str
) -> list[tuple[bytes, int, int]]:
    """(tag, data start, data size) of each chunk from ``pos`` to ``end``."""
    header, align = (16, 8) if wide else (8, 4)
    found = []
    while pos < end:
        if pos + header > end:
            raise _Invalid(f"a chunk header at byte {pos:,} runs past the end of {where}")
        tag = reader.read(pos, 4, "a chunk tag")
        if wide:
            (size,) = reader.unpack(">Q", pos + 8, "a chunk size")
        else:
            (size,) = reader.unpack(">I", pos + 4, "a chunk size")
        data = pos + header
        if data + size > end:
            label = tag.decode("latin-1")
            if data + size > reader.size:
                raise _Truncated(
                    f"the {label} chunk at byte {pos:,} needs bytes up to {data + size:,} "
                    f"but the file has {reader.size:,} bytes"
                )
            raise _Invalid(f"the {label} chunk at byte {pos:,} runs past the end of {where}")
        found.append((tag, data, size))
        pos = data + size + (-size % align)
    return found


def _check_iff(reader: _Reader) -> str | None:
    """Maya IFF (FOR4, and FOR8 as described in the module docstring).

    Verifies: a ``FOR4``/``FOR8`` form of type ``CIMG`` whose declared size is what the
    file holds (a form size of 0 is what a writer leaves before it finishes; bytes after
    the form, beyond alignment padding, fail); every chunk inside it, and inside its
    nested groups, with its size within its container (4-byte alignment for FOR4, 8 for
    FOR8); a TBHD of 24 or 32 bytes with a non-zero size and tile count; a ``TBMP`` form
    holding at least as many RGBA tiles (or ZBUF tiles for a depth-only image) as TBHD
    announces; each RGBA tile's bounds inside the image; and, for uncompressed images,
    each RGBA tile holding the bytes its pixels need.

    Does not: decode RLE tiles, check that the tiles cover the image, or read AUTH/DATE.
    A file cut inside the alignment padding after its form (zeros that hold no data) passes.
    """
    tag = reader.read(0, 4, "the form tag")
    wide = tag == b"FOR8"
    header = 16 if wide else 8
    (size,) = reader.unpack(">Q" if wide else ">I", 8 if wide else 4, "the form size")
    end = header + size
    if end > reader.size:
        raise _Truncated(
            f"the {tag.decode()} form declares {size:,} bytes but the file holds "
            f"{reader.size - header:,} after its header"
        )
    trailing = reader.size - end  # alignment padding (zeros) may follow the form, no more
    if trailing >= (8 if wide else 4) or reader.read(end, trailing, "padding").strip(b"\0"):
        raise _Invalid(
            f"the {tag.decode()} form declares {size:,} bytes but {trailing:,} more follow it "
            "(a form size the writer never set?)"
        )
    if size < 4 or reader.read(header, 4, "the form type") != b"CIMG":
        raise _Invalid("the form is not a CIMG image")
    tbhd: tuple[int, ...] | None = None
    tbmp: list[tuple[bytes, int, int]] | None = None
    for kind, data, length in _iff_chunks(reader, header + 4, end, wide, "the CIMG form"):
        if kind == b"TBHD":
            if length not in (24, 32):
                raise _Invalid(f"the TBHD header is {length} bytes, not 24 or 32")
            tbhd = reader.unpack(">IIHHIHHI", data, "the TBHD header")
        elif kind in _IFF_GROUPS and length >= 4 and reader.read(data, 4, "a form type") == b"TBMP":
            tbmp = _iff_chunks(reader, data + 4, data + length, wide, "the TBMP form")
    if tbhd is None:
        raise _Invalid("there is no TBHD header")
    width, height, _prnum, _prden, flags, depth, tiles, compression = tbhd
    if not width or not height or not tiles:
        raise _Invalid(f"the TBHD header says {width}x{height} pixels in {tiles} tiles")
    if tbmp is None:
        raise _Invalid("there is no TBMP form (no pixel data)")
    rgba = [(data, length) for kind, data, length in tbmp if kind == b"RGBA"]
    zbuf = sum(1 for kind, _, _ in tbmp if kind == b"ZBUF")
    colour = flags & (_IFF_RGB | _IFF_ALPHA)
    found, label = (len(rgba), "RGBA") if colour or not flags & _IFF_ZBUFFER else (zbuf, "ZBUF")
    if found < tiles:
        raise _Invalid(
            f"the TBHD header announces {tiles} tiles but the TBMP form holds {found} {label} tiles"
        )
    channels = (3 if flags & _IFF_RGB else 0) + (1 if flags & _IFF_ALPHA else 0)
    for number, (data, length) in enumerate(rgba):
        if length < 8:
            raise _Invalid(f"RGBA tile {number} is {length} bytes, too short for its bounds")
        x1, y1, x2, y2 = reader.unpack(">HHHH", data, "a tile's bounds")
        if x1 > x2 or y1 > y2 or x2 >= width or y2 >= height:
            raise _Invalid(f"RGBA tile {number} spans {x1},{y1} to {x2},{y2}, outside the image")
        need = 8 + (x2 - x1 + 1) * (y2 - y1 + 1) * channels * (2 if depth else 1)
        if compression == 0 and length < need:
            raise _Invalid(
                f"uncompressed RGBA tile {number} holds {length:,} bytes, its pixels need {need:,}"
            )
    return None


# -------------------------------------------------------------------------------- TGA

_TGA_TYPES = {1, 2, 3, 9, 10, 11}


def _check_tga(reader: _Reader) -> str | None:
    """TGA (Truevision), recognised by its extension or its TGA 2.0 footer.

    Verifies: the 18-byte header (image type 1, 2, 3 or their RLE forms 9, 10, 11;
    colour-mapped types with a colour map of 15, 16, 24 or 32-bit entries; non-zero width
    and height; pixel depth 8, 15, 16, 24 or 32); that the image ID and colour map fit;
    for uncompressed images that the file holds every pixel; for RLE images, by walking the
    packets (without keeping the pixels), that they decode to width x height pixels before
    the data ends; and, when a TGA 2.0 footer is present, that the pixel data ends before
    it and its extension-area and developer-directory offsets point inside the file;
    without a footer, nothing may follow the pixel data (strict: those bytes can only be
    the start of a cut-off extension area or footer, or garbage).

    Does not: check pixel values or the colour map's contents, or that RLE packets stop at
    scan-line ends (TGA 2.0 asks for it, many writers ignore it). A TGA 2.0 file cut
    exactly where its pixel data ends is indistinguishable from a valid TGA 1.0 file.
    """
    (id_length, map_type, image_type, _map_first, map_length, map_bits, _x, _y, width, height,
     depth, _descriptor) = reader.unpack("<BBBHHBHHHHBB", 0, "the 18-byte header")  # fmt: skip
    if image_type not in _TGA_TYPES:
        raise _Invalid(f"the header's image type is {image_type}")
    if map_type > 1 or (image_type in (1, 9) and map_type != 1):
        raise _Invalid(f"colour-map type {map_type} does not fit image type {image_type}")
    if map_type == 1 and (map_bits not in (15, 16, 24, 32) or map_length == 0):
        raise _Invalid(f"the colour map has {map_length} entries of {map_bits} bits")
    if not width or not height:
        raise _Invalid(f"the header says {width}x{height} pixels")
    if depth not in (8, 15, 16, 24, 32):
        raise _Invalid(f"the header says {depth} bits per pixel")
    start = 18 + id_length + (map_length * ((map_bits + 7) // 8) if map_type == 1 else 0)
    data_end = reader.size
    if reader.size >= 18 + 26:
        footer = reader.read(reader.size - 26, 26, "the footer")
        if footer[8:] == _TGA_SIGNATURE:
            data_end = reader.size - 26
            for offset, area in zip(
                struct.unpack("<II", footer[:8]), ("extension", "developer"), strict=True
            ):
                if offset and not 18 <= offset < data_end:
                    raise _Invalid(f"the footer's {area} offset ({offset:,}) is outside the file")
                if offset:
                    data_end = min(data_end, offset)
    has_footer = data_end < reader.size
    pixel_bytes = (depth + 7) // 8
    pixels = width * height
    if image_type in (1, 2, 3):
        end = start + pixels * pixel_bytes
        if end > data_end:
            raise _Truncated(
                f"the {width}x{height} pixels need bytes {start:,} to {end:,} "
                f"but the {'pixel data ends at byte' if has_footer else 'file has'} {data_end:,}"
                + ("" if has_footer else " bytes")
            )
    else:
        end = _tga_rle(reader, start, data_end, pixels, pixel_bytes)
    if not has_footer and end < reader.size:
        raise _Truncated(
            f"{reader.size - end:,} bytes follow the pixel data but there is no TGA 2.0 footer: "
            "the file was cut inside its extension area or footer"
        )
    return None


def _tga_rle(reader: _Reader, pos: int, end: int, pixels: int, pixel_bytes: int) -> int:
    """Walk the RLE packets until ``pixels`` are decoded; the data must not run past ``end``.
    Returns where the RLE data ends."""
    done, block, block_start = 0, b"", pos
    while done < pixels:
        at = pos - block_start
        if not 0 <= at < len(block):
            if pos >= end:
                raise _Truncated(f"the RLE data ends after {done:,} of {pixels:,} pixels")
            block_start, at = pos, 0
            block = reader.read(pos, min(_BLOCK, end - pos), "the RLE data")
        while done < pixels and at < len(block):
            head = block[at]
            count = (head & 0x7F) + 1
            step = 1 + (pixel_bytes if head & 0x80 else count * pixel_bytes)
            at += step
            pos += step
            done += count
    if pos > end:
        raise _Truncated(
            f"the last RLE packet needs bytes up to {pos:,} but the pixel data ends at {end:,}"
        )
    return pos


_CHECKERS: dict[str, Callable[[_Reader], str | None]] = {
    "exr": _check_exr,
    "png": _check_png,
    "jpeg": _check_jpeg,
    "tiff": _check_tiff,
    "iff": _check_iff,
    "tga": _check_tga,
}


# ------------------------------------------------------------------------ header only


@dataclass(frozen=True)
class ImageHeader:
    """What a file's header says: its format (as :class:`ImageCheck` names it) and size."""

    format: str
    width: int
    height: int

    @property
    def label(self) -> str:
        """The format's display name (``OpenEXR``, ``Maya IFF``, ...)."""
        return format_label(self.format)


def format_label(fmt: str) -> str:
    """The display name of a format name of :data:`CHECKED_EXTENSIONS` (upper case if
    unknown)."""
    return _LABELS.get(fmt, fmt.upper())


def image_header(path: str | os.PathLike[str]) -> ImageHeader | None:
    """The format and resolution that the file's header announces; None when the file is
    missing, unreadable, in no format of :data:`CHECKED_EXTENSIONS` or its header cannot
    be parsed. Reads a few hundred bytes (an OpenEXR header, the TIFF first IFD, the JPEG
    segments up to the frame header); never decodes pixels and never raises.

    Where the size comes from: OpenEXR, the first part's ``dataWindow``; PNG, IHDR; JPEG,
    the first frame header (SOF); TIFF, ImageWidth and ImageLength of the first IFD; TGA,
    the 18-byte header (recognised by extension or footer, as in :func:`check_image`);
    Maya IFF, the TBHD chunk of the CIMG form. The structure past the header is not
    checked: a truncated file still has a size here (:func:`check_image` judges it).
    """
    name = os.fspath(path)
    try:
        size = os.stat(name).st_size
        if size == 0:
            return None
        with _open(name) as handle:
            reader = _Reader(handle, size)
            fmt = _detect(reader)
            if fmt is None and _claimed_extension(name) == "tga":
                fmt = "tga"
            if fmt is None:
                return None
            width, height = _HEADER_SIZES[fmt](reader)
    except (OSError, _Truncated, _Invalid, struct.error, LookupError, ValueError, OverflowError):
        return None  # LookupError: a TIFF without ImageWidth or ImageLength
    if width < 1 or height < 1:
        return None
    return ImageHeader(fmt, width, height)


def image_header_size(path: str | os.PathLike[str]) -> tuple[int, int] | None:
    """``(width, height)`` from the file's header, or None (see :func:`image_header`)."""
    header = image_header(path)
    return None if header is None else (header.width, header.height)


def _exr_size(reader: _Reader) -> tuple[int, int]:
    (_magic, version) = reader.unpack("<iI", 0, "the magic number and version field")
    limit = 255 if version & _EXR_LONG_NAMES else 31
    header, _end = _exr_header(reader, 8, limit, "")
    if "dataWindow" not in header:
        raise _Invalid("no dataWindow")
    x_min, y_min, x_max, y_max = struct.unpack("<iiii", header["dataWindow"])
    return x_max - x_min + 1, y_max - y_min + 1


def _png_size(reader: _Reader) -> tuple[int, int]:
    width, height = reader.unpack(">II", 16, "the IHDR chunk")
    if reader.read(12, 4, "the IHDR tag") != b"IHDR":
        raise _Invalid("the first chunk is not IHDR")
    return width, height


def _jpeg_size(reader: _Reader) -> tuple[int, int]:
    pos = 2
    for _ in range(4096):  # a bound: a header has far fewer segments
        while reader.read(pos, 1, "a marker")[0] == 0xFF:
            pos += 1
        marker = reader.read(pos, 1, "a marker")[0]
        pos += 1
        if marker in _JPEG_STANDALONE:
            continue
        if marker in (0x00, 0xD8, 0xD9, 0xDA):
            break
        (length,) = reader.unpack(">H", pos, "a segment length")
        if marker in _JPEG_SOF:
            _precision, height, width = reader.unpack(">BHH", pos + 2, "the frame header")
            return width, height
        if length < 2:
            break
        pos += length
    raise _Invalid("no frame header before the first scan")


def _tiff_size(reader: _Reader) -> tuple[int, int]:
    head = reader.read(0, 8, "the TIFF header")
    order = "<" if head[:2] == b"II" else ">"
    big = struct.unpack(order + "H", head[2:4])[0] == 43
    if big:
        (ifd,) = reader.unpack(order + "Q", 8, "the BigTIFF header")
        (count,) = reader.unpack(order + "Q", ifd, "the entry count")
        entry_size, inline, start, entry_fmt = 20, 8, ifd + 8, order + "HHQ"
    else:
        (ifd,) = struct.unpack(order + "I", head[4:8])
        (count,) = reader.unpack(order + "H", ifd, "the entry count")
        entry_size, inline, start, entry_fmt = 12, 4, ifd + 2, order + "HHI"
    found: dict[int, int] = {}
    for i in range(min(count, 4096)):
        entry = reader.read(start + i * entry_size, entry_size, "an IFD entry")
        tag, kind, n = struct.unpack_from(entry_fmt, entry)
        if tag in (256, 257) and n >= 1 and kind in (3, 4, 16):
            code = _TIFF_INT_CODES[kind]
            if struct.calcsize(code) <= inline:
                (found[tag],) = struct.unpack_from(order + code, entry, entry_size - inline)
    return found[256], found[257]


def _tga_size(reader: _Reader) -> tuple[int, int]:
    width, height = reader.unpack("<HH", 12, "the 18-byte header")
    (image_type,) = reader.unpack("<B", 2, "the image type")
    if image_type not in _TGA_TYPES:
        raise _Invalid(f"the header's image type is {image_type}")
    return width, height


def _iff_size(reader: _Reader) -> tuple[int, int]:
    wide = reader.read(0, 4, "the form tag") == b"FOR8"
    header, align = (16, 8) if wide else (8, 4)
    if reader.read(header, 4, "the form type") != b"CIMG":
        raise _Invalid("the form is not a CIMG image")
    pos = header + 4
    for _ in range(4096):
        tag = reader.read(pos, 4, "a chunk tag")
        (size,) = reader.unpack(">Q" if wide else ">I", pos + (8 if wide else 4), "a chunk size")
        if tag == b"TBHD":
            width, height = reader.unpack(">II", pos + header, "the TBHD header")
            return width, height
        pos += header + size + (-size % align)
    raise _Invalid("there is no TBHD header")


_HEADER_SIZES: dict[str, Callable[[_Reader], tuple[int, int]]] = {
    "exr": _exr_size,
    "png": _png_size,
    "jpeg": _jpeg_size,
    "tiff": _tiff_size,
    "iff": _iff_size,
    "tga": _tga_size,
}


# ------------------------------------------------------------------------ pixel check


def _find_openimageio() -> bool:
    try:
        return importlib.util.find_spec("OpenImageIO") is not None
    except (ImportError, ValueError):
        return False


#: OpenImageIO (the optional extra) can be imported, so :func:`pixel_problem` looks at pixels
PIXEL_CHECK_AVAILABLE: bool = _find_openimageio()


def pixel_problem(path: str | os.PathLike[str]) -> str | None:
    """What is wrong with the pixels, through OpenImageIO; None when nothing (or no OIIO).

    Returns ``"all NaN"`` (every colour value is NaN), ``"all black"`` (every colour
    channel is 0; alpha is not a colour channel and is ignored), ``"one flat colour"``
    (every channel, alpha included, holds one value), or ``"unreadable: ..."`` when
    OpenImageIO cannot read the pixels. Returns None when the pixels vary, and always when
    OpenImageIO is not installed (see :data:`PIXEL_CHECK_AVAILABLE`): the check is
    optional. It reads the whole image, so it costs what decoding the file costs; run it
    after :func:`check_image` passed. A legitimately empty frame (a matte pass with nothing
    in view) is reported too: what to do with the answer is the caller's decision.
    """
    try:
        oiio = importlib.import_module("OpenImageIO")
    except ImportError:
        return None
    try:
        buf = oiio.ImageBuf(os.fspath(path))
        stats = oiio.ImageBufAlgo.computePixelStats(buf)
        if buf.has_error:
            return f"unreadable: {str(buf.geterror()).strip().splitlines()[0]}"
        alpha = int(buf.spec().alpha_channel)
        minima = [float(v) for v in stats.min]
        maxima = [float(v) for v in stats.max]
        finite = [int(v) for v in stats.finitecount]
        nans = [int(v) for v in stats.nancount]
    except Exception as exc:  # an optional binding: its failures must not stop a render
        return f"unreadable: {exc}"
    channels = range(len(minima))
    colour = [c for c in channels if c != alpha] or list(channels)
    if not colour:
        return None
    if all(finite[c] == 0 and nans[c] > 0 for c in colour):
        return "all NaN"
    if all(minima[c] == 0.0 and maxima[c] == 0.0 for c in colour):
        return "all black"
    if all(minima[c] == maxima[c] and not math.isnan(minima[c]) for c in channels):
        return "one flat colour"
    return None
