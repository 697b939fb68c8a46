"""Store writes and key changes from different processes never mix: a write waits for a running rotation,
and a write through a key that is no longer the profile's is refused (StaleKey), never sealed."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from prop_desktop.storage import Household, StaleKey

from .keyring_fakes import SharedFileKeyring

MODEL = "a7" * 32


def _arrays(k: int) -> dict[str, np.ndarray]:
    return {"t": np.arange(10) / 50.0, "q": np.full((10, 6), k, np.float32)}


def test_stale_unlock_cannot_write(household: Household) -> None:
    ana, _ = household.create_profile("Ana", shared=True)
    before = household.unlock(ana)
    first = before.episodes.save(_arrays(1), {"task": "a"})
    household.rotate(ana)
    with pytest.raises(StaleKey, match="unlock it again"):
        before.episodes.save(_arrays(2), {"task": "b"})
    with pytest.raises(StaleKey):
        before.adapters.save(MODEL, b"weights")
    with pytest.raises(StaleKey):
        before.episodes.delete(first.id)
    after = household.unlock(ana)
    assert [i.id for i in after.episodes.list()] == [first.id]
    after.episodes.save(_arrays(2), {"task": "b"})
    assert household.verify(ana) == []
    household.delete(ana)
    with pytest.raises(StaleKey, match="deleted"):
        after.episodes.save(_arrays(3), {"task": "c"})
    assert not household.profile_dir(ana).exists()


def test_rotation_from_another_process_while_recording(tmp_path: Path) -> None:
    if sys.platform != "linux":
        pytest.skip("uses fork()")
    root, keyring_file = tmp_path / "data", tmp_path / "keyring.json"
    hh = Household(root, keyring_backend=SharedFileKeyring(keyring_file))
    ana, _ = hh.create_profile("Ana", shared=True)
    pid = os.fork()
    if pid == 0:  # another process (the CLI) rotates the key again and again
        try:
            other = Household(root, keyring_backend=SharedFileKeyring(keyring_file))
            for _ in range(6):
                other.rotate("Ana")
                time.sleep(0.1)
        finally:
            os._exit(0)
    me = hh.unlock(ana)
    saved: dict[str, int] = {}
    stale = 0
    k = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        k += 1
        try:
            saved[me.episodes.save(_arrays(k), {"task": f"t{k}"}).id] = k
        except StaleKey:
            stale += 1
            me = hh.unlock(ana)  # waits for a running rotation, then gives the current key
        if os.waitpid(pid, os.WNOHANG) != (0, 0):
            break
        time.sleep(0.01)  # a recording session saves now and then, not in a tight loop
    else:
        pytest.fail("the rotating process did not finish")
    me = hh.unlock(ana)
    assert hh.verify(ana) == []
    for episode_id, value in saved.items():
        assert float(me.episodes.load(episode_id)[0]["q"][0, 0]) == value
    print(f"{len(saved)} episodes saved during 6 rotations, {stale} writes refused as stale and retried")
    assert len(saved) >= 3 and stale >= 2

