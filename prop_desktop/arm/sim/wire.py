"""The simulated servos' side of the wire: parse instruction packets from the byte stream and answer them
exactly as real servos do: broadcast answers only PING and the multi-servo reads (sync read, Dynamixel bulk
read, answered in list order); no answer to a sync/bulk write; bad checksums ignored on Feetech and answered
with a CRC error on Dynamixel; return delay and status return level honoured.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from prop_desktop.arm import dynamixel as dxl
from prop_desktop.arm import feetech as ft
from prop_desktop.arm.sim.servo import DynamixelServo, FeetechServo, SimServo

STALE_S = 0.01  # an unfinished packet older than this is dropped, as servos do after an inter-byte gap
FEETECH_BAUDS = {0: 1_000_000, 1: 500_000, 2: 250_000, 3: 128_000, 4: 115_200, 5: 76_800, 6: 57_600, 7: 38_400}
DYNAMIXEL_BAUDS = {0: 9_600, 1: 57_600, 2: 115_200, 3: 1_000_000, 4: 2_000_000, 5: 3_000_000, 6: 4_000_000,
                   7: 4_500_000}


@dataclass
class Reply:
    """One status packet a servo sends, after its return delay."""

    servo_id: int
    data: bytes
    delay_s: float = 0.0


@dataclass
class WireStats:
    packets: int = 0
    bad_checksum: int = 0
    dropped_bytes: int = 0
    replies: int = 0


class Responder:
    """Base: byte buffering with an inter-byte timeout; servo lookup by current id and line baud."""

    baud_table: dict[int, int]

    def __init__(self, servos: Callable[[], dict[int, SimServo]], line_baud: Callable[[], int | None]) -> None:
        self._servos = servos
        self._line_baud = line_baud
        self.buf = bytearray()
        self.last_rx = 0.0
        self.stats = WireStats()

    def feed(self, data: bytes, now: float) -> list[Reply]:
        if self.buf and now - self.last_rx > STALE_S:
            self.stats.dropped_bytes += len(self.buf)
            self.buf.clear()
        self.buf += data
        self.last_rx = now
        replies: list[Reply] = []
        while True:
            packet = self._next_packet()
            if packet is None:
                break
            self.stats.packets += 1
            replies.extend(self._handle(*packet))
        self.stats.replies += len(replies)
        return replies

    def _listening(self) -> dict[int, SimServo]:
        """Servos that can hear the line: present, not silenced, and set to the port's baud rate."""
        baud = self._line_baud()
        out = {}
        for servo_id, servo in self._servos().items():
            if servo.silent:
                continue
            if baud is not None and self.baud_table.get(servo.get("baud_rate")) not in (baud, None):
                continue
            out[servo_id] = servo
        return out

    def _next_packet(self) -> tuple[object, ...] | None:
        raise NotImplementedError

    def _handle(self, *packet: object) -> list[Reply]:
        raise NotImplementedError


def _delay(servo: SimServo) -> float:
    return servo.get("return_delay") * 2e-6  # 2 µs per unit on both vendors


