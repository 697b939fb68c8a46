"""Episode store: what a recording session saves comes back exactly; damage is reported, never half-loaded."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from prop_desktop.storage import (
    EpisodeNotFound,
    EpisodeStore,
    InvalidEpisode,
    InvalidName,
    SealedFileError,
    Sealer,
    TamperedFile,
)

from .storage_helpers import PROFILE_B, make_episode


def test_save_list_load_round_trip(episodes_a: EpisodeStore) -> None:
    arrays, meta = make_episode(n=120)
    info = episodes_a.save(arrays, meta)
    assert info.task == "serve tea" and info.mode == "hand" and info.n_samples == 120
    assert info.duration_s == pytest.approx(119 / 50.0)
    assert [i.id for i in episodes_a.list()] == [info.id]
    loaded, loaded_meta = episodes_a.load(info.id)
    assert loaded_meta == meta
    assert set(loaded) == {"t", "q", "goal"}
    for name in arrays:
        assert loaded[name].dtype == arrays[name].dtype and loaded[name].shape == arrays[name].shape
        np.testing.assert_array_equal(loaded[name], arrays[name])  # NaNs included
    loaded["q"][0, 0] = 5.0  # a caller may modify what it got


def test_list_is_ordered_and_rename_delete(episodes_a: EpisodeStore) -> None:
    ids = []
    for k in range(3):
        arrays, meta = make_episode(seed=k)
        meta["created"] = f"2026-11-24T20:0{k}:00+00:00"
        ids.append(episodes_a.save(arrays, meta, name=f"take {k}").id)
    assert [i.name for i in episodes_a.list()] == ["take 0", "take 1", "take 2"]
    renamed = episodes_a.rename(ids[1], "  best   take ")
    assert renamed.name == "best take" and renamed.id == ids[1]
    assert episodes_a.info(ids[1]).name == "best take"
    np.testing.assert_array_equal(episodes_a.load(ids[1])[0]["q"], make_episode(seed=1)[0]["q"])
    episodes_a.delete(ids[0])
    assert [i.id for i in episodes_a.list()] == ids[1:]
    with pytest.raises(EpisodeNotFound):
        episodes_a.load(ids[0])
    with pytest.raises(EpisodeNotFound):
        episodes_a.delete(ids[0])
    with pytest.raises(EpisodeNotFound):
        episodes_a.load("../../etc/passwd")
    with pytest.raises(InvalidName):
        episodes_a.rename(ids[1], "   ")


@pytest.mark.parametrize(
    "arrays",
    [{}, {"q": np.array(["a", "b"])}, {"": np.zeros(3)}, "not a dict", {"q": np.array([object()])}],
)
def test_invalid_episodes_are_refused(episodes_a: EpisodeStore, arrays: object) -> None:
    with pytest.raises(InvalidEpisode):
        episodes_a.save(arrays, {"task": "x"})  # type: ignore[arg-type]
    assert episodes_a.list() == []


def test_meta_must_be_json(episodes_a: EpisodeStore) -> None:
    arrays, _ = make_episode()
    with pytest.raises(InvalidEpisode, match="JSON"):
        episodes_a.save(arrays, {"task": object()})


def test_damaged_body_lists_but_never_loads(episodes_a: EpisodeStore) -> None:
    arrays, meta = make_episode()
    info = episodes_a.save(arrays, meta)
    path = episodes_a.folder / f"{info.id}.sealed"
    data = bytearray(path.read_bytes())
    data[-5] ^= 0x10
    path.write_bytes(bytes(data))
    with pytest.raises(TamperedFile):
        episodes_a.load(info.id)
    assert episodes_a.verify() and info.id in episodes_a.verify()[0]


def test_damaged_meta_is_left_out_of_the_list_and_reported(episodes_a: EpisodeStore) -> None:
    good = episodes_a.save(*make_episode(seed=1))
    bad = episodes_a.save(*make_episode(seed=2))
    path = episodes_a.folder / f"{bad.id}.sealed"
    data = bytearray(path.read_bytes())
    data[40] ^= 0x01
    path.write_bytes(bytes(data))
    infos, problems = episodes_a.list_with_problems()
    assert [i.id for i in infos] == [good.id]
    assert len(problems) == 1 and isinstance(problems[0], SealedFileError)


def test_swapped_episode_files_are_detected(episodes_a: EpisodeStore) -> None:
    """Renaming one episode's file over another's (same profile, same key) is caught: the id is bound."""
    one = episodes_a.save(*make_episode(seed=1))
    two = episodes_a.save(*make_episode(seed=2))
    shutil.copyfile(episodes_a.folder / f"{one.id}.sealed", episodes_a.folder / f"{two.id}.sealed")
    with pytest.raises(TamperedFile):
        episodes_a.load(two.id)


def test_another_profiles_file_is_detected(tmp_path: Path, episodes_a: EpisodeStore, sealer_a: Sealer) -> None:
    """Even a profile holding the same key (worst case) cannot open another profile's file."""
    info = episodes_a.save(*make_episode())
    other = EpisodeStore(tmp_path / "b" / "episodes", sealer_a, PROFILE_B)
    other.folder.mkdir(parents=True)
    shutil.copyfile(episodes_a.folder / f"{info.id}.sealed", other.folder / f"{info.id}.sealed")
    with pytest.raises(TamperedFile):
        other.load(info.id)


def test_an_episode_is_not_an_adapter(tmp_path: Path, episodes_a: EpisodeStore, sealer_a: Sealer) -> None:
    from prop_desktop.storage import AdapterStore

    from .storage_helpers import PROFILE_A

    info = episodes_a.save(*make_episode())
    adapters = AdapterStore(tmp_path / "a" / "adapters", sealer_a, PROFILE_A)
    adapters.folder.mkdir(parents=True)
    fake_hash = info.id  # 32 hex chars: a valid-looking base model hash
    shutil.copyfile(episodes_a.folder / f"{info.id}.sealed", adapters.folder / f"{fake_hash}.sealed")
    with pytest.raises(TamperedFile):
        adapters.load(fake_hash)


def test_stale_temp_files_are_ignored_and_cleaned(tmp_path: Path, episodes_a: EpisodeStore, sealer_a: Sealer) -> None:
    import os

    info = episodes_a.save(*make_episode())
    stale = episodes_a.folder / f".{info.id}.sealed.abc123.tmp"
    stale.write_bytes(b"half written ciphertext")
    assert [i.id for i in episodes_a.list()] == [info.id]
    os.utime(stale, (1, 1))
    EpisodeStore(episodes_a.folder, sealer_a, episodes_a._profile_id)
    assert not stale.exists()
