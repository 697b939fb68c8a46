"""The simulated servos behave like the real ones: EEPROM lock, homing offset, limits, torque, physics, hands."""

from __future__ import annotations

import math
import time

import pytest

from prop_desktop.arm.bus import radians_to_counts
from prop_desktop.arm.errors import RegisterError, ServoError, ServoTimeout
from prop_desktop.arm.protocols import make_bus
from prop_desktop.arm.sim import SimulatedArm

from ..waiting import wait_until

IDS = [1, 2, 3, 4, 5, 6]



@pytest.mark.timeout(30)
def test_feetech_eeprom_persists_only_when_unlocked(feetech_sim: SimulatedArm) -> None:
    with make_bus("feetech", feetech_sim.port) as bus:
        assert bus.read_register(1, "lock") == 1
        bus.write_register(1, "homing_offset", 100)
        assert bus.read_register(1, "homing_offset") == 100  # takes effect at once…
        feetech_sim.power_cycle()
        assert bus.read_register(1, "homing_offset") == 0  # …but is lost at power-off while locked
        bus.write_register(1, "lock", 0)
        bus.write_register(1, "homing_offset", -300)
        bus.write_register(1, "lock", 1)
        feetech_sim.power_cycle()
        assert bus.read_register(1, "homing_offset") == -300


@pytest.mark.timeout(30)
def test_feetech_homing_offset_is_subtracted_and_wraps(feetech_sim: SimulatedArm) -> None:
    with make_bus("feetech", feetech_sim.port) as bus:
        actual = round(feetech_sim.actual_position(2))
        assert bus.read_register(2, "present_position") == actual
        bus.write_register(2, "homing_offset", 500)
        assert bus.read_register(2, "present_position") == actual - 500
        bus.write_register(2, "homing_offset", -2047)
        assert bus.read_register(2, "present_position") == (actual + 2047) % 4096  # the 0/4095 wrap


@pytest.mark.timeout(30)
def test_feetech_torque_128_makes_the_current_position_2048(feetech_sim: SimulatedArm) -> None:
    feetech_sim.move_by_hand("wrist_flex", 2400, unit="raw")
    with make_bus("feetech", feetech_sim.port) as bus:
        bus.write_register(4, "torque_enable", 128)
        assert bus.read_register(4, "present_position") == 2048
        assert bus.read_register(4, "homing_offset") == 2400 - 2048
        assert bus.read_register(4, "torque_enable") == 0
        feetech_sim.power_cycle()
        assert bus.read_register(4, "homing_offset") == 352  # stored in EEPROM


@pytest.mark.timeout(30)
def test_feetech_goal_is_clamped_to_position_limits(feetech_sim: SimulatedArm) -> None:
    with make_bus("feetech", feetech_sim.port) as bus:
        bus.write_register(1, "max_position_limit", 2100)
        bus.write_register(1, "goal_position", bus.read_register(1, "present_position"))
        bus.write_register(1, "torque_enable", 1)
        bus.write_register(1, "goal_position", 3000)
        assert wait_until(lambda: bus.read_register(1, "present_position") == 2100)


@pytest.mark.timeout(30)
def test_feetech_id_change(feetech_sim: SimulatedArm) -> None:
    with make_bus("feetech", feetech_sim.port, timeout_s=0.02, retries=0) as bus:
        bus.write_register(6, "id", 9)
        assert bus.ping(9) == 777
        with pytest.raises(ServoTimeout, match="servo 6"):
            bus.ping(6)
        feetech_sim.power_cycle()  # written while locked: the old id is back after power-off
        assert bus.ping(6) == 777


@pytest.mark.timeout(30)
def test_dynamixel_homing_offset_is_added(dynamixel_sim: SimulatedArm) -> None:
    with make_bus("dynamixel", dynamixel_sim.port) as bus:
        actual = round(dynamixel_sim.actual_position(3))
        bus.write_register(3, "homing_offset", -1000)
        assert bus.read_register(3, "present_position") == actual - 1000
        dynamixel_sim.power_cycle()
        assert bus.read_register(3, "homing_offset") == -1000  # written with torque off: persists


