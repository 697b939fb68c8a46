"""The profiles registry: schema recorded, written atomically, damage reported plainly, names unambiguous."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prop_desktop.storage import InvalidName, Profile, ProfileExists, ProfileNotFound, RegistryError
from prop_desktop.storage.registry import SCHEMA_VERSION, Registry, clean_name, clean_profile_name

ID_1 = "0b5e4a9e-3c1d-4d55-9b7a-1f2e3d4c5b61"
ID_2 = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b12"


def _profile(pid: str, name: str) -> Profile:
    return Profile(pid, name, f"2026-11-24T20:00:0{pid[-1]}", key_id="00" * 8)


def test_write_read_schema_and_lookup(tmp_path: Path) -> None:
    reg = Registry(tmp_path)
    assert reg.read().profiles == {}
    with reg.edit() as data:
        data.put(_profile(ID_1, "Ana"))
        data.put(_profile(ID_2, "Bo"))
        data.active = ID_2
    doc = json.loads((tmp_path / "profiles.json").read_text())
    assert doc["schema"] == SCHEMA_VERSION and doc["active"] == ID_2
    assert [p["name"] for p in doc["profiles"]] == ["Ana", "Bo"]
    data = reg.read()
    assert data.find("ana").id == ID_1 and data.find(ID_2).name == "Bo"
    with pytest.raises(ProfileNotFound, match="Ana, Bo"):
        data.find("Cy")
    with pytest.raises(ProfileNotFound):  # names only: an id is not a name
        data.find(ID_2, by_id=False)
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


GOOD = {"id": ID_1, "name": "Ana", "created": "2026-11-24T20:00:00", "key_id": "00" * 8}


@pytest.mark.parametrize("doc, problem", [
    ({"active": []}, "'active'"),
    ({"active": {"x": 1}}, "'active'"),
    ({"profiles": {}}, "'profiles' must be a list"),
    ({"profiles": ["x"]}, "not an object"),
    ({"profiles": [{**GOOD, "rotation": "x"}]}, "'rotation'"),
    ({"profiles": [{**GOOD, "rotation": {"to": "ab", "phase": "later"}}]}, "'rotation'"),
    ({"profiles": [{**GOOD, "name": 5}]}, "'name' must be str"),
    ({"profiles": [{**GOOD, "protected": "yes"}]}, "'protected' must be bool"),
    ({"profiles": [{**GOOD, "id": "../../etc"}]}, "not a UUID"),
    ({"profiles": [GOOD, GOOD]}, "twice"),
    ({"profiles": [{"id": ID_1}]}, "no 'name'"),
])
def test_malformed_registry_values_are_named(tmp_path: Path, doc: dict, problem: str) -> None:
    reg = Registry(tmp_path)
    reg.path.write_text(json.dumps({"schema": SCHEMA_VERSION, "profiles": [GOOD], **doc}))
    with pytest.raises(RegistryError) as caught:
        reg.read()
    assert problem in str(caught.value) and "profile rebuild" in str(caught.value)


@pytest.mark.parametrize("bad", [
    "", "   ", "x" * 65, "tab\x07bell", 5,
    "Ana\u200b",  # zero-width space
    "\u202eanA",  # right-to-left override
    "Ana\u2066x",  # bidi isolate
    "Ana\u2028Bo",  # line separator
    "Ana\ue000",  # private use
])
def test_bad_names(bad: object) -> None:
    with pytest.raises(InvalidName):
        clean_name(bad)  # type: ignore[arg-type]


def test_names_are_tidied() -> None:
    assert clean_name("  Ana   María ") == "Ana María"
    assert clean_name("Jose\u0301") == "José"  # NFD typed, NFC stored


def test_a_profile_name_is_never_an_id() -> None:
    with pytest.raises(InvalidName, match="look like a profile id"):
        clean_profile_name(ID_1)
    with pytest.raises(InvalidName, match="look like a profile id"):
        clean_profile_name(ID_1.upper())


def test_look_alike_names_collide(tmp_path: Path) -> None:
    reg = Registry(tmp_path)
    with reg.edit() as data:
        data.put(_profile(ID_1, clean_name("José")))
    data = reg.read()
    for twin in ("jose\u0301", "JOSÉ", "Ｊｏｓé"):  # NFD, upper case, full-width letters
        with pytest.raises(ProfileExists):
            data.check_name_free(clean_name(twin))
        assert data.find(twin).id == ID_1
