"""Fixtures for storage tests: profile keys and sealers without any keyring (the storage layer's own job)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# Helpers of this folder, and the keyring test doubles that live with the keys tests.
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "keys"))

from prop_desktop.keys import KeySet, ProfileKey  # noqa: E402
from prop_desktop.storage import AdapterStore, EpisodeStore, Sealer  # noqa: E402

from .storage_helpers import PROFILE_A  # noqa: E402


@pytest.fixture
def key_a() -> ProfileKey:
    return ProfileKey.generate()


@pytest.fixture
def key_b() -> ProfileKey:
    return ProfileKey.generate()


@pytest.fixture
def sealer_a(key_a: ProfileKey) -> Sealer:
    return Sealer.from_keyset(KeySet(key_a))


@pytest.fixture
def sealer_b(key_b: ProfileKey) -> Sealer:
    return Sealer.from_keyset(KeySet(key_b))


@pytest.fixture
def episodes_a(tmp_path: Path, sealer_a: Sealer) -> EpisodeStore:
    return EpisodeStore(tmp_path / "a" / "episodes", sealer_a, PROFILE_A)


@pytest.fixture
def adapters_a(tmp_path: Path, sealer_a: Sealer) -> AdapterStore:
    return AdapterStore(tmp_path / "a" / "adapters", sealer_a, PROFILE_A)
