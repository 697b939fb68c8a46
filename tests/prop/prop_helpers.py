"""Helpers shared by the engine tests: a small seeded policy and a regression task personalizing it."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def small_policy(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 2))


class SmallTask:
    """States in [-1, 1]^4; the user's actions = base outputs shifted and rotated (a clear personalization)."""

    def __init__(self, policy: nn.Module, seed: int = 0, n: int = 300) -> None:
        rng = np.random.default_rng(seed)
        self.policy = policy
        self.states = rng.uniform(-1, 1, size=(n, 4)).astype(np.float32)
        self.test_states = rng.uniform(-1, 1, size=(200, 4)).astype(np.float32)
        self.actions = self.personal(self.states)

    def base(self, states: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return self.policy(torch.from_numpy(states)).numpy()

    def personal(self, states: np.ndarray) -> np.ndarray:
        b = self.base(states)
        return (b[:, ::-1] * np.array([0.5, -0.5], dtype=np.float32) + np.array([0.3, -0.2], dtype=np.float32)).copy()
