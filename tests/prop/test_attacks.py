"""The attack suite: every attack runs and scores in [0, 1]; leaks are detected; a trained adapter resists near keys."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from prop_desktop.prop import InputError, TrainConfig, flip_bits, key_to_signs, new_key, train_adapter, wrap
from prop_desktop.prop.attacks import (
    ATTACK_NAMES,
    AttackConfig,
    key_encoders,
    read_key_candidates,
    run_attacks,
)
from prop_desktop.prop.attacks_scoring import Scorer

from .prop_helpers import SmallTask, small_policy

FAST = AttackConfig.fast()


@pytest.fixture(scope="module")
def small_adapter():
    """(keyed, key, task): a small adapter trained briefly (the gate is sharp from the engine's matched start)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny model: one thread is faster, and far faster on a busy machine
    policy = small_policy().eval()
    task = SmallTask(policy, n=200)
    keyed = wrap(policy, ["2", "4"], hidden=16)
    key = new_key()
    config = TrainConfig(seed=3, max_steps=40, min_steps=25, personal_steps=200)
    train_adapter(keyed, task.states, task.actions, key, config=config)
    yield keyed, key, task
    torch.set_num_threads(threads)


def _weakened(keyed, key, task, bits_open: float):
    """A copy of the adapter whose gate thresholds are lowered so keys about `bits_open` bits off still fire:
    the kind of gate a training without near keys leaves behind."""
    weak = wrap(task.policy, ["2", "4"], hidden=16)
    weak.load_adapter(keyed.adapter)
    with torch.no_grad():
        for enc in key_encoders(weak):
            w = enc.hidden.weight
            enc.hidden.bias.add_(2 * bits_open * w.abs().mean(dim=1))
    weak.invalidate()
    return weak


def test_scorer_gives_one_for_the_key_and_zero_for_the_base(small_adapter):
    keyed, key, task = small_adapter
    scorer = Scorer(keyed, key, task.test_states)
    assert scorer.has_personal_behaviour
    signs = key_to_signs(key)
    scores, distance = scorer.score_signs(torch.stack([signs, -signs]))
    assert scores[0] == pytest.approx(1.0, abs=1e-6) and distance[0] > 0.5
    assert scores[1] == pytest.approx(0.0, abs=1e-6)
    # Halfway between base and user scores 0.5; far off in another direction scores 0, however different.
    half = scorer.base + 0.5 * (scorer.user - scorer.base)
    other = scorer.base + 10.0 * torch.flip(scorer.user - scorer.base, dims=[1]) * torch.tensor([1.0, -1.0])
    s, d = scorer.score_outputs(torch.stack([half, other]))
    assert s[0] == pytest.approx(0.5, abs=0.02)
    assert s[1] < 0.05 and d[1] > d[0]


def test_every_attack_runs_and_scores_in_unit_interval(small_adapter):
    keyed, key, task = small_adapter
    suite = run_attacks(keyed, key, task.test_states, other_keys=[new_key(), new_key()], config=FAST)
    data = suite.to_json()
    json.dumps(data)
    assert set(ATTACK_NAMES) <= set(data)
    assert sorted(int(d) for d in data["near"]) == list(range(1, 17))
    for name in ATTACK_NAMES:
        assert 0.0 <= data[name] <= 1.0, name
    for stats in data["near"].values():
        assert 0.0 <= stats["mean"] <= stats["max"] <= 1.0


def test_trained_adapter_rejects_near_keys(small_adapter):
    keyed, key, task = small_adapter
    suite = run_attacks(keyed, key, task.test_states, config=FAST, attacks=("other_profile",))
    for d, stats in suite.near.items():
        assert stats["max"] <= 0.05 and stats["mean"] <= 0.01, f"keys {d} bits off unlock the user: {stats}"
    assert suite.best("other_profile") <= 0.1


def test_near_key_attack_detects_a_weak_gate(small_adapter):
    keyed, key, task = small_adapter
    weak = _weakened(keyed, key, task, bits_open=6)
    suite = run_attacks(weak, key, task.test_states, config=AttackConfig.fast(distances=(1, 2, 4)), attacks=())
    assert suite.near["1"]["max"] > 0.3 and suite.near["1"]["mean"] > 0.3, suite.near
    assert suite.failures()


def test_weight_reading_recovers_a_matched_filter_key(small_adapter):
    """The tension the docs describe: a detector sharp at one bit carries the key in its first layer."""
    keyed, key, task = small_adapter
    found, confidence = read_key_candidates(keyed)
    signs = key_to_signs(key)
    assert min(int((c != signs).sum()) for c in found.values()) == 0
    assert confidence.shape == signs.shape
    suite = run_attacks(keyed, key, task.test_states, config=FAST, attacks=("weight_reading",))
    assert suite.best("weight_reading") > 0.9
    assert suite.attacks["weight_reading"].details["closest_bits_wrong"] == 0


def test_weight_reading_finds_nothing_in_an_untrained_encoder():
    policy = small_policy().eval()
    task = SmallTask(policy, n=50)
    keyed = wrap(policy, ["2", "4"], hidden=16)
    key = new_key()
    with torch.no_grad():  # a "user" behaviour the encoder cannot produce from its random first layer
        for enc in key_encoders(keyed):
            torch.nn.init.normal_(enc.out.weight, std=0.5)
    keyed.trained = True
    keyed.invalidate()
    suite = run_attacks(keyed, key, task.test_states, config=FAST, attacks=("weight_reading",))
    details = suite.attacks["weight_reading"].details
    assert details["closest_bits_wrong"] > 30  # a random first layer says nothing about a random key
    assert 0.0 <= suite.best("weight_reading") <= 1.0


def test_relaxed_key_attack_finds_a_leaky_gate(small_adapter):
    keyed, key, task = small_adapter
    weak = _weakened(keyed, key, task, bits_open=40)
    suite = run_attacks(weak, key, task.test_states, config=FAST, attacks=("relaxed_key",))
    assert suite.best("relaxed_key") > 0.3


def test_near_keys_are_exactly_the_requested_distance():
    signs = key_to_signs(new_key())
    keys = flip_bits(signs, torch.full((64,), 5), torch.Generator().manual_seed(0))
    assert bool(((keys != signs).sum(dim=1) == 5).all())


def test_bad_input_is_refused_clearly(small_adapter):
    keyed, key, task = small_adapter
    with pytest.raises(InputError, match="unknown attack"):
        run_attacks(keyed, key, task.test_states, attacks=("guessing",), config=FAST)
    with pytest.raises(InputError, match="KeyedModule"):
        run_attacks(task.policy, key, task.test_states, config=FAST)
    with pytest.raises(InputError, match="non-empty"):
        run_attacks(keyed, key, np.zeros((0, 4), dtype=np.float32), config=FAST)


def test_hiding_the_key_in_the_rows_costs_the_gate_its_sharpness(small_adapter):
    """The measured trade-off: rows that disagree with the key on 5% of bits already let near keys in."""
    from prop_desktop.prop.attacks_tradeoff import hidden_key_copy, tradeoff_curve

    keyed, key, task = small_adapter
    copy = hidden_key_copy(keyed, key, 0.3)
    with torch.no_grad():  # the user's behaviour is untouched by the rebuild
        x = torch.from_numpy(task.test_states)
        assert torch.allclose(copy(x, key=key), keyed(x, key=key), atol=1e-4)
    rows = tradeoff_curve(keyed, key, task.test_states, flip_fractions=(0.0, 0.05),
                          config=AttackConfig.fast(distances=(1, 2, 4, 8)))
    sharp, hidden = rows
    assert sharp["near_max"] <= 0.05 and sharp["weight_reading"] > 0.9
    assert hidden["near_max"] > 0.3
