"""The window itself: title, navigation and shortcuts, always-visible status, settings and About."""

from __future__ import annotations

import json
import platform

import pytest
from PySide6.QtCore import qVersion

from prop_desktop.ui.main_window import STEPS
from prop_desktop.ui.settings import load_settings, settings_path

from .journey import (
    child,
    choose,
    click,
    click_dialog_button,
    connect_simulated_arm,
    create_profile,
    focus_window,
    go_to,
    wait_for_dialog,
)


@pytest.mark.timeout(60)
def test_title_pages_in_journey_order_and_ctrl_number_shortcuts(qtbot, window):
    assert window.windowTitle() == "PRoP Desktop"
    assert [window.nav.item(i).text().split()[-1] for i in range(window.nav.count())] == list(STEPS)
    for name in reversed(STEPS):
        go_to(qtbot, window, name, keyboard=True)
        assert window.page_title.text().endswith(window.pages[name].title)
    assert "No arm connected" in window.arm_chip.text()
    assert window.status_profile.text() == "No profile selected"


@pytest.mark.timeout(60)
def test_connection_and_active_profile_stay_visible_and_steps_get_ticked(qtbot, window):
    connect_simulated_arm(qtbot, window)
    assert window.nav.item(0).text().startswith("✓")
    assert window.status_connection.text().startswith("Arm: Connected")
    create_profile(qtbot, window, "Alex")
    qtbot.waitUntil(lambda: window.nav.item(1).text().startswith("✓"), timeout=3000)
    for name in STEPS:  # header and status bar show who and what on every page
        go_to(qtbot, window, name)
        assert window.profile_combo.currentText() == "Alex"
        assert "Simulated" in window.arm_chip.text()
        assert window.status_profile.text() == "Active profile: Alex"


@pytest.mark.timeout(60)
def test_settings_change_units_everywhere_and_are_saved(qtbot, services):
    from prop_desktop.ui.main_window import MainWindow
    from prop_desktop.ui.settings import UiSettings

    window = MainWindow(services, UiSettings(), save_prefs=True)
    qtbot.addWidget(window)
    window.show()
    go_to(qtbot, window, "Record")
    assert "degrees" in window.pages["Record"].plot.plot.getAxis("left").labelText
    click(qtbot, window.settings_button)
    dlg = wait_for_dialog(qtbot, "settingsDialog")
    units = child(dlg, "unitsCombo")
    choose(qtbot, units, "rad")
    rate = child(dlg, "rateCombo")
    choose(qtbot, rate, 25.0)
    click_dialog_button(qtbot, dlg, "OK")
    qtbot.waitUntil(lambda: window.settings.units == "rad", timeout=2000)
    assert "radians" in window.pages["Record"].plot.plot.getAxis("left").labelText
    assert "radians" in window.pages["Drive"].plot.plot.getAxis("left").labelText
    assert services.record.rate_hz == 25.0
    saved = json.loads(settings_path().read_text())
    assert saved["units"] == "rad" and saved["control_rate_hz"] == 25.0
    assert load_settings().units == "rad"
    window.close()


@pytest.mark.timeout(90)
def test_about_shows_versions_and_looks_up_torch_without_blocking(qtbot, window):
    click(qtbot, window.about_button)
    about = wait_for_dialog(qtbot, "aboutDialog")
    text = about.versions.text()
    assert qVersion() in text and platform.python_version() in text
    qtbot.waitUntil(lambda: "loading" not in about.versions.text(), timeout=60_000)
    import torch

    assert torch.__version__ in about.versions.text()
    about.reject()


@pytest.mark.timeout(60)
def test_after_an_emergency_stop_the_header_offers_reset_and_the_arm_works_again(qtbot, window):
    from PySide6.QtCore import Qt

    connect_simulated_arm(qtbot, window)
    assert window.reset_button.isHidden()
    focus_window(qtbot, window)
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: window.reset_button.isVisible(), timeout=5000)
    assert "stopped" in window.arm_chip.text()
    assert "Reset" in window.status_connection.text()  # the message names the button the person can see
    click(qtbot, window.reset_button)
    qtbot.waitUntil(lambda: window.reset_button.isHidden(), timeout=5000)
    assert window.app.arm.state.connected and "stopped" not in window.arm_chip.text()
