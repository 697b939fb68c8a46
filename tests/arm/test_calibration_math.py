"""Counts <-> radians round trips, the 0/4095 wrap, homing offsets and the JSON store (no bus needed)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from prop_desktop.arm.calibration import (
    ArmCalibration,
    CalibrationError,
    JointCalibration,
    RangeSweep,
    actual_position,
    arm_id_for,
    homing_offset_for,
    wrap_counts,
)
from prop_desktop.arm.calibration_store import CalibrationStore
from prop_desktop.arm.models import JOINT_NAMES, SO101
from prop_desktop.paths import data_dir


def _cal(middles, signs=(1, 1, 1, 1, 1, 1), lo=-1500, hi=1500) -> ArmCalibration:
    rows = zip(JOINT_NAMES, middles, signs, strict=True)
    joints = [JointCalibration(n, i + 1, m, s, m + lo, m + hi) for i, (n, m, s) in enumerate(rows)]
    return ArmCalibration("so101", "so101-test", joints)


def test_default_calibration_zero_is_count_2048_and_ranges_match_model():
    cal = ArmCalibration.default(SO101)
    assert not cal.calibrated
    np.testing.assert_allclose(cal.counts_to_radians([2048] * 6), 0.0)
    lo, hi = cal.limits()
    for k, joint in enumerate(SO101.joints):
        assert lo[k] == pytest.approx(joint.default_range[0], abs=2e-3)
        assert hi[k] == pytest.approx(joint.default_range[1], abs=2e-3)


def test_quarter_turn_is_half_pi_and_sign_flips_direction():
    cal = _cal([2048] * 6, signs=(1, -1, 1, 1, 1, 1))
    q = cal.counts_to_radians([3072, 3072, 1024, 2048, 2048, 2048])
    np.testing.assert_allclose(q[:3], [math.pi / 2, -math.pi / 2, -math.pi / 2], atol=1e-12)


@given(
    st.lists(st.integers(0, 4095), min_size=6, max_size=6),
    st.lists(st.sampled_from([1, -1]), min_size=6, max_size=6),
    st.lists(st.floats(-3.0, 3.0), min_size=6, max_size=6),
)
def test_radians_counts_round_trip_across_the_wrap(middles, signs, q):
    cal = _cal(middles, signs, lo=-2047, hi=2047)
    counts = cal.radians_to_counts(q)
    back = cal.counts_to_radians(counts % 4096)  # the servo reports counts modulo one turn
    np.testing.assert_allclose(back, q, atol=2 * math.pi / 4096)


def test_readings_just_across_the_wrap_are_small_angles_not_full_turns():
    # Middle pose recorded at count 4090 (no homing offset): 5 counts further reads 3, not -4087.
    cal = _cal([4090, 10, 2048, 2048, 2048, 2048])
    q = cal.counts_to_radians([3, 4094, 2048, 2048, 2048, 2048])
    np.testing.assert_allclose(q[:2], [9 * 2 * math.pi / 4096, -12 * 2 * math.pi / 4096], atol=1e-12)


def test_wrap_counts_is_the_short_way_round():
    assert wrap_counts(4095) == -1
    assert wrap_counts(-4095) == 1
    assert wrap_counts(2047) == 2047
    assert wrap_counts(2048) == -2048
    np.testing.assert_array_equal(wrap_counts(np.array([4000, -4000, 10])), [-96, 96, 10])


@pytest.mark.parametrize("actual", [0, 1, 100, 2048, 4000, 4095])
def test_homing_offset_makes_actual_read_2048(actual):
    off = homing_offset_for("feetech", actual)
    assert -2047 <= off <= 2047
    assert abs((actual - off) % 4096 - 2048) <= 1  # +-2047 sign-magnitude limit costs at most one count
    off = homing_offset_for("dynamixel", actual)
    assert (actual + off) == 2048


def test_actual_position_inverts_the_offset():
    for protocol in ("feetech", "dynamixel"):
        for actual in (0, 5, 2048, 4095):
            off = homing_offset_for(protocol, actual)
            present = (actual - off) % 4096 if protocol == "feetech" else actual + off
            assert actual_position(protocol, present, off) == actual


def test_range_sweep_unwraps_a_joint_that_crosses_zero():
    sweep = RangeSweep(np.array([50] + [2048] * 5))
    path = [50, 20, 4090, 4000, 3900, 4000, 10, 200, 400]  # down through the wrap to 3900 (= -196), up to 400
    for c in path:
        sweep.add(np.array([c] + [2048] * 5))
    lo, hi = sweep.ranges()
    assert lo[0] == 3900 - 4096 and hi[0] == 400


def test_range_sweep_caps_continuous_joints_at_one_turn():
    sweep = RangeSweep(np.array([2048] * 6))
    up = list(range(2048, 4096, 300)) + list(range(0, 4096, 300)) + list(range(0, 2048, 300))  # +1.x turns
    for c in up + up[::-1] + up[::-1]:  # ...and as far the other way
        sweep.add(np.array([2048] * 4 + [c, 2048]))
    lo, hi = sweep.ranges()
    assert (lo[4], hi[4]) == (1, 4095)  # limited to one turn around the middle


def test_store_round_trip_and_reuse(tmp_path):
    cal = _cal([2048, 2050, 2040, 2048, 2048, 2100], signs=(1, -1, 1, 1, -1, 1))
    cal.arm_id = arm_id_for("so101", serial_number="5A7C/1180")
    store = CalibrationStore.in_data_folder(tmp_path / "data")
    path = store.save(cal)
    assert path == store.path(cal.arm_id) and path.parent == tmp_path / "data" / "calibration"
    assert "/" not in path.name.removesuffix(".json").replace("so101-sn-", "")
    again = CalibrationStore(tmp_path / "data" / "calibration").load(cal.arm_id)
    assert again is not None and again.joints == cal.joints
    assert store.load("so101-never-seen") is None
    assert CalibrationStore.default().load(cal.arm_id) is None  # the folder it was given, nowhere else


def test_default_store_is_the_calibration_folder_of_the_data_folder():
    assert CalibrationStore.default().folder == data_dir() / "calibration"


def test_arm_ids_prefer_serial_number_then_port():
    assert arm_id_for("so101", serial_number="ABC123", port="/dev/ttyACM0") == "so101-sn-ABC123"
    assert arm_id_for("koch", port="/dev/ttyUSB0") == "koch-port-_dev_ttyUSB0"


def test_broken_or_foreign_calibration_files_are_refused_with_a_fix():
    cal = _cal([2048] * 6)
    data = cal.to_json()
    data["joints"][2]["min_count"] = 3000  # min above middle: inconsistent
    with pytest.raises(CalibrationError, match="calibrate the arm again"):
        ArmCalibration.from_json(data)
    data = cal.to_json()
    data["version"] = 99
    with pytest.raises(CalibrationError, match="calibrate the arm again"):
        ArmCalibration.from_json(data)
    store = CalibrationStore.default()
    path = store.path("so101-garbage")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{not json")
    with pytest.raises(CalibrationError, match="calibrate the arm again"):
        store.load("so101-garbage")
