"""kill -9 at random moments while the registry, an episode and an adapter are being rewritten: afterwards
each is exactly the old or the new version, never corrupt (atomic temp-file + fsync + rename)."""

from __future__ import annotations

import os
import random
import signal
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from prop_desktop.keys import KeySet, ProfileKey
from prop_desktop.storage import AdapterStore, EpisodeStore, Profile, Sealer
from prop_desktop.storage.registry import Registry

from .storage_helpers import PROFILE_A, make_episode

KILLS = 40
MODEL = "c3" * 32
PAYLOAD = os.urandom(256 * 1024)  # big enough that a write takes a while


def _gen(text: str) -> int:
    return int(text.split("-")[1])


def _stores(root: Path, key: ProfileKey) -> tuple[Registry, EpisodeStore, AdapterStore]:
    sealer = Sealer.from_keyset(KeySet(key))
    return (
        Registry(root),
        EpisodeStore(root / "episodes", sealer, PROFILE_A),
        AdapterStore(root / "adapters", sealer, PROFILE_A),
    )


def _writer(root: Path, key: ProfileKey, episode_id: str, first: int, out_fd: int) -> None:
    """Child process: rewrite all three forever, reporting each completed write on the pipe."""
    registry, episodes, adapters = _stores(root, key)
    k = first
    while True:
        with registry.edit() as data:
            data.update(PROFILE_A, name=f"gen-{k}")
        os.write(out_fd, f"reg {k}\n".encode())
        episodes.rename(episode_id, f"gen-{k}")
        os.write(out_fd, f"ep {k}\n".encode())
        adapters.save(MODEL, f"gen-{k}|".encode() + PAYLOAD)
        os.write(out_fd, f"ad {k}\n".encode())
        k += 1


def _observe(root: Path, key: ProfileKey, episode_id: str) -> dict[str, int]:
    registry, episodes, adapters = _stores(root, key)
    assert episodes.verify() == [] and adapters.verify() == []
    adapter = adapters.load(MODEL)
    assert adapter.endswith(PAYLOAD)
    arrays, _ = episodes.load(episode_id)
    np.testing.assert_array_equal(arrays["q"], make_episode()[0]["q"])
    return {
        "reg": _gen(registry.read().find(PROFILE_A).name),
        "ep": _gen(episodes.info(episode_id).name),
        "ad": _gen(adapter.split(b"|", 1)[0].decode()),
    }


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.skipif(sys.platform != "linux", reason="uses fork() and SIGKILL")
def test_kill_9_leaves_old_or_new_never_corrupt(tmp_path: Path) -> None:
    key = ProfileKey.generate()
    registry, episodes, adapters = _stores(tmp_path, key)
    with registry.edit() as data:
        data.put(Profile(PROFILE_A, "gen-0", "2026-11-24T20:00:00", key_id=key.key_id))
    episode_id = episodes.save(*make_episode(), name="gen-0").id
    adapters.save(MODEL, b"gen-0|" + PAYLOAD)
    state = _observe(tmp_path, key, episode_id)
    rng = random.Random(1234)
    mid_write_kills = 0
    for i in range(KILLS):
        first = (i + 1) * 1000
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # child
            try:
                os.close(read_fd)
                _writer(tmp_path, key, episode_id, first, write_fd)
            finally:
                os._exit(0)
        os.close(write_fd)
        time.sleep(rng.uniform(0.0, 0.08))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        with os.fdopen(read_fd) as pipe:
            reported = [line.split() for line in pipe.read().splitlines()]
        last: dict[str, int] = {}
        for resource, k in reported:
            last[resource] = int(k)
        leftovers = [p for p in tmp_path.rglob(".*.tmp")]
        mid_write_kills += bool(leftovers)  # a temp file left behind = killed inside a write
        for leftover in leftovers:
            leftover.unlink()
        new_state = _observe(tmp_path, key, episode_id)
        for resource in ("reg", "ep", "ad"):
            committed = last.get(resource, state[resource])
            in_flight = last[resource] + 1 if resource in last else first
            assert new_state[resource] in (committed, in_flight), (i, resource, new_state, last)
        state = new_state
    # The kills really landed inside writes (not only between them), and the writer made progress.
    print(f"{mid_write_kills}/{KILLS} kills landed inside a write")
    assert mid_write_kills >= KILLS // 4
    assert min(state.values()) > 1000
