"""The correction loop on the Drive page, end to end through the widgets on the simulated arm (issue 14):
drive Personalized → Take over → click where the arm should go instead → Hand back → the correction is listed
on the Record page → Update my skill → drive Personalized again with the updated skill."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from .journey import (
    choose,
    click,
    connect_simulated_arm,
    create_profile,
    drive,
    go_to,
    record_click_demo,
    train,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

TASK = "point"
DEMOS = [[(0.20, -0.12, 0.28)], [(0.19, -0.13, 0.27)]]
CORRECTION = (0.22, -0.10)  # "go here instead", seen from above (m)


def how_column(page) -> list[str]:
    table = page.episode_table
    how = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())].index("How")
    return [table.item(r, how).text() for r in range(table.rowCount())]


def test_take_over_correct_hand_back_and_update_my_skill(qtbot, window):
    connect_simulated_arm(qtbot, window)
    create_profile(qtbot, window, "Alex")
    go_to(qtbot, window, "Drive")
    page = window.pages["Drive"]
    panel = page.corrections
    # No trained skill yet: both buttons are disabled and say why.
    qtbot.waitUntil(lambda: panel._gate is not None and "trained" in panel._gate, timeout=10_000)
    assert not panel.take_over_button.isEnabled() and not panel.update_button.isEnabled()
    assert "train" in panel.update_button.toolTip().lower() and "train" in panel.reason.text().lower()

    for targets in DEMOS:
        record_click_demo(qtbot, window, targets)
    window.settings.training = "quick"  # the Settings dialog has its own journey test; only the effort matters here
    assert train(qtbot, window).ok

    go_to(qtbot, window, "Drive")
    qtbot.waitUntil(lambda: panel._gate is None, timeout=10_000)
    assert not panel.take_over_button.isEnabled(), "take over only while the arm drives Personalized"
    choose(qtbot, page.task_combo, TASK)
    click(qtbot, page.personal_button)
    qtbot.waitUntil(lambda: not page._pending and page.personalized, timeout=20_000)
    click(qtbot, page.start_button)
    qtbot.waitUntil(lambda: page.running and len(page.path_snapshot()) >= 15, timeout=30_000)

    qtbot.waitUntil(panel.take_over_button.isEnabled, timeout=5000)
    click(qtbot, panel.take_over_button)
    qtbot.waitUntil(lambda: panel.taking_over and not page.running, timeout=5000)
    assert "Hand back" in panel.take_over_button.text()
    ws = page.workspace
    qtbot.mouseClick(ws.top.viewport(), Qt.MouseButton.LeftButton, pos=ws.click_point_top(*CORRECTION).toPoint())
    qtbot.waitUntil(lambda: panel.correcting, timeout=2000)
    qtbot.waitUntil(lambda: not panel.correcting, timeout=30_000)
    assert len(panel.saved) == 1, page.banner.text() if hasattr(page.banner, "text") else panel.status.text()
    correction = panel.saved[0]
    assert correction.mode == "correction" and correction.samples > 10
    tip = np.asarray(window.app.record.arm_points(window.app.arm.last_joints)[-1])
    assert np.hypot(tip[0] - CORRECTION[0], tip[1] - CORRECTION[1]) < 0.03, tip  # the arm went there
    click(qtbot, panel.take_over_button)  # Hand back
    assert not panel.taking_over and "1 correction saved" in panel.status.text()

    go_to(qtbot, window, "Record")
    record = window.pages["Record"]
    qtbot.waitUntil(lambda: record.episode_table.rowCount() == 3, timeout=10_000)
    assert sorted(how_column(record)) == ["clicked", "clicked", "correction"]  # nothing replaced

    go_to(qtbot, window, "Drive")
    qtbot.waitUntil(panel.update_button.isEnabled, timeout=10_000)
    click(qtbot, panel.update_button)
    qtbot.waitUntil(lambda: panel.updating and panel.cancel_button.isVisible(), timeout=5000)
    qtbot.waitUntil(lambda: panel.last_update is not None, timeout=120_000)
    result = panel.last_update
    assert result.ok and result.updated and result.corrections_used == 1, result.message
    assert "Skill updated" in panel.status.text() and "1 correction" in panel.status.text()
    qtbot.waitUntil(lambda: not page._pending and page.personalized, timeout=20_000)

    path, label = drive(qtbot, window, TASK, personalized=True, seconds=0, samples=15)
    assert "Personalized" in label and all(personal for _, _, personal in path[-5:])
