"""Every fault the simulator can inject, seen through the drivers: clear errors, retries, decoded alarms."""

from __future__ import annotations

import time

import pytest

from prop_desktop.arm.bus import ServoBus
from prop_desktop.arm.errors import CorruptPacket, PortError, ServoError, ServoTimeout
from prop_desktop.arm.protocols import make_bus
from prop_desktop.arm.sim import SimulatedArm

IDS = [1, 2, 3, 4, 5, 6]
BOTH = pytest.mark.parametrize("sim_arm", ["feetech", "dynamixel"], indirect=True)


@BOTH
@pytest.mark.timeout(30)
def test_missing_servo_is_named_with_what_to_check(sim_arm: SimulatedArm, sim_bus: ServoBus) -> None:
    sim_arm.set_silent("elbow_flex")  # servo 3
    with pytest.raises(ServoTimeout) as caught:
        sim_bus.ping(3)
    message = str(caught.value)
    assert "servo 3 did not answer" in message
    for hint in ("power", "cable", "id", "baud"):
        assert hint in message
    assert caught.value.servo_id == 3
    assert sim_bus.stats.retries == sim_bus.retries and sim_bus.stats.timeouts == sim_bus.retries + 1


@BOTH
@pytest.mark.timeout(30)
def test_sync_read_names_only_the_silent_servos(sim_arm: SimulatedArm, sim_bus: ServoBus) -> None:
    sim_arm.set_silent(3)
    sim_arm.set_silent(5)
    with pytest.raises(ServoTimeout) as caught:
        sim_bus.sync_read_register("present_position", IDS)
    assert caught.value.servo_ids == [3, 5]
    assert "servos 3, 5 did not answer" in str(caught.value)
    sim_arm.clear_faults()
    assert set(sim_bus.sync_read_register("present_position", IDS)) == set(IDS)


@BOTH
@pytest.mark.timeout(30)
def test_a_corrupt_answer_is_retried_and_succeeds(sim_arm: SimulatedArm, sim_bus: ServoBus) -> None:
    expected = sim_bus.read_register(2, "present_position")
    sim_arm.corrupt_next(1)
    assert sim_bus.read_register(2, "present_position") == expected
    assert sim_bus.stats.retries == 1
    assert sim_bus.stats.corrupt_packets + sim_bus.stats.timeouts == 1
    assert sim_arm.stats.corrupted == 1


@BOTH
@pytest.mark.timeout(30)
def test_a_corrupt_answer_in_a_sync_read_retries_only_that_servo(sim_arm: SimulatedArm, sim_bus: ServoBus) -> None:
    before = sim_arm.stats.replies
    sim_arm.corrupt_next(1, servo="wrist_flex")
    positions = sim_bus.sync_read_register("present_position", IDS)
    assert set(positions) == set(IDS)
    assert sim_bus.stats.retries == 1
    assert sim_arm.stats.replies - before == 7  # six answers, then servo 4 once more (not 5 and 6)


@BOTH
@pytest.mark.timeout(30)
def test_persistent_corruption_gives_a_clear_error(sim_arm: SimulatedArm, sim_bus: ServoBus) -> None:
    sim_arm.set_corruption_rate(1.0, servo=4)
    with pytest.raises((CorruptPacket, ServoTimeout)) as caught:
        sim_bus.read_register(4, "present_position")
    assert "servo 4" in str(caught.value)
    assert "attempt" in str(caught.value)


@BOTH
@pytest.mark.timeout(60)
def test_random_corruption_is_absorbed_by_retries(sim_arm: SimulatedArm, sim_bus: ServoBus) -> None:
    sim_arm.set_corruption_rate(0.05)
    for _ in range(150):
        assert len(sim_bus.sync_read_register("present_position", IDS)) == 6
    assert sim_bus.stats.retries > 0
    assert sim_arm.stats.corrupted > 0


@BOTH
@pytest.mark.timeout(30)
def test_overheating_is_decoded_and_releases_torque(sim_arm: SimulatedArm, sim_bus: ServoBus) -> None:
    here = sim_bus.read_register(2, "present_position")
    sim_bus.write_register(2, "goal_position", here)
    sim_bus.write_register(2, "torque_enable", 1)
    seen: list[tuple[int, list[str]]] = []
    sim_bus.on_alarm = lambda servo_id, words: seen.append((servo_id, words))
    sim_arm.overheat("shoulder_lift")
    temperature = sim_bus.read_register(2, "present_temperature")
    assert temperature >= sim_bus.read_register(2, "max_temperature")
    assert 2 in sim_bus.alarms and seen and seen[0][0] == 2
    assert "overheating" in sim_bus.read_alarm_words(2)
    assert sim_bus.read_register(2, "torque_enable") == 0
    assert not sim_arm.torque_enabled(2)
    strict = make_bus(sim_arm.protocol, sim_arm.port, raise_on_alarm=True)
    sim_bus.close()
    with strict:
        with pytest.raises(ServoError) as caught:
            strict.read_register(2, "present_position")
    assert caught.value.servo_id == 2 and caught.value.alarm
    assert "servo 2" in str(caught.value)


