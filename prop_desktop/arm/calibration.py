"""Calibration: raw servo counts <-> joint radians, per arm (stored by calibration_store.py) and reused.

A joint's calibration says which servo count is 0 rad (the middle pose), which way is positive (sign) and the
range the joint moved through during the range sweep. The guided procedure (see `Calibration`) first writes
each servo's homing offset so that the middle pose reads 2048: the sweep then stays within 0..4095 and never
crosses the 0/4095 wrap, which is what makes goals safe to command. Conversions still wrap differences into
[-2048, 2048) so a reading just across the wrap is never mistaken for a full turn.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, overload

import numpy as np

from prop_desktop.arm.bus import ServoBus
from prop_desktop.arm.models import COUNTS_PER_TURN, MIDDLE_COUNT, RAD_PER_COUNT, ArmModel, arm_model

FORMAT_VERSION = 1
HALF_TURN = COUNTS_PER_TURN // 2
# A calibrated range narrower than this (counts) means the joint was not moved during the sweep.
MIN_SWEEP_COUNTS = 200


class CalibrationError(ValueError):
    """A calibration that cannot be used or finished; the message says what to do."""


@overload
def wrap_counts(delta: np.ndarray) -> np.ndarray: ...
@overload
def wrap_counts(delta: int) -> int: ...
def wrap_counts(delta: np.ndarray | int) -> np.ndarray | int:
    """Wrap a count difference into [-2048, 2048): the short way round the circle."""
    if isinstance(delta, np.ndarray):
        wrapped: np.ndarray = (np.asarray(delta) + HALF_TURN) % COUNTS_PER_TURN - HALF_TURN
        return wrapped
    return (int(delta) + HALF_TURN) % COUNTS_PER_TURN - HALF_TURN


@dataclass
class JointCalibration:
    """One joint. Counts are servo 'present position' counts after the homing offset."""

    name: str
    servo_id: int
    middle: int = MIDDLE_COUNT  # count that is 0 rad
    sign: int = 1
    min_count: int = 0  # the swept range in counts (min_count <= middle <= max_count)
    max_count: int = COUNTS_PER_TURN - 1
    homing_offset: int = 0  # what calibration wrote into the servo

    @property
    def range_rad(self) -> tuple[float, float]:
        a = (self.min_count - self.middle) * RAD_PER_COUNT * self.sign
        b = (self.max_count - self.middle) * RAD_PER_COUNT * self.sign
        return (min(a, b), max(a, b))


@dataclass
class ArmCalibration:
    """All six joints of one arm, in the model's joint order."""

    model_key: str
    arm_id: str
    joints: list[JointCalibration]
    created: str = ""
    calibrated: bool = True  # False for the uncalibrated defaults

    # -- construction ---------------------------------------------------------------------------------
    @classmethod
    def default(cls, model: ArmModel | str, arm_id: str = "") -> ArmCalibration:
        """The uncalibrated mapping: 2048 is 0 rad, the model's default ranges and directions."""
        model = arm_model(model)
        joints = []
        for j in model.joints:
            lo, hi = j.default_range
            c_lo = MIDDLE_COUNT + round(lo / RAD_PER_COUNT) * j.sign
            c_hi = MIDDLE_COUNT + round(hi / RAD_PER_COUNT) * j.sign
            joints.append(
                JointCalibration(j.name, j.servo_id, MIDDLE_COUNT, j.sign, min(c_lo, c_hi), max(c_lo, c_hi))
            )
        return cls(model.key, arm_id, joints, created="", calibrated=False)

    # -- conversions ----------------------------------------------------------------------------------
    @property
    def joint_names(self) -> list[str]:
        return [j.name for j in self.joints]

    @property
    def servo_ids(self) -> list[int]:
        return [j.servo_id for j in self.joints]

    def _arrays(self) -> tuple[np.ndarray, np.ndarray]:
        middle = np.array([j.middle for j in self.joints], dtype=np.int64)
        sign = np.array([j.sign for j in self.joints], dtype=np.int64)
        return middle, sign

    def counts_to_radians(self, counts: np.ndarray | list[int]) -> np.ndarray:
        """Present-position counts (N joints, or (T, N)) -> radians, wrapping the difference the short way."""
        middle, sign = self._arrays()
        delta = wrap_counts(np.asarray(counts, dtype=np.int64) - middle)
        radians: np.ndarray = (sign * delta * RAD_PER_COUNT).astype(np.float64)
        return radians

    def radians_to_counts(self, q: np.ndarray | list[float]) -> np.ndarray:
        """Radians -> goal counts (int64). Callers clamp radians to `limits()` first; this never wraps."""
        middle, sign = self._arrays()
        counts: np.ndarray = middle + sign * np.rint(np.asarray(q, dtype=np.float64) / RAD_PER_COUNT).astype(np.int64)
        return counts

    def limits(self) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper joint limits in radians (arrays in joint order)."""
        ranges = [j.range_rad for j in self.joints]
        return np.array([r[0] for r in ranges]), np.array([r[1] for r in ranges])

    # -- JSON -----------------------------------------------------------------------------------------
    def to_json(self) -> dict[str, object]:
        return {
            "version": FORMAT_VERSION,
            "model": self.model_key,
            "arm_id": self.arm_id,
            "created": self.created,
            "joints": [asdict(j) for j in self.joints],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ArmCalibration:  # parsed JSON: any shape until checked
        if not isinstance(data, Mapping) or data.get("version") != FORMAT_VERSION:
            raise CalibrationError("this calibration file is from another version; calibrate the arm again")
        model = arm_model(str(data["model"]))
        joints = [_joint_from_json(j) for j in data["joints"]]
        if [j.name for j in joints] != model.joint_names:
            raise CalibrationError(f"calibration joints do not match the {model.display_name}; calibrate again")
        for j in joints:
            if j.sign not in (1, -1) or not (j.min_count <= j.middle <= j.max_count):
                raise CalibrationError(f"calibration of {j.name} is inconsistent; calibrate the arm again")
        return cls(model.key, str(data.get("arm_id", "")), joints, created=str(data.get("created", "")))


# -- where calibrations live ------------------------------------------------------------------------------
def _joint_from_json(data: Mapping[str, Any]) -> JointCalibration:
    fields: dict[str, Any] = {k: (v if k == "name" else int(v)) for k, v in data.items()}
    return JointCalibration(**fields)


def arm_id_for(model: ArmModel | str, *, serial_number: str | None = None, port: str | None = None) -> str:
    """A stable name for one physical arm: its adapter's USB serial number when it has one, else the port."""
    model = arm_model(model)
    if serial_number:
        tail = f"sn-{serial_number}"
    elif port:
        tail = f"port-{port}"
    else:
        tail = "unknown"
    return f"{model.key}-" + re.sub(r"[^A-Za-z0-9._-]+", "_", tail).strip("_")


