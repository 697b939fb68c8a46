"""Issue 12 defects 4, 6 and 8: malformed registry values, ambiguous or invisible names, open folders."""

from __future__ import annotations

import io
import json
import os
import stat
import sys
from pathlib import Path

import pytest

from prop_desktop.storage import Household, InvalidName, ProfileExists

from .keyring_fakes import MemoryKeyring


def _cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, root: Path, *args: str) -> tuple[int, str]:
    from prop_desktop.cli.main import main

    monkeypatch.setenv("PROP_DESKTOP_DATA_DIR", str(root))
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    capsys.readouterr()
    code = main(["profile", *args])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("active", [[], {"a": 1}, 5])
def test_malformed_registry_gives_exit_2_and_a_plain_message(monkeypatch, capsys, tmp_path: Path, active) -> None:
    root = tmp_path / "data"
    root.mkdir()
    (root / "profiles.json").write_text(json.dumps({"schema": 1, "active": active, "profiles": []}))
    for args in (("list",), ("switch", "Ana"), ("create", "Ana", "--shared")):
        code, err = _cli(monkeypatch, capsys, root, *args)
        assert code == 2 and "'active'" in err and "Traceback" not in err, err
    (root / "profiles.json").write_text(json.dumps({"schema": 1, "profiles": [
        {"id": "0b5e4a9e-3c1d-4d55-9b7a-1f2e3d4c5b61", "name": "Ana", "created": "x", "rotation": "x"}]}))
    code, err = _cli(monkeypatch, capsys, root, "verify", "Ana")
    assert code == 2 and "'rotation'" in err and "profile rebuild" in err


def test_a_name_never_selects_another_profile_by_its_id(monkeypatch, capsys, tmp_path: Path) -> None:
    root = tmp_path / "data"
    hh = Household(root, keyring_backend=MemoryKeyring())
    ana, _ = hh.create_profile("Ana", shared=True)
    with pytest.raises(InvalidName, match="look like a profile id"):
        hh.create_profile(ana.id, shared=True)
    with pytest.raises(InvalidName, match="look like a profile id"):
        hh.rename("Ana", ana.id.upper())
    # The CLI looks NAME up by name only; an id needs --id.
    code, err = _cli(monkeypatch, capsys, root, "delete", ana.id, "--yes")
    assert code == 2 and "no profile named" in err
    assert [p.name for p in hh.list_profiles()] == ["Ana"]


@pytest.mark.parametrize("twin", ["Jose\u0301", "JOSÉ", "José\u200b", "\u202eJosé", "Ｊｏｓé"])
def test_look_alike_and_invisible_names_are_refused(household: Household, twin: str) -> None:
    household.create_profile("José", shared=True)
    with pytest.raises((ProfileExists, InvalidName)):
        household.create_profile(twin, shared=True)
    assert [p.name for p in household.list_profiles()] == ["José"]


def test_created_nfd_name_is_stored_nfc(household: Household) -> None:
    profile, _ = household.create_profile("Jose\u0301", shared=True)
    assert profile.name == "José" and household.profile("JOSE\u0301").id == profile.id


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_data_folder_and_profiles_are_private(tmp_path: Path) -> None:
    root = tmp_path / "data"
    (root / "profiles").mkdir(parents=True, mode=0o755)
    os.chmod(root, 0o755)
    os.chmod(root / "profiles", 0o755)
    hh = Household(root, keyring_backend=MemoryKeyring())
    ana, _ = hh.create_profile("Ana", shared=True)
    for folder in (root, root / "profiles", hh.profile_dir(ana)):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    fresh = tmp_path / "fresh"
    Household(fresh, keyring_backend=MemoryKeyring()).create_profile("Bo", shared=True)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o700
    assert stat.S_IMODE((fresh / "profiles").stat().st_mode) == 0o700
