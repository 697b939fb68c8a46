"""Crash-safe file replacement: a reader sees the old file or the new one, never a mix.

Temp file in the same folder (same file system, so the rename is atomic), fsync it, rename over the target,
fsync the folder so the rename itself survives a power cut. Only ciphertext and the non-secret registry are
ever written through here.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from .. import failpoints

TEMP_SUFFIX = ".tmp"


def fsync_dir(folder: Path) -> None:
    if os.name != "posix":  # Windows cannot open a folder for fsync; NTFS renames are journalled.
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes, sync_dir: bool = True, point: str = "write") -> None:
    """Replace `path` with `data`. sync_dir=False leaves the folder fsync to the caller (batch writes).
    `point` names this write for the crash tests (see failpoints)."""
    failpoints.reached(point)
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=folder)  # mode 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    if sync_dir:
        fsync_dir(folder)


def is_temp_file(path: Path) -> bool:
    return path.name.startswith(".") and path.name.endswith(TEMP_SUFFIX)


def stale_temp_files(folder: Path, older_than_s: float = 600.0) -> Iterator[Path]:
    """Temp files left by a crash (old enough that no live writer can own them)."""
    if not folder.is_dir():
        return
    now = time.time()
    for path in folder.iterdir():
        if is_temp_file(path):
            with contextlib.suppress(OSError):
                if now - path.stat().st_mtime > older_than_s:
                    yield path


def remove_stale_temp_files(folder: Path, older_than_s: float = 600.0) -> int:
    removed = 0
    for path in list(stale_temp_files(folder, older_than_s)):
        with contextlib.suppress(OSError):
            path.unlink()
            removed += 1
    return removed


def make_private_dir(folder: Path) -> Path:
    """Create a folder only the user can enter (POSIX); return it."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.name == "posix":
        with contextlib.suppress(OSError):
            os.chmod(folder, 0o700)
    return folder
