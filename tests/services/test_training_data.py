"""From episodes to the PRoP dataset: the base policy's observation/action format, expert-like labels."""

from __future__ import annotations

import numpy as np
import pytest

from prop_desktop.policy.expert import RATE_HZ, STEP_SCALE
from prop_desktop.services.errors import NotEnoughDataError
from prop_desktop.services.scenes import default_scene
from prop_desktop.services.training_data import build_demo_set, episode_rows


def _click_episode(duration: float = 2.0, rate: float = 50.0):
    t = np.arange(0.0, duration, 1.0 / rate)
    target = np.array([0.4, -0.3, 0.2, 0.1, 0.0, 0.5])
    s = np.clip(t / (duration * 0.7), 0, 1)[:, None]
    q = (s * target).astype(np.float32)  # the arm travels from home to the target, then holds
    arrays = {"t": t, "q": q, "goal": q.copy()}
    meta = {"task": "point", "mode": "click", "context": list(default_scene("point").context),
            "targets": [target.tolist()], "segment_ends": [duration * 0.7]}
    return arrays, meta, target


def test_rows_are_observation_plus_context_at_the_policy_rate():
    arrays, meta, target = _click_episode()
    states, actions = episode_rows(arrays, meta)
    assert states.shape[1] == 14 and actions.shape == (len(states), 6)
    assert len(states) == pytest.approx(2.0 * RATE_HZ - 1, abs=1)  # resampled from timestamps, not indices
    np.testing.assert_allclose(states[:, 6:], np.array(meta["context"])[None].repeat(len(states), 0), atol=1e-6)
    assert np.all(np.abs(actions) <= 1.0)
    # Expert-like: every step heads for the waypoint at full speed on the farthest joint, until it is reached.
    first = actions[0] * STEP_SCALE
    assert np.argmax(np.abs(first[:5])) == np.argmax(np.abs(target[:5]))
    assert abs(first[np.argmax(np.abs(target[:5]))]) == pytest.approx(STEP_SCALE[0], rel=1e-4)
    assert np.abs(actions[-1]).max() < 0.05  # at the waypoint: stay


def test_augmented_copies_point_back_at_the_same_waypoint():
    arrays, meta, target = _click_episode()
    states, actions = episode_rows(arrays, meta, augment=2)
    plain, _ = episode_rows(arrays, meta)
    assert len(states) == 3 * len(plain)
    moved = states[len(plain):, :6] - np.tile(plain[:, :6], (2, 1))
    assert 0.005 < np.abs(moved).mean() < 0.05


def test_hand_episode_uses_measured_motion():
    t = np.arange(0.0, 1.0, 0.02)
    q = np.zeros((len(t), 6), np.float32)
    q[:, 2] = 0.5 * t  # 0.5 rad/s on the elbow
    arrays = {"t": t, "q": q, "goal": np.full_like(q, np.nan)}
    meta = {"task": "pick", "mode": "hand"}
    states, actions = episode_rows(arrays, meta)
    np.testing.assert_allclose(actions[:, 2], 0.5 / RATE_HZ / STEP_SCALE[2], rtol=1e-3)
    np.testing.assert_allclose(states[0, 6:], default_scene("pick").context, atol=1e-6)  # no context: default


def test_no_usable_episode_says_what_to_do():
    arrays, meta, _ = _click_episode(duration=0.05)
    with pytest.raises(NotEnoughDataError, match="Record"):
        build_demo_set([("a", arrays, meta)])
    good = _click_episode()
    demo = build_demo_set([("a", arrays, meta), ("b", good[0], good[1])])
    assert demo.episode_ids == ["b"] and demo.skipped and demo.tasks == ["point"]
