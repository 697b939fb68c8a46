"""Small helpers shared by the services tests."""

from __future__ import annotations


def wait_until(predicate, timeout: float = 10.0, period: float = 0.02) -> bool:
    import time

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(period)
    return predicate()
