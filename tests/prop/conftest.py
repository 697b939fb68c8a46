"""Shared fixtures: one adapter trained on a small seeded task (session scope: trained once)."""

from __future__ import annotations

import pytest
import torch

from prop_desktop.prop import TrainConfig, new_key, train_adapter, wrap

from .prop_helpers import SmallTask, small_policy


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Small tensors: one intra-op thread is faster, and far faster when other jobs share the two cores."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def trained():
    """(keyed, key, task, result) — one adapter trained on the small task."""
    torch.set_num_threads(1)
    policy = small_policy().eval()
    task = SmallTask(policy)
    keyed = wrap(policy, ["2", "4"], hidden=16)
    key = new_key()
    result = train_adapter(keyed, task.states, task.actions, key, config=TrainConfig(seed=1, max_steps=300))
    return keyed, key, task, result
