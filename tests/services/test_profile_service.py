"""ProfileService: create/rename/switch/delete, passphrase prompts, restore, keyring status banners."""

from __future__ import annotations

import pytest

from prop_desktop.services.errors import (
    InvalidInputError,
    KeyringUnavailableError,
    KeyUnavailableError,
    NoActiveProfileError,
    PassphraseRequiredError,
    ProfileError,
    RecoveryCodeError,
    WrongPassphraseError,
)
from prop_desktop.services.models import KeyringState
from prop_desktop.services.profile_service import ProfileService


def test_create_returns_recovery_code_once_and_first_profile_becomes_active(profiles: ProfileService):
    changes = []
    profiles.active_changed.connect(changes.append)
    created = profiles.create("Ana")
    assert len(created.recovery_code.replace("-", "").replace(" ", "")) >= 26
    assert profiles.active().id == created.profile.id
    assert changes and changes[-1].name == "Ana"
    second = profiles.create("Ben")
    assert profiles.active().id == created.profile.id  # creating another does not switch
    assert [p.name for p in profiles.list()] == ["Ana", "Ben"]
    assert second.recovery_code != created.recovery_code
    assert all(p.key_present for p in profiles.list())


def test_bad_names_and_duplicates_give_clear_errors(profiles: ProfileService):
    profiles.create("Ana")
    with pytest.raises(ProfileError, match="(?i)ana") as taken:
        profiles.create("ana")
    # The fix is said once ("…choose another name. Pick another name." was shown before).
    assert str(taken.value).lower().count("another name") == 1, str(taken.value)
    with pytest.raises(InvalidInputError):
        profiles.create("   ")


def test_switch_forgets_other_keys_and_rename_keeps_key(profiles: ProfileService):
    ana = profiles.create("Ana").profile
    ben = profiles.create("Ben").profile
    key_ana = profiles.network_key(ana.id)
    assert profiles.info(ana.id).unlocked
    profiles.switch(ben.id)
    assert not profiles.info(ana.id).unlocked
    profiles.rename(ana.id, "Anna")
    assert profiles.network_key(ana.id) == key_ana
    assert profiles.network_key(ben.id) != key_ana
    profiles.switch(None)
    with pytest.raises(NoActiveProfileError):
        profiles.network_key()


def test_passphrase_is_asked_through_the_provider(profiles: ProfileService):
    ana = profiles.create("Ana", passphrase="correct horse").profile
    asked = []

    def provider(info, reason):
        asked.append(reason)
        return "wrong one" if len(asked) == 1 else "correct horse"

    with pytest.raises(PassphraseRequiredError, match="passphrase"):
        profiles.network_key(ana.id)  # no provider: cancelled
    profiles.passphrase_provider = provider
    key = profiles.network_key(ana.id)
    assert len(key) == 16
    assert asked == [None, "That passphrase is not right; try again."]
    profiles.lock()
    profiles.passphrase_provider = lambda info, reason: "nope"
    with pytest.raises(WrongPassphraseError):
        profiles.network_key(ana.id)
    with pytest.raises(WrongPassphraseError):
        profiles.unlock(ana.id, "nope")
    assert profiles.unlock(ana.id, "correct horse").unlocked


def test_a_passphrase_typed_at_creation_keeps_the_key_open_before_anyone_hears_of_the_profile(
        profiles: ProfileService):
    asked: list[str] = []
    profiles.passphrase_provider = lambda info, reason: asked.append(reason)  # must never be needed
    seen: list[bool] = []
    # Pages reload on this announcement (the recordings list needs the key): it must already be open.
    profiles.active_changed.connect(lambda p: seen.append(p is not None and profiles.info(p.id).unlocked))
    created = profiles.create("Alex", passphrase="correct horse", keep_open=True)
    assert seen == [True]
    assert profiles.session(created.profile.id).network_key and asked == []


def test_restore_after_keyring_entry_lost(profiles: ProfileService, memory_keyring):
    created = profiles.create("Ana")
    key = profiles.network_key()
    profiles.lock()
    memory_keyring.entries.clear()
    with pytest.raises(KeyUnavailableError, match="(?i)recovery code"):
        profiles.network_key()
    assert not profiles.info(created.profile.id).key_present  # noticed, and shown on the card
    other = profiles.create("Ben").recovery_code
    with pytest.raises(RecoveryCodeError):
        profiles.restore(other, profile_id=created.profile.id)
    typo = created.recovery_code[:-1] + ("A" if created.recovery_code[-1] != "A" else "B")
    with pytest.raises(RecoveryCodeError):
        profiles.restore(typo, profile_id=created.profile.id)
    profiles.restore(created.recovery_code, profile_id=created.profile.id)
    assert profiles.network_key(created.profile.id) == key


def test_delete_removes_profile_and_key(profiles: ProfileService, memory_keyring):
    ana = profiles.create("Ana").profile
    assert memory_keyring.entries
    profiles.delete(ana.id)
    assert profiles.list() == [] and profiles.active() is None
    assert not memory_keyring.entries


def test_insecure_keyring_is_reported_for_the_banner(tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "keys"))
    from tests.keys.keyring_fakes import PlaintextKeyring

    service = ProfileService(tmp_path / "d", keyring_backend=PlaintextKeyring())
    status = service.keyring_status()
    assert status.state is KeyringState.INSECURE and not status.ok
    assert "recovery code" in status.message
    with pytest.raises(KeyringUnavailableError):
        service.create("Ana")
    assert service.list() == []


def test_memory_keyring_status_ok(profiles: ProfileService):
    assert profiles.keyring_status().ok
