"""App icon: an SVG source plus valid PNGs at every hicolor size, a Windows .ico and a macOS .icns.

PNGs are checked without Pillow (not a test dependency): signature, chunk CRCs, IHDR size and colour
type, and that the image data inflates to exactly the bytes that size needs.
"""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ElementTree
import zlib
from pathlib import Path

import pytest

ICONS = Path(__file__).resolve().parents[2] / "resources" / "icons"
SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def read_png(path: Path) -> tuple[int, int, int, bytes]:
    """(width, height, colour type, raw filtered scanlines) of a PNG, verifying every chunk's CRC."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path.name} is not a PNG"
    position, header, idat = 8, None, b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length : position + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"{path.name}: bad CRC in {kind!r}"
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
        position += 12 + length
    assert header is not None, f"{path.name}: no IHDR"
    width, height, bit_depth, colour_type, _, _, interlace = header
    assert bit_depth == 8 and interlace == 0
    return width, height, colour_type, zlib.decompress(idat)


@pytest.mark.parametrize("size", SIZES)
def test_png_exists_at_every_size_with_the_right_dimensions(size: int) -> None:
    width, height, colour_type, raw = read_png(ICONS / f"prop-desktop-{size}.png")
    assert (width, height) == (size, size)
    assert colour_type == 6, "expected RGBA (rounded corners need transparency)"
    assert len(raw) == height * (1 + width * 4)


def unfilter(width: int, height: int, raw: bytes) -> list[bytearray]:
    """RGBA scanlines from PNG-filtered data (the five filters of the PNG spec)."""
    stride, rows, previous = width * 4, [], bytearray(width * 4)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - 4] if i >= 4 else 0
            up = previous[i]
            up_left = previous[i - 4] if i >= 4 else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                guess = left + up - up_left
                pa, pb, pc = abs(guess - left), abs(guess - up), abs(guess - up_left)
                predictor = left if pa <= pb and pa <= pc else up if pb <= pc else up_left
                line[i] = (line[i] + predictor) & 0xFF
        rows.append(line)
        previous = line
    return rows


def test_icon_has_transparent_corners_and_shows_the_white_arm_and_gold_lock() -> None:
    width, height, _, raw = read_png(ICONS / "prop-desktop-64.png")
    rows = unfilter(width, height, raw)
    pixels = [tuple(row[x * 4 : x * 4 + 4]) for row in rows for x in range(width)]
    assert rows[0][3] == 0 and rows[-1][-1] == 0, "corners must be transparent (rounded square)"
    assert tuple(rows[height // 2][(width // 2) * 4 + 3 : (width // 2) * 4 + 4]) == (255,), "middle must be opaque"
    white = sum(1 for r, g, b, a in pixels if a == 255 and min(r, g, b) > 230)
    gold = sum(1 for r, g, b, a in pixels if a == 255 and r > 220 and 140 < g < 230 and b < 110)
    assert white > width * height * 0.05, "the white robot arm is missing"
    assert gold > width * height * 0.03, "the gold padlock is missing"


def test_svg_source_is_well_formed_and_square() -> None:
    root = ElementTree.parse(ICONS / "prop-desktop.svg").getroot()
    assert root.tag.endswith("svg")
    assert root.get("viewBox") == "0 0 512 512"


def test_windows_ico_holds_the_sizes_windows_uses() -> None:
    data = (ICONS / "prop-desktop.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", data[:6])
    assert (reserved, kind) == (0, 1), "not an .ico"
    sizes = set()
    for index in range(count):
        width, height = data[6 + 16 * index], data[7 + 16 * index]
        sizes.add((width or 256, height or 256))  # 0 means 256
    assert {(16, 16), (32, 32), (48, 48), (256, 256)} <= sizes


def test_macos_icns_has_its_header_and_large_sizes() -> None:
    data = (ICONS / "prop-desktop.icns").read_bytes()
    assert data[:4] == b"icns"
    assert struct.unpack(">I", data[4:8])[0] == len(data)
    kinds, position = set(), 8
    while position < len(data):
        kind, length = data[position : position + 4], struct.unpack(">I", data[position + 4 : position + 8])[0]
        kinds.add(kind)
        position += length
    assert {b"ic08", b"ic09", b"ic10"} <= kinds  # 256, 512 and 512@2x, which Finder and the Dock use
