"""The household's profiles registry: `profiles.json` in the data folder, replaced atomically.

It holds no secret: profile ids, names, creation times, whether a passphrase protects the key (or the person
chose to share it with everyone at the computer), the public
key id, the active profile and, while a key rotation runs, its phase. Writes happen under a file lock so the
app and the command line can both change it.
"""

from __future__ import annotations

import contextlib
import json
import unicodedata
import uuid
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


ROTATION_PHASES = ("resealing", "committing")


@dataclass(frozen=True)
class Profile:
    """One household member. `id` (a UUID) never changes; the keyring entry is filed under it."""

    id: str
    name: str
    created: str
    protected: bool = False  # the key in the keyring is wrapped under a passphrase
    key_id: str = ""  # public fingerprint of the current key
    rotation: dict[str, str] | None = None  # {"to": key id, "phase": "resealing"|"committing"} mid-rotation
    manifest_counter: int = 0  # the newest counter of the profile's sealed manifest (rollback detection)
    # The person chose "anyone at this computer may use my way" (no passphrase). A registry written before
    # this field existed reads as shared for every profile without a passphrase: that is how they behaved.
    shared: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> Profile:
        """A profile entry, every field type-checked: raises ValueError naming the field that is wrong."""
        if not isinstance(data, dict):
            raise ValueError("a profile entry is not an object")
        profile_id = _field(data, "id", str)
        if not is_profile_id(profile_id):
            raise ValueError(f"profile id {profile_id!r} is not a UUID")
        rotation = data.get("rotation")
        if rotation is not None and not (
            isinstance(rotation, dict) and isinstance(rotation.get("to"), str)
            and rotation.get("phase") in ROTATION_PHASES
        ):
            raise ValueError(f"profile {profile_id}: 'rotation' must be null or "
                             '{"to": key id, "phase": "resealing"|"committing"}')
        protected = _field(data, "protected", bool, False)
        shared = _field(data, "shared", bool, not protected)
        if shared and protected:
            raise ValueError(f"profile {profile_id}: 'shared' and 'protected' cannot both be true")
        return cls(
            id=profile_id,
            name=_field(data, "name", str),
            created=_field(data, "created", str),
            protected=protected,
            shared=shared,
            key_id=_field(data, "key_id", str, ""),
            rotation={"to": rotation["to"], "phase": rotation["phase"]} if rotation else None,
            manifest_counter=_field(data, "manifest_counter", int, 0),
        )


def _field(data: dict[str, Any], name: str, kind: type, default: Any = ...) -> Any:
    if name not in data:
        if default is ...:
            raise ValueError(f"a profile entry has no {name!r}")
        return default
    value = data[name]
    if not isinstance(value, kind):
        raise ValueError(f"a profile entry's {name!r} must be {kind.__name__}, not {type(value).__name__}")
    return value


def is_profile_id(text: str) -> bool:
    """True for a UUID in its canonical form (how profile ids are written)."""
    try:
        return str(uuid.UUID(text)) == text.lower()
    except (ValueError, AttributeError, TypeError):
        return False


def placeholder_name(profile_id: str) -> str:
    """The name a profile gets when its registry entry was rebuilt and only its id survived."""
    return f"Profile {profile_id[:8]}"


