"""Fixtures for the services tests: an App on a private data folder with the keys layer's in-memory keyring."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "keys"))

from keyring_fakes import MemoryKeyring  # noqa: E402

from prop_desktop.services.profile_service import ProfileService  # noqa: E402


@pytest.fixture
def memory_keyring() -> MemoryKeyring:
    return MemoryKeyring()


@pytest.fixture
def profiles(tmp_path: Path, memory_keyring: MemoryKeyring) -> Iterator[ProfileService]:
    yield ProfileService(tmp_path / "data", keyring_backend=memory_keyring)
