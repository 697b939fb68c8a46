"""Fixtures for the keys/profiles tests: an in-memory keyring, and the REAL Secret Service when reachable."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.secret_service import real_secret_service_backend

sys.path.insert(0, str(Path(__file__).resolve().parent))

from prop_desktop.storage import Household  # noqa: E402

from .keyring_fakes import MemoryKeyring  # noqa: E402

SERVICE = "prop-desktop"


@pytest.fixture(autouse=True)
def _fast_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap Argon2id in-process (2 cores shared by many tests); the recommended cost is tested on its own and
    used by every real subprocess (CLI, example script)."""
    from prop_desktop.keys import passphrase

    monkeypatch.setattr(passphrase, "ARGON2_PARAMS", {"iterations": 1, "lanes": 1, "memory_kib": 1024})


@pytest.fixture
def memory_keyring() -> MemoryKeyring:
    return MemoryKeyring()


@pytest.fixture
def household(memory_keyring: MemoryKeyring, tmp_path: Path) -> Household:
    return Household(tmp_path / "data", keyring_backend=memory_keyring)


@pytest.fixture
def secret_service() -> Iterator[object]:
    """The real keyring's SecretService backend. Skips without one, but FAILS in CI (CI=true) where the test
    script always provides it: a silently skipped integration test would hide a broken set-up."""
    backend = real_secret_service_backend()
    created: list[str] = []
    backend.created_usernames = created  # type: ignore[attr-defined]
    yield backend
    # Leave no test entries behind in the session's keyring.
    for username in created:
        try:
            backend.delete_password(SERVICE, username)
        except Exception:  # noqa: BLE001
            pass
