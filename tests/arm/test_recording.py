"""Recording on the simulated arm: hand-guided picks up moves by hand, point-and-click follows smooth paths,
faults mid-episode keep what was recorded and say why, nothing touches the disk."""

from __future__ import annotations

import math
import os
import threading

import numpy as np
import pytest

from prop_desktop.arm import connect, minimum_jerk, record_click, record_hand
from prop_desktop.arm.recording import Recorder, segment_duration
from prop_desktop.paths import data_dir

META_KEYS = {"task", "profile_id", "mode", "rate_hz", "joint_names", "interrupted", "fault", "created"}


@pytest.fixture
def arm():
    arm = connect(sim=True)
    yield arm
    arm.close()


def _files_under(path) -> list[str]:
    return sorted(os.path.join(d, f) for d, _, files in os.walk(path) for f in files)


@pytest.mark.timeout(30)
def test_hand_guided_recording_picks_up_moves_by_hand(arm):
    arm.torque_on()  # recording by hand must release it
    before = _files_under(data_dir())
    arm.sim.play_hand_trajectory(lambda t: {"elbow_flex": 0.8 * math.sin(2 * math.pi * t), "gripper": 0.5 * t}, 1.2)
    samples = []
    ep = record_hand(arm, seconds=1.0, rate_hz=50, task="serve", profile_id="p-1", on_sample=samples.append)
    assert not arm.torque_enabled and not any(arm.sim.torque_enabled(j) for j in arm.joint_names)
    assert 25 <= len(ep) <= 50 and ep.t[0] < 0.01 and ep.t[-1] < 1.0  # loose: a busy machine misses ticks
    assert ep.q.shape == (len(ep), 6) and ep.q.dtype == np.float32 and ep.t.dtype == np.float64
    assert np.isnan(ep.goal).all()
    # The elbow went up and down by hand: the recording shows it, the other joints stayed put.
    assert ep.q[:, 2].max() > 0.6 and ep.q[:, 2].min() < -0.6
    assert np.ptp(ep.q[:, 0]) < 0.01
    # It follows the hand's sine. The hand started when play_hand_trajectory was called, the recording's clock a
    # little later (how much later is the machine's business): compare at the best start offset up to 0.3 s.
    offsets = np.linspace(0.0, 0.3, 61)
    misfit = [np.median(np.abs(ep.q[:, 2] - 0.8 * np.sin(2 * np.pi * (ep.t + d)))) for d in offsets]
    assert min(misfit) < 0.1, f"best offset {offsets[int(np.argmin(misfit))]:.3f} s, misfit {min(misfit):.3f}"
    arrays, meta = ep.to_storage()
    assert set(arrays) == {"t", "q", "goal"} and META_KEYS <= set(meta)
    assert meta["mode"] == "hand" and meta["task"] == "serve" and meta["profile_id"] == "p-1"
    assert meta["joint_names"] == list(arm.joint_names) and meta["interrupted"] is False and meta["fault"] is None
    assert len(samples) == len(ep) and samples[-1].progress == pytest.approx(1.0, abs=0.05)
    assert _files_under(data_dir()) == before  # plaintext demonstrations never touch disk


@pytest.mark.timeout(30)
def test_point_and_click_moves_smoothly_to_each_target_while_recording(arm):
    q0 = arm.read_joints()
    targets = [q0 + np.array([0.4, -0.3, 0.5, 0.2, 0.0, 0.3]), q0 + np.array([-0.3, 0.2, 0.1, -0.2, 0.5, -0.2])]
    ep = record_click(arm, targets, rate_hz=50, task="put_away", settle_s=0.4)
    assert ep.meta["mode"] == "click" and not ep.interrupted
    assert np.isfinite(ep.goal).all()
    np.testing.assert_allclose(ep.goal[-1], targets[-1], atol=1e-3)
    np.testing.assert_allclose(ep.q[-1], targets[-1], atol=0.05)
    # Passed through the first target on the way.
    assert np.min(np.abs(ep.goal - targets[0]).max(axis=1)) < 0.01
    # Smooth: goals change by small steps, starting and ending at rest.
    steps = np.abs(np.diff(ep.goal, axis=0)).max(axis=1)
    assert steps.max() < 0.1 and steps[0] < 0.005
    assert arm.torque_enabled  # holds the final pose


