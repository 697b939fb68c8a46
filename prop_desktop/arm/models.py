"""The arms we support: which servo sits on which id, what each joint is called, and its default range.

Everything above the servo bus speaks radians; 0 rad is the calibrated middle pose of each joint (shared
convention). The default ranges here are conservative mechanical limits used until the arm is calibrated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

JOINT_NAMES: tuple[str, ...] = ("shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper")
GRIPPER = "gripper"
COUNTS_PER_TURN = 4096
MIDDLE_COUNT = 2048
RAD_PER_COUNT = 2.0 * math.pi / COUNTS_PER_TURN


@dataclass(frozen=True)
class VoltageBand:
    """A supply voltage range that is fine for a servo, with the name of the supply people use."""

    low: float
    high: float
    supply: str

    def contains(self, volts: float) -> bool:
        return self.low <= volts <= self.high


@dataclass(frozen=True)
class ServoModel:
    """One kind of servo: its model number on the bus and the supply voltages it runs on."""

    name: str
    model_number: int
    voltage_bands: tuple[VoltageBand, ...]
    max_temperature_c: float  # the watchdog releases torque above this

    def voltage_ok(self, volts: float) -> bool:
        return any(band.contains(volts) for band in self.voltage_bands)

    def voltage_hint(self) -> str:
        return " or ".join(f"{b.supply} ({b.low:g}-{b.high:g} V)" for b in self.voltage_bands)


# STS3215 comes as a 7.4 V version (run from 5-7.4 V supplies) and a 12 V version; both report model 777, so a
# reading is fine when it lies in either band. A reading between the bands is an odd supply: we flag it.
STS3215 = ServoModel(
    "STS3215",
    777,
    (VoltageBand(4.5, 8.4, "a 5 V or 7.4 V supply"), VoltageBand(10.5, 13.0, "a 12 V supply")),
    max_temperature_c=65.0,
)
XL430_W250 = ServoModel("XL430-W250", 1060, (VoltageBand(6.5, 12.6, "a 12 V supply"),), max_temperature_c=65.0)
XL330_M288 = ServoModel("XL330-M288", 1200, (VoltageBand(3.7, 6.0, "a 5 V supply"),), max_temperature_c=65.0)
# The Koch leader's servos: the low-torque XL330 (easy to move by hand, strong enough for the gripper trigger).
XL330_M077 = ServoModel("XL330-M077", 1190, (VoltageBand(3.7, 6.0, "a 5 V supply"),), max_temperature_c=65.0)


@dataclass(frozen=True)
class JointSpec:
    """One joint: its name, servo id and kind, default range in radians and default direction."""

    name: str
    servo_id: int
    servo: ServoModel
    default_range: tuple[float, float]  # radians around the middle pose, used until calibrated
    sign: int = 1  # +1 or -1: which way of the servo is the joint's positive direction


@dataclass(frozen=True)
class ArmModel:
    """An arm: a protocol, a baud rate and six joints in the shared order; the last one is the gripper."""

    key: str
    display_name: str
    protocol: str  # "feetech" or "dynamixel"
    baudrate: int
    joints: tuple[JointSpec, ...]
    gripper: str = GRIPPER
    # A leader arm is the hand-held twin a follower mirrors: its torque stays off (the Koch leader's gripper
    # excepted: a spring-back trigger); it is read, never commanded.
    is_leader: bool = False

    @property
    def joint_names(self) -> list[str]:
        return [j.name for j in self.joints]

    @property
    def servo_ids(self) -> list[int]:
        return [j.servo_id for j in self.joints]

    @property
    def gripper_index(self) -> int:
        return self.joint_names.index(self.gripper)

    def joint(self, name: str) -> JointSpec:
        for j in self.joints:
            if j.name == name:
                return j
        raise KeyError(f"{self.display_name} has no joint {name!r}; joints are {', '.join(self.joint_names)}")


def _so_arm(key: str, display_name: str, *, leader: bool = False) -> ArmModel:
    # The SO-101 leader uses STS3215s with other gear ratios (1/191 on ids 1 and 3, 1/345 on id 2, 1/147 on
    # ids 4-6: light to move by hand). The encoder sits on the output shaft, so counts mean the same angle and
    # the bus sees the same model number (777): only the role differs.
    ranges = {
        "shoulder_pan": (-1.9, 1.9),
        "shoulder_lift": (-1.7, 1.7),
        "elbow_flex": (-1.7, 1.7),
        "wrist_flex": (-1.7, 1.7),
        "wrist_roll": (-2.8, 2.8),
        "gripper": (-0.6, 1.2),
    }
    joints = tuple(JointSpec(n, i + 1, STS3215, ranges[n]) for i, n in enumerate(JOINT_NAMES))
    return ArmModel(key, display_name, "feetech", 1_000_000, joints, is_leader=leader)


def _koch() -> ArmModel:
    ranges = {
        "shoulder_pan": (-1.9, 1.9),
        "shoulder_lift": (-1.7, 1.7),
        "elbow_flex": (-1.7, 1.7),
        "wrist_flex": (-1.7, 1.7),
        "wrist_roll": (-2.8, 2.8),
        "gripper": (-0.6, 1.0),
    }
    joints = tuple(
        JointSpec(n, i + 1, XL430_W250 if i < 2 else XL330_M288, ranges[n]) for i, n in enumerate(JOINT_NAMES)
    )
    # Koch arms leave the factory at 57 600 baud; LeRobot's set-up raises them to 1 Mbaud, which we expect.
    return ArmModel("koch", "Koch v1.1 follower", "dynamixel", 1_000_000, joints)


def _koch_leader() -> ArmModel:
    ranges = dict(zip(JOINT_NAMES, (j.default_range for j in KOCH.joints), strict=True))
    # Six XL330-M077. Its elbow servo is mounted the other way round (LeRobot's koch_leader inverts the
    # elbow's drive mode), so its positive direction is the servo's negative one.
    joints = tuple(
        JointSpec(n, i + 1, XL330_M077, ranges[n], sign=-1 if n == "elbow_flex" else 1)
        for i, n in enumerate(JOINT_NAMES)
    )
    return ArmModel("koch_leader", "Koch v1.1 leader", "dynamixel", 1_000_000, joints, is_leader=True)


SO101 = _so_arm("so101", "SO-101 follower")
SO100 = _so_arm("so100", "SO-100 follower")
KOCH = _koch()
SO101_LEADER = _so_arm("so101_leader", "SO-101 leader", leader=True)
SO100_LEADER = _so_arm("so100_leader", "SO-100 leader", leader=True)
KOCH_LEADER = _koch_leader()

ARM_MODELS: dict[str, ArmModel] = {m.key: m for m in (SO101, SO100, KOCH)}  # the arms that move (followers)
LEADER_MODELS: dict[str, ArmModel] = {m.key: m for m in (SO101_LEADER, SO100_LEADER, KOCH_LEADER)}
# Which leader people pair with each follower (the same kit).
LEADER_FOR: dict[str, str] = {"so101": "so101_leader", "so100": "so100_leader", "koch": "koch_leader"}


def _normal(key: str) -> str:
    return key.lower().replace("-", "").replace("_", "")


_BY_NORMAL_KEY = {_normal(k): m for k, m in {**ARM_MODELS, **LEADER_MODELS}.items()}


def arm_model(key: str | ArmModel) -> ArmModel:
    """Look an arm model up by key ("so101", "so100", "koch", "so101_leader", ...); a clear error names the
    choices."""
    if isinstance(key, ArmModel):
        return key
    try:
        return _BY_NORMAL_KEY[_normal(key)]
    except KeyError:
        choices = ", ".join([*ARM_MODELS, *LEADER_MODELS])
        raise ValueError(f"unknown arm model {key!r}; choose one of: {choices}") from None


def leader_model_for(follower: str | ArmModel) -> ArmModel:
    """The leader arm of the same kit as `follower` (so101 -> so101_leader, koch -> koch_leader)."""
    return LEADER_MODELS[LEADER_FOR[arm_model(follower).key]]
