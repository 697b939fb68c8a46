"""SO-101 kinematics: the middle pose, FK/IK round trips, joint limits, unreachable targets."""

from __future__ import annotations

import numpy as np
import pytest

from prop_desktop.policy.kinematics import (
    FRAME_NAMES,
    JOINT_LIMITS,
    UnreachableError,
    forward_kinematics,
    inverse_kinematics,
    solve_ik,
    tip_position,
    tool_pitch,
    within_limits,
)


def test_middle_pose_matches_the_public_model():
    frames = forward_kinematics(np.zeros(6))
    assert frames.shape == (len(FRAME_NAMES), 3)
    # All-zeros: upper arm nearly upright, forearm and gripper level and pointing forward (+x).
    np.testing.assert_allclose(frames[-1], [0.3525, 0.0, 0.2590], atol=1e-3)
    np.testing.assert_allclose(frames[2], [0.0304, 0.0, 0.1491], atol=1e-4)  # shoulder_lift axis
    assert frames[3, 2] > frames[2, 2] + 0.1  # elbow well above the shoulder


def test_fk_is_vectorized_and_pan_turns_clockwise_seen_from_above():
    q = np.zeros((3, 4, 6))
    q[..., 0] = 0.5
    tips = tip_position(q)
    assert tips.shape == (3, 4, 3)
    assert np.all(tips[..., 1] < 0)  # positive pan = to the arm's right, as in the public model
    np.testing.assert_allclose(np.hypot(tips[..., 0], tips[..., 1]), 0.3525, atol=1e-3)


def test_ik_round_trip_on_random_reachable_targets():
    rng = np.random.default_rng(1)
    q = rng.uniform(JOINT_LIMITS[:, 0] * 0.8, JOINT_LIMITS[:, 1] * 0.8, size=(2000, 6))
    targets, pitches = tip_position(q), tool_pitch(q)
    result = inverse_kinematics(targets, pitch=pitches)
    assert result.reachable.mean() > 0.6  # the rest are elbow-down poses; IK returns the elbow-up branch
    ok = result.reachable
    np.testing.assert_allclose(tip_position(result.q[ok]), targets[ok], atol=1e-9)
    np.testing.assert_allclose(tool_pitch(result.q[ok]), pitches[ok], atol=1e-9)
    assert within_limits(result.q).all()


def test_ik_without_pitch_prefers_pointing_down_on_the_table():
    q = solve_ik(np.array([0.2, 0.05, 0.03]))
    np.testing.assert_allclose(tip_position(q), [0.2, 0.05, 0.03], atol=1e-9)
    assert tool_pitch(q) == pytest.approx(-np.pi / 2, abs=0.05)
    assert within_limits(q)


def test_unreachable_targets_are_reported_clearly():
    result = inverse_kinematics(np.array([[0.2, 0.0, 0.05], [0.9, 0.0, 0.1]]))
    assert result.reachable.tolist() == [True, False]
    assert "too far" in result.reasons[1]
    assert within_limits(result.q).all()  # even the flagged row is clipped into the limits
    with pytest.raises(UnreachableError, match="too far"):
        solve_ik(np.array([0.9, 0.0, 0.1]))
    with pytest.raises(UnreachableError, match="wrist_flex"):
        solve_ik(np.array([0.1, 0.0, 0.15]), pitch=-np.pi / 2)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="NaN"):
        inverse_kinematics(np.array([np.nan, 0.0, 0.1]))
    with pytest.raises(ValueError, match=r"\(3,\)"):
        inverse_kinematics(np.zeros(4))
    with pytest.raises(ValueError, match="6 entries"):
        forward_kinematics(np.zeros(5))
