"""ProfileService against the REAL Secret Service (gnome-keyring under dbus-run-session, see scripts/)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from prop_desktop.services.models import KeyringState
from prop_desktop.services.profile_service import ProfileService

pytestmark = [pytest.mark.secret_service, pytest.mark.timeout(60)]


def _problem() -> str | None:
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
def secret_service():
    problem = _problem()
    if problem is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but the real Secret Service is missing: {problem}")
        pytest.skip(problem)
    from keyring.backends.SecretService import Keyring

    return Keyring()


def test_profile_key_lives_in_the_real_keyring_and_survives_a_restart(secret_service, tmp_path: Path):
    service = ProfileService(tmp_path / "data", keyring_backend=secret_service)
    assert service.keyring_status().state is KeyringState.AVAILABLE
    created = service.create("Ana", passphrase="a long passphrase")
    pid = created.profile.id
    try:
        assert secret_service.get_password("prop-desktop", pid) is not None
        service.passphrase_provider = lambda info, reason: "a long passphrase"
        key = service.network_key()
        restarted = ProfileService(tmp_path / "data", keyring_backend=secret_service)
        restarted.passphrase_provider = lambda info, reason: "a long passphrase"
        assert restarted.network_key(pid) == key and restarted.active().name == "Ana"
        restarted.delete(pid)
        assert secret_service.get_password("prop-desktop", pid) is None
    finally:
        try:
            secret_service.delete_password("prop-desktop", pid)
        except Exception:  # noqa: BLE001 - already gone
            pass