# -- the guided procedure ---------------------------------------------------------------------------------
def homing_offset_for(protocol: str, actual: int) -> int:
    """The homing offset that makes a servo at raw position `actual` read 2048.

    Feetech: present = actual - offset, offset is sign-magnitude with 11 bits (so limited to +-2047).
    Dynamixel: present = actual + offset.
    """
    if protocol == "feetech":
        return int(max(-2047, min(2047, actual - MIDDLE_COUNT)))
    if protocol == "dynamixel":
        return int(MIDDLE_COUNT - actual)
    raise ValueError(f"unknown protocol {protocol!r}")


def actual_position(protocol: str, present: int, offset: int) -> int:
    """The raw encoder position (0..4095) from a present reading and the homing offset in force."""
    if protocol == "feetech":
        return (present + offset) % COUNTS_PER_TURN
    if protocol == "dynamixel":
        return (present - offset) % COUNTS_PER_TURN
    raise ValueError(f"unknown protocol {protocol!r}")


class RangeSweep:
    """Tracks each joint's range during the sweep, unwrapping across 0/4095 between samples."""

    def __init__(self, middle: np.ndarray) -> None:
        self.middle = np.asarray(middle, dtype=np.int64)
        self.rel = np.zeros_like(self.middle)  # unwrapped displacement from the middle
        self.prev: np.ndarray | None = None
        self.rel_min = np.zeros_like(self.middle)
        self.rel_max = np.zeros_like(self.middle)
        self.samples = 0

    def add(self, counts: np.ndarray) -> None:
        counts = np.asarray(counts, dtype=np.int64)
        if self.prev is None:
            self.rel = wrap_counts(counts - self.middle)
        else:
            # Between two samples a joint moves far less than half a turn, so the short way is the real way.
            self.rel = self.rel + wrap_counts(counts - self.prev)
        self.prev = counts
        self.rel_min = np.minimum(self.rel_min, self.rel)
        self.rel_max = np.maximum(self.rel_max, self.rel)
        self.samples += 1

    def ranges(self) -> tuple[np.ndarray, np.ndarray]:
        """Swept (min, max) in counts, limited to one turn around the middle (continuous joints)."""
        lo = np.maximum(self.rel_min, -(HALF_TURN - 1))
        hi = np.minimum(self.rel_max, HALF_TURN - 1)
        return self.middle + lo, self.middle + hi


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def span_ok(lo: int, hi: int) -> bool:
    return hi - lo >= MIN_SWEEP_COUNTS


