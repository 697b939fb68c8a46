"""Household members: list, create (recovery code shown once), rename, delete, switch, passphrase, restore.

Keys stay in the OS keyring; an unlocked key is held in memory only for this session (never on disk).
When a key is needed and the profile has a passphrase that has not been given this session, the service
calls `passphrase_provider(profile, retry_reason)` (from the calling thread; return None to cancel) — or the
UI may call `unlock()` beforehand.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prop_desktop.services.events import Signal
from prop_desktop.services.models import CreatedProfile, KeyringStatus, ProfileInfo

# (profile, why we ask again or None) -> passphrase, or None when the user cancels.
PassphraseProvider = Callable[[ProfileInfo, str | None], str | None]


class ProfileService:
    def __init__(self, data_dir: Path, keyring_backend: Any = None) -> None:
        self.profiles_changed: Signal[list[ProfileInfo]] = Signal("profiles.changed")
        self.active_changed: Signal[ProfileInfo | None] = Signal("profiles.active_changed")
        self.passphrase_provider: PassphraseProvider | None = None
        self._data_dir = data_dir
        self._keyring_backend = keyring_backend
        self._lock = threading.RLock()

    def keyring_status(self) -> KeyringStatus:
        """Whether keys can be stored: AVAILABLE, or INSECURE/LOCKED/UNAVAILABLE with a banner message."""
        raise NotImplementedError

    def list(self) -> list[ProfileInfo]:
        raise NotImplementedError

    def active(self) -> ProfileInfo | None:
        raise NotImplementedError

    def create(self, name: str, passphrase: str | None = None) -> CreatedProfile:
        """Create a member and enrol a key; returns the recovery code ONCE. Becomes active if none was."""
        raise NotImplementedError

    def rename(self, profile_id: str, new_name: str) -> ProfileInfo:
        raise NotImplementedError

    def delete(self, profile_id: str) -> None:
        """Delete the member, their keyring entry and sealed files: their data becomes unreadable."""
        raise NotImplementedError

    def switch(self, profile_id: str | None) -> ProfileInfo | None:
        """Make `profile_id` active (None = nobody); announces `active_changed`."""
        raise NotImplementedError

    def unlock(self, profile_id: str, passphrase: str | None = None) -> ProfileInfo:
        """Check the key is reachable (and the passphrase right) and hold it in memory for this session."""
        raise NotImplementedError

    def lock(self, profile_id: str | None = None) -> None:
        """Forget in-memory keys (all, or one profile's)."""
        raise NotImplementedError

    def set_passphrase(self, profile_id: str, new_passphrase: str | None, old_passphrase: str | None = None) -> None:
        """Add, change or (None) remove the passphrase protecting the key in the keyring."""
        raise NotImplementedError

    def restore(self, recovery_code: str, profile_id: str | None = None, name: str | None = None,
                passphrase: str | None = None) -> ProfileInfo:
        """Put a key back from its recovery code: for an existing profile whose keyring entry is lost, or to
        re-create a profile (by name) whose data folder was copied from another machine."""
        raise NotImplementedError

    def rotate_key(self, profile_id: str) -> str:
        """Re-seal every file under a new key; returns the new recovery code (the old one stops working)."""
        raise NotImplementedError
