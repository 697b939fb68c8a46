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
    UnlockBackoffError,
    WrongPassphraseError,
)
from prop_desktop.services.models import KeyringState
from prop_desktop.services.profile_service import ProfileService


class FakeClock:
    """time.monotonic stand-in: the tests move time instead of waiting for it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_create_returns_recovery_code_once_and_first_profile_becomes_active(profiles: ProfileService):
    changes = []
    profiles.active_changed.connect(changes.append)
    created = profiles.create("Ana", shared=True)
    assert len(created.recovery_code.replace("-", "").replace(" ", "")) >= 26
    assert profiles.active().id == created.profile.id
    assert changes and changes[-1].name == "Ana"
    second = profiles.create("Ben", shared=True)
    assert profiles.active().id == created.profile.id  # creating another does not switch
    assert [p.name for p in profiles.list()] == ["Ana", "Ben"]
    assert second.recovery_code != created.recovery_code
    assert all(p.key_present for p in profiles.list())


def test_bad_names_and_duplicates_give_clear_errors(profiles: ProfileService):
    profiles.create("Ana", shared=True)
    with pytest.raises(ProfileError, match="(?i)ana") as taken:
        profiles.create("ana", shared=True)
    # The fix is said once ("…choose another name. Pick another name." was shown before).
    assert str(taken.value).lower().count("another name") == 1, str(taken.value)
    with pytest.raises(InvalidInputError):
        profiles.create("   ", shared=True)


def test_switch_forgets_other_keys_and_rename_keeps_key(profiles: ProfileService):
    ana = profiles.create("Ana", shared=True).profile
    ben = profiles.create("Ben", shared=True).profile
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
    clock = FakeClock()
    profiles.guard.clock = clock
    asked = []

    def provider(info, reason):
        asked.append(reason)
        clock.now += 5  # the person takes a few seconds to type: longer than the first back-off
        return "wrong one" if len(asked) == 1 else "correct horse"

    with pytest.raises(PassphraseRequiredError, match="passphrase"):
        profiles.network_key(ana.id)  # no provider: cancelled
    profiles.passphrase_provider = provider
    key = profiles.network_key(ana.id)
    assert len(key) == 16
    assert asked == [None, "That passphrase is not right. Try again in 1 s."]
    profiles.lock()
    profiles.passphrase_provider = lambda info, reason: "nope"
    with pytest.raises(WrongPassphraseError):
        profiles.network_key(ana.id)
    clock.now += 60
    with pytest.raises(WrongPassphraseError):
        profiles.unlock(ana.id, "nope")
    clock.now += 60
    assert profiles.unlock(ana.id, "correct horse").unlocked


def test_wrong_passphrases_back_off_per_profile_without_waiting(profiles: ProfileService):
    ana = profiles.create("Ana", passphrase="correct horse").profile
    bo = profiles.create("Bo", passphrase="blue sky 42").profile
    clock = FakeClock()
    profiles.guard.clock = clock
    for expected in (1, 2, 4, 8):
        with pytest.raises(WrongPassphraseError, match=f"Try again in {expected} s"):
            profiles.unlock(ana.id, "guess")
        with pytest.raises(UnlockBackoffError, match=f"Try again in {expected} s"):
            profiles.unlock(ana.id, "correct horse")  # refused without trying, even the right one
        clock.now += expected - 0.5
        with pytest.raises(UnlockBackoffError, match="Try again in 1 s"):
            profiles.unlock(ana.id, "correct horse")
        clock.now += 0.5
    assert profiles.unlock(bo.id, "blue sky 42").unlocked  # Bo is not slowed down by guesses at Ana
    for _ in range(10):
        with pytest.raises(WrongPassphraseError):
            profiles.unlock(ana.id, "guess")
        clock.now += profiles.wait_left(ana.id)
    assert profiles.guard.failed(ana.id) == 60.0  # capped
    clock.now += 60
    assert profiles.unlock(ana.id, "correct horse").unlocked
    with pytest.raises(WrongPassphraseError, match="Try again in 1 s"):  # a success starts over
        profiles.unlock(ana.id, "guess")


def test_an_unused_key_is_dropped_after_the_idle_time(profiles: ProfileService):
    ana = profiles.create("Ana", passphrase="correct horse", keep_open=True).profile
    clock = FakeClock()
    profiles.guard.clock = clock
    profiles.guard.idle_lock_s = 600
    profiles.session(ana.id)  # used now
    clock.now += 599
    assert profiles.lock_idle() == [] and profiles.info(ana.id).unlocked
    profiles.session(ana.id)  # used again: the idle time starts over
    clock.now += 599
    assert profiles.lock_idle() == []
    clock.now += 1
    assert profiles.lock_idle() == [ana.id] and not profiles.info(ana.id).unlocked
    with pytest.raises(PassphraseRequiredError):
        profiles.session(ana.id)  # the next use asks again (no provider here: cancelled)


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
    created = profiles.create("Ana", shared=True)
    key = profiles.network_key()
    profiles.lock()
    memory_keyring.entries.clear()
    with pytest.raises(KeyUnavailableError, match="(?i)recovery code"):
        profiles.network_key()
    assert not profiles.info(created.profile.id).key_present  # noticed, and shown on the card
    other = profiles.create("Ben", shared=True).recovery_code
    with pytest.raises(RecoveryCodeError):
        profiles.restore(other, profile_id=created.profile.id)
    typo = created.recovery_code[:-1] + ("A" if created.recovery_code[-1] != "A" else "B")
    with pytest.raises(RecoveryCodeError):
        profiles.restore(typo, profile_id=created.profile.id)
    profiles.restore(created.recovery_code, profile_id=created.profile.id)
    assert profiles.network_key(created.profile.id) == key


def test_delete_removes_profile_and_key(profiles: ProfileService, memory_keyring):
    ana = profiles.create("Ana", shared=True).profile
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
        service.create("Ana", shared=True)
    assert service.list() == []


def test_memory_keyring_status_ok(profiles: ProfileService):
    assert profiles.keyring_status().ok


def test_switching_to_a_protected_member_needs_their_passphrase(profiles: ProfileService, memory_keyring):
    ana = profiles.create("Ana", passphrase="correct horse").profile
    bo = profiles.create("Bo", shared=True).profile
    profiles.switch(bo.id)
    assert not profiles.info(ana.id).unlocked  # switching away dropped Ana's key
    with pytest.raises(PassphraseRequiredError):
        profiles.switch(ana.id)  # nobody to answer: refused
    assert profiles.active().id == bo.id
    profiles.passphrase_provider = lambda info, reason: "correct horse"
    assert profiles.switch(ana.id).unlocked and profiles.active().id == ana.id
    profiles.switch(bo.id)
    memory_keyring.entries.clear()  # Ana's keyring entry is lost: nothing to protect, restore is offered
    profiles.passphrase_provider = None
    assert profiles.switch(ana.id).key_present is False
