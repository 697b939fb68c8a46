"""What the simulator emulates: servo kinds (model numbers, firmware, speed, supply) and whole arms.

Positions here are ACTUAL encoder counts (physical; independent of the homing offset), 2048 = the joint's
mechanical middle. Hard stops are a little beyond the arm-control layer's default ranges.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

JOINT_NAMES: tuple[str, ...] = ("shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper")
COUNTS_PER_RAD = 4096 / (2 * math.pi)


@dataclass(frozen=True)
class SimServoKind:
    name: str
    protocol: str  # "feetech" | "dynamixel"
    model_number: int
    firmware: tuple[int, int]  # Feetech (major, minor); Dynamixel (version, 0)
    max_speed: float  # counts/s with no speed limit set
    max_acceleration: float  # counts/s² with no acceleration limit set
    supply_volts: float  # nominal supply of the arm that uses it
    min_voltage: int  # EEPROM default, 0.1 V units
    max_voltage: int
    max_temperature: int  # EEPROM default, °C


STS3215 = SimServoKind("STS3215", "feetech", 777, (3, 10), 3000.0, 25000.0, 12.1, 45, 140, 70)
XL430 = SimServoKind("XL430-W250", "dynamixel", 1060, (46, 0), 3900.0, 30000.0, 12.0, 60, 140, 72)
XL330 = SimServoKind("XL330-M288", "dynamixel", 1200, (46, 0), 7000.0, 40000.0, 5.0, 35, 70, 70)
XL330_M077 = SimServoKind("XL330-M077", "dynamixel", 1190, (46, 0), 7000.0, 40000.0, 5.0, 35, 70, 70)


@dataclass(frozen=True)
class SimJoint:
    name: str
    servo_id: int
    kind: SimServoKind
    rest: int  # actual count at power-up: "an arm at rest near its middle pose"
    hard_stops: tuple[int, int]  # actual counts the joint cannot pass
    gravity_load: float  # fraction of max torque needed to hold the joint up (plausible present load)


@dataclass(frozen=True)
class SimArmSpec:
    key: str
    protocol: str
    joints: tuple[SimJoint, ...]
    leader: bool = False  # a hand-held leader arm: moved by a (scripted) hand, torque off

    def joint(self, name_or_id: str | int) -> SimJoint:
        for joint in self.joints:
            if name_or_id in (joint.name, joint.servo_id):
                return joint
        names = ", ".join(f"{j.servo_id}={j.name}" for j in self.joints)
        raise KeyError(f"the simulated {self.key} arm has no joint {name_or_id!r}; it has {names}")


def _stops(low_rad: float, high_rad: float) -> tuple[int, int]:
    return (round(2048 + low_rad * COUNTS_PER_RAD), round(2048 + high_rad * COUNTS_PER_RAD))


# Stops (radians about the middle) and small rest offsets: the arm rests close to its middle pose.
_STOPS = {
    "shoulder_pan": _stops(-2.0, 2.0),
    "shoulder_lift": _stops(-1.85, 1.85),
    "elbow_flex": _stops(-1.85, 1.85),
    "wrist_flex": _stops(-1.85, 1.85),
    "wrist_roll": _stops(-2.9, 2.9),
    "gripper": _stops(-0.7, 1.3),
}
_REST = {"shoulder_pan": 2051, "shoulder_lift": 2020, "elbow_flex": 2075, "wrist_flex": 2061, "wrist_roll": 2046,
         "gripper": 2035}
_GRAVITY = {"shoulder_pan": 0.02, "shoulder_lift": 0.18, "elbow_flex": 0.12, "wrist_flex": 0.05, "wrist_roll": 0.01,
            "gripper": 0.01}


def _arm(key: str, protocol: str, kinds: tuple[SimServoKind, ...], *, leader: bool = False) -> SimArmSpec:
    joints = tuple(
        SimJoint(name, i + 1, kinds[i], _REST[name], _STOPS[name], _GRAVITY[name]) for i, name in enumerate(JOINT_NAMES)
    )
    return SimArmSpec(key, protocol, joints, leader)


SIM_ARMS: dict[str, SimArmSpec] = {
    "so101": _arm("so101", "feetech", (STS3215,) * 6),
    "so100": _arm("so100", "feetech", (STS3215,) * 6),
    "koch": _arm("koch", "dynamixel", (XL430, XL430, XL330, XL330, XL330, XL330)),
    # Leaders: the same bytes; what differs is who moves them (a hand) and, on the Koch, the servo kind.
    "so101_leader": _arm("so101_leader", "feetech", (STS3215,) * 6, leader=True),
    "so100_leader": _arm("so100_leader", "feetech", (STS3215,) * 6, leader=True),
    "koch_leader": _arm("koch_leader", "dynamixel", (XL330_M077,) * 6, leader=True),
}
DEFAULT_MODEL = {"feetech": "so101", "dynamixel": "koch"}
_BY_NORMAL_KEY = {k.replace("_", ""): k for k in SIM_ARMS}


def sim_arm_spec(protocol: str | None = None, model: str | None = None) -> SimArmSpec:
    """Pick the arm: the model decides the protocol; a protocol alone picks its usual arm."""
    if protocol is not None and protocol not in DEFAULT_MODEL:
        raise ValueError(f"unknown protocol {protocol!r}: use 'feetech' (SO-100/SO-101) or 'dynamixel' (Koch)")
    normal = (model or DEFAULT_MODEL[protocol or "feetech"]).lower().replace("-", "").replace("_", "")
    if normal not in _BY_NORMAL_KEY:
        raise ValueError(f"unknown arm model {model!r}: choose one of {', '.join(SIM_ARMS)}")
    key = _BY_NORMAL_KEY[normal]
    spec = SIM_ARMS[key]
    if protocol is not None and protocol != spec.protocol:
        raise ValueError(
            f"the {key} arm uses {spec.protocol} servos, not {protocol}: drop --protocol or pick a matching --model"
        )
    return spec
