"""Tests for ``utils/image_check.py``: is a rendered image complete?

The files come from three places, so the checker is not only tested against shapes it was
written alongside:
- the simulator's writer (``sim/images.py``: PNG, OpenEXR, TIFF, TGA, Maya IFF);
- builders in this file, written with ``struct`` from the format documents: scan-line
  OpenEXR with 16- and 32-line chunks, tiled OpenEXR with one level, mip-maps and rip-maps,
  multi-part and deep OpenEXR, a minimal baseline JPEG, TIFF in both byte orders, BigTIFF and
  tiled TIFF, RLE and colour-mapped TGA, Maya IFF with several tiles, RLE and FOR8;
- ``REAL_FILES``: a few small files written by real libraries (OpenEXR 3.5.3,
  OpenImageIO 3.2.2, Pillow 13) in a scratch environment outside this repository, stored
  here zlib-compressed and base64-encoded. Those libraries are not dependencies.
"""

from __future__ import annotations

import base64
import math
import os
import struct
import sys
import time
import types
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.util import find_spec
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lrc_toolbox.sim.images import write_image
from lrc_toolbox.utils import image_check
from lrc_toolbox.utils.image_check import (
    MTIME_SLACK_SECONDS,
    PIXEL_CHECK_AVAILABLE,
    ImageCheck,
    check_image,
    pixel_problem,
)

FUZZ = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# ------------------------------------------------------------------------- OpenEXR

EXR_MAGIC = 20000630
TILED, NON_IMAGE, MULTIPART = 0x200, 0x800, 0x1000
NONE, RLE, ZIPS, ZIP, PIZ, DWAB = 0, 1, 2, 3, 4, 9


def exr_attr(name: str, kind: str, data: bytes) -> bytes:
    return name.encode() + b"\0" + kind.encode() + b"\0" + struct.pack("<i", len(data)) + data


def exr_attributes(
    width: int, height: int, compression: int, *, y_min: int = 0, extra: bytes = b""
) -> bytes:
    """A header's attributes (without the terminating null): the eight the layout requires."""
    chlist = b"".join(c + b"\0" + struct.pack("<iB3xii", 1, 0, 1, 1) for c in (b"B", b"G", b"R"))
    box = struct.pack("<iiii", 0, y_min, width - 1, y_min + height - 1)
    return (
        exr_attr("channels", "chlist", chlist + b"\0")
        + exr_attr("compression", "compression", bytes([compression]))
        + exr_attr("dataWindow", "box2i", box)
        + exr_attr("displayWindow", "box2i", box)
        + exr_attr("lineOrder", "lineOrder", b"\0")
        + exr_attr("pixelAspectRatio", "float", struct.pack("<f", 1.0))
        + exr_attr("screenWindowCenter", "v2f", struct.pack("<ff", 0.0, 0.0))
        + exr_attr("screenWindowWidth", "float", struct.pack("<f", 1.0))
        + extra
    )


def payload(index: int) -> bytes:
    """Stand-in compressed pixel data of varying length (the checker never decompresses)."""
    return bytes((index * 31 + j) % 251 for j in range(17 + (index * 7) % 13))


def exr_file(
    flags: int, headers: list[bytes], parts: list[list[bytes]], *, reverse: bool = False
) -> bytes:
    """Magic, version, header(s), offset table(s), chunks. ``parts`` holds each part's chunks
    in table order (without the part number, added here for multi-part files); ``reverse``
    stores the chunks back to front, as a DECREASING_Y file does."""
    multipart = bool(flags & MULTIPART)
    head = struct.pack("<iI", EXR_MAGIC, 2 | flags)
    head += b"".join(h + b"\0" for h in headers) + (b"\0" if multipart else b"")
    blobs = [
        (struct.pack("<i", number) if multipart else b"") + chunk
        for number, chunks in enumerate(parts)
        for chunk in chunks
    ]
    position = len(head) + 8 * len(blobs)
    offsets = [0] * len(blobs)
    for index in reversed(range(len(blobs))) if reverse else range(len(blobs)):
        offsets[index] = position
        position += len(blobs[index])
    stored = list(reversed(blobs)) if reverse else blobs
    return head + struct.pack(f"<{len(offsets)}Q", *offsets) + b"".join(stored)


def line_chunk(y: int, index: int) -> bytes:
    data = payload(index)
    return struct.pack("<ii", y, len(data)) + data


def tile_chunk(tx: int, ty: int, lx: int, ly: int, index: int) -> bytes:
    data = payload(index)
    return struct.pack("<iiiii", tx, ty, lx, ly, len(data)) + data


def scanline_exr(
    width: int, height: int, compression: int, lines: int, *, y_min: int = 0, reverse: bool = False
) -> bytes:
    starts = range(y_min, y_min + height, lines)  # one chunk per `lines` scan lines
    chunks = [line_chunk(y, i) for i, y in enumerate(starts)]
    return exr_file(
        0, [exr_attributes(width, height, compression, y_min=y_min)], [chunks], reverse=reverse
    )


