"""LeRobot's robot types, motor names and units, and the exact conversion from our radians.

LeRobot reports each motor in one of three normalisations (`MotorNormMode` in lerobot.motors), computed from
the present-position count `p` and the arm's LeRobot calibration (range_min, range_max, drive_mode):

* DEGREES:        (p - (range_min + range_max) / 2) * 360 / 4095
* RANGE_M100_100: (p - range_min) / (range_max - range_min) * 200 - 100   (negated when drive_mode is 1)
* RANGE_0_100:    (p - range_min) / (range_max - range_min) * 100         (100 - that when drive_mode is 1)

LeRobot applies drive_mode only on Feetech buses (SO-100/SO-101); on Dynamixel (Koch) the servo itself
reverses. The SO followers report their body joints in DEGREES (LeRobot's default since it made
`use_degrees=True`), the Koch follower in RANGE_M100_100; every gripper is RANGE_0_100.

Our radians come from the same count: p = middle + sign * rad / RAD_PER_COUNT (arm/calibration.py). Chaining
the two gives, per joint, an affine map value = a * rad + b; with the nominal calibration of an SO-101,
degrees = rad * 180/pi * 4096/4095. Unlike LeRobot we do not clamp readings into the calibrated range, so a
sample slightly beyond the range keeps its value and the map stays exactly invertible (round trips lossless).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from prop_desktop.arm.calibration import ArmCalibration
from prop_desktop.arm.models import COUNTS_PER_TURN, RAD_PER_COUNT, ArmModel, arm_model

from .lerobot_calibration import LeRobotCalibration, from_lerobot, to_lerobot


class NormMode(StrEnum):
    DEGREES = "degrees"
    RANGE_M100_100 = "range_m100_100"
    RANGE_0_100 = "range_0_100"


@dataclass(frozen=True)
class LeRobotRobot:
    """How LeRobot names and measures one of our arm models."""

    model_key: str
    robot_type: str  # what LeRobot writes as info.json "robot_type"
    body_mode: NormMode  # every joint but the gripper


ROBOTS: dict[str, LeRobotRobot] = {
    "so101": LeRobotRobot("so101", "so101_follower", NormMode.DEGREES),
    "so100": LeRobotRobot("so100", "so100_follower", NormMode.DEGREES),
    "koch": LeRobotRobot("koch", "koch_follower", NormMode.RANGE_M100_100),
}
# robot_type values LeRobot has written over its versions ("so_follower" is the shared SO-100/101 class).
ROBOT_TYPES: dict[str, str] = {
    "so101_follower": "so101", "so101": "so101", "so_follower": "so101",
    "so100_follower": "so100", "so100": "so100",
    "koch_follower": "koch", "koch": "koch",
}


def robot_for_model(model: ArmModel | str) -> LeRobotRobot:
    return ROBOTS[arm_model(model).key]


def robot_for_type(robot_type: object) -> LeRobotRobot:
    """The arm a dataset's robot_type names; ValueError naming the supported types otherwise."""
    key = ROBOT_TYPES.get(str(robot_type).lower()) if robot_type is not None else None
    if key is None:
        raise ValueError(
            f"the dataset was recorded with robot type {robot_type!r}; PRoP Desktop imports only "
            f"{', '.join(sorted(ROBOT_TYPES))} (SO-100/SO-101 and Koch followers)"
        )
    return ROBOTS[key]


def motor_names(model: ArmModel | str) -> list[str]:
    """LeRobot's feature names of the joints, in our joint order: shoulder_pan.pos ... gripper.pos."""
    return [f"{name}.pos" for name in arm_model(model).joint_names]


def _exact_counts(cal: ArmCalibration, q: np.ndarray) -> np.ndarray:
    """Radians -> fractional counts (ArmCalibration.radians_to_counts rounds for the servo; we must not)."""
    middle = np.array([j.middle for j in cal.joints], dtype=np.float64)
    sign = np.array([j.sign for j in cal.joints], dtype=np.float64)
    return middle + sign * np.asarray(q, dtype=np.float64) / RAD_PER_COUNT


class UnitConversion:
    """Radians <-> LeRobot units for one arm model, given the calibration both sides describe the arm with.

    `ours` is how our radians map to counts; `lerobot` is the LeRobot calibration LeRobot would normalise those
    counts with. By default both are the model's nominal calibration (0 rad = LeRobot's 0 degrees).
    """

    def __init__(self, model: ArmModel | str, lerobot: LeRobotCalibration | None = None,
                 body_mode: NormMode | None = None) -> None:
        self.model = arm_model(model)
        self.robot = robot_for_model(self.model)
        self.body_mode = body_mode or self.robot.body_mode
        ours: ArmCalibration
        if lerobot is None:
            ours = ArmCalibration.default(self.model)
            lerobot = to_lerobot(ours)
        else:
            ours = from_lerobot(lerobot, self.model)
        self.lerobot = lerobot
        at_zero = self._normalise(_exact_counts(ours, np.zeros(len(ours.joints))))
        at_one = self._normalise(_exact_counts(ours, np.ones(len(ours.joints))))
        self.offset = at_zero  # value = scale * rad + offset, per joint
        self.scale = at_one - at_zero

    def modes(self) -> list[NormMode]:
        return [NormMode.RANGE_0_100 if n == self.model.gripper else self.body_mode for n in self.model.joint_names]

    def _normalise(self, counts: np.ndarray) -> np.ndarray:
        flip_allowed = self.model.protocol == "feetech"  # LeRobot: apply_drive_mode only on Feetech buses
        out = np.empty(len(counts), dtype=np.float64)
        for k, (name, mode) in enumerate(zip(self.model.joint_names, self.modes(), strict=True)):
            m = self.lerobot[name]
            lo, hi, p = float(m.range_min), float(m.range_max), float(counts[k])
            flip = flip_allowed and m.drive_mode == 1
            if mode is NormMode.DEGREES:
                out[k] = (p - (lo + hi) / 2) * 360.0 / (COUNTS_PER_TURN - 1)
            elif mode is NormMode.RANGE_M100_100:
                v = (p - lo) / (hi - lo) * 200.0 - 100.0
                out[k] = -v if flip else v
            else:
                v = (p - lo) / (hi - lo) * 100.0
                out[k] = 100.0 - v if flip else v
        return out

    def to_lerobot(self, q_rad: np.ndarray) -> np.ndarray:
        """(T, 6) radians -> (T, 6) LeRobot units (float64)."""
        return np.asarray(np.asarray(q_rad, dtype=np.float64) * self.scale + self.offset, dtype=np.float64)

    def to_radians(self, values: np.ndarray) -> np.ndarray:
        """(T, 6) LeRobot units -> (T, 6) radians (float64)."""
        return np.asarray((np.asarray(values, dtype=np.float64) - self.offset) / self.scale, dtype=np.float64)


__all__ = ["ROBOTS", "ROBOT_TYPES", "LeRobotRobot", "NormMode", "UnitConversion", "motor_names",
           "robot_for_model", "robot_for_type"]
