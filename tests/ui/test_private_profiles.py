"""Issue 12, people sharing one computer and one OS account, at the app: Ana protects her way with a
passphrase, Bo shares his. Bo, at the app, picks Ana: without her passphrase the switch is refused and her key
never reaches him; wrong guesses back off ("Try again in 1 s"); with the passphrase he can. Her key leaves
memory again on switching away and after the idle time. Time is an injected clock: nothing sleeps."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt

from prop_desktop.services.errors import PassphraseRequiredError

from .journey import (
    card,
    child,
    choose,
    click,
    click_dialog_button,
    create_profile,
    go_to,
    settle,
    switch_profile,
    wait_for_dialog,
)
from .page_model import World, assert_pages_agree

ANA_PASSPHRASE = "violet tractor 47 lantern"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _access(qtbot, window, name: str) -> str:
    return card(qtbot, window, name).access.text()


def _wait_access(qtbot, window, name: str, expected: str) -> None:
    qtbot.waitUntil(lambda: _access(qtbot, window, name) == expected, timeout=10_000)


def _pick_in_header(qtbot, window, name: str) -> None:
    """Bo uses the header's "who is using the arm" picker, as anyone at the computer can."""
    choose(qtbot, window.profile_combo, next(p.id for p in window.profiles if p.name == name))


def _answer(qtbot, text: str):
    dlg = wait_for_dialog(qtbot, "passphraseDialog", timeout=20_000)
    field = child(dlg, "passphraseField")
    field.clear()
    qtbot.keyClicks(field, text)
    click(qtbot, child(dlg, "dialogOk"))
    qtbot.waitUntil(lambda: not dlg.isVisible(), timeout=5000)


@pytest.mark.secret_service
@pytest.mark.slow  # 4-8 s on 2 loaded cores (real Argon2id unlocks on the real keyring)
@pytest.mark.timeout(90)
def test_bo_cannot_use_anas_way_without_her_passphrase(qtbot, real_keyring_window):
    window, _backend = real_keyring_window
    profiles = window.app.profiles
    clock = FakeClock()
    profiles.guard.clock = clock
    profiles.guard.first_delay_s = 1.0  # the app's back-off, on the injected clock
    create_profile(qtbot, window, "Ana", passphrase=ANA_PASSPHRASE)
    create_profile(qtbot, window, "Bo")  # ticks "Anyone at this computer may use my way"
    ana_id = card(qtbot, window, "Ana").profile.id
    world = World(active="Bo")
    assert_pages_agree(qtbot, window, world, "Bo came to the arm")
    _wait_access(qtbot, window, "Bo", "Shared")
    _wait_access(qtbot, window, "Ana", "Locked")  # creating Bo switched to him: Ana's key left memory
    assert not profiles.info(ana_id).unlocked

    # Bo picks Ana and cannot answer: the switch is refused and her key stays out of his reach.
    _pick_in_header(qtbot, window, "Ana")
    click_dialog_button(qtbot, wait_for_dialog(qtbot, "passphraseDialog"), "Cancel")
    qtbot.waitUntil(lambda: window.profile_combo.currentText() == "Bo", timeout=10_000)
    settle(qtbot, window)
    assert profiles.active().name == "Bo" and not window.pages["Drive"].personalized
    assert_pages_agree(qtbot, window, world, "Bo cancelled Ana's passphrase")
    with pytest.raises(PassphraseRequiredError):
        profiles.network_key(ana_id)  # the key that would drive her way: not without her passphrase

    # A guess: refused, and the next try waits (the dialog says how long and holds Unlock until then).
    _pick_in_header(qtbot, window, "Ana")
    _answer(qtbot, "ana")
    retry = wait_for_dialog(qtbot, "passphraseDialog")
    assert "not right" in child(retry, "dialogError").text()
    wait_label = child(retry, "unlockWait")
    qtbot.waitUntil(lambda: wait_label.text() == "Try again in 1 s", timeout=5000)
    assert not child(retry, "dialogOk").isEnabled()
    clock.now += 1.0
    qtbot.waitUntil(lambda: child(retry, "dialogOk").isEnabled() and not wait_label.isVisible(), timeout=5000)

    # With Ana's passphrase, whoever types it uses her way.
    _answer(qtbot, ANA_PASSPHRASE)
    qtbot.waitUntil(lambda: window.profile_combo.currentText() == "Ana", timeout=20_000)
    world.active = "Ana"
    assert_pages_agree(qtbot, window, world, "Ana's passphrase was given")
    _wait_access(qtbot, window, "Ana", "Unlocked")
    assert len(profiles.network_key(ana_id)) == 16

    # Switching away locks her again: the key leaves memory.
    switch_profile(qtbot, window, "Bo")
    world.active = "Bo"
    _wait_access(qtbot, window, "Ana", "Locked")
    assert not profiles.info(ana_id).unlocked

    # Ana comes back (asked again), then walks away: after the idle time her key is dropped.
    switch_profile(qtbot, window, "Ana", wait=False)
    _answer(qtbot, ANA_PASSPHRASE)
    qtbot.waitUntil(lambda: window.profile_combo.currentText() == "Ana", timeout=20_000)
    _wait_access(qtbot, window, "Ana", "Unlocked")
    clock.now += 10 * 60  # the default setting: 10 minutes unused
    window.idle_relock.check()  # what its timer does every 15 s
    _wait_access(qtbot, window, "Ana", "Locked")
    assert not profiles.info(ana_id).unlocked


