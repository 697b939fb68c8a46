"""The crash-consistency harness: each profile operation run as a real process, SIGKILLed at its 1st, 2nd,
... write point (PROP_DESKTOP_CRASH_AT=*:N) until it completes, and after each kill the next start is
checked against the invariant:

- every sealed file of every listed profile opens with a key whose recovery code the user was shown (when
  the keyring entry is gone, restoring with a shown code brings it back), and nothing recorded before the
  operation went missing (except by a `delete`, which may leave a profile half deleted but never unreadable);
- no keyring entry made by the operation survives unless a listed profile owns it (no orphan keys).

Against the real Secret Service (the CLI subprocess and this process share it).
"""

from __future__ import annotations

import contextlib
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from keyring.backend import KeyringBackend

from prop_desktop.keys import SERVICE, KeysError
from prop_desktop.storage import Household

from .crash_helpers import KILLED, Recorded, cli, codes_in, key_id

SAVE_SCRIPT = (
    "import numpy as np; from prop_desktop.storage import Household; "
    "Household().unlock('Ana').episodes.save({'q': np.ones((12, 6), np.float32)}, {'task': 'task 99'})"
)


@dataclass
class World:
    """One data folder with Ana (2 episodes and an adapter) and Bo, and every code shown so far."""

    root: Path
    backend: KeyringBackend
    codes: dict[str, str] = field(default_factory=dict)  # key id -> recovery code shown to the user
    recorded: dict[str, Recorded] = field(default_factory=dict)  # profile id -> what it held before
    ids: dict[str, str] = field(default_factory=dict)  # name -> profile id
    restore_code: str = ""  # the code `restore` types

    @classmethod
    def make(cls, root: Path, backend: KeyringBackend) -> World:
        world = cls(root, backend)
        hh = Household(root, keyring_backend=backend)
        for name, files in (("Ana", 2), ("Bo", 1)):
            profile, code = hh.create_profile(name, shared=True)
            world.codes[profile.key_id] = code
            world.ids[name] = profile.id
            world.recorded[profile.id] = Recorded()
            world.recorded[profile.id].fill(hh, name, files)
        return world

    def usernames(self) -> set[str]:
        return set(keyring_usernames(self.backend))


def keyring_usernames(backend: KeyringBackend) -> list[str]:
    """Every username under our service in the Secret Service's collection."""
    import secretstorage

    with contextlib.closing(secretstorage.dbus_init()) as bus:
        collection = secretstorage.get_default_collection(bus)
        return [item.get_attributes().get("username", "") for item in collection.search_items({"service": SERVICE})]


def _run(world: World, op: str, crash_at: str | None):
    if op == "create":
        return cli(world.root, "create", "Cy", "--shared", crash_at=crash_at)
    if op == "save":
        import os
        import subprocess

        env = dict(os.environ, PROP_DESKTOP_DATA_DIR=str(world.root))
        if crash_at:
            env["PROP_DESKTOP_CRASH_AT"] = crash_at
        return subprocess.run([sys.executable, "-c", SAVE_SCRIPT], env=env, capture_output=True, text=True,
                              timeout=120)
    if op == "rotate":
        return cli(world.root, "rotate", "Ana", crash_at=crash_at)
    if op == "restore":
        return cli(world.root, "restore", "Ana", "--code-stdin", stdin=world.restore_code + "\n", crash_at=crash_at)
    if op == "rename":
        return cli(world.root, "rename", "Ana", "Anna", crash_at=crash_at)
    if op == "delete":
        return cli(world.root, "delete", "Ana", "--yes", crash_at=crash_at)
    raise ValueError(op)


def _prepare(world: World, op: str) -> None:
    """Bring the world into the state the operation starts from."""
    if op == "restore":
        # The hardest restore: a rotation finished, then profiles.json was rolled back to name the old key,
        # and the user types the old code. Every file must be resealed back (merge).
        hh = Household(world.root, keyring_backend=world.backend)
        backup = (world.root / "profiles.json").read_bytes()
        world.restore_code = world.codes[hh.profile("Ana").key_id]
        new_code = hh.rotate("Ana")
        world.codes[key_id(new_code)] = new_code
        (world.root / "profiles.json").write_bytes(backup)


def check_invariant(world: World, op: str, before: set[str]) -> list[str]:
    """Violations after the next start (empty = none)."""
    violations: list[str] = []
    hh = Household(world.root, keyring_backend=world.backend)  # the next start (tidies)
    listed = {p.id: p for p in hh.list_profiles()}
    for username in world.usernames() - before:
        if username not in listed:
            violations.append(f"orphan keyring entry {username}")
    for profile_id in set(listed) - set(world.recorded):  # made by the operation (create)
        try:
            if hh.unlock(profile_id).key_id not in world.codes:
                violations.append(f"{listed[profile_id].name}: listed, but its recovery code was never shown")
        except KeysError as exc:
            violations.append(f"{listed[profile_id].name}: listed, but does not unlock: {exc}")
    for profile_id, recorded in world.recorded.items():
        if profile_id not in listed:
            if not (op == "delete" and profile_id == world.ids["Ana"]):
                violations.append(f"profile {profile_id} vanished")
            continue
        name = listed[profile_id].name
        if hh.missing_key(profile_id):
            for code in world.codes.values():
                with contextlib.suppress(KeysError):
                    hh.restore(profile_id, code)
                    break
            else:
                if hh._sealed_files(listed[profile_id]):
                    violations.append(f"{name}: key lost and no shown code restores it")
                continue
        try:
            me = hh.unlock(profile_id)
        except KeysError as exc:
            violations.append(f"{name}: does not unlock: {exc}")
            continue
        if me.key_id not in world.codes:
            violations.append(f"{name}: the key in force ({me.key_id}) is not one whose code was shown")
        problems = hh.verify(profile_id)
        if op == "delete" and profile_id == world.ids["Ana"]:
            violations += [f"{name}: {p}" for p in problems]  # half deleted: what is left must open
        else:
            violations += [f"{name}: {p}" for p in recorded.problems(hh, profile_id)]
    return violations


@dataclass
class OpResult:
    op: str
    points: int = 0
    violations: list[str] = field(default_factory=list)


def crash_at_points(op: str, base: Path, backend: KeyringBackend, points: list[int] | None = None,
                    max_points: int = 60) -> OpResult:
    """Kill `op` at the given write points (None: at each in turn until it completes); check the invariant
    after each kill."""
    result = OpResult(op)
    for nth in points if points is not None else range(1, max_points + 1):
        root = base / f"{op}-{nth}"
        world = World.make(root, backend)
        _prepare(world, op)
        before = world.usernames()
        try:
            run = _run(world, op, f"*:{nth}")
            for code in codes_in(run.stdout):
                world.codes[key_id(code)] = code
            if run.returncode == 0 and points is None:
                return result
            assert run.returncode == KILLED, f"{op} at write {nth}: exit {run.returncode}, not killed: {run.stderr}"
            result.points += 1
            result.violations += [f"{op} killed at write {nth}: {v}" for v in check_invariant(world, op, before)]
        finally:
            _cleanup(world, before)
            shutil.rmtree(root, ignore_errors=True)
    if points is None:
        raise AssertionError(f"{op} never completed within {max_points} write points")
    return result


def _cleanup(world: World, before: set[str]) -> None:
    for username in (world.usernames() - before) | set(world.ids.values()):
        with contextlib.suppress(Exception):
            world.backend.delete_password(SERVICE, username)
