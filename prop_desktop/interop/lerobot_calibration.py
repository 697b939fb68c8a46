"""LeRobot calibration files <-> our `ArmCalibration`.

LeRobot keeps one JSON file per arm, an object keyed by motor name whose values are
`{"id", "drive_mode", "homing_offset", "range_min", "range_max"}`. The counts mean the same as ours: the homing
offset is the value in the servo's register (Feetech: present = actual - offset; Dynamixel: present = actual +
offset) and the range is in present-position counts under that offset. What differs:

* LeRobot's middle pose reads 2047 (half of 4095, `set_half_turn_homings`); ours reads 2048. A LeRobot file
  therefore becomes a calibration whose 0 rad is count 2047 for the body joints; the gripper's 0 rad is the
  middle of its range, as in our own calibration.
* LeRobot has no sign per joint; `drive_mode` 1 marks a reversed joint, and we map it to our sign -1.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from prop_desktop.arm.calibration import ArmCalibration, CalibrationError, JointCalibration, now_iso
from prop_desktop.arm.models import COUNTS_PER_TURN, ArmModel, arm_model

if TYPE_CHECKING:
    from prop_desktop.arm.arm import Arm

# LeRobot's middle pose after `set_half_turn_homings`: int((4096 - 1) / 2).
LEROBOT_HALF_TURN = (COUNTS_PER_TURN - 1) // 2
FEETECH_MAX_OFFSET = 2047  # 11-bit magnitude + sign bit in the STS3215's homing offset register
FIELDS = ("id", "drive_mode", "homing_offset", "range_min", "range_max")


@dataclass(frozen=True)
class MotorCalibration:
    """One motor of a LeRobot calibration file."""

    id: int
    drive_mode: int
    homing_offset: int
    range_min: int
    range_max: int


LeRobotCalibration = dict[str, MotorCalibration]


def parse_lerobot_calibration(data: object, model: ArmModel | str, *, source: str = "the file") -> LeRobotCalibration:
    """Check a decoded LeRobot calibration against the arm model; CalibrationError names what is wrong."""
    model = arm_model(model)
    if not isinstance(data, dict):
        raise CalibrationError(f"{source} is not a LeRobot calibration (expected a JSON object keyed by motor name)")
    missing = [n for n in model.joint_names if n not in data]
    extra = [n for n in data if n not in model.joint_names]
    if missing or extra:
        raise CalibrationError(
            f"{source} does not describe a {model.display_name}: "
            + (f"missing motors {', '.join(missing)}" if missing else "")
            + ("; " if missing and extra else "")
            + (f"unknown motors {', '.join(map(str, extra))}" if extra else "")
            + ". Use the calibration file of the follower arm of this model."
        )
    out: LeRobotCalibration = {}
    for spec in model.joints:
        entry = data[spec.name]
        if not isinstance(entry, dict) or any(k not in entry for k in FIELDS):
            raise CalibrationError(f"{source}: motor {spec.name} needs the fields {', '.join(FIELDS)}")
        try:
            motor = MotorCalibration(**{k: int(entry[k]) for k in FIELDS})
        except (TypeError, ValueError):
            raise CalibrationError(f"{source}: motor {spec.name} has a field that is not a whole number") from None
        problem = _motor_problem(motor, spec.servo_id, model)
        if problem:
            raise CalibrationError(f"{source}: motor {spec.name} {problem}")
        out[spec.name] = motor
    return out


def _motor_problem(motor: MotorCalibration, servo_id: int, model: ArmModel) -> str | None:
    if motor.id != servo_id:
        return f"has id {motor.id}, but on the {model.display_name} it is servo {servo_id}"
    if motor.drive_mode not in (0, 1):
        return f"has drive_mode {motor.drive_mode} (expected 0 or 1)"
    if not (0 <= motor.range_min < motor.range_max <= COUNTS_PER_TURN - 1):
        return f"has the range {motor.range_min}..{motor.range_max}; expected 0 <= range_min < range_max <= 4095"
    if model.protocol == "feetech" and abs(motor.homing_offset) > FEETECH_MAX_OFFSET:
        return f"has homing_offset {motor.homing_offset}, beyond what an STS3215 can hold (+-2047)"
    return None


# LeRobot's robot names per model, as its calibration folders are named (so_follower: newer LeRobot, both SO arms).
CALIBRATION_FOLDERS = {"so101": ("so101_follower", "so_follower"), "so100": ("so100_follower", "so_follower"),
                       "koch": ("koch_follower",),
                       # Leader arms are LeRobot "teleoperators": calibration/teleoperators/<name>/ID.json.
                       "so101_leader": ("so101_leader", "so_leader"), "so100_leader": ("so100_leader", "so_leader"),
                       "koch_leader": ("koch_leader",)}


def lerobot_calibration_dir() -> Path:
    """Where LeRobot keeps calibrations: $HF_LEROBOT_CALIBRATION, else $HF_LEROBOT_HOME/calibration, else
    $HF_HOME/lerobot/calibration, else ~/.cache/huggingface/lerobot/calibration (as LeRobot resolves it)."""
    if os.environ.get("HF_LEROBOT_CALIBRATION"):
        return Path(os.environ["HF_LEROBOT_CALIBRATION"]).expanduser()
    if os.environ.get("HF_LEROBOT_HOME"):
        return Path(os.environ["HF_LEROBOT_HOME"]).expanduser() / "calibration"
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    hf_home = Path(os.environ.get("HF_HOME") or cache / "huggingface").expanduser()
    return hf_home / "lerobot" / "calibration"


def lerobot_calibration_files(model: ArmModel | str) -> list[Path]:
    """LeRobot calibration files of arms of this model (followers, or leaders) on this computer (to offer
    instead of calibrating); newest first."""
    model = arm_model(model)
    root = lerobot_calibration_dir() / ("teleoperators" if model.is_leader else "robots")
    found = [p for name in CALIBRATION_FOLDERS[model.key] for p in (root / name).glob("*.json")]
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def read_lerobot_calibration(path: Path, model: ArmModel | str) -> LeRobotCalibration:
    """Read a LeRobot calibration JSON file (e.g. ~/.cache/huggingface/lerobot/calibration/robots/...)."""
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise CalibrationError(f"no calibration file {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CalibrationError(f"cannot read the calibration file {path}: {exc}") from None
    return parse_lerobot_calibration(data, model, source=str(path))


def write_lerobot_calibration(calibration: LeRobotCalibration, path: Path) -> Path:
    """Write LeRobot's JSON layout atomically (a calibration is not secret: counts of one arm's servos)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".lerobot-cal-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump({name: asdict(m) for name, m in calibration.items()}, fh, indent=4)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def to_lerobot(cal: ArmCalibration) -> LeRobotCalibration:
    """Our calibration as LeRobot writes it: the servo's homing offset and the swept range, as they are."""
    out: LeRobotCalibration = {}
    for j in cal.joints:
        out[j.name] = MotorCalibration(
            id=j.servo_id,
            drive_mode=1 if j.sign < 0 else 0,
            homing_offset=j.homing_offset,
            range_min=max(0, j.min_count),
            range_max=min(COUNTS_PER_TURN - 1, j.max_count),
        )
    return out


