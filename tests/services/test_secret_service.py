"""ProfileService against the REAL Secret Service (gnome-keyring under dbus-run-session, see scripts/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from prop_desktop.services.models import KeyringState
from prop_desktop.services.profile_service import ProfileService
from tests.secret_service import real_secret_service_backend

pytestmark = [pytest.mark.secret_service, pytest.mark.timeout(60)]


@pytest.fixture
def secret_service():
    return real_secret_service_backend()


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