@pytest.mark.timeout(30)
def test_dynamixel_eeprom_needs_torque_off(dynamixel_sim: SimulatedArm) -> None:
    with make_bus("dynamixel", dynamixel_sim.port) as bus:
        bus.write_register(1, "torque_enable", 1)
        with pytest.raises(ServoError, match="servo 1 reports error access") as caught:
            bus.write_register(1, "homing_offset", 10)
        assert not caught.value.alarm and "disable torque" in str(caught.value)
        bus.write_register(1, "torque_enable", 0)
        bus.write_register(1, "homing_offset", 10)
        assert bus.read_register(1, "homing_offset") == 10


@pytest.mark.timeout(30)
def test_dynamixel_goal_beyond_limits_is_a_data_limit_error(dynamixel_sim: SimulatedArm) -> None:
    with make_bus("dynamixel", dynamixel_sim.port) as bus:
        bus.write_register(2, "max_position_limit", 3000)
        with pytest.raises(ServoError, match="data limit"):
            bus.write_register(2, "goal_position", 3500)
        # the bus is still in step after the error
        assert bus.sync_read_register("present_position", IDS).keys() == set(IDS)


@pytest.mark.timeout(30)
def test_torque_on_goes_to_the_stale_goal_the_violent_jump(feetech_sim: SimulatedArm) -> None:
    """The real servos jump to an old goal when torque comes on: the safety layer must set goal = present."""
    with make_bus("feetech", feetech_sim.port) as bus:
        bus.write_register(3, "goal_position", 2048)
        feetech_sim.move_by_hand(3, 0.6)
        bus.write_register(3, "torque_enable", 1)
        assert wait_until(lambda: bus.read_register(3, "present_position") == 2048)


@pytest.mark.parametrize("protocol", ["feetech", "dynamixel"])
@pytest.mark.timeout(30)
def test_hand_guiding_moves_torque_off_joints(make_sim, protocol: str) -> None:
    sim = make_sim(protocol)
    with make_bus(protocol, sim.port) as bus:
        assert sim.move_by_hand("elbow_flex", 0.5)
        assert abs(bus.read_register(3, "present_position") - radians_to_counts(0.5)) <= 1
        assert sim.move_by_hand("gripper", 9.0) and sim.actual_radians("gripper") < 1.31  # hard stop
        bus.write_register(2, "goal_position", bus.read_register(2, "present_position"))
        bus.write_register(2, "torque_enable", 1)
        before = bus.read_register(2, "present_position")
        assert not sim.move_by_hand("shoulder_lift", 1.0)  # torque on: the servo holds…
        assert abs(bus.read_register(2, "present_load")) > 300  # …and pushes back
        assert bus.read_register(2, "present_position") == before


@pytest.mark.timeout(30)
def test_scripted_hand_trajectory(feetech_sim: SimulatedArm) -> None:
    with make_bus("feetech", feetech_sim.port) as bus:
        feetech_sim.play_hand_trajectory(lambda t: {"shoulder_pan": 0.8 * math.sin(2 * math.pi * t / 0.6)}, 0.6)
        samples, speeds = [], []
        end = time.monotonic() + 0.6
        while time.monotonic() < end:
            state = bus.sync_read_registers(["present_position", "present_velocity"], [1])[1]
            samples.append(state["present_position"])
            speeds.append(state["present_velocity"])
            time.sleep(0.01)
        assert max(samples) - min(samples) > 700  # ±0.8 rad ≈ ±520 counts
        assert max(abs(v) for v in speeds) > 1000
        assert wait_until(lambda: not feetech_sim.hand_trajectory_active)


@pytest.mark.parametrize("protocol", ["feetech", "dynamixel"])
@pytest.mark.timeout(30)
def test_pushing_against_an_obstacle_raises_load_and_heat_then_overload(make_sim, protocol: str) -> None:
    sim = make_sim(protocol, overload_seconds=0.6)
    with make_bus(protocol, sim.port) as bus:
        here = bus.read_register(1, "present_position")
        bus.write_register(1, "goal_position", here)
        bus.write_register(1, "torque_enable", 1)
        free_load = abs(bus.read_register(1, "present_load"))
        sim.set_obstacle(1, sim.actual_radians(1) + 0.1)
        bus.write_register(1, "goal_position", here + 600)
        time.sleep(0.2)
        load = abs(bus.read_register(1, "present_load"))
        assert load > 900 > free_load
        stopped_at = bus.read_register(1, "present_position")
        assert abs(stopped_at - (here + radians_to_counts(0.1) - 2048)) <= 2
        t0 = sim.temperature(1)
        assert wait_until(lambda: not sim.torque_enabled(1), timeout=3.0), "overload protection releases torque"
        assert sim.temperature(1) > t0 > 30.0
        bus.read_register(1, "present_position")
        assert "overload" in bus.alarms[1]