class FeetechResponder(Responder):
    baud_table = FEETECH_BAUDS

    def __init__(self, servos: Callable[[], dict[int, SimServo]], line_baud: Callable[[], int | None]) -> None:
        super().__init__(servos, line_baud)
        self._registered: dict[int, tuple[int, bytes]] = {}

    def _next_packet(self) -> tuple[int, int, bytes] | None:
        buf = self.buf
        while True:
            start = buf.find(b"\xff\xff")
            if start < 0:
                keep = 1 if buf[-1:] == b"\xff" else 0
                self.stats.dropped_bytes += len(buf) - keep
                del buf[: len(buf) - keep]
                return None
            if start:
                self.stats.dropped_bytes += start
                del buf[:start]
            while len(buf) >= 3 and buf[2] == 0xFF:  # FF FF FF …: slide to the last FF FF
                del buf[0]
            if len(buf) < 4:
                return None
            servo_id, length = buf[2], buf[3]
            if length < 2:
                del buf[:2]
                continue
            if len(buf) < 4 + length:
                return None
            packet = bytes(buf[: 4 + length])
            del buf[: 4 + length]
            if ft.checksum(packet[2:-1]) != packet[-1]:
                self.stats.bad_checksum += 1  # a servo ignores a packet with a bad checksum
                continue
            return servo_id, packet[4], packet[5:-1]

    def _status(self, servo: FeetechServo, params: bytes = b"") -> Reply:
        return Reply(servo.servo_id, ft.build_status(servo.servo_id, servo.status_error(), params), _delay(servo))

    def _handle(self, servo_id: int, instruction: int, params: bytes) -> list[Reply]:  # type: ignore[override]
        servos = self._listening()
        if servo_id == ft.BROADCAST_ID:
            if instruction == ft.PING:
                return [self._status(s) for _, s in sorted(servos.items())]  # type: ignore[arg-type]
            if instruction == ft.SYNC_READ and len(params) >= 2:
                address, length = params[0], params[1]
                replies = []
                for target in params[2:]:
                    servo = servos.get(target)
                    data = servo.read(address, length) if servo is not None else None
                    if servo is not None and data is not None:
                        replies.append(self._status(servo, data))  # type: ignore[arg-type]
                return replies
            if instruction == ft.SYNC_WRITE and len(params) >= 2:
                address, length = params[0], params[1]
                chunk = length + 1
                body = params[2:]
                for i in range(0, len(body) - chunk + 1, chunk):
                    servo = servos.get(body[i])
                    if servo is not None:
                        servo.write(address, body[i + 1 : i + chunk])
                return []
            if instruction == ft.WRITE and len(params) >= 2:
                for servo in servos.values():
                    servo.write(params[0], params[1:])
            elif instruction == ft.ACTION:
                self._action(servos)
            return []  # a broadcast is answered only for PING
        servo = servos.get(servo_id)
        if servo is None:
            return []
        answer_all = servo.get("response_status_level") != 0
        if instruction == ft.PING:
            return [self._status(servo)]  # type: ignore[arg-type]
        if instruction == ft.READ and len(params) == 2:
            data = servo.read(params[0], params[1])
            return [] if data is None else [self._status(servo, data)]  # type: ignore[arg-type]
        if instruction == ft.WRITE and len(params) >= 2:
            servo.write(params[0], params[1:])
            return [self._status(servo)] if answer_all else []  # type: ignore[arg-type]
        if instruction == ft.REG_WRITE and len(params) >= 2:
            self._registered[servo_id] = (params[0], params[1:])
            return [self._status(servo)] if answer_all else []  # type: ignore[arg-type]
        if instruction == ft.ACTION:
            self._action({servo_id: servo})
            return [self._status(servo)] if answer_all else []  # type: ignore[arg-type]
        return []  # unknown instruction or malformed parameters: the servo stays silent

    def _action(self, servos: dict[int, SimServo]) -> None:
        for servo_id, servo in servos.items():
            pending = self._registered.pop(servo_id, None)
            if pending is not None:
                servo.write(*pending)


