"""The network's kinematic features name the expert's own tip and waypoints, for any style a key can select."""

from __future__ import annotations

import numpy as np
import torch

from prop_desktop.policy.expert import ABOVE_O, ABOVE_T_CLOSED, AT_O, AT_T_CLOSED, POINT, plan, start_poses
from prop_desktop.policy.kinematics import tip_position
from prop_desktop.policy.model import FEATURE_DIM, BasePolicy
from prop_desktop.policy.styles import STYLE_DIM, instance_styles, sample_styled
from prop_desktop.policy.torch_kinematics import N_WAYPOINT_FEATURES, tip_features

WAYPOINTS = [ABOVE_O, AT_O, ABOVE_T_CLOSED, AT_T_CLOSED, POINT]


def _styled_rows(n: int, seed: int) -> tuple[list, np.ndarray, torch.Tensor]:
    rng = np.random.default_rng(seed)
    instances, u = sample_styled(n, rng)
    q = start_poses(n, rng, spread=0.6)
    obs = np.concatenate([q, np.stack([i.context() for i in instances])], axis=1)
    return instances, u, torch.as_tensor(obs, dtype=torch.float32)


def test_waypoint_features_are_the_expert_plan_for_random_styles():
    instances, u, obs = _styled_rows(400, seed=5)
    features = BasePolicy().features(obs, torch.as_tensor(u))
    assert features.shape == (400, FEATURE_DIM)
    goals = features[:, -N_WAYPOINT_FEATURES:].reshape(400, 5, 4) + obs[:, None, :4]
    expected = plan(instances, instance_styles(instances, u)).joints[:, WAYPOINTS, :4]
    tasks = [i.task for i in instances]
    carry = np.array([t != "point" for t in tasks])
    # Every waypoint of the carrying tasks, and the pointing pose of every task, to float32 precision.
    np.testing.assert_allclose(goals[carry].numpy(), expected[carry], atol=2e-5)
    np.testing.assert_allclose(goals[~carry, 4].numpy(), expected[~carry, 4], atol=2e-5)


def test_rows_are_solved_alone_whatever_the_batch():
    """Rows are grouped by (context, style) to solve each waypoint once: grouping must never mix two rows."""
    _, u, obs = _styled_rows(60, seed=6)
    same_context = obs[:1].repeat(60, 1)  # one context, sixty styles: sixty different waypoint sets
    same_context[:, :6] = obs[:, :6]
    policy = BasePolicy()
    batch = policy.features(same_context, torch.as_tensor(u))
    alone = torch.cat([policy.features(same_context[i : i + 1], torch.as_tensor(u[i : i + 1])) for i in range(60)])
    torch.testing.assert_close(batch, alone)


def test_a_control_step_reuses_its_drives_waypoints_but_never_another_rows():
    """Batch 1 without grad (a control step) keeps the solved waypoints of the last few (context, style) rows."""
    _, u, obs = _styled_rows(20, seed=8)
    policy = BasePolicy()
    style = torch.as_tensor(u)
    expected = policy.features(obs, style)  # with grad: solved afresh
    with torch.no_grad():
        # Twice round 20 rows (more than the kept ones, so some are dropped and solved again), and a row whose
        # joints moved since (the waypoints stay: they depend on the context and style only).
        for i in [*range(20), *range(20), 3, 3]:
            torch.testing.assert_close(policy.features(obs[i : i + 1], style[i : i + 1]), expected[i : i + 1])
        moved = obs[3:4].clone()
        moved[0, :4] += 0.1
        kept = policy.features(moved, style[3:4])
    torch.testing.assert_close(kept, policy.features(moved, style[3:4]))


def test_tip_features_are_the_forward_kinematics():
    _, _, obs = _styled_rows(100, seed=7)
    tip = tip_features(obs)[:, :3].numpy()
    np.testing.assert_allclose(tip, tip_position(obs[:, :6].numpy().astype(np.float64)), atol=1e-5)


def test_a_style_number_moves_the_waypoints_with_a_gradient():
    """δ on the style numbers is fitted by gradient: raising pick's hover height must move the goal above the item."""
    instances, _, obs = _styled_rows(8, seed=8)
    pick = [i for i, inst in enumerate(instances) if inst.task == "pick"]
    u = torch.ones(len(pick), STYLE_DIM, requires_grad=True)
    features = BasePolicy().features(obs[pick], u)
    above_item_lift = features[:, -N_WAYPOINT_FEATURES + 1]  # shoulder_lift to the waypoint above the item
    above_item_lift.sum().backward()
    assert u.grad is not None
    assert torch.all(u.grad[:, 0] != 0)  # pick.hover_height
    assert torch.all(u.grad[:, 1:] == 0)  # grasp roll and gripper speed do not move a waypoint
