"""The Profiles page on the REAL Secret Service (gnome-keyring under dbus-run-session, as scripts/run-tests.sh
provides): the key a person enrols lands in the OS keyring and deleting the person removes it."""

from __future__ import annotations

import pytest

from .journey import card, click, click_dialog_button, create_profile, go_to, wait_for_dialog

SERVICE = "prop-desktop"


@pytest.mark.secret_service
@pytest.mark.timeout(90)
def test_enrolling_and_deleting_through_the_ui_uses_the_os_keyring(qtbot, real_keyring_window):
    window, backend = real_keyring_window
    go_to(qtbot, window, "Profiles")
    page = window.pages["Profiles"]
    qtbot.waitUntil(lambda: window.keyring_status is not None, timeout=10_000)
    assert page.keyring_banner.isHidden(), page.keyring_banner.text
    create_profile(qtbot, window, "Alex")
    alex = card(qtbot, window, "Alex").profile
    assert backend.get_password(SERVICE, alex.id)  # the key lives in the Secret Service, not on disk
    click(qtbot, card(qtbot, window, "Alex").delete_button)
    box = wait_for_dialog(qtbot, "confirmBox")
    click_dialog_button(qtbot, box, "Delete Alex for good")
    qtbot.waitUntil(lambda: page.card_for("Alex") is None, timeout=10_000)
    assert backend.get_password(SERVICE, alex.id) is None
