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


def until(qtbot, page, condition, timeout: int, what: str) -> None:
    """Wait for a state; on timeout say what the Drive page showed (the failure must explain itself)."""
    try:
        qtbot.waitUntil(condition, timeout=timeout)
    except Exception as exc:  # pytest-qt's TimeoutError
        panel = page.corrections
        raise AssertionError(f"{what}: status={panel.status.text()!r} "
                             f"gate={panel._gate!r} banner={page.banner.label.text()!r} "
                             f"drive={page.drive_status.text()!r}") from exc


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
    until(qtbot, page, lambda: panel._gate is not None and "trained" in panel._gate, 10_000, "gate: not trained")
    assert not panel.take_over_button.isEnabled() and not panel.update_button.isEnabled()
    assert "train" in panel.update_button.toolTip().lower()
    # The reason is shown once: on the mode line, or under the correction buttons.
    until(qtbot, page, lambda: "trained" in (page.mode_label.text() + panel.status.text()), 10_000, "reason shown")

    for targets in DEMOS:
        record_click_demo(qtbot, window, targets)
    window.settings.training = "quick"  # the Settings dialog has its own journey test; only the effort matters here
    assert train(qtbot, window).ok

    go_to(qtbot, window, "Drive")
    until(qtbot, page, lambda: panel._gate is None, 10_000, "gate: trained")
    assert not panel.take_over_button.isEnabled(), "take over only while the arm drives Personalized"
    choose(qtbot, page.task_combo, TASK)
    click(qtbot, page.personal_button)
    until(qtbot, page, lambda: not page._pending and page.personalized, 20_000, "personalized")
    click(qtbot, page.start_button)
    until(qtbot, page, lambda: page.running and len(page.path_snapshot()) >= 15, 30_000, "driving")

    until(qtbot, page, panel.take_over_button.isEnabled, 5000, "take over enabled")
    click(qtbot, panel.take_over_button)
    until(qtbot, page, lambda: panel.taking_over and not page.running, 5000, "took over")
    assert "Hand back" in panel.take_over_button.text()
    ws = page.workspace
    qtbot.mouseClick(ws.top.viewport(), Qt.MouseButton.LeftButton, pos=ws.click_point_top(*CORRECTION).toPoint())
    until(qtbot, page, lambda: panel.correcting, 2000, "correction started")
    until(qtbot, page, lambda: not panel.correcting, 30_000, "correction recorded")
    assert len(panel.saved) == 1, (panel.status.text(), page.banner.label.text())
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
    until(qtbot, page, panel.update_button.isEnabled, 10_000, "update enabled")
    click(qtbot, panel.update_button)
    until(qtbot, page, lambda: panel.updating and panel.cancel_button.isVisible(), 5000, "updating")
    until(qtbot, page, lambda: panel.last_update is not None, 120_000, "updated")
    result = panel.last_update
    assert result.ok and result.updated and result.corrections_used == 1, result.message
    assert "Skill updated" in panel.status.text() and "1 correction" in panel.status.text()
    until(qtbot, page, lambda: not page._pending and page.personalized, 20_000, "personalized again")

    path, label = drive(qtbot, window, TASK, personalized=True, seconds=0, samples=15)
    assert "Personalized" in label and all(personal for _, _, personal in path[-5:])


def test_take_over_after_an_emergency_stop_is_refused_with_the_reason(qtbot, window):
    from .journey import focus_window

    connect_simulated_arm(qtbot, window)
    create_profile(qtbot, window, "Sam")
    go_to(qtbot, window, "Drive")
    page = window.pages["Drive"]
    panel = page.corrections
    window.emergency_stop()
    qtbot.waitUntil(lambda: window.app.arm.state.stopped, timeout=5000)
    qtbot.waitUntil(lambda: "Reset" in panel.take_over_button.toolTip(), timeout=5000)
    assert not panel.take_over_button.isEnabled()
    focus_window(qtbot, window)
    page.task_combo.setFocus()
    qtbot.keyClick(page.task_combo, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)  # asked anyway
    qtbot.waitUntil(lambda: "cannot take over now" in page.banner.label.text(), timeout=2000)
    assert "Reset" in page.banner.label.text() and not panel.taking_over
