"""Corrections (human-gated DAgger) and the household benchmark's statistics: fast, on the simulated arm."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from prop_desktop.policy.base import load_base_policy
from prop_desktop.policy.corrections import (
    Correction,
    DivergenceWatch,
    action_gap,
    correction_rows,
    first_divergence,
    simulate_person,
)
from prop_desktop.policy.expert import BASE_STYLE, effective_target, expert_step, plan, success
from prop_desktop.policy.household_eval import wilson_interval
from prop_desktop.policy.personalize import (
    BENCH_PROFILES,
    PERSONALIZATIONS,
    HouseholdProfile,
    Personalization,
    ProfileExpert,
    demonstration_rollouts,
    profile_instances,
)
from prop_desktop.policy.tasks import BINS, TaskInstance
from prop_desktop.policy.train_base import normalized_step

ALEX = next(p for p in BENCH_PROFILES if p.name == "alex")
JO = next(p for p in BENCH_PROFILES if p.name == "jo")


def test_wilson_interval_matches_the_formula_and_stays_inside_0_1():
    low, high = wilson_interval(24, 48)
    assert low == pytest.approx(0.3639, abs=1e-3) and high == pytest.approx(0.6361, abs=1e-3)
    low, high = wilson_interval(48, 48)
    assert high == 1.0 and low == pytest.approx(0.9259, abs=1e-3)  # 48/48 still allows ~7 % failures
    low, high = wilson_interval(0, 12)
    assert low == 0.0 and high == pytest.approx(0.2425, abs=1e-3)
    with pytest.raises(ValueError, match="successes"):
        wilson_interval(5, 4)


def test_the_person_takes_over_only_after_a_streak_of_disagreement():
    gaps = np.array([0.0, 0.9, 0.1, 0.8, 0.9, 0.2, 0.6, 0.7, 0.8, 0.9])
    assert first_divergence(gaps, threshold=0.5, ticks=3) == 8  # single blips (phase timing) are ignored
    assert first_divergence(gaps, threshold=0.5, ticks=1) == 1
    assert first_divergence(np.full(50, 0.49), threshold=0.5, ticks=3) is None
    watch = DivergenceWatch(2, threshold=0.5, ticks=2)
    watch.update(np.array([0.6, 0.1]))
    diverged, agreed = watch.update(np.array([0.7, 0.1]))
    assert diverged.tolist() == [True, False] and agreed.tolist() == [0, 2]


def test_action_gap_is_the_largest_joint_disagreement_of_the_bounded_steps():
    policy = np.array([[0.1, 0.0, 0.0, 0.0, 0.0, 3.0]])  # the arm clamps steps to ±1
    person = np.array([[0.0, 0.0, -0.2, 0.0, 0.0, 1.0]])
    assert action_gap(policy, person)[0] == pytest.approx(0.2)


def test_a_correction_is_training_rows_and_a_marked_episode():
    inst = TaskInstance("serve", (0.2, 0.05), (0.29, 0.0))
    q = np.zeros((4, 6))
    goal = q + 0.01
    c = Correction(inst, takeover_tick=17, q=q, goal=goal, episode=2)
    obs, act = c.rows()
    assert obs.shape == (4, 14) and np.allclose(obs[:, 6:], inst.context())
    assert np.allclose(act, normalized_step(q, goal))
    arrays, meta = c.as_episode("p1")
    assert meta["correction"] is True and meta["takeover_tick"] == 17 and meta["mode"] == "correction"
    assert set(arrays) == {"t", "q", "goal"} and len(arrays["t"]) == 4
    s, a = correction_rows(np.zeros((10, 14), np.float32), np.zeros((10, 6), np.float32), [c], weight=3)
    assert len(s) == len(a) == 10 + 3 * 4
    with pytest.raises(ValueError, match="weight"):
        correction_rows(s, a, [c], weight=0)


def _expert_policy(profile: HouseholdProfile, instances: list[TaskInstance]):
    expert = ProfileExpert(profile, instances)
    return lambda obs: torch.from_numpy(expert.next_targets(obs[:, :6].numpy().astype(np.float64)))


def test_a_policy_that_already_does_it_the_persons_way_is_never_corrected():
    instances = profile_instances(ALEX, 4, np.random.default_rng(0))
    drive = simulate_person(_expert_policy(ALEX, instances), ALEX, instances, seed=1, steps=150, noise=0.0)
    assert drive.corrections == [] and drive.succeeded.all()


def test_the_person_corrects_the_base_policy_to_their_way_and_labels_only_what_they_drove():
    base = load_base_policy()
    instances = profile_instances(ALEX, 6, np.random.default_rng(3))
    drive = simulate_person(lambda obs: base.next_targets(obs), ALEX, instances, seed=4, steps=180)
    # The base serves on the right spot, alex wants it left: the person takes over in every episode, early
    # enough that the arm ends up doing it alex's way.
    assert drive.corrected_episodes() == list(range(6))
    assert drive.succeeded.all()
    first = drive.first_episodes(2)
    assert {c.episode for c in first} == {0, 1}
    for c in drive.corrections:
        expected = expert_step(c.q.astype(np.float64), plan([c.instance] * len(c.q), ALEX.style))
        assert np.allclose(c.goal, expected, atol=1e-6)  # every label is the person's step from that state
        assert c.takeover_tick >= 2  # a streak of disagreement comes first


def test_a_wish_that_depends_on_where_the_item_stands():
    """jo wants the bin on the item's side, whichever was asked: one style the base knows (bin_by_item)."""
    assert JO.style.bin_by_item and not JO.conditional
    instances, ro = demonstration_rollouts(JO, 12, seed=5)
    across = set()
    for i, inst in enumerate(instances):
        item_side = "left" if inst.obj[1] >= 0 else "right"
        assert tuple(effective_target(inst, JO.style)) == BINS[item_side]  # always the bin on the item's side
        across.add(BINS[item_side] != inst.target)
        n = int(ro.valid[i].sum())
        assert success(ro.q[i, :n], inst, JO.style)
    assert across == {True, False}  # both cases among the demonstrations: neither "this bin" nor "the other" does it


def test_a_wish_that_applies_only_where_a_condition_holds(monkeypatch):
    """The bench can still express a wish no style says (`applies`): then no single style reproduces it."""
    left_high = Personalization("left_high", "approach from higher when the item stands on the left",
                                {"hover_height": 0.16}, ("pick",), applies=lambda inst: inst.obj[1] > 0)
    monkeypatch.setitem(PERSONALIZATIONS, "left_high", left_high)
    profile = HouseholdProfile("t", ("left_high",), ("pick",))
    assert profile.conditional
    with pytest.raises(ValueError, match="depends on where"):
        _ = profile.style
    instances, ro = demonstration_rollouts(profile, 12, seed=5)
    heights = {profile.style_for(inst).hover_height for inst in instances}
    assert heights == {0.16, BASE_STYLE.hover_height}
    assert all(success(ro.q[i, :int(ro.valid[i].sum())], inst, profile.style_for(inst))
               for i, inst in enumerate(instances))


def test_updating_a_skill_that_was_never_trained_says_what_to_do_first():
    from prop_desktop.policy.base import DEFAULT_PROP_LAYERS
    from prop_desktop.policy.corrections import retrain_config, retrain_with_corrections
    from prop_desktop.prop import wrap

    keyed = wrap(load_base_policy(), DEFAULT_PROP_LAYERS)
    rows = np.zeros((4, 14), np.float32), np.zeros((4, 6), np.float32)
    with pytest.raises(ValueError, match="train on your recordings first"):
        retrain_with_corrections(keyed, bytes(16), *rows, [], retrain_config())
