"""The sealed files of one profile folder: finding them, and resealing them all under one key."""

from __future__ import annotations

from pathlib import Path

from ..keys.keyring_store import KeySet
from ..keys.material import ProfileKey
from .adapters import KIND as ADAPTER_KIND
from .adapters import MODEL_HASH
from .atomic import fsync_dir
from .episodes import EPISODE_ID
from .episodes import KIND as EPISODE_KIND
from .errors import SealedFileError
from .manifest import MANIFEST_FILE, manifest_context
from .sealed import SealContext, Sealer, key_id_of

EPISODES_DIR = "episodes"
ADAPTERS_DIR = "adapters"


def sealed_files_in(folder: Path, profile_id: str) -> list[tuple[Path, SealContext]]:
    """Every file of the profile folder that is named like one of ours, with the context it must open in."""
    files: list[tuple[Path, SealContext]] = []
    for path in sorted((folder / EPISODES_DIR).glob("*.sealed")):
        if EPISODE_ID.match(path.stem):
            files.append((path, SealContext(profile_id, EPISODE_KIND, path.stem)))
    for path in sorted((folder / ADAPTERS_DIR).glob("*.sealed")):
        if MODEL_HASH.match(path.stem):
            files.append((path, SealContext(profile_id, ADAPTER_KIND, path.stem, base_model_hash=path.stem)))
    if (folder / MANIFEST_FILE).exists():
        files.append((folder / MANIFEST_FILE, manifest_context(profile_id)))
    return files


def reseal_all(files: list[tuple[Path, SealContext]], keys: KeySet, target: ProfileKey) -> list[str]:
    """Reseal every file that `keys` open and that is not yet under `target`. Files no key opens are left as
    they are (reported)."""
    sealer = Sealer({k.key_id: k.seal_key for k in keys.by_id().values()} | {target.key_id: target.seal_key},
                    target.key_id)
    problems = []
    touched: set[Path] = set()
    for path, context in files:
        if key_id_of(path) == target.key_id:
            continue
        try:
            meta, body = sealer.open(path, context)
        except FileNotFoundError:
            continue
        except SealedFileError as exc:
            problems.append(str(exc))
            continue
        sealer.write(path, meta, body, context, sync_dir=False, point="reseal")
        touched.add(path.parent)
    # One folder fsync per folder instead of one per file; done before the caller moves to the next phase,
    # so no rename can be lost once the old key is dropped.
    for folder in touched:
        fsync_dir(folder)
    return problems
