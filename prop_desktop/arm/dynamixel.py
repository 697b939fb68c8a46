"""Dynamixel Protocol 2.0 (Koch arms): packets with CRC-16 and byte stuffing, and DynamixelBus (its data).

Packet: FF FF FD 00 | id | len_l len_h | instr | params | crc_l crc_h, len = len(stuffed params) + 3.
Status: instr 0x55, then the error byte, then params. CRC-16 (poly 0x8005, init 0, not reflected) over
everything from the header to the last (stuffed) parameter. Stuffing: FF FF FD in instr/params -> FF FF FD FD.
"""

from __future__ import annotations

import math
from typing import ClassVar

from prop_desktop.arm.bus import AlarmCallback, ServoBus
from prop_desktop.arm.codec import PacketCodec, StatusPacket
from prop_desktop.arm.control_table import (
    DYNAMIXEL_ERROR_NUMBERS,
    DYNAMIXEL_HARDWARE_ALERT,
    DYNAMIXEL_HARDWARE_ERROR_BITS,
    DYNAMIXEL_X,
    MODEL_NAMES,
)
from prop_desktop.arm.packet_io import ByteSource, Garbled, NoAnswer

HEADER = b"\xff\xff\xfd\x00"
BROADCAST_ID = 0xFE
PING, READ, WRITE, REG_WRITE, ACTION, FACTORY_RESET, REBOOT, CLEAR = 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x08, 0x10
SYNC_READ, SYNC_WRITE, FAST_SYNC_READ, BULK_READ, BULK_WRITE = 0x82, 0x83, 0x8A, 0x92, 0x93
STATUS = 0x55
XL330_MODELS = frozenset({1190, 1200})  # XL330-M077 (Koch leader), XL330-M288: they report current (mA)
MAX_LENGTH = 1024  # largest length field we accept in an answer
MAX_SKIPPED = 64

_RAD_PER_COUNT = 2.0 * math.pi / 4096


def _crc_table() -> list[int]:
    table = []
    for i in range(256):
        crc = i << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x8005) if crc & 0x8000 else (crc << 1)
        table.append(crc & 0xFFFF)
    return table


_CRC_TABLE = _crc_table()


def crc16(data: bytes) -> int:
    """CRC-16 as Dynamixel 2.0 uses it (polynomial 0x8005, initial value 0, no reflection)."""
    crc = 0
    for byte in data:
        crc = ((crc << 8) ^ _CRC_TABLE[((crc >> 8) ^ byte) & 0xFF]) & 0xFFFF
    return crc


def stuff(data: bytes) -> bytes:
    """Insert an extra FD after every FF FF FD."""
    return bytes(data).replace(b"\xff\xff\xfd", b"\xff\xff\xfd\xfd")


def unstuff(data: bytes) -> bytes:
    return bytes(data).replace(b"\xff\xff\xfd\xfd", b"\xff\xff\xfd")


def build_packet(servo_id: int, instruction: int, params: bytes = b"") -> bytes:
    """An instruction packet (status packets: build_status)."""
    if not 0 <= servo_id <= 0xFE:
        raise ValueError(f"Dynamixel servo id must be 0..254, got {servo_id}")
    payload = stuff(bytes((instruction,)) + bytes(params))
    length = len(payload) + 2
    body = HEADER + bytes((servo_id, length & 0xFF, length >> 8)) + payload
    crc = crc16(body)
    return body + bytes((crc & 0xFF, crc >> 8))


def build_status(servo_id: int, error: int, params: bytes = b"") -> bytes:
    return build_packet(servo_id, STATUS, bytes((error,)) + bytes(params))


def read_raw_packet(source: ByteSource, deadline: float, servo_ids: list[int]) -> tuple[int, bytes]:
    """Read one packet: (id, unstuffed instruction byte + params). NoAnswer if nothing came; Garbled else."""
    expected = servo_ids[0] if len(servo_ids) == 1 else None
    head = source.read_exact(4, deadline)
    if not head:
        raise NoAnswer(servo_ids)
    skipped = 0
    while head != HEADER:
        if len(head) < 4:
            raise Garbled("truncated packet (no complete header)", expected)
        nxt = source.read_exact(1, deadline)
        if not nxt:
            raise Garbled(f"no packet header in {skipped + 4} byte(s)", expected)
        head = head[1:] + nxt
        skipped += 1
        if skipped > MAX_SKIPPED:
            raise Garbled(f"no packet header in {skipped + 4} bytes", expected)
    meta = source.read_exact(3, deadline)
    if len(meta) < 3:
        raise Garbled("truncated packet (no id/length)", expected)
    servo_id = meta[0]
    length = meta[1] | (meta[2] << 8)
    who = servo_id if servo_id < BROADCAST_ID else expected
    if length < 3 or length > MAX_LENGTH:
        raise Garbled(f"impossible length field {length}", who)
    body = source.read_exact(length, deadline)
    if len(body) < length:
        raise Garbled(f"truncated packet ({len(body) + 7} of {length + 7} bytes)", who)
    crc = crc16(HEADER + meta + body[:-2])
    if crc != (body[-2] | (body[-1] << 8)):
        raise Garbled("CRC mismatch", who)
    return servo_id, unstuff(body[:-2])


