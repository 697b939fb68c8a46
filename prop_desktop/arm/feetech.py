"""Feetech STS protocol (SO-100 / SO-101 arms): packets, status parsing, and FeetechBus (its data).

Packet: FF FF | id | len | instr | params | chk, len = len(params) + 2, chk = ~(id + len + instr + params).
Status packets have the same layout with the error byte in place of the instruction.
"""

from __future__ import annotations

import math
from typing import ClassVar

from prop_desktop.arm.bus import ServoBus
from prop_desktop.arm.codec import PacketCodec, StatusPacket
from prop_desktop.arm.control_table import FEETECH_ERROR_BITS, FEETECH_STS, MODEL_NAMES, decode_bits
from prop_desktop.arm.packet_io import ByteSource, Garbled, NoAnswer

HEADER = b"\xff\xff"
BROADCAST_ID = 0xFE
PING, READ, WRITE, REG_WRITE, ACTION, RESET, SYNC_READ, SYNC_WRITE = 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x82, 0x83
MAX_LENGTH = 250  # the len byte of a status packet we accept; anything larger is garbage
MAX_SKIPPED = 64  # garbage bytes tolerated before a header

_RAD_PER_COUNT = 2.0 * math.pi / 4096


def checksum(body: bytes) -> int:
    """~(sum of id, len, instruction/error and params) & 0xFF."""
    return ~sum(body) & 0xFF


def build_packet(servo_id: int, instruction: int, params: bytes = b"") -> bytes:
    """An instruction packet (also used for status packets with the error byte as `instruction`)."""
    if not 0 <= servo_id <= 0xFE:
        raise ValueError(f"Feetech servo id must be 0..254, got {servo_id}")
    if len(params) > 253:
        raise ValueError("Feetech packet parameters are limited to 253 bytes")
    body = bytes((servo_id, len(params) + 2, instruction)) + bytes(params)
    return HEADER + body + bytes((checksum(body),))


def build_status(servo_id: int, error: int, params: bytes = b"") -> bytes:
    return build_packet(servo_id, error, params)


def read_packet(source: ByteSource, deadline: float, servo_ids: list[int]) -> StatusPacket:
    """Read one packet from the byte stream. NoAnswer if nothing came; Garbled for anything malformed.

    Works for status and instruction packets alike (the simulator parses instructions with it);
    StatusPacket.error then holds the instruction byte.
    """
    expected = servo_ids[0] if len(servo_ids) == 1 else None
    head = source.read_exact(2, deadline)
    if not head:
        raise NoAnswer(servo_ids)
    skipped = 0
    while head != HEADER:
        if len(head) < 2:
            raise Garbled("truncated packet (no complete header)", expected)
        nxt = source.read_exact(1, deadline)
        if not nxt:
            raise Garbled(f"no packet header in {skipped + 2} byte(s)", expected)
        head = head[1:] + nxt
        skipped += 1
        if skipped > MAX_SKIPPED:
            raise Garbled(f"no packet header in {skipped + 2} bytes", expected)
    rest = source.read_exact(2, deadline)
    extra = 0
    while len(rest) == 2 and rest[0] == 0xFF and extra < 4:  # tolerate FF FF FF … headers
        rest = rest[1:] + source.read_exact(1, deadline)
        extra += 1
    if len(rest) < 2:
        raise Garbled("truncated packet (no id/length)", expected)
    servo_id, length = rest[0], rest[1]
    who = servo_id if servo_id < BROADCAST_ID else expected
    if length < 2 or length > MAX_LENGTH:
        raise Garbled(f"impossible length byte {length}", who)
    body = source.read_exact(length, deadline)
    if len(body) < length:
        raise Garbled(f"truncated packet ({len(body) + 4} of {length + 4} bytes)", who)
    error, params, chk = body[0], body[1:-1], body[-1]
    if checksum(bytes((servo_id, length, error)) + params) != chk:
        raise Garbled("checksum mismatch", who)
    return StatusPacket(servo_id, error, bytes(params))


def decode_error_byte(error: int) -> list[str]:
    return decode_bits(error, FEETECH_ERROR_BITS)


def decode_status_error(error: int) -> tuple[list[str], bool]:
    """(words, is_alarm): every Feetech status bit is a hardware condition; the command was executed."""
    return decode_error_byte(error), True


FEETECH_CODEC = PacketCodec(
    name="Feetech",
    broadcast_id=BROADCAST_ID,
    status_overhead=6,  # FF FF id len err … chk
    span_bytes=1,
    ping_answer_bytes=0,
    build_packet=build_packet,
    read_status=read_packet,
    decode_status_error=decode_status_error,
)


class FeetechBus(ServoBus):
    """Feetech STS servos (STS3215) on one serial port: the shared bus with Feetech's data."""

    protocol: ClassVar[str] = "feetech"
    codec = FEETECH_CODEC
    registers = FEETECH_STS
    model_names = MODEL_NAMES
    hardware_error_bits = FEETECH_ERROR_BITS
    firmware_registers = ("firmware_major", "firmware_minor")
    eeprom_lock_register = "lock"
    si_units = {
        "present_voltage": (0.1, "V"),
        "present_temperature": (1.0, "°C"),
        "max_temperature": (1.0, "°C"),
        "present_velocity": (_RAD_PER_COUNT, "rad/s"),
        "goal_velocity": (_RAD_PER_COUNT, "rad/s"),
        "acceleration": (100 * _RAD_PER_COUNT, "rad/s²"),
        "present_current": (0.0065, "A"),
        "present_load": (0.001, "fraction of max torque"),
        "torque_limit": (0.001, "fraction of max torque"),
    }
