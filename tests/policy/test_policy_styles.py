"""The style space: the ways the base policy knows, the style layer a key can move, the default = the general way."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest
import torch

from prop_desktop.policy.base import load_base_policy
from prop_desktop.policy.expert import BASE_STYLE, plan, rollout_expert, success
from prop_desktop.policy.model import BasePolicy
from prop_desktop.policy.personalize import PERSONALIZATIONS, HouseholdProfile, profile_instances
from prop_desktop.policy.styles import (
    STYLE_DIM,
    STYLE_DIMS,
    expert_style,
    instance_styles,
    sample_styled,
    style_u,
)
from prop_desktop.policy.tasks import TASK_NAMES, sample_instances
from prop_desktop.policy.train_base import rollout_policy


def test_default_style_numbers_are_the_general_way():
    for task in TASK_NAMES:
        assert expert_style(task, np.ones(STYLE_DIM)) == BASE_STYLE
        np.testing.assert_array_equal(style_u(task, BASE_STYLE), np.ones(STYLE_DIM))


OUTSIDE_THE_STYLE_SPACE = {"slow_arm"}  # the bench keeps one wish only the adapter's trunk delta can learn


@pytest.mark.parametrize("name", sorted(set(PERSONALIZATIONS) - OUTSIDE_THE_STYLE_SPACE))
def test_every_personalization_lies_in_the_trained_style_range(name):
    person = PERSONALIZATIONS[name]
    style = BASE_STYLE.with_changes(**person.changes)
    for task in person.tasks:
        u = style_u(task, style)
        expected = style.with_changes(**{f: getattr(BASE_STYLE, f) for f in _fields_outside(task)})
        _assert_same_style(expert_style(task, u), expected)
        inside = [d for d in STYLE_DIMS if d.task == task]
        block = u[[STYLE_DIMS.index(d) for d in inside]]
        # u in [0, 2] over the trained range; a key's δ reaches (-1, 3), so every trained way is selectable.
        assert np.all((block >= -1e-6) & (block <= 2 + 1e-6)), (task, block)


@pytest.mark.parametrize("name", sorted(OUTSIDE_THE_STYLE_SPACE))
def test_a_wish_outside_the_style_space_has_no_style_numbers(name):
    person = PERSONALIZATIONS[name]
    style = BASE_STYLE.with_changes(**person.changes)
    for task in person.tasks:
        np.testing.assert_array_equal(style_u(task, style), np.ones(STYLE_DIM))  # the base's way: u = 1
        assert expert_style(task, style_u(task, style)) != style


def _assert_same_style(got, expected) -> None:
    for f in fields(expected):
        np.testing.assert_allclose(getattr(got, f.name), getattr(expected, f.name), atol=1e-6, err_msg=f.name)


def _fields_outside(task: str) -> list[str]:
    per_task = {
        "pick": {"hover_height", "grasp_roll", "gripper_step"},
        "serve": {"hover_height", "grasp_roll", "gripper_step", "serve_shift"},
        "put_away": {"hover_height", "grasp_roll", "gripper_step", "swap_bins", "bin_by_item"},
        "point": {"point_height", "point_pitch", "point_reach"},
    }
    every = set().union(*per_task.values())
    return sorted(every - per_task[task])


def test_plan_with_one_style_per_instance_matches_separate_plans():
    rng = np.random.default_rng(5)
    instances, u = sample_styled(24, rng, default_share=0.0)
    styles = instance_styles(instances, u)
    together = plan(instances, styles)
    for i, (inst, style) in enumerate(zip(instances, styles, strict=True)):
        alone = plan([inst], style)
        np.testing.assert_allclose(together.joints[i], alone.joints[0], atol=1e-12)
        assert together.gripper_step[i] == style.gripper_step


def test_random_styles_are_reachable_and_the_expert_does_them():
    rng = np.random.default_rng(11)
    instances, u = sample_styled(80, rng, default_share=0.0)
    styles = instance_styles(instances, u)
    ro = rollout_expert(instances, styles, seed=2, steps=200)
    done = [success(ro.q[i], inst, styles[i]) for i, inst in enumerate(instances)]
    assert np.mean(done) >= 0.95


def test_style_layer_at_its_default_is_the_general_way():
    torch.manual_seed(0)
    model = BasePolicy(hidden=16).eval()
    obs = torch.from_numpy(np.stack([np.concatenate([np.zeros(6), i.context()]) for i in sample_instances(
        8, np.random.default_rng(0))]).astype(np.float32))
    with torch.no_grad():
        np.testing.assert_array_equal(model(obs).numpy(), model(obs, style=torch.ones(8, STYLE_DIM)).numpy())
        moved = model(obs, style=torch.full((8, STYLE_DIM), 0.5))
    assert not torch.equal(moved, model(obs))


@pytest.mark.slow
@pytest.mark.parametrize(("wish", "task"), [("serve_left", "serve"), ("near_bin", "put_away")])
def test_shipped_base_does_a_persons_way_when_its_style_numbers_are_set(wish, task):
    """What a key selects: the base with a profile's style numbers does that profile's way closed-loop, also
    where the way depends on where the item stands (near_bin: the bin on the item's side, whichever was asked)."""
    policy = load_base_policy()
    profile = HouseholdProfile("t", (wish,), (task,))
    instances = profile_instances(profile, 12, np.random.default_rng(3))
    u = torch.from_numpy(np.stack([style_u(i.task, profile.style) for i in instances]))

    class Selected(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.policy = policy

        def forward(self, obs: torch.Tensor) -> torch.Tensor:
            return self.policy(obs, style=u)

    qs, _, _ = rollout_policy(Selected(), instances, seed=4, steps=180)
    assert np.mean([success(qs[i], inst, profile.style) for i, inst in enumerate(instances)]) >= 0.9
    qs, _, _ = rollout_policy(policy, instances, seed=4, steps=180)
    assert np.mean([success(qs[i], inst, BASE_STYLE) for i, inst in enumerate(instances)]) >= 0.9


@pytest.mark.slow
def test_a_key_selects_the_persons_way_from_ten_demonstrations():
    """The engine selects first, as the app asks it to: the person's key lands on their style numbers; others stay 1."""
    from prop_desktop.policy.base import DEFAULT_PROP_LAYERS, SELECTION_LAYERS
    from prop_desktop.policy.personalize import demonstration_rollouts
    from prop_desktop.policy.train_base import normalized_step
    from prop_desktop.prop import TrainConfig, flip_bits, key_to_signs, train_adapter, wrap

    profile = HouseholdProfile("t", ("serve_left",), ("serve",))
    _, ro = demonstration_rollouts(profile, 10, seed=0)
    q, ctx, act = ro.flat()
    keyed = wrap(load_base_policy(), DEFAULT_PROP_LAYERS)
    key = bytes(range(16))
    config = TrainConfig(
        fine_tune_trunk=True, personal_prefit_rounds=2, personal_steps=45, max_steps=25, min_steps=25, seed=0,
        select_layers=SELECTION_LAYERS,
    )
    train_adapter(keyed, np.concatenate([q, ctx], axis=1), normalized_step(q, act), key, config=config)
    wanted = style_u("serve", profile.style)
    got = keyed.deltas(key)["style"].numpy()
    # The person's u = (0.2, 1.8): the cup goes 8 cm back and 16 cm left. The key's δ on the style layer is
    # those numbers (a 2-D grid finds the pair; one number at a time cannot, the loss is a needle in them).
    serve = [i for i, d in enumerate(STYLE_DIMS) if d.task == "serve"]
    np.testing.assert_allclose(got[serve], wanted[serve], atol=0.05)
    others = flip_bits(key_to_signs(key, keyed.key_bits), torch.tensor([1, 2, 16, 64]), torch.Generator())
    for signs in others:
        assert torch.equal(keyed.deltas(signs)["style"], torch.ones(STYLE_DIM))
