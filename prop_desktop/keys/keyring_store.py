"""The profile key in the operating system's keyring: service "prop-desktop", username = profile UUID.

The stored text is JSON. Without a passphrase it holds the key(s) base64-encoded (the keyring itself is the
protection); with one it holds them wrapped (see passphrase.py). During a key rotation the entry holds both
the current and the pending key, so every sealed file stays readable whatever moment the rotation stops.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import keyring
import keyring.errors
from keyring.backend import KeyringBackend

from .. import failpoints
from . import passphrase as pp
from .backend_check import REMEDY, backend_name, check_secret_service_unlocked, select_secure_backend
from .errors import DamagedKeyEntry, KeyMissing, KeyringUnavailable, PassphraseRequired
from .material import ProfileKey

SERVICE = "prop-desktop"
ENTRY_VERSION = 1


@dataclass(frozen=True)
class KeySet:
    """What one keyring entry holds: the current key and, only mid-rotation, the key being rotated to.
    `retired` holds keys that still open some files while a restore brings them under `current`."""

    current: ProfileKey
    pending: ProfileKey | None = None
    retired: tuple[ProfileKey, ...] = ()

    def by_id(self) -> dict[str, ProfileKey]:
        keys = {k.key_id: k for k in self.retired}
        if self.pending is not None:
            keys[self.pending.key_id] = self.pending
        keys[self.current.key_id] = self.current
        return keys

    @property
    def settled(self) -> bool:
        """Only one key: no rotation or restore is half done."""
        return self.pending is None and not self.retired


def _associated(profile_id: str) -> bytes:
    # Binds a wrapped entry to its profile: copying it under another profile's username does not open.
    return f"prop-desktop/keyring-entry/v{ENTRY_VERSION}/{profile_id}".encode()


def _keys_payload(keys: KeySet) -> dict[str, Any]:
    payload: dict[str, Any] = {"current": base64.b64encode(keys.current.root).decode()}
    if keys.pending is not None:
        payload["pending"] = base64.b64encode(keys.pending.root).decode()
    if keys.retired:
        payload["retired"] = [base64.b64encode(k.root).decode() for k in keys.retired]
    return payload


def _keys_from_payload(payload: Any) -> KeySet:
    try:
        current = ProfileKey(base64.b64decode(payload["current"], validate=True))
        pending = payload.get("pending")
        retired = tuple(ProfileKey(base64.b64decode(text, validate=True)) for text in payload.get("retired", []))
        return KeySet(current, ProfileKey(base64.b64decode(pending, validate=True)) if pending else None, retired)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise DamagedKeyEntry("the keyring entry does not hold a valid PRoP Desktop key; "
                              "restore the profile with its recovery code") from None


def encode_entry(keys: KeySet, profile_id: str, passphrase: str | None) -> str:
    entry: dict[str, Any] = {"format": "prop-desktop-key", "version": ENTRY_VERSION}
    if passphrase is None:
        entry["protection"] = "none"
        entry["keys"] = _keys_payload(keys)
    else:
        payload = json.dumps(_keys_payload(keys)).encode()
        entry["protection"] = "passphrase"
        entry["wrapped"] = pp.wrap(payload, passphrase, _associated(profile_id))
    return json.dumps(entry)


def _parse_entry(text: str) -> dict[str, Any]:
    try:
        entry = json.loads(text)
    except (TypeError, ValueError):
        entry = None
    if not isinstance(entry, dict) or entry.get("format") != "prop-desktop-key":
        raise DamagedKeyEntry("the keyring entry for this profile is not a PRoP Desktop key; "
                              "restore the profile with its recovery code")
    if entry.get("version") != ENTRY_VERSION:
        raise DamagedKeyEntry(f"the keyring entry has format version {entry.get('version')!r}; "
                              "this version of PRoP Desktop reads version 1 (update the app)")
    return entry


def entry_is_protected(text: str) -> bool:
    return _parse_entry(text).get("protection") == "passphrase"


def decode_entry(text: str, profile_id: str, passphrase: str | None) -> KeySet:
    entry = _parse_entry(text)
    if entry.get("protection") == "none":
        return _keys_from_payload(entry.get("keys"))
    if entry.get("protection") != "passphrase" or not isinstance(entry.get("wrapped"), dict):
        raise DamagedKeyEntry("the keyring entry's protection is not in a known format")
    if passphrase is None:
        raise PassphraseRequired("this profile is protected by a passphrase; enter it to unlock")
    payload = pp.unwrap(entry["wrapped"], passphrase, _associated(profile_id))
    try:
        return _keys_from_payload(json.loads(payload))
    except ValueError:
        raise DamagedKeyEntry("the unwrapped keyring entry is not valid") from None


class KeyringStore:
    """Reads and writes profile keys in a keyring backend that has passed the security checks."""

    def __init__(self, backend: KeyringBackend | None = None) -> None:
        self._requested = backend
        self._backend: KeyringBackend | None = None

    @property
    def backend(self) -> KeyringBackend:
        """The checked backend; raises InsecureKeyring / KeyringUnavailable when none is acceptable."""
        if self._backend is None:
            try:
                requested = self._requested if self._requested is not None else keyring.get_keyring()
            except Exception as exc:  # noqa: BLE001 - keyring's own discovery can fail many ways
                raise KeyringUnavailable(f"no keyring could be loaded ({exc}). " + REMEDY) from None
            self._backend = select_secure_backend(requested)
        check_secret_service_unlocked(self._backend)
        return self._backend

    def describe(self) -> str:
        return backend_name(self.backend)

    def _call(self, what: str, fn: Any, *args: Any) -> Any:
        backend = self.backend
        try:
            return fn(backend, *args)
        except keyring.errors.PasswordDeleteError:
            raise
        except Exception as exc:  # noqa: BLE001 - the keyring boundary: D-Bus, OS and backend errors alike
            raise KeyringUnavailable(f"the keyring ({backend_name(backend)}) failed to {what}: {exc}. "
                                     + REMEDY) from None

    def load_text(self, profile_id: str) -> str:
        text = self._call("read the key", lambda b, u: b.get_password(SERVICE, u), profile_id)
        if text is None:
            raise KeyMissing("this profile's key is not in the keyring (it was removed, or this is another "
                             "computer); restore it with the profile's recovery code")
        return str(text)

    def has(self, profile_id: str) -> bool:
        return self._call("read the key", lambda b, u: b.get_password(SERVICE, u), profile_id) is not None

    def load(self, profile_id: str, passphrase: str | None = None) -> KeySet:
        return decode_entry(self.load_text(profile_id), profile_id, passphrase)

    def is_protected(self, profile_id: str) -> bool:
        return entry_is_protected(self.load_text(profile_id))

    def save(self, profile_id: str, keys: KeySet, passphrase: str | None = None) -> None:
        text = encode_entry(keys, profile_id, passphrase)
        failpoints.reached("keyring")
        self._call("store the key", lambda b, u, t: b.set_password(SERVICE, u, t), profile_id, text)
        # Read back: a backend that silently drops secrets (or a broken one) must not pass as working.
        if self._call("read the key back", lambda b, u: b.get_password(SERVICE, u), profile_id) != text:
            raise KeyringUnavailable(f"the keyring ({backend_name(self.backend)}) did not keep the key. " + REMEDY)

    def delete(self, profile_id: str) -> bool:
        """Remove the entry; False when there was none."""
        failpoints.reached("keyring")
        try:
            self._call("delete the key", lambda b, u: b.delete_password(SERVICE, u), profile_id)
        except keyring.errors.PasswordDeleteError:
            return False
        return True
