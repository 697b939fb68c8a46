"""Warm-started retraining (corrections): it starts where the previous adapter ended, and the gate stays exact."""

from __future__ import annotations

import pytest
import torch

from prop_desktop.prop import InputError, TrainConfig, flip_bits, key_to_signs, random_signs, train_adapter, wrap
from tests.prop.prop_helpers import SmallTask, small_policy

KEY = bytes(range(16))


def _config(**changes: object) -> TrainConfig:
    settings: dict = {"fine_tune_trunk": True, "seed": 3, "max_steps": 60, "personal_steps": 100, "eval_every": 10}
    return TrainConfig(**{**settings, **changes})


def test_warm_start_begins_at_the_previous_adapters_loss_and_wrong_keys_stay_base():
    policy = small_policy(0)
    task = SmallTask(policy, seed=0, n=200)
    keyed = wrap(policy, ["0", "2", "4"])
    first = train_adapter(keyed, task.states, task.actions, KEY, config=_config())
    cold_start = first.metrics["personal_start"]
    previous = keyed.adapter
    again = train_adapter(keyed, task.states, task.actions, KEY, config=_config(), init=previous)
    # Same data and seed: the retrain starts at exactly the error the previous adapter ended with.
    assert again.metrics["personal_start"] == pytest.approx(first.metrics["personal"], rel=1e-3, abs=1e-6)
    assert again.metrics["personal_start"] < 0.2 * cold_start  # far from where a cold start begins (the base)
    x = torch.from_numpy(task.test_states)
    signs = key_to_signs(KEY, keyed.key_bits)
    gen = torch.Generator().manual_seed(1)
    wrong = torch.cat([flip_bits(signs, torch.tensor([1] * 16 + [2] * 8 + [16] * 8), gen), random_signs(16, 128, gen)])
    with torch.no_grad():
        base = policy(x)
        assert not torch.equal(keyed(x, key=KEY), base)
        for k in wrong:
            assert torch.equal(keyed(x, key=k), base)  # bit for bit: the rebuilt gate rejects every other key


def test_warm_start_refuses_an_adapter_of_another_wrapping():
    policy = small_policy(0)
    task = SmallTask(policy, seed=0, n=100)
    other = wrap(policy, ["0", "2"])
    train_adapter(other, task.states, task.actions, KEY, config=_config(max_steps=5, personal_steps=10))
    keyed = wrap(policy, ["0", "2", "4"])
    with pytest.raises(InputError, match="modulates layers"):
        train_adapter(keyed, task.states, task.actions, KEY, config=_config(), init=other.adapter)
