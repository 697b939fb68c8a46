"""The trunk-gate hardening: keys that leave the gate shut get the base bit for bit, even with a trunk delta."""

from __future__ import annotations

import pytest
import torch

from prop_desktop.prop import TrainConfig, key_to_signs, new_key, random_signs, train_adapter, wrap
from prop_desktop.prop.attacks import AttackConfig, run_attacks
from prop_desktop.prop.trunk_gate import TrunkGatedKeyedModule, open_rows

from .prop_helpers import SmallTask, small_policy


@pytest.fixture(scope="module")
def trunk_adapter():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    policy = small_policy().eval()
    task = SmallTask(policy, n=200)
    keyed = wrap(policy, ["2", "4"], hidden=16)
    key = new_key()
    config = TrainConfig(seed=2, max_steps=60, min_steps=25, personal_steps=150, fine_tune_trunk=True)
    train_adapter(keyed, task.states, task.actions, key, config=config)
    yield keyed, key, task
    torch.set_num_threads(threads)


def test_open_rows():
    deltas = {"a": torch.tensor([[1.0, 1.0], [1.0, 0.5]]), "b": torch.tensor([[1.0], [1.0]])}
    assert open_rows(deltas).tolist() == [False, True]
    assert not bool(open_rows({"a": torch.ones(3)}))


def test_shut_gate_gets_the_base_and_the_key_is_unchanged(trunk_adapter):
    keyed, key, task = trunk_adapter
    assert keyed.trunk_delta is not None
    gated = TrunkGatedKeyedModule.from_keyed(keyed)
    x = torch.from_numpy(task.test_states)
    wrong = random_signs(8, keyed.key_bits, torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(gated(x, key=key), keyed(x, key=key))
        for _ in range(2):  # the second call with the same key takes the folded fast path
            assert torch.equal(gated(x, key=wrong[0]), task.policy(x))
        rows = gated(x[:8], key=wrong)  # a batch of keys, one per row
        assert torch.equal(rows, task.policy(x[:8]))
        mixed = gated.forward_signs(x[:2], signs=torch.stack([wrong[0], key_to_signs(key)]))
        assert torch.equal(mixed[0], task.policy(x[:2])[0])
        assert torch.allclose(mixed[1], keyed(x[1:2], key=key)[0])
    plain = run_attacks(keyed, key, x, config=AttackConfig.fast(distances=(1, 4)), attacks=("other_profile",))
    hardened = run_attacks(gated, key, x, config=AttackConfig.fast(distances=(1, 4)), attacks=("other_profile",))
    assert hardened.silent_key_score == 0.0 and hardened.near_max == 0.0
    assert hardened.best("other_profile") == 0.0
    assert plain.silent_key_score >= hardened.silent_key_score


def test_training_with_the_gate(trunk_adapter):
    _, _, task = trunk_adapter
    gated = TrunkGatedKeyedModule(task.policy, ["2", "4"], wrap(task.policy, ["2"]).encoder_config)
    key = new_key()
    config = TrainConfig(seed=4, max_steps=40, min_steps=25, personal_steps=150, fine_tune_trunk=True)
    result = train_adapter(gated, task.states, task.actions, key, config=config)
    assert result.metrics["personal_val"] < 0.2
    x = torch.from_numpy(task.test_states)
    with torch.no_grad():
        assert torch.equal(gated(x, key=new_key()), task.policy(x))
