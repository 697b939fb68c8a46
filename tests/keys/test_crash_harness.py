"""The crash-consistency harness (see crash_harness.py) for create, save, rotate, restore, rename and delete.

Quick variant (always): a few write points per operation. Full variant, every write point of every
operation, with the counts printed:

    PROP_DESKTOP_CRASH_FULL=1 dbus-run-session -- bash scripts/with-keyring.sh \\
        .venv/bin/python -m pytest tests/keys/test_crash_harness.py -s -p no:cacheprovider
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from .crash_harness import crash_at_points

FULL = os.environ.get("PROP_DESKTOP_CRASH_FULL") == "1"
# One kill per operation takes 1-2 s each (measured); the full run is slow.
pytestmark = [pytest.mark.secret_service, *([pytest.mark.slow] if FULL else []),
              pytest.mark.skipif(sys.platform != "linux", reason="SIGKILL failpoints")]
# Quick variant, one kill each where a crash hurt before: a create after its key was written (an orphan key),
# mid-reseal of a rotation and of a restore, a delete after its key is gone; the first write of the others.
QUICK = {"create": [3], "save": [1], "rotate": [4], "restore": [3], "rename": [1], "delete": [2]}


@pytest.mark.timeout(900 if FULL else 180)
@pytest.mark.parametrize("op", list(QUICK))
def test_no_loss_and_no_orphan_key_at_any_crash_point(op: str, secret_service, tmp_path: Path) -> None:
    result = crash_at_points(op, tmp_path, secret_service, points=None if FULL else QUICK[op])
    print(f"\ncrash harness: {op}: killed at {result.points} write point(s), {len(result.violations)} violation(s)")
    assert result.violations == []
    assert result.points >= 1
