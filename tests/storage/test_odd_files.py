"""Issue 12 defect 2: odd files in the data folder (a link to /dev/zero, a FIFO, a huge sparse file) give a
clear error naming the file at once, and never hang, exhaust memory or hide the other recordings."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from prop_desktop.storage import EpisodeStore, FileTooLarge, Household, NotASealedFile, SealedFileError
from prop_desktop.storage.sealed import MAX_SEALED_BYTES

from .storage_helpers import make_episode

pytestmark = [pytest.mark.timeout(30), pytest.mark.skipif(sys.platform != "linux", reason="FIFO, /dev/zero")]

ODD_IDS = {"link": "a" * 32, "fifo": "b" * 32, "sparse": "c" * 32}


def _plant(folder: Path) -> None:
    (folder / f"{ODD_IDS['link']}.sealed").symlink_to("/dev/zero")
    os.mkfifo(folder / f"{ODD_IDS['fifo']}.sealed")
    with open(folder / f"{ODD_IDS['sparse']}.sealed", "wb") as handle:
        handle.truncate(2 << 30)  # 2 GiB, no disk used


def test_odd_files_fail_fast_and_the_rest_still_lists(episodes_a: EpisodeStore) -> None:
    good = episodes_a.save(*make_episode(), name="good one")
    _plant(episodes_a.folder)
    listed, problems = episodes_a.list_with_problems()
    assert [i.id for i in listed] == [good.id]
    assert sorted(p.path.stem for p in problems) == sorted(ODD_IDS.values())
    for problem in problems:
        assert problem.path.name in str(problem) and "move it" in str(problem)
    for kind, expected in (("link", NotASealedFile), ("fifo", NotASealedFile), ("sparse", FileTooLarge)):
        with pytest.raises(expected) as caught:
            episodes_a.load(ODD_IDS[kind])
        assert str(caught.value).strip(), kind
    assert "symbolic link" in str(pytest.raises(SealedFileError, episodes_a.load, ODD_IDS["link"]).value)
    assert str(MAX_SEALED_BYTES) in str(pytest.raises(SealedFileError, episodes_a.load, ODD_IDS["sparse"]).value)
    assert len(episodes_a.verify()) == 3
    assert episodes_a.load(good.id)[1]["task"] == "serve tea"


def test_household_verify_and_rotate_survive_odd_files(tmp_path: Path) -> None:
    from keyring_fakes import MemoryKeyring

    household = Household(tmp_path / "data", keyring_backend=MemoryKeyring())
    ana, _ = household.create_profile("Ana", shared=True)
    me = household.unlock(ana)
    good = me.episodes.save(*make_episode())
    _plant(me.episodes.folder)
    problems = household.verify(ana)
    assert len(problems) == 3 and all(any(i in p for i in ODD_IDS.values()) for p in problems)
    household.rotate(ana)  # reseals what it can, leaves the rest
    assert household.unlock(ana).episodes.load(good.id)[1]["task"] == "serve tea"
