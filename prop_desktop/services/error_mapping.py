"""Turn the lower layers' exceptions into ServiceErrors with a plain message and a fix."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from prop_desktop.services.errors import (
    EpisodeError,
    InvalidInputError,
    KeyringUnavailableError,
    KeyUnavailableError,
    PassphraseRequiredError,
    ProfileError,
    RecoveryCodeError,
    ServiceError,
    WrongPassphraseError,
)

RESTORE_FIX = "Restore this profile from its recovery code on the Profiles page."


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def translate(exc: BaseException) -> ServiceError | None:
    """The ServiceError for a keys/storage exception, or None when it is not one we know."""
    from prop_desktop.keys import errors as k
    from prop_desktop.storage import errors as s

    msg = _sentence(str(exc))
    if isinstance(exc, ServiceError):
        return exc
    if isinstance(exc, k.WrongPassphrase):
        return WrongPassphraseError(msg or "That passphrase is not right.", "Check it and try again.")
    if isinstance(exc, k.WeakPassphrase):
        return InvalidInputError(msg, None)
    if isinstance(exc, k.PassphraseRequired):
        return PassphraseRequiredError(msg, "Enter the profile's passphrase to continue.")
    if isinstance(exc, k.WrongRecoveryCode):
        return RecoveryCodeError(msg, "Check the code group by group and type it again.")
    if isinstance(exc, k.KeyMissing | k.DamagedKeyEntry):
        return KeyUnavailableError(msg, RESTORE_FIX if "recovery code" not in msg else None)
    if isinstance(exc, k.InsecureKeyring | k.KeyringUnavailable | k.KeyringError):
        return KeyringUnavailableError(msg)
    if isinstance(exc, s.SecretChoiceNeeded):
        return InvalidInputError(msg, None)
    if isinstance(exc, s.InvalidName):
        return InvalidInputError(msg, "Use a short name of letters, digits and spaces.")
    if isinstance(exc, s.ProfileExists):
        return ProfileError(msg, None if "another name" in msg else "Pick another name.")
    if isinstance(exc, s.ProfileNotFound):
        return ProfileError(msg, "Refresh the Profiles page; it may have been deleted.")
    if isinstance(exc, s.SealedByAnotherKey):
        return EpisodeError(msg, "This file belongs to another key or profile; it cannot be opened with yours.")
    if isinstance(exc, s.SealedFileError):
        return EpisodeError(msg, "The file was damaged or changed on disk; delete it and record or train again.")
    if isinstance(exc, s.EpisodeNotFound | s.AdapterNotFound):
        return EpisodeError(msg, "Refresh the list; it may have been deleted.")
    if isinstance(exc, s.InvalidEpisode):
        return EpisodeError(msg)
    if isinstance(exc, s.StorageError):
        return ServiceError(msg)
    if isinstance(exc, k.KeysError):
        return ServiceError(msg)
    return None


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Re-raise keys/storage exceptions as ServiceErrors (the original stays as __cause__ for logs)."""
    try:
        yield
    except ServiceError:
        raise
    except Exception as exc:
        mapped = translate(exc)
        if mapped is None:
            raise
        raise mapped from exc
