"""Household members: list, create (recovery code shown once), rename, delete, switch, passphrase, restore.

Keys stay in the OS keyring; an unlocked key is held in memory only for this session (never on disk), and
only for the active profile: switching forgets the others. When a key is needed and the profile has a
passphrase not yet given this session, the service calls `passphrase_provider(profile, retry_reason)` from
the calling thread (return None to cancel); the UI may instead call `unlock()` first.

People sharing the computer: switching to a protected profile opens its key first (a wrong or cancelled
passphrase refuses the switch); wrong passphrases back off per profile and an unused key is dropped after
the idle time (`lock_idle()`, see unlock_guard.py).
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prop_desktop.services.error_mapping import translate, user_errors
from prop_desktop.services.errors import (
    KeyUnavailableError,
    NoActiveProfileError,
    PassphraseRequiredError,
    ProfileError,
    ServiceError,
    UnlockBackoffError,
    WrongPassphraseError,
)
from prop_desktop.services.events import Signal
from prop_desktop.services.models import CreatedProfile, KeyringState, KeyringStatus, ProfileInfo
from prop_desktop.services.unlock_guard import UnlockGuard

if TYPE_CHECKING:
    from prop_desktop.storage.household import UnlockedProfile
    from prop_desktop.storage.registry import Profile

# (profile, why we ask again or None) -> passphrase, or None when the user cancels.
PassphraseProvider = Callable[[ProfileInfo, str | None], str | None]
MAX_PASSPHRASE_TRIES = 3


class ProfileService:
    def __init__(self, data_dir: Path, keyring_backend: Any = None, guard: UnlockGuard | None = None) -> None:
        from prop_desktop.storage import Household

        self.profiles_changed: Signal[list[ProfileInfo]] = Signal("profiles.changed")
        self.active_changed: Signal[ProfileInfo | None] = Signal("profiles.active_changed")
        self.passphrase_provider: PassphraseProvider | None = None
        self._household = Household(Path(data_dir), keyring_backend=keyring_backend)
        self._lock = threading.RLock()
        self._unlocked: dict[str, UnlockedProfile] = {}  # profile id -> its stores and key (in memory only)
        self._key_present: dict[str, bool] = {}  # keyring look-ups cached: a slow Secret Service stays snappy
        self.guard = guard or UnlockGuard()  # back-off of wrong passphrases, idle relock

    @property
    def household(self) -> Any:
        """The storage layer's Household (for the other services)."""
        return self._household

    # --- status ------------------------------------------------------------------------------------------
    def keyring_status(self) -> KeyringStatus:
        """Whether keys can be stored: AVAILABLE, or INSECURE/LOCKED/UNAVAILABLE with a banner message.
        (Also forgets cached keyring look-ups, so a fixed keyring shows at once.)"""
        self._key_present.clear()
        from prop_desktop.keys import InsecureKeyring, KeyringError

        store = self._household.keystore
        try:
            backend = store.backend
        except InsecureKeyring as exc:
            return KeyringStatus(KeyringState.INSECURE, _requested_name(store), str(exc))
        except KeyringError as exc:
            text = str(exc)
            state = KeyringState.LOCKED if "locked" in text.lower() else KeyringState.UNAVAILABLE
            return KeyringStatus(state, _requested_name(store), text)
        from prop_desktop.keys.backend_check import backend_name

        return KeyringStatus(KeyringState.AVAILABLE, backend_name(backend))

    # --- listing -----------------------------------------------------------------------------------------
    def list(self) -> list[ProfileInfo]:
        with user_errors():
            profiles = self._household.list_profiles()
        return [self._info(p) for p in profiles]

    def active(self) -> ProfileInfo | None:
        with user_errors():
            profile = self._household.active()
        return None if profile is None else self._info(profile)

    def active_id(self) -> str:
        """The active profile's id; NoActiveProfileError when nobody is selected."""
        active = self._household.active()
        if active is None:
            raise NoActiveProfileError()
        return active.id

    def info(self, profile_id: str) -> ProfileInfo:
        with user_errors():
            return self._info(self._household.profile(profile_id))

    def _info(self, profile: Profile) -> ProfileInfo:
        from prop_desktop.storage.profile_files import ADAPTERS_DIR, EPISODES_DIR

        folder = self._household.profile_dir(profile)
        # Counting sealed files needs no key: names are random ids, contents stay sealed.
        episodes = [p for p in (folder / EPISODES_DIR).glob("*.sealed") if not p.name.startswith(".")]
        adapters = [p for p in (folder / ADAPTERS_DIR).glob("*.sealed") if not p.name.startswith(".")]
        key_present = self._key_present.get(profile.id)
        if key_present is None:
            try:
                key_present = not self._household.missing_key(profile)
            except Exception:  # noqa: BLE001 - an unavailable keyring is reported by keyring_status()
                return self._make_info(profile, False, len(episodes), bool(adapters))
            self._key_present[profile.id] = key_present
        return self._make_info(profile, key_present, len(episodes), bool(adapters))

    def _make_info(self, profile: Any, key_present: bool, episodes: int, has_adapter: bool) -> ProfileInfo:
        return ProfileInfo(
            id=profile.id,
            name=profile.name,
            has_passphrase=bool(profile.protected),
            shared=bool(profile.shared),
            key_present=key_present,
            unlocked=profile.id in self._unlocked,
            episode_count=episodes,
            has_adapter=has_adapter,
            created=profile.created,
        )

    # --- changes -----------------------------------------------------------------------------------------
    def create(self, name: str, passphrase: str | None = None, keep_open: bool = False, *,
               shared: bool = False) -> CreatedProfile:
        """Create a member and enrol a key; returns the recovery code ONCE. Becomes active if none was.
        Needs a passphrase or `shared=True` (the person's choice that anyone here may use their way).

        `keep_open`: the passphrase was just typed, so hold the key for this session. It is opened BEFORE the
        new member is announced: a page that reloads on the announcement (the recordings list) must find it
        open, not ask for the passphrase again (under load that prompt appeared and nobody answered it)."""
        had_active = self._household.active() is not None
        with user_errors():
            profile, code = self._household.create_profile(name, passphrase or None, shared=shared)
            if passphrase and keep_open:
                unlocked = self._household.unlock(profile.id, passphrase)
                with self._lock:
                    self._unlocked[profile.id] = unlocked
                self.guard.used(profile.id)
        info = self._info(profile)
        self._announce(active_changed=not had_active)
        return CreatedProfile(info, code)

    def rename(self, profile_id: str, new_name: str) -> ProfileInfo:
        with user_errors():
            profile = self._household.rename(profile_id, new_name)
        active = self._household.active()
        self._announce(active_changed=active is not None and active.id == profile.id)
        return self._info(profile)

    def delete(self, profile_id: str) -> builtins.list[str]:  # builtins: this class has a method `list`
        """Delete the member, their keyring entry and sealed files: their data becomes unreadable.

        Returns warnings (e.g. the keyring entry could not be removed); an empty list when all went well.
        """
        with user_errors():
            profile = self._household.profile(profile_id)
            was_active = self._household.active()
            self._unlocked.pop(profile.id, None)
            warnings = self._household.delete(profile.id)
            self._key_present.pop(profile.id, None)
        self._announce(active_changed=was_active is not None and was_active.id == profile.id)
        return warnings

    def switch(self, profile_id: str | None) -> ProfileInfo | None:
        """Make `profile_id` active (None = nobody). Other profiles' keys are forgotten from memory.
        A protected profile is opened first (`passphrase_provider` asks): without its passphrase the switch
        is refused (PassphraseRequiredError, WrongPassphraseError, UnlockBackoffError) and nothing changes."""
        if profile_id is not None:
            with user_errors():
                target = self._household.profile(profile_id)
            if target.protected:
                try:
                    self.session(target.id)
                except KeyUnavailableError:
                    pass  # no usable key to protect (lost or damaged entry): switch, so restore is offered
        with user_errors():
            profile = self._household.set_active(profile_id)
        with self._lock:
            for other in [i for i in self._unlocked if profile is None or i != profile.id]:
                del self._unlocked[other]
                self.guard.forget(other)
        self._announce(active_changed=True)
        return None if profile is None else self._info(profile)

    def set_passphrase(self, profile_id: str, new_passphrase: str | None, old_passphrase: str | None = None) -> None:
        """Add, change or (None) remove the passphrase protecting the key in the keyring."""
        with user_errors():
            self._household.change_passphrase(profile_id, old_passphrase or None, new_passphrase or None)
        self._announce()

    def restore(self, recovery_code: str, profile_id: str | None = None, name: str | None = None,
                passphrase: str | None = None, *, current_passphrase: str | None = None,
                shared: bool = False) -> ProfileInfo:
        """Put a key back from its recovery code: for an existing profile (its keyring entry lost), or a new
        profile called `name` (a data folder copied from another computer, or a fresh start).
        `passphrase` protects the restored key (or `shared=True`; a shared profile stays shared);
        `current_passphrase` opens the current keyring entry, whose keys may still be needed by some files."""
        ref = profile_id or name
        if not ref:
            raise ProfileError("Say which profile to restore.", "Pick the profile, or type a name for a new one.")
        had_active = self._household.active() is not None
        with user_errors():
            profile = self._household.restore(ref, recovery_code, passphrase or None, shared=shared,
                                              current_passphrase=current_passphrase or None)
        self._unlocked.pop(profile.id, None)
        self._key_present[profile.id] = True
        self._announce(active_changed=not had_active)
        return self._info(profile)

    def rotate_key(self, profile_id: str, passphrase: str | None = None) -> str:
        """Re-seal every file under a new key; returns the new recovery code (the old one stops working)."""
        if passphrase is None and self._household.is_protected(profile_id):
            passphrase = self._ask(self.info(profile_id), None)
        with user_errors():
            code = self._household.rotate(profile_id, passphrase)
        self._unlocked.pop(profile_id, None)
        self._announce()
        return code

    # --- keys in memory ----------------------------------------------------------------------------------
    def unlock(self, profile_id: str | None = None, passphrase: str | None = None) -> ProfileInfo:
        """Check the key is reachable (and the passphrase right) and hold it in memory for this session.
        While a back-off after wrong passphrases runs, raises UnlockBackoffError without trying."""
        from prop_desktop.keys import WrongPassphrase

        pid = profile_id or self.active_id()
        self._check_backoff(pid)
        with self._lock:
            self._unlocked.pop(pid, None)
            try:
                with user_errors():
                    self._unlocked[pid] = self._household.unlock(pid, passphrase or None)
            except WrongPassphraseError as exc:
                if isinstance(exc.__cause__, WrongPassphrase):
                    self.guard.failed(pid)
                raise WrongPassphraseError("That passphrase is not right.", self.guard.wait_message(pid)) from exc
        self.guard.succeeded(pid)
        self._announce()
        return self.info(pid)

    def wait_left(self, profile_id: str) -> float:
        """Seconds before `profile_id`'s passphrase may be tried again (0 = now)."""
        return self.guard.wait_left(profile_id)

    def _check_backoff(self, profile_id: str) -> None:
        wait = self.guard.wait_message(profile_id)
        if wait is not None:
            raise UnlockBackoffError("Too many wrong passphrases for this profile.", wait)

    def lock_idle(self) -> builtins.list[str]:
        """Drop the keys not used for the idle time (the person walked away); returns their profile ids."""
        with self._lock:
            idle = self.guard.idle(list(self._unlocked))
            for pid in idle:
                del self._unlocked[pid]
                self.guard.forget(pid)
        if idle:
            self._announce()
        return idle

    def lock(self, profile_id: str | None = None) -> None:
        """Forget in-memory keys (all, or one profile's)."""
        with self._lock:
            for pid in list(self._unlocked) if profile_id is None else [profile_id]:
                self._unlocked.pop(pid, None)
                self.guard.forget(pid)
        self._announce()

    def session(self, profile_id: str | None = None) -> UnlockedProfile:
        """The storage UnlockedProfile (network key + sealed stores) of `profile_id` or the active profile.

        Asks `passphrase_provider` when needed (up to 3 tries; after a wrong one the next is taken only once its
        back-off has run out). Raises NoActiveProfileError, PassphraseRequiredError (cancelled),
        WrongPassphraseError, KeyUnavailableError, KeyringUnavailableError.
        """
        from prop_desktop.keys import PassphraseRequired, WrongPassphrase

        pid = profile_id or self.active_id()
        with self._lock:
            cached = self._unlocked.get(pid)
            if cached is not None:
                self.guard.used(pid)
                return cached
        reason: str | None = None
        passphrase: str | None = None
        for _attempt in range(MAX_PASSPHRASE_TRIES + 1):
            wait = self.guard.wait_message(pid)
            if passphrase is not None and wait is not None:  # answered before the back-off ran out: not tried
                passphrase = self._ask(self.info(pid), f"Too many wrong passphrases. {wait}")
                continue
            try:
                unlocked = self._household.unlock(pid, passphrase)
            except PassphraseRequired:
                passphrase = self._ask(self.info(pid), wait or reason)
                continue
            except WrongPassphrase:
                self.guard.failed(pid)
                reason = f"That passphrase is not right. {self.guard.wait_message(pid) or 'Try again.'}"
                passphrase = self._ask(self.info(pid), reason)
                continue
            except Exception as exc:
                from prop_desktop.keys import KeyMissing

                if isinstance(exc, KeyMissing):
                    self._key_present[pid] = False
                mapped = translate(exc)
                if mapped is None:
                    raise
                raise mapped from exc
            with self._lock:
                self._unlocked[pid] = unlocked
            self._key_present[pid] = True
            self.guard.succeeded(pid)
            return unlocked
        raise WrongPassphraseError(
            "The passphrase was wrong three times.", "Try again, or restore from the recovery code."
        )

    def network_key(self, profile_id: str | None = None) -> bytes:
        """The 16-byte key the PRoP engine takes (in memory only)."""
        return bytes(self.session(profile_id).network_key)

    def _ask(self, info: ProfileInfo, reason: str | None) -> str:
        provider = self.passphrase_provider
        answer = provider(info, reason) if provider is not None else None
        if not answer:
            raise PassphraseRequiredError(
                f"{info.name}'s key is protected by a passphrase.", "Enter the passphrase to use it."
            )
        return answer

    def refresh_key_status(self) -> None:
        """Forget the cached keyring look-ups (e.g. after the user fixed the keyring)."""
        self._key_present.clear()

    def _announce(self, active_changed: bool = False) -> None:
        try:
            profiles = self.list()
        except ServiceError:
            return
        self.profiles_changed.emit(profiles)
        if active_changed:
            self.active_changed.emit(self.active())


def _requested_name(store: Any) -> str:
    requested = getattr(store, "_requested", None)
    if requested is None:
        try:
            import keyring

            requested = keyring.get_keyring()
        except Exception:  # noqa: BLE001
            return "unknown"
    cls = type(requested)
    return f"{cls.__module__}.{cls.__qualname__}"
