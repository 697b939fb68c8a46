"""The household's profiles registry: `profiles.json` in the data folder, replaced atomically.

It holds no secret: profile ids, names, creation times, whether a passphrase protects the key, the public
key id, the active profile and, while a key rotation runs, its phase. Writes happen under a file lock so the
app and the command line can both change it.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from .atomic import atomic_write_bytes
from .errors import InvalidName, ProfileExists, ProfileNotFound, RegistryError
from .locks import file_lock

SCHEMA_VERSION = 1
REGISTRY_FILE = "profiles.json"
LOCK_FILE = ".profiles.lock"
MAX_NAME_CHARS = 64


@dataclass(frozen=True)
class Profile:
    """One household member. `id` (a UUID) never changes; the keyring entry is filed under it."""

    id: str
    name: str
    created: str
    protected: bool = False  # the key in the keyring is wrapped under a passphrase
    key_id: str = ""  # public fingerprint of the current key
    rotation: dict[str, str] | None = None  # {"to": key id, "phase": "resealing"|"committing"} mid-rotation

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Profile:
        return cls(
            id=str(data["id"]),
            name=str(data["name"]),
            created=str(data["created"]),
            protected=bool(data.get("protected", False)),
            key_id=str(data.get("key_id", "")),
            rotation=data.get("rotation") or None,
        )


@dataclass
class RegistryData:
    profiles: dict[str, Profile] = field(default_factory=dict)
    active: str | None = None

    def find(self, name_or_id: str | Profile) -> Profile:
        if isinstance(name_or_id, Profile):
            name_or_id = name_or_id.id
        if name_or_id in self.profiles:
            return self.profiles[name_or_id]
        wanted = str(name_or_id).strip().casefold()
        for profile in self.profiles.values():
            if profile.name.casefold() == wanted:
                return profile
        known = ", ".join(sorted(p.name for p in self.profiles.values())) or "none yet"
        raise ProfileNotFound(f"no profile named {name_or_id!r} (profiles: {known})")

    def check_name_free(self, name: str, except_id: str | None = None) -> None:
        for profile in self.profiles.values():
            if profile.id != except_id and profile.name.casefold() == name.casefold():
                raise ProfileExists(f"a profile named {profile.name!r} already exists; choose another name")

    def put(self, profile: Profile) -> None:
        self.profiles[profile.id] = profile

    def update(self, profile_id: str, **changes: Any) -> Profile:
        updated = replace(self.profiles[profile_id], **changes)
        self.profiles[profile_id] = updated
        return updated


def clean_name(name: str) -> str:
    if not isinstance(name, str):
        raise InvalidName("a name must be text")
    cleaned = " ".join(name.split())
    if not cleaned:
        raise InvalidName("a name cannot be empty")
    if len(cleaned) > MAX_NAME_CHARS:
        raise InvalidName(f"a name can have at most {MAX_NAME_CHARS} characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in cleaned):
        raise InvalidName("a name cannot contain control characters")
    return cleaned


class Registry:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = root / REGISTRY_FILE

    def read(self) -> RegistryData:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return RegistryData()
        try:
            doc = json.loads(raw)
            schema = doc["schema"]
        except (ValueError, KeyError, TypeError):
            raise RegistryError(f"the profiles registry {self.path} is damaged (not valid JSON); "
                                "restore it from a backup or move it away to start over") from None
        if schema != SCHEMA_VERSION:
            raise RegistryError(f"the profiles registry {self.path} has schema {schema!r}; this version of "
                                f"PRoP Desktop reads schema {SCHEMA_VERSION} (update the app)")
        try:
            profiles = {p["id"]: Profile.from_json(p) for p in doc.get("profiles", [])}
        except (KeyError, TypeError):
            raise RegistryError(f"the profiles registry {self.path} has a damaged profile entry") from None
        active = doc.get("active")
        return RegistryData(profiles, active if active in profiles else None)

    def write(self, data: RegistryData) -> None:
        ordered = sorted(data.profiles.values(), key=lambda p: (p.created, p.id))
        doc = {"schema": SCHEMA_VERSION, "active": data.active, "profiles": [p.to_json() for p in ordered]}
        atomic_write_bytes(self.path, json.dumps(doc, indent=2).encode() + b"\n")

    @contextlib.contextmanager
    def edit(self) -> Iterator[RegistryData]:
        """Read, let the caller change, write back atomically; all under an inter-process lock."""
        with self.locked():
            data = self.read()
            yield data
            self.write(data)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        with file_lock(self.root / LOCK_FILE, timeout_s=30.0):
            yield
