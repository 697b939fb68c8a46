"""The data folder's layout, and what the key-change procedures (restore.py, tidy.py) need of a Household.

Kept apart from household.py so those procedures can be typed against it without importing the façade
(no import circle).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

from ..keys.keyring_store import KeyringStore, KeySet
from ..keys.material import ProfileKey
from .registry import Profile, Registry
from .sealed import SealContext

PROFILES_DIR = "profiles"
CREATING_MARKER = ".creating"  # in a profile folder whose creation has not reached the registry yet
# Held exclusively while a profile's key or files change wholesale (rotation, settling, restore, deletion);
# held shared by every store write, so no write lands in the middle of a rotation.
KEY_CHANGE_LOCK = ".keychange.lock"


class KeyChangeHost(Protocol):
    """The parts of a Household that restoring and tidying use."""

    root: Path
    registry: Registry
    keystore: KeyringStore

    def _key_change(self, timeout_s: float = ...) -> AbstractContextManager[None]: ...

    def profile(self, ref: Profile | str, *, by_id: bool | None = None) -> Profile: ...

    def _add_profile(self, name: str, key: ProfileKey, passphrase: str | None,
                     on_code: Callable[[str], None] | None = None) -> tuple[Profile, str]: ...

    def _sealed_files(self, profile: Profile) -> list[tuple[Path, SealContext]]: ...

    def _reseal_all(self, profile: Profile, keys: KeySet, target: ProfileKey) -> list[str]: ...

    def _commit(self, profile: Profile, key: ProfileKey, passphrase: str | None) -> None: ...