def from_lerobot(lr: LeRobotCalibration, model: ArmModel | str, arm_id: str = "") -> ArmCalibration:
    """A LeRobot calibration as ours, so someone who calibrated with LeRobot need not calibrate again."""
    model = arm_model(model)
    joints = []
    for spec in model.joints:
        m = lr[spec.name]
        if spec.name == model.gripper:
            middle = (m.range_min + m.range_max) // 2
        else:
            middle = min(max(LEROBOT_HALF_TURN, m.range_min), m.range_max)
        sign = -1 if m.drive_mode else 1
        joints.append(
            JointCalibration(spec.name, spec.servo_id, middle, sign, m.range_min, m.range_max, m.homing_offset)
        )
    return ArmCalibration(model.key, arm_id, joints, created=now_iso())


def apply_lerobot_calibration(arm: Arm, lr: LeRobotCalibration) -> ArmCalibration:
    """Use a LeRobot calibration on a connected arm instead of calibrating: store it as this arm's calibration,
    and write its homing offsets and position limits into the servos (as LeRobot does). Torque goes off."""
    cal = from_lerobot(lr, arm.model, arm.arm_id)
    arm.release_torque()
    arm.write_eeprom("homing_offset", {m.id: m.homing_offset for m in lr.values()})
    arm.write_eeprom("min_position_limit", {m.id: m.range_min for m in lr.values()})
    arm.write_eeprom("max_position_limit", {m.id: m.range_max for m in lr.values()})
    arm.set_calibration(cal, save=True)
    return cal
