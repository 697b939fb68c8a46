"""A profile's demonstration episodes, stored only sealed.

An episode is `arrays` (name -> numpy array; "t", "q", "goal" by convention) + `meta` (JSON-able dict).
Arrays are serialized in memory with safetensors (never pickle, never a plaintext file), then sealed, then
written atomically. Each file's small sealed meta section carries the listing data, so `list()` opens only
those sections (no plaintext index exists anywhere).
"""

from __future__ import annotations

import builtins
import contextlib
import json
import logging
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save

from .. import failpoints
from .atomic import make_private_dir, remove_stale_temp_files
from .errors import EpisodeNotFound, InvalidEpisode, SealedFileError
from .registry import MAX_NAME_CHARS, clean_name
from .sealed import SealContext, Sealer

KIND = "episode"
SUFFIX = ".sealed"
EPISODE_ID = re.compile(r"^[0-9a-f]{32}$")  # uuid4().hex; anything else in the folder is not ours
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EpisodeInfo:
    id: str
    name: str
    created: str
    task: str
    mode: str
    n_samples: int
    duration_s: float
    interrupted: bool


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _check_arrays(arrays: Any) -> dict[str, np.ndarray]:
    if not isinstance(arrays, dict) or not arrays:
        raise InvalidEpisode("an episode needs a non-empty dict of arrays (e.g. 't', 'q', 'goal')")
    checked: dict[str, np.ndarray] = {}
    for name, value in arrays.items():
        if not isinstance(name, str) or not name:
            raise InvalidEpisode(f"array names must be non-empty strings, got {name!r}")
        array = np.asarray(value)
        if array.dtype.kind not in "biuf":
            raise InvalidEpisode(f"array {name!r} has dtype {array.dtype}; only numbers and booleans are stored")
        checked[name] = np.ascontiguousarray(array)
    return checked


def _info(episode_id: str, header: dict[str, Any]) -> EpisodeInfo:
    meta = header.get("meta", {})
    return EpisodeInfo(
        id=episode_id,
        name=str(header.get("name", "")),
        created=str(header.get("created", "")),
        task=str(meta.get("task", "")),
        mode=str(meta.get("mode", "")),
        n_samples=int(header.get("n_samples", 0)),
        duration_s=float(header.get("duration_s", 0.0)),
        interrupted=bool(meta.get("interrupted", False)),
    )


# Wraps every store write of one entry ("episodes/<id>"; True = a deletion) and gives the generation to
# seal into it (None: no manifest, e.g. a store used on its own).
WriteGuard = Callable[..., AbstractContextManager[int | None]]


@contextlib.contextmanager
def no_guard(entry: str, deleting: bool = False) -> Iterator[int | None]:
    yield None


def _default_name(meta: dict[str, Any], created: str) -> str:
    task = "".join(ch for ch in str(meta.get("task") or "episode") if ch.isprintable())
    stamp = created[:19].replace("T", " ")
    return f"{task[: MAX_NAME_CHARS - len(stamp) - 1].strip() or 'episode'} {stamp}"


