"""Teleoperation on the simulated pair: the follower mirrors a hand-held leader through both calibrations, with
the follower's rails (ramp-in, range, speed clamp), and an unplugged arm stops cleanly and keeps the recording."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pytest

from prop_desktop.arm import ArmError, SafetyStop, connect
from prop_desktop.arm.arm import Arm
from prop_desktop.arm.recording import Recorder
from prop_desktop.arm.teleop import check_pair

from ..waiting import wait_until

PAIRS = [("so101", "so101_leader"), ("koch", "koch_leader")]



@pytest.fixture(params=PAIRS, ids=[p[0] for p in PAIRS])
def pair(request: pytest.FixtureRequest) -> Iterator[tuple[Arm, Arm]]:
    follower_model, leader_model = request.param
    follower = connect(sim=True, model=follower_model)
    leader = connect(sim=True, model=leader_model)
    yield follower, leader
    follower.close()
    leader.close()


@pytest.fixture
def so101_pair() -> Iterator[tuple[Arm, Arm]]:
    follower, leader = connect(sim=True, model="so101"), connect(sim=True, model="so101_leader")
    yield follower, leader
    follower.close()
    leader.close()


@pytest.mark.timeout(30)
def test_follower_mirrors_the_leader_through_both_calibrations(pair):
    follower, leader = pair
    assert leader.sim is not None
    # A slow hand (peak 0.9 rad/s, under the 2 rad/s clamp): the follower should track it closely.
    leader.sim.play_hand_trajectory(
        lambda t: {"elbow_flex": 0.6 * math.sin(1.5 * t), "shoulder_pan": 0.4 * math.sin(t)}, 10.0
    )
    rec = Recorder(follower, "leader", leader=leader, seconds=2.0, rate_hz=100, task="serve")
    ep = rec.run()
    assert not ep.interrupted, ep.meta["fault"]
    assert ep.meta["mode"] == "leader" and ep.meta["leader_model"] == leader.model.key
    assert len(ep) >= 100  # loose: 2 s at 100 Hz on a busy machine
    # goal = the leader's pose in joint radians (Koch leader: its reversed elbow servo is undone by the sign).
    elbow_actual = leader.sim.actual_radians("elbow_flex")
    assert leader.read_joints()[2] == pytest.approx(leader.model.joint("elbow_flex").sign * elbow_actual, abs=0.01)
    assert np.isfinite(ep.goal).all() and np.ptp(ep.goal[:, 2]) > 0.5
    # After the 1 s ramp-in the follower's measured joints follow the leader's goal within a few ticks' travel:
    # each is compared with the nearest of the last three goals sent, so a tick the OS delayed (the hand moves
    # on the wall clock meanwhile) is not read as the follower lagging.
    settled = np.flatnonzero(ep.t > 1.2)
    lag = np.array([np.abs(ep.q[i, :3] - ep.goal[i - 2 : i + 1, :3]).max(axis=1).min() for i in settled])
    assert np.median(lag) < 0.03 and lag.max() < 0.12
    assert follower.torque_enabled and not any(leader.sim.torque_enabled(j) for j in leader.joint_names[:5])


@pytest.mark.timeout(30)
def test_follower_ramps_in_from_its_own_pose_and_stays_in_range(so101_pair):
    follower, leader = so101_pair
    assert leader.sim is not None and follower.sim is not None
    leader.sim.move_by_hand("shoulder_pan", 1.0)  # the leader starts far from the follower's pose
    leader.sim.move_by_hand("wrist_roll", 2.9)  # and past the follower's range at its hard stop
    start = follower.read_joints()
    seen: list[tuple[float, np.ndarray]] = []
    rec = Recorder(follower, "leader", leader=leader, seconds=1.6, rate_hz=100,
                   on_sample=lambda s: seen.append((s.t, s.q.copy())))
    ep = rec.run()
    assert not ep.interrupted, ep.meta["fault"]
    early = [q for t, q in seen if t < 0.2]
    # Ramp: at 20 % of 2 rad/s growing over 1 s, the first 0.2 s cover ~0.1 rad, not the 1 rad jump.
    assert early and abs(early[-1][0] - start[0]) < 0.3
    assert follower.read_joints()[0] == pytest.approx(1.0, abs=0.03)
    # Range: the goal sent never leaves the follower's calibrated range (0.03 rad clear of the ends).
    assert follower.last_goal is not None and follower.last_goal[4] <= follower.upper[4] + 1e-9
    assert ep.q[:, 4].max() <= follower.upper[4] + 0.01


@pytest.mark.timeout(30)
@pytest.mark.parametrize("unplugged", ["leader", "follower"])
def test_unplugging_either_arm_stops_cleanly_and_keeps_the_recording(so101_pair, unplugged):
    follower, leader = so101_pair
    assert leader.sim is not None and follower.sim is not None
    rec = Recorder(follower, "leader", leader=leader, rate_hz=100)
    rec.start()
    assert wait_until(lambda: rec.samples >= 20)
    (leader if unplugged == "leader" else follower).sim.unplug()
    ep = rec.join(timeout=10)
    assert ep is not None and ep.interrupted and len(ep) >= 20
    fault = str(ep.meta["fault"])
    if unplugged == "leader":
        assert "leader arm stopped answering" in fault
        # The follower still answers: its torque was released (it goes limp rather than holding a stale goal).
        assert not follower.torque_enabled and not any(follower.sim.torque_enabled(j) for j in follower.joint_names)
    else:
        assert "unplugged" in fault or "port" in fault
    assert follower.fault is not None


@pytest.mark.timeout(30)
def test_koch_leader_gripper_is_a_spring_back_trigger():
    follower, leader = connect(sim=True, model="koch"), connect(sim=True, model="koch_leader")
    try:
        assert leader.sim is not None
        rec = Recorder(follower, "leader", leader=leader, rate_hz=100)
        rec.start()
        assert wait_until(lambda: rec.samples >= 5)
        g = leader.model.gripper_index
        assert leader.sim.torque_enabled("gripper") and leader.sim.register("gripper", "operating_mode") == 5
        assert not leader.sim.torque_enabled("elbow_flex")
        assert leader.sim.move_by_hand("gripper", 0.5)  # a finger squeezes the trigger: it gives way
        assert wait_until(lambda: follower.last_goal is not None and follower.last_goal[g] > 0.45)
        leader.sim.let_go("gripper")  # ... and it springs back to its middle pose
        assert wait_until(lambda: abs(leader.read_joints()[g]) < 0.02)
        assert wait_until(lambda: follower.last_goal is not None and abs(follower.last_goal[g]) < 0.05)
        rec.stop()
        ep = rec.join(timeout=10)
        assert ep is not None and not ep.interrupted and ep.goal[:, g].max() > 0.45
        assert not leader.sim.torque_enabled("gripper")  # the trigger is released at the end
    finally:
        follower.close()
        leader.close()


@pytest.mark.timeout(30)
def test_a_leader_is_never_commanded_and_a_wrong_pair_is_refused(so101_pair):
    follower, leader = so101_pair
    with pytest.raises(SafetyStop, match="moved by hand"):
        leader.torque_on()
    with pytest.raises(ArmError, match="not a leader arm"):
        check_pair(follower, follower)
    with pytest.raises(ArmError, match="is a leader arm"):
        check_pair(leader, leader)
    with pytest.raises(ValueError, match="needs a connected leader"):
        Recorder(follower, "leader")