@pytest.mark.timeout(60)
def test_the_new_member_dialog_asks_for_a_strong_passphrase_or_the_explicit_shared_choice(qtbot, window):
    go_to(qtbot, window, "Profiles")
    click(qtbot, window.pages["Profiles"].add_button)
    dlg = wait_for_dialog(qtbot, "newProfileDialog")
    qtbot.keyClicks(child(dlg, "profileName"), "Cy")
    strength = child(dlg, "passphraseStrength")
    qtbot.keyClicks(child(dlg, "passphrase"), "1234")
    assert "very weak" in strength.text() and "common password" in strength.text()  # zxcvbn's own words
    qtbot.keyClicks(child(dlg, "passphrase2"), "1234")
    click(qtbot, child(dlg, "dialogOk"))
    error = child(dlg, "dialogError")
    qtbot.waitUntil(error.isVisible, timeout=2000)
    assert "too easy to guess" in error.text() and "Anyone at this computer" in error.text()
    assert dlg.isVisible()
    child(dlg, "passphrase").clear()
    qtbot.keyClicks(child(dlg, "passphrase"), "Cy")
    assert "very weak" in strength.text()  # the person's own name
    child(dlg, "passphrase").clear()
    qtbot.keyClicks(child(dlg, "passphrase"), ANA_PASSPHRASE)
    assert "strong" in strength.text() and "weak" not in strength.text()
    click(qtbot, child(dlg, "sharedProfile"))
    assert not child(dlg, "passphrase").isEnabled()
    click(qtbot, child(dlg, "dialogOk"))
    codes = wait_for_dialog(qtbot, "recoveryCodeDialog", timeout=20_000)
    qtbot.mouseClick(child(codes, "savedCheckbox"), Qt.MouseButton.LeftButton, pos=QPoint(6, 6))  # the box
    click(qtbot, child(codes, "continueButton"))
    _wait_access(qtbot, window, "Cy", "Shared")
    assert window.app.profiles.info(card(qtbot, window, "Cy").profile.id).shared


@pytest.mark.timeout(60)
def test_the_restore_dialog_passes_the_current_passphrase(qtbot, window, services):
    """A key rotation of Ana died after resealing her files under the new key, before its code was shown:
    only her protected keyring entry holds that key. Restoring with her old code must be given her current
    passphrase, or those files are lost (the dialog had no field for it)."""
    created = services.profiles.create("Ana", passphrase=ANA_PASSPHRASE, shared=False)
    household = services.profiles.household
    me = household.unlock(created.profile.id, ANA_PASSPHRASE)
    episode = me.episodes.save({"q": [[0.1] * 6]}, {"task": "serve"}).id

    def crash(_code: str) -> None:
        raise RuntimeError("killed while showing the new code")

    with pytest.raises(RuntimeError):
        household.rotate(created.profile.id, ANA_PASSPHRASE, on_new_code=crash)
    services.profiles.lock()
    go_to(qtbot, window, "Profiles")
    click(qtbot, window.pages["Profiles"].restore_button)
    dlg = wait_for_dialog(qtbot, "restoreDialog")
    qtbot.keyClicks(child(dlg, "recoveryCodeInput"), created.recovery_code)
    new_passphrase = "copper kettle 93 meadow"
    qtbot.keyClicks(child(dlg, "restorePassphrase"), new_passphrase)
    qtbot.keyClicks(child(dlg, "restorePassphrase2"), new_passphrase)
    click(qtbot, child(dlg, "dialogOk"))  # without the current passphrase: asked for, nothing lost
    error = child(dlg, "dialogError")
    qtbot.waitUntil(error.isVisible, timeout=20_000)
    assert "current passphrase" in error.text()
    qtbot.keyClicks(child(dlg, "restoreCurrentPassphrase"), ANA_PASSPHRASE)
    click(qtbot, child(dlg, "dialogOk"))
    qtbot.waitUntil(lambda: not dlg.isVisible(), timeout=20_000)
    again = household.unlock(created.profile.id, new_passphrase)
    assert again.episodes.load(episode)[1]["task"] == "serve"
    assert household.verify(created.profile.id, new_passphrase) == []
