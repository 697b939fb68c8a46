"""The vendors' own SDKs (ROBOTIS DynamixelSDK, Feetech's SCServo SDK as LeRobot uses it) drive the simulated
arm: the strongest evidence that it answers exactly as real servos do."""

from __future__ import annotations

import time

import pytest

from prop_desktop.arm.sim import SimulatedArm

IDS = [1, 2, 3, 4, 5, 6]


def eventually(predicate, timeout: float = 2.0) -> bool:
    """A sync write is not answered: give the simulator a moment to apply it."""
    end = time.monotonic() + timeout
    while not predicate() and time.monotonic() < end:
        time.sleep(0.005)
    return predicate()


@pytest.mark.timeout(30)
def test_feetech_scservo_sdk(feetech_sim: SimulatedArm) -> None:
    scs = pytest.importorskip("scservo_sdk")
    port = scs.PortHandler(feetech_sim.port)
    assert port.openPort() and port.setBaudRate(1_000_000)
    try:
        handler = scs.PacketHandler(0)  # 0 = STS/SMS byte order (little-endian)
        assert handler.ping(port, 1) == (777, scs.COMM_SUCCESS, 0)
        feetech_sim.move_by_hand(2, 1500, unit="raw")
        assert handler.read2ByteTxRx(port, 2, 56) == (1500, scs.COMM_SUCCESS, 0)
        reader = scs.GroupSyncRead(port, handler, 56, 8)
        for servo_id in IDS:
            assert reader.addParam(servo_id)
        assert reader.txRxPacket() == scs.COMM_SUCCESS
        assert reader.getData(2, 56, 2) == 1500
        assert [reader.getData(i, 62, 1) for i in IDS] == [121] * 6  # 12.1 V
        assert [reader.getData(i, 63, 1) for i in IDS] == [30] * 6  # 30 °C

        writer = scs.GroupSyncWrite(port, handler, 42, 2)
        for servo_id in IDS:
            assert writer.addParam(servo_id, [0x34, 0x08])  # 2100
        assert writer.txPacket() == scs.COMM_SUCCESS
        assert feetech_sim.wait_applied()
        assert [feetech_sim.register(i, "goal_position") for i in IDS] == [2100] * 6
        assert handler.write1ByteTxRx(port, 2, 40, 1) == (scs.COMM_SUCCESS, 0)  # torque on: moves to 2100
        assert eventually(lambda: handler.read2ByteTxRx(port, 2, 56) == (2100, scs.COMM_SUCCESS, 0))

        feetech_sim.set_silent(4)
        assert handler.ping(port, 4)[1] != scs.COMM_SUCCESS
    finally:
        port.closePort()


@pytest.mark.timeout(30)
def test_dynamixel_sdk(dynamixel_sim: SimulatedArm) -> None:
    dx = pytest.importorskip("dynamixel_sdk")
    port = dx.PortHandler(dynamixel_sim.port)
    assert port.openPort() and port.setBaudRate(1_000_000)
    try:
        handler = dx.PacketHandler(2.0)
        assert handler.ping(port, 1) == (1060, dx.COMM_SUCCESS, 0)
        found, result = handler.broadcastPing(port)
        assert result == dx.COMM_SUCCESS
        assert {i: v[0] for i, v in found.items()} == {1: 1060, 2: 1060, 3: 1200, 4: 1200, 5: 1200, 6: 1200}
        dynamixel_sim.move_by_hand(3, 2500, unit="raw")
        assert handler.read4ByteTxRx(port, 3, 132) == (2500, dx.COMM_SUCCESS, 0)
        assert handler.write4ByteTxRx(port, 1, 116, 512) == (dx.COMM_SUCCESS, 0)
        assert dynamixel_sim.register(1, "goal_position") == 512

        reader = dx.GroupSyncRead(port, handler, 132, 4)
        for servo_id in IDS:
            assert reader.addParam(servo_id)
        assert reader.txRxPacket() == dx.COMM_SUCCESS
        assert reader.getData(3, 132, 4) == 2500

        writer = dx.GroupSyncWrite(port, handler, 116, 4)
        for servo_id in IDS:
            assert writer.addParam(servo_id, [0x34, 0x08, 0, 0])
        assert writer.txPacket() == dx.COMM_SUCCESS
        assert dynamixel_sim.wait_applied()
        assert [dynamixel_sim.register(i, "goal_position") for i in IDS] == [2100] * 6

        bulk = dx.GroupBulkRead(port, handler)
        assert bulk.addParam(1, 132, 4) and bulk.addParam(5, 0, 2)
        assert bulk.txRxPacket() == dx.COMM_SUCCESS
        assert bulk.getData(5, 0, 2) == 1200

        # EEPROM with torque on: the SDK sees the servo's access error (7).
        assert handler.write1ByteTxRx(port, 2, 64, 1) == (dx.COMM_SUCCESS, 0)
        assert handler.write4ByteTxRx(port, 2, 20, 5) == (dx.COMM_SUCCESS, 7)
        dynamixel_sim.overheat(6)
        assert handler.read1ByteTxRx(port, 6, 70) == (0x04, dx.COMM_SUCCESS, 0x80)  # overheating, alert bit
    finally:
        port.closePort()
