"""LeRobot calibration files and units: read, write, apply to a (simulated) arm, and LeRobot's normalisation."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from prop_desktop.arm.calibration import CalibrationError
from prop_desktop.arm.calibration_store import CalibrationStore
from prop_desktop.arm.models import RAD_PER_COUNT
from prop_desktop.cli.main import main
from prop_desktop.interop.lerobot_calibration import (
    from_lerobot,
    read_lerobot_calibration,
    to_lerobot,
    write_lerobot_calibration,
)
from prop_desktop.interop.lerobot_units import NormMode, UnitConversion

# As LeRobot writes it after `lerobot-calibrate` of an SO-101 follower (indent 4, motor order, these fields).
SO101_FILE = {
    "shoulder_pan": {"id": 1, "drive_mode": 0, "homing_offset": -1330, "range_min": 770, "range_max": 3220},
    "shoulder_lift": {"id": 2, "drive_mode": 0, "homing_offset": 120, "range_min": 830, "range_max": 3180},
    "elbow_flex": {"id": 3, "drive_mode": 0, "homing_offset": 1423, "range_min": 860, "range_max": 3090},
    "wrist_flex": {"id": 4, "drive_mode": 0, "homing_offset": -860, "range_min": 870, "range_max": 3200},
    "wrist_roll": {"id": 5, "drive_mode": 0, "homing_offset": 95, "range_min": 0, "range_max": 4095},
    "gripper": {"id": 6, "drive_mode": 0, "homing_offset": 1050, "range_min": 2020, "range_max": 3450},
}


def _write(folder: Path, data: object, name: str = "so101.json") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(json.dumps(data, indent=4))
    return path


def test_a_lerobot_file_becomes_our_calibration_and_back_unchanged(tmp_path):
    lr = read_lerobot_calibration(_write(tmp_path, SO101_FILE), "so101")
    ours = from_lerobot(lr, "so101", "so101-sn-1")
    # LeRobot's middle pose reads 2047 after its half-turn homing; the gripper's 0 rad is its range's middle.
    assert [j.middle for j in ours.joints] == [2047, 2047, 2047, 2047, 2047, (2020 + 3450) // 2]
    assert [j.homing_offset for j in ours.joints] == [m["homing_offset"] for m in SO101_FILE.values()]
    lo, hi = ours.limits()
    assert lo[0] == pytest.approx((770 - 2047) * RAD_PER_COUNT)
    assert hi[0] == pytest.approx((3220 - 2047) * RAD_PER_COUNT)
    out = write_lerobot_calibration(to_lerobot(ours), tmp_path / "again.json")
    assert json.loads(out.read_text()) == SO101_FILE


def test_drive_mode_is_our_sign():
    data = json.loads(json.dumps(SO101_FILE))
    data["wrist_flex"]["drive_mode"] = 1
    ours = from_lerobot(read_lerobot_calibration_from(data), "so101")
    assert [j.sign for j in ours.joints] == [1, 1, 1, -1, 1, 1]
    assert to_lerobot(ours)["wrist_flex"].drive_mode == 1


def read_lerobot_calibration_from(data: dict):
    from prop_desktop.interop.lerobot_calibration import parse_lerobot_calibration

    return parse_lerobot_calibration(data, "so101")


@pytest.mark.parametrize(("edit", "message"), [
    (lambda d: d.pop("gripper"), "missing motors gripper"),
    (lambda d: d.update(elbow=d.pop("elbow_flex")), "unknown motors elbow"),
    (lambda d: d["elbow_flex"].update(id=7), "has id 7, but on the SO-101 follower it is servo 3"),
    (lambda d: d["elbow_flex"].update(range_min=3100), "range_min < range_max"),
    (lambda d: d["elbow_flex"].update(homing_offset=2500), "beyond what an STS3215 can hold"),
    (lambda d: d["elbow_flex"].pop("drive_mode"), "needs the fields"),
])
def test_a_broken_lerobot_file_names_the_problem(tmp_path, edit, message):
    data = json.loads(json.dumps(SO101_FILE))
    edit(data)
    with pytest.raises(CalibrationError, match=message):
        read_lerobot_calibration(_write(tmp_path, data), "so101")


def test_a_file_that_is_not_json_says_so(tmp_path):
    path = tmp_path / "cal.json"
    path.write_text("{not json")
    with pytest.raises(CalibrationError, match="cannot read the calibration file"):
        read_lerobot_calibration(path, "so101")
    with pytest.raises(CalibrationError, match="no calibration file"):
        read_lerobot_calibration(tmp_path / "missing.json", "so101")


def test_units_follow_lerobots_normalisation_formulas():
    """Hand-computed with LeRobot's MotorsBus._normalize for given counts."""
    lr = read_lerobot_calibration_from(SO101_FILE)
    units = UnitConversion("so101", lr)
    counts = np.array([2547, 1000, 2047, 3000, 100, 2735], dtype=np.float64)
    q = (counts - np.array([2047, 2047, 2047, 2047, 2047, 2735])) * RAD_PER_COUNT
    values = units.to_lerobot(q[None])[0]
    mids = np.array([(770 + 3220) / 2, (830 + 3180) / 2, (860 + 3090) / 2, (870 + 3200) / 2, 4095 / 2])
    np.testing.assert_allclose(values[:5], (counts[:5] - mids) * 360 / 4095, atol=1e-9)  # DEGREES
    assert values[5] == pytest.approx((2735 - 2020) / (3450 - 2020) * 100)  # RANGE_0_100
    np.testing.assert_allclose(units.to_radians(values[None])[0], q, atol=1e-12)
    ranged = UnitConversion("so101", lr, NormMode.RANGE_M100_100).to_lerobot(q[None])[0]
    assert ranged[0] == pytest.approx((2547 - 770) / (3220 - 770) * 200 - 100)


