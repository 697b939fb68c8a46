"""Small helpers shared by the services tests."""

from __future__ import annotations

import os
from pathlib import Path


def base_policy_dir() -> Path | None:
    """The shipped base policy (resources/), or PROP_DESKTOP_TEST_POLICY_DIR while developing."""
    override = os.environ.get("PROP_DESKTOP_TEST_POLICY_DIR")
    return Path(override) if override else None


def wait_until(predicate, timeout: float = 10.0, period: float = 0.02) -> bool:
    import time

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(period)
    return predicate()
