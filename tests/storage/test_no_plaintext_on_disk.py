"""After recording (episodes) and training (an adapter), the data folder holds no plaintext sample value:
not as float32, not as float64, not as decimal text; nor the task names or the adapter bytes."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
from safetensors.numpy import save as st_save

from prop_desktop.paths import data_dir
from prop_desktop.storage import Household
from tests.keys.keyring_fakes import MemoryKeyring

MODEL = "e5" * 32
TASK = "water the basil plant"


def _folder_bytes(root: Path) -> bytes:
    blob = io.BytesIO()
    for path in sorted(root.rglob("*")):
        if path.is_file():
            blob.write(path.read_bytes())
            blob.write(b"\n--file-boundary--\n")
    return blob.getvalue()


def test_data_folder_has_no_plaintext_samples() -> None:
    root = data_dir()  # the private PROP_DESKTOP_DATA_DIR conftest gives this test
    hh = Household(keyring_backend=MemoryKeyring())
    assert hh.root == root
    profile, _ = hh.create_profile("Ana", shared=True)
    me = hh.unlock(profile)
    rng = np.random.default_rng(7)
    recorded = []
    for _ in range(3):
        n = 80
        arrays = {
            "t": np.cumsum(rng.uniform(0.019, 0.021, n)),  # a real clock's uneven steps
            "q": rng.uniform(-2.0, 2.0, (n, 6)).astype(np.float32),
            "goal": rng.uniform(-2.0, 2.0, (n, 6)).astype(np.float32),
        }
        me.episodes.save(arrays, {"task": TASK, "mode": "hand", "rate_hz": 50.0, "profile_id": profile.id})
        recorded.append(arrays)
    weights = {"encoder.weight": rng.normal(size=(64, 128)).astype(np.float32)}
    adapter = st_save(weights, metadata={"kind": "prop-adapter"})
    me.adapters.save(MODEL, adapter)
    me.episodes.rename(me.episodes.list()[0].id, "first take")

    raw = _folder_bytes(root)
    assert len(raw) > 3 * 80 * 13 * 4  # the episodes are really in there (sealed)

    # Plaintext text: task, names chosen by the user, JSON keys of the meta.
    for text in (TASK, "first take", '"joint_names"', '"rate_hz"', "prop-adapter", "encoder.weight"):
        assert text.encode() not in raw, text
    # Each array as it would sit in a plaintext dump (rows of raw floats, both precisions).
    for arrays in recorded:
        for name, values in arrays.items():
            for row in np.atleast_2d(values.reshape(len(values), -1)):
                assert row.astype(np.float32).tobytes() not in raw, name
                assert row.astype(np.float64).tobytes() not in raw, name
    # Single values: every float64 (8 bytes: no chance match); float32 for a sample (4 random bytes can
    # match by chance in ~1/4e9 per position, so only 64 values keep the false-alarm odds negligible).
    everything = np.concatenate([a[k].reshape(-1).astype(np.float64) for a in recorded for k in a])
    for value in everything:
        assert value.tobytes() not in raw
    q_values = np.concatenate([a["q"].reshape(-1) for a in recorded])
    for value in q_values[:: max(1, len(q_values) // 64)][:64]:
        assert value.tobytes() not in raw
    # Decimal text as a JSON or CSV dump would write it (6 significant digits are enough to find one).
    # Only the sealed files: the registry's plaintext timestamps hold digit runs that can match by chance,
    # and its content is checked field by field below.
    sealed = b"".join(p.read_bytes() for p in sorted(root.rglob("*.sealed")))
    for value in everything[::3]:
        assert f"{value:.6g}".encode() not in sealed
    registry = json.loads((root / "profiles.json").read_text())
    assert set(registry) == {"schema", "active", "profiles"}
    assert [set(p) for p in registry["profiles"]] == [
        {"id", "name", "created", "protected", "key_id", "rotation", "manifest_counter", "shared"}]
    # The adapter's weights, in any 16-byte window.
    for start in range(0, len(adapter) - 16, 997):
        assert adapter[start : start + 16] not in raw

    # Nothing but the registry, the lock files and sealed files (the manifest is one) exist; no temp files are left.
    names = sorted(p.name for p in root.rglob("*") if p.is_file())
    assert [n for n in names if not n.endswith(".sealed")] == [
        ".keychange.lock", ".manifest.lock", ".profiles.lock", "profiles.json"]
    if os.name == "posix":  # the profile folders are private to the user
        assert (hh.profile_dir(profile).stat().st_mode & 0o077) == 0
