"""Render the app icon's PNG sizes, the Windows .ico and the macOS .icns from resources/icons/prop-desktop.svg.

    .venv/bin/python installer/render_icons.py

Needs `rsvg-convert` (Debian: librsvg2-bin) and Pillow (pip install ".[installer]"). The rendered files are
committed, so building an installer does not need either; run this only after editing the SVG.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ICONS_DIR = Path(__file__).resolve().parent.parent / "resources" / "icons"
SVG = ICONS_DIR / "prop-desktop.svg"
# The hicolor theme's usual sizes (16..512); Windows .ico takes up to 256, macOS .icns up to 512 (1024 @2x).
PNG_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_SIZES = (16, 32, 64, 128, 256, 512)


def png_path(size: int) -> Path:
    return ICONS_DIR / f"prop-desktop-{size}.png"


def render_pngs() -> None:
    converter = shutil.which("rsvg-convert")
    if converter is None:
        raise SystemExit("rsvg-convert not found: install it with `sudo apt-get install librsvg2-bin`.")
    for size in PNG_SIZES:
        # Each size is rendered from the vector source (not downscaled from 512) so small sizes stay crisp.
        subprocess.run([converter, "-w", str(size), "-h", str(size), str(SVG), "-o", str(png_path(size))], check=True)


def render_ico_and_icns() -> None:
    # .icns holds 512x512@2x, i.e. 1024 px: render it from the SVG too (not committed as a PNG).
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "1024.png"
        subprocess.run(["rsvg-convert", "-w", "1024", "-h", "1024", str(SVG), "-o", str(big)], check=True)
        _save_ico_and_icns(big)


def _save_ico_and_icns(png_1024: Path) -> None:
    try:
        from PIL import Image
    except ImportError:
        raise SystemExit("Pillow not found: install it with `.venv/bin/pip install '.[installer]'`.") from None
    largest = Image.open(png_1024).convert("RGBA")
    # Pillow builds every listed size from the image it is given; hand it the exact per-size renders.
    ico_frames = [Image.open(png_path(size)).convert("RGBA") for size in ICO_SIZES]
    ico_frames[-1].save(ICONS_DIR / "prop-desktop.ico", sizes=[(s, s) for s in ICO_SIZES], append_images=ico_frames)
    icns_frames = [Image.open(png_path(size)).convert("RGBA") for size in ICNS_SIZES]
    largest.save(ICONS_DIR / "prop-desktop.icns", append_images=icns_frames)


def main() -> int:
    if not SVG.is_file():
        print(f"missing {SVG}", file=sys.stderr)
        return 1
    render_pngs()
    render_ico_and_icns()
    print(f"wrote {len(PNG_SIZES)} PNGs, prop-desktop.ico and prop-desktop.icns to {ICONS_DIR}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