def read_status(source: ByteSource, deadline: float, servo_ids: list[int]) -> StatusPacket:
    """Read one status packet (instruction 0x55 + error byte + params)."""
    servo_id, payload = read_raw_packet(source, deadline, servo_ids)
    if len(payload) < 2 or payload[0] != STATUS:
        raise Garbled(f"not a status packet (instruction 0x{payload[0]:02X})", servo_id)
    return StatusPacket(servo_id, payload[1], payload[2:])


def decode_error_byte(error: int) -> tuple[list[str], bool]:
    """(words, is_alarm): only the hardware-alert bit alone is an alarm; an error number is a rejection."""
    number = error & 0x7F
    words = []
    if number:
        words.append(DYNAMIXEL_ERROR_NUMBERS.get(number, f"error number {number}"))
    if error & DYNAMIXEL_HARDWARE_ALERT:
        words.append("hardware alert")
    return words, number == 0


DYNAMIXEL_CODEC = PacketCodec(
    name="Dynamixel",
    broadcast_id=BROADCAST_ID,
    status_overhead=11,  # FF FF FD 00 id len_l len_h 55 err … crc_l crc_h
    span_bytes=2,
    ping_answer_bytes=3,  # model (2) + firmware (1)
    build_packet=build_packet,
    read_status=read_status,
    decode_status_error=decode_error_byte,
)


class DynamixelBus(ServoBus):
    """Dynamixel X-series servos (XL430, XL330) speaking protocol 2.0: the shared bus with Dynamixel's data."""

    def __init__(
        self,
        port: str,
        baudrate: int | None = None,
        *,
        timeout_s: float = 0.05,
        retries: int = 3,
        raise_on_alarm: bool = False,
        on_alarm: AlarmCallback | None = None,
    ) -> None:
        super().__init__(
            port, baudrate, timeout_s=timeout_s, retries=retries, raise_on_alarm=raise_on_alarm, on_alarm=on_alarm
        )
        self._servo_info: dict[int, tuple[int, int]] = {}  # id -> (model, current limit) for load_fraction

    protocol: ClassVar[str] = "dynamixel"
    codec = DYNAMIXEL_CODEC
    registers = DYNAMIXEL_X
    model_names = MODEL_NAMES
    hardware_error_bits = DYNAMIXEL_HARDWARE_ERROR_BITS
    firmware_registers = ("firmware_version",)
    eeprom_needs_torque_off = True
    status_alarm_is_summary = True
    si_units = {
        "present_voltage": (0.1, "V"),
        "present_temperature": (1.0, "°C"),
        "max_temperature": (1.0, "°C"),
        "present_velocity": (0.229 * 2 * math.pi / 60, "rad/s"),
        "goal_velocity": (0.229 * 2 * math.pi / 60, "rad/s"),
        "profile_velocity": (0.229 * 2 * math.pi / 60, "rad/s"),
        "acceleration": (214.577 * 2 * math.pi / 3600, "rad/s²"),
        "present_current": (0.001, "A"),  # XL330 units; on XL430 the address holds load (0.1 %)
        "present_load": (0.001, "fraction of max torque"),
        "goal_current": (0.001, "A"),
    }

    def reboot(self, servo_id: int) -> None:
        """REBOOT one servo (clears a hardware error such as overheating; torque comes back off)."""
        self._check_id(servo_id)
        with self._lock:
            self._retrying("a reboot", [servo_id], lambda ids: self._request(ids[0], REBOOT, b"", 0, "rebooting"))

    def load_fraction(self, servo_id: int, raw: int) -> float:
        # XL330: address 126 is current in mA (fraction = current / current limit); XL430: load in 0.1 %.
        key = self._servo_info.get(servo_id)
        if key is None:
            model = self.read_register(servo_id, "model_number")
            limit = self.read_register(servo_id, "current_limit") if model in XL330_MODELS else 0
            key = self._servo_info[servo_id] = (model, limit)
        model, limit = key
        if model in XL330_MODELS and limit > 0:
            return raw / limit
        return raw / 1000.0
