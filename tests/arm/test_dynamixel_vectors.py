"""The checked Dynamixel 2.0 test vectors of SERVO_PROTOCOLS.md, both ways, plus CRC, stuffing, encodings."""

from __future__ import annotations

import pytest

from prop_desktop.arm import dynamixel as dxl
from prop_desktop.arm.control_table import DYNAMIXEL_X
from prop_desktop.arm.packet_io import BytesSource, Garbled, NoAnswer


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def test_ping_vector() -> None:
    assert dxl.build_packet(1, dxl.PING) == h("FF FF FD 00 01 03 00 01 19 4E")
    assert dxl.build_status(1, 0, h("06 04 26")) == h("FF FF FD 00 01 07 00 55 00 06 04 26 65 5D")
    status = dxl.read_status(BytesSource(h("FF FF FD 00 01 07 00 55 00 06 04 26 65 5D")), 0.0, [1])
    assert status.servo_id == 1 and status.error == 0
    assert status.params[0] | (status.params[1] << 8) == 1030  # model 1030 (XM430), firmware 0x26 = 38


def test_read_write_sync_read_vectors() -> None:
    assert dxl.build_packet(1, dxl.READ, h("84 00 04 00")) == h("FF FF FD 00 01 07 00 02 84 00 04 00 1D 15")
    goal = DYNAMIXEL_X["goal_position"].encode(512)
    assert dxl.build_packet(1, dxl.WRITE, h("74 00") + goal) == h("FF FF FD 00 01 09 00 03 74 00 00 02 00 00 CA 89")
    assert dxl.build_packet(0xFE, dxl.SYNC_READ, h("84 00 04 00 01 02")) == h(
        "FF FF FD 00 FE 09 00 82 84 00 04 00 01 02 CE FA"
    )
    # And the other way: the instruction packets parse back to what was sent.
    servo_id, payload = dxl.read_raw_packet(BytesSource(h("FF FF FD 00 01 09 00 03 74 00 00 02 00 00 CA 89")), 0, [1])
    assert servo_id == 1 and payload == h("03 74 00 00 02 00 00")


def test_crc_known_value() -> None:
    # CRC-16/UMTS (poly 0x8005, init 0, no reflection): the standard check value of "123456789" is 0xFEE8.
    assert dxl.crc16(b"123456789") == 0xFEE8


def test_byte_stuffing_round_trip() -> None:
    params = h("FF FF FD 01 FF FF FD")
    packet = dxl.build_packet(3, dxl.WRITE, params)
    assert h("FF FF FD FD") in packet[7:]
    length = packet[5] | (packet[6] << 8)
    assert length == 1 + len(params) + 2 + 2  # instruction + params + 2 stuffed bytes + CRC
    servo_id, payload = dxl.read_raw_packet(BytesSource(packet), 0, [3])
    assert payload == bytes((dxl.WRITE,)) + params
    status = dxl.build_status(3, 0, params)
    assert dxl.read_status(BytesSource(status), 0, [3]).params == params


@pytest.mark.parametrize("value", [-1, -123456, 2**31 - 1, 0, 4095])
def test_twos_complement(value: int) -> None:
    reg = DYNAMIXEL_X["present_position"]
    assert reg.decode(reg.encode(value)) == value
    assert DYNAMIXEL_X["homing_offset"].encode(-1) == h("FF FF FF FF")


def test_error_byte_decoding() -> None:
    assert dxl.decode_error_byte(0x07) == (["access"], False)
    assert dxl.decode_error_byte(0x80) == (["hardware alert"], True)
    assert dxl.decode_error_byte(0x84) == (["data range", "hardware alert"], False)


def test_parser_errors_are_clear() -> None:
    with pytest.raises(NoAnswer):
        dxl.read_status(BytesSource(b""), 0, [2])
    with pytest.raises(Garbled, match="CRC"):
        dxl.read_status(BytesSource(h("FF FF FD 00 01 07 00 55 00 06 04 26 65 5E")), 0, [1])
    with pytest.raises(Garbled, match="truncated"):
        dxl.read_status(BytesSource(h("FF FF FD 00 01 07 00 55 00")), 0, [1])
    with pytest.raises(Garbled, match="not a status"):
        dxl.read_status(BytesSource(h("FF FF FD 00 01 03 00 01 19 4E")), 0, [1])
