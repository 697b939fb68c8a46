"""Issue 10's journey on the REAL Secret Service: a new person connects the simulated arm and its simulated
leader arm, records three demonstrations by teleoperation (a scripted hand and the sliders move the leader),
exports them to LeRobot, and the export reads back with our LeRobot-format reader."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6.QtWidgets import QFileDialog, QSlider

from prop_desktop.interop.lerobot_reader import read_dataset
from prop_desktop.interop.lerobot_units import UnitConversion

from .journey import (
    choose,
    choose_tab,
    click,
    click_dialog_button,
    connect_simulated_arm,
    create_profile,
    go_to,
    wait_for_dialog,
)

LEADER_TAB = 2


def connect_simulated_leader(qtbot, window) -> None:
    go_to(qtbot, window, "Connect")
    slot = window.pages["Connect"].leader_slot
    qtbot.waitUntil(lambda: slot.choice_combo.count() > 0, timeout=10_000)
    assert slot.selected_choice().id == "sim-leader"  # nothing plugged in: the simulated leader is offered
    click(qtbot, slot.connect_button)
    qtbot.waitUntil(lambda: window.app.leader.connected, timeout=15_000)
    qtbot.waitUntil(lambda: "6 servos answered" in slot.status_label.text(), timeout=10_000)


def record_with_leader(qtbot, window, hand, samples: int = 60) -> None:
    page = window.pages["Record"]
    before = page.episode_table.rowCount()
    sim = window.app.leader.simulator()
    sim.play_hand_trajectory(hand, 60.0)
    click(qtbot, page.record_button)
    qtbot.waitUntil(lambda: page.recording, timeout=5000)
    qtbot.waitUntil(lambda: window.app.record.status().samples >= samples, timeout=20_000)
    click(qtbot, page.record_button)  # Stop
    qtbot.waitUntil(lambda: not page.recording, timeout=10_000)
    qtbot.waitUntil(lambda: page.episode_table.rowCount() == before + 1, timeout=10_000)
    sim.stop_hand_trajectory()
    assert page.last_result.fault is None, page.last_result.fault


@pytest.mark.secret_service
@pytest.mark.timeout(180)
def test_three_teleoperated_demonstrations_export_to_a_lerobot_dataset(qtbot, real_keyring_window, tmp_path,
                                                                        monkeypatch):
    window, _backend = real_keyring_window
    connect_simulated_arm(qtbot, window)
    connect_simulated_leader(qtbot, window)
    create_profile(qtbot, window, "Ana")
    go_to(qtbot, window, "Record")
    page = window.pages["Record"]
    choose(qtbot, page.task_combo, "serve")
    choose_tab(qtbot, page.tabs, LEADER_TAB)
    qtbot.waitUntil(page.record_button.isEnabled, timeout=5000)
    # The sliders are the hand on the simulated leader: the arm follows once recording runs.
    base_turn = page.leader_tab.findChild(QSlider, "leaderSlider0")
    assert page.leader_tab.sim_hand_box.isVisible() and base_turn is not None
    click(qtbot, page.record_button)
    qtbot.waitUntil(lambda: page.recording, timeout=5000)
    base_turn.setValue(30)  # 0.30 rad
    follower = window.app.arm.arm()
    qtbot.waitUntil(lambda: abs(follower.read_joints()[0] - 0.30) < 0.02, timeout=10_000)
    click(qtbot, page.record_button)
    qtbot.waitUntil(lambda: not page.recording and page.episode_table.rowCount() == 1, timeout=10_000)
    # Two more, each a different way of serving, moved by a scripted hand.
    for amplitude in (0.3, -0.4):
        record_with_leader(qtbot, window, lambda t, a=amplitude: {"shoulder_pan": a * math.sin(2.0 * t),
                                                                  "elbow_flex": 0.3 * math.sin(3.0 * t)})
    assert [page.episode_table.item(r, 2).text() for r in range(3)] == ["leader arm"] * 3

    exports = tmp_path / "exports"
    exports.mkdir()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(exports)))
    click(qtbot, page.lerobot.export_button)
    click_dialog_button(qtbot, wait_for_dialog(qtbot, "confirmBox"), "Export")
    qtbot.waitUntil(lambda: "Exported 3 recording" in page.banner.text, timeout=30_000)
    (folder,) = list(exports.iterdir())
    dataset = read_dataset(folder)
    assert dataset.robot_type == "so101_follower" and dataset.fps == 100
    assert dataset.names[0] == "shoulder_pan.pos" and len(dataset.episodes) == 3
    # The actions are the leader's poses in LeRobot's units: the first demonstration ended with the base turn
    # held at 0.30 rad; the others swept it.
    units = UnitConversion("so101")
    held = units.to_lerobot(np.array([[0.30, 0, 0, 0, 0, 0]]))[0, 0]
    assert np.isclose(dataset.episodes[0].action[-1, 0], held, atol=abs(held) * 0.02 + 0.2)
    swept = units.to_lerobot(np.array([[0.2, 0, 0, 0, 0, 0]]))[0, 0] - units.to_lerobot(np.zeros((1, 6)))[0, 0]
    assert all(np.ptp(ep.action[:, 0]) > abs(swept) for ep in dataset.episodes[1:])