class DynamixelResponder(Responder):
    baud_table = DYNAMIXEL_BAUDS

    def __init__(self, servos: Callable[[], dict[int, SimServo]], line_baud: Callable[[], int | None]) -> None:
        super().__init__(servos, line_baud)
        self._registered: dict[int, tuple[int, bytes]] = {}

    def _next_packet(self) -> tuple[int, int, bytes, bool] | None:
        buf = self.buf
        while True:
            start = buf.find(dxl.HEADER)
            if start < 0:
                keep = min(3, len(buf))  # a header may be split across reads
                self.stats.dropped_bytes += len(buf) - keep
                del buf[: len(buf) - keep]
                return None
            if start:
                self.stats.dropped_bytes += start
                del buf[:start]
            if len(buf) < 7:
                return None
            servo_id = buf[4]
            length = buf[5] | (buf[6] << 8)
            if length < 3 or length > dxl.MAX_LENGTH:
                del buf[:4]
                continue
            if len(buf) < 7 + length:
                return None
            packet = bytes(buf[: 7 + length])
            del buf[: 7 + length]
            crc_ok = dxl.crc16(packet[:-2]) == (packet[-2] | (packet[-1] << 8))
            if not crc_ok:
                self.stats.bad_checksum += 1
                return servo_id, -1, b"", False
            payload = dxl.unstuff(packet[7:-2])
            return servo_id, payload[0], payload[1:], True

    def _status(self, servo: SimServo, error: int = 0, params: bytes = b"") -> Reply:
        error |= servo.status_error()
        return Reply(servo.servo_id, dxl.build_status(servo.servo_id, error, params), _delay(servo))

    def _ping_reply(self, servo: SimServo) -> Reply:
        model = servo.get("model_number")
        return self._status(servo, 0, bytes((model & 0xFF, model >> 8, servo.get("firmware_version"))))

    def _handle(  # type: ignore[override]
        self, servo_id: int, instruction: int, params: bytes, crc_ok: bool
    ) -> list[Reply]:
        servos = self._listening()
        if servo_id == dxl.BROADCAST_ID:
            if not crc_ok:
                return []
            if instruction == dxl.PING:
                return [self._ping_reply(s) for _, s in sorted(servos.items())]
            if instruction == dxl.SYNC_READ and len(params) >= 4:
                address, length = params[0] | (params[1] << 8), params[2] | (params[3] << 8)
                replies: list[Reply] = []
                for target in params[4:]:
                    servo = servos.get(target)
                    if servo is None:
                        continue
                    data = servo.read(address, length)
                    replies.append(self._status(servo, 0, data) if data is not None else self._status(servo, 7))
                return replies
            if instruction == dxl.SYNC_WRITE and len(params) >= 4:
                address, length = params[0] | (params[1] << 8), params[2] | (params[3] << 8)
                chunk = length + 1
                body = params[4:]
                for i in range(0, len(body) - chunk + 1, chunk):
                    servo = servos.get(body[i])
                    if servo is not None:
                        servo.write(address, body[i + 1 : i + chunk])
                return []
            if instruction == dxl.BULK_READ:
                # [id, addr16, len16] per servo, each answering in turn with its own status packet.
                replies = []
                for i in range(0, len(params) - 4, 5):
                    servo = servos.get(params[i])
                    if servo is None:
                        continue
                    address, length = params[i + 1] | (params[i + 2] << 8), params[i + 3] | (params[i + 4] << 8)
                    data = servo.read(address, length)
                    replies.append(self._status(servo, 0, data) if data is not None else self._status(servo, 7))
                return replies
            if instruction == dxl.BULK_WRITE:
                i = 0
                while i + 5 <= len(params):
                    address, length = params[i + 1] | (params[i + 2] << 8), params[i + 3] | (params[i + 4] << 8)
                    servo = servos.get(params[i])
                    data_chunk = params[i + 5 : i + 5 + length]
                    if servo is not None and len(data_chunk) == length:
                        servo.write(address, data_chunk)
                    i += 5 + length
                return []
            if instruction == dxl.WRITE and len(params) >= 3:
                for servo in servos.values():
                    servo.write(params[0] | (params[1] << 8), params[2:])
            elif instruction == dxl.ACTION:
                self._action(servos)
            return []
        servo = servos.get(servo_id)
        if servo is None:
            return []
        if not crc_ok:
            return [self._status(servo, 3)]
        level = servo.get("status_return_level")
        if instruction == dxl.PING:
            return [self._ping_reply(servo)]
        if instruction == dxl.READ:
            if len(params) != 4:
                return [self._status(servo, 5)] if level >= 1 else []
            address, length = params[0] | (params[1] << 8), params[2] | (params[3] << 8)
            data = servo.read(address, length)
            reply = self._status(servo, 0, data) if data is not None else self._status(servo, 7)
            return [reply] if level >= 1 else []
        if instruction == dxl.WRITE and len(params) >= 3:
            code = servo.write(params[0] | (params[1] << 8), params[2:])
            replies = [self._status(servo, code)]
        elif instruction == dxl.REG_WRITE and len(params) >= 3:
            self._registered[servo_id] = (params[0] | (params[1] << 8), params[2:])
            replies = [self._status(servo)]
        elif instruction == dxl.ACTION:
            self._action({servo_id: servo})
            replies = [self._status(servo)]
        elif instruction == dxl.REBOOT:
            replies = [self._status(servo)]  # answered first, then the servo restarts
            if isinstance(servo, DynamixelServo):
                servo.reboot()
        elif instruction in (dxl.WRITE, dxl.REG_WRITE):
            replies = [self._status(servo, 5)]
        else:
            replies = [self._status(servo, 2)]
        return replies if level >= 2 else []

    def _action(self, servos: dict[int, SimServo]) -> None:
        for servo_id, servo in servos.items():
            pending = self._registered.pop(servo_id, None)
            if pending is not None:
                servo.write(*pending)


def make_responder(
    protocol: str, servos: Callable[[], dict[int, SimServo]], line_baud: Callable[[], int | None]
) -> Responder:
    if protocol == "feetech":
        return FeetechResponder(servos, line_baud)
    return DynamixelResponder(servos, line_baud)
