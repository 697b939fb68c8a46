"""Issue 12 defect 5: putting an older copy of a sealed file back (an older adapter, a deleted recording, the
whole profile folder) is reported by `verify`, with the way out; a crash mid-write is never mistaken for one."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from keyring_fakes import MemoryKeyring

from prop_desktop.storage import Household
from prop_desktop.storage.manifest import Manifest

from .storage_helpers import make_episode

MODEL = "ab" * 32


@pytest.fixture
def hh(tmp_path: Path) -> Household:
    household = Household(tmp_path / "data", keyring_backend=MemoryKeyring())
    household.create_profile("Ana", shared=True)
    return household


def test_older_adapter_put_back_is_reported_until_accepted(hh: Household, tmp_path: Path) -> None:
    me = hh.unlock("Ana")
    me.adapters.save(MODEL, b"version 1")
    path = me.adapters.folder / f"{MODEL}.sealed"
    shutil.copy(path, tmp_path / "old")
    me.adapters.save(MODEL, b"version 2")
    assert hh.verify("Ana") == []
    shutil.copy(tmp_path / "old", path)
    problems = hh.verify("Ana")
    assert len(problems) == 1 and "older copy was put back" in problems[0] and "verify --accept" in problems[0]
    hh.accept_files("Ana")
    assert hh.verify("Ana") == []


def test_deleted_recording_copied_back_is_reported(hh: Household, tmp_path: Path) -> None:
    me = hh.unlock("Ana")
    keep = me.episodes.save(*make_episode(seed=1))
    gone = me.episodes.save(*make_episode(seed=2))
    path = me.episodes.folder / f"{gone.id}.sealed"
    shutil.copy(path, tmp_path / "copy")
    me.episodes.delete(gone.id)
    shutil.copy(tmp_path / "copy", path)
    problems = hh.verify("Ana")
    assert len(problems) == 1 and gone.id in problems[0] and "deleted" in problems[0] and keep.id not in problems[0]


def test_whole_folder_rolled_back_is_reported(hh: Household, tmp_path: Path) -> None:
    me = hh.unlock("Ana")
    me.episodes.save(*make_episode(seed=1))
    folder = hh.profile_dir("Ana")
    shutil.copytree(folder, tmp_path / "backup")
    me.episodes.save(*make_episode(seed=2))
    shutil.rmtree(folder)
    shutil.copytree(tmp_path / "backup", folder)
    problems = hh.verify("Ana")
    assert len(problems) == 1 and "folder was rolled back" in problems[0]


def test_rotation_keeps_the_manifest_and_a_crash_mid_write_is_no_rollback(hh: Household,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    me = hh.unlock("Ana")
    info = me.episodes.save(*make_episode(seed=1))
    hh.rotate("Ana")
    me = hh.unlock("Ana")
    assert hh.verify("Ana") == []

    def crash(self: Manifest, data: object) -> None:
        raise KeyboardInterrupt  # the process dies after the file was written, before the manifest

    monkeypatch.setattr(Manifest, "_write", crash)
    with pytest.raises(KeyboardInterrupt):
        me.episodes.rename(info.id, "renamed")
    monkeypatch.undo()
    assert me.episodes.info(info.id).name == "renamed" and hh.verify("Ana") == []


def test_an_emptied_folder_is_not_a_rollback(hh: Household) -> None:
    """A deletion killed after the files went but before the registry entry did: nothing to report."""
    hh.unlock("Ana").episodes.save(*make_episode(seed=1))
    shutil.rmtree(hh.profile_dir("Ana"))
    assert hh.verify("Ana") == []
