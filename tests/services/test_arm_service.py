"""ArmService on the simulated arm: default choice, connect, pre-flight, idle unplug, e-stop, busy claims."""

from __future__ import annotations

import pytest

from prop_desktop.services import App
from prop_desktop.services.errors import ArmFaultError, BusyError, NotConnectedError
from prop_desktop.services.models import ConnectionStatus

from .svc_helpers import wait_until

pytestmark = pytest.mark.timeout(60)


def test_simulated_arm_is_the_default_when_nothing_is_plugged_in(app: App):
    choices = app.arm.available_connections()
    sim = [c for c in choices if c.kind == "sim"]
    assert len(sim) == 1 and sim[0].label == "Simulated SO-101 arm"
    if not any(c.kind == "serial" and c.usable for c in choices):
        assert sim[0].is_default and app.arm.default_choice().kind == "sim"


def test_connect_preflight_and_live_joints(app: App):
    states = []
    app.arm.state_changed.connect(states.append)
    with pytest.raises(NotConnectedError):
        app.arm.preflight()
    state = app.arm.connect()  # default: the simulator here
    assert state.status is ConnectionStatus.CONNECTED and state.connected
    assert [s.status for s in states][:2] == [ConnectionStatus.CONNECTING, ConnectionStatus.CONNECTED]
    report = app.arm.preflight()
    assert report.ok and len(report.servos) == 6
    assert all(s.model == "STS3215" and s.voltage_v and s.temperature_c for s in report.servos)
    joints = []
    app.arm.joints.connect(joints.append)
    assert wait_until(lambda: len(joints) >= 3, 3.0)
    assert len(joints[-1].q) == 6 and all(abs(v) < 0.5 for v in joints[-1].q)
    app.arm.disconnect()
    assert app.arm.state.status is ConnectionStatus.DISCONNECTED
    app.arm.disconnect()  # twice is fine


def test_unplug_while_idle_is_noticed_with_a_clear_message(app: App):
    app.arm.connect("sim")
    app.arm.simulator().unplug()
    assert wait_until(lambda: app.arm.state.status is ConnectionStatus.DISCONNECTED, 3.0)
    assert "disconnected" in app.arm.state.message.lower()
    assert "connect again" in app.arm.state.message.lower()
    with pytest.raises(NotConnectedError):
        app.arm.arm()


def test_emergency_stop_releases_torque_and_needs_reset(app: App):
    app.arm.connect("sim")
    arm = app.arm.arm()
    arm.torque_on()
    app.arm.emergency_stop()
    assert not arm.torque_enabled and arm.estopped
    assert not any(app.arm.simulator().torque_enabled(j) for j in range(1, 7))
    assert app.arm.state.status is ConnectionStatus.FAULT and "Reset" in app.arm.state.message
    with pytest.raises(ArmFaultError):
        app.arm.claim("driving")
    app.arm.reset()
    assert app.arm.claim("driving") is arm
    with pytest.raises(BusyError, match="busy driving"):
        app.arm.claim("recording")
    app.arm.release("driving")
    assert app.arm.state.busy_with is None


def test_idle_monitor_tolerates_a_blip_but_reports_a_silent_servo(app: App):
    app.arm.connect("sim")
    sim = app.arm.simulator()
    sim.corrupt_next(1)  # one garbled answer: retried by the bus, nothing to report
    sim.set_silent(3)
    assert wait_until(lambda: app.arm.state.status is ConnectionStatus.FAULT, 10.0)
    assert "3" in app.arm.state.message  # names the servo that stopped answering
    sim.set_silent(3, False)
