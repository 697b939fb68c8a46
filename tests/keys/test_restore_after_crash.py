"""Restore during an interrupted key rotation, and after a rolled-back profiles.json, loses nothing.

The real CLI (`prop-desktop profile rotate`) is killed with SIGKILL at each of its write points in turn
(PROP_DESKTOP_CRASH_AT), against the real Secret Service. From each crash, `profile restore` with the old
recovery code, and (from the same state) with the new one, must leave every recording and the adapter
openable with the key of the code just typed.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from prop_desktop.keys import SERVICE, encode_recovery_code
from prop_desktop.keys.keyring_store import decode_entry
from prop_desktop.storage import Household

from .crash_helpers import KILLED, Recorded, Snapshot, cli, codes_in, key_id

pytestmark = [pytest.mark.secret_service, pytest.mark.timeout(300),
              pytest.mark.skipif(sys.platform != "linux", reason="SIGKILL failpoints")]


def _new_code(stdout: str, backend, profile_id: str) -> str | None:
    """The rotation's new code: as printed, or (killed before it was shown) the pending key in the entry;
    None when it was killed before the new key was stored anywhere."""
    printed = codes_in(stdout)
    if printed:
        return printed[0]
    text = backend.get_password(SERVICE, profile_id)
    pending = decode_entry(text, profile_id, None).pending
    return encode_recovery_code(pending.root) if pending is not None else None


def _restore_and_check(root: Path, backend, recorded: Recorded, code: str, via_cli: bool = True) -> None:
    hh = Household(root, keyring_backend=backend)
    if via_cli:
        result = cli(root, "restore", "Ana", "--code-stdin", stdin=code + "\n")
        assert result.returncode == 0, result.stderr
    else:
        hh.restore("Ana", code)
    assert hh.unlock("Ana").key_id == key_id(code)  # the key in force is the one typed
    assert recorded.problems(hh, "Ana") == []
    assert hh.profile("Ana").rotation is None


@pytest.mark.slow
def test_restore_with_either_code_after_rotate_killed_at_each_write(secret_service, tmp_path: Path) -> None:
    points = 0
    for nth in range(1, 40):
        root = tmp_path / f"run{nth}"
        hh = Household(root, keyring_backend=secret_service)
        ana, old_code = hh.create_profile("Ana", shared=True)
        secret_service.created_usernames.append(ana.id)
        recorded = Recorded()
        recorded.fill(hh, "Ana", 2)
        rotated = cli(root, "rotate", "Ana", crash_at=f"*:{nth}")
        if rotated.returncode == 0:
            break
        assert rotated.returncode == KILLED, rotated.stderr
        points += 1
        new_code = _new_code(rotated.stdout, secret_service, ana.id)
        snapshot = Snapshot.take(root, secret_service, [ana.id])
        _restore_and_check(root, secret_service, recorded, old_code)
        if new_code is not None:
            snapshot.put_back(secret_service)
            _restore_and_check(root, secret_service, recorded, new_code, via_cli=False)
        secret_service.delete_password(SERVICE, ana.id)
        shutil.rmtree(root)
    # keyring (both keys), registry, 4 reseals (2 episodes, the adapter, the manifest), registry, keyring,
    # registry: every one was a crash point.
    assert points == 9, points


@pytest.mark.slow
def test_rolled_back_registry_then_restore_with_either_code(secret_service, tmp_path: Path) -> None:
    root = tmp_path / "data"
    hh = Household(root, keyring_backend=secret_service)
    ana, old_code = hh.create_profile("Ana", shared=True)
    secret_service.created_usernames.append(ana.id)
    recorded = Recorded()
    recorded.fill(hh, "Ana", 3)
    backup = (root / "profiles.json").read_bytes()  # a backup taken before the rotation
    rotated = cli(root, "rotate", "Ana")
    assert rotated.returncode == 0, rotated.stderr
    new_code = codes_in(rotated.stdout)[0]
    (root / "profiles.json").write_bytes(backup)  # rolled back: names the old key again
    snapshot = Snapshot.take(root, secret_service, [ana.id])
    _restore_and_check(root, secret_service, recorded, old_code)
    snapshot.put_back(secret_service)
    _restore_and_check(root, secret_service, recorded, new_code)
    # Keyring entry lost as well: the files' headers still let the new code in.
    snapshot.put_back(secret_service)
    secret_service.delete_password(SERVICE, ana.id)
    _restore_and_check(root, secret_service, recorded, new_code)
