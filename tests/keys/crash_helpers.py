"""Helpers for the crash tests: run the real CLI, killed by its own failpoint, and check what survives."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from keyring.backend import KeyringBackend

from prop_desktop.keys import SERVICE, ProfileKey, decode_recovery_code
from prop_desktop.storage import Household

CODE = re.compile(r"^\s+([0-9A-Z]{5}(?:-[0-9A-Z]{5}){6})\s*$", re.M)
MODEL = "e7" * 32
KILLED = -9


def cli(root: Path, *args: str, stdin: str = "", crash_at: str | None = None) -> subprocess.CompletedProcess:
    """`prop-desktop profile ARGS` as a real process on `root`; with crash_at it SIGKILLs itself there."""
    env = dict(os.environ, PROP_DESKTOP_DATA_DIR=str(root))
    env.pop("PROP_DESKTOP_CRASH_AT", None)
    if crash_at is not None:
        env["PROP_DESKTOP_CRASH_AT"] = crash_at
    return subprocess.run([sys.executable, "-m", "prop_desktop", "profile", *args], input=stdin,
                          capture_output=True, text=True, timeout=120, env=env)


def codes_in(output: str) -> list[str]:
    return CODE.findall(output)


def key_id(code: str) -> str:
    return ProfileKey(decode_recovery_code(code)).key_id


def arrays(k: int) -> dict[str, np.ndarray]:
    return {"t": np.arange(12) / 50.0, "q": np.full((12, 6), k, np.float32), "goal": np.zeros((12, 6), np.float32)}


@dataclass
class Recorded:
    """What a profile holds, to check after a crash: episode id -> marker value, and the adapter bytes."""

    episodes: dict[str, int] = field(default_factory=dict)
    adapter: bytes | None = None

    def fill(self, hh: Household, name: str, n: int, first: int = 0) -> None:
        me = hh.unlock(name)
        for k in range(first, first + n):
            self.episodes[me.episodes.save(arrays(k), {"task": f"task {k}"}).id] = k
        if self.adapter is None:
            self.adapter = b"adapter " * 300
            me.adapters.save(MODEL, self.adapter)

    def problems(self, hh: Household, name: str, passphrase: str | None = None) -> list[str]:
        """Everything recorded that does not open (empty = all there)."""
        problems = list(hh.verify(name, passphrase))
        me = hh.unlock(name, passphrase)
        for episode_id, k in self.episodes.items():
            try:
                got, meta = me.episodes.load(episode_id)
                if meta["task"] != f"task {k}" or float(got["q"][0, 0]) != k:
                    problems.append(f"episode {episode_id} has other contents")
            except Exception as exc:  # noqa: BLE001 - any failure to open is a loss
                problems.append(f"episode {episode_id}: {exc}")
        if self.adapter is not None:
            try:
                if me.adapters.load(MODEL) != self.adapter:
                    problems.append("adapter has other contents")
            except Exception as exc:  # noqa: BLE001
                problems.append(f"adapter: {exc}")
        return problems


@dataclass
class Snapshot:
    """The data folder and the profiles' keyring entries at one moment, to replay several recoveries."""

    root: Path
    copy: Path
    entries: dict[str, str | None]

    @classmethod
    def take(cls, root: Path, backend: KeyringBackend, profile_ids: list[str]) -> Snapshot:
        copy = root.with_name(root.name + ".snap")
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(root, copy, symlinks=True)
        return cls(root, copy, {pid: backend.get_password(SERVICE, pid) for pid in profile_ids})

    def put_back(self, backend: KeyringBackend) -> None:
        shutil.rmtree(self.root)
        shutil.copytree(self.copy, self.root, symlinks=True)
        for pid, text in self.entries.items():
            if text is None:
                try:
                    backend.delete_password(SERVICE, pid)
                except Exception:  # noqa: BLE001 - already absent
                    pass
            else:
                backend.set_password(SERVICE, pid, text)
