"""Control-table registers as data: one entry's address, size and wire encoding, and the position units.

Feetech sign-magnitude fields and Dynamixel two's complement both decode to plain signed Python ints here
(and encode back the same way), so nothing above the bus knows how a vendor packs a number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from prop_desktop.arm.errors import RegisterError

COUNTS_PER_TURN = 4096
CENTER_COUNT = 2048

# Register names every protocol provides (raw units differ per protocol where noted in to_si).
COMMON_REGISTERS = (
    "model_number",
    "id",
    "baud_rate",
    "return_delay",
    "min_position_limit",
    "max_position_limit",
    "max_temperature",
    "homing_offset",
    "operating_mode",
    "torque_enable",
    "acceleration",
    "goal_position",
    "goal_velocity",
    "present_position",
    "present_velocity",
    "present_load",
    "present_current",
    "present_voltage",
    "present_temperature",
    "moving",
    "hardware_error",
)

Encoding = Literal["unsigned", "sign_magnitude", "twos_complement"]


@dataclass(frozen=True)
class Register:
    """One control-table entry. `sign_bit` is the sign bit of a sign-magnitude field (Feetech)."""

    name: str
    address: int
    size: int
    encoding: Encoding = "unsigned"
    sign_bit: int = 15
    eeprom: bool = False
    writable: bool = True

    def decode(self, data: bytes) -> int:
        """Little-endian bytes from the servo -> signed/unsigned Python int."""
        if len(data) != self.size:
            raise RegisterError(f"register {self.name} needs {self.size} byte(s), got {len(data)}")
        raw = int.from_bytes(data, "little")
        if self.encoding == "sign_magnitude":
            return sign_magnitude_decode(raw, self.sign_bit)
        if self.encoding == "twos_complement":
            return twos_complement_decode(raw, self.size)
        return raw

    def encode(self, value: int) -> bytes:
        """Python int -> little-endian bytes for the servo; RegisterError if it does not fit."""
        value = int(value)
        if self.encoding == "sign_magnitude":
            raw = sign_magnitude_encode(value, self.sign_bit, self.name)
        elif self.encoding == "twos_complement":
            low, high = -(1 << (8 * self.size - 1)), (1 << (8 * self.size - 1)) - 1
            if not low <= value <= high:
                raise RegisterError(f"{value} does not fit register {self.name} ({low}..{high})")
            raw = value & ((1 << (8 * self.size)) - 1)
        else:
            if not 0 <= value < (1 << (8 * self.size)):
                raise RegisterError(f"{value} does not fit register {self.name} (0..{(1 << (8 * self.size)) - 1})")
            raw = value
        return raw.to_bytes(self.size, "little")


def sign_magnitude_decode(raw: int, sign_bit: int) -> int:
    """Feetech: bit `sign_bit` is the sign, the bits below it the magnitude (bits above are ignored)."""
    magnitude = raw & ((1 << sign_bit) - 1)
    return -magnitude if raw & (1 << sign_bit) else magnitude


def sign_magnitude_encode(value: int, sign_bit: int, name: str = "value") -> int:
    limit = (1 << sign_bit) - 1
    if abs(value) > limit:
        raise RegisterError(f"{value} does not fit register {name} (-{limit}..{limit}, sign-magnitude)")
    return (abs(value) | (1 << sign_bit)) if value < 0 else value


def twos_complement_decode(raw: int, size: int) -> int:
    bits = 8 * size
    return raw - (1 << bits) if raw & (1 << (bits - 1)) else raw


def counts_to_radians(counts: float, center: float = CENTER_COUNT) -> float:
    """Raw position counts -> radians, 0 rad at `center` (4096 counts per turn)."""
    return (counts - center) * (2.0 * math.pi / COUNTS_PER_TURN)


def radians_to_counts(radians: float, center: float = CENTER_COUNT) -> int:
    """Radians -> nearest raw position count, 0 rad at `center`."""
    return int(round(center + radians * COUNTS_PER_TURN / (2.0 * math.pi)))
