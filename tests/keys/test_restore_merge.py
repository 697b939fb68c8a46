"""Restore merges keys instead of replacing them (in-process, in-memory keyring; the CLI crash tests are in
test_restore_after_crash.py): a passphrase-protected entry, files under several keys, idempotence."""

from __future__ import annotations

import pytest

from prop_desktop.keys import CurrentPassphraseNeeded, WrongPassphrase, WrongRecoveryCode
from prop_desktop.storage import Household

from .crash_helpers import Recorded, key_id


class _Crash(Exception):
    pass


def _interrupted_rotation(household: Household, passphrase: str | None) -> tuple[str, Recorded]:
    """Ana's rotation resealed every file, then died while showing the new code: only the old code is known."""
    _, old_code = household.create_profile("Ana", passphrase=passphrase, shared=passphrase is None)
    recorded = Recorded()
    if passphrase is None:
        recorded.fill(household, "Ana", 3)
    else:
        me = household.unlock("Ana", passphrase)
        for k in range(3):
            recorded.episodes[me.episodes.save({"q": [[float(k)] * 6]}, {"task": f"task {k}"}).id] = k

    def crash(code: str) -> None:
        raise _Crash

    with pytest.raises(_Crash):
        household.rotate("Ana", passphrase, on_new_code=crash)
    return old_code, recorded


def test_forgotten_passphrase_mid_rotation_asks_for_it_instead_of_losing_files(household: Household) -> None:
    old_code, recorded = _interrupted_rotation(household, "pass word violet 7")
    with pytest.raises(CurrentPassphraseNeeded, match="--current-passphrase"):
        household.restore("Ana", old_code)
    with pytest.raises(WrongPassphrase):
        household.restore("Ana", old_code, current_passphrase="pass wort violet 7")
    restored = household.restore("Ana", old_code, "new pass lantern 5", current_passphrase="pass word violet 7")
    assert restored.key_id == key_id(old_code) and household.verify("Ana", "new pass lantern 5") == []
    me = household.unlock("Ana", "new pass lantern 5")
    assert {me.episodes.load(i)[1]["task"] for i in recorded.episodes} == {"task 0", "task 1", "task 2"}


def test_discarding_is_an_explicit_choice_and_reports_what_stays_unreadable(household: Household) -> None:
    old_code, recorded = _interrupted_rotation(household, "pass word violet 7")
    outcome = household.restore_outcome("Ana", old_code, discard_unreadable=True, shared=True)
    left = " ".join(outcome.left_unreadable)
    assert all(episode_id in left for episode_id in recorded.episodes)
    assert household.unlock("Ana").key_id == key_id(old_code)


def test_restore_is_idempotent_and_refuses_strangers(household: Household) -> None:
    old_code, recorded = _interrupted_rotation(household, None)
    _, bo_code = household.create_profile("Bo", shared=True)
    with pytest.raises(WrongRecoveryCode, match="different key"):
        household.restore("Ana", bo_code)
    for _ in range(2):
        assert household.restore_outcome("Ana", old_code).left_unreadable == []
        assert recorded.problems(household, "Ana") == []


def test_cli_restore_takes_the_current_passphrase_and_verify_accept(tmp_path, monkeypatch, capsys) -> None:
    import io
    import sys

    from prop_desktop.cli.main import main

    from .keyring_fakes import MemoryKeyring

    keyring = MemoryKeyring()
    household = Household(tmp_path / "data", keyring_backend=keyring)
    old_code, recorded = _interrupted_rotation(household, "pass word violet 7")
    monkeypatch.setattr("prop_desktop.cli.profile._household",
                        lambda: Household(tmp_path / "data", keyring_backend=keyring))

    def run(*args: str, stdin: str = "") -> tuple[int, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        capsys.readouterr()
        code = main(["profile", *args])
        out = capsys.readouterr()
        return code, out.out + out.err

    code, text = run("restore", "Ana", "--code-stdin", stdin=old_code + "\n")
    assert code == 2 and "--current-passphrase" in text and "Traceback" not in text
    code, text = run("restore", "Ana", "--code-stdin", "--current-passphrase-stdin", "--shared",
                     stdin=f"{old_code}\npass word violet 7\n")
    assert code == 0, text
    assert recorded.problems(household, "Ana") == []
    code, text = run("verify", "Ana", "--accept")
    assert code == 0 and "reference" in text