@pytest.mark.timeout(30)
def test_temperature_rises_under_load_and_cools_without(feetech_sim: SimulatedArm) -> None:
    servo = feetech_sim.servo(2)
    servo.set("torque_enable", 1)
    servo.obstacle = servo.pos + 10
    servo.set("goal_position", servo.get("present_position") + 800)
    for _ in range(200):  # 20 s of simulated stall, stepped directly (no waiting in the test)
        servo.step(0.1, 0.0)
    hot = servo.temperature
    assert hot > 35.0 or not servo.torque_on
    servo.set("torque_enable", 0)
    for _ in range(100):
        servo.step(0.1, 0.0)
    assert servo.temperature < hot


@pytest.mark.timeout(30)
def test_load_rises_against_the_hard_stop(feetech_sim: SimulatedArm) -> None:
    with make_bus("feetech", feetech_sim.port) as bus:
        bus.write_register(6, "goal_position", bus.read_register(6, "present_position"))
        bus.write_register(6, "torque_enable", 1)
        bus.write_register(6, "goal_position", 4000)  # the gripper's stop is at +1.3 rad ≈ 2896
        assert wait_until(lambda: abs(bus.read_register(6, "present_load")) > 900)
        assert bus.read_register(6, "present_position") <= 2897


@pytest.mark.timeout(30)
def test_write_eeprom_persists_on_feetech(feetech_sim: SimulatedArm) -> None:
    with make_bus("feetech", feetech_sim.port) as bus:
        bus.write_eeprom(5, "homing_offset", -120)
        assert bus.read_register(5, "lock") == 1  # closed again
        feetech_sim.power_cycle()
        assert bus.read_register(5, "homing_offset") == -120
        bus.write_eeprom_many("max_position_limit", {1: 3000, 2: 3100})
        feetech_sim.power_cycle()
        assert bus.sync_read_register("max_position_limit", [1, 2]) == {1: 3000, 2: 3100}
        with pytest.raises(RegisterError, match="not an EEPROM register"):
            bus.write_eeprom(1, "goal_position", 2048)


@pytest.mark.timeout(30)
def test_write_eeprom_needs_torque_off_on_dynamixel(dynamixel_sim: SimulatedArm) -> None:
    with make_bus("dynamixel", dynamixel_sim.port) as bus:
        bus.write_register(4, "torque_enable", 1)
        with pytest.raises(RegisterError, match="servo 4: homing_offset is in EEPROM.*torque off"):
            bus.write_eeprom(4, "homing_offset", 30)
        bus.write_register(4, "torque_enable", 0)
        bus.write_eeprom(4, "homing_offset", 30)
        dynamixel_sim.power_cycle()
        assert bus.read_register(4, "homing_offset") == 30


@pytest.mark.parametrize("protocol", ["feetech", "dynamixel"])
@pytest.mark.timeout(30)
def test_load_fraction_is_per_model(make_sim, protocol: str) -> None:
    """Stalled against a hard stop, every servo model reports about its full torque as load fraction ~1."""
    sim = make_sim(protocol)
    with make_bus(protocol, sim.port) as bus:
        ids = [2, 5]  # an XL430 and an XL330 on the Koch arm
        here = bus.sync_read_register("present_position", ids)
        bus.sync_write_register("goal_position", here)
        bus.sync_write_register("torque_enable", {i: 1 for i in ids})
        bus.sync_write_register("goal_position", {i: 4095 for i in ids})  # beyond both hard stops
        assert wait_until(lambda: min(bus.load_fractions(ids).values()) > 0.9)
        fractions = bus.load_fractions(ids)
        assert all(0.9 < f <= 1.0 for f in fractions.values()), fractions
