"""Goal filter (clamp, velocity limit, ramp) and watchdog, with a fake clock (no bus needed)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prop_desktop.arm.safety import GoalFilter, SafetyConfig, SafetyStop, Watchdog


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def _filter(config: SafetyConfig, clock: FakeClock) -> GoalFilter:
    return GoalFilter(np.full(6, -1.0), np.full(6, 1.0), np.full(6, 2.0), config, clock)


def test_goal_starts_at_present_and_never_jumps():
    clock = FakeClock()
    f = _filter(SafetyConfig(ramp_s=0), clock)
    with pytest.raises(SafetyStop):
        f(np.zeros(6))  # used before reset (torque on)
    f.reset(np.full(6, 0.5))
    clock.t += 0.02
    goal = f(np.full(6, -1.0))
    np.testing.assert_allclose(goal, 0.5 - 2.0 * 0.02)  # one tick's worth at 2 rad/s


def test_clamps_to_the_calibrated_range():
    clock = FakeClock()
    f = _filter(SafetyConfig(ramp_s=0), clock)
    f.reset(np.zeros(6))
    for _ in range(200):
        clock.t += 0.02
        goal = f(np.full(6, 5.0))
    np.testing.assert_allclose(goal, 1.0)
    with pytest.raises(ValueError, match="NaN"):
        f(np.array([0, 0, np.nan, 0, 0, 0]))
    with pytest.raises(ValueError, match="6 joint values"):
        f(np.zeros(5))


def test_ramp_starts_slow_and_reaches_full_speed():
    clock = FakeClock()
    f = _filter(SafetyConfig(ramp_s=1.0, ramp_start=0.2), clock)
    f.reset(np.full(6, -1.0))
    clock.t += 0.02
    first = f(np.ones(6))[0] + 1.0
    clock.t += 1.5
    f(np.ones(6))
    clock.t += 0.02
    before = f.last[0]
    later = f(np.ones(6))[0] - before
    assert first == pytest.approx(2.0 * 0.02 * (0.2 + 0.8 * 0.02))
    assert later == pytest.approx(2.0 * 0.02)


def test_a_long_pause_does_not_allow_a_big_step():
    clock = FakeClock()
    f = _filter(SafetyConfig(ramp_s=0, max_dt=0.1), clock)
    f.reset(np.zeros(6))
    clock.t += 10.0
    np.testing.assert_allclose(f(np.ones(6)), 0.2)


def test_watchdog_temperature_and_sustained_load():
    names = ["a", "b", "c", "d", "e", "gripper"]
    wd = Watchdog(names, [1, 2, 3, 4, 5, 6], np.full(6, 65.0), SafetyConfig(max_load=0.9, load_hold_s=1.0))
    assert wd.check(np.full(6, 40.0), np.zeros(6), 0.0) is None
    hot = np.full(6, 40.0)
    hot[2] = 66
    msg = wd.check(hot, np.zeros(6), 0.0)
    assert "elbow" not in msg and "c (servo 3) is too hot: 66 °C" in msg and "cool" in msg
    loads = np.zeros(6)
    loads[5] = -0.95  # sign is direction; magnitude counts
    assert wd.check(np.full(6, 40.0), loads, 10.0) is None
    assert wd.check(np.full(6, 40.0), loads, 10.5) is None
    msg = wd.check(np.full(6, 40.0), loads, 11.1)
    assert msg is not None and "gripper (servo 6) was stalled" in msg
    # A brief peak that goes away resets the timer.
    wd.reset()
    assert wd.check(np.full(6, 40.0), loads, 20.0) is None
    assert wd.check(np.full(6, 40.0), np.zeros(6), 20.5) is None
    assert wd.check(np.full(6, 40.0), loads, 21.2) is None


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-1.0, 1.0), min_size=6, max_size=6),
    st.lists(st.tuples(st.floats(0.0, 0.3), st.lists(st.floats(-50, 50), min_size=6, max_size=6)), max_size=40),
)
def test_goal_filter_never_leaves_the_range_nor_exceeds_the_step(start, ticks):
    clock = FakeClock()
    cfg = SafetyConfig(ramp_s=0.5)
    f = _filter(cfg, clock)
    f.reset(np.array(start))
    prev = f.last.copy()
    for dt, target in ticks:
        clock.t += dt
        goal = f(np.array(target))
        assert np.all(goal >= -1.0 - 1e-12) and np.all(goal <= 1.0 + 1e-12)
        assert np.all(np.abs(goal - prev) <= 2.0 * min(dt, cfg.max_dt) + 1e-9)
        prev = goal