def test_nominal_units_are_degrees_for_so_arms_and_percent_of_range_for_koch():
    so = UnitConversion("so101")
    assert so.to_lerobot(np.full((1, 6), 0.5))[0][0] == pytest.approx(math.degrees(0.5) * 4096 / 4095)
    koch = UnitConversion("koch")
    assert koch.modes()[:5] == [NormMode.RANGE_M100_100] * 5 and koch.modes()[5] is NormMode.RANGE_0_100
    ends = koch.to_lerobot(np.array([[-1.9, -1.7, -1.7, -1.7, -2.8, -0.6], [1.9, 1.7, 1.7, 1.7, 2.8, 1.0]]))
    np.testing.assert_allclose(ends, [[-100] * 5 + [0], [100] * 5 + [100]], atol=0.1)  # nominal ranges' ends


@pytest.mark.parametrize(("model", "same_way"), [("so101", True), ("koch", False)])
def test_drive_mode_reverses_range_units_on_feetech_only(model, same_way):
    """drive_mode 1 is our sign -1 (counts fall as radians rise). LeRobot undoes it with 100 - x on Feetech buses,
    so the gripper's value rises with our radians there; on Dynamixel it leaves the reversal to the servo."""
    from prop_desktop.interop.lerobot_calibration import parse_lerobot_calibration

    data = json.loads(json.dumps(SO101_FILE))
    data["gripper"]["drive_mode"] = 1
    plain = UnitConversion(model, parse_lerobot_calibration(SO101_FILE, model))
    flipped = UnitConversion(model, parse_lerobot_calibration(data, model))
    q = np.array([[0, 0, 0, 0, 0, 0.3]])
    rise = flipped.to_lerobot(q)[0][5] - flipped.to_lerobot(np.zeros((1, 6)))[0][5]
    assert bool(rise > 0) == same_way
    assert abs(flipped.to_lerobot(q)[0][5] - plain.to_lerobot(q)[0][5]) < 1e-9 if same_way else rise < 0


@pytest.mark.timeout(60)
def test_arm_calibrate_from_lerobot_skips_calibration_and_exports_it_back(tmp_path, capsys):
    source = _write(tmp_path, SO101_FILE)
    target = tmp_path / "out" / "so101_follower.json"
    assert main(["arm", "calibrate", "--sim", "--from-lerobot", str(source), "--export-lerobot", str(target)]) == 0
    out = capsys.readouterr().out
    assert "no need to calibrate again" in out and "Step 1" not in out
    assert json.loads(target.read_text()) == SO101_FILE
    stored = CalibrationStore.default().load("so101-sim")
    assert stored is not None and stored.calibrated and stored.joints[0].min_count == 770


@pytest.mark.timeout(60)
def test_applying_a_lerobot_file_writes_the_servos_registers(tmp_path):
    from prop_desktop.arm.connect import connect
    from prop_desktop.interop.lerobot_calibration import apply_lerobot_calibration

    lr = read_lerobot_calibration_from(SO101_FILE)
    with connect(None, "so101", sim=True) as arm:
        apply_lerobot_calibration(arm, lr)
        ids = arm.ids
        offsets = arm.bus.sync_read_register("homing_offset", ids)
        lows = arm.bus.sync_read_register("min_position_limit", ids)
        assert [offsets[i] for i in ids] == [m["homing_offset"] for m in SO101_FILE.values()]
        assert [lows[i] for i in ids] == [m["range_min"] for m in SO101_FILE.values()]
        assert arm.is_calibrated


def test_guided_calibration_can_be_exported_for_lerobot(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_LEROBOT_HOME", str(tmp_path / "lerobot"))
    found = _write(tmp_path / "lerobot" / "calibration" / "robots" / "so101_follower", SO101_FILE, "my_arm.json")
    target = tmp_path / "cal.json"
    assert main(["arm", "calibrate", "--sim", "--sweep-seconds", "0.5", "--export-lerobot", str(target)]) == 0
    assert f"LeRobot calibration found: {found}" in capsys.readouterr().out  # offered instead of calibrating
    stored = CalibrationStore.default().load("so101-sim")
    assert stored is not None
    written = read_lerobot_calibration(target, "so101")  # it is a valid LeRobot file for this arm
    assert written == to_lerobot(stored)
