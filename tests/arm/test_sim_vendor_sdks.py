"""The vendors' own SDKs (ROBOTIS DynamixelSDK, Feetech's SCServo SDK as LeRobot uses it) drive the simulated
arm: the strongest evidence that it answers exactly as real servos do.

The simulator runs as `prop-desktop sim` in its own process, as a real arm would: the SDKs busy-wait for
answers with a 34 ms budget, and an in-process simulator would have to win the GIL from that loop.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

IDS = [1, 2, 3, 4, 5, 6]


def _start_sim(protocol: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "prop_desktop", "sim", "--protocol", protocol], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    port = line.strip().rsplit(" on ", 1)[-1]
    if not port.startswith("/dev/"):
        proc.kill()
        pytest.fail(f"the simulator did not start: {line!r}")
    return proc, port


@pytest.fixture
def sim_process(request: pytest.FixtureRequest) -> Iterator[str]:
    proc, port = _start_sim(request.param)
    yield port
    proc.terminate()
    proc.wait(timeout=10)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("sim_process", ["feetech"], indirect=True)
def test_feetech_scservo_sdk(sim_process: str) -> None:
    scs = pytest.importorskip("scservo_sdk")
    port = scs.PortHandler(sim_process)
    assert port.openPort() and port.setBaudRate(1_000_000)
    try:
        handler = scs.PacketHandler(0)  # 0 = STS/SMS byte order (little-endian)
        assert handler.ping(port, 1) == (777, scs.COMM_SUCCESS, 0)
        assert handler.ping(port, 7)[1] == scs.COMM_RX_TIMEOUT  # no servo 7 on an SO-101
        position, result, error = handler.read2ByteTxRx(port, 2, 56)
        assert result == scs.COMM_SUCCESS and error == 0 and abs(position - 2048) < 100  # resting near the middle

        reader = scs.GroupSyncRead(port, handler, 56, 8)
        for servo_id in IDS:
            assert reader.addParam(servo_id)
        assert reader.txRxPacket() == scs.COMM_SUCCESS
        assert reader.getData(2, 56, 2) == position
        assert [reader.getData(i, 62, 1) for i in IDS] == [121] * 6  # 12.1 V
        assert [reader.getData(i, 63, 1) for i in IDS] == [30] * 6  # 30 °C

        writer = scs.GroupSyncWrite(port, handler, 42, 2)
        for servo_id in IDS:
            assert writer.addParam(servo_id, [0x34, 0x08])  # 2100
        assert writer.txPacket() == scs.COMM_SUCCESS
        assert [handler.read2ByteTxRx(port, i, 42)[0] for i in IDS] == [2100] * 6
        assert handler.write1ByteTxRx(port, 2, 40, 1) == (scs.COMM_SUCCESS, 0)  # torque on: it moves to 2100
        deadline = time.monotonic() + 3.0
        while handler.read2ByteTxRx(port, 2, 56)[0] != 2100 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert handler.read2ByteTxRx(port, 2, 56) == (2100, scs.COMM_SUCCESS, 0)
    finally:
        port.closePort()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("sim_process", ["dynamixel"], indirect=True)
def test_dynamixel_sdk(sim_process: str) -> None:
    dx = pytest.importorskip("dynamixel_sdk")
    port = dx.PortHandler(sim_process)
    assert port.openPort() and port.setBaudRate(1_000_000)
    try:
        handler = dx.PacketHandler(2.0)
        assert handler.ping(port, 1) == (1060, dx.COMM_SUCCESS, 0)
        found, result = handler.broadcastPing(port)
        assert result == dx.COMM_SUCCESS
        assert {i: v[0] for i, v in found.items()} == {1: 1060, 2: 1060, 3: 1200, 4: 1200, 5: 1200, 6: 1200}
        position, result, error = handler.read4ByteTxRx(port, 3, 132)
        assert result == dx.COMM_SUCCESS and error == 0 and abs(position - 2048) < 100
        assert handler.write4ByteTxRx(port, 1, 116, 512) == (dx.COMM_SUCCESS, 0)
        assert handler.read4ByteTxRx(port, 1, 116) == (512, dx.COMM_SUCCESS, 0)

        reader = dx.GroupSyncRead(port, handler, 132, 4)
        for servo_id in IDS:
            assert reader.addParam(servo_id)
        assert reader.txRxPacket() == dx.COMM_SUCCESS
        assert reader.getData(3, 132, 4) == position

        writer = dx.GroupSyncWrite(port, handler, 116, 4)
        for servo_id in IDS:
            assert writer.addParam(servo_id, [0x34, 0x08, 0, 0])
        assert writer.txPacket() == dx.COMM_SUCCESS
        assert [handler.read4ByteTxRx(port, i, 116)[0] for i in IDS] == [2100] * 6

        bulk = dx.GroupBulkRead(port, handler)
        assert bulk.addParam(1, 132, 4) and bulk.addParam(5, 0, 2)
        assert bulk.txRxPacket() == dx.COMM_SUCCESS
        assert bulk.getData(5, 0, 2) == 1200

        # EEPROM with torque on: the SDK sees the servo's access error (7); with torque off it is accepted.
        assert handler.write1ByteTxRx(port, 2, 64, 1) == (dx.COMM_SUCCESS, 0)
        assert handler.write4ByteTxRx(port, 2, 20, 5) == (dx.COMM_SUCCESS, 7)
        assert handler.write1ByteTxRx(port, 2, 64, 0) == (dx.COMM_SUCCESS, 0)
        assert handler.write4ByteTxRx(port, 2, 20, 5) == (dx.COMM_SUCCESS, 0)
        assert handler.reboot(port, 4) == (dx.COMM_SUCCESS, 0)
    finally:
        port.closePort()
