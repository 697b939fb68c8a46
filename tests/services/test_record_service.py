"""RecordService on the simulated arm: point and click, by hand, unplug mid-recording, episode management."""

from __future__ import annotations

import math

import numpy as np
import pytest

from prop_desktop.services import App
from prop_desktop.services.errors import (
    BusyError,
    InvalidInputError,
    NoActiveProfileError,
    NotConnectedError,
    UnreachableTargetError,
)
from prop_desktop.services.models import ConnectionStatus

from .svc_helpers import wait_until

pytestmark = pytest.mark.timeout(90)
TARGET = (0.15, 0.20, 0.30, 0.3)  # metres + gripper: high and to the left


def test_point_and_click_episode_is_recorded_sealed_and_listed(sim_app: App):
    from prop_desktop.policy.kinematics import tip_position

    samples, statuses = [], []
    sim_app.record.sample.connect(samples.append)
    sim_app.record.status_changed.connect(statuses.append)
    sim_app.record.start_click_episode("point", [TARGET], name="high point")
    with pytest.raises(BusyError):
        sim_app.record.start_click_episode("point", [TARGET])
    result = sim_app.record.wait(30)
    assert result is not None and result.fault is None
    ep = result.episode
    assert ep.name == "high point" and ep.task == "point" and ep.mode == "click" and not ep.interrupted
    assert ep.samples == len(samples) > 10
    # Recorded at the app's 50 Hz: never faster (how close it gets is the machine's business: `bench loop`).
    assert sim_app.record.load_episode(ep.id)[1]["rate_hz"] == 50.0 and 0 < ep.rate_hz <= 51
    assert statuses and statuses[-1].samples <= ep.samples
    # The arm really went there: the last measured pose puts the tip at the clicked point.
    tip = tip_position(np.array(samples[-1].q))
    assert np.linalg.norm(tip - np.array(TARGET[:3])) < 0.02
    assert [e.id for e in sim_app.record.episodes()] == [ep.id]
    arrays, meta = sim_app.record.load_episode(ep.id)
    assert arrays["q"].shape == (ep.samples, 6) and meta["context"] == list(sim_app.record.scene("point").context)
    assert meta["waypoints"] == [list(TARGET)] and len(meta["segment_ends"]) == 1
    assert sim_app.profiles.active().episode_count == 1


def test_bad_targets_and_missing_prerequisites_are_refused_clearly(app: App):
    with pytest.raises(NoActiveProfileError):
        app.record.start_click_episode("point", [TARGET])
    app.profiles.create("Ana", shared=True)
    with pytest.raises(NotConnectedError):
        app.record.start_click_episode("point", [TARGET])
    app.arm.connect("sim")
    with pytest.raises(UnreachableTargetError, match="Target 1"):
        app.record.start_click_episode("point", [(0.9, 0.0, 0.1)])
    assert "cannot be reached" in app.record.check_target((0.0, 0.0, -0.5))
    assert app.record.check_target(TARGET) is None
    with pytest.raises(InvalidInputError, match="Unknown task"):
        app.record.start_click_episode("juggle", [TARGET])
    with pytest.raises(InvalidInputError):
        app.record.start_click_episode("point", [(0.1, 0.2)])
    with pytest.raises(InvalidInputError):
        app.record.start_click_episode("point", [])
    assert app.arm.state.busy_with is None


def test_hand_guided_episode_samples_what_the_person_does(sim_app: App):
    sim = sim_app.arm.simulator()
    sim_app.record.start_hand_episode("pick", max_seconds=1.5)
    assert wait_until(lambda: sim_app.record.status().samples > 0 or not sim_app.record.running, 5)
    sim.play_hand_trajectory(lambda t: {"elbow_flex": 0.5 * math.sin(2 * t), "shoulder_pan": 0.3 * t}, 1.5)
    result = sim_app.record.wait(10)
    assert result.fault is None and result.episode.mode == "hand"
    arrays, meta = sim_app.record.load_episode(result.episode.id)
    assert np.all(np.isnan(arrays["goal"]))  # nothing commanded by hand
    assert arrays["q"][:, 0].max() - arrays["q"][:, 0].min() > 0.2  # the pan really moved
    assert not any(sim.torque_enabled(j) for j in range(1, 7))


def test_unplug_during_recording_keeps_the_samples_and_says_so(sim_app: App):
    sim = sim_app.arm.simulator()
    far = [(0.25, -0.15, 0.08, 0.5), (0.15, 0.20, 0.30, -0.3), (0.25, -0.15, 0.08, 0.5)]
    sim_app.record.start_click_episode("serve", far)
    assert wait_until(lambda: sim_app.record.status().samples >= 40, 15)
    sim.unplug()
    result = sim_app.record.wait(10)
    assert result is not None and result.episode is not None
    assert result.episode.interrupted and result.episode.samples >= 40
    assert "disconnected" in result.fault.lower()
    assert sim_app.arm.state.status is ConnectionStatus.DISCONNECTED
    listed = sim_app.record.episodes()
    assert listed[0].id == result.episode.id and listed[0].fault
    arrays, meta = sim_app.record.load_episode(result.episode.id)
    assert meta["interrupted"] and len(arrays["t"]) == result.episode.samples


@pytest.mark.slow
def test_rename_delete_and_replay(sim_app: App):
    sim_app.record.start_click_episode("point", [TARGET])
    ep = sim_app.record.wait(30).episode
    renamed = sim_app.record.rename_episode(ep.id, "my favourite")
    assert renamed.name == "my favourite" and sim_app.record.episodes()[0].name == "my favourite"
    sim_app.arm.simulator()  # still connected
    replayed = []
    sim_app.record.sample.connect(replayed.append)
    sim_app.record.replay_episode(ep.id)
    done = sim_app.record.wait(30)
    assert done.fault is None and len(replayed) > 50
    sim_app.record.delete_episode(ep.id)
    assert sim_app.record.episodes() == []


def test_emergency_stop_during_recording_keeps_the_episode(sim_app: App):
    far = [(0.25, -0.15, 0.08, 0.5), (0.15, 0.20, 0.30, -0.3)]
    sim_app.record.start_click_episode("serve", far)
    assert wait_until(lambda: sim_app.record.status().samples >= 20, 15)
    sim_app.arm.emergency_stop()
    result = sim_app.record.wait(5)
    assert result.episode is not None and result.episode.interrupted
    assert "Emergency stop" in result.fault and "Reset" in result.fault
    assert not any(sim_app.arm.simulator().torque_enabled(j) for j in range(1, 7))
    assert sim_app.arm.state.status is ConnectionStatus.FAULT
