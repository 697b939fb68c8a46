"""The engine's trunk gate, seen by the attack suite: keys the gate rejects get the base bit for bit even with a
trunk delta; without the gate every wrong key runs base + α·delta (what the suite measured as a leak)."""

from __future__ import annotations

import pytest
import torch

from prop_desktop.prop import TrainConfig, new_key, random_signs, train_adapter, wrap
from prop_desktop.prop.attacks import AttackConfig, run_attacks

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


def test_rejected_keys_get_the_base_and_the_suite_sees_it(trunk_adapter):
    keyed, key, task = trunk_adapter
    assert keyed.trunk_delta is not None and keyed.gate_trunk
    x = torch.from_numpy(task.test_states)
    wrong = random_signs(8, keyed.key_bits, torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(keyed(x[:8], key=wrong), task.policy(x[:8]))
    cfg = AttackConfig.fast(distances=(1, 4))
    gated = run_attacks(keyed, key, x, config=cfg, attacks=("other_profile",))
    assert gated.near_silent_fraction == 1.0
    assert gated.silent_key_score == 0.0 and gated.near_max == 0.0 and gated.best("other_profile") == 0.0
    assert gated.attacks["other_profile"].details["distance_max"] == 0.0
    keyed.gate_trunk = False
    keyed.invalidate()
    try:
        ungated = run_attacks(keyed, key, x, config=cfg, attacks=("other_profile",))
    finally:
        keyed.gate_trunk = True
        keyed.invalidate()
    # Without the gate, every rejected key runs the merged trunk: no longer the base.
    assert ungated.attacks["other_profile"].details["distance_max"] > 0.0
    assert ungated.silent_key_score >= gated.silent_key_score
