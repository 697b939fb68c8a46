"""Integration with the REAL Secret Service (gnome-keyring under dbus-run-session, as the test script and CI
run it). Skipped when none is reachable, except under CI=true, where that is a failure."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from prop_desktop.keys import KeyMissing, ProfileKey, WrongPassphrase, decode_recovery_code
from prop_desktop.storage import Household

pytestmark = [pytest.mark.secret_service, pytest.mark.timeout(120)]
REPO = Path(__file__).resolve().parents[2]


def _items(profile_id: str) -> list:
    import secretstorage

    bus = secretstorage.dbus_init()
    collection = secretstorage.get_default_collection(bus)
    return [(item.get_attributes(), item.get_secret()) for item in
            collection.search_items({"service": "prop-desktop", "username": profile_id})]


def test_profile_life_cycle_in_the_real_keyring(secret_service, tmp_path: Path) -> None:
    hh = Household(tmp_path, keyring_backend=secret_service)
    ana, code = hh.create_profile("Ana", shared=True)
    secret_service.created_usernames.append(ana.id)
    items = _items(ana.id)
    assert len(items) == 1 and items[0][0]["service"] == "prop-desktop" and items[0][0]["username"] == ana.id
    key = ProfileKey(decode_recovery_code(code))
    assert base64.b64encode(key.root) in items[0][1]  # unprotected profile: the keyring is the protection

    me = hh.unlock(ana)
    assert me.network_key == key.network_key
    arrays = {"t": np.arange(5) / 50.0, "q": np.ones((5, 6), np.float32), "goal": np.zeros((5, 6), np.float32)}
    info = me.episodes.save(arrays, {"task": "serve"})

    # A new process (the CLI, the app after a restart) reads the same key.
    again = Household(tmp_path, keyring_backend=type(secret_service)())
    np.testing.assert_array_equal(again.unlock("Ana").episodes.load(info.id)[0]["q"], arrays["q"])

    hh.rename(ana, "Anna")
    assert len(_items(ana.id)) == 1  # same entry, same UUID

    secret_service.delete_password("prop-desktop", ana.id)
    with pytest.raises(KeyMissing):
        hh.unlock(ana)
    hh.restore("Anna", code)
    assert hh.unlock(ana).episodes.load(info.id)[1]["task"] == "serve"

    hh.delete(ana)
    assert _items(ana.id) == []


@pytest.mark.slow
def test_passphrase_entry_in_the_real_keyring(secret_service, tmp_path: Path) -> None:
    hh = Household(tmp_path, keyring_backend=secret_service)
    bo, code = hh.create_profile("Bo", passphrase="long enough lantern 5")
    secret_service.created_usernames.append(bo.id)
    secret = _items(bo.id)[0][1]
    key = ProfileKey(decode_recovery_code(code))
    assert base64.b64encode(key.root) not in secret and key.root not in secret  # wrapped, not plain
    assert b"argon2id" in secret or b"scrypt" in secret  # parameters recorded with the blob
    with pytest.raises(WrongPassphrase):
        hh.unlock(bo, "long enougH")
    assert hh.unlock(bo, "long enough lantern 5").network_key == key.network_key
    new_code = hh.rotate(bo, "long enough lantern 5")
    assert hh.unlock(bo, "long enough lantern 5").network_key == ProfileKey(decode_recovery_code(new_code)).network_key
    hh.delete(bo)


def test_default_backend_is_the_secret_service(secret_service, tmp_path: Path) -> None:
    """Without an injected backend (what the app and the CLI do) the Secret Service is found and accepted."""
    hh = Household(tmp_path)
    assert hh.keystore.describe() == "keyring.backends.SecretService.Keyring"


@pytest.mark.slow
def test_locked_collection_is_refused(secret_service) -> None:
    """In a private D-Bus session of its own: lock the collection, then creating a profile must fail with a
    clear 'locked' message and never pop up an unlock prompt (which would hang a headless machine)."""
    script = (
        "import secretstorage, sys\n"
        "from prop_desktop.storage import Household\n"
        "from prop_desktop.keys import KeyringUnavailable\n"
        "bus = secretstorage.dbus_init(); secretstorage.get_default_collection(bus).lock()\n"
        "try:\n"
        "    Household().create_profile('Ana', shared=True)\n"
        "except KeyringUnavailable as exc:\n"
        "    print('REFUSED:', exc); sys.exit(0)\n"
        "print('NOT REFUSED'); sys.exit(1)\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DBUS_SESSION_BUS_ADDRESS", "GNOME_KEYRING_CONTROL")}
    result = subprocess.run(
        ["dbus-run-session", "--", "bash", str(REPO / "scripts" / "with-keyring.sh"), sys.executable, "-c", script],
        capture_output=True, text=True, timeout=60, env=env, cwd=REPO,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "REFUSED: your keyring is locked" in result.stdout and "recovery code" in result.stdout
