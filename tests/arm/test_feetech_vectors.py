"""The checked Feetech STS test vectors of SERVO_PROTOCOLS.md, both ways (build and parse), plus encodings."""

from __future__ import annotations

import pytest

from prop_desktop.arm import feetech as ft
from prop_desktop.arm.control_table import FEETECH_STS
from prop_desktop.arm.errors import RegisterError
from prop_desktop.arm.packet_io import BytesSource, Garbled, NoAnswer


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def parse(data: bytes, ids: list[int]) -> ft.StatusPacket:
    return ft.read_packet(BytesSource(data), 0.0, ids)


def test_ping_vector() -> None:
    assert ft.build_packet(1, ft.PING) == h("FF FF 01 02 01 FB")
    assert ft.build_status(1, 0) == h("FF FF 01 02 00 FC")
    status = parse(h("FF FF 01 02 00 FC"), [1])
    assert (status.servo_id, status.error, status.params) == (1, 0, b"")


def test_read_present_position_vector() -> None:
    assert ft.build_packet(1, ft.READ, bytes((0x38, 2))) == h("FF FF 01 04 02 38 02 BE")
    status = parse(h("FF FF 01 04 00 18 05 DD"), [1])
    assert FEETECH_STS["present_position"].decode(status.params) == 1304
    assert ft.build_status(1, 0, (1304).to_bytes(2, "little")) == h("FF FF 01 04 00 18 05 DD")


def test_write_goal_vector() -> None:
    params = bytes((42,)) + FEETECH_STS["goal_position"].encode(2048) + (0).to_bytes(2, "little")
    params += FEETECH_STS["goal_velocity"].encode(1000)
    assert ft.build_packet(1, ft.WRITE, params) == h("FF FF 01 09 03 2A 00 08 00 00 E8 03 D5")
    parsed = parse(h("FF FF 01 09 03 2A 00 08 00 00 E8 03 D5"), [1])  # the parser reads instructions too
    assert parsed.error == ft.WRITE and parsed.params == params


def test_sync_read_vector_and_answers() -> None:
    assert ft.build_packet(0xFE, ft.SYNC_READ, h("38 08 01 02")) == h("FF FF FE 06 82 38 08 01 02 36")
    stream = BytesSource(h("FF FF 01 0A 00 00 08 00 00 00 00 79 1E 55 FF FF 02 0A 00 FF 07 00 00 00 00 77 23 53"))
    first = ft.read_packet(stream, 0.0, [1, 2])
    second = ft.read_packet(stream, 0.0, [2])
    assert first.servo_id == 1 and second.servo_id == 2
    block = first.params  # 8 bytes from 0x38: position, velocity, load, voltage, temperature
    assert FEETECH_STS["present_position"].decode(block[0:2]) == 2048
    assert block[6] == 121 and block[7] == 30  # 12.1 V, 30 °C
    assert FEETECH_STS["present_position"].decode(second.params[0:2]) == 2047


@pytest.mark.parametrize(
    ("name", "value", "raw"),
    [
        ("present_position", -5, 0x8005),
        ("goal_velocity", -1000, 0x8000 | 1000),
        ("present_load", -300, 0x400 | 300),
        ("homing_offset", -2047, 0x800 | 2047),
        ("homing_offset", 1500, 1500),
    ],
)
def test_sign_magnitude_fields(name: str, value: int, raw: int) -> None:
    reg = FEETECH_STS[name]
    assert reg.encode(value) == raw.to_bytes(2, "little")
    assert reg.decode(raw.to_bytes(2, "little")) == value


def test_values_that_do_not_fit_are_refused_clearly() -> None:
    with pytest.raises(RegisterError, match="homing_offset"):
        FEETECH_STS["homing_offset"].encode(2048)
    with pytest.raises(RegisterError, match="torque_enable"):
        FEETECH_STS["torque_enable"].encode(256)


def test_parser_errors_are_clear() -> None:
    with pytest.raises(NoAnswer):
        parse(b"", [3])
    with pytest.raises(Garbled, match="checksum"):
        parse(h("FF FF 01 04 00 18 05 DE"), [1])
    with pytest.raises(Garbled, match="truncated"):
        parse(h("FF FF 01 04 00 18"), [1])
    # Leading garbage and an extra FF before the header are skipped, as the SDK does.
    assert parse(h("00 13 FF FF FF 01 02 00 FC"), [1]).servo_id == 1
