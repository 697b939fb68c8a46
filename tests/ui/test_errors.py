"""Errors a person can meet get a clear message and leave things safe (keyring, passphrase, tampered files)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .journey import (
    card,
    child,
    click,
    click_dialog_button,
    connect_simulated_arm,
    create_profile,
    go_to,
    record_click_demo,
    settle,
    wait_for_dialog,
)


@pytest.fixture
def insecure_window(qtbot, tmp_path: Path):
    from keyring.backends.fail import Keyring as FailKeyring

    from prop_desktop.services import App
    from prop_desktop.ui.main_window import MainWindow
    from prop_desktop.ui.settings import UiSettings

    app = App(data_dir=tmp_path / "data", keyring_backend=FailKeyring())
    w = MainWindow(app, UiSettings(), save_prefs=False)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()


@pytest.mark.timeout(60)
def test_an_unusable_keyring_shows_a_banner_and_blocks_new_profiles(qtbot, insecure_window):
    go_to(qtbot, insecure_window, "Profiles")
    page = insecure_window.pages["Profiles"]
    qtbot.waitUntil(lambda: not page.keyring_banner.isHidden(), timeout=5000)
    text = page.keyring_banner.text
    assert text and "Traceback" not in text
    assert "recovery" in text.lower() or "keyring" in text.lower(), text
    assert not page.add_button.isEnabled()
    # Not a dead end: the text says what to do, and a labelled try-out is offered (asked before it starts).
    assert "Add a household member" not in page.empty_hint.text()
    assert page.try_out_button.isVisible()
    click(qtbot, page.try_out_button)
    box = wait_for_dialog(qtbot, "confirmBox")
    assert "deleted when you close" in box.text()
    click_dialog_button(qtbot, box, "Cancel")
    assert insecure_window.isVisible()


@pytest.mark.timeout(60)
def test_try_out_keeps_keys_in_memory_says_so_and_leaves_nothing(qtbot):
    from prop_desktop.keys.ephemeral import EphemeralKeyring
    from prop_desktop.services import App
    from prop_desktop.ui.main_window import MainWindow
    from prop_desktop.ui.settings import UiSettings

    app = App.for_try_out()
    folder = app.try_out_folder
    assert folder is not None and folder.is_dir() and (folder.stat().st_mode & 0o077) == 0
    assert isinstance(app.profiles.household.keystore.backend, EphemeralKeyring)
    w = MainWindow(app, UiSettings(), save_prefs=False)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    assert "try-out" in w.windowTitle() and w.try_out_label is not None and w.try_out_label.isVisible()
    create_profile(qtbot, w, "Ana")
    assert any(folder.rglob("*")), "the profile lives in the try-out folder"
    w._closing_confirmed = True
    w.close()
    qtbot.waitUntil(lambda: not folder.exists(), timeout=10_000)


@pytest.mark.timeout(60)
def test_a_wrong_passphrase_is_refused_with_a_clear_message(qtbot, window):
    create_profile(qtbot, window, "Alex", passphrase="correct horse")
    go_to(qtbot, window, "Profiles")
    alex = card(qtbot, window, "Alex")
    assert alex.profile.has_passphrase
    click(qtbot, alex.passphrase_button)
    dlg = wait_for_dialog(qtbot, "changePassphraseDialog")
    qtbot.keyClicks(child(dlg, "oldPassphrase"), "wrong horse")
    qtbot.keyClicks(child(dlg, "newPassphrase"), "battery staple")
    qtbot.keyClicks(child(dlg, "newPassphrase2"), "battery staple")
    click(qtbot, child(dlg, "dialogOk"))
    error = child(dlg, "dialogError")
    qtbot.waitUntil(error.isVisible, timeout=10_000)
    assert "passphrase" in error.text().lower() and "Traceback" not in error.text()
    assert dlg.isVisible()
    dlg.reject()


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_tampered_recording_is_reported_and_the_others_still_list(qtbot, window, services):
    connect_simulated_arm(qtbot, window)
    create_profile(qtbot, window, "Alex")
    record_click_demo(qtbot, window, [(0.20, -0.12, 0.28)])
    first = {p: p.stat().st_mtime for p in services.data_dir.rglob("*") if p.is_file()}
    record_click_demo(qtbot, window, [(0.22, -0.10, 0.25)])
    newer = [p for p in services.data_dir.rglob("*") if p.is_file() and p not in first and "episode" in str(p)]
    assert newer, "the second recording wrote no episode file"
    victim = max(newer, key=lambda p: p.stat().st_size)  # the arrays, not a small index file
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x40  # someone edits the file on disk
    victim.write_bytes(bytes(data))
    go_to(qtbot, window, "Connect")
    go_to(qtbot, window, "Record")
    page = window.pages["Record"]
    settle(qtbot, window)
    rows = page.episode_table.rowCount()
    text = page.banner.text
    if rows == 2:  # listed from its header: replaying the damaged one must then fail clearly
        damaged = next((r for r, e in enumerate(page.episodes) if str(e.id) in victim.name), 1)
        page.episode_table.selectRow(damaged)
        click(qtbot, page.replay_button)
        qtbot.waitUntil(lambda: bool(page.banner.text), timeout=10_000)
        text = page.banner.text
    print(f"tampered recording: file={victim.name} rows={rows} message={text!r}")
    assert rows >= 1, "one damaged file must not hide the person's other recordings"
    assert text and "Traceback" not in text
    assert any(w in text.lower() for w in ("damaged", "changed", "tamper", "cannot be read", "corrupt")), text
    assert victim.stem not in text, "the person knows recordings by name, not by file id"
    assert window.isVisible()
