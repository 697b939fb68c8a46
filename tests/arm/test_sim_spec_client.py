"""An independent client, written from the vendors' protocol documents (not with our drivers), talks to the
simulated arm over the pty with plain pyserial: the simulator answers byte for byte as the documents say.

Nothing from prop_desktop.arm's protocol modules is imported here; checksums and CRCs are computed below.
"""

from __future__ import annotations

import time

import pytest
import serial

from prop_desktop.arm.sim import SimulatedArm


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def feetech_checksum(body: bytes) -> int:
    return (~sum(body)) & 0xFF


def dxl_crc(data: bytes) -> int:
    """CRC-16, polynomial 0x8005, initial 0, MSB first (bit by bit, as the ROBOTIS e-manual describes)."""
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x8005) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


class SpecClient:
    def __init__(self, port: str) -> None:
        self.ser = serial.Serial(port, 1_000_000, timeout=0.1)

    def close(self) -> None:
        self.ser.close()

    def exchange(self, packet: bytes, answer_bytes: int) -> bytes:
        self.ser.reset_input_buffer()
        self.ser.write(packet)
        return self.ser.read(answer_bytes)

    def silence_after(self, packet: bytes, wait: float = 0.05) -> bytes:
        self.ser.reset_input_buffer()
        self.ser.write(packet)
        time.sleep(wait)
        return self.ser.read(self.ser.in_waiting or 1)


@pytest.fixture
def feetech_client(feetech_sim: SimulatedArm):
    client = SpecClient(feetech_sim.port)
    yield client
    client.close()


@pytest.fixture
def dynamixel_client(dynamixel_sim: SimulatedArm):
    client = SpecClient(dynamixel_sim.port)
    yield client
    client.close()


@pytest.mark.timeout(30)
def test_feetech_documented_exchanges_byte_for_byte(feetech_sim: SimulatedArm, feetech_client: SpecClient) -> None:
    assert feetech_client.exchange(h("FF FF 01 02 01 FB"), 6) == h("FF FF 01 02 00 FC")
    feetech_sim.move_by_hand(1, 1304, unit="raw")
    assert feetech_client.exchange(h("FF FF 01 04 02 38 02 BE"), 8) == h("FF FF 01 04 00 18 05 DD")
    # The documented sync read: servo 1 at 2048, 12.1 V, 30 °C; servo 2 at 2047, 11.9 V, 35 °C.
    feetech_sim.move_by_hand(1, 2048, unit="raw")
    feetech_sim.move_by_hand(2, 2047, unit="raw")
    feetech_sim.set_supply_voltage(11.9, joint=2)
    feetech_sim.overheat(2, 35.0)  # a warm servo, below its limit
    answer = feetech_client.exchange(h("FF FF FE 06 82 38 08 01 02 36"), 28)
    assert answer == h("FF FF 01 0A 00 00 08 00 00 00 00 79 1E 55 FF FF 02 0A 00 FF 07 00 00 00 00 77 23 53")


@pytest.mark.timeout(30)
def test_feetech_write_ack_and_effect(feetech_sim: SimulatedArm, feetech_client: SpecClient) -> None:
    assert feetech_client.exchange(h("FF FF 01 09 03 2A 00 08 00 00 E8 03 D5"), 6) == h("FF FF 01 02 00 FC")
    assert feetech_sim.register(1, "goal_position") == 2048
    assert feetech_sim.register(1, "goal_velocity") == 1000


@pytest.mark.timeout(30)
def test_feetech_broadcast_and_sync_write_rules(feetech_sim: SimulatedArm, feetech_client: SpecClient) -> None:
    # Broadcast PING: every servo answers, in id order.
    answer = feetech_client.exchange(h("FF FF FE 02 01") + bytes((feetech_checksum(h("FE 02 01")),)), 36)
    assert [answer[i * 6 + 2] for i in range(6)] == [1, 2, 3, 4, 5, 6]
    # A broadcast READ is not answered.
    body = h("FE 04 02 38 02")
    assert feetech_client.silence_after(h("FF FF") + body + bytes((feetech_checksum(body),))) == b""
    # SYNC WRITE goal 2100 to ids 3 and 4: executed, not answered.
    body = h("FE 0A 83 2A 02 03 34 08 04 34 08")
    assert feetech_client.silence_after(h("FF FF") + body + bytes((feetech_checksum(body),))) == b""
    assert feetech_sim.register(3, "goal_position") == 0x0834 == feetech_sim.register(4, "goal_position")
    # A packet with a wrong checksum is ignored.
    assert feetech_client.silence_after(h("FF FF 01 02 01 FA")) == b""
    # Sync read answers in the order of the list, not by id.
    body = h("FE 06 82 38 02 05 02")
    answer = feetech_client.exchange(h("FF FF") + body + bytes((feetech_checksum(body),)), 16)
    assert answer[2] == 5 and answer[10] == 2


