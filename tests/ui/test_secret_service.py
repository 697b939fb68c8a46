"""The Profiles page on the REAL Secret Service (gnome-keyring under dbus-run-session, as scripts/run-tests.sh
provides): the key a person enrols lands in the OS keyring and deleting the person removes it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .journey import card, click, click_dialog_button, create_profile, go_to, wait_for_dialog

SERVICE = "prop-desktop"


def _secret_service_problem() -> str | None:
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return "no D-Bus session (run under dbus-run-session -- bash scripts/with-keyring.sh)"
    try:
        from contextlib import closing

        import secretstorage

        with closing(secretstorage.dbus_init()) as bus:
            if not secretstorage.check_service_availability(bus):
                return "no Secret Service daemon on the D-Bus session"
            if secretstorage.get_default_collection(bus).is_locked():
                return "the Secret Service's default collection is locked"
    except Exception as exc:  # noqa: BLE001 - any failure means "not usable here"
        return f"Secret Service not usable: {exc}"
    return None


@pytest.fixture
def real_keyring_window(qtbot, tmp_path: Path):
    problem = _secret_service_problem()
    if problem is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but the real Secret Service is missing: {problem}")
        pytest.skip(problem)
    from keyring.backends.SecretService import Keyring

    from prop_desktop.services import App
    from prop_desktop.ui.app import create_qapplication
    from prop_desktop.ui.main_window import MainWindow
    from prop_desktop.ui.settings import UiSettings

    backend = Keyring()
    create_qapplication()
    app = App(data_dir=tmp_path / "data", keyring_backend=backend)
    window = MainWindow(app, UiSettings(), save_prefs=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    yield window, backend
    window.close()
    for profile in app.profiles.list():  # leave nothing behind in the session's keyring
        try:
            backend.delete_password(SERVICE, profile.id)
        except Exception:  # noqa: BLE001
            pass


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