@pytest.mark.timeout(30)
def test_unplug_mid_recording_keeps_samples_and_explains(arm):
    sim = arm.sim

    def pull_the_cable(sample):
        if sample.index == 20:
            sim.unplug()

    arm.sim.play_hand_trajectory(lambda t: {"wrist_flex": 0.5 * t}, 3.0)
    ep = record_hand(arm, seconds=3.0, rate_hz=50, task="serve", on_sample=pull_the_cable)
    assert ep.interrupted and len(ep) == 21
    assert "went away" in ep.meta["fault"] and "unplugged" in ep.meta["fault"]
    assert np.all(np.diff(ep.t) > 0) and ep.q[20, 3] > ep.q[0, 3]  # what came before the fault is intact
    assert not arm.torque_enabled


@pytest.mark.timeout(30)
def test_a_servo_failing_mid_click_recording_releases_torque_and_keeps_samples(arm):
    arm.bus.retries = 1
    q0 = arm.read_joints()
    sim = arm.sim

    def fail(sample):
        if sample.index == 15:
            sim.set_silent("wrist_flex")

    ep = record_click(arm, [q0 + 0.5], rate_hz=50, task="serve", on_sample=fail)
    assert ep.interrupted and len(ep) == 16
    assert "servo 4 did not answer" in ep.meta["fault"]
    others = [j for j in arm.joint_names if j != "wrist_flex"]
    assert not any(sim.torque_enabled(j) for j in others)  # released where the bus still reaches


@pytest.mark.timeout(30)
def test_recording_can_be_cancelled_and_stopped(arm):
    cancel = threading.Event()
    ep = record_hand(arm, rate_hz=100, cancel=cancel, on_sample=lambda s: cancel.set() if s.index == 9 else None)
    assert len(ep) == 10 and not ep.interrupted and math.isnan(float("nan"))
    rec = Recorder(arm, "hand", rate_hz=50)
    rec.start()
    threading.Event().wait(0.2)
    rec.stop()
    ep = rec.join(timeout=2)
    assert ep is not None and 5 <= len(ep) <= 15 and not ep.interrupted


@pytest.mark.timeout(30)
def test_bad_targets_are_refused_with_a_clear_message(arm):
    with pytest.raises(ValueError, match="at least one target"):
        Recorder(arm, "click", targets=[])
    with pytest.raises(ValueError, match="6 finite joint angles"):
        Recorder(arm, "click", targets=[np.zeros(5)])
    with pytest.raises(ValueError, match="one of hand, click, leader"):
        Recorder(arm, "teleport")


def test_minimum_jerk_profile():
    q0, q1 = np.zeros(2), np.array([1.0, -2.0])
    np.testing.assert_allclose(minimum_jerk(q0, q1, 0.0), q0)
    np.testing.assert_allclose(minimum_jerk(q0, q1, 1.0), q1)
    np.testing.assert_allclose(minimum_jerk(q0, q1, 0.5), q1 / 2)
    taus = np.linspace(0, 1, 101)
    path = np.array([minimum_jerk(q0, q1, t)[0] for t in taus])
    speed = np.diff(path) / np.diff(taus)
    assert speed[0] < 0.01 and speed[-1] < 0.01 and speed.max() == pytest.approx(1.875, abs=0.01)
    assert segment_duration(q0, q1, max_speed=1.0) == pytest.approx(1.875 * 2.0)


@pytest.mark.timeout(30)
def test_a_failing_live_plot_callback_does_not_stop_the_recording(arm):
    def broken_plot(sample):
        raise RuntimeError("plot widget was closed")

    ep = record_hand(arm, seconds=0.3, rate_hz=50, on_sample=broken_plot)
    assert not ep.interrupted and len(ep) >= 10


@pytest.mark.timeout(30)
def test_koch_arm_records_both_modes():
    with connect(sim=True, model="koch") as koch:
        koch.sim.play_hand_trajectory(lambda t: {"shoulder_lift": 0.5 * t}, 1.0)
        hand = record_hand(koch, seconds=0.5, rate_hz=50, task="pick")
        assert not hand.interrupted and hand.q[-1, 1] - hand.q[0, 1] > 0.1
        q0 = koch.read_joints()
        click = record_click(koch, [q0 + 0.2], rate_hz=50, task="pick", settle_s=0.3)
        assert not click.interrupted
        np.testing.assert_allclose(click.q[-1], q0 + 0.2, atol=0.05)
