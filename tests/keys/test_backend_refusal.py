"""Insecure or missing keyring backends are refused with a clear message; nothing falls back to plaintext."""

from __future__ import annotations

from pathlib import Path

import pytest
from keyring.backends import chainer, fail, null

from prop_desktop.keys import InsecureKeyring, KeyringStore, KeyringUnavailable, KeySet, ProfileKey
from prop_desktop.keys.backend_check import select_secure_backend
from prop_desktop.storage import Household

from .keyring_fakes import ForgetfulKeyring, MemoryKeyring, PlaintextKeyring


class _Chainer(chainer.ChainerBackend):
    """A chainer whose members are given (instead of discovered on this machine)."""

    members: list = []
    priority = -1  # type: ignore[assignment]  # keyring registers every subclass: keep this one out of discovery

    @property
    def backends(self):  # type: ignore[override]
        return self.members


def _chainer(*members: object) -> chainer.ChainerBackend:
    backend = _Chainer()
    backend.members = list(members)
    return backend


@pytest.mark.parametrize(
    ("backend", "words"),
    [
        (fail.Keyring(), "no system keyring"),
        (null.Keyring(), "forgets"),
        (PlaintextKeyring(), "unprotected"),
        (_chainer(PlaintextKeyring(), null.Keyring()), "no secure keyring"),
        (_chainer(), "no secure keyring"),
    ],
)
def test_insecure_backends_are_refused(tmp_path: Path, backend: object, words: str) -> None:
    with pytest.raises(InsecureKeyring) as info:
        select_secure_backend(backend)  # type: ignore[arg-type]
    message = str(info.value)
    assert words in message and "recovery code" in message and "Refusing" in message
    hh = Household(tmp_path, keyring_backend=backend)  # type: ignore[arg-type]
    assert hh.keyring_problem() == message
    with pytest.raises(InsecureKeyring):
        hh.create_profile("Ana", shared=True)
    # Nothing was written anywhere: no registry entry, no key file, no profile folder.
    assert hh.list_profiles() == []
    assert [p.name for p in tmp_path.rglob("*") if not p.name.startswith(".")] == []


def test_chainer_uses_its_secure_member_directly() -> None:
    secure = MemoryKeyring()
    picked = select_secure_backend(_chainer(PlaintextKeyring(), secure, null.Keyring()))
    assert picked is secure
    assert Household(keyring_backend=_chainer(secure)).keyring_problem() is None


def test_keyrings_alt_is_refused_by_module() -> None:
    fake = type("EncryptedKeyring", (MemoryKeyring,), {"__module__": "keyrings.alt.file"})()
    with pytest.raises(InsecureKeyring, match="keyrings.alt"):
        select_secure_backend(fake)


def test_a_backend_that_drops_secrets_is_caught() -> None:
    store = KeyringStore(ForgetfulKeyring())
    with pytest.raises(KeyringUnavailable, match="did not keep the key"):
        store.save("some-profile", KeySet(ProfileKey.generate()))


def test_a_failing_backend_becomes_a_plain_error() -> None:
    class Broken(MemoryKeyring):
        def get_password(self, service: str, username: str) -> str | None:
            raise RuntimeError("D-Bus said no")

    with pytest.raises(KeyringUnavailable, match="D-Bus said no"):
        KeyringStore(Broken()).has("x")


def test_default_backend_without_secret_service_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """With keyring's own fail backend configured (what a machine without a keyring gets), we refuse."""
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    import keyring.core

    monkeypatch.setattr(keyring.core, "_keyring_backend", None)
    with pytest.raises(InsecureKeyring, match="no system keyring"):
        _ = KeyringStore().backend


def test_secret_service_without_a_session_bus_is_a_plain_error(monkeypatch: pytest.MonkeyPatch,
                                                                tmp_path: Path) -> None:
    """The Secret Service backend chosen but no D-Bus session reachable (headless login, broken session)."""
    from keyring.backends.SecretService import Keyring as SecretServiceKeyring

    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))  # no bus socket here either
    hh = Household(tmp_path, keyring_backend=SecretServiceKeyring())
    with pytest.raises(KeyringUnavailable, match="Secret Service keyring cannot be used") as info:
        hh.create_profile("Ana", shared=True)
    assert "recovery code" in str(info.value)
    assert hh.list_profiles() == []
