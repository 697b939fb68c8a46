"""Guided calibration on the simulated arm: homing offsets across the 0/4095 wrap, range sweep, direction,
storage per arm, reuse on the next connect."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pytest

from prop_desktop.arm import CalibrationError, SafetyStop, connect
from prop_desktop.arm.calibration_store import CalibrationStore

PHYSICAL_MIDDLE = {"shoulder_pan": 0.0, "shoulder_lift": 0.0, "elbow_flex": 0.0, "wrist_flex": 0.0,
                   "wrist_roll": 0.0, "gripper": 0.0}


def _sweep(cal, sim, seconds: float = 1.2, amplitude: float = 1.5) -> None:
    """A person moving every joint end to end while the wizard samples."""
    sim.play_hand_trajectory(
        lambda t: {j: amplitude * math.sin(2 * math.pi * t / seconds) for j in sim.joint_names}, seconds
    )
    end = time.monotonic() + seconds + 0.05
    while time.monotonic() < end:
        cal.sample()
        time.sleep(0.01)
    cal.sample()


@pytest.mark.timeout(60)
def test_guided_calibration_across_the_wrap_round_trips_and_is_reused(make_sim):
    sim = make_sim("feetech")
    arm = connect(sim.port, model="so101")
    with pytest.raises(SafetyStop, match="not calibrated yet"):
        arm.torque_on()  # a real (non-simulated) port: no torque before calibration
    assert not any(sim.torque_enabled(j) for j in sim.joint_names)
    # Servo horns mounted half a turn off: joints 1 and 5 read across 0/4095 around their middle pose.
    arm.write_eeprom("homing_offset", {1: -2040, 5: 2040})
    counts = arm.read_counts()
    assert counts[0] > 4000 and counts[4] < 100
    for joint, value in PHYSICAL_MIDDLE.items():
        sim.move_by_hand(joint, value)
    cal = arm.calibrate()
    assert cal.step == "middle" and "middle pose" in cal.instructions
    offsets = cal.record_middle()
    assert cal.step == "sweep"
    np.testing.assert_array_equal(arm.read_counts(), [2048] * 6)  # the middle pose now reads 2048 everywhere
    assert np.all(np.abs(offsets) <= 2047)
    _sweep(cal, sim)
    ranges = cal.ranges_rad()
    assert ranges["elbow_flex"] == pytest.approx((-1.5, 1.5), abs=0.08)  # sampled at ~100 Hz on a busy machine
    result = cal.finish()
    assert cal.step == "done" and arm.is_calibrated
    for joint in result.joints:  # the servos' own limits now guard the swept range too
        assert sim.register(joint.servo_id, "min_position_limit") == joint.min_count
        assert sim.register(joint.servo_id, "max_position_limit") == joint.max_count

    # Counts <-> radians on the real bus: physical angles come back as joint radians, both directions.
    for value in (-1.3, 0.0, 0.9):
        for joint in ("shoulder_pan", "elbow_flex", "wrist_roll"):
            sim.move_by_hand(joint, value)
        q = arm.read_joints()
        for k in (0, 2, 4):
            assert q[k] == pytest.approx(value, abs=2e-3)
    # The gripper's zero is the middle of its swept range (shared convention).
    lo, hi = result.joints[5].range_rad
    assert lo == pytest.approx(-hi, abs=2e-3)

    # Stored per arm, and reused on the next connect even after another program changed the offsets.
    path = CalibrationStore.default().path(arm.arm_id)
    assert path.exists() and json.loads(path.read_text())["model"] == "so101"
    arm.close()
    with make_bus_write(sim) as bus:
        bus.write_register(3, "lock", 0)
        bus.write_register(3, "homing_offset", 300)
    again = connect(sim.port, model="so101")
    try:
        assert again.is_calibrated and again.arm_id == arm.arm_id
        assert any("homing offsets of servo(s) 3" in w for w in again.warnings)
        sim.move_by_hand("elbow_flex", 0.5)
        assert again.read_joints()[2] == pytest.approx(0.5, abs=2e-3)
    finally:
        again.close()


def make_bus_write(sim):
    from prop_desktop.arm.protocols import make_bus

    return make_bus(sim.protocol, sim.port).open()


@pytest.mark.timeout(60)
def test_dynamixel_calibration_and_direction(make_sim, tmp_path):
    sim = make_sim("dynamixel")
    store = CalibrationStore(tmp_path / "koch-calibrations")  # e.g. an App's own data folder
    arm = connect(sim.port, model="koch", calibration_store=store)
    try:
        arm.write_eeprom("homing_offset", {2: 3000})  # reads far outside one turn until calibrated
        for joint, value in PHYSICAL_MIDDLE.items():
            sim.move_by_hand(joint, value)
        cal = arm.calibrate()
        cal.record_middle()
        np.testing.assert_array_equal(arm.read_counts(), [2048] * 6)
        _sweep(cal, sim)
        sim.move_by_hand("wrist_flex", -0.6)  # the user holds wrist_flex towards what should be positive
        assert cal.record_direction("wrist_flex") == -1
        cal.finish()
        assert store.load(arm.arm_id) == arm.calibration  # stored where it was told, and only there
        assert not CalibrationStore.default().path(arm.arm_id).exists()
        sim.move_by_hand("wrist_flex", -0.4)
        sim.move_by_hand("shoulder_lift", 0.7)
        q = arm.read_joints()
        assert q[3] == pytest.approx(0.4, abs=3e-3) and q[1] == pytest.approx(0.7, abs=3e-3)
        # Goals go the right way too: command +0.2 on wrist_flex, it moves physically to -0.2.
        arm.safety.ramp_s = 0
        q = arm.torque_on()
        goal = q.copy()
        goal[3] = 0.2
        for _ in range(100):
            arm.command(goal)
            time.sleep(0.01)
        time.sleep(0.3)
        assert sim.actual_radians("wrist_flex") == pytest.approx(-0.2, abs=0.02)
    finally:
        arm.close()


@pytest.mark.timeout(60)
def test_incomplete_sweep_names_the_joints_and_cancel_restores_offsets(make_sim):
    sim = make_sim("feetech")
    arm = connect(sim.port, model="so101")
    try:
        arm.write_eeprom("homing_offset", {4: 100})
        arm.write_eeprom("max_position_limit", {4: 3000})  # limits another tool left behind
        cal = arm.calibrate()
        with pytest.raises(CalibrationError, match="needs step sweep"):
            cal.sample()
        cal.record_middle()
        sim.play_hand_trajectory(lambda t: {"elbow_flex": 1.2 * math.sin(6 * t)}, 0.6)
        end = time.monotonic() + 0.7
        while time.monotonic() < end:
            cal.sample()
            time.sleep(0.01)
        with pytest.raises(CalibrationError, match="not moved through their range yet: shoulder_pan, shoulder_lift, "
                           "wrist_flex, wrist_roll, gripper"):
            cal.finish()
        cal.cancel()
        assert cal.step == "cancelled"
        assert sim.register("wrist_flex", "homing_offset") == 100
        assert sim.register("wrist_flex", "max_position_limit") == 3000
        assert not arm.is_calibrated
    finally:
        arm.close()


@pytest.mark.timeout(30)
def test_moving_during_the_middle_pose_is_refused(make_sim):
    sim = make_sim("feetech")
    arm = connect(sim.port, model="so101")
    try:
        cal = arm.calibrate()
        sim.play_hand_trajectory(lambda t: {"elbow_flex": 40.0 * t}, 1.0)
        time.sleep(0.02)
        with pytest.raises(CalibrationError, match="moved while recording the middle pose"):
            cal.record_middle()
    finally:
        sim.stop_hand_trajectory()
        arm.close()
