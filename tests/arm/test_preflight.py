"""Pre-flight on the simulated arms: every check a user relies on, with plain-language fixes."""

from __future__ import annotations

import pytest

from prop_desktop.arm import connect
from prop_desktop.arm.models import arm_model
from prop_desktop.arm.preflight import run_preflight
from prop_desktop.arm.protocols import make_bus


@pytest.mark.timeout(30)
@pytest.mark.parametrize("model", ["so101", "koch"])
def test_a_healthy_arm_passes(model):
    with connect(sim=True, model=model) as arm:
        report = arm.preflight()
    assert report.ok, report.summary()
    # A Koch follower feeds its XL430s 12 V and its XL330s 5 V on purpose: no "loose cable" warning.
    assert not report.warnings, report.warnings
    assert [s.servo_id for s in report.servos] == [1, 2, 3, 4, 5, 6]
    assert all(s.status == "ok" and s.found for s in report.servos)
    first = report.servos[0]
    assert first.model_name == arm_model(model).joints[0].servo.name and first.firmware and first.voltage > 4
    data = report.as_dict()
    assert data["ok"] is True and data["servos"][0]["status"] == "ok"
    assert "OK" in report.summary().splitlines()[0]


def _bus_for(sim):
    return make_bus(sim.protocol, sim.port, timeout_s=0.2, retries=0).open()  # a busy machine answers late


@pytest.mark.timeout(30)
def test_a_silent_servo_is_named_with_a_fix(make_sim):
    sim = make_sim("feetech")
    sim.set_silent("wrist_flex")
    with _bus_for(sim) as bus:
        report = run_preflight(bus, "so101")
    assert not report.ok
    row = report.servos[3]
    assert row.status == "error" and not row.found and "servo 4 (wrist_flex) does not answer" in row.problems[0]
    assert any("daisy-chain" in f for f in report.fixes)
    assert "not answering" in report.summary()


@pytest.mark.timeout(30)
def test_a_weak_power_supply_is_explained(make_sim):
    sim = make_sim("feetech")
    sim.set_supply_voltage(3.2)
    with _bus_for(sim) as bus:
        report = run_preflight(bus, "so101")
    assert not report.ok
    assert "sees only 3.2 V" in report.servos[0].problems[0]
    assert "power supply is off, too weak" in report.servos[0].fixes[0]


@pytest.mark.timeout(30)
def test_a_12v_supply_on_a_koch_xl330_is_flagged(make_sim):
    sim = make_sim("dynamixel")
    sim.set_supply_voltage(12.0, "elbow_flex")
    with _bus_for(sim) as bus:
        report = run_preflight(bus, "koch")
    row = report.servos[2]
    assert row.status == "error" and "more than a XL330-M288 takes" in row.problems[0]
    assert "unplug the power now" in row.fixes[0]
    assert report.servos[0].ok  # the XL430s are fine at 12 V


@pytest.mark.timeout(30)
def test_a_sagging_supply_within_one_servo_chain_is_flagged(make_sim):
    sim = make_sim("dynamixel")
    sim.set_supply_voltage(3.8, "wrist_flex")  # still in an XL330's range, but 1.2 V below its chain
    with _bus_for(sim) as bus:
        report = run_preflight(bus, "koch")
    assert any("between the XL330-M288 servos (3.8-5.0 V)" in w for w in report.warnings), report.warnings
    assert not any("XL430" in w for w in report.warnings)


@pytest.mark.timeout(30)
def test_hot_servo_and_mixed_firmware(make_sim):
    sim = make_sim("feetech")
    sim.overheat("gripper", 72.0)
    sim.servo("elbow_flex").table[1] = 9  # firmware 3.9 instead of 3.10
    with _bus_for(sim) as bus:
        report = run_preflight(bus, "so101")
    assert "too hot (72 °C)" in report.servos[5].problems[0]
    assert any("different firmware (3.10, 3.9)" in w for w in report.warnings)


@pytest.mark.timeout(30)
def test_ids_not_set_are_recognised(make_sim):
    sim = make_sim("feetech")
    with _bus_for(sim) as bus:
        for servo_id in range(1, 7):  # as if every servo still had another id
            bus.write_register(servo_id, "id", 20 + servo_id)
        report = run_preflight(bus, "so101")
    assert not report.ok and not any(s.found for s in report.servos)
    assert any("instead of 1..6" in p for p in report.problems)
    assert any("ids are not set" in f for f in report.fixes)


@pytest.mark.timeout(30)
def test_nothing_answers_lists_power_cable_and_baud(make_sim):
    sim = make_sim("feetech")
    for joint in sim.joint_names:
        sim.set_silent(joint)
    with _bus_for(sim) as bus:
        report = run_preflight(bus, "so101")
    text = " ".join(report.fixes)
    assert "power supply" in text and "cable" in text and "1 000 000 baud" in text


@pytest.mark.timeout(30)
def test_a_wrong_servo_model_is_named(make_sim):
    sim = make_sim("dynamixel")
    sim.servo("elbow_flex").set("model_number", 1060)  # an XL430 where the Koch has an XL330
    with _bus_for(sim) as bus:
        report = run_preflight(bus, "koch")
    row = report.servos[2]
    assert "id 3 is a XL430-W250, but a Koch v1.1 follower has a XL330-M288 there" in row.problems[0]
