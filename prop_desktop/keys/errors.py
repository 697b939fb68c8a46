"""Errors of the key layer. Each carries a plain message that names the problem and what to do."""

from __future__ import annotations


class KeysError(Exception):
    """Base class of every key-layer error."""


class WrongRecoveryCode(KeysError):
    """The recovery code has a typo, or belongs to another key."""

    def __init__(self, message: str, groups: tuple[int, ...] = ()) -> None:
        super().__init__(message)
        #: 1-based numbers of the groups that failed their check (empty when the whole code is at fault).
        self.groups = groups


class WrongPassphrase(KeysError):
    """The passphrase does not unlock this profile's key."""


class WeakPassphrase(KeysError, ValueError):
    """A new passphrase the strength estimator finds guessable; the message carries its feedback."""


class PassphraseRequired(KeysError):
    """The profile is protected by a passphrase and none was given."""


class KeyringError(KeysError):
    """Base class of problems with the operating system's keyring."""


class InsecureKeyring(KeyringError):
    """The configured keyring backend would store the key unprotected (plaintext file, null, fail...)."""


class KeyringUnavailable(KeyringError):
    """No keyring reachable, the collection is locked, or the keyring refused the operation."""


class KeyMissing(KeyringError):
    """The keyring has no entry for this profile (lost, or deleted)."""


class DamagedKeyEntry(KeyringError):
    """The keyring entry exists but cannot be read as a PRoP Desktop key."""


class CurrentPassphraseNeeded(PassphraseRequired):
    """A restore would drop keys that only the passphrase-protected keyring entry holds, and files need them."""
