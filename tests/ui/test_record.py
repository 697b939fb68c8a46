"""Recording by hand (sliders stand in for a hand on the simulated arm), Space to start/stop, and the episode
list: rename, replay on the arm, delete."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from .journey import (
    child,
    choose,
    choose_tab,
    click,
    click_dialog_button,
    connect_simulated_arm,
    create_profile,
    focus_window,
    go_to,
    record_click_demo,
    settle,
    wait_for_dialog,
)


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_record_by_hand_with_space_then_rename_replay_and_delete(qtbot, window):
    connect_simulated_arm(qtbot, window)
    create_profile(qtbot, window, "Alex")
    go_to(qtbot, window, "Record")
    page = window.pages["Record"]
    choose_tab(qtbot, page.tabs, 1)
    assert page.sim_hand_box.isVisible() and not page.sim_hand_box.isEnabled()  # torque holds until Record
    focus_window(qtbot, window)
    qtbot.keyClick(window, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: page.recording and page.sim_hand_box.isEnabled(), timeout=5000)
    # The person sees the arm they move: the by-hand tab draws it too.
    assert page.hand_view.isVisible()
    qtbot.waitUntil(lambda: len(page.hand_view.side.joints) > 0, timeout=5000)

    def drawn_tip():
        joint = page.hand_view.side.joints[-1].pos()
        return joint.x(), joint.y()

    tip_before = drawn_tip()
    elbow = page.hand_sliders[2]
    for value in range(0, 81, 8):  # the person bends the elbow (hundredths of a radian)
        elbow.setValue(value)
        qtbot.wait(60)
    qtbot.waitUntil(lambda: np.hypot(drawn_tip()[0] - tip_before[0], drawn_tip()[1] - tip_before[1]) > 20,
                    timeout=5000)  # scene units are mm: the drawn gripper moved with the elbow
    qtbot.wait(300)
    focus_window(qtbot, window)
    qtbot.keyClick(window, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: not page.recording, timeout=5000)
    settle(qtbot, window)
    assert page.episode_table.rowCount() == 1
    assert page.episode_table.item(0, 2).text() == "by hand"
    arrays, meta = window.app.record.load_episode(page.episodes[0].id)
    assert meta["mode"] == "hand"
    assert arrays["q"][-1, 2] == pytest.approx(0.8, abs=0.05)  # the bend was sampled
    assert np.all(np.isnan(arrays["goal"]))  # nothing was commanded by hand

    page.episode_table.selectRow(0)
    click(qtbot, page.rename_button)
    dlg = wait_for_dialog(qtbot, "textDialog")
    field = child(dlg, "textField")
    field.selectAll()
    qtbot.keyClicks(field, "Elbow bend")
    click(qtbot, child(dlg, "dialogOk"))
    qtbot.waitUntil(lambda: page.episode_table.rowCount() == 1 and page.episode_table.item(0, 0).text() ==
                    "Elbow bend", timeout=5000)

    page.episode_table.selectRow(0)
    click(qtbot, page.replay_button)
    qtbot.waitUntil(lambda: page.replaying, timeout=3000)
    qtbot.waitUntil(lambda: not page.replaying, timeout=30_000)
    sim = window.app.arm.simulator()
    assert sim.actual_position("elbow_flex") == pytest.approx(2048 + 0.8 * 4096 / (2 * np.pi), abs=60)

    page.episode_table.selectRow(0)
    click(qtbot, page.delete_button)
    box = wait_for_dialog(qtbot, "confirmBox")
    click_dialog_button(qtbot, box, "Delete")
    qtbot.waitUntil(lambda: page.episode_table.rowCount() == 0, timeout=5000)


@pytest.mark.timeout(60)
def test_an_unreachable_click_is_explained_and_not_added(qtbot, window):
    create_profile(qtbot, window, "Alex")
    go_to(qtbot, window, "Record")
    page = window.pages["Record"]
    ws = page.workspace
    qtbot.mouseClick(ws.top.viewport(), Qt.MouseButton.LeftButton, pos=ws.click_point_top(0.0, 0.44).toPoint())
    qtbot.waitUntil(lambda: page.status_label.text().startswith("⚠"), timeout=3000)
    assert page.targets == []
    assert not page.record_button.isEnabled()  # no arm, no targets: nothing to record yet


@pytest.mark.timeout(90)
def test_general_way_targets_then_record(qtbot, window):
    connect_simulated_arm(qtbot, window)
    create_profile(qtbot, window, "Alex")
    go_to(qtbot, window, "Record")
    page = window.pages["Record"]
    choose(qtbot, page.task_combo, "point")
    click(qtbot, page.general_way_button)
    assert len(page.targets) == len(window.app.record.scene("point").base_waypoints)
    result = record_click_demo(qtbot, window, [])
    assert result.episode is not None and result.fault is None