class EpisodeStore:
    """`write_guard` (given by Household) wraps every change: it waits out a key rotation in another
    process and refuses to write under a key that is no longer the profile's."""

    def __init__(self, folder: Path, sealer: Sealer, profile_id: str, write_guard: WriteGuard | None = None) -> None:
        self.folder = folder
        self._sealer = sealer
        self._profile_id = profile_id
        self._guard: WriteGuard = write_guard or no_guard
        if folder.is_dir():
            remove_stale_temp_files(folder)

    def _context(self, episode_id: str) -> SealContext:
        return SealContext(self._profile_id, KIND, episode_id)

    def _path(self, episode_id: str) -> Path:
        try:
            canonical = uuid.UUID(hex=str(episode_id)).hex
        except ValueError:
            raise EpisodeNotFound(f"{episode_id!r} is not an episode id") from None
        return self.folder / f"{canonical}{SUFFIX}"

    def _write(self, episode_id: str, header: dict[str, Any], body: bytes) -> None:
        with self._guard(f"{self.folder.name}/{episode_id}") as generation:
            if generation is not None:
                header = {**header, "generation": generation}
            meta_bytes = json.dumps(header).encode()
            make_private_dir(self.folder)
            self._sealer.write(self._path(episode_id), meta_bytes, body, self._context(episode_id))

    def save(self, arrays: dict[str, np.ndarray], meta: dict[str, Any], name: str | None = None) -> EpisodeInfo:
        """Seal and store a new episode; returns its listing entry (with the new id)."""
        checked = _check_arrays(arrays)
        if not isinstance(meta, dict):
            raise InvalidEpisode("episode meta must be a dict")
        try:
            json.dumps(meta)
        except (TypeError, ValueError) as exc:
            raise InvalidEpisode(f"episode meta must be JSON-able: {exc}") from None
        created = str(meta.get("created") or _now())
        t = checked.get("t")
        first = checked["t"] if "t" in checked else next(iter(checked.values()))
        n_samples = int(first.shape[0]) if first.ndim else 1
        duration = float(t[-1] - t[0]) if t is not None and t.ndim == 1 and t.size > 1 else 0.0
        header = {
            "name": clean_name(name) if name is not None else clean_name(_default_name(meta, created)),
            "created": created,
            "n_samples": n_samples,
            "duration_s": duration,
            "meta": meta,
        }
        episode_id = uuid.uuid4().hex
        self._write(episode_id, header, st_save(checked))
        return _info(episode_id, header)

    def ids(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(p.stem for p in self.folder.glob(f"*{SUFFIX}") if EPISODE_ID.match(p.stem))

    def info(self, episode_id: str) -> EpisodeInfo:
        path = self._path(episode_id)
        if not path.exists():
            raise EpisodeNotFound(f"no episode {episode_id} in this profile")
        return _info(path.name[: -len(SUFFIX)], json.loads(self._sealer.open_meta(path, self._context(path.stem))))

    def list_with_problems(self) -> tuple[list[EpisodeInfo], list[SealedFileError]]:
        infos, problems = [], []
        for episode_id in self.ids():
            try:
                infos.append(self.info(episode_id))
            except SealedFileError as exc:
                problems.append(exc)
        infos.sort(key=lambda i: (i.created, i.id))
        return infos, problems

    def list(self) -> list[EpisodeInfo]:
        """Episodes, oldest first. Damaged files are left out (and logged); `verify` reports them."""
        infos, problems = self.list_with_problems()
        for problem in problems:
            log.warning("episode file skipped: %s", problem)
        return infos

    def _open(self, episode_id: str) -> tuple[dict[str, Any], bytes]:
        path = self._path(episode_id)
        if not path.exists():
            raise EpisodeNotFound(f"no episode {episode_id} in this profile")
        header_bytes, body = self._sealer.open(path, self._context(path.stem))
        return json.loads(header_bytes), body

    def load(self, episode_id: str) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """(arrays, meta) of one episode; raises SealedFileError (nothing returned) if the file is not intact."""
        header, body = self._open(episode_id)
        arrays = {name: np.array(value) for name, value in st_load(body).items()}
        return arrays, dict(header["meta"])

    def rename(self, episode_id: str, new_name: str) -> EpisodeInfo:
        header, body = self._open(episode_id)
        header["name"] = clean_name(new_name)
        self._write(self._path(episode_id).stem, header, body)
        return _info(self._path(episode_id).stem, header)

    def delete(self, episode_id: str) -> None:
        path = self._path(episode_id)
        with self._guard(f"{self.folder.name}/{path.stem}", True):
            failpoints.reached("remove")
            try:
                path.unlink()
            except FileNotFoundError:
                raise EpisodeNotFound(f"no episode {episode_id} in this profile") from None

    def verify(self) -> builtins.list[str]:
        """Open every file completely; one line per problem."""
        problems = []
        for episode_id in self.ids():
            try:
                self.load(episode_id)
            except (SealedFileError, EpisodeNotFound) as exc:
                problems.append(f"episode {episode_id}: {exc}")
            except Exception as exc:  # noqa: BLE001 - an authenticated but unparsable body is still a problem
                problems.append(f"episode {episode_id}: its contents cannot be read ({exc})")
        return problems
