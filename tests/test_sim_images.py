"""Tests for the simulator's image writer: every file it writes must be a valid image.

Each format is checked with a small parser written here from the format's specification,
independent of the writer, so a writer bug cannot hide behind a matching reader bug.
Every validator returns the image size and the raw pixel payload it found.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lrc_toolbox.sim.images import SUPPORTED_EXTENSIONS, pixels, write_image

WIDTH, HEIGHT = 5, 3  # not square, so a swapped width/height shows


@dataclass(frozen=True)
class ImageInfo:
    width: int
    height: int
    payload: bytes  # the pixel data as stored (decompressed for PNG)
    rgba: list[list[tuple[int, ...]]]  # decoded 8-bit RGBA rows, top row first


def _rows(flat: list[tuple[int, ...]], width: int) -> list[list[tuple[int, ...]]]:
    return [flat[i : i + width] for i in range(0, len(flat), width)]


# ----------------------------------------------------------------------------- CRC-32


def _crc_table() -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (0xEDB88320 ^ (c >> 1)) if c & 1 else (c >> 1)
        table.append(c)
    return table


CRC_TABLE = _crc_table()


def crc32(data: bytes) -> int:
    """CRC-32 as in the PNG specification's sample code (annex D)."""
    c = 0xFFFFFFFF
    for byte in data:
        c = CRC_TABLE[(c ^ byte) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def test_reference_crc32_matches_the_published_check_value() -> None:
    assert crc32(b"123456789") == 0xCBF43926


# -------------------------------------------------------------------------------- PNG


def validate_png(data: bytes) -> ImageInfo:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "PNG signature"
    chunks: list[tuple[bytes, bytes]] = []
    pos = 8
    while pos < len(data):
        assert pos + 12 <= len(data), "truncated chunk"
        (length,) = struct.unpack_from(">I", data, pos)
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        assert len(body) == length, f"{kind!r} body truncated"
        (crc,) = struct.unpack_from(">I", data, pos + 8 + length)
        assert crc == crc32(kind + body), f"bad CRC on {kind!r}"
        chunks.append((kind, body))
        pos += 12 + length
    assert pos == len(data), "bytes after the last chunk"
    kinds = [kind for kind, _ in chunks]
    assert kinds[0] == b"IHDR"
    assert kinds[-1] == b"IEND"
    assert chunks[-1][1] == b""
    assert b"IDAT" in kinds
    ihdr = chunks[0][1]
    assert len(ihdr) == 13
    width, height, depth, colour, compression, filtering, interlace = struct.unpack(
        ">IIBBBBB", ihdr
    )
    assert width > 0
    assert height > 0
    assert (depth, colour) == (8, 6), "8-bit RGBA"
    assert (compression, filtering, interlace) == (0, 0, 0)
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    assert len(raw) == height * (1 + 4 * width)
    stride = 1 + 4 * width
    assert all(raw[row * stride] == 0 for row in range(height)), "filter type None"
    rgba = [
        [tuple(raw[row * stride + 1 + 4 * x : row * stride + 5 + 4 * x]) for x in range(width)]
        for row in range(height)
    ]
    return ImageInfo(width, height, raw, rgba)


# -------------------------------------------------------------------------------- EXR

EXR_REQUIRED = {
    "channels": "chlist",
    "compression": "compression",
    "dataWindow": "box2i",
    "displayWindow": "box2i",
    "lineOrder": "lineOrder",
    "pixelAspectRatio": "float",
    "screenWindowCenter": "v2f",
    "screenWindowWidth": "float",
}
EXR_TYPE_SIZES = {"box2i": 16, "float": 4, "v2f": 8, "compression": 1, "lineOrder": 1}
EXR_PIXEL_BYTES = {0: 4, 1: 2, 2: 4}  # UINT, HALF, FLOAT


def _cstring(data: bytes, pos: int) -> tuple[str, int]:
    end = data.index(b"\0", pos)
    return data[pos:end].decode("ascii"), end + 1


def validate_exr(data: bytes) -> ImageInfo:
    magic, version = struct.unpack_from("<ii", data, 0)
    assert magic == 20000630, "EXR magic number"
    assert version & 0xFF == 2, "EXR version 2"
    assert version >> 8 == 0, "single-part scan-line file (no tiled/long-name/deep flags)"
    attributes: dict[str, tuple[str, bytes]] = {}
    pos = 8
    while data[pos] != 0:
        name, pos = _cstring(data, pos)
        kind, pos = _cstring(data, pos)
        (size,) = struct.unpack_from("<i", data, pos)
        attributes[name] = (kind, data[pos + 4 : pos + 4 + size])
        pos += 4 + size
    pos += 1  # end of header
    for name, kind in EXR_REQUIRED.items():
        assert name in attributes, f"missing attribute {name}"
        assert attributes[name][0] == kind, f"{name} has type {attributes[name][0]}"
        if kind in EXR_TYPE_SIZES:
            assert len(attributes[name][1]) == EXR_TYPE_SIZES[kind], f"{name} size"
    assert attributes["compression"][1] == b"\0", "NO_COMPRESSION: one scan line per block"
    assert attributes["lineOrder"][1] == b"\0", "INCREASING_Y"

    chlist = attributes["channels"][1]
    channels: list[tuple[str, int]] = []
    cpos = 0
    while chlist[cpos] != 0:
        name, cpos = _cstring(chlist, cpos)
        pixel_type, _linear, x_sampling, y_sampling = struct.unpack_from("<iB3xii", chlist, cpos)
        assert pixel_type in EXR_PIXEL_BYTES
        assert (x_sampling, y_sampling) == (1, 1)
        channels.append((name, pixel_type))
        cpos += 16
    assert cpos == len(chlist) - 1, "channel list ends with its null byte"
    names = [name for name, _ in channels]
    assert names == sorted(names), "channels sorted by name"
    assert set(names) >= {"R", "G", "B", "A"}

    x_min, y_min, x_max, y_max = struct.unpack("<iiii", attributes["dataWindow"][1])
    assert struct.unpack("<iiii", attributes["displayWindow"][1])[2:] >= (x_min, y_min)
    width, height = x_max - x_min + 1, y_max - y_min + 1
    assert width > 0
    assert height > 0
    line_bytes = sum(width * EXR_PIXEL_BYTES[t] for _, t in channels)
    offsets = struct.unpack_from(f"<{height}Q", data, pos)
    table_end = pos + 8 * height
    payload = b""
    rgba: list[list[tuple[int, ...]]] = []
    expected_start = table_end
    for row, offset in enumerate(offsets):
        assert offset == expected_start, f"offset of scan line {row}"
        y, size = struct.unpack_from("<ii", data, offset)
        assert y == y_min + row, f"scan line {row} says y={y}"
        assert size == line_bytes, f"scan line {row} holds {size} bytes"
        line = data[offset + 8 : offset + 8 + size]
        payload += line
        expected_start = offset + 8 + size
        values: dict[str, tuple[float, ...]] = {}
        lpos = 0
        for name, pixel_type in channels:
            code = {0: "I", 1: "e", 2: "f"}[pixel_type]
            values[name] = struct.unpack_from(f"<{width}{code}", line, lpos)
            lpos += width * EXR_PIXEL_BYTES[pixel_type]
        rgba.append([tuple(round(values[c][x] * 255) for c in "RGBA") for x in range(width)])
    assert expected_start == len(data), "last scan line ends the file"
    return ImageInfo(width, height, payload, rgba)


# ------------------------------------------------------------------------------- TIFF

TIFF_TYPE_SIZES = {1: 1, 3: 2, 4: 4}  # BYTE, SHORT, LONG
TIFF_TYPE_CODES = {1: "B", 3: "H", 4: "I"}


def validate_tiff(data: bytes) -> ImageInfo:
    assert data[:4] == b"II*\0", "little-endian TIFF header"
    (ifd,) = struct.unpack_from("<I", data, 4)
    assert ifd % 2 == 0, "IFD on a word boundary"
    (count,) = struct.unpack_from("<H", data, ifd)
    tags: dict[int, tuple[int, ...]] = {}
    previous = -1
    for i in range(count):
        tag, kind, n = struct.unpack_from("<HHI", data, ifd + 2 + 12 * i)
        assert tag > previous, "IFD entries sorted by tag"
        previous = tag
        assert kind in TIFF_TYPE_SIZES, f"tag {tag} has type {kind}"
        size = TIFF_TYPE_SIZES[kind] * n
        where = ifd + 2 + 12 * i + 8
        if size > 4:
            (where,) = struct.unpack_from("<I", data, where)
            assert where + size <= len(data), f"tag {tag} values outside the file"
        tags[tag] = struct.unpack_from(f"<{n}{TIFF_TYPE_CODES[kind]}", data, where)
    (next_ifd,) = struct.unpack_from("<I", data, ifd + 2 + 12 * count)
    assert next_ifd == 0, "one image"
    width, height = tags[256][0], tags[257][0]
    assert tags[258] == (8, 8, 8, 8), "BitsPerSample"
    assert tags[259] == (1,), "no compression"
    assert tags[262] == (2,), "RGB"
    assert tags[277] == (4,), "SamplesPerPixel"
    assert tags[338] in {(1,), (2,)}, "ExtraSamples: alpha"
    assert len(tags[273]) == len(tags[279]) == 1, "one strip"
    assert tags[278][0] >= height, "RowsPerStrip covers the image"
    strip, strip_bytes = tags[273][0], tags[279][0]
    assert strip_bytes == width * height * 4
    assert strip + strip_bytes <= len(data), "strip lies within the file"
    assert strip >= ifd + 2 + 12 * count + 4, "strip does not overlap the IFD"
    strip_data = data[strip : strip + strip_bytes]
    flat = [tuple(strip_data[i : i + 4]) for i in range(0, len(strip_data), 4)]
    return ImageInfo(width, height, strip_data, _rows(flat, width))


# -------------------------------------------------------------------------------- TGA


def validate_tga(data: bytes) -> ImageInfo:
    assert len(data) >= 18
    (id_length, colour_map_type, image_type) = struct.unpack_from("<BBB", data, 0)
    width, height, bpp, descriptor = struct.unpack_from("<HHBB", data, 12)
    assert colour_map_type == 0
    assert image_type == 2, "uncompressed true-colour"
    assert bpp == 32
    assert descriptor & 0x0F == 8, "8 alpha bits"
    assert width > 0
    assert height > 0
    start = 18 + id_length
    assert len(data) == start + width * height * 4, "file size matches the header"
    body = data[start:]
    # stored BGRA
    flat: list[tuple[int, ...]] = [(r, g, b, a) for b, g, r, a in struct.iter_unpack("<4B", body)]
    rows = _rows(flat, width)
    if not descriptor & 0x20:  # origin at the bottom
        rows.reverse()
    if descriptor & 0x10:  # origin at the right
        rows = [row[::-1] for row in rows]
    return ImageInfo(width, height, body, rows)


# -------------------------------------------------------------------------------- IFF


def _iff_chunks(data: bytes, pos: int, end: int) -> list[tuple[bytes, int, int]]:
    """(tag, start, size) of each chunk between pos and end; chunks align to 4 bytes."""
    chunks = []
    while pos < end:
        tag = data[pos : pos + 4]
        (size,) = struct.unpack_from(">I", data, pos + 4)
        assert pos + 8 + size <= end, f"{tag!r} runs past its container"
        chunks.append((tag, pos + 8, size))
        pos += 8 + size + (-size % 4)
    assert pos == end, "chunks fill their container exactly"
    return chunks


def validate_iff(data: bytes) -> ImageInfo:
    assert data[:4] == b"FOR4"
    (size,) = struct.unpack_from(">I", data, 4)
    assert size + 8 == len(data), "FOR4 size covers the file"
    assert data[8:12] == b"CIMG"
    chunks = _iff_chunks(data, 12, len(data))
    assert chunks[0][0] == b"TBHD", "TBHD comes first"
    _, start, tbhd_size = chunks[0]
    assert tbhd_size == 32
    width, height, _prnum, _prden, flags, depth, tiles, compression = struct.unpack_from(
        ">IIHHIHHI", data, start
    )
    assert flags & 3 == 3, "RGB and alpha"
    assert depth == 0, "8 bits per channel"
    assert compression == 0, "uncompressed"
    forms = [(start, size) for tag, start, size in chunks if tag == b"FOR4"]
    assert len(forms) == 1, "one FOR4 TBMP group"
    form_start, form_size = forms[0]
    assert data[form_start : form_start + 4] == b"TBMP"
    tiles_found = _iff_chunks(data, form_start + 4, form_start + form_size)
    assert [tag for tag, _, _ in tiles_found] == [b"RGBA"] * tiles
    assert tiles == 1
    _, tile_start, tile_size = tiles_found[0]
    bounds = struct.unpack_from(">HHHH", data, tile_start)
    assert bounds == (0, 0, width - 1, height - 1), "the RGBA tile covers the image"
    assert tile_size == 8 + width * height * 4, "uncompressed tile size"
    tile = data[tile_start + 8 : tile_start + tile_size]
    # stored ABGR
    flat: list[tuple[int, ...]] = [(r, g, b, a) for a, b, g, r in struct.iter_unpack(">4B", tile)]
    return ImageInfo(width, height, tile, _rows(flat, width)[::-1])  # stored bottom-up


VALIDATORS: dict[str, Callable[[bytes], ImageInfo]] = {
    "png": validate_png,
    "exr": validate_exr,
    "tif": validate_tiff,
    "tiff": validate_tiff,
    "tga": validate_tga,
    "iff": validate_iff,
}


def write_and_validate(folder: Path, ext: str, width: int, height: int, frame: int) -> ImageInfo:
    path = folder / f"shot.{frame:04d}.{ext}"
    write_image(path, width, height, frame)
    return VALIDATORS[ext](path.read_bytes())


# ------------------------------------------------------------------------------ tests


def test_every_supported_extension_has_a_validator_here() -> None:
    assert set(SUPPORTED_EXTENSIONS) == set(VALIDATORS)


@pytest.mark.parametrize("ext", SUPPORTED_EXTENSIONS)
def test_written_image_is_valid_and_has_the_requested_size(tmp_path: Path, ext: str) -> None:
    info = write_and_validate(tmp_path, ext, WIDTH, HEIGHT, frame=1)

    assert (info.width, info.height) == (WIDTH, HEIGHT)


@pytest.mark.parametrize("ext", SUPPORTED_EXTENSIONS)
def test_write_image_returns_the_number_of_bytes_written(tmp_path: Path, ext: str) -> None:
    path = tmp_path / f"shot.0001.{ext}"

    size = write_image(path, WIDTH, HEIGHT, 1)

    assert size == path.stat().st_size


@pytest.mark.parametrize("ext", SUPPORTED_EXTENSIONS)
def test_different_frames_give_different_pixel_data(tmp_path: Path, ext: str) -> None:
    first = write_and_validate(tmp_path, ext, WIDTH, HEIGHT, frame=1)
    second = write_and_validate(tmp_path, ext, WIDTH, HEIGHT, frame=2)

    assert len(first.payload) == len(second.payload)
    assert first.payload != second.payload


@pytest.mark.parametrize("ext", SUPPORTED_EXTENSIONS)
def test_zero_size_is_written_as_one_pixel(tmp_path: Path, ext: str) -> None:
    info = write_and_validate(tmp_path, ext, 0, 0, frame=1)

    assert (info.width, info.height) == (1, 1)


@pytest.mark.parametrize("name", ["shot.0001.PNG", "shot.0001.Exr", "shot.0001.TIF"])
def test_extension_is_matched_case_insensitively(tmp_path: Path, name: str) -> None:
    path = tmp_path / name

    write_image(path, WIDTH, HEIGHT, 1)

    info = VALIDATORS[path.suffix.lower().lstrip(".")](path.read_bytes())
    assert (info.width, info.height) == (WIDTH, HEIGHT)


def test_png_pixels_are_a_gradient_tinted_by_the_frame(tmp_path: Path) -> None:
    info = write_and_validate(tmp_path, "png", 2, 2, frame=3)

    tint = 3 * 37
    assert info.rgba == [
        [(0, 0, tint, 255), (255, 0, tint, 255)],
        [(0, 255, tint, 255), (255, 255, tint, 255)],
    ]


@pytest.mark.parametrize("ext", SUPPORTED_EXTENSIONS)
def test_every_format_stores_the_same_picture_as_png(tmp_path: Path, ext: str) -> None:
    reference = write_and_validate(tmp_path, "png", WIDTH, HEIGHT, frame=7)

    info = write_and_validate(tmp_path, ext, WIDTH, HEIGHT, frame=7)

    assert info.rgba == reference.rgba


@pytest.mark.parametrize("ext", SUPPORTED_EXTENSIONS)
def test_validator_rejects_a_truncated_file(tmp_path: Path, ext: str) -> None:
    path = tmp_path / f"shot.0001.{ext}"
    write_image(path, WIDTH, HEIGHT, 1)

    with pytest.raises((AssertionError, struct.error, zlib.error, ValueError, IndexError)):
        VALIDATORS[ext](path.read_bytes()[:-1])


def test_png_validator_rejects_a_bad_chunk_crc(tmp_path: Path) -> None:
    path = tmp_path / "shot.0001.png"
    write_image(path, WIDTH, HEIGHT, 1)
    data = bytearray(path.read_bytes())
    data[19] ^= 0xFF  # a byte of the IHDR width

    with pytest.raises(AssertionError, match="bad CRC"):
        validate_png(bytes(data))


def test_unsupported_extension_raises_and_lists_the_supported_ones(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"cannot write \.jpg images") as info:
        write_image(tmp_path / "shot.0001.jpg", WIDTH, HEIGHT, 1)

    for ext in SUPPORTED_EXTENSIONS:
        assert ext in str(info.value)


def test_unsupported_extension_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        write_image(tmp_path / "new" / "shot.0001.jpg", WIDTH, HEIGHT, 1)

    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("ext", SUPPORTED_EXTENSIONS)
def test_writing_leaves_no_temporary_file(tmp_path: Path, ext: str) -> None:
    write_image(tmp_path / f"shot.0001.{ext}", WIDTH, HEIGHT, 1)

    assert [p.name for p in tmp_path.iterdir()] == [f"shot.0001.{ext}"]


def test_writing_replaces_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "shot.0001.png"
    path.write_bytes(b"half a frame from a crashed render")

    write_image(path, WIDTH, HEIGHT, 1)

    assert validate_png(path.read_bytes()).width == WIDTH


def test_write_image_creates_the_parent_folders(tmp_path: Path) -> None:
    path = tmp_path / "images" / "rs_BG" / "shotCam" / "shot.0001.exr"

    write_image(path, WIDTH, HEIGHT, 1)

    assert path.is_file()


def test_write_image_accepts_a_string_path(tmp_path: Path) -> None:
    path = os.path.join(str(tmp_path), "shot.0001.tga")

    write_image(path, WIDTH, HEIGHT, 1)

    assert validate_tga(Path(path).read_bytes()).height == HEIGHT


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    ext=st.sampled_from(SUPPORTED_EXTENSIONS),
    width=st.integers(1, 9),
    height=st.integers(1, 9),
    frame=st.integers(-1000, 100_000),
)
def test_any_small_image_in_any_format_decodes_to_the_simulated_picture(
    tmp_path: Path, ext: str, width: int, height: int, frame: int
) -> None:
    # tmp_path is shared by the examples; each write replaces the last file atomically.
    info = write_and_validate(tmp_path, ext, width, height, frame)

    assert info.rgba == pixels(width, height, frame)
