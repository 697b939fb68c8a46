"""Small helpers shared by the services tests."""

from __future__ import annotations

import os
from pathlib import Path

from ..waiting import wait_until

__all__ = ["base_policy_dir", "wait_until"]


def base_policy_dir() -> Path | None:
    """The shipped base policy (resources/), or PROP_DESKTOP_TEST_POLICY_DIR while developing."""
    override = os.environ.get("PROP_DESKTOP_TEST_POLICY_DIR")
    return Path(override) if override else None

