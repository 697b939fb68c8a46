"""The Household façade with an in-memory keyring: the profile life cycle a household goes through."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from prop_desktop.keys import (
    DamagedKeyEntry,
    KeyMissing,
    PassphraseRequired,
    ProfileKey,
    WrongPassphrase,
    WrongRecoveryCode,
    decode_recovery_code,
)
from prop_desktop.storage import (
    Household,
    InvalidName,
    ProfileExists,
    ProfileNotFound,
    SealContext,
    SealedFileError,
    Sealer,
)

from .keyring_fakes import MemoryKeyring

SERVICE = "prop-desktop"
MODEL = "d4" * 32


def _episode(seed: int = 0, n: int = 30) -> tuple[dict[str, np.ndarray], dict]:
    rng = np.random.default_rng(seed)
    arrays = {
        "t": np.arange(n) / 50.0,
        "q": rng.normal(size=(n, 6)).astype(np.float32),
        "goal": rng.normal(size=(n, 6)).astype(np.float32),
    }
    return arrays, {"task": "put away", "mode": "click", "rate_hz": 50.0, "interrupted": False}


def test_create_list_rename_switch(household: Household, memory_keyring: MemoryKeyring) -> None:
    ana, code = household.create_profile("Ana", shared=True)
    bo, _ = household.create_profile("Bo", shared=True)
    assert [p.name for p in household.list_profiles()] == ["Ana", "Bo"]
    assert household.active() == ana  # the first profile becomes active
    assert (SERVICE, ana.id) in memory_keyring.entries  # username = profile UUID
    assert decode_recovery_code(code) == ProfileKey(decode_recovery_code(code)).root
    with pytest.raises(ProfileExists):
        household.create_profile("ana", shared=True)
    with pytest.raises(InvalidName):
        household.create_profile("  ", shared=True)
    renamed = household.rename("Ana", "Anna")
    assert renamed.id == ana.id and household.profile("anna").id == ana.id
    assert (SERVICE, ana.id) in memory_keyring.entries  # renaming keeps the secret
    household.set_active("Bo")
    assert household.active() == household.profile(bo.id)
    with pytest.raises(ProfileNotFound, match="Anna, Bo"):
        household.set_active("Cy")
    reopened = Household(household.root, keyring_backend=memory_keyring)
    assert reopened.active().id == bo.id and [p.name for p in reopened.list_profiles()] == ["Anna", "Bo"]


def test_unlock_gives_network_key_and_stores(household: Household) -> None:
    ana, code = household.create_profile("Ana", shared=True)
    me = household.unlock(ana)
    key = ProfileKey(decode_recovery_code(code))
    assert me.network_key == key.network_key and len(me.network_key) == 16
    assert me.network_key not in (key.root, key.seal_key[:16])
    info = me.episodes.save(*_episode())
    me.adapters.save(MODEL, b"adapter bytes")
    again = household.unlock("ana")
    np.testing.assert_array_equal(again.episodes.load(info.id)[0]["q"], _episode()[0]["q"])
    assert again.adapters.load(MODEL) == b"adapter bytes"
    assert key.root.hex() not in repr(again)


def test_profiles_cannot_read_each_other(household: Household) -> None:
    ana, _ = household.create_profile("Ana", shared=True)
    bo, _ = household.create_profile("Bo", shared=True)
    ana_me, bo_me = household.unlock(ana), household.unlock(bo)
    info = ana_me.episodes.save(*_episode())
    ana_me.adapters.save(MODEL, b"ana's adapter")
    bo_me.episodes.folder.mkdir(parents=True, exist_ok=True)
    bo_me.adapters.folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(ana_me.episodes.folder / f"{info.id}.sealed", bo_me.episodes.folder)
    shutil.copy(ana_me.adapters.folder / f"{MODEL}.sealed", bo_me.adapters.folder)
    with pytest.raises(SealedFileError):
        bo_me.episodes.load(info.id)
    with pytest.raises(SealedFileError):
        bo_me.adapters.load(MODEL)
    problems = household.verify(bo)
    assert len(problems) == 2 and household.verify(ana) == []


def test_restore_after_keyring_entry_lost(household: Household, memory_keyring: MemoryKeyring) -> None:
    ana, code = household.create_profile("Ana", shared=True)
    info = household.unlock(ana).episodes.save(*_episode())
    memory_keyring.entries.clear()
    with pytest.raises(KeyMissing, match="recovery code"):
        household.unlock(ana)
    assert household.missing_key(ana)
    typo = code[:8] + ("A" if code[8] != "A" else "B") + code[9:]
    with pytest.raises(WrongRecoveryCode, match="check group 2"):
        household.restore("Ana", typo)
    _, other_code = household.create_profile("Bo", shared=True)
    with pytest.raises(WrongRecoveryCode, match="different key"):
        household.restore("Ana", other_code)
    household.restore("Ana", code.lower())
    assert household.unlock(ana).episodes.load(info.id)[1]["task"] == "put away"
    assert household.verify(ana) == []


def test_restore_on_a_new_computer_creates_the_profile(tmp_path: Path) -> None:
    first = Household(tmp_path / "old", keyring_backend=MemoryKeyring())
    ana, code = first.create_profile("Ana", shared=True)
    new = Household(tmp_path / "new", keyring_backend=MemoryKeyring())
    restored = new.restore("Ana", code, shared=True)
    assert restored.name == "Ana" and restored.key_id == ana.key_id
    assert new.unlock(restored).network_key == first.unlock(ana).network_key  # the adapter still works


def test_passphrase(household: Household, memory_keyring: MemoryKeyring) -> None:
    ana, code = household.create_profile("Ana", passphrase="blue sky 42")
    assert household.is_protected(ana)
    entry = memory_keyring.entries[(SERVICE, ana.id)]
    assert "argon2id" in entry or "scrypt" in entry
    with pytest.raises(PassphraseRequired):
        household.unlock(ana)
    with pytest.raises(WrongPassphrase):
        household.unlock(ana, "blue sky 43")
    with pytest.raises(WrongPassphrase):  # a typo is the user's input, not a problem of the profile
        household.verify(ana, "blue sky 43")
    with pytest.raises(PassphraseRequired):
        household.verify(ana)
    me = household.unlock(ana, "blue sky 42")
    assert me.network_key == ProfileKey(decode_recovery_code(code)).network_key
    household.change_passphrase(ana, "blue sky 42", "green sea 7")
    with pytest.raises(WrongPassphrase):
        household.unlock(ana, "blue sky 42")
    household.unlock(ana, "green sea 7")
    household.change_passphrase(ana, "green sea 7", None)
    assert not household.is_protected(ana) and household.unlock(ana).key_id == me.key_id
    # Forgot the passphrase: the recovery code resets it.
    household.change_passphrase(ana, None, "forgotten lantern 5")
    household.restore(ana, code, passphrase="remembered lantern 5")
    assert household.unlock(ana, "remembered lantern 5").key_id == me.key_id
    with pytest.raises(ValueError, match="too easy to guess"):
        household.create_profile("Bo", passphrase="abc")


def test_rotate(household: Household) -> None:
    ana, old_code = household.create_profile("Ana", passphrase="pass word violet 7")
    me = household.unlock(ana, "pass word violet 7")
    ids = [me.episodes.save(*_episode(seed=k)).id for k in range(4)]
    me.adapters.save(MODEL, b"weights")
    shown: list[str] = []
    new_code = household.rotate(ana, "pass word violet 7", on_new_code=shown.append)
    assert shown == [new_code] and new_code != old_code
    after = household.unlock(ana, "pass word violet 7")
    assert after.key_id != me.key_id and after.network_key != me.network_key
    assert after.key_id == ProfileKey(decode_recovery_code(new_code)).key_id
    for k, episode_id in enumerate(ids):
        np.testing.assert_array_equal(after.episodes.load(episode_id)[0]["q"], _episode(seed=k)[0]["q"])
    assert after.adapters.load(MODEL) == b"weights"
    with pytest.raises(SealedFileError):  # the old key opens nothing any more
        me.episodes.load(ids[0])
    with pytest.raises(WrongRecoveryCode, match="different key"):
        household.restore(ana, old_code)
    household.restore(ana, new_code, passphrase="pass word violet 7")
    assert household.verify(ana, "pass word violet 7") == []


class _Crash(Exception):
    pass


def test_rotation_interrupted_before_commit_rolls_back(household: Household) -> None:
    ana, old_code = household.create_profile("Ana", shared=True)
    me = household.unlock(ana)
    ids = [me.episodes.save(*_episode(seed=k)).id for k in range(3)]

    def crash(code: str) -> None:
        raise _Crash  # e.g. the process dies while showing the new code

    with pytest.raises(_Crash):
        household.rotate(ana, on_new_code=crash)
    assert household.profile(ana).rotation is not None  # interrupted mid-way
    after = household.unlock(ana)  # settles: back to the old key, whose code the user has
    assert after.key_id == me.key_id and household.profile(ana).rotation is None
    assert [household.unlock(ana).episodes.load(i)[1]["task"] for i in ids] == ["put away"] * 3
    household.restore(ana, old_code)
    assert household.verify(ana) == []


def test_rotation_interrupted_after_commit_point_rolls_forward(household: Household,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    ana, _ = household.create_profile("Ana", shared=True)
    me = household.unlock(ana)
    info = me.episodes.save(*_episode())
    original_commit = Household._commit
    monkeypatch.setattr(Household, "_commit", lambda *a, **k: (_ for _ in ()).throw(_Crash()))
    shown: list[str] = []
    with pytest.raises(_Crash):
        household.rotate(ana, on_new_code=shown.append)
    monkeypatch.setattr(Household, "_commit", original_commit)
    after = household.unlock(ana)
    assert after.key_id == ProfileKey(decode_recovery_code(shown[0])).key_id  # the code that was shown
    assert after.episodes.load(info.id)[1]["task"] == "put away"
    assert household.verify(ana) == []


def test_delete_shreds(household: Household, memory_keyring: MemoryKeyring) -> None:
    ana, code = household.create_profile("Ana", shared=True)
    bo, _ = household.create_profile("Bo", shared=True)
    me = household.unlock(ana)
    info = me.episodes.save(*_episode())
    me.adapters.save(MODEL, b"adapter")
    stolen = {p.name: p.read_bytes() for p in household.profile_dir(ana).rglob("*.sealed")}
    assert household.delete("Ana") == []
    assert (SERVICE, ana.id) not in memory_keyring.entries
    assert not household.profile_dir(ana).exists()
    assert [p.name for p in household.list_profiles()] == ["Bo"]
    assert household.active() is None
    with pytest.raises(ProfileNotFound):
        household.unlock(ana)
    # A copy taken before the deletion opens with no key that is left (Bo's, or any fresh one).
    bo_keys = household.keystore.load(bo.id)
    for name, data in stolen.items():
        for sealer in (Sealer.from_keyset(bo_keys),):
            with pytest.raises(SealedFileError):
                sealer.open_bytes(Path(name), data, SealContext(ana.id, "episode", info.id))
    assert household.verify(bo) == []


def test_verify_reports_every_problem(household: Household) -> None:
    ana, _ = household.create_profile("Ana", shared=True)
    me = household.unlock(ana)
    good = me.episodes.save(*_episode(seed=1))
    bad = me.episodes.save(*_episode(seed=2))
    me.adapters.save(MODEL, b"weights")
    path = me.episodes.folder / f"{bad.id}.sealed"
    path.write_bytes(path.read_bytes()[:-3])
    (me.episodes.folder / "notes.txt").write_text("hello")
    (me.episodes.folder / "planted.sealed").write_bytes(b"PRDSEAL\0 not ours")
    assert {i.id for i in me.episodes.list()} == {good.id, bad.id}  # strays do not upset the listing
    problems = household.verify(ana)
    assert len(problems) == 3 and any("planted.sealed" in p for p in problems)
    assert any(bad.id in p and "truncated" in p.lower() or "cut short" in p for p in problems)
    assert any("notes.txt" in p for p in problems)
    assert good.id not in " ".join(problems)


def test_keyring_holding_another_key_is_reported(household: Household, memory_keyring: MemoryKeyring) -> None:
    ana, _ = household.create_profile("Ana", shared=True)
    bo, _ = household.create_profile("Bo", shared=True)
    memory_keyring.entries[(SERVICE, ana.id)] = memory_keyring.entries[(SERVICE, bo.id)]
    with pytest.raises(DamagedKeyEntry, match="different key"):
        household.unlock(ana)
    assert household.verify(ana)[0].startswith("key:")
