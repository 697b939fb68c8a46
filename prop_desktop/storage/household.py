"""The household façade: profiles, their keys and their sealed stores. No Qt; the UI and services call this.

    hh = Household()                                   # data folder + the system keyring (checked)
    profile, code = hh.create_profile("Ana", passphrase="violet tractor 47")  # show `code` once
    hh.create_profile("Bo", shared=True)               # Bo chose: anyone at this computer may use his way
    me = hh.unlock(profile)                            # -> UnlockedProfile
    me.network_key                                     # 16 bytes for the PRoP engine
    me.episodes.save(arrays, meta); me.adapters.save(model_hash, adapter_bytes)

Ordering rules that keep a crash harmless: the key reaches the keyring before the registry names the
profile; a deletion removes the key first (crypto-shredding), then files, then the registry entry; a key
rotation keeps both keys in the keyring entry until every file is resealed (see `rotate`). A lock file
keeps store writes (shared) out of key changes (exclusive) across processes and threads.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from keyring.backend import KeyringBackend

from .. import failpoints
from ..keys.errors import (
    DamagedKeyEntry,
    KeyMissing,
    KeyringError,
    KeysError,
    PassphraseRequired,
    WrongPassphrase,
)
from ..keys.keyring_store import KeyringStore, KeySet
from ..keys.material import ProfileKey
from ..keys.passphrase import check_new_passphrase
from ..keys.recovery import decode_recovery_code, encode_recovery_code
from ..paths import data_dir
from .adapters import AdapterStore
from .atomic import fsync_dir, is_temp_file, make_private_dir
from .episodes import EpisodeStore, WriteGuard
from .errors import InvalidName, ProfileExists, SealedFileError, StaleKey
from .layout import CREATING_MARKER, KEY_CHANGE_LOCK, PROFILES_DIR
from .locks import file_lock
from .manifest import MANIFEST_LOCK, Manifest, file_generations, profile_manifest
from .privacy_choice import check_secret_choice
from .profile_files import ADAPTERS_DIR, EPISODES_DIR, reseal_all, sealed_files_in
from .registry import Profile, Registry, clean_profile_name
from .restore import RestoreOutcome, restore_key
from .sealed import SealContext, Sealer, key_id_of
from .tidy import TidyReport, rebuild, tidy_on_start

log = logging.getLogger(__name__)
ProfileRef = Profile | str


@dataclass(frozen=True)
class UnlockedProfile:
    """A profile whose key is in memory: its network key and its sealed stores."""

    profile: Profile
    key_id: str
    network_key: bytes  # 16 bytes, what the PRoP engine takes as the user's key
    episodes: EpisodeStore
    adapters: AdapterStore
    manifest: Manifest = field(repr=False)
    sealer: Sealer = field(repr=False)

    def __repr__(self) -> str:  # never show the key
        return f"UnlockedProfile(name={self.profile.name!r}, id={self.profile.id}, key_id={self.key_id})"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class Household:
    def __init__(self, root: Path | None = None, keyring_backend: KeyringBackend | None = None) -> None:
        self.root = Path(root) if root is not None else data_dir()
        # Only the user may enter the data folder and profiles/ (existing ones made 0755 are tightened).
        make_private_dir(self.root)
        if (self.root / PROFILES_DIR).is_dir():
            make_private_dir(self.root / PROFILES_DIR)
        self.registry = Registry(self.root)
        self.keystore = KeyringStore(keyring_backend)
        self._held = threading.local()  # re-entrancy of the exclusive key-change lock, per thread
        # Finish what a crash left: orphan keys of interrupted creations, folders the registry lost.
        self.last_tidy = tidy_on_start(self)

    def rebuild_registry(self) -> TidyReport:
        """Rebuild registry entries from the profile folders and keyring entries (a damaged profiles.json is
        moved aside first); profiles whose name was lost get a placeholder name until renamed."""
        return rebuild(self)

    # -- locking ----------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _key_change(self, timeout_s: float = 120.0) -> Iterator[None]:
        depth = getattr(self._held, "depth", 0)
        if depth:
            self._held.depth = depth + 1
            try:
                yield
            finally:
                self._held.depth = depth
            return
        with file_lock(self.root / KEY_CHANGE_LOCK, exclusive=True, timeout_s=timeout_s,
                       busy_message="another PRoP Desktop process is changing a profile's key (rotation, "
                                    "restore or deletion); try again when it has finished"):
            self._held.depth = 1
            try:
                yield
            finally:
                self._held.depth = 0

    def _write_guard(self, profile_id: str, key_id: str, manifest: Manifest) -> WriteGuard:
        @contextlib.contextmanager
        def guard(entry: str, deleting: bool = False) -> Iterator[int | None]:
            with file_lock(self.root / KEY_CHANGE_LOCK, exclusive=False, timeout_s=120.0,
                           busy_message="a key rotation is running; try again when it has finished"):
                current = self.registry.read().profiles.get(profile_id)
                if current is None:
                    raise StaleKey("this profile was deleted; nothing was saved")
                if current.key_id != key_id or current.rotation:
                    raise StaleKey("this profile's key was changed (rotated) since it was unlocked; unlock it "
                                   "again (nothing was saved)")
                with manifest.recording(entry, deleting) as generation:
                    yield generation

        return guard

    # -- profiles ---------------------------------------------------------------------------------------

    def list_profiles(self) -> list[Profile]:
        return sorted(self.registry.read().profiles.values(), key=lambda p: (p.created, p.id))

    def profile(self, ref: ProfileRef, *, by_id: bool | None = None) -> Profile:
        """Look a profile up by name (ignoring case and look-alike forms), by a (possibly stale) Profile, or by
        id: a UUID-shaped string (no name is one) or any string with by_id=True. by_id=False: names only."""
        return self.registry.read().find(ref, by_id=by_id)

    def profile_dir(self, profile: ProfileRef) -> Path:
        profile_id = profile.id if isinstance(profile, Profile) else self.profile(profile).id
        return self.root / PROFILES_DIR / str(uuid.UUID(profile_id))

    def create_profile(self, name: str, passphrase: str | None = None, *, shared: bool = False,
                       on_code: Callable[[str], None] | None = None) -> tuple[Profile, str]:
        """A new profile with a fresh key in the keyring; returns it and its recovery code (show it once).
        It needs a passphrase (checked by the strength estimator) or `shared=True`, the person's explicit
        choice that anyone at this computer may use their way; neither raises SecretChoiceNeeded.
        With `on_code`, the profile counts as created only once it returned: a crash before that removes the
        profile again on the next start (its code may never have been seen; it holds no data yet)."""
        name = clean_profile_name(name)
        check_secret_choice(name, passphrase, shared)
        self.registry.read().check_name_free(name)
        return self._add_profile(name, ProfileKey.generate(), passphrase, on_code)

    def _add_profile(self, name: str, key: ProfileKey, passphrase: str | None,
                     on_code: Callable[[str], None] | None = None) -> tuple[Profile, str]:
        """Folder with a `.creating` marker, then the key, then the registry entry, then the marker goes. A
        crash in between leaves a marked folder that `tidy` removes with its keyring entry (the recovery code
        was never shown). Under the key-change lock so `tidy` in another process never sees a live one."""
        profile = Profile(str(uuid.uuid4()), name, _now(), passphrase is not None, key.key_id,
                          shared=passphrase is None)
        _ = self.keystore.backend  # refuses insecure or locked keyrings before anything is written
        with self._key_change():
            folder = self.profile_dir(profile)
            failpoints.reached("mkdir")
            make_private_dir(folder.parent)
            make_private_dir(folder)
            (folder / CREATING_MARKER).touch(mode=0o600)
            fsync_dir(folder.parent)
            self.keystore.save(profile.id, KeySet(key), passphrase)
            try:
                with self.registry.edit() as data:
                    data.check_name_free(name)
                    data.put(profile)
                    if data.active is None:
                        data.active = profile.id
            except ProfileExists:
                self.keystore.delete(profile.id)
                shutil.rmtree(folder, ignore_errors=True)
                raise
            code = encode_recovery_code(key.root)
            if on_code is not None:
                on_code(code)
            failpoints.reached("remove")
            (folder / CREATING_MARKER).unlink()
        return profile, code

    def rename(self, profile: ProfileRef, new_name: str) -> Profile:
        """Only the display name changes: id, key and files stay as they are."""
        new_name = clean_profile_name(new_name)
        with self.registry.edit() as data:
            found = data.find(profile)
            data.check_name_free(new_name, except_id=found.id)
            return data.update(found.id, name=new_name)

    def delete(self, profile: ProfileRef) -> list[str]:
        """Remove the key from the keyring, the sealed files and the registry entry. Returns warnings."""
        with self._key_change():
            return self._delete(self.profile(profile))

    def _delete(self, found: Profile) -> list[str]:
        warnings: list[str] = []
        try:
            self.keystore.delete(found.id)  # crypto-shredding: without the key, leftovers are noise
        except KeyringError as exc:
            warnings.append(f"the keyring entry could not be removed ({exc}); the files were deleted anyway")
        failpoints.reached("remove")
        shutil.rmtree(self.profile_dir(found), ignore_errors=True)
        if self.profile_dir(found).exists():
            warnings.append(f"some files in {self.profile_dir(found)} could not be deleted; they stay unreadable")
        with self.registry.edit() as data:
            data.profiles.pop(found.id, None)
            if data.active == found.id:
                data.active = None
        return warnings

    def set_active(self, profile: ProfileRef | None) -> Profile | None:
        with self.registry.edit() as data:
            found = data.find(profile) if profile is not None else None
            data.active = found.id if found else None
            return found

    def active(self) -> Profile | None:
        data = self.registry.read()
        return data.profiles.get(data.active) if data.active else None

    def is_protected(self, profile: ProfileRef) -> bool:
        return self.profile(profile).protected

    def keyring_problem(self) -> str | None:
        """Why keys cannot be stored or read right now (insecure, missing or locked keyring), or None.
        Lets a UI explain the problem before the user tries anything."""
        try:
            _ = self.keystore.backend
        except KeyringError as exc:
            return str(exc)
        return None

    # -- keys -------------------------------------------------------------------------------------------

    def unlock(self, profile: ProfileRef, passphrase: str | None = None) -> UnlockedProfile:
        """Read the key from the keyring (finishing or undoing an interrupted rotation first)."""
        found = self.profile(profile)
        keys = self._load_keys(found, passphrase)
        found = self.profile(found.id)
        sealer = Sealer.from_keyset(keys)
        folder = self.profile_dir(found)
        manifest = profile_manifest(self.registry, folder, sealer, found.id)
        guard = self._write_guard(found.id, keys.current.key_id, manifest)
        return UnlockedProfile(
            profile=found,
            key_id=keys.current.key_id,
            network_key=keys.current.network_key,
            episodes=EpisodeStore(folder / EPISODES_DIR, sealer, found.id, guard),
            adapters=AdapterStore(folder / ADAPTERS_DIR, sealer, found.id, guard),
            manifest=manifest,
            sealer=sealer,
        )

    def _load_keys(self, profile: Profile, passphrase: str | None) -> KeySet:
        keys = self.keystore.load(profile.id, passphrase)
        profile = self.profile(profile.id)
        if not keys.settled or profile.rotation or keys.current.key_id != profile.key_id:
            # Mid-rotation (or looks like it): wait for a live rotation to end; settle a dead one here.
            with self._key_change():
                profile = self.profile(profile.id)
                keys = self.keystore.load(profile.id, passphrase)
                if not keys.settled or profile.rotation:
                    keys = self._settle_rotation(profile, keys, passphrase)
                    profile = self.profile(profile.id)
        if keys.current.key_id != profile.key_id and self._registry_is_behind(profile, keys.current.key_id):
            with self.registry.edit() as data:
                profile = data.update(profile.id, key_id=keys.current.key_id)
        if keys.current.key_id != profile.key_id:
            raise DamagedKeyEntry(f"the keyring holds a different key for {profile.name!r} than the one its files "
                                  "were sealed with; restore the profile with its recovery code")
        return keys

    def _registry_is_behind(self, profile: Profile, keyring_key_id: str) -> bool:
        """The registry names no key (rebuilt from an empty folder), or an older one (profiles.json rolled back)
        while the profile's files are sealed with the keyring's key: then the keyring is right. A keyring entry
        holding another profile's key matches none of this profile's files and is still refused."""
        if not profile.key_id:
            return True
        return any(key_id_of(path) == keyring_key_id for path, _ in self._sealed_files(profile))

    def restore(self, profile: ProfileRef, recovery_code: str, passphrase: str | None = None, *,
                shared: bool = False, current_passphrase: str | None = None,
                discard_unreadable: bool = False) -> Profile:
        """Put the key back into the keyring from its recovery code (also resets or removes the passphrase).

        Safe in any state (an interrupted rotation or restore, a rolled-back registry): it merges the code's
        key with the keys of the current keyring entry and reseals every file they open (see restore.py).
        An unknown name creates a profile with that key, unless the key belongs to a profile here.
        Without a passphrase, the restored profile is shared: say so with `shared=True` unless it already was.
        """
        return self.restore_outcome(profile, recovery_code, passphrase, shared=shared,
                                    current_passphrase=current_passphrase,
                                    discard_unreadable=discard_unreadable).profile

    def restore_outcome(self, profile: ProfileRef, recovery_code: str, passphrase: str | None = None, *,
                        shared: bool = False, current_passphrase: str | None = None,
                        discard_unreadable: bool = False) -> RestoreOutcome:
        """As `restore`, and which files no available key opens (left untouched)."""
        key = ProfileKey(decode_recovery_code(recovery_code))
        return restore_key(self, profile, key, passphrase, shared, current_passphrase, discard_unreadable)

    def change_passphrase(self, profile: ProfileRef, old: str | None, new: str | None) -> Profile:
        """Add, change (old and new) or remove (new=None) the passphrase protecting the key. Removing it is the
        explicit choice to share the profile with everyone at this computer."""
        found = self.profile(profile)
        if new is not None:
            check_new_passphrase(new, [found.name])
        with self._key_change():
            found = self.profile(found.id)
            keys = self._load_keys(found, old)
            self.keystore.save(found.id, keys, new)
            with self.registry.edit() as data:
                return data.update(found.id, protected=new is not None, shared=new is None)

    def rotate(
        self,
        profile: ProfileRef,
        passphrase: str | None = None,
        on_new_code: Callable[[str], None] | None = None,
    ) -> str:
        """Reseal every file of the profile under a new key; returns the new recovery code.

        Crash-safe ordering: (1) the keyring entry gets both keys, (2) the registry records phase
        "resealing", (3) each file is resealed atomically under the new key, (4) `on_new_code` shows the new
        code, (5) phase "committing", (6) the keyring keeps only the new key, (7) the registry names it.
        Interrupted before (5): the next unlock reseals back to the old key (the old code stays valid, since
        the new one may never have been seen). From (5) on: the next unlock finishes the rotation.
        """
        with self._key_change():  # no store writes and no other key change until it is done
            found = self.profile(profile)
            old = self._load_keys(found, passphrase).current
            new = ProfileKey.generate()
            both = KeySet(old, new)
            self.keystore.save(found.id, both, passphrase)
            with self.registry.edit() as data:
                data.update(found.id, rotation={"to": new.key_id, "phase": "resealing"})
            for problem in self._reseal_all(found, both, new):
                log.warning("not resealed (already unreadable): %s", problem)
            code = encode_recovery_code(new.root)
            if on_new_code is not None:
                on_new_code(code)
            with self.registry.edit() as data:
                data.update(found.id, rotation={"to": new.key_id, "phase": "committing"})
            self._commit(found, new, passphrase)
            return code

    def _commit(self, profile: Profile, key: ProfileKey, passphrase: str | None) -> None:
        self.keystore.save(profile.id, KeySet(key), passphrase)
        with self.registry.edit() as data:
            data.update(profile.id, key_id=key.key_id, rotation=None)

    def _settle_rotation(self, profile: Profile, keys: KeySet, passphrase: str | None) -> KeySet:
        rotation = profile.rotation or {}
        if rotation.get("phase") == "committing":
            target = keys.by_id().get(rotation.get("to", ""))
            if target is None:
                raise DamagedKeyEntry(f"a key rotation of {profile.name!r} was interrupted and the new key is not "
                                      "in the keyring; restore the profile with its newest recovery code")
            self._reseal_all(profile, keys, target)
            self._commit(profile, target, passphrase)
            return KeySet(target)
        # Not committed: go back to the old key, whose recovery code the user has.
        self._reseal_all(profile, keys, keys.current)
        self._commit(profile, keys.current, passphrase)
        return KeySet(keys.current)

    # -- files ------------------------------------------------------------------------------------------

    def _sealed_files(self, profile: Profile) -> list[tuple[Path, SealContext]]:
        return sealed_files_in(self.profile_dir(profile), profile.id)

    def _reseal_all(self, profile: Profile, keys: KeySet, target: ProfileKey) -> list[str]:
        return reseal_all(self._sealed_files(profile), keys, target)

    def verify(self, profile: ProfileRef, passphrase: str | None = None) -> list[str]:
        """Every problem found with the profile's key and files (empty list = all good).
        A missing or wrong passphrase raises PassphraseRequired / WrongPassphrase instead."""
        found = self.profile(profile)
        try:
            unlocked = self.unlock(found, passphrase)
        except (PassphraseRequired, WrongPassphrase):
            raise  # the user's input, not a problem of the profile
        except (KeysError, SealedFileError) as exc:
            return [f"key: {exc}"]
        problems = unlocked.episodes.verify() + unlocked.adapters.verify()
        problems += unlocked.manifest.problems(file_generations(self._sealed_files(found), unlocked.sealer))
        folder = self.profile_dir(found)
        expected = {folder / EPISODES_DIR, folder / ADAPTERS_DIR, folder / MANIFEST_LOCK, folder / CREATING_MARKER}
        ours = {path for path, _ in self._sealed_files(found)}
        for path in sorted(folder.rglob("*")) if folder.exists() else []:
            if path in expected or path in ours or is_temp_file(path):
                continue
            problems.append(f"unexpected item {path.relative_to(folder)} in the profile's folder (not a sealed file)")
        return problems

    def accept_files(self, profile: ProfileRef, passphrase: str | None = None) -> None:
        """After restoring a backup of the folder on purpose: the files as they are become the reference."""
        unlocked = self.unlock(profile, passphrase)
        files = self._sealed_files(unlocked.profile)
        unlocked.manifest.accept(file_generations(files, unlocked.sealer))

    def missing_key(self, profile: ProfileRef) -> bool:
        """True when the keyring has no entry for this profile (restore from the recovery code)."""
        try:
            self.keystore.load_text(self.profile(profile).id)
        except KeyMissing:
            return True
        return False


__all__ = ["Household", "UnlockedProfile", "Profile", "InvalidName"]
