"""A profile's PRoP adapters, stored only sealed: one per base model, bound to that model's hash."""

from __future__ import annotations

import builtins
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import failpoints
from .atomic import make_private_dir, remove_stale_temp_files
from .episodes import WriteGuard, no_guard
from .errors import AdapterNotFound, SealedFileError
from .sealed import SealContext, Sealer

KIND = "adapter"
SUFFIX = ".sealed"
MODEL_HASH = re.compile(r"^[0-9a-f]{8,128}$")


@dataclass(frozen=True)
class AdapterInfo:
    base_model_hash: str
    created: str
    size: int
    meta: dict[str, Any]


def check_model_hash(base_model_hash: str) -> str:
    value = str(base_model_hash).strip().lower()
    if not MODEL_HASH.match(value):
        raise ValueError(f"a base model hash is 8-128 hex characters, got {base_model_hash!r}")
    return value


class AdapterStore:
    def __init__(self, folder: Path, sealer: Sealer, profile_id: str, write_guard: WriteGuard | None = None) -> None:
        self.folder = folder
        self._sealer = sealer
        self._profile_id = profile_id
        self._guard: WriteGuard = write_guard or no_guard
        if folder.is_dir():
            remove_stale_temp_files(folder)

    def _context(self, model_hash: str) -> SealContext:
        return SealContext(self._profile_id, KIND, model_hash, base_model_hash=model_hash)

    def _path(self, model_hash: str) -> Path:
        return self.folder / f"{model_hash}{SUFFIX}"

    def save(self, base_model_hash: str, data: bytes, meta: dict[str, Any] | None = None) -> AdapterInfo:
        """Seal the adapter bytes for this base model (replacing an earlier adapter for it)."""
        model_hash = check_model_hash(base_model_hash)
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError("adapter data must be bytes (Adapter.to_bytes())")
        header: dict[str, Any] = {
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "size": len(data),
            "meta": dict(meta or {}),
        }
        with self._guard(f"{self.folder.name}/{model_hash}") as generation:
            if generation is not None:
                header["generation"] = generation
            make_private_dir(self.folder)
            self._sealer.write(self._path(model_hash), json.dumps(header).encode(), bytes(data),
                               self._context(model_hash))
        return AdapterInfo(model_hash, header["created"], len(data), header["meta"])

    def has(self, base_model_hash: str) -> bool:
        return self._path(check_model_hash(base_model_hash)).exists()

    def hashes(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(p.stem for p in self.folder.glob(f"*{SUFFIX}") if MODEL_HASH.match(p.stem))

    def info(self, base_model_hash: str) -> AdapterInfo:
        model_hash = check_model_hash(base_model_hash)
        path = self._path(model_hash)
        if not path.exists():
            raise AdapterNotFound(f"this profile has no adapter for base model {model_hash[:12]}; train one first")
        header = json.loads(self._sealer.open_meta(path, self._context(model_hash)))
        return AdapterInfo(model_hash, header["created"], int(header["size"]), header.get("meta", {}))

    def list(self) -> list[AdapterInfo]:
        infos = []
        for model_hash in self.hashes():
            try:
                infos.append(self.info(model_hash))
            except SealedFileError:
                continue  # reported by verify()
        return infos

    def load_with_meta(self, base_model_hash: str) -> tuple[bytes, dict[str, Any]]:
        model_hash = check_model_hash(base_model_hash)
        path = self._path(model_hash)
        if not path.exists():
            raise AdapterNotFound(f"this profile has no adapter for base model {model_hash[:12]}; train one first")
        header, body = self._sealer.open(path, self._context(model_hash))
        return body, json.loads(header).get("meta", {})

    def load(self, base_model_hash: str) -> bytes:
        """The adapter bytes; raises SealedFileError (nothing returned) if the file is not intact."""
        return self.load_with_meta(base_model_hash)[0]

    def delete(self, base_model_hash: str) -> None:
        path = self._path(check_model_hash(base_model_hash))
        with self._guard(f"{self.folder.name}/{path.stem}", True):
            failpoints.reached("remove")
            try:
                path.unlink()
            except FileNotFoundError:
                raise AdapterNotFound("this profile has no adapter for that base model") from None

    def verify(self) -> builtins.list[str]:
        problems = []
        for model_hash in self.hashes():
            try:
                self.load(model_hash)
            except SealedFileError as exc:
                problems.append(f"adapter for base model {model_hash[:12]}: {exc}")
        return problems