def tiled_exr(width: int, height: int, tile: int, mode: int, chunks: int) -> bytes:
    """A tiled file with ``chunks`` tiles (the count is worked out by hand in the tests)."""
    tiles = exr_attr("tiles", "tiledesc", struct.pack("<IIB", tile, tile, mode))
    header = exr_attributes(width, height, ZIP, extra=tiles)
    return exr_file(TILED, [header], [[tile_chunk(i % 3, i // 3, 0, 0, i) for i in range(chunks)]])


def part_attributes(
    name: str, kind: str, width: int, height: int, compression: int, chunks: int, extra: bytes = b""
) -> bytes:
    return exr_attributes(
        width,
        height,
        compression,
        extra=exr_attr("name", "string", name.encode())
        + exr_attr("type", "string", kind.encode())
        + exr_attr("chunkCount", "int", struct.pack("<i", chunks))
        + extra,
    )


MULTIPART_LAST_TILE = 7  # payload index of the multi-part file's last chunk


def multipart_exr() -> bytes:
    """12x20 pixels twice (parts share the display window): a scan-line ZIP part (2 chunks
    of 16 lines) and a tiled part (one level, 8x8 tiles: 2 x 3)."""
    tiles = exr_attr("tiles", "tiledesc", struct.pack("<IIB", 8, 8, 0))
    headers = [
        part_attributes("beauty", "scanlineimage", 12, 20, ZIP, 2),
        part_attributes("depth", "tiledimage", 12, 20, NONE, 6, tiles),
    ]
    parts = [
        [line_chunk(0, 0), line_chunk(16, 1)],
        [tile_chunk(x, y, 0, 0, 2 + x + 2 * y) for y in range(3) for x in range(2)],
    ]
    return exr_file(MULTIPART, headers, parts)


def deep_scanline_exr() -> bytes:
    """A single-part deep scan-line file (ZIPS: one line per chunk), 4x3 pixels."""
    chunks = []
    for y in range(3):
        table, data = payload(y)[:10], payload(y + 5)
        chunks.append(struct.pack("<iqqq", y, len(table), len(data), 4 * len(data)) + table + data)
    header = part_attributes("deep", "deepscanline", 4, 3, ZIPS, 3)
    return exr_file(NON_IMAGE, [header], [chunks])


# ---------------------------------------------------------------------------- PNG


def png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png_file(width: int = 6, height: int = 4) -> bytes:
    """8-bit grey with a tEXt chunk and the image data split over three IDAT chunks."""
    raw = b"".join(b"\0" + bytes((x * 40 + y) % 256 for x in range(width)) for y in range(height))
    packed = zlib.compress(raw)
    third = max(1, len(packed) // 3)
    idats = [packed[:third], packed[third : 2 * third], packed[2 * third :]]
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + png_chunk(b"tEXt", b"Software\0lrc_toolbox tests")
        + b"".join(png_chunk(b"IDAT", part) for part in idats)
        + png_chunk(b"IEND", b"")
    )


# --------------------------------------------------------------------------- JPEG


def jpeg_segment(marker: int, body: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(body) + 2) + body


def jpeg_file(width: int = 16, height: int = 8) -> bytes:
    """A minimal baseline grey JPEG: SOI, APP0/JFIF, DQT, SOF0, two DHT, SOS, data, EOI.

    Each Huffman table holds one 1-bit code ("0"): DC symbol 0 (no difference) and AC
    symbol 0 (end of block), so every 8x8 block is the two bits "00": a flat mid-grey image.
    """
    blocks = -(-width // 8) * -(-height // 8)
    bits = "00" * blocks
    bits += "1" * (-len(bits) % 8)  # pad the last byte with 1-bits (T.81 F.1.2.3)
    scan = int(bits, 2).to_bytes(len(bits) // 8, "big")
    return (
        b"\xff\xd8"
        + jpeg_segment(0xE0, b"JFIF\0\x01\x02\0" + struct.pack(">HH", 1, 1) + b"\0\0")
        + jpeg_segment(0xDB, b"\0" + bytes([1] * 64))
        + jpeg_segment(0xC0, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00")
        + jpeg_segment(0xC4, b"\x00" + bytes([1] + [0] * 15) + b"\x00")
        + jpeg_segment(0xC4, b"\x10" + bytes([1] + [0] * 15) + b"\x00")
        + jpeg_segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
        + scan
        + b"\xff\xd9"
    )


# --------------------------------------------------------------------------- TIFF

SHORT, LONG, LONG8 = 3, 4, 16
TIFF_CODES = {SHORT: "H", LONG: "I", LONG8: "Q"}


def tiff_file(
    width: int,
    height: int,
    *,
    rows_per_strip: int | None = None,
    tile: int | None = None,
    order: str = "<",
    big: bool = False,
) -> bytes:
    """8-bit grey, uncompressed; the pixel data first, the IFD and its arrays last (as
    libtiff writes them)."""
    header_size = 16 if big else 8
    pieces: list[bytes] = []
    if tile:
        for ty in range(-(-height // tile)):
            for tx in range(-(-width // tile)):
                pieces.append(bytes((tx + ty + i) % 256 for i in range(tile * tile)))
    else:
        rows = rows_per_strip or height
        for top in range(0, height, rows):
            n = min(rows, height - top)
            pieces.append(bytes((top + i) % 256 for i in range(n * width)))
    offsets, position = [], header_size
    for piece in pieces:
        offsets.append(position)
        position += len(piece)
    ifd_at = position + (position % 2)
    big_type = LONG8 if big else LONG
    entries: list[tuple[int, int, list[int]]] = [
        (256, SHORT, [width]),
        (257, SHORT, [height]),
        (258, SHORT, [8]),
        (259, SHORT, [1]),
        (262, SHORT, [1]),
        (277, SHORT, [1]),
    ]
    if tile:
        entries += [
            (322, SHORT, [tile]),
            (323, SHORT, [tile]),
            (324, big_type, offsets),
            (325, LONG, [len(p) for p in pieces]),
        ]
    else:
        entries += [
            (273, big_type, offsets),
            (278, SHORT, [rows_per_strip or height]),
            (279, LONG, [len(p) for p in pieces]),
        ]
    entries.sort()
    count_fmt, entry_fmt, inline = ("Q", "HHQ", 8) if big else ("H", "HHI", 4)
    entry_size = 20 if big else 12
    extra_at = ifd_at + struct.calcsize(order + count_fmt) + entry_size * len(entries) + inline
    ifd, extra = struct.pack(order + count_fmt, len(entries)), b""
    for tag, kind, values in entries:
        packed = struct.pack(f"{order}{len(values)}{TIFF_CODES[kind]}", *values)
        if len(packed) <= inline:
            field = packed.ljust(inline, b"\0")
        else:
            field = struct.pack(order + ("Q" if big else "I"), extra_at + len(extra))
            extra += packed
        ifd += struct.pack(order + entry_fmt, tag, kind, len(values)) + field
    ifd += b"\0" * inline  # no next IFD
    magic = (b"II" if order == "<" else b"MM") + struct.pack(order + "H", 43 if big else 42)
    head = magic + (
        struct.pack(order + "HHQ", 8, 0, ifd_at) if big else struct.pack(order + "I", ifd_at)
    )
    body = head + b"".join(pieces)
    return body + b"\0" * (ifd_at - len(body)) + ifd + extra


# ---------------------------------------------------------------------------- TGA


def tga_header(image_type: int, width: int, height: int, depth: int, colour_map: int = 0) -> bytes:
    map_type, map_length, map_bits = (1, colour_map, 24) if colour_map else (0, 0, 0)
    return struct.pack(
        "<BBBHHBHHHHBB", 0, map_type, image_type, 0, map_length, map_bits, 0, 0, width, height,
        depth, 0x20,
    )  # fmt: skip


def tga_rle_file(width: int = 9, height: int = 4) -> bytes:
    """24-bit RLE: each row is a run of 4 equal pixels then raw pixels (one packet each)."""
    data = b""
    for y in range(height):
        data += bytes([0x80 | 3]) + bytes((y, 10, 20))  # run packet: 4 pixels
        raw = width - 4
        data += bytes([raw - 1]) + b"".join(bytes((x, y, 30)) for x in range(raw))
    return tga_header(10, width, height, 24) + data


def tga_colour_mapped_file(width: int = 5, height: int = 3) -> bytes:
    palette = bytes((0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255))
    pixels = bytes((x + y) % 4 for y in range(height) for x in range(width))
    return tga_header(1, width, height, 8, colour_map=4) + palette + pixels


def tga_with_footer(body: bytes) -> bytes:
    return body + struct.pack("<II", 0, 0) + b"TRUEVISION-XFILE.\0"


# ---------------------------------------------------------------------------- IFF


def iff_file(
    width: int = 10,
    height: int = 6,
    *,
    wide: bool = False,
    compression: int = 0,
    tile: int = 4,
    tiles_declared: int | None = None,
) -> bytes:
    """A CIMG form: TBHD, AUTH, then a TBMP form with one RGBA chunk per tile (RGBA,
    8 bits). ``wide`` writes FOR8 (8-byte chunk header fields, 8-byte alignment)."""
    align = 8 if wide else 4

    def chunk(tag: bytes, data: bytes, pad: bool = True) -> bytes:
        size = struct.pack(">Q", len(data)) if wide else struct.pack(">I", len(data))
        head = tag + (b"\0\0\0\0" if wide else b"") + size
        return head + data + b"\0" * (-len(data) % align if pad else 0)

    form = b"FOR8" if wide else b"FOR4"
    tiles = []
    for y1 in range(0, height, tile):
        for x1 in range(0, width, tile):
            x2, y2 = min(x1 + tile, width) - 1, min(y1 + tile, height) - 1
            area = (x2 - x1 + 1) * (y2 - y1 + 1)
            data = payload(len(tiles)) if compression else bytes(range(4)) * area
            tiles.append(chunk(b"RGBA", struct.pack(">HHHH", x1, y1, x2, y2) + data))
    count = len(tiles) if tiles_declared is None else tiles_declared
    tbhd = struct.pack(">IIHHIHHIii", width, height, 1, 1, 3, 0, count, compression, 0, 0)
    body = (
        b"CIMG"
        + chunk(b"TBHD", tbhd)
        + chunk(b"AUTH", b"lrc_toolbox tests")
        + chunk(form, b"TBMP" + b"".join(tiles))
    )
    return chunk(form, body, pad=False)  # nothing follows the outer form


# --------------------------------------------------------------- real writers' files

# Written outside this repository (see the module docstring) by:
#   openexr_zip_scanline.exr  OpenEXR 3.5.3, 6x20 RGB half, ZIP (16 lines: 2 chunks)
#   openexr_multipart.exr     OpenEXR 3.5.3, a PIZ scan-line part and an RLE tiled part
#   oiio_mipmap_tiled.exr     OpenImageIO 3.2.2 make_texture, 6x5, 4x4 tiles, mip-mapped
#   oiio_deep_scanline.exr    OpenImageIO 3.2.2, deep scan-line, ZIPS
#   pillow_progressive.jpg    Pillow 13, 16x16 progressive JPEG
#   oiio_rle.iff              OpenImageIO 3.2.2, Maya IFF, RGBA, RLE
#   pillow_lzw.tif            Pillow 13, RGBA, LZW
REAL_FILES = {
    "openexr_zip_scanline.exr": (
        "eNqFU21MlWUYfgEBiSwGOFd8GQYcPOdw3q/nee+PNkxInCuOgoXrY3HgvOgbx/fgOe8INmWNNhe/qNzQWWutSXO6"
        "Odvcii112pTaKlr50ceaQiaVbWZYRAvrgG5S/ujermfXrue+r+fetT3dIS0tXVGU9i0R17VjyRSJOUlPsVLaaiVN"
        "uVlpt9Bwh9J0h6K0x7d2Jexk0om7/+JzlxnRiBdpcdxo/HmlLd6jO0qecrsyUyhIIeoku2KR3v/tizmuHU5E7cQC"
        "Nr9Cl9Njxx5OdtntXlPEc+JKRywe8ZRF89Mv1CbbE7bt3rSvs10vNdatdyiLFzyxsKXFiXpb/mPh9XbZStJLOO5m"
        "Zcl8f8SdW8LZGtlsKx23QjmUcdtxVSpmQbPUSp6ZAy0U5E/MV+krs8yaZgWFES3ZYRWaLlzS36zutkrgrvJO/Ue+"
        "DKWQgz8bA/gnLNde8T3BU5ZP30e5XIob4UNhyreL1pqj9E1whob8P4lraiFcxTz4CF6i98DBg8YxHjM/Vc9wEd5t"
        "qTWt6Bf58jx8oW6T47pUmav1UW0QDhiP4iDvVzuhHHfJG/QBDUKMCzhTbrcy6FRVHf5FPZjOPnFdHGUNRuCCrw2S"
        "ld+Gvpb9oox6eDvtpE1Ua1TBOTWLjshsHMPDYg03lrSq4RVFcEwbgjd4OVzDbB4TQ7zJ/JIDfEY+qQ+IbaLE8sMw"
        "dAReZwdPc5/ezG3sgyTl4LPyM31IjstF5lFsFjtWnoU16FkTWgnVhvTQSXiHl+KQPI8jdND6wczCK/6dlMUz1bnm"
        "AKzX/jA7qZmDFYo+AnZFmFU4UXXdmPXFsI/K9Oeob6UVyhRh+A4Kq8/SMhGhfq7HPXCIO0UGlqvr9YtwDz4kKjhC"
        "eVyM69ClX2iSVtBuqK7ZTaMoUrk1WsvkMG2Ac5X9kGv21DyGU8KvXdDz5WpsUBfLBpFF04E6dRUfoCsGBD82ddUI"
        "TpoTepP1FhRRSA2bv8nDKOmquJfWwayWLj9HGyuhzvwd8lmveY2KA0X63Cd4OYUs1YcvcpMsoFIrwDbNMNCkdgpn"
        "8XLqPE4PYB7V+wx5vzTkr7yX3pUtcBqf4qV0BJfIE9QGw+So76sXg/u1NJrSd1l/m9+HekMPWht4YyBTPMOTvBfu"
        "06vI76v3P86PGNkwQU/jWquYGyX59mnj2kmc5kvGjdB46Lj1D1slQAg="
    ),
    "openexr_multipart.exr": (
        "eNq9lXlQE1ccxzdAUESUgldFwBOCIWSz2eMd8n5c3hVUUPHo1ACrRmICJLHYetV6TnW0VcGjU3poB6W2tuNMq/UY"
        "dYTWetGqqJVRtBarrXgfbbENktIU/7B/+Zv5ve/bt7/5vc9+d+ftTKNJ4xfKcbnTLHa7anN6Jjar08UpHMelcBqu"
        "OTTeHPzUyuinVjwd3Pb8VIfb7uKsngzwruc6ZhQUqU6n1WH/z7zpXkCexWUZZ7XnOV7lchzFgpUL5f4NrSfDPZln"
        "dRbYLLOeWWez2tWMojy1yGf2hMxumaFyTleR1T6VC/Rc56gWt2tWgbVYtSU7C9Rc12iLy+rgptgclmZujpsPztwi"
        "VbU3b5qq2l2eZjOFKVxbn419S8ZZ81zTWrXw7NGyb8iTeou9Cc06wzJVfcr6pkeYwPn9D1vbPcNWzfO3tak4Ty1w"
        "TXsOrlptqpNrGvNUZy4X1PQdeZPzdbzJpSdVzXZzw/2b+8cGNus8r37p1Y5tmnWwV8u8WuNVoxdyqlf3+UJ74oTn"
        "1UmkkUwmLjEIjSMGelR8h5wVo5UHlMOSOS9yjtJJtKOfhPfjZiqRqF3vfOEX+jOKQkH4V/My/DvqaXpbN5beUXTC"
        "JhJMo3AW+kYS5Y8jhohV5EfDI1Kivybd4juhBhyKvkVLyVfIiivMe+lx8Rh/kkbg9gqfMBnrpTC5Bv3AF8p1gsxT"
        "GidUmVaireaX8Epazuej3ni1/JgcJCuRjYZTrTxb8SeHYlPxn6QY+1GddFfaQ01oJ7qgy0HOmFrjOXmBFE2K6Wyy"
        "mGQTMMei03wg2SG3wcfxdmkQTY+czGf0iUB7TSXoPdoT3cJt6HGphGaLZ2g8PSlPEJZJhVKkokeb0ZT4d6kVV9K5"
        "QibNoTrkJEH4FfmEUCLXyQHiHpwpzel/Cg3CLuWSKZKAUTAeQJ/TzrhErsE7SYVyVQzE1/WLSSB9FBcsLkMjTQ/F"
        "fJJJDf04YSdS+2VQHu2PvWtu1NnwXBItTCdz+ytGrZSBLqNOcadIV8lCFtA0vA59SvMlf9ybHylcRB3wAKkftZBQ"
        "2gMPw3Zyk9STPqQUxSWUkioseXxLV7rKm8kodDpmAQoWixNG4DuS3nRBCJNT8GC+rTxYCiQP4lP5JLqVXDcjwxFR"
        "4M2GevGSMFr5EEUQI58h3pO3Y5k0SB3JMNRo8pO/xyqOQanifRRGhYSNpEd8hBDI6/CbdLQcTqKUeKqSRxSRetMh"
        "3Ih/9oz7SC8cStJ0Zrm7bJZv0w3kS3kcqsQTaWeyA4fI+0kO2kys/G7+oqHcpCF3hNXKX+IV4yxjX2UUzYrXSi/T"
        "eroBvSjEEr0uTT+GDjS3QZfIJDxE6UHTZaLbZKozHcAP6E/mx8Y64z5Fwz0dSZ4sjF7KJl4JBPOFVaxvnwAoW36Y"
        "VRYNg/XrX4Hu2xR2rvI16NW+ELSijdUOL4bkLY/ZCjIdSjUxiVvcH7CW080nenpyTX1PaEgLgoVrgpm2uj5RdyyL"
        "TS/XwK3SF+HwH0sSfX86vjwjSRE70uMGOzvPAuxYCvAGCd5YNB5S3Amwa8wAKKtIhuTqOOa25EPJnm5QfC6KvbDD"
        "H3bM/zpxYMyroPE9cX14QlEWFJ9KgZjCDcxvq56VVpSzs1UOODM8HLrtGQH/1Pu14umTvYq9lTICnL+ZIeObvjBr"
        "8Ul2LsEExsox0GVlBZMHhEDB1TQ4c3BR4vlMAnPuNbDdhdUs1IHg2n1tC49fK54u2U5Yc7uWbbbroT5kLJt/ZvaA"
        "GWPd8Es3CsvXbmvxx78VT6/wUJAvdoCAMju4ce/E/Y3tobKuNLG6tiusXZLLokuHsSPrrrKjYUlQFiaBe94NtqY6"
        "ChZtGgXTSw0tPP6teH6vqWd/regFwWwIu3xrMsz5LARWbEiH2vS+EHHzOPuHJ6AVz9AbHWD8d4fZzWUM9lYdYCUN"
        "HGwM28ambc2EJSEHWTv/K0w7XwblfPvE8tVV7JOjHSArvj9cft0AX0zp3MIT0Irn4dUb7CM1GfRJ2bBQOxROsknw"
        "+aROsGtSDYu5TNnf8opxXw=="
    ),
    "oiio_mipmap_tiled.exr": (
        "eNqFUz1oFEEUnrtEUaIiMcFgoUGNaMzP/szszk8RLns5xcafCGkEs7c3d7dks3vsrpcTi4iiTUgKsTAh2AiRYKGV"
        "VkELhQQUK9OIYBVBEDUWRkzh3N0eiRfBB9+8x/e+N/vNsFPslWPxOACWWUiaIQdB6NtuDuwDACiSolFZoRJqlxBV"
        "RY2tvOm63AmAlXfsIAS6kPWDGKhGLMKpLcyFLQywvNGCz4PA9ty/6nKzIWOG5pDtZrwxkPZKig32go3YJtAokLGD"
        "gmNe/a8u6xUtLwRZxzPDCjEzPd3n2C4/62e4Dzaqii/Ptj2aKHLfzHHDczy/diUHRFPqgRrEGu6SepCMNFUvFwgi"
        "gitjg6cT3XJNf1zokdRvKGQgoWOYgoaKk8TQDQMmUSIhDZCUqqRSSZkMkIJd4k4iKHArvGCGtrfJLADX+wLL59yt"
        "HtTgbii8FpUs2LHpsJslQ3YmzNdtEfJSeMXnWc8fFWxkcbdonXNM222/WG2HtsMDUF4zPLDAzugGy4iN+WZh1BN8"
        "bbpJsGnHtEa6Kiu4Fq9a+RpltaGaL0d5PMrPGsA/Y1igmzD6Qe/VWrS3cALOUQB+0kX9JsTyLF4jJ+Ht9k94uXNO"
        "fUEP4qf4XfcjCtk6msezdIl1oBuHx1EbfMXCzjuklbSoU2xe8IO4hNbQG6lJyuuxum9KAr/k3/oMbVa+41zPCfRc"
        "zrJ7LE2n2KRyiC5Ie+iKNkyOSB/xY7zMvsBvtPYb16KtvAdZZ+/ZCuxQm3EjY/CJ1Ko/hAqL1Wl3CYyQS/SWPqn+"
        "oEsSqHsWRwXO6K/1NNyP1tQHdBXfR6tkgSzhYf0YvavnyHn4GU3g2lw8wnaBIbyIXqI/cDHk4A=="
    ),
    "oiio_deep_scanline.exr": (
        "eNqFUMFKw0AQncQKPRQR+gO5CN5MI1XJRUq9C14KPQjrZmoG191ldxvTm178Ej/Pj3A3SW2shw48ZhjevHkz1cUk"
        "iocAnOk75hCsMySfYQwAWZpd5ZMsT6dJOs0vfX3DSyYlCgu8FGQdnHnaDGJoI+qw/Nfx/LV8mau1dEAeA98KHK5e"
        "tUFrSck/dZiJC+bYgmSh3uBJ1RnBKewi7pQLslqwzUGeIIn3pkDTqxpnmmoUM6uRuwfmSMFKKNY6BHi/tdwgylZ+"
        "jtL5sSpbwbC3ok9ZUOHKPQm30b9/HQXLiNpyJoORCk1z8PYpjaWvqBX+jnZLRl1O9nKgHHkM4HBEPZ1tPu/9Kegc"
        "e9SPvExOAD6vxx8/KORizA=="
    ),
    "pillow_progressive.jpg": (
        "eNr7f+P/AwYBLzdPNwZGRgYGRiBk+H+bwZlBgJuHj4dLgI+XT0hQQFhCQ0pCTEzCUFlVVsPK2NbG0tjC3MEjxs/B"
        "JdzV3CIgNzA8Pik9I93Ot7CyIKUiJjU9GWQIo6CQkISohL6UlH6yk4VTMsng/yEGQQ4GAQYBZkYlBiZBRmZBxv9H"
        "GMSATgU6EwkwMYDERdGFgRL/bzHwMDMyMAkwCwB9d1KyHqhOQgCojhlZmSAjk6IjUCkHUIKRlcnzZtsikEJRQXQD"
        "DRnAqpgZGe0ZvYEqRATRbYQoYAIpgNjFwIxmiKAi40GoXWz2TLGqh6Nc7YEqZQRAjmJCchcjg6ChomPgwocwl9kr"
        "8jLczbxz8O1B5gMVC85PZAnO6lOH+RDsI4F+oEmSQEcxofiPkeGDoGIh3OkCzKw52zcDVYoLAl2H6nxGxYtwHwj0"
        "7cHhMkFFRwbDxMKJcJcJMO2Yw8LAu3H3rVRDkRMbpj1T2LN89dXg6beuMmqxyq+KkE8+6aDDrFH5isksknn+/5sA"
        "juyJcA=="
    ),
    "oiio_rle.iff": (
        "eNpz8w8yYWBgOODs6ese4uThAmQrADEbELMyMAIhAwMzEDNCMRi4QfT0hDj5BgS5OzkC2Q1gCVYGliSLepaox8uF"
        "HivMk5Kri5H/vdUtcLLyyZgusZh9fI9ez0vY6HRkY3tN0JrENYv6S2dF3F14amWj85bgk/zGa5cHrjw3d9IK0bKd"
        "loXl21LWu9fGZnoVqNrODb9xtbA3+tk35S9L5Z/YcGu/52l/v707Y4twxG6doyzf/8xpLQUAWFtEfw=="
    ),
    "pillow_lzw.tif": (
        "eNrz9NRimMTAwNAg3akr+qFjyoW6ZbfPL300oSDOfzdnm4PWkUenZVeJpic2zqwy4JZtzznWfHTNUvEt4dpPu32m"
        "rXac2pVU/LLi2s2w1fHOJRwxJz5xbYjuEIs8sKVBYnLn+kMrXt5TrjYLabs4Icck0njXRf6jO6ZKabDs4TrMcGrG"
        "K6ZogYjnRxwvRvxJbfE/vOHCkbovcQccuBkYGJkZGIFuYgNiRiibFYiZgGwWIC0DFGBGEmeDspmAWJCRBczmAGJR"
        "qDhIjxiSenGomi6wWRBxEA5CMocBbAYEAgDXZkha"
    ),
}


def real_file(name: str) -> bytes:
    return zlib.decompress(base64.b64decode(REAL_FILES[name]))


# ------------------------------------------------------------------------ samples


def sim_bytes(ext: str, width: int, height: int, folder: Path) -> bytes:
    path = folder / f"sim.{ext}"
    write_image(path, width, height, 3)
    return path.read_bytes()


FORMAT_OF = {
    "exr": "exr",
    "png": "png",
    "jpg": "jpeg",
    "tif": "tiff",
    "tiff": "tiff",
    "tga": "tga",
    "iff": "iff",
}


class Samples(dict[str, tuple[str, str, bytes]]):
    """name -> (extension, expected format, bytes); a short repr for hypothesis' reports."""

    def __repr__(self) -> str:
        return f"<{len(self)} samples>"


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Samples:
    """Every valid file the tests use."""
    folder = tmp_path_factory.mktemp("sim")
    found = Samples()
    for ext, fmt in (
        ("png", "png"),
        ("exr", "exr"),
        ("tif", "tiff"),
        ("tga", "tga"),
        ("iff", "iff"),
    ):
        found[f"sim_{ext}"] = (ext, fmt, sim_bytes(ext, 7, 5, folder))
        found[f"sim_{ext}_1x1"] = (ext, fmt, sim_bytes(ext, 1, 1, folder))
    built = {
        "exr_zip_16_lines": ("exr", scanline_exr(9, 40, ZIP, 16)),
        "exr_piz_32_lines_reversed": ("exr", scanline_exr(5, 70, PIZ, 32, y_min=-3, reverse=True)),
        "exr_dwab_256_lines": ("exr", scanline_exr(3, 300, DWAB, 256)),
        "exr_tiled_one_level": ("exr", tiled_exr(40, 24, 16, 0x00, 6)),
        "exr_tiled_mipmap": ("exr", tiled_exr(40, 24, 16, 0x01, 12)),
        "exr_multipart": ("exr", multipart_exr()),
        "exr_deep_scanline": ("exr", deep_scanline_exr()),
        "png_three_idat": ("png", png_file()),
        "jpeg_baseline": ("jpg", jpeg_file()),
        "tiff_three_strips_big_endian": ("tif", tiff_file(5, 7, rows_per_strip=3, order=">")),
        "tiff_tiled": ("tiff", tiff_file(20, 10, tile=16)),
        "bigtiff_two_strips": ("tif", tiff_file(6, 4, rows_per_strip=2, big=True)),
        "tga_rle": ("tga", tga_rle_file()),
        "tga_colour_mapped": ("tga", tga_colour_mapped_file()),
        "iff_six_tiles": ("iff", iff_file()),
        "iff_rle": ("iff", iff_file(compression=1)),
        "iff_for8": ("iff", iff_file(wide=True)),
    }
    for name, (ext, data) in built.items():
        found[name] = (ext, FORMAT_OF[ext], data)
    for name in REAL_FILES:
        ext = name.rsplit(".", 1)[1]
        found[name.replace(".", "_")] = (ext, FORMAT_OF[ext], real_file(name))
    return found


SAMPLE_NAMES = [
    *(f"sim_{ext}{size}" for ext in ("png", "exr", "tif", "tga", "iff") for size in ("", "_1x1")),
    "exr_zip_16_lines",
    "exr_piz_32_lines_reversed",
    "exr_dwab_256_lines",
    "exr_tiled_one_level",
    "exr_tiled_mipmap",
    "exr_multipart",
    "exr_deep_scanline",
    "png_three_idat",
    "jpeg_baseline",
    "tiff_three_strips_big_endian",
    "tiff_tiled",
    "bigtiff_two_strips",
    "tga_rle",
    "tga_colour_mapped",
    "iff_six_tiles",
    "iff_rle",
    "iff_for8",
    *(name.replace(".", "_") for name in REAL_FILES),
]


def write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def failed(result: ImageCheck, *fragments: str) -> bool:
    """Not ok, and the reason names the file and contains every fragment."""
    assert result.reason is not None, result
    assert result.path in result.reason
    return not result.ok and all(fragment in result.reason for fragment in fragments)


# ------------------------------------------------------------------ valid files


def test_every_sample_is_listed(samples: Samples) -> None:
    assert sorted(samples) == sorted(SAMPLE_NAMES)


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_valid_file_passes(samples: Samples, tmp_path: Path, name: str) -> None:
    ext, fmt, data = samples[name]
    path = write(tmp_path, f"{name}.0001.{ext}", data)

    result = check_image(path)

    assert result == ImageCheck(str(path), True, None, fmt, None)


# ------------------------------------------------------------------- truncation


@pytest.mark.parametrize("name", SAMPLE_NAMES)
@FUZZ
@given(fraction=st.floats(0.0, 1.0))
def test_any_truncation_inside_the_file_fails(
    samples: Samples, tmp_path: Path, name: str, fraction: float
) -> None:
    ext, _fmt, data = samples[name]
    cut = 1 + int(fraction * (len(data) - 2))  # 1 .. len - 1: strictly inside the file
    path = write(tmp_path, f"cut.{ext}", data[:cut])

    result = check_image(path)

    assert not result.ok, (cut, len(data))
    assert result.reason is not None


@pytest.mark.parametrize("ext", ["png", "exr", "tif", "tga", "iff"])
def test_every_truncation_of_a_small_simulated_file_fails(tmp_path: Path, ext: str) -> None:
    data = sim_bytes(ext, 2, 2, tmp_path)

    survivors = [
        cut
        for cut in range(1, len(data))
        if check_image(write(tmp_path, f"c.{ext}", data[:cut])).ok
    ]

    assert survivors == []


def test_truncated_exr_reason_says_where_the_data_ends(tmp_path: Path) -> None:
    data = scanline_exr(9, 40, ZIP, 16)
    path = write(tmp_path, "shot.exr", data[:-5])

    result = check_image(path)

    assert failed(result, "is truncated", "the last chunk", f"{len(data) - 5:,} bytes")
    assert result.format == "exr"


# ------------------------------------------------------- empty, garbage, missing


@pytest.mark.parametrize("ext", ["exr", "png", "jpg", "tif", "tga", "iff"])
def test_zero_byte_file_fails_as_empty(tmp_path: Path, ext: str) -> None:
    path = write(tmp_path, f"shot.0001.{ext}", b"")

    assert failed(check_image(path), "is empty (0 bytes)")


@pytest.mark.parametrize("ext", ["exr", "png", "jpg", "tif", "tga", "iff"])
def test_garbage_fails(tmp_path: Path, ext: str) -> None:
    path = write(tmp_path, f"shot.0001.{ext}", b"<html>502 Bad Gateway</html>\n" * 8)

    result = check_image(path)

    assert failed(result, "is not a")


def test_missing_file_fails(tmp_path: Path) -> None:
    assert failed(check_image(tmp_path / "shot.0001.exr"), "is missing")


def test_a_folder_is_not_an_image(tmp_path: Path) -> None:
    folder = tmp_path / "shot.0001.exr"
    folder.mkdir()

    assert failed(check_image(folder), "is not a regular file")


def test_unknown_content_without_an_image_extension_fails(tmp_path: Path) -> None:
    path = write(tmp_path, "shot.0001", b"\x00\x01\x02\x03 not an image")

    assert failed(check_image(path), "unknown image format", "00 01 02 03")


def test_an_unchecked_format_passes_with_a_note(tmp_path: Path) -> None:
    path = write(tmp_path, "shot.0001.dpx", b"SDPX" + b"\0" * 100)

    result = check_image(path)

    assert result.ok
    assert result.format is None
    assert result.note == "not checked: this checker does not read .dpx files"


# --------------------------------------------------------------- wrong extension


@pytest.mark.parametrize(
    ("name", "wrong_ext"),
    [
        ("sim_png", "exr"),
        ("sim_exr", "png"),
        ("jpeg_baseline", "tif"),
        ("sim_tif", "jpg"),
        ("sim_iff", "tga"),
        ("sim_png", "dpx"),
    ],
)
def test_content_under_another_format_s_extension_fails(
    samples: Samples, tmp_path: Path, name: str, wrong_ext: str
) -> None:
    _ext, fmt, data = samples[name]
    path = write(tmp_path, f"shot.0001.{wrong_ext}", data)

    result = check_image(path)

    assert failed(result, f"has the extension .{wrong_ext} but holds a")
    assert result.format == fmt


def test_a_tga_under_a_png_extension_is_not_recognised(samples: Samples, tmp_path: Path) -> None:
    """TGA has no magic bytes: without its extension (or footer) it is not a TGA."""
    path = write(tmp_path, "shot.0001.png", samples["sim_tga"][2])

    assert failed(check_image(path), "is not a PNG file")


def test_a_tga_with_a_footer_is_recognised_whatever_its_extension(tmp_path: Path) -> None:
    path = write(tmp_path, "shot.0001.png", tga_with_footer(tga_rle_file()))

    result = check_image(path)

    assert failed(result, "has the extension .png but holds a TGA image")


def test_the_frame_number_after_the_extension_is_skipped(samples: Samples, tmp_path: Path) -> None:
    path = write(tmp_path, "shot.exr.0001", samples["sim_png"][2])

    assert failed(check_image(path), "has the extension .exr but holds a PNG image")


def test_the_extension_is_matched_case_insensitively(samples: Samples, tmp_path: Path) -> None:
    path = write(tmp_path, "shot.0001.EXR", samples["sim_exr"][2])

    assert check_image(path).ok


# ------------------------------------------------------------------------ since


def test_a_file_older_than_the_attempt_fails(samples: Samples, tmp_path: Path) -> None:
    path = write(tmp_path, "shot.0001.exr", samples["sim_exr"][2])
    os.utime(path, (1_700_000_000, 1_700_000_000))

    result = check_image(path, since=1_700_000_000 + MTIME_SLACK_SECONDS + 5)

    assert failed(result, "is older than this attempt (written at ", "attempt started at ")


def test_a_file_newer_than_the_attempt_passes(samples: Samples, tmp_path: Path) -> None:
    path = write(tmp_path, "shot.0001.exr", samples["sim_exr"][2])
    os.utime(path, (1_700_000_010, 1_700_000_010))

    assert check_image(path, since=1_700_000_000).ok


def test_a_file_within_the_timestamp_slack_passes(samples: Samples, tmp_path: Path) -> None:
    """A file system with one-second timestamps may store a time just before the start."""
    path = write(tmp_path, "shot.0001.exr", samples["sim_exr"][2])
    os.utime(path, (1_700_000_000, 1_700_000_000))

    assert check_image(path, since=1_700_000_000 + MTIME_SLACK_SECONDS * 0.9).ok


def test_a_file_just_written_passes_with_now_as_the_start(tmp_path: Path) -> None:
    started = time.time()
    path = tmp_path / "shot.0001.png"
    write_image(path, 4, 4, 1)

    assert check_image(path, since=started).ok


# ------------------------------------------------------------------ OpenEXR


@pytest.mark.parametrize(
    ("mode", "chunks"),
    [
        (0x00, 6),  # one level: 3 x 2 tiles of 16 over 40 x 24
        (0x01, 12),  # mip-map, rounding down: 40x24 20x12 10x6 5x3 2x1 1x1 -> 6+2+1+1+1+1
        (0x11, 13),  # mip-map, rounding up: 40x24 20x12 10x6 5x3 3x2 2x1 1x1
        (0x02, 54),  # rip-map, rounding down: (3+2+1+1+1+1) x (2+1+1+1+1)
        (0x12, 70),  # rip-map, rounding up: (3+2+1+1+1+1+1) x (2+1+1+1+1+1)
    ],
)
def test_tiled_exr_chunk_count_follows_the_level_mode(
    tmp_path: Path, mode: int, chunks: int
) -> None:
    assert check_image(write(tmp_path, "t.exr", tiled_exr(40, 24, 16, mode, chunks))).ok
    short = check_image(write(tmp_path, "t.exr", tiled_exr(40, 24, 16, mode, chunks - 1)))
    assert not short.ok


@pytest.mark.parametrize(
    ("compression", "lines"),
    [
        (NONE, 1),
        (RLE, 1),
        (ZIPS, 1),
        (ZIP, 16),
        (5, 16),
        (PIZ, 32),
        (6, 32),
        (7, 32),
        (8, 32),
        (DWAB, 256),
    ],
)
def test_scanline_exr_chunk_count_follows_the_compression(
    tmp_path: Path, compression: int, lines: int
) -> None:
    assert check_image(write(tmp_path, "s.exr", scanline_exr(4, 300, compression, lines))).ok


def test_exr_with_one_line_per_chunk_under_zip_compression_fails(tmp_path: Path) -> None:
    """ZIP holds 16 lines per chunk: a table of 40 entries is not what the header says."""
    path = write(tmp_path, "s.exr", scanline_exr(4, 40, ZIP, 1))

    assert failed(check_image(path), "is not a valid OpenEXR file")


def test_exr_whose_offset_table_was_never_filled_in_fails(tmp_path: Path) -> None:
    """OpenEXR writes the table as zeros first and fills it in when the file is closed."""
    data = bytearray(scanline_exr(4, 40, ZIP, 16))
    table = len(data) - sum(8 + len(payload(i)) for i in range(3)) - 24  # 3 offsets
    data[table : table + 24] = bytes(24)

    assert failed(check_image(write(tmp_path, "s.exr", bytes(data))), "chunks were never written")


def test_exr_offset_into_the_header_fails(tmp_path: Path) -> None:
    data = bytearray(scanline_exr(4, 40, ZIP, 16))
    table = len(data) - sum(8 + len(payload(i)) for i in range(3)) - 24
    data[table : table + 8] = struct.pack("<Q", 12)

    assert failed(check_image(write(tmp_path, "s.exr", bytes(data))), "points into the header")


def test_exr_last_chunk_that_is_not_a_block_start_fails(tmp_path: Path) -> None:
    data = bytearray(scanline_exr(4, 40, ZIP, 16))
    last = len(data) - (8 + len(payload(2)))
    data[last : last + 4] = struct.pack("<i", 33)  # 32 starts the third block, 33 does not

    assert failed(check_image(write(tmp_path, "s.exr", bytes(data))), "scan line 33")


def test_exr_whose_last_chunk_was_zero_filled_fails(tmp_path: Path) -> None:
    """A crash can leave the right size with zeros where the last data should be."""
    data = bytearray(scanline_exr(4, 40, NONE, 1))
    last = len(data) - (8 + len(payload(39)))
    data[last:] = bytes(len(data) - last)

    assert not check_image(write(tmp_path, "s.exr", bytes(data))).ok


def test_exr_with_an_unknown_compression_needs_a_chunk_count(tmp_path: Path) -> None:
    chunks = [line_chunk(0, 0), line_chunk(1, 1)]
    without = exr_file(0, [exr_attributes(3, 2, 77)], [chunks])
    count = exr_attr("chunkCount", "int", struct.pack("<i", 2))
    with_count = exr_file(0, [exr_attributes(3, 2, 77, extra=count)], [chunks])

    assert failed(check_image(write(tmp_path, "a.exr", without)), "compression code (77)")
    assert check_image(write(tmp_path, "b.exr", with_count)).ok


def test_exr_chunk_count_attribute_must_agree(tmp_path: Path) -> None:
    count = exr_attr("chunkCount", "int", struct.pack("<i", 3))
    data = exr_file(
        0, [exr_attributes(3, 2, NONE, extra=count)], [[line_chunk(0, 0), line_chunk(1, 1)]]
    )

    assert failed(check_image(write(tmp_path, "a.exr", data)), "chunkCount says 3")


def test_exr_multipart_chunk_with_the_wrong_part_number_fails(tmp_path: Path) -> None:
    data = bytearray(multipart_exr())
    last = len(data) - (4 + 20 + len(payload(MULTIPART_LAST_TILE)))
    data[last : last + 4] = struct.pack("<i", 0)  # the last tile belongs to part 1

    assert failed(check_image(write(tmp_path, "m.exr", bytes(data))), "says part 0")


def test_exr_without_a_data_window_fails(tmp_path: Path) -> None:
    header = exr_attr("compression", "compression", b"\0")
    data = exr_file(0, [header], [[line_chunk(0, 0)]])

    assert failed(check_image(write(tmp_path, "a.exr", data)), "no 'dataWindow' attribute")


def test_exr_version_other_than_2_fails(tmp_path: Path) -> None:
    data = bytearray(scanline_exr(4, 4, NONE, 1))
    data[4] = 1

    assert failed(check_image(write(tmp_path, "a.exr", bytes(data))), "version 1")


def test_exr_attribute_name_too_long_fails(tmp_path: Path) -> None:
    """Without the long-names flag, names are at most 31 bytes."""
    long_name = exr_attr("x" * 40, "int", b"\0\0\0\0")
    data = exr_file(
        0, [exr_attributes(3, 2, NONE, extra=long_name)], [[line_chunk(0, 0), line_chunk(1, 1)]]
    )

    assert failed(check_image(write(tmp_path, "a.exr", data)), "longer than 31 bytes")


class CountingFile:
    """A file wrapper that counts the bytes handed to the checker."""

    def __init__(self, handle: BinaryIO, counter: list[int]) -> None:
        self._handle = handle
        self._counter = counter

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        self._counter[0] += len(data)
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._handle.seek(offset, whence)

    def __enter__(self) -> CountingFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.close()


@contextmanager
def counting_reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    counter = [0]

    def opener(path: str) -> CountingFile:
        return CountingFile(open(path, "rb"), counter)

    monkeypatch.setattr(image_check, "_open", opener)
    yield counter


def big_sparse_exr(path: Path, width: int = 4096, height: int = 6144) -> int:
    """A 200 MB scan-line EXR (uncompressed, four half channels) whose pixel data is a hole:
    only the header, the offset table and each chunk's 8-byte header are written."""
    chlist = (
        b"".join(c + b"\0" + struct.pack("<iB3xii", 1, 0, 1, 1) for c in (b"A", b"B", b"G", b"R"))
        + b"\0"
    )
    box = struct.pack("<iiii", 0, 0, width - 1, height - 1)
    header = (
        struct.pack("<iI", EXR_MAGIC, 2)
        + exr_attr("channels", "chlist", chlist)
        + exr_attr("compression", "compression", b"\0")
        + exr_attr("dataWindow", "box2i", box)
        + exr_attr("displayWindow", "box2i", box)
        + exr_attr("lineOrder", "lineOrder", b"\0")
        + b"\0"
    )
    line = 4 * 2 * width
    first = len(header) + 8 * height
    offsets = [first + y * (8 + line) for y in range(height)]
    size = first + height * (8 + line)
    with path.open("wb") as handle:
        handle.write(header + struct.pack(f"<{height}Q", *offsets))
        handle.truncate(size)
        for y, offset in enumerate(offsets):
            handle.seek(offset)
            handle.write(struct.pack("<ii", y, line))
    return size


def test_checking_a_200_mb_exr_reads_a_tiny_part_of_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "big.0001.exr"
    size = big_sparse_exr(path)
    assert size > 200_000_000

    with counting_reads(monkeypatch) as counter:
        result = check_image(path)

    assert result.ok, result.reason
    assert counter[0] < 256 * 1024  # header + 48 KiB offset table + the last chunk's header


def test_the_200_mb_exr_cut_by_one_byte_fails(tmp_path: Path) -> None:
    path = tmp_path / "big.0001.exr"
    size = big_sparse_exr(path)
    with path.open("r+b") as handle:
        handle.truncate(size - 1)

    assert failed(check_image(path), "is truncated", "the last chunk")


@pytest.mark.parametrize("ext", ["exr", "png", "tif", "tga", "iff"])
def test_checking_a_hd_render_is_fast_and_reads_little(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ext: str
) -> None:
    path = tmp_path / f"hd.0001.{ext}"
    write_image(path, 1920, 1080, 1)
    with counting_reads(monkeypatch) as counter:
        started = time.perf_counter()
        result = check_image(path)
        elapsed = time.perf_counter() - started

    assert result.ok, result.reason
    assert counter[0] <= 200 * 1024
    assert elapsed < 0.1  # a few ms in practice; generous for a loaded CI machine


# ---------------------------------------------------------------------- PNG


def test_png_with_a_bad_ihdr_crc_fails(tmp_path: Path) -> None:
    data = bytearray(png_file())
    data[29] ^= 0xFF  # the last byte of IHDR's CRC

    assert failed(check_image(write(tmp_path, "p.png", bytes(data))), "IHDR chunk", "wrong CRC")


def test_png_cut_after_a_whole_chunk_fails_for_want_of_iend(tmp_path: Path) -> None:
    data = png_file()
    path = write(tmp_path, "p.png", data[: -len(png_chunk(b"IEND", b""))])

    assert failed(check_image(path), "is truncated", "without the IEND chunk")


def test_png_with_bytes_after_iend_fails(tmp_path: Path) -> None:
    path = write(tmp_path, "p.png", png_file() + b"\0\0\0\0")

    assert failed(check_image(path), "4 bytes follow the IEND chunk")


def test_png_whose_first_chunk_is_not_ihdr_fails(tmp_path: Path) -> None:
    data = png_file()
    text = png_chunk(b"tEXt", b"Software\0lrc_toolbox tests")
    ihdr = data[8:33]
    swapped = data[:8] + text + ihdr + data[33 + len(text) :]

    assert failed(check_image(write(tmp_path, "p.png", swapped)), "not IHDR")


def test_png_without_image_data_fails(tmp_path: Path) -> None:
    data = (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
        + png_chunk(b"IEND", b"")
    )

    assert failed(check_image(write(tmp_path, "p.png", data)), "no IDAT chunk")


# --------------------------------------------------------------------- JPEG


def test_jpeg_without_eoi_fails(tmp_path: Path) -> None:
    path = write(tmp_path, "j.jpg", jpeg_file()[:-2])

    assert failed(check_image(path), "is truncated", "EOI marker FF D9")


def test_jpeg_with_bytes_after_eoi_fails(tmp_path: Path) -> None:
    """Strict: padding after EOI is not something a render writer produces."""
    path = write(tmp_path, "j.jpg", jpeg_file() + b"\0\0")

    assert failed(check_image(path), "EOI marker FF D9")


def test_jpeg_without_a_frame_header_fails(tmp_path: Path) -> None:
    data = jpeg_file()
    sof = data.index(b"\xff\xc0")
    data = data[:sof] + data[sof + 2 + 11 :]

    assert failed(check_image(write(tmp_path, "j.jpg", data)), "before any frame header (SOF)")


def test_jpeg_of_only_soi_and_eoi_fails(tmp_path: Path) -> None:
    path = write(tmp_path, "j.jpg", b"\xff\xd8\xff\xd9")

    assert failed(check_image(path), "FF D9", "before any scan")


@FUZZ
@given(cut=st.integers(1, 10_000))
def test_any_cut_of_the_hand_made_jpeg_fails(tmp_path: Path, cut: int) -> None:
    data = jpeg_file(40, 24)
    path = write(tmp_path, "j.jpg", data[: 1 + cut % (len(data) - 1)])

    assert not check_image(path).ok


# --------------------------------------------------------------------- TIFF


def tiff_entry(data: bytes, tag: int) -> int:
    """Where a little-endian classic TIFF's first IFD holds the entry of ``tag``."""
    ifd = struct.unpack_from("<I", data, 4)[0]
    for i in range(struct.unpack_from("<H", data, ifd)[0]):
        at = ifd + 2 + 12 * i
        if struct.unpack_from("<H", data, at)[0] == tag:
            return at
    raise AssertionError(f"no tag {tag}")


def test_tiff_strip_past_the_end_fails(tmp_path: Path) -> None:
    data = bytearray(tiff_file(5, 7, rows_per_strip=3))
    counts = struct.unpack_from("<I", data, tiff_entry(data, 279) + 8)[0]  # 3 LONGs, out of line
    struct.pack_into("<I", data, counts + 8, 10_000)  # the third strip's byte count

    assert failed(check_image(write(tmp_path, "t.tif", bytes(data))), "strip 2 of IFD 0")


def test_tiff_whose_directory_was_never_written_fails(tmp_path: Path) -> None:
    data = bytearray(tiff_file(5, 7))
    data[4:8] = bytes(4)

    assert failed(check_image(write(tmp_path, "t.tif", bytes(data))), "never wrote it")


def test_tiff_without_strip_offsets_fails(tmp_path: Path) -> None:
    data = bytearray(tiff_file(5, 7))
    struct.pack_into("<H", data, tiff_entry(data, 273), 272)  # StripOffsets renamed to Model

    assert failed(check_image(write(tmp_path, "t.tif", bytes(data))), "lacks the strip offsets")


def test_tiff_directory_loop_fails(tmp_path: Path) -> None:
    data = bytearray(tiff_file(5, 7))
    ifd = struct.unpack_from("<I", data, 4)[0]
    count = struct.unpack_from("<H", data, ifd)[0]
    struct.pack_into("<I", data, ifd + 2 + 12 * count, ifd)  # next IFD = itself

    assert failed(check_image(write(tmp_path, "t.tif", bytes(data))), "a loop")


def test_tiff_with_too_few_strips_fails(tmp_path: Path) -> None:
    """Seven rows at three per strip need three strips; say one row per strip instead."""
    data = bytearray(tiff_file(5, 7, rows_per_strip=3))
    struct.pack_into("<H", data, tiff_entry(data, 278) + 8, 1)

    assert failed(check_image(write(tmp_path, "t.tif", bytes(data))), "the image needs 7")


# ---------------------------------------------------------------------- IFF


def test_iff_whose_form_size_was_never_set_fails(tmp_path: Path) -> None:
    """A writer reserves the FOR4 size as 0 and sets it when it closes the file."""
    data = bytearray(iff_file())
    data[4:8] = bytes(4)

    assert failed(check_image(write(tmp_path, "i.iff", bytes(data))), "declares 0 bytes")


def test_iff_with_fewer_tiles_than_announced_fails(tmp_path: Path) -> None:
    path = write(tmp_path, "i.iff", iff_file(tiles_declared=7))

    assert failed(check_image(path), "announces 7 tiles", "holds 6 RGBA tiles")


def test_iff_without_a_tbhd_header_fails(tmp_path: Path) -> None:
    data = iff_file().replace(b"TBHD", b"XXXX")

    assert failed(check_image(write(tmp_path, "i.iff", data)), "no TBHD header")


def test_iff_that_is_not_an_image_fails(tmp_path: Path) -> None:
    data = iff_file().replace(b"CIMG", b"Maya")

    assert failed(check_image(write(tmp_path, "i.iff", data)), "not a CIMG image")


def test_iff_with_a_short_uncompressed_tile_fails(tmp_path: Path) -> None:
    """A 4x4 tile of 8-bit RGBA holds 64 bytes of pixels; 16-bit channels would need 128."""
    data = bytearray(iff_file(width=4, height=4))
    tbhd = data.index(b"TBHD") + 8
    struct.pack_into(">H", data, tbhd + 16, 1)  # TBHD "bytes": 1 = 16 bits per channel

    assert failed(check_image(write(tmp_path, "i.iff", bytes(data))), "uncompressed RGBA tile 0")


# ---------------------------------------------------------------------- TGA


def test_tga_with_an_unknown_image_type_fails(tmp_path: Path) -> None:
    data = bytearray(tga_rle_file())
    data[2] = 4

    assert failed(check_image(write(tmp_path, "t.tga", bytes(data))), "image type is 4")


def test_tga_rle_cut_short_says_how_many_pixels_it_holds(tmp_path: Path) -> None:
    data = tga_rle_file(9, 4)
    path = write(tmp_path, "t.tga", data[:-20])

    assert failed(check_image(path), "is truncated", "of 36 pixels")


def test_tga_with_a_footer_passes(tmp_path: Path) -> None:
    path = write(tmp_path, "t.tga", tga_with_footer(tga_colour_mapped_file()))

    assert check_image(path).ok


def test_tga_with_bytes_after_its_pixels_and_no_footer_fails(tmp_path: Path) -> None:
    """They can only be the start of a cut-off TGA 2.0 extension area or footer."""
    path = write(tmp_path, "t.tga", tga_colour_mapped_file() + b"\0" * 30)

    assert failed(check_image(path), "30 bytes follow the pixel data")


def test_tga_with_a_footer_pointing_outside_the_file_fails(tmp_path: Path) -> None:
    data = tga_colour_mapped_file() + struct.pack("<II", 99_999, 0) + b"TRUEVISION-XFILE.\0"

    assert failed(check_image(write(tmp_path, "t.tga", data)), "extension offset")


# ------------------------------------------------------------- never raises


@pytest.mark.parametrize("name", SAMPLE_NAMES)
@FUZZ
@given(
    changes=st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(0, 255)), min_size=1, max_size=8)
)
def test_corrupted_bytes_never_raise(
    samples: Samples,
    tmp_path: Path,
    name: str,
    changes: list[tuple[float, int]],
) -> None:
    ext, _fmt, data = samples[name]
    corrupt = bytearray(data)
    for where, value in changes:
        corrupt[min(len(corrupt) - 1, int(where * len(corrupt)))] = value

    result = check_image(write(tmp_path, f"x.{ext}", bytes(corrupt)))

    assert isinstance(result, ImageCheck)
    assert result.ok or result.reason


@FUZZ
@given(
    data=st.binary(min_size=1, max_size=300),
    ext=st.sampled_from(["exr", "png", "jpg", "tif", "tga", "iff", "x"]),
)
def test_random_bytes_never_raise(tmp_path: Path, data: bytes, ext: str) -> None:
    result = check_image(write(tmp_path, f"r.{ext}", data))

    assert isinstance(result, ImageCheck)


@FUZZ
@given(
    magic=st.sampled_from(
        [
            b"\x76\x2f\x31\x01\x02\0\0\0",
            b"\x89PNG\r\n\x1a\n",
            b"\xff\xd8\xff",
            b"II*\0",
            b"MM\0*",
            b"II+\0\x08\0\0\0",
            b"FOR4",
            b"FOR8",
        ]
    ),
    rest=st.binary(max_size=300),
)
def test_random_bytes_after_a_magic_never_raise(tmp_path: Path, magic: bytes, rest: bytes) -> None:
    result = check_image(write(tmp_path, "r.bin", magic + rest))

    assert isinstance(result, ImageCheck)
    assert not result.ok or result.format is not None


# -------------------------------------------------------------- pixel check


def test_pixel_check_availability_is_whether_openimageio_can_be_found() -> None:
    openimageio_found = find_spec("OpenImageIO") is not None

    assert openimageio_found == PIXEL_CHECK_AVAILABLE


def test_pixel_problem_is_none_without_openimageio(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "OpenImageIO", None)  # makes the import fail

    assert pixel_problem(tmp_path / "any.exr") is None


def fake_openimageio(stats: dict[str, dict[str, list[float]]], alpha: int = 3) -> types.ModuleType:
    """A stand-in for the OpenImageIO module with the calls ``pixel_problem`` makes.

    Real OpenImageIO is not installed in this project's environments (it is an optional
    extra), so these tests run against this fake. Its shape follows OpenImageIO 3.2's
    Python API (``ImageBuf(path)``, ``.has_error``, ``.geterror()``, ``.spec().alpha_channel``,
    ``ImageBufAlgo.computePixelStats(buf)`` returning ``min``/``max``/``nancount``/
    ``finitecount`` per channel), which ``pixel_problem`` was also run against once, by
    hand, in a scratch environment with OpenImageIO 3.2.2 (all black, all NaN, flat, varying
    and unreadable files gave the answers these tests expect).
    """
    module = types.ModuleType("OpenImageIO")

    class ImageBuf:
        def __init__(self, path: str) -> None:
            self.path = os.path.basename(path)
            self.has_error = self.path not in stats

        def geterror(self) -> str:
            return f'Could not open "{self.path}"\nmore detail'

        def spec(self) -> Any:
            return types.SimpleNamespace(alpha_channel=alpha)

    def compute_pixel_stats(buf: ImageBuf) -> Any:
        found = stats.get(buf.path, {"min": [], "max": [], "nancount": [], "finitecount": []})
        return types.SimpleNamespace(**found)

    algo = types.SimpleNamespace(computePixelStats=compute_pixel_stats)
    module.__dict__.update(ImageBuf=ImageBuf, ImageBufAlgo=algo)
    return module


def channel_stats(
    minima: list[float], maxima: list[float], nans: list[int] | None = None
) -> dict[str, list[float]]:
    nancount = nans or [0] * len(minima)
    return {
        "min": minima,
        "max": maxima,
        "nancount": [float(n) for n in nancount],
        "finitecount": [float(100 - n) for n in nancount],
    }


@pytest.mark.parametrize(
    ("stats", "expected"),
    [
        (channel_stats([0, 0, 0, 1], [0, 0, 0, 1]), "all black"),
        (channel_stats([0, 0, 0, 0], [0, 0, 0, 1]), "all black"),  # alpha is not colour
        (channel_stats([math.nan] * 3 + [1], [math.nan] * 3 + [1], [100, 100, 100, 0]), "all NaN"),
        (channel_stats([0.5, 0.2, 0.1, 1], [0.5, 0.2, 0.1, 1]), "one flat colour"),
        (channel_stats([0, 0, 0, 1], [0.9, 0.5, 0.1, 1]), None),
        (channel_stats([0.5, 0.5, 0.5, 0], [0.5, 0.5, 0.5, 1]), None),  # alpha varies
    ],
)
def test_pixel_problem_with_a_fake_openimageio(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    stats: dict[str, list[float]],
    expected: str | None,
) -> None:
    """Real OpenImageIO was not available here: see ``fake_openimageio``."""
    monkeypatch.setitem(sys.modules, "OpenImageIO", fake_openimageio({"f.exr": stats}))

    assert pixel_problem(tmp_path / "f.exr") == expected


def test_pixel_problem_reports_an_unreadable_file_with_a_fake_openimageio(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Real OpenImageIO was not available here: see ``fake_openimageio``."""
    monkeypatch.setitem(sys.modules, "OpenImageIO", fake_openimageio({}))

    assert pixel_problem(tmp_path / "gone.exr") == 'unreadable: Could not open "gone.exr"'


def test_pixel_problem_survives_an_exception_from_openimageio(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    module = types.ModuleType("OpenImageIO")

    def broken(path: str) -> None:
        raise RuntimeError("plugin crashed")

    module.__dict__.update(ImageBuf=broken)
    monkeypatch.setitem(sys.modules, "OpenImageIO", module)

    assert pixel_problem(tmp_path / "f.exr") == "unreadable: plugin crashed"