@pytest.mark.timeout(30)
def test_feetech_overheat_bit_words(feetech_sim: SimulatedArm) -> None:
    feetech_sim.overheat(6, 80.0)
    with make_bus("feetech", feetech_sim.port, raise_on_alarm=True) as bus:
        with pytest.raises(ServoError, match="overheating") as caught:
            bus.ping(6)
    assert "cool" in str(caught.value)
    feetech_sim.cool(6)
    with make_bus("feetech", feetech_sim.port, raise_on_alarm=True) as bus:
        assert bus.ping(6) == 777  # the STS recovers by itself once cool


@pytest.mark.timeout(30)
def test_dynamixel_overheat_latches_until_reboot(dynamixel_sim: SimulatedArm) -> None:
    with make_bus("dynamixel", dynamixel_sim.port) as bus:
        dynamixel_sim.overheat(4)
        bus.read_register(4, "present_position")
        assert bus.alarms[4] == ["overheating"]  # decoded from hardware_error after the alert bit
        dynamixel_sim.cool(4)
        bus.write_register(4, "torque_enable", 1)
        assert bus.read_register(4, "torque_enable") == 0, "a servo in shutdown refuses torque"
        assert bus.read_alarm_words(4) == ["overheating"]
        bus.reboot(4)
        bus.clear_alarms()
        bus.write_register(4, "torque_enable", 1)
        assert bus.read_register(4, "torque_enable") == 1 and not bus.alarms


@BOTH
@pytest.mark.timeout(30)
def test_low_voltage_is_decoded(sim_arm: SimulatedArm, sim_bus: ServoBus) -> None:
    sim_arm.low_voltage()
    volts = sim_bus.to_si("present_voltage", sim_bus.read_register(1, "present_voltage"))
    assert volts * 10 < sim_bus.read_register(1, "min_voltage")
    assert 1 in sim_bus.alarms
    assert "input voltage" in sim_bus.read_alarm_words(1)
    assert sim_bus.alarms[1] == ["input voltage"]
    strict = make_bus(sim_arm.protocol, sim_arm.port, raise_on_alarm=True)
    sim_bus.close()
    with strict:
        with pytest.raises(ServoError, match="servo 1 reports alarm input voltage") as caught:
            strict.read_register(1, "present_position")
        assert "check the power supply voltage" in str(caught.value)
        assert strict.read_alarm_words(1) == ["input voltage"]


@BOTH
@pytest.mark.timeout(30)
def test_unplug_gives_a_port_error(sim_arm: SimulatedArm, sim_bus: ServoBus) -> None:
    assert len(sim_bus.sync_read_register("present_position", IDS)) == 6
    sim_arm.unplug()
    with pytest.raises(PortError, match="unplugged"):
        for _ in range(3):  # the first write may still land in the kernel buffer; a read must fail
            sim_bus.sync_read_register("present_position", IDS)
    assert not sim_bus.is_open
    with pytest.raises(PortError):
        sim_bus.ping(1)
    sim_bus.close()  # closing after the port vanished is harmless


@pytest.mark.timeout(30)
def test_unplug_during_sync_write_stream(feetech_sim: SimulatedArm) -> None:
    with make_bus("feetech", feetech_sim.port) as bus:
        feetech_sim.unplug()
        with pytest.raises(PortError):
            for _ in range(50):
                bus.sync_write_register("goal_position", {i: 2048 for i in IDS})
                time.sleep(0.001)


@pytest.mark.timeout(30)
def test_an_answer_that_arrived_in_time_is_read_even_when_the_reader_is_late() -> None:
    # The reading thread may be scheduled only after its deadline (a busy machine): bytes that are already on
    # the port are the answer, not a timeout.
    import os
    import pty
    import select

    from prop_desktop.arm.packet_io import SerialLink

    servo_end, port_end = pty.openpty()
    link = SerialLink(os.ttyname(port_end), 1_000_000)
    link.open()
    try:
        os.write(servo_end, b"\xff\xff\x01\x02\x00\xfc")
        assert link.read_exact(6, time.monotonic() + 5.0)[:2] == b"\xff\xff"  # the port is live
        os.write(servo_end, b"\xff\xff\x01\x02\x00\xfc")
        assert select.select([port_end], [], [], 5.0)[0]  # the bytes are in the port's buffer before the read
        assert link.read_exact(6, time.monotonic() - 1.0) == b"\xff\xff\x01\x02\x00\xfc"
        assert link.read_exact(6, time.monotonic() - 1.0) == b""  # nothing there: no wait, nothing made up
    finally:
        link.close()
        os.close(servo_end)
        os.close(port_end)
