"""Restoring a profile's key from a recovery code, safe whatever state the profile is in.

A restore may run in the middle of anything: a key rotation killed while it resealed files, a keyring entry
that holds the old and the new key, a `profiles.json` rolled back to an older copy, a keyring entry that is
gone. So it never replaces keys, it *merges* them:

    available = the code's key K  ∪  every key readable from the profile's current keyring entry

K is accepted when it is the registry's key, the target of an unfinished rotation, a key of the entry, or the
key named in the header of one of the profile's files; anything else is another profile's code. Then:

1. the keyring entry holds K (current) and every other available key (retired): every file opens through the
   keyring at every moment, whatever is killed next;
2. the registry names K, with a rotation "to K" in phase "committing" (an unlock after a crash finishes it);
3. every file that an available key opens is resealed under K (folders fsynced);
4. commit: the keyring keeps only K, the registry has no rotation.

Files sealed with a key that is not available are left untouched and reported; a later restore with the code
of that key brings them back (it merges again). The one key that could be dropped is one inside a
passphrase-protected entry when no passphrase is given: if files need it, the restore stops and asks for the
current passphrase (or an explicit `discard_unreadable`).

Without a new passphrase the restored profile is shared: a new or protected profile needs `shared=True` for
that (the same explicit choice as at creation); a profile that was shared stays shared.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..keys.errors import CurrentPassphraseNeeded, DamagedKeyEntry, KeyMissing, PassphraseRequired, WrongRecoveryCode
from ..keys.keyring_store import KeySet, decode_entry
from ..keys.material import ProfileKey
from .errors import ProfileNotFound
from .layout import KeyChangeHost
from .privacy_choice import check_secret_choice
from .registry import Profile, clean_profile_name, placeholder_name
from .sealed import key_id_of


@dataclass(frozen=True)
class RestoreOutcome:
    profile: Profile
    left_unreadable: list[str]  # files no available key opens (untouched: the code of their key restores them)


def restore_key(
    hh: KeyChangeHost,
    ref: Profile | str,
    key: ProfileKey,
    passphrase: str | None,
    shared: bool = False,
    current_passphrase: str | None = None,
    discard_unreadable: bool = False,
) -> RestoreOutcome:
    with hh._key_change():
        found = _profile_for(hh, ref, key)
        if found is None:  # a new computer, or a profile deleted here: a new profile with this key
            name = clean_profile_name(str(ref))
            check_secret_choice(name, passphrase, shared)
            return RestoreOutcome(hh._add_profile(name, key, passphrase)[0], [])
        entry_keys, entry_locked = _entry_keys(hh, found, current_passphrase)
        header_ids = {kid for kid in (key_id_of(path) for path, _ in hh._sealed_files(found)) if kid}
        known = {found.key_id, (found.rotation or {}).get("to", "")} | set(entry_keys) | header_ids
        nothing_known = not found.key_id and not entry_keys and not header_ids  # e.g. rebuilt, no files
        if key.key_id not in known and not nothing_known:
            raise WrongRecoveryCode(
                "this recovery code is typed correctly but belongs to a different key than the one of profile "
                f"{found.name!r} (another profile's code, or one replaced by a key rotation)"
            )
        available = {**entry_keys, key.key_id: key}
        stranded = [path.name for path, _ in hh._sealed_files(found) if key_id_of(path) not in available]
        if stranded and entry_locked and not discard_unreadable:
            raise CurrentPassphraseNeeded(
                f"{len(stranded)} file(s) of {found.name!r} are sealed with a key that only its passphrase-protected "
                "keyring entry holds (an interrupted key rotation or restore). Give the current passphrase too "
                "(--current-passphrase), or restore with the newer recovery code; only if that passphrase is lost, "
                "--discard-unreadable restores anyway and leaves those files unreadable"
            )
        # A profile its person already chose to share stays shared without saying it again.
        check_secret_choice(found.name, passphrase, shared or (found.shared and passphrase is None))
        merged = KeySet(key, retired=tuple(k for kid, k in available.items() if kid != key.key_id))
        hh.keystore.save(found.id, merged, passphrase)  # (1)
        with hh.registry.edit() as data:  # (2)
            data.update(found.id, key_id=key.key_id, protected=passphrase is not None, shared=passphrase is None,
                        rotation={"to": key.key_id, "phase": "committing"})
        problems = hh._reseal_all(found, merged, key)  # (3)
        hh._commit(found, key, passphrase)  # (4)
        return RestoreOutcome(hh.profile(found.id), problems)


def _entry_keys(hh: KeyChangeHost, profile: Profile,
                current_passphrase: str | None) -> tuple[dict[str, ProfileKey], bool]:
    """Keys readable from the profile's keyring entry, and whether it holds keys we cannot read (locked)."""
    try:
        text = hh.keystore.load_text(profile.id)
    except KeyMissing:
        return {}, False
    try:
        return decode_entry(text, profile.id, current_passphrase).by_id(), False
    except PassphraseRequired:
        return {}, True
    except DamagedKeyEntry:  # not ours or unreadable: it holds nothing a file could need
        return {}, False


def _profile_for(hh: KeyChangeHost, ref: Profile | str, key: ProfileKey) -> Profile | None:
    """The profile to restore: by name (or id), else the one this key belongs to (its registry entry was
    rebuilt with a placeholder name, or renamed); None when no profile here has this key."""
    data = hh.registry.read()
    if isinstance(ref, Profile):
        return data.find(ref)
    try:
        return data.find(ref)
    except ProfileNotFound:
        pass
    for profile in data.profiles.values():
        ids = {profile.key_id, (profile.rotation or {}).get("to", "")}
        ids |= {key_id_of(path) for path, _ in hh._sealed_files(profile)}
        if key.key_id not in ids:
            continue
        if profile.name == placeholder_name(profile.id):  # a rebuilt entry: take the name the user typed
            name = clean_profile_name(str(ref))
            with hh.registry.edit() as edited:
                if edited.name_is_free(name, except_id=profile.id):
                    return edited.update(profile.id, name=name)
        return profile
    return None
