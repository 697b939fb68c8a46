"""One simulated servo: its control table (EEPROM + RAM), the vendor's semantics, and its physics.

The physics is integrated from a monotonic clock by the arm (step(dt)): motion follows the goal with the
servo's speed and acceleration limits and stops at the joint's hard stops or an obstacle; load rises when
pushing against a stop, temperature rises under sustained load and cools otherwise, voltage sags with load.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Mapping

from prop_desktop.arm.bus import Register
from prop_desktop.arm.control_table import (
    DYNAMIXEL_EEPROM_END,
    DYNAMIXEL_TABLE_SIZE,
    DYNAMIXEL_X,
    FEETECH_EEPROM_END,
    FEETECH_STS,
    FEETECH_TABLE_SIZE,
)
from prop_desktop.arm.sim.profiles import SimJoint

AMBIENT_C = 30.0
HEAT_C_PER_S = 0.6  # at full load; equilibrium = ambient + HEAT * tau * load²
COOL_TAU_S = 100.0
OVERLOAD_LOAD = 0.95  # fraction of the torque limit that counts as a stall
# A finger overpowers a servo whose torque is capped at or below this fraction of its maximum (current-based
# position mode with a low goal current: the Koch leader's gripper trigger). It then gives way and pushes back.
FINGER_OVERPOWERS = 0.5
DYN_VELOCITY_UNIT = 0.229 * 4096 / 60  # counts/s per raw unit (0.229 rpm)
DYN_ACCEL_UNIT = 214.577 * 4096 / 3600  # counts/s² per raw unit (214.577 rev/min²)
SHUTDOWN_BITS = 0x34  # Dynamixel default shutdown: overheating, electrical shock, overload

# Error/alarm kinds used inside the simulator; each protocol maps them to its own bits.
VOLTAGE, OVERHEAT, OVERLOAD, ANGLE = "voltage", "overheat", "overload", "angle"


class SimServo:
    """Protocol-independent state and physics; FeetechServo / DynamixelServo add the vendor semantics."""

    spec: Mapping[str, Register]
    eeprom_end: int
    table_size: int
    shutdown_alarms: frozenset[str] = frozenset({OVERHEAT, OVERLOAD})

    def __init__(self, joint: SimJoint, overload_seconds: float = 3.0) -> None:
        self.joint = joint
        self.kind = joint.kind
        self.overload_seconds = overload_seconds
        self._cache: dict[str, int] = {}  # decoded values; the table bytes stay the truth
        self._stale = True  # present-state registers need a refresh before they are read
        self.table = bytearray(self.table_size)
        self._set_defaults()
        self._cache.clear()
        self.persisted = bytes(self.table[: self.eeprom_end])  # what survives a power cycle
        self.pos = float(joint.rest)  # actual encoder counts (physical)
        self.vel = 0.0  # counts/s
        self.load = 0.0  # signed fraction of max torque
        self.temperature = AMBIENT_C
        self.supply_volts = self.kind.supply_volts
        self.hand_target: float | None = None
        self.held_at: float | None = None  # a finger holds this (weak, torque-on) joint here until let go
        self.obstacle: float | None = None
        self.forced_temperature: float | None = None
        self.push_until = 0.0
        self.push_sign = 0.0
        self.stall_time = 0.0
        self.relieved_time = 0.0
        self.alarms: set[str] = set()  # latched alarms that forced torque off (cleared per vendor rules)
        self.silent = False
        self.set("goal_position", self.present_from_actual(self.pos))
        self.refresh()

    # ----------------------------------------------------------------- table access
    def get(self, name: str) -> int:
        try:
            return self._cache[name]
        except KeyError:
            pass
        reg = self.spec[name]
        value = reg.decode(bytes(self.table[reg.address : reg.address + reg.size]))
        self._cache[name] = value
        return value

    def set(self, name: str, value: int) -> None:
        reg = self.spec[name]
        if self._cache.get(name) == value:
            return
        self.table[reg.address : reg.address + reg.size] = reg.encode(value)
        for alias in _ALIASES[id(self.spec)].get(name, ()):
            self._cache.pop(alias, None)
        self._cache[name] = value

    def _raw_changed(self, address: int = 0, end: int | None = None) -> None:
        """Bytes [address, end) were written directly into the table: forget their decoded values."""
        if end is None:
            self._cache.clear()
        else:
            names_at = _NAMES_AT[id(self.spec)]
            for at in range(address, end):
                for name in names_at[at]:
                    self._cache.pop(name, None)
        self._stale = True

    @property
    def servo_id(self) -> int:
        return self.table[self.spec["id"].address]

    @property
    def torque_on(self) -> bool:
        return self.get("torque_enable") == 1

    def yields_to_hand(self) -> bool:
        """Torque on but capped so low that a finger moves the joint (it springs back when let go)."""
        return self.torque_on and self.torque_fraction() <= FINGER_OVERPOWERS

    def read(self, address: int, length: int) -> bytes | None:
        """Bytes of the control table, or None if the span is outside it."""
        if address < 0 or length < 1 or address + length > self.table_size:
            return None
        self.fresh()
        return bytes(self.table[address : address + length])

    def power_cycle(self) -> None:
        """Power off and on: EEPROM from what was persisted, RAM to defaults, goal = present, torque off."""
        saved = self.persisted
        self.table = bytearray(self.table_size)
        self._cache.clear()
        self._set_defaults()
        self.table[: self.eeprom_end] = saved
        self._raw_changed()
        self.alarms.clear()
        self.stall_time = 0.0
        self.vel = 0.0
        self.set("goal_position", self.present_from_actual(self.pos))
        self.refresh()

    # ----------------------------------------------------------------- vendor hooks
    def _set_defaults(self) -> None:
        raise NotImplementedError

    def present_from_actual(self, actual: float) -> int:
        raise NotImplementedError

    def actual_from_present(self, present: float) -> float:
        raise NotImplementedError

    def speed_limit(self) -> float:
        raise NotImplementedError

    def acceleration_limit(self) -> float:
        raise NotImplementedError

    def torque_fraction(self) -> float:
        return 1.0

    def write(self, address: int, data: bytes) -> int:
        """Apply a write; return a protocol error code (0 = fine)."""
        raise NotImplementedError

    def status_error(self) -> int:
        raise NotImplementedError

    def velocity_raw(self) -> int:
        raise NotImplementedError

    # ----------------------------------------------------------------- conditions
    def conditions(self) -> builtins.set[str]:
        """Alarm conditions present now (plus latched ones)."""
        now = set(self.alarms)
        volts10 = self.volts() * 10
        if volts10 < self.get("min_voltage") or volts10 > self.get("max_voltage"):
            now.add(VOLTAGE)
        if self.temperature >= self.get("max_temperature"):
            now.add(OVERHEAT)
        return now

    def volts(self) -> float:
        # A little sag under load, as a real supply and its leads show.
        return max(0.0, self.supply_volts - 0.3 * abs(self.load))

    # ----------------------------------------------------------------- physics
    def goal_actual(self) -> float:
        return self.actual_from_present(self.get("goal_position"))

    def step(self, dt: float, now: float) -> None:
        self._stale = True
        if not self.torque_on and self.hand_target is None and self.forced_temperature is None:
            self._idle(dt)
            return
        low, high = map(float, self.joint.hard_stops)  # an obstacle may stop it between counts
        if self.obstacle is not None:
            # The obstacle blocks the side of the joint it is on, as seen from where the joint is now.
            if self.obstacle >= self.pos:
                high = min(high, self.obstacle)
            else:
                low = max(low, self.obstacle)
        limit = self.torque_fraction()
        gravity = self.joint.gravity_load
        if self.held_at is not None and self.yields_to_hand():
            new = min(high, max(low, self.held_at))
            self.vel = (new - self.pos) / dt if dt > 0 else 0.0
            self.pos = new
            # Pushing back at its current cap, just under what the servo counts as a stall.
            self.load = math.copysign(0.9 * limit, (self.goal_actual() - new) or 1.0)
            self._thermal(dt)
            self._protect(dt, limit)
            return
        if self.torque_on:
            target = self.goal_actual()
            if self.vel == 0.0 and self.pos == target and now >= self.push_until and low <= target <= high:
                self._hold(dt, limit)  # holding still at the goal: the common case, kept cheap
                return
            vmax, amax = self.speed_limit(), self.acceleration_limit()
            err = target - self.pos
            v_des = math.copysign(min(vmax, math.sqrt(2.0 * amax * abs(err))), err) if err else 0.0
            dv = max(-amax * dt, min(amax * dt, v_des - self.vel))
            self.vel += dv
            new = self.pos + self.vel * dt
            if (target - new) * err <= 0:  # reached or overshot: settle on the goal
                new, self.vel = target, 0.0
            blocked = False
            if new > high or new < low:
                new = min(high, max(low, new))
                self.vel = 0.0
                blocked = True
            self.pos = new
            if blocked or now < self.push_until:
                push = (target - self.pos) if blocked else self.push_sign * 400.0
                self.load = math.copysign(min(limit, 0.3 + abs(push) / 150.0), push or 1.0)
            else:
                accel_term = 0.2 * dv / (amax * dt) if amax * dt > 0 else 0.0
                self.load = max(-limit, min(limit, gravity + 0.1 * self.vel / vmax + accel_term))
        else:
            self.load = 0.0
            if self.hand_target is not None:
                new = min(high, max(low, self.hand_target))
                self.vel = (new - self.pos) / dt if dt > 0 else 0.0
                self.pos = new
                self.hand_target = None
            else:
                self.vel = 0.0
        self._thermal(dt)
        self._protect(dt, limit)

    def _hold(self, dt: float, limit: float) -> None:
        self.load = max(-limit, min(limit, self.joint.gravity_load))
        self._thermal(dt)
        self._protect(dt, limit)

    def _idle(self, dt: float) -> None:
        """Torque off and nobody touching it: nothing moves, the motor cools (closed form)."""
        self.vel = 0.0
        self.load = 0.0
        self.temperature = AMBIENT_C + (self.temperature - AMBIENT_C) * math.exp(-dt / COOL_TAU_S)
        self.stall_time = 0.0
        self._after_idle(dt)

    def _after_idle(self, dt: float) -> None:
        if self.temperature >= self.get("max_temperature"):
            self.alarms.add(OVERHEAT)

    def _thermal(self, dt: float) -> None:
        if self.forced_temperature is not None:
            self.temperature = self.forced_temperature
            return
        heat = HEAT_C_PER_S * self.load * self.load
        self.temperature += dt * (heat - (self.temperature - AMBIENT_C) / COOL_TAU_S)

    def _protect(self, dt: float, limit: float) -> None:
        stalled = self.torque_on and abs(self.load) >= OVERLOAD_LOAD * limit
        self.stall_time = self.stall_time + dt if stalled else 0.0
        if self.stall_time >= self.overload_seconds:
            self.alarms.add(OVERLOAD)
        if self.temperature >= self.get("max_temperature"):
            self.alarms.add(OVERHEAT)
        if self.alarms & self.shutdown_alarms and self.torque_on:
            self.set("torque_enable", 0)
            self.load = 0.0
            self.vel = 0.0

    def fresh(self) -> None:
        """Refresh the present-state registers if the physics moved on since the last refresh."""
        if self._stale:
            self.refresh()

    def refresh(self) -> None:
        """Write the present-state registers from the physics state."""
        self._stale = False
        present = self.present_from_actual(self.pos)
        self.set("present_position", present)
        self.set("present_velocity", self.velocity_raw())
        load_raw = max(-1000, min(1000, round(self.load * 1000)))
        self.set("present_load", load_raw)
        self.set("present_voltage", max(0, round(self.volts() * 10)))
        self.set("present_temperature", max(0, min(255, round(self.temperature))))
        moving = abs(self.vel) > 20 or (self.torque_on and abs(self.goal_actual() - self.pos) > 2)
        self.set("moving", int(moving))
        self._refresh_extra(load_raw)

    def _refresh_extra(self, load_raw: int) -> None:
        raise NotImplementedError


class FeetechServo(SimServo):
    """STS3215: present = actual - homing offset (wrapped to one turn); EEPROM persists only while lock = 0."""

    spec = FEETECH_STS
    eeprom_end = FEETECH_EEPROM_END
    table_size = FEETECH_TABLE_SIZE

    def _set_defaults(self) -> None:
        kind, table = self.kind, self.table
        table[0], table[1] = kind.firmware
        self._raw_changed()
        for name, value in (
            ("model_number", kind.model_number), ("id", self.joint.servo_id), ("baud_rate", 0), ("return_delay", 0),
            ("response_status_level", 1), ("min_position_limit", 0), ("max_position_limit", 4095),
            ("max_temperature", kind.max_temperature), ("max_voltage", kind.max_voltage),
            ("min_voltage", kind.min_voltage), ("max_torque", 1000), ("p_coefficient", 32), ("d_coefficient", 32),
            ("i_coefficient", 0), ("homing_offset", 0), ("operating_mode", 0), ("torque_enable", 0),
            ("acceleration", 0), ("goal_time", 0), ("goal_velocity", 0), ("torque_limit", 1000), ("lock", 1),
        ):
            self.set(name, value)

    def present_from_actual(self, actual: float) -> int:
        return (round(actual) - self.get("homing_offset")) % 4096

    def actual_from_present(self, present: float) -> float:
        low, high = self.get("min_position_limit"), self.get("max_position_limit")
        if low < high:
            present = min(high, max(low, present))
        return present + self.get("homing_offset")

    def speed_limit(self) -> float:
        speed = abs(self.get("goal_velocity"))
        return min(float(speed), self.kind.max_speed) if speed else self.kind.max_speed

    def acceleration_limit(self) -> float:
        acc = self.get("acceleration")
        return min(acc * 100.0, self.kind.max_acceleration) if acc else self.kind.max_acceleration

    def torque_fraction(self) -> float:
        return max(0.0, min(1.0, self.get("torque_limit") / 1000.0))

    def velocity_raw(self) -> int:
        return max(-32767, min(32767, round(self.vel)))

    def write(self, address: int, data: bytes) -> int:
        end = address + len(data)
        if address < 0 or end > self.table_size:
            return 0  # the STS ignores writes past its table
        writable = _WRITABLE[id(self.spec)]
        for offset, byte in enumerate(data):
            if writable[address + offset]:  # read-only bytes are left alone
                self.table[address + offset] = byte
        self._raw_changed(address, end)
        if address <= self.spec["torque_enable"].address < end:
            value = self.table[self.spec["torque_enable"].address]
            if value == 128:  # "make the current position 2048": homing offset = actual - 2048, stored at once
                offset = max(-2047, min(2047, round(self.pos) - 2048))
                self.set("homing_offset", offset)
                self.set("torque_enable", 0)
                self._persist()
                self.set("goal_position", self.present_from_actual(self.pos))
            elif value == 1 and self.alarms & self.shutdown_alarms:
                self.set("torque_enable", 0)  # a protecting servo refuses torque until it recovered
        if address < self.eeprom_end and self.get("lock") == 0:
            self._persist()
        return 0

    def _persist(self) -> None:
        self.persisted = bytes(self.table[: self.eeprom_end])

    def status_error(self) -> int:
        bits = 0
        conditions = self.conditions()
        if VOLTAGE in conditions:
            bits |= 0x01
        if OVERHEAT in conditions:
            bits |= 0x04
        if OVERLOAD in conditions:
            bits |= 0x20
        return bits

    def step(self, dt: float, now: float) -> None:
        super().step(dt, now)
        # The STS recovers by itself once it cooled down / was relieved.
        self._recover(dt)

    def _recover(self, dt: float) -> None:
        if OVERHEAT in self.alarms and self.temperature < self.get("max_temperature") - 5:
            self.alarms.discard(OVERHEAT)
        self.relieved_time = 0.0 if self.torque_on else self.relieved_time + dt
        if OVERLOAD in self.alarms and self.relieved_time >= 1.0:  # relieved for a second: recovered
            self.alarms.discard(OVERLOAD)

    def _refresh_extra(self, load_raw: int) -> None:
        self.set("hardware_error", self.status_error())
        self.set("present_current", max(-32767, min(32767, round(abs(self.load) * 415))))


class DynamixelServo(SimServo):
    """X-series: present = actual + homing offset; EEPROM writable only with torque off; alarms latch
    (hardware_error, alert bit in every status) until REBOOT."""

    spec = DYNAMIXEL_X
    eeprom_end = DYNAMIXEL_EEPROM_END
    table_size = DYNAMIXEL_TABLE_SIZE

    def _set_defaults(self) -> None:
        kind = self.kind
        xl330 = kind.name.startswith("XL330")
        for name, value in (
            ("model_number", kind.model_number), ("model_information", 0), ("firmware_version", kind.firmware[0]),
            ("id", self.joint.servo_id), ("baud_rate", 3), ("return_delay", 0), ("drive_mode", 0),
            ("operating_mode", 3), ("homing_offset", 0), ("moving_threshold", 10),
            ("max_temperature", kind.max_temperature), ("max_voltage", kind.max_voltage),
            ("min_voltage", kind.min_voltage), ("current_limit", 1750 if xl330 else 1000),
            ("velocity_limit", 445 if xl330 else 265), ("max_position_limit", 4095), ("min_position_limit", 0),
            ("torque_enable", 0), ("led", 0), ("status_return_level", 2), ("hardware_error", 0),
            ("position_d_gain", 0), ("position_i_gain", 0), ("position_p_gain", 800),
            ("goal_current", 1750 if xl330 else 1000), ("goal_velocity", 0), ("acceleration", 0),
            ("profile_velocity", 0),
        ):
            self.set(name, value)

    def present_from_actual(self, actual: float) -> int:
        return round(actual) + self.get("homing_offset")

    def actual_from_present(self, present: float) -> float:
        return present - self.get("homing_offset")

    def speed_limit(self) -> float:
        profile = self.get("profile_velocity")
        return min(profile * DYN_VELOCITY_UNIT, self.kind.max_speed) if profile else self.kind.max_speed

    def acceleration_limit(self) -> float:
        acc = self.get("acceleration")
        return min(acc * DYN_ACCEL_UNIT, self.kind.max_acceleration) if acc else self.kind.max_acceleration

    def torque_fraction(self) -> float:
        if self.get("operating_mode") == 5:  # current-based position: goal current caps the torque
            limit = max(1, self.get("current_limit"))
            return max(0.0, min(1.0, abs(self.get("goal_current")) / limit))
        return 1.0

    def velocity_raw(self) -> int:
        return round(self.vel / DYN_VELOCITY_UNIT)

    def write(self, address: int, data: bytes) -> int:
        end = address + len(data)
        if address < 0 or not data or end > self.table_size:
            return 7  # access error: outside the table
        spans = [r for r in self.spec.values() if r.address < end and address < r.address + r.size]
        if any(not r.writable for r in spans):
            return 7
        if address < self.eeprom_end and self.torque_on:
            return 7  # EEPROM is writable only with torque off
        goal = self.spec["goal_position"]
        if address <= goal.address and goal.address + goal.size <= end:
            value = goal.decode(bytes(data[goal.address - address : goal.address - address + goal.size]))
            low, high = self.get("min_position_limit"), self.get("max_position_limit")
            if self.get("operating_mode") in (3, 5) and not low <= value <= high:
                return 6  # data limit error: beyond the position limits
        torque = self.spec["torque_enable"].address
        enabling = address <= torque < end and data[torque - address] == 1
        if enabling and self.get("hardware_error") & SHUTDOWN_BITS:
            return 0x80  # a servo in shutdown keeps torque off until rebooted (alert bit set below)
        self.table[address:end] = data
        self._raw_changed(address, end)
        if address < self.eeprom_end:
            self.persisted = bytes(self.table[: self.eeprom_end])
        return 0

    def status_error(self) -> int:
        self.fresh()
        return 0x80 if self.get("hardware_error") else 0

    def reboot(self) -> None:
        """REBOOT: like a power cycle; clears latched alarms if their cause is gone."""
        self.power_cycle()
        self.set("hardware_error", 0)
        self.refresh()

    def _refresh_extra(self, load_raw: int) -> None:
        bits = self.get("hardware_error")
        conditions = self.conditions()
        if VOLTAGE in conditions:
            bits |= 0x01
        if OVERHEAT in conditions:
            bits |= 0x04
        if OVERLOAD in conditions:
            bits |= 0x20
        self.set("hardware_error", bits)  # latched: only REBOOT clears it
        # XL330: current in mA (the current limit is full torque); XL430: load in 0.1 % of max torque.
        scale = self.get("current_limit") if self.kind.name.startswith("XL330") else 1000
        current = round(self.load * scale)
        self.set("present_current", max(-32767, min(32767, current)))


def _writable_mask(spec: Mapping[str, Register], size: int) -> bytes:
    mask = bytearray(b"\x01" * size)
    for reg in spec.values():
        if not reg.writable:
            mask[reg.address : reg.address + reg.size] = b"\x00" * reg.size
    return bytes(mask)


def _aliases(spec: Mapping[str, Register]) -> dict[str, tuple[str, ...]]:
    """Names whose bytes overlap another name's (e.g. Dynamixel present_current / present_load)."""
    out = {}
    for name, reg in spec.items():
        out[name] = tuple(
            other for other, r in spec.items()
            if other != name and r.address < reg.address + reg.size and reg.address < r.address + r.size
        )
    return out


def _names_at(spec: Mapping[str, Register], size: int) -> list[tuple[str, ...]]:
    return [tuple(n for n, r in spec.items() if r.address <= at < r.address + r.size) for at in range(size)]


_NAMES_AT = {id(FEETECH_STS): _names_at(FEETECH_STS, FEETECH_TABLE_SIZE),
             id(DYNAMIXEL_X): _names_at(DYNAMIXEL_X, DYNAMIXEL_TABLE_SIZE)}
_WRITABLE = {id(FEETECH_STS): _writable_mask(FEETECH_STS, FEETECH_TABLE_SIZE),
             id(DYNAMIXEL_X): _writable_mask(DYNAMIXEL_X, DYNAMIXEL_TABLE_SIZE)}
_ALIASES = {id(FEETECH_STS): _aliases(FEETECH_STS), id(DYNAMIXEL_X): _aliases(DYNAMIXEL_X)}
