"""`bench household` machinery on one profile with a tiny budget: it learns the person's way, keeps the base's."""

from __future__ import annotations

import pytest

from prop_desktop.policy.household_eval import evaluate_profiles
from prop_desktop.policy.personalize import BENCH_PROFILES


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_one_profile_learns_and_wrong_keys_stay_base():
    # ray: three wishes over two tasks. From two demonstrations (seed 2, one per task) the way is not exact yet,
    # so the person corrects one episode; from three, since adapters are scoped to the tasks shown, nothing was
    # left to correct (and from six since stop 13).
    ray = next(p for p in BENCH_PROFILES if p.name == "ray")
    report = evaluate_profiles(
        [ray], demos=2, seed=2, max_seconds=6.0, near_keys=4, held_out_demos=6, instances=6, corrections=1,
        round_seconds=2.0,
    )
    r = report["profiles"]["ray"]
    assert r["none"] == 0.0  # no key is the base policy, bit for bit
    assert r["base_gap"] > 0.1  # ray's way really differs from the base
    assert r["personal"] < 0.5 * r["base_gap"]  # the key moved the policy toward the person's way
    assert r["random"]["max"] < 0.5 * r["base_gap"]  # random keys did not
    assert set(r["near"]) == {"1", "2", "3", "4", "8", "16"}
    assert r["retention"] < 0.5 * r["base_gap"]
    assert 0.0 <= r["alpha"] <= 1.0 and r["train_seconds"] > 0
    assert r["closed_loop_instances"] == 6 and r["success_no_key"] == 1.0  # no key: the base does the base way
    low, high = r["success_ci"]
    assert 0.0 <= low <= r["success_with_key"] <= high <= 1.0
    (round_1,) = r["rounds"]  # one correction round: the person corrected some episodes, retrained warm
    assert 1 <= round_1["corrected_episodes"] <= 5 and round_1["correction_rows"] > 0
    assert round_1["wrong_key_max"] == 0.0  # the rebuilt gate still rejects every other key exactly
    assert round_1["personal"] < 0.5 * r["base_gap"] and round_1["seconds"] > 0
    assert len(report["base_hash"]) == 64


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_way_shown_on_one_task_leaves_every_other_task_exactly_the_base():
    """lee wants a slower arm and shows it on pick: the trunk delta that learns it must not reach the other tasks."""
    import torch

    from prop_desktop.policy.base import DEFAULT_PROP_LAYERS, load_base_policy, personalize_config
    from prop_desktop.policy.household_eval import base_distribution_states, bench_data
    from prop_desktop.prop import new_key, train_adapter, wrap

    torch.set_num_threads(1)
    k, lee = next((k, p) for k, p in enumerate(BENCH_PROFILES) if p.name == "lee")
    data = bench_data(lee, k, 0, 6)
    keyed = wrap(load_base_policy(), DEFAULT_PROP_LAYERS)
    key = new_key()
    result = train_adapter(keyed, data.states, data.actions, key, base_states=data.base_states,
                           retain_states=data.retain_states, episodes=data.episodes,
                           config=personalize_config(fine_tune_trunk=True, max_seconds=8.0, select_layers=()))
    # No selection (from six demonstrations in 8 s it may win): a modulation of every layer and a trunk delta,
    # which move every task unless the scope stops them.
    assert not result.selection_only and keyed.trunk_delta is not None
    assert keyed.scope == (6,)  # pick's column of the task id
    others = torch.from_numpy(base_distribution_states(5, 6, lee.undemonstrated))
    shown = torch.from_numpy(base_distribution_states(6, 6, ("pick",)))
    with torch.no_grad():
        assert torch.equal(keyed(others, key=key), keyed(others))
        assert float((keyed(shown, key=key) - keyed(shown)).abs().max()) > 1e-3
