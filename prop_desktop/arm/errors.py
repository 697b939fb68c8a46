"""Errors of the arm layer. Every message names the servo (when there is one) and says what to check.

Hierarchy::

    ArmError
      BusError                  anything that went wrong talking on the servo bus
        ServoTimeout            a servo did not answer (in time)
        CorruptPacket           an answer arrived but was garbled (bad header, length or checksum)
        ServoError              a servo answered and reported an error or alarm (decoded to words)
        PortError               the serial port cannot be opened, or vanished (USB unplugged)
        TransactionAborted      another thread aborted the transaction in flight (emergency stop)
      RegisterError             a register name or value that this protocol does not have or cannot hold
"""

from __future__ import annotations

from collections.abc import Iterable


class ArmError(Exception):
    """Base of every error raised by prop_desktop.arm."""


class BusError(ArmError):
    """Something went wrong on the servo bus. `servo_id` is the servo concerned, or None for the whole bus."""

    def __init__(self, message: str, servo_id: int | None = None) -> None:
        super().__init__(message)
        self.servo_id = servo_id


def _ids_text(ids: Iterable[int]) -> str:
    ids = sorted(ids)
    return "servo " + str(ids[0]) if len(ids) == 1 else "servos " + ", ".join(str(i) for i in ids)


class ServoTimeout(BusError):
    """No (complete) answer within the timeout, after every retry. `servo_ids` lists all silent servos."""

    def __init__(self, servo_ids: Iterable[int], what: str, attempts: int, port: str = "") -> None:
        self.servo_ids = sorted(servo_ids)
        where = f" on {port}" if port else ""
        message = (
            f"{_ids_text(self.servo_ids)} did not answer {what}{where} ({attempts} attempt(s)). "
            "Check that the arm's power supply is on and of the right voltage, that the servo cable is plugged "
            "in at both ends, that the servo id is set, and that the baud rate matches (Feetech and Koch arms "
            "set up by LeRobot use 1000000)."
        )
        super().__init__(message, self.servo_ids[0] if self.servo_ids else None)


class CorruptPacket(BusError):
    """An answer arrived but was garbled. `detail` says what was wrong (checksum, header, length…)."""

    def __init__(self, detail: str, servo_id: int | None = None, attempts: int = 1, port: str = "") -> None:
        self.detail = detail
        who = f"servo {servo_id}" if servo_id is not None else "the servo bus"
        where = f" on {port}" if port else ""
        message = (
            f"garbled answer from {who}{where}: {detail} ({attempts} attempt(s)). "
            "Check the servo cable and connectors (a loose daisy-chain plug garbles bytes), keep the cable away "
            "from the motor power leads, and check that only one program uses the port."
        )
        super().__init__(message, servo_id)


class ServoError(BusError):
    """A servo reported an error in its status packet.

    `words` are the decoded status bits (e.g. ["overheating", "input voltage"]); `alarm` is True when the
    bits are hardware alarms (the command was still executed and read data is valid) and False when the
    servo rejected the instruction (Dynamixel result/instruction/CRC/range/length/limit/access errors).
    """

    ADVICE = {
        "input voltage": "check the power supply voltage (STS3215: 6-12 V per model; XL330: 5 V; XL430: 12 V)",
        "overheating": "let the servo cool down and reduce its load or torque limit",
        "overload": "the servo is stalled or pushing too hard: free the joint and lower the load",
        "over-current": "the servo drew too much current: free the joint and lower the load",
        "electrical shock": "check the power wiring",
        "encoder": "the position sensor reported an error: power-cycle the servo",
        "angle": "the goal is outside the servo's limits: check the position limits and calibration",
        "hardware alert": "read its hardware_error register (bus.read_alarm_words(id)) to see why, then reboot "
        "or power-cycle the servo",
        "crc": "a byte was garbled on the way to the servo: check the cable",
        "access": "that register is read-only or needs torque off (EEPROM): disable torque first",
        "data range": "the value is outside the register's range",
        "data limit": "the value is beyond the servo's configured limit",
    }

    def __init__(self, servo_id: int, words: list[str], alarm: bool, raw: int, what: str = "") -> None:
        self.words = list(words)
        self.alarm = alarm
        self.raw = raw
        kind = "alarm" if alarm else "error"
        doing = f" while {what}" if what else ""
        advice = "; ".join(self.ADVICE[w] for w in self.words if w in self.ADVICE)
        message = f"servo {servo_id} reports {kind} {', '.join(self.words) or hex(raw)} (0x{raw:02X}){doing}."
        if advice:
            message += f" What to do: {advice}."
        super().__init__(message, servo_id)


class PortError(BusError):
    """The serial port could not be opened, or went away (USB unplugged / simulator stopped)."""

    def __init__(self, message: str, port: str = "") -> None:
        super().__init__(message, None)
        self.port = port


class TransactionAborted(BusError):
    """The transaction in flight gave up because another thread took the bus (bus.preempt / abort_pending)."""

    def __init__(self, port: str = "") -> None:
        where = f" on {port}" if port else ""
        super().__init__(
            f"bus transaction{where} aborted: another thread took the bus (emergency stop). "
            "Nothing is wrong with the servos; check why the arm was stopped before continuing."
        )


class RegisterError(ArmError, ValueError):
    """A register name this protocol does not have, a read-only register, or a value that does not fit."""


def describe_error(exc: BaseException) -> str:
    """A one-line, plain description of an error for a user (no traceback)."""
    if isinstance(exc, KeyboardInterrupt):
        return "stopped by Ctrl-C"
    text = str(exc).strip()
    return text if text else type(exc).__name__
