"""Inter-process file locks (flock): the app, the CLI and worker threads share one data folder.

A lock dies with its process (kill -9 included), so a held lock always means a live holder. On Windows
(no flock) these are no-ops: there the app and the CLI should not change the same profile at once.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

from .errors import StorageError


class LockTimeout(StorageError):
    """Another process held the lock for too long."""


@contextlib.contextmanager
def file_lock(path: Path, *, exclusive: bool = True, timeout_s: float = 60.0, busy_message: str = "") -> Iterator[None]:
    try:
        import fcntl
    except ImportError:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeout(busy_message or f"the data folder is busy ({path.name} is held by another "
                                                      "PRoP Desktop process); try again in a moment") from None
                time.sleep(0.02)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
