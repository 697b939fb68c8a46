"""Keys, household profiles and sealed storage, end to end, against the system keyring.

    PROP_DESKTOP_DATA_DIR=/tmp/prop-demo .venv/bin/python docs/keys_storage_example.py

Creates two profiles, seals episodes and an adapter for each, switches between them, restores one from its
recovery code after its keyring entry is deleted, and deletes the other so its files cannot be read.
Every step is checked; the script exits non-zero if anything does not behave as described.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import keyring
import numpy as np
from safetensors.numpy import save as safetensors_save

from prop_desktop.keys import KeyMissing, KeySet, ProfileKey, decode_recovery_code
from prop_desktop.storage import Household, SealContext, SealedFileError, Sealer

BASE_MODEL_HASH = "5eed" * 16  # the base policy's hash (any hex string here)
JOINTS = ["shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper"]


def record_episode(profile_id: str, task: str, seed: int) -> tuple[dict[str, np.ndarray], dict]:
    """A stand-in for a recorded demonstration, in the shared episode format."""
    rng = np.random.default_rng(seed)
    n = 100
    arrays = {
        "t": np.arange(n) / 50.0,
        "q": np.cumsum(rng.normal(0, 0.01, (n, 6)), axis=0).astype(np.float32),
        "goal": np.full((n, 6), np.nan, dtype=np.float32),  # hand-guided: nothing commanded
    }
    meta = {"task": task, "profile_id": profile_id, "mode": "hand", "rate_hz": 50.0, "joint_names": JOINTS,
            "interrupted": False, "fault": None, "created": f"2026-11-24T20:{seed:02d}:00+00:00"}
    return arrays, meta


def check(condition: bool, what: str) -> None:
    if not condition:
        print(f"FAILED: {what}", file=sys.stderr)
        raise SystemExit(1)
    print(f"  ok: {what}")


def main() -> int:
    hh = Household()  # app data folder + the system keyring (insecure keyrings are refused)
    print(f"data folder: {hh.root}\nkeyring: {hh.keystore.describe()}")

    print("1. two profiles, each with a key in the keyring and a recovery code shown once")
    ana, ana_code = hh.create_profile("Ana", shared=True)  # Ana chose: anyone here may use her way
    bo, bo_code = hh.create_profile("Bo", passphrase="Bo's long violet passphrase")
    print(f"  Ana's recovery code: {ana_code}\n  Bo's recovery code:  {bo_code}")

    print("2. seal episodes and an adapter for each")
    for profile, passphrase, task in ((ana, None, "serve"), (bo, "Bo's long violet passphrase", "put away")):
        me = hh.unlock(profile, passphrase)
        for seed in range(2):
            me.episodes.save(*record_episode(profile.id, task, seed))
        weights = {"encoder.0.weight": np.random.default_rng(1).normal(size=(32, 128)).astype(np.float32)}
        me.adapters.save(BASE_MODEL_HASH, safetensors_save(weights), {"alpha": 0.8})
        stored = len(me.episodes.list()) == 2 and me.adapters.has(BASE_MODEL_HASH)
        check(stored, f"{profile.name}: 2 episodes + 1 adapter sealed")

    print("3. switch between them")
    for name in ("Bo", "Ana"):
        active = hh.set_active(name)
        me = hh.unlock(active, "Bo's long violet passphrase" if active.protected else None)
        tasks = sorted({info.task for info in me.episodes.list()})
        check(hh.active().name == name, f"active profile is {name}; its episodes are for {tasks}")

    print("4. Ana's keyring entry is lost; her recovery code brings it back")
    ana_network_key = hh.unlock(ana).network_key
    keyring.delete_password("prop-desktop", ana.id)  # what losing the keyring looks like
    try:
        hh.unlock(ana)
        check(False, "unlocking without a keyring entry must fail")
    except KeyMissing as exc:
        check(True, f"without the entry: {exc}")
    hh.restore("Ana", ana_code)
    me = hh.unlock(ana)
    check(me.network_key == ana_network_key, "same network key after restore (her adapter still works)")
    episode = me.episodes.list()[0]
    arrays, meta = me.episodes.load(episode.id)
    check(arrays["q"].shape == (100, 6) and meta["task"] == "serve", "her episodes open again")
    check(hh.verify(ana) == [], "verify: every sealed file of Ana opens and authenticates")

    print("5. Bo is deleted: his key is gone, and a copy of his files taken before is unreadable")
    stolen = Path(tempfile.mkdtemp()) / "bo-copy"
    shutil.copytree(hh.profile_dir(bo), stolen)
    check(hh.delete("Bo") == [], "Bo deleted (keyring entry, files, registry entry)")
    check(keyring.get_password("prop-desktop", bo.id) is None, "no keyring entry for Bo any more")
    check(not hh.profile_dir(bo).exists(), "Bo's folder is gone")
    remaining = [KeySet(ProfileKey(decode_recovery_code(ana_code))), KeySet(ProfileKey.generate())]
    unreadable = 0
    copies = sorted(stolen.glob("*/*.sealed"))  # episodes/ and adapters/ (the manifest is checked by verify)
    for path in copies:
        kind = "adapter" if path.parent.name == "adapters" else "episode"
        context = SealContext(bo.id, kind, path.stem, BASE_MODEL_HASH if kind == "adapter" else "")
        for keys in remaining:
            try:
                Sealer.from_keyset(keys).open(path, context)
            except SealedFileError:
                unreadable += 1
    check(len(copies) == 3 and unreadable == 3 * len(remaining), "the copied files open with no remaining key")
    shutil.rmtree(stolen.parent)

    print("6. clean up")
    hh.delete("Ana")
    check(hh.list_profiles() == [], "no profiles left")
    print("done: keys, profiles and sealed storage behave as documented")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