@pytest.mark.timeout(30)
def test_feetech_return_delay_is_honoured(feetech_sim: SimulatedArm, feetech_client: SpecClient) -> None:
    def ping_time() -> float:
        best = 1.0
        for _ in range(5):
            start = time.perf_counter()
            assert feetech_client.exchange(h("FF FF 01 02 01 FB"), 6) == h("FF FF 01 02 00 FC")
            best = min(best, time.perf_counter() - start)
        return best

    body = h("01 04 03 07 FA")  # return delay 250 × 2 µs = 0.5 ms
    assert feetech_client.exchange(h("FF FF") + body + bytes((feetech_checksum(body),)), 6) == h("FF FF 01 02 00 FC")
    # The best of 20 round trips (a pty round trip alone takes ~0.1-0.3 ms) cannot beat the 0.5 ms delay.
    assert ping_time() >= 0.0005


@pytest.mark.timeout(30)
def test_dynamixel_documented_exchanges(dynamixel_sim: SimulatedArm, dynamixel_client: SpecClient) -> None:
    answer = dynamixel_client.exchange(h("FF FF FD 00 01 03 00 01 19 4E"), 14)
    assert answer[:8] == h("FF FF FD 00 01 07 00 55") and answer[8] == 0
    assert answer[9] | (answer[10] << 8) == 1060  # XL430-W250
    assert dxl_crc(answer[:-2]) == answer[-2] | (answer[-1] << 8)
    dynamixel_sim.move_by_hand(1, 1500, unit="raw")
    answer = dynamixel_client.exchange(h("FF FF FD 00 01 07 00 02 84 00 04 00 1D 15"), 15)
    assert answer[:9] == h("FF FF FD 00 01 08 00 55 00")
    assert int.from_bytes(answer[9:13], "little", signed=True) == 1500
    assert dxl_crc(answer[:-2]) == answer[-2] | (answer[-1] << 8)
    # The documented write of goal 512 is acknowledged with the e-manual's status packet.
    ack = dynamixel_client.exchange(h("FF FF FD 00 01 09 00 03 74 00 00 02 00 00 CA 89"), 11)
    assert ack == h("FF FF FD 00 01 04 00 55 00 A1 0C")
    assert dynamixel_sim.register(1, "goal_position") == 512
    # The documented sync read: two status packets, servo 1 then servo 2.
    answer = dynamixel_client.exchange(h("FF FF FD 00 FE 09 00 82 84 00 04 00 01 02 CE FA"), 30)
    assert answer[4] == 1 and answer[19] == 2
    for packet in (answer[:15], answer[15:]):
        assert dxl_crc(packet[:-2]) == packet[-2] | (packet[-1] << 8)


@pytest.mark.timeout(30)
def test_dynamixel_broadcast_ping_and_crc_error(dynamixel_sim: SimulatedArm, dynamixel_client: SpecClient) -> None:
    packet = h("FF FF FD 00 FE 03 00 01")
    crc = dxl_crc(packet)
    answer = dynamixel_client.exchange(packet + bytes((crc & 0xFF, crc >> 8)), 6 * 14)
    ids = [answer[i * 14 + 4] for i in range(6)]
    models = [answer[i * 14 + 9] | (answer[i * 14 + 10] << 8) for i in range(6)]
    assert ids == [1, 2, 3, 4, 5, 6] and models == [1060, 1060, 1200, 1200, 1200, 1200]
    # A damaged instruction is answered with error 3 (CRC).
    answer = dynamixel_client.exchange(h("FF FF FD 00 01 03 00 01 19 4F"), 11)
    assert answer[7:9] == h("55 03")


@pytest.mark.timeout(30)
def test_dynamixel_bulk_read_and_write(dynamixel_sim: SimulatedArm, dynamixel_client: SpecClient) -> None:
    def packet(servo_id: int, instruction: int, params: bytes) -> bytes:
        length = len(params) + 3
        body = h("FF FF FD 00") + bytes((servo_id, length & 0xFF, length >> 8, instruction)) + params
        crc = dxl_crc(body)
        return body + bytes((crc & 0xFF, crc >> 8))

    # BULK WRITE: goal position 1000 to servo 5 and LED on for servo 6; not answered.
    bulk_write = h("05 74 00 04 00") + (1000).to_bytes(4, "little") + h("06 41 00 01 00 01")
    assert dynamixel_client.silence_after(packet(0xFE, 0x93, bulk_write)) == b""
    assert dynamixel_sim.register(5, "goal_position") == 1000 and dynamixel_sim.register(6, "led") == 1
    # BULK READ: present position (4 bytes) of servo 5, then model number (2 bytes) of servo 3, in that order.
    answer = dynamixel_client.exchange(packet(0xFE, 0x92, h("05 84 00 04 00 03 00 00 02 00")), 15 + 13)
    assert answer[4] == 5 and answer[15 + 4] == 3
    assert answer[15 + 9] | (answer[15 + 10] << 8) == 1200
