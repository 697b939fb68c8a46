"""The calibration wizard, walked through on the simulated arm: middle pose, each joint end to end, saved."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QWizard

from prop_desktop.ui.joints import JOINT_NAMES

from .journey import click, connect_simulated_arm, wait_for_dialog


@pytest.mark.timeout(90)
def test_the_calibration_wizard_guides_through_middle_pose_and_range_sweep(qtbot, window):
    connect_simulated_arm(qtbot, window)
    page = window.pages["Connect"]
    click(qtbot, page.calibrate_button)
    wizard = wait_for_dialog(qtbot, "calibrationWizard")
    assert isinstance(wizard, QWizard)
    qtbot.waitUntil(lambda: not wizard.busy, timeout=10_000)
    assert "calibrating" in window.arm_chip.text()
    sim = window.app.arm.simulator()
    for name in JOINT_NAMES:  # the person sets the middle pose
        sim.move_by_hand(name, 0.0)
    click(qtbot, wizard.button(QWizard.WizardButton.NextButton))
    qtbot.waitUntil(lambda: wizard.currentPage() is wizard.sweep_page, timeout=10_000)

    # Pressing Next before sweeping says what is missing, and stays on the step.
    click(qtbot, wizard.button(QWizard.WizardButton.NextButton))
    qtbot.waitUntil(lambda: bool(wizard.sweep_page.error.text()), timeout=10_000)
    assert wizard.currentPage() is wizard.sweep_page

    for name in JOINT_NAMES:  # ... then moves each joint from one end to the other
        low, high = sim.servo(name).joint.hard_stops
        for raw in (low, high, (low + high) / 2):
            sim.move_by_hand(name, raw, unit="raw")
            # Held there until the wizard has sampled twice more (a fixed 120 ms was too short under load).
            before = getattr(wizard, "progress_updates", 0)
            qtbot.waitUntil(lambda before=before: getattr(wizard, "progress_updates", 0) >= before + 2,
                            timeout=10_000)
    qtbot.waitUntil(lambda: wizard.ranges.rowCount() == 6, timeout=10_000)
    qtbot.waitUntil(lambda: "Every joint" in wizard.sweep_message.text(), timeout=10_000)
    click(qtbot, wizard.button(QWizard.WizardButton.NextButton))
    qtbot.waitUntil(lambda: wizard.currentPage() is wizard.done_page, timeout=10_000)
    click(qtbot, wizard.button(QWizard.WizardButton.FinishButton))
    qtbot.waitUntil(lambda: not wizard.isVisible(), timeout=3000)
    qtbot.waitUntil(lambda: "calibrating" not in window.arm_chip.text(), timeout=3000)
    assert window.app.arm.state.connected
