"""Errors of the storage layer. Each carries a plain message that names the problem and what to do."""

from __future__ import annotations

from pathlib import Path


class StorageError(Exception):
    """Base class of every storage-layer error."""


class SealedFileError(StorageError):
    """A sealed file cannot be opened; nothing of it was loaded."""

    def __init__(self, path: Path | str, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path.name}: {problem}; nothing was loaded from it")


class NotASealedFile(SealedFileError):
    """The file does not start with the sealed-file magic."""


class UnsupportedFormat(SealedFileError):
    """The file was written by a format version this app cannot read."""


class TruncatedFile(SealedFileError):
    """The file is shorter than its header says."""


class SealedByAnotherKey(SealedFileError):
    """The file names a key this profile does not have (another profile's, or an old key)."""


class FileTooLarge(SealedFileError):
    """Larger than any sealed file this app writes: refused before reading it."""


class TamperedFile(SealedFileError):
    """Authentication failed: the file was changed, damaged, or belongs to another profile or kind."""


class RegistryError(StorageError):
    """The profiles registry cannot be read."""


class ProfileNotFound(StorageError, LookupError):
    """No profile has that name or id."""


class ProfileExists(StorageError):
    """Another profile already has that name."""


class SecretChoiceNeeded(StorageError, ValueError):
    """A profile would be created (or left) without a passphrase although nobody chose to share it."""


class InvalidName(StorageError, ValueError):
    """A profile or episode name that cannot be used."""


class EpisodeNotFound(StorageError, LookupError):
    """No episode with that id in this profile."""


class AdapterNotFound(StorageError, LookupError):
    """No adapter for that base model in this profile."""


class InvalidEpisode(StorageError, ValueError):
    """Episode arrays or metadata that cannot be stored."""


class StaleKey(StorageError):
    """The profile's key changed (rotated, restored, deleted) since this process unlocked it."""