def name_skeleton(name: str) -> str:
    """What two names must not share: compatibility-normalized, case-folded (a strict subset of UTS #39
    confusable skeletons: "Ａna", "ANA" and "ana" collide; cross-script look-alikes do not)."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())
    return " ".join("".join(ch for ch in folded if unicodedata.category(ch) != "Cf").split())


@dataclass
class RegistryData:
    profiles: dict[str, Profile] = field(default_factory=dict)
    active: str | None = None

    def find(self, ref: str | Profile, *, by_id: bool | None = None) -> Profile:
        """A Profile is looked up by its id. A string is a name, or an id only when it is UUID-shaped (a name
        never is) or `by_id` says so; `by_id=False` looks up names only."""
        if isinstance(ref, Profile):
            ref, by_id = ref.id, True
        text = str(ref).strip()
        if by_id is None:
            by_id = is_profile_id(text)
        if by_id:
            found = self.profiles.get(text.lower())
            if found is None:
                raise ProfileNotFound(f"no profile with id {text!r}")
            return found
        wanted = name_skeleton(text)
        for profile in self.profiles.values():
            if name_skeleton(profile.name) == wanted:
                return profile
        known = ", ".join(sorted(p.name for p in self.profiles.values())) or "none yet"
        raise ProfileNotFound(f"no profile named {text!r} (profiles: {known})")

    def name_is_free(self, name: str, except_id: str | None = None) -> bool:
        wanted = name_skeleton(name)
        return all(p.id == except_id or name_skeleton(p.name) != wanted for p in self.profiles.values())

    def check_name_free(self, name: str, except_id: str | None = None) -> None:
        wanted = name_skeleton(name)
        for profile in self.profiles.values():
            if profile.id != except_id and name_skeleton(profile.name) == wanted:
                raise ProfileExists(f"a profile named {profile.name!r} already exists (names are compared "
                                    "ignoring case and look-alike forms); choose another name")

    def put(self, profile: Profile) -> None:
        self.profiles[profile.id] = profile

    def update(self, profile_id: str, **changes: Any) -> Profile:
        updated = replace(self.profiles[profile_id], **changes)
        self.profiles[profile_id] = updated
        return updated


# Characters a name may not contain: controls (Cc), format characters such as zero-width spaces and bidi
# overrides (Cf), surrogates, private-use and unassigned code points, line/paragraph separators.
_REFUSED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def clean_name(name: str) -> str:
    """A display name (profile or episode): NFC-normalized, whitespace collapsed, no invisible characters."""
    if not isinstance(name, str):
        raise InvalidName("a name must be text")
    normalized = unicodedata.normalize("NFC", name)
    for ch in normalized:
        if ch not in " \t\r\n" and unicodedata.category(ch) in _REFUSED_CATEGORIES:
            raise InvalidName(f"a name cannot contain invisible or control characters (found U+{ord(ch):04X}, "
                              f"{unicodedata.name(ch, 'unnamed')}); type the name again without it")
    cleaned = " ".join(normalized.split())
    if not cleaned:
        raise InvalidName("a name cannot be empty")
    if len(cleaned) > MAX_NAME_CHARS:
        raise InvalidName(f"a name can have at most {MAX_NAME_CHARS} characters")
    return cleaned


def clean_profile_name(name: str) -> str:
    """A profile name: as clean_name, and never shaped like a profile id (so a name can never select another
    profile by its id)."""
    cleaned = clean_name(name)
    if is_profile_id(cleaned) or is_profile_id(cleaned.replace(" ", "")):
        raise InvalidName("a profile name cannot look like a profile id (a UUID); choose a name")
    return cleaned


class Registry:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = root / REGISTRY_FILE

    def exists(self) -> bool:
        return self.path.exists()

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
                                "restore it from a backup, or move it away and run `prop-desktop profile "
                                "rebuild`") from None
        if schema != SCHEMA_VERSION:
            raise RegistryError(f"the profiles registry {self.path} has schema {schema!r}; this version of "
                                f"PRoP Desktop reads schema {SCHEMA_VERSION} (update the app)")
        try:
            entries = doc.get("profiles", [])
            if not isinstance(entries, list):
                raise ValueError("'profiles' must be a list")
            profiles = {}
            for entry in entries:
                profile = Profile.from_json(entry)
                if profile.id in profiles:
                    raise ValueError(f"profile id {profile.id} appears twice")
                profiles[profile.id] = profile
            active = doc.get("active")
            if active is not None and not isinstance(active, str):
                raise ValueError(f"'active' must be a profile id or null, not {type(active).__name__}")
        except ValueError as exc:
            raise RegistryError(f"the profiles registry {self.path} is damaged ({exc}); restore it from a "
                                "backup, or move it away and run `prop-desktop profile rebuild`") from None
        return RegistryData(profiles, active if active in profiles else None)

    def write(self, data: RegistryData) -> None:
        ordered = sorted(data.profiles.values(), key=lambda p: (p.created, p.id))
        doc = {"schema": SCHEMA_VERSION, "active": data.active, "profiles": [p.to_json() for p in ordered]}
        atomic_write_bytes(self.path, json.dumps(doc, indent=2).encode() + b"\n", point="registry")

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