def degrees(rad: float) -> float:
    return math.degrees(rad)


class CalibratableArm(Protocol):
    """What the guided calibration needs of an arm (arm.Arm is one; the arm module builds on this one)."""

    model: ArmModel
    bus: ServoBus
    ids: list[int]
    arm_id: str

    @property
    def estopped(self) -> bool: ...

    def release_torque(self, reason: str | None = None) -> bool: ...

    def reset_estop(self) -> None: ...

    def write_eeprom(self, register: str, values: dict[int, int]) -> None: ...

    def read_counts(self) -> np.ndarray: ...

    def set_calibration(self, calibration: ArmCalibration, *, save: bool = False) -> None: ...


class Calibration:
    """The guided calibration, one step at a time (a UI wizard or a script drives it).

    Steps: "middle" -> `record_middle()`; "sweep" -> call `sample()` repeatedly (20-50 Hz) while the user
    moves every joint through its whole range; optionally `record_direction(joint)` while a joint is held
    towards its positive side; then `finish()` stores and applies the calibration. `cancel()` restores the
    servos' previous homing offsets. Torque stays off throughout (the user moves the arm by hand).
    """

    INSTRUCTIONS = {
        "middle": "Move the arm to its middle pose: every joint in the middle of its range (upper arm and "
        "forearm at right angles, wrist straight, gripper half open), hold it still, then record.",
        "sweep": "Move every joint slowly through its whole range, one after the other, end to end; the "
        "ranges fill in as you go. Finish when each joint has reached both ends.",
        "done": "Calibration stored. It is reused every time this arm is connected.",
        "cancelled": "Calibration cancelled; the previous calibration is still in force.",
    }

    def __init__(self, arm: CalibratableArm) -> None:
        self.arm = arm
        self.model = arm.model
        self.step = "middle"
        self.middle: np.ndarray | None = None
        self.offsets: np.ndarray | None = None
        self.signs = np.array([j.sign for j in self.model.joints], dtype=np.int64)
        self._sweep: RangeSweep | None = None
        self._old_offsets: dict[int, int] | None = None
        self._old_limits: tuple[dict[int, int], dict[int, int]] | None = None
        arm.release_torque()
        if arm.estopped:
            arm.reset_estop()

    @property
    def instructions(self) -> str:
        return self.INSTRUCTIONS[self.step]

    def record_middle(self) -> np.ndarray:
        """Write homing offsets so the present pose reads 2048 on every servo; returns those offsets."""
        self._expect("middle", "sweep")
        bus, ids, protocol = self.arm.bus, self.arm.ids, self.model.protocol
        old = bus.sync_read_register("homing_offset", ids)
        present = bus.sync_read_register("present_position", ids)
        if self._old_offsets is None:
            self._old_offsets = dict(old)
        actual = {i: actual_position(protocol, present[i], old[i]) for i in ids}
        offsets = {i: homing_offset_for(protocol, actual[i]) for i in ids}
        self.arm.release_torque()
        if self._old_limits is None:
            self._old_limits = (
                bus.sync_read_register("min_position_limit", ids),
                bus.sync_read_register("max_position_limit", ids),
            )
        self.arm.write_eeprom("min_position_limit", {i: 0 for i in ids})
        self.arm.write_eeprom("max_position_limit", {i: COUNTS_PER_TURN - 1 for i in ids})
        self.arm.write_eeprom("homing_offset", offsets)
        after = bus.sync_read_register("present_position", ids)
        middle = np.array([after[i] for i in ids], dtype=np.int64)
        moved = [n for n, m in zip(self.model.joint_names, middle, strict=True) if abs(int(m) - MIDDLE_COUNT) > 60]
        if moved:
            raise CalibrationError(
                f"the arm moved while recording the middle pose ({', '.join(moved)}); hold it still and record again"
            )
        self.middle = middle
        self.offsets = np.array([offsets[i] for i in ids], dtype=np.int64)
        self._sweep = RangeSweep(middle)
        self._sweep.add(middle)
        self.step = "sweep"
        return self.offsets.copy()

    def sample(self) -> np.ndarray:
        """Read the joints once during the sweep; returns the present counts."""
        self._expect("sweep")
        assert self._sweep is not None
        counts = self.arm.read_counts()
        self._sweep.add(counts)
        return counts

    def ranges_rad(self) -> dict[str, tuple[float, float]]:
        """The range swept so far per joint, in radians (for a live display)."""
        self._expect("sweep", "done")
        assert self._sweep is not None and self.middle is not None
        lo, hi = self._sweep.ranges()
        out = {}
        for k, name in enumerate(self.model.joint_names):
            a = (lo[k] - self.middle[k]) * RAD_PER_COUNT * self.signs[k]
            b = (hi[k] - self.middle[k]) * RAD_PER_COUNT * self.signs[k]
            out[name] = (float(min(a, b)), float(max(a, b)))
        return out

    def joints_not_swept(self) -> list[str]:
        assert self._sweep is not None
        lo, hi = self._sweep.ranges()
        return [n for k, n in enumerate(self.model.joint_names) if not span_ok(int(lo[k]), int(hi[k]))]

    def record_direction(self, joint: str) -> int:
        """While the user holds `joint` towards what should be its positive side, fix its sign; returns it."""
        self._expect("sweep")
        assert self.middle is not None
        k = self.model.joint_names.index(joint)
        delta = int(wrap_counts(int(self.arm.read_counts()[k]) - int(self.middle[k])))
        if abs(delta) < 50:
            raise CalibrationError(f"{joint} is still near its middle: move it further towards its positive side")
        self.signs[k] = 1 if delta > 0 else -1
        return int(self.signs[k])

    def finish(self, *, save: bool = True) -> ArmCalibration:
        """Build the calibration, apply it to the arm and (by default) store it; CalibrationError if incomplete."""
        self._expect("sweep")
        assert self._sweep is not None and self.middle is not None and self.offsets is not None
        missing = self.joints_not_swept()
        if missing:
            raise CalibrationError(
                f"these joints were not moved through their range yet: {', '.join(missing)}. "
                "Move each of them end to end, then finish."
            )
        lo, hi = self._sweep.ranges()
        joints = []
        for k, spec in enumerate(self.model.joints):
            middle = int(self.middle[k])
            if spec.name == self.model.gripper:
                # Shared convention: the gripper's 0 rad is the middle of its range, not where it was held.
                middle = int(round((int(lo[k]) + int(hi[k])) / 2))
            joints.append(
                JointCalibration(
                    spec.name, spec.servo_id, middle, int(self.signs[k]), int(lo[k]), int(hi[k]), int(self.offsets[k])
                )
            )
        cal = ArmCalibration(self.model.key, self.arm.arm_id, joints, created=now_iso())
        # The servos' own position limits become the swept range: a second guard below the software clamp
        # (and it replaces limits another tool set for the old homing offsets, which could block motion).
        lows = {j.servo_id: max(0, j.min_count) for j in joints}
        highs = {j.servo_id: min(COUNTS_PER_TURN - 1, j.max_count) for j in joints}
        self.arm.write_eeprom("min_position_limit", lows)
        self.arm.write_eeprom("max_position_limit", highs)
        self.arm.set_calibration(cal, save=save)
        self.step = "done"
        return cal

    def cancel(self) -> None:
        """Abandon the calibration and put the previous homing offsets and position limits back."""
        if self._old_offsets is not None and self.step != "done":
            self.arm.write_eeprom("homing_offset", self._old_offsets)
        if self._old_limits is not None and self.step != "done":
            self.arm.write_eeprom("min_position_limit", self._old_limits[0])
            self.arm.write_eeprom("max_position_limit", self._old_limits[1])
        self.step = "cancelled"

    def _expect(self, *steps: str) -> None:
        if self.step not in steps:
            raise CalibrationError(f"calibration is at step {self.step!r}; this needs step {' or '.join(steps)}")
