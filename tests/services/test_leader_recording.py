"""The leader-arm slot and recording by teleoperation through the services: sealed like the other modes, an
unplugged leader keeps the recording and leaves the follower connected."""

from __future__ import annotations

import math

import numpy as np
import pytest

from prop_desktop.services import App
from prop_desktop.services.errors import NotConnectedError
from prop_desktop.services.models import ConnectionStatus

from .svc_helpers import wait_until

pytestmark = pytest.mark.timeout(90)


def test_leader_slot_lists_the_simulated_leader_and_connects_it(sim_app: App):
    choices = sim_app.leader.available_connections()
    assert choices[-1].id == "sim-leader" and choices[-1].arm_model == "so101_leader"
    with pytest.raises(NotConnectedError, match="No leader arm"):
        sim_app.record.start_leader_episode("serve")
    state = sim_app.leader.connect("sim-leader")
    assert state.status is ConnectionStatus.CONNECTED and sim_app.leader.simulator() is not None
    report = sim_app.leader.preflight()
    assert report.ok and {s.model for s in report.servos} == {"STS3215"}


def test_recording_with_the_leader_is_sealed_with_the_leaders_goal(sim_app: App):
    sim_app.leader.connect("sim-leader")
    sim = sim_app.leader.simulator()
    sim.play_hand_trajectory(lambda t: {"shoulder_pan": 0.4 * math.sin(t), "elbow_flex": 0.3 * math.sin(1.3 * t)},
                             30.0)
    sim_app.record.start_leader_episode("serve", max_seconds=1.5, name="mirrored")
    result = sim_app.record.wait(30)
    assert result is not None and result.fault is None, result
    ep = result.episode
    assert ep.mode == "leader" and ep.name == "mirrored" and ep.samples > 10
    arrays, meta = sim_app.record.load_episode(ep.id)
    assert meta["rate_hz"] == 100.0  # the teleoperation runs at 100 Hz even though the app's rate is 50 Hz
    assert meta["leader_model"] == "so101_leader" and np.isfinite(arrays["goal"]).all()
    assert np.ptp(arrays["goal"][:, 0]) > 0.2  # the goal is the leader's pose, which the hand moved
    assert sim_app.arm.busy_with is None


def test_unplugging_the_leader_keeps_the_recording_and_the_follower(sim_app: App):
    sim_app.leader.connect("sim-leader")
    samples: list[object] = []
    sim_app.record.sample.connect(samples.append)
    sim_app.record.start_leader_episode("serve", max_seconds=30)
    assert wait_until(lambda: len(samples) >= 20)
    sim_app.leader.simulator().unplug()
    result = sim_app.record.wait(30)
    assert result is not None and result.episode is not None and result.episode.interrupted
    assert "leader arm was disconnected" in (result.fault or "")
    assert sim_app.leader.state.status is ConnectionStatus.DISCONNECTED
    assert sim_app.arm.state.status is ConnectionStatus.CONNECTED  # the follower stays, torque released
    assert not sim_app.arm.arm().torque_enabled
    assert [e.id for e in sim_app.record.episodes()] == [result.episode.id]
