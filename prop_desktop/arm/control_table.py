"""Control tables of the servos we support: Feetech STS3215 and Dynamixel X-series (XL430, XL330).

Names are shared between protocols where the meaning is the same (see registers.COMMON_REGISTERS); protocol
specific extras keep the vendor's meaning. Addresses and sizes follow the vendors' manuals
(see shared/SERVO_PROTOCOLS.md).
"""

from __future__ import annotations

from collections.abc import Mapping

from prop_desktop.arm.registers import Register


def _table(*regs: Register) -> dict[str, Register]:
    return {r.name: r for r in regs}


def _ro(name: str, address: int, size: int, **kw: object) -> Register:
    return Register(name, address, size, writable=False, **kw)  # type: ignore[arg-type]


# Feetech STS (STS3215). EEPROM: addresses 0..39 (persist only while lock = 0). Little-endian.
FEETECH_EEPROM_END = 40
FEETECH_STS = _table(
    _ro("firmware_major", 0, 1, eeprom=True),
    _ro("firmware_minor", 1, 1, eeprom=True),
    _ro("model_number", 3, 2, eeprom=True),
    Register("id", 5, 1, eeprom=True),
    Register("baud_rate", 6, 1, eeprom=True),
    Register("return_delay", 7, 1, eeprom=True),
    Register("response_status_level", 8, 1, eeprom=True),
    Register("min_position_limit", 9, 2, eeprom=True),
    Register("max_position_limit", 11, 2, eeprom=True),
    Register("max_temperature", 13, 1, eeprom=True),
    Register("max_voltage", 14, 1, eeprom=True),
    Register("min_voltage", 15, 1, eeprom=True),
    Register("max_torque", 16, 2, eeprom=True),
    Register("p_coefficient", 21, 1, eeprom=True),
    Register("d_coefficient", 22, 1, eeprom=True),
    Register("i_coefficient", 23, 1, eeprom=True),
    Register("homing_offset", 31, 2, "sign_magnitude", sign_bit=11, eeprom=True),
    Register("operating_mode", 33, 1, eeprom=True),
    Register("torque_enable", 40, 1),
    Register("acceleration", 41, 1),
    Register("goal_position", 42, 2, "sign_magnitude", sign_bit=15),
    Register("goal_time", 44, 2),
    Register("goal_velocity", 46, 2, "sign_magnitude", sign_bit=15),
    Register("torque_limit", 48, 2),
    Register("lock", 55, 1),
    _ro("present_position", 56, 2, encoding="sign_magnitude", sign_bit=15),
    _ro("present_velocity", 58, 2, encoding="sign_magnitude", sign_bit=15),
    _ro("present_load", 60, 2, encoding="sign_magnitude", sign_bit=10),
    _ro("present_voltage", 62, 1),
    _ro("present_temperature", 63, 1),
    _ro("hardware_error", 65, 1),  # the manual's "status" byte: same bits as the status packet's error byte
    _ro("moving", 66, 1),
    _ro("present_current", 69, 2, encoding="sign_magnitude", sign_bit=15),
)
FEETECH_TABLE_SIZE = 71

# Dynamixel X-series (protocol 2.0). EEPROM: addresses 0..63, writable only with torque off.
DYNAMIXEL_EEPROM_END = 64
DYNAMIXEL_X = _table(
    _ro("model_number", 0, 2, eeprom=True),
    _ro("model_information", 2, 4, eeprom=True),
    _ro("firmware_version", 6, 1, eeprom=True),
    Register("id", 7, 1, eeprom=True),
    Register("baud_rate", 8, 1, eeprom=True),
    Register("return_delay", 9, 1, eeprom=True),
    Register("drive_mode", 10, 1, eeprom=True),
    Register("operating_mode", 11, 1, eeprom=True),
    Register("homing_offset", 20, 4, "twos_complement", eeprom=True),
    Register("moving_threshold", 24, 4, eeprom=True),
    Register("max_temperature", 31, 1, eeprom=True),
    Register("max_voltage", 32, 2, eeprom=True),
    Register("min_voltage", 34, 2, eeprom=True),
    Register("current_limit", 38, 2, eeprom=True),
    Register("velocity_limit", 44, 4, eeprom=True),
    Register("max_position_limit", 48, 4, eeprom=True),
    Register("min_position_limit", 52, 4, eeprom=True),
    Register("torque_enable", 64, 1),
    Register("led", 65, 1),
    Register("status_return_level", 68, 1),
    _ro("hardware_error", 70, 1),
    Register("position_d_gain", 80, 2),
    Register("position_i_gain", 82, 2),
    Register("position_p_gain", 84, 2),
    Register("goal_current", 102, 2, "twos_complement"),
    Register("goal_velocity", 104, 4, "twos_complement"),
    Register("acceleration", 108, 4),  # the manual's "profile acceleration"
    Register("profile_velocity", 112, 4),
    Register("goal_position", 116, 4, "twos_complement"),
    _ro("moving", 122, 1),
    _ro("moving_status", 123, 1),
    _ro("present_current", 126, 2, encoding="twos_complement"),  # XL430: this address is "present load"
    _ro("present_load", 126, 2, encoding="twos_complement"),
    _ro("present_velocity", 128, 4, encoding="twos_complement"),
    _ro("present_position", 132, 4, encoding="twos_complement"),
    _ro("present_voltage", 144, 2),  # the manual's "present input voltage"
    _ro("present_temperature", 146, 1),
)
DYNAMIXEL_TABLE_SIZE = 147

# Feetech status-byte / status-register bits (alarms; the servo still executed the command).
FEETECH_ERROR_BITS = {
    0x01: "input voltage",
    0x02: "angle",
    0x04: "overheating",
    0x08: "over-current",
    0x20: "overload",
}

# Dynamixel 2.0 status error byte: low 7 bits are an error NUMBER, bit 7 the hardware alert flag.
DYNAMIXEL_ERROR_NUMBERS = {
    1: "result fail",
    2: "instruction",
    3: "crc",
    4: "data range",
    5: "data length",
    6: "data limit",
    7: "access",
}
DYNAMIXEL_HARDWARE_ALERT = 0x80
# Dynamixel hardware_error register (70) bits.
DYNAMIXEL_HARDWARE_ERROR_BITS = {
    0x01: "input voltage",
    0x04: "overheating",
    0x08: "encoder",
    0x10: "electrical shock",
    0x20: "overload",
}

MODEL_NAMES = {777: "STS3215", 1060: "XL430-W250", 1190: "XL330-M077", 1200: "XL330-M288"}


def decode_bits(value: int, bits: Mapping[int, str]) -> list[str]:
    """Words for the set bits of `value`; unknown bits are named by their hex value."""
    words = [word for bit, word in bits.items() if value & bit]
    unknown = value & ~sum(bits)
    for bit in range(8 * max(1, (value.bit_length() + 7) // 8)):
        if unknown & (1 << bit):
            words.append(f"unknown bit 0x{1 << bit:02X}")
    return words
