"""Fixtures for storage tests: profile keys and sealers without any keyring (the storage layer's own job)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from prop_desktop.keys import KeySet, ProfileKey
from prop_desktop.storage import AdapterStore, EpisodeStore, Sealer

# The keyring test doubles live with the keys tests.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "keys"))

PROFILE_A = "0b5e4a9e-3c1d-4d55-9b7a-1f2e3d4c5b6a"
PROFILE_B = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"


def make_episode(n: int = 40, seed: int = 0) -> tuple[dict[str, np.ndarray], dict]:
    rng = np.random.default_rng(seed)
    goal = rng.uniform(-1.5, 1.5, (n, 6)).astype(np.float32)
    goal[::3] = np.nan  # hand-guided stretches: nothing commanded
    arrays = {
        "t": np.arange(n, dtype=np.float64) / 50.0,
        "q": rng.uniform(-1.5, 1.5, (n, 6)).astype(np.float32),
        "goal": goal,
    }
    meta = {
        "task": "serve tea",
        "profile_id": PROFILE_A,
        "mode": "hand",
        "rate_hz": 50.0,
        "joint_names": ["shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper"],
        "interrupted": False,
        "fault": None,
        "created": "2026-11-24T20:00:00+00:00",
    }
    return arrays, meta


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
