"""Issue 12, people sharing one computer: a profile is private by default (a strong passphrase, or the explicit
choice to share it), passphrase strength is estimated (zxcvbn), and an old registry keeps working."""

from __future__ import annotations

import io
import json
import sys
import time
from pathlib import Path

import pytest

from prop_desktop.keys import WeakPassphrase
from prop_desktop.keys.passphrase import check_new_passphrase, passphrase_strength
from prop_desktop.storage import Household, SecretChoiceNeeded

from .keyring_fakes import MemoryKeyring

STRONG = "violet tractor 47 lantern"


def _cli(monkeypatch, capsys, household: Household, *args: str, stdin: str = "") -> tuple[int, str]:
    from prop_desktop.cli.main import main

    monkeypatch.setattr("prop_desktop.cli.profile._household", lambda: household)
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    capsys.readouterr()
    code = main(["profile", *args])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_creating_a_profile_needs_a_passphrase_or_the_explicit_choice_to_share(household: Household) -> None:
    with pytest.raises(SecretChoiceNeeded, match="shared=True"):
        household.create_profile("Ana")
    with pytest.raises(SecretChoiceNeeded, match="not both"):
        household.create_profile("Ana", passphrase=STRONG, shared=True)
    assert household.list_profiles() == []  # nothing was half made
    ana, _ = household.create_profile("Ana", passphrase=STRONG)
    bo, _ = household.create_profile("Bo", shared=True)
    assert (ana.protected, ana.shared) == (True, False) and (bo.protected, bo.shared) == (False, True)
    stored = {p.name: p for p in household.list_profiles()}
    assert stored["Ana"].shared is False and stored["Bo"].shared is True  # kept in the registry
    # Removing the passphrase is the explicit choice to share; adding one makes the profile private again.
    assert household.change_passphrase(ana, STRONG, None).shared is True
    assert household.change_passphrase(ana, None, STRONG).shared is False


@pytest.mark.parametrize("weak", ["1234", "    ", "Ana", "Ana Ana", "password1", "abc"])
def test_guessable_passphrases_are_refused_with_the_estimators_feedback(household: Household, weak: str) -> None:
    with pytest.raises(WeakPassphrase, match="too easy to guess") as refused:
        household.create_profile("Ana", passphrase=weak)
    assert "strength" in str(refused.value) and "of 4" in str(refused.value)
    assert household.list_profiles() == []


def test_feedback_is_zxcvbns_own_and_the_name_counts_against_the_passphrase() -> None:
    pin = passphrase_strength("1234")
    assert pin.score == 0 and "common password" in pin.warning
    with pytest.raises(WeakPassphrase, match="common password"):
        check_new_passphrase("1234")
    # A name on its own is weak whoever's it is; zxcvbn scores the person's own name lower still.
    assert passphrase_strength("Alexandra2024", ["Alexandra"]).guesses < passphrase_strength("Alexandra2024").guesses
    assert passphrase_strength(STRONG, ["Ana"]).acceptable


def test_the_estimator_is_fast_enough_to_run_on_every_keystroke() -> None:
    text = "correct horse battery staple 42!"[:30]
    passphrase_strength(text)  # the first call loads the dictionaries
    start = time.perf_counter()
    for _ in range(10):
        passphrase_strength(text)
    per_call = (time.perf_counter() - start) / 10
    assert per_call < 0.1, f"{per_call * 1000:.1f} ms per 30-character estimate"  # measured: ~6 ms
    assert passphrase_strength("x" * 500).score == 0  # beyond zxcvbn's 72 characters: still estimated


def test_a_registry_from_before_the_choice_reads_profiles_without_a_passphrase_as_shared(tmp_path: Path) -> None:
    root = tmp_path / "data"
    hh = Household(root, keyring_backend=(keyring := MemoryKeyring()))
    hh.create_profile("Ana", shared=True)
    hh.create_profile("Bo", passphrase=STRONG)
    doc = json.loads((root / "profiles.json").read_text())
    for entry in doc["profiles"]:
        del entry["shared"]  # as the previous version wrote it
    (root / "profiles.json").write_text(json.dumps(doc))
    again = {p.name: p for p in Household(root, keyring_backend=keyring).list_profiles()}
    assert again["Ana"].shared is True and again["Bo"].shared is False
    doc["profiles"][0]["shared"] = "yes"
    (root / "profiles.json").write_text(json.dumps(doc))
    with pytest.raises(Exception, match="'shared' must be bool"):
        Household(root, keyring_backend=keyring).list_profiles()


def test_restore_keeps_the_choice(household: Household, tmp_path: Path) -> None:
    ana, ana_code = household.create_profile("Ana", passphrase=STRONG)
    bo, bo_code = household.create_profile("Bo", shared=True)
    assert household.restore("Bo", bo_code).shared  # Bo chose to share: restoring says nothing new
    with pytest.raises(SecretChoiceNeeded):  # restoring Ana without a passphrase would open her way to all
        household.restore("Ana", ana_code)
    assert household.profile("Ana").protected
    elsewhere = Household(tmp_path / "elsewhere", keyring_backend=MemoryKeyring())
    with pytest.raises(SecretChoiceNeeded):
        elsewhere.restore("Ana", ana_code)
    assert elsewhere.restore("Ana", ana_code, passphrase=STRONG).protected


def test_cli_create_with_neither_choice_exits_2_naming_both_ways(monkeypatch, capsys, household: Household) -> None:
    code, text = _cli(monkeypatch, capsys, household, "create", "Ana")
    assert code == 2 and "--passphrase" in text and "--shared" in text and "Traceback" not in text
    code, text = _cli(monkeypatch, capsys, household, "create", "Ana", "--shared", "--passphrase-stdin",
                      stdin=STRONG + "\n")
    assert code == 2 and "both" in text
    code, text = _cli(monkeypatch, capsys, household, "create", "Ana", "--passphrase-stdin", stdin="1234\n")
    assert code == 2 and "too easy to guess" in text and "common password" in text
    assert household.list_profiles() == []
    assert _cli(monkeypatch, capsys, household, "create", "Ana", "--shared")[0] == 0
    code, text = _cli(monkeypatch, capsys, household, "list")
    assert code == 0 and "anyone here" in text
