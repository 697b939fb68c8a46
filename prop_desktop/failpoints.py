"""Crash points for the crash-consistency tests: kill this process at the Nth write of the data folder.

Every place that changes persistent state (a sealed file, the registry, the keyring, a removal) calls
`reached(label)` just before it acts. In normal runs `PROP_DESKTOP_CRASH_AT` is unset and this is one dict
look-up. A test runs the real CLI with `PROP_DESKTOP_CRASH_AT=LABEL:N` (or `*:N` for any label) and the
process kills itself with SIGKILL, exactly like a power cut or `kill -9`, at the Nth matching point. Raising
N until the command exits normally visits every write point of that command.
"""

from __future__ import annotations

import os
import signal

ENV_CRASH_AT = "PROP_DESKTOP_CRASH_AT"
_counts: dict[str, int] = {}


def _target() -> tuple[str, int] | None:
    spec = os.environ.get(ENV_CRASH_AT)
    if not spec:
        return None
    label, _, nth = spec.rpartition(":")
    try:
        return (label or "*"), int(nth)
    except ValueError:
        return None


def reached(label: str) -> None:
    """A write point named `label` ("seal", "reseal", "registry", "keyring", "remove", "mkdir") is next."""
    target = _target()
    if target is None:
        return
    wanted, nth = target
    if wanted not in ("*", label):
        return
    _counts[wanted] = _counts.get(wanted, 0) + 1
    if _counts[wanted] == nth:
        os.kill(os.getpid(), signal.SIGKILL)
