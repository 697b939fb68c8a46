"""One way for tests that run no Qt event loop to wait for a state: poll it until it holds or a timeout passes."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(predicate: Callable[[], object], timeout: float = 10.0, period: float = 0.01) -> bool:
    """True as soon as `predicate()` holds; False if it still does not after `timeout` seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(period)
    return bool(predicate())
