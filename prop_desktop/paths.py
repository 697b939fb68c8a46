"""Where the app keeps its files: the platform's data folder, or PROP_DESKTOP_DATA_DIR when set."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ENV_DATA_DIR = "PROP_DESKTOP_DATA_DIR"


def data_dir() -> Path:
    """The app's data folder (created on first use)."""
    override = os.environ.get(ENV_DATA_DIR)
    if override:
        path = Path(override).expanduser()
    else:
        import platformdirs

        path = Path(platformdirs.user_data_dir("prop-desktop", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def resources_dir() -> Path:
    """`resources/` in a source checkout, or inside a frozen (PyInstaller) bundle."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"
