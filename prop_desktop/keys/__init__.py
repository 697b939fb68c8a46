"""Keys: generation, recovery codes, passphrase wrapping and the keyring store (no Qt, no storage)."""

from __future__ import annotations

from .errors import (
    CurrentPassphraseNeeded,
    DamagedKeyEntry,
    InsecureKeyring,
    KeyMissing,
    KeyringError,
    KeyringUnavailable,
    KeysError,
    PassphraseRequired,
    WeakPassphrase,
    WrongPassphrase,
    WrongRecoveryCode,
)
from .keyring_store import SERVICE, KeyringStore, KeySet
from .material import ProfileKey
from .recovery import decode_recovery_code, encode_recovery_code, normalize_recovery_code

__all__ = [
    "CurrentPassphraseNeeded",
    "SERVICE",
    "DamagedKeyEntry",
    "InsecureKeyring",
    "KeyMissing",
    "KeySet",
    "KeyringError",
    "KeyringStore",
    "KeyringUnavailable",
    "KeysError",
    "PassphraseRequired",
    "ProfileKey",
    "WeakPassphrase",
    "WrongPassphrase",
    "WrongRecoveryCode",
    "decode_recovery_code",
    "encode_recovery_code",
    "normalize_recovery_code",
]
