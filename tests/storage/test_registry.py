"""The profiles registry: schema recorded, written atomically, damage reported plainly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prop_desktop.storage import InvalidName, Profile, ProfileExists, ProfileNotFound, RegistryError
from prop_desktop.storage.registry import SCHEMA_VERSION, Registry, clean_name


def _profile(pid: str, name: str) -> Profile:
    return Profile(pid, name, f"2026-11-24T20:00:0{pid[-1]}", key_id="00" * 8)


def test_write_read_schema_and_lookup(tmp_path: Path) -> None:
    reg = Registry(tmp_path)
    assert reg.read().profiles == {}
    with reg.edit() as data:
        data.put(_profile("id-1", "Ana"))
        data.put(_profile("id-2", "Bo"))
        data.active = "id-2"
    doc = json.loads((tmp_path / "profiles.json").read_text())
    assert doc["schema"] == SCHEMA_VERSION and doc["active"] == "id-2"
    assert [p["name"] for p in doc["profiles"]] == ["Ana", "Bo"]
    data = reg.read()
    assert data.find("ana").id == "id-1" and data.find("id-2").name == "Bo"
    with pytest.raises(ProfileNotFound, match="Ana, Bo"):
        data.find("Cy")
    with pytest.raises(ProfileExists):
        data.check_name_free("BO")
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_damaged_or_newer_registry(tmp_path: Path) -> None:
    reg = Registry(tmp_path)
    reg.path.write_text("{not json")
    with pytest.raises(RegistryError, match="damaged"):
        reg.read()
    reg.path.write_text(json.dumps({"schema": 99, "profiles": []}))
    with pytest.raises(RegistryError, match="update the app"):
        reg.read()


@pytest.mark.parametrize("bad", ["", "   ", "x" * 65, "tab\x07bell", 5])
def test_bad_names(bad: object) -> None:
    with pytest.raises(InvalidName):
        clean_name(bad)  # type: ignore[arg-type]


def test_names_are_tidied() -> None:
    assert clean_name("  Ana   María ") == "Ana María"
