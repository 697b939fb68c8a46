"""Feetech STS protocol (SO-100 / SO-101 arms): packets, status parsing and the FeetechBus driver.

Packet: FF FF | id | len | instr | params | chk, len = len(params) + 2, chk = ~(id + len + instr + params).
Status packets have the same layout with the error byte in place of the instruction.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import ClassVar

from prop_desktop.arm.bus import Register, ServoBus, StatusPacket
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


class FeetechBus(ServoBus):
    """Feetech STS servos (STS3215) on one serial port."""

    protocol: ClassVar[str] = "feetech"
    registers = FEETECH_STS
    broadcast_id: ClassVar[int] = BROADCAST_ID
    model_names = MODEL_NAMES
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

    # ----------------------------------------------------------------- one attempt each
    def _request(
        self, servo_id: int, instruction: int, params: bytes, answer_params: int, what: str, new_id: int = -1
    ) -> bytes:
        self._send(build_packet(servo_id, instruction, params))
        status = read_packet(self._link, self._deadline(6 + answer_params), [servo_id])
        self.stats.bytes_received += 6 + len(status.params)
        if status.servo_id not in (servo_id, new_id):  # an id change is acknowledged under the new id
            raise Garbled(f"answer came from servo {status.servo_id}, expected servo {servo_id}", servo_id)
        if len(status.params) != answer_params:
            raise Garbled(f"answer has {len(status.params)} data byte(s), expected {answer_params}", servo_id)
        self._check_status(status, what)
        return status.params

    def _ping_once(self, servo_id: int) -> int:
        self._request(servo_id, PING, b"", 0, "answering a ping")
        reg = self.registers["model_number"]
        return reg.decode(self._request(servo_id, READ, bytes((reg.address, reg.size)), reg.size, "reading model"))

    def _read_once(self, servo_id: int, address: int, length: int) -> bytes:
        _check_span(address, length)
        return self._request(servo_id, READ, bytes((address, length)), length, f"reading address {address}")

    def _write_once(self, servo_id: int, address: int, data: bytes) -> None:
        _check_span(address, len(data))
        id_at = self.registers["id"].address - address
        new_id = data[id_at] if 0 <= id_at < len(data) else -1
        self._request(servo_id, WRITE, bytes((address,)) + data, 0, f"writing address {address}", new_id)

    def _sync_read_once(
        self, address: int, length: int, ids: list[int], result: dict[int, bytes]
    ) -> dict[int, bytes]:
        _check_span(address, length)
        self._send(build_packet(BROADCAST_ID, SYNC_READ, bytes((address, length)) + bytes(ids)))
        deadline = self._deadline(len(ids) * (6 + length))
        pending = list(ids)
        garbled: Garbled | None = None
        answers = 0  # good or garbled: once every servo had its turn, stop waiting
        while pending and answers < len(ids):
            answers += 1
            try:
                status = read_packet(self._link, deadline, pending)
            except NoAnswer:
                break
            except Garbled as exc:
                # Keep listening: the servos after a garbled answer still answer in turn.
                garbled = exc
                garbled.servo_id = exc.servo_id if exc.servo_id is not None else pending[0]
                continue
            self.stats.bytes_received += 6 + len(status.params)
            if status.servo_id not in pending:
                garbled = Garbled(f"unexpected answer from servo {status.servo_id} in a sync read", pending[0])
                continue
            if len(status.params) != length:
                garbled = Garbled(
                    f"answer has {len(status.params)} data byte(s), expected {length}", status.servo_id
                )
                continue
            self._check_status(status, f"sync-reading address {address}")
            result[status.servo_id] = status.params
            pending.remove(status.servo_id)
        if pending:
            if garbled is not None and garbled.servo_id in pending:
                raise garbled
            raise NoAnswer(pending)
        return result

    def _sync_write_packet(self, address: int, length: int, data: Mapping[int, bytes]) -> bytes:
        _check_span(address, length)
        params = bytearray((address, length))
        for servo_id, chunk in data.items():
            params.append(servo_id)
            params += chunk
        return build_packet(BROADCAST_ID, SYNC_WRITE, bytes(params))

    # ----------------------------------------------------------------- whole-bus helpers
    def broadcast_ping(self) -> dict[int, int]:
        """Broadcast PING, collect every answer within the timeout, then read each one's model number."""
        with self._lock:
            self._begin()
            try:
                self._link.drain()
                self._send(build_packet(BROADCAST_ID, PING))
                found: list[int] = []
                deadline = time.monotonic() + self.timeout_s + 0.01
                while time.monotonic() < deadline:
                    try:
                        status = read_packet(self._link, deadline, [BROADCAST_ID])
                    except (NoAnswer, Garbled):
                        break
                    if status.servo_id < BROADCAST_ID and status.servo_id not in found:
                        found.append(status.servo_id)
                self._link.drain()
                return {servo_id: self.read_register(servo_id, "model_number") for servo_id in sorted(found)}
            finally:
                self._end()

    def _write_eeprom(self, servo_id: int, reg: Register, value: int) -> None:
        self.write_register(servo_id, "lock", 0)  # unlocked: the EEPROM write persists over power-off
        try:
            self.write(servo_id, reg.address, reg.encode(value))
        finally:
            self.write_register(servo_id, "lock", 1)

    def firmware_version(self, servo_id: int) -> str:
        data = self.read(servo_id, 0, 2)
        return f"{data[0]}.{data[1]}"

    def decode_hardware_error(self, value: int) -> list[str]:
        return decode_error_byte(value)

    def _decode_status_error(self, status: StatusPacket) -> tuple[list[str], bool]:
        # Every Feetech status bit is a hardware condition; the command itself was executed.
        return decode_error_byte(status.error), True


def _check_span(address: int, length: int) -> None:
    if not (0 <= address <= 0xFF and 1 <= length <= 0xFF):
        raise ValueError(f"Feetech address/length out of range: address {address}, length {length}")
