"""Shared helpers for storage tests (a uniquely named module: `conftest` is ambiguous across test folders)."""

from __future__ import annotations

import numpy as np

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
