"""Rollback detection: a sealed per-profile manifest with a counter.

Every store write gets the next generation number of its profile. The number goes into the file's sealed
meta section, then the manifest (`manifest.sealed`, sealed with the profile key like any other file)
records it for that file (or, for a deletion, a tombstone), then the registry records the manifest's
counter. `verify` reports:

- a file whose generation is lower than the manifest's for it: an older copy was put back;
- a file the manifest lists as deleted at a later generation: a deleted recording was copied back;
- a manifest whose counter is lower than the registry's: the whole profile folder was rolled back.

Each rule only fires on *older*, and each write goes file, then manifest, then registry, so a crash between
two of them leaves something *newer* than its record, which is never reported. Files written before this
existed carry no generation and are not judged. After restoring a backup on purpose, `accept_files` makes
the files as they are the reference again.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .errors import SealedFileError
from .locks import file_lock
from .registry import Registry
from .sealed import SealContext, Sealer

MANIFEST_FILE = "manifest.sealed"
MANIFEST_LOCK = ".manifest.lock"
KIND = "manifest"
log = logging.getLogger(__name__)


@dataclass
class ManifestData:
    counter: int = 0
    files: dict[str, int] = field(default_factory=dict)  # "episodes/<id>" -> generation of its newest write
    deleted: dict[str, int] = field(default_factory=dict)  # "episodes/<id>" -> generation of its deletion

    def to_bytes(self) -> bytes:
        return json.dumps({"counter": self.counter, "files": self.files, "deleted": self.deleted}).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> ManifestData:
        doc = json.loads(data)
        return cls(int(doc["counter"]), {str(k): int(v) for k, v in doc["files"].items()},
                   {str(k): int(v) for k, v in doc["deleted"].items()})


def manifest_context(profile_id: str) -> SealContext:
    return SealContext(profile_id, KIND, KIND)


class Manifest:
    """The manifest of one profile folder. `record_counter` stores the counter in the registry."""

    def __init__(self, folder: Path, sealer: Sealer, profile_id: str, record_counter: Callable[[int], None],
                 registry_counter: Callable[[], int]) -> None:
        self.path = folder / MANIFEST_FILE
        self._folder = folder
        self._sealer = sealer
        self._context = manifest_context(profile_id)
        self._record_counter = record_counter
        self._registry_counter = registry_counter

    def read(self) -> ManifestData | None:
        """The manifest, or None when there is none. Raises SealedFileError when it does not open."""
        if not self.path.exists():
            return None
        _, body = self._sealer.open(self.path, self._context)
        try:
            return ManifestData.from_bytes(body)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise SealedFileError(self.path, "the manifest authenticates but cannot be read") from None

    def _write(self, data: ManifestData) -> None:
        self._sealer.write(self.path, b"{}", data.to_bytes(), self._context, point="manifest")
        self._record_counter(data.counter)

    @contextlib.contextmanager
    def recording(self, entry: str, deleting: bool = False) -> Iterator[int]:
        """Around one store write of `entry` ("episodes/<id>"): yields the generation to seal into the file,
        then records it (file first, then manifest, then registry)."""
        with file_lock(self._folder / MANIFEST_LOCK, timeout_s=60.0):
            try:
                data = self.read() or ManifestData(self._registry_counter())
            except SealedFileError as exc:  # never block saving; verify reported it until now
                log.warning("manifest replaced: %s", exc)
                data = ManifestData(self._registry_counter())
            generation = max(data.counter, self._registry_counter()) + 1
            yield generation
            data.counter = generation
            if deleting:
                data.files.pop(entry, None)
                data.deleted[entry] = generation
            else:
                data.files[entry] = generation
                data.deleted.pop(entry, None)
            self._write(data)

    def problems(self, generations: dict[str, int | None]) -> list[str]:
        """Rollbacks found, given each present file's generation (None: written before manifests existed)."""
        try:
            data = self.read()
        except SealedFileError as exc:
            return [f"manifest: {exc}"]
        expected = self._registry_counter()
        if data is None:  # no files at all is an emptied folder (e.g. a deletion stopped half way), not a rollback
            return [_folder_rolled_back("its manifest is missing")] if expected and generations else []
        problems = []
        if data.counter < expected:
            problems.append(_folder_rolled_back(f"its manifest is at {data.counter}, the registry at {expected}"))
        for entry, generation in sorted(generations.items()):
            if generation is None:
                continue
            if generation < data.files.get(entry, 0):
                problems.append(f"{entry}: an older copy was put back (version {generation}, the newest saved is "
                                f"{data.files[entry]}); delete it, or keep it on purpose with `verify --accept`")
            elif entry in data.deleted and generation <= data.deleted[entry]:
                problems.append(f"{entry}: it was deleted and a copy was put back; delete it again, or keep it "
                                "on purpose with `verify --accept`")
        return problems

    def accept(self, generations: dict[str, int | None]) -> None:
        """Make the files as they are now the reference (after restoring a backup on purpose)."""
        with file_lock(self._folder / MANIFEST_LOCK, timeout_s=60.0):
            known = [g for g in generations.values() if g is not None]
            counter = max([self._registry_counter(), *known]) + 1
            self._write(ManifestData(counter, {k: g for k, g in generations.items() if g is not None}, {}))


def _folder_rolled_back(detail: str) -> str:
    return (f"the profile's folder was rolled back to an older state ({detail}); restore the newest backup, or "
            "keep this state on purpose with `verify --accept`")


def profile_manifest(registry: Registry, folder: Path, sealer: Sealer, profile_id: str) -> Manifest:
    """The manifest of a profile, its counter kept in the registry entry."""

    def record(counter: int) -> None:
        with registry.edit() as data:
            current = data.profiles.get(profile_id)
            if current is not None and current.manifest_counter < counter:
                data.update(profile_id, manifest_counter=counter)

    def read() -> int:
        current = registry.read().profiles.get(profile_id)
        return current.manifest_counter if current is not None else 0

    return Manifest(folder, sealer, profile_id, record, read)


def file_generations(files: list[tuple[Path, SealContext]], sealer: Sealer) -> dict[str, int | None]:
    """Each readable store file's generation ("episodes/<id>" -> number, None if written before manifests)."""
    generations: dict[str, int | None] = {}
    for path, context in files:
        if context.kind == KIND:
            continue
        try:
            header = json.loads(sealer.open_meta(path, context))
        except (SealedFileError, OSError, ValueError):
            continue  # reported by the stores' own verify
        generation = header.get("generation") if isinstance(header, dict) else None
        generations[entry_name(path)] = generation if isinstance(generation, int) else None
    return generations


def entry_name(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"
