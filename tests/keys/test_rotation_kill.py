"""kill -9 at random moments during key rotations: afterwards the profile unlocks, every file opens, and the
key in force is one whose recovery code the user was shown (the old one, or the new one once shown)."""

from __future__ import annotations

import os
import random
import signal
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from prop_desktop.keys import ProfileKey, decode_recovery_code
from prop_desktop.storage import Household

from .keyring_fakes import SharedFileKeyring

KILLS = 15
MODEL = "f6" * 32


def _arrays(k: int) -> dict[str, np.ndarray]:
    return {"t": np.arange(20) / 50.0, "q": np.full((20, 6), k, np.float32), "goal": np.zeros((20, 6), np.float32)}


def _rotator(root: Path, keyring_file: Path, out_fd: int) -> None:
    hh = Household(root, keyring_backend=SharedFileKeyring(keyring_file))
    while True:
        hh.rotate("Ana", on_new_code=lambda code: os.write(out_fd, f"{code}\n".encode()))


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.skipif(sys.platform != "linux", reason="uses fork() and SIGKILL")
def test_kill_9_during_rotation(tmp_path: Path) -> None:
    root, keyring_file = tmp_path / "data", tmp_path / "keyring.json"
    hh = Household(root, keyring_backend=SharedFileKeyring(keyring_file))
    ana, code = hh.create_profile("Ana", shared=True)
    me = hh.unlock(ana)
    ids = {me.episodes.save(_arrays(k), {"task": f"task {k}"}).id: k for k in range(8)}
    me.adapters.save(MODEL, b"adapter " * 5000)
    shown = {ana.key_id: code}  # every recovery code the user has seen, by key id
    rng = random.Random(99)
    interrupted = 0
    for _ in range(KILLS):
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(read_fd)
                _rotator(root, keyring_file, write_fd)
            finally:
                os._exit(0)
        os.close(write_fd)
        time.sleep(rng.uniform(0.02, 0.6))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        with os.fdopen(read_fd) as pipe:
            for line in pipe.read().split():
                shown[ProfileKey(decode_recovery_code(line)).key_id] = line
        fresh = Household(root, keyring_backend=SharedFileKeyring(keyring_file))
        interrupted += fresh.profile("Ana").rotation is not None
        me = fresh.unlock("Ana")  # finishes or undoes the interrupted rotation
        assert me.key_id in shown, "the key in force must be one whose recovery code was shown"
        assert fresh.profile("Ana").rotation is None and fresh.verify("Ana") == []
        for episode_id, k in ids.items():
            arrays, meta = me.episodes.load(episode_id)
            assert meta["task"] == f"task {k}" and float(arrays["q"][0, 0]) == k
        assert me.adapters.load(MODEL) == b"adapter " * 5000
        fresh.restore("Ana", shown[me.key_id])  # that code really restores the profile
    print(f"{interrupted}/{KILLS} kills interrupted a rotation; {len(shown) - 1} rotations showed a code")
    assert interrupted >= KILLS // 3 and len(shown) >= 2
