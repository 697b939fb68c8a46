"""Storage: the profiles registry, sealed files (AES-256-GCM), episodes, adapters and the Household façade."""

from __future__ import annotations

from .adapters import AdapterInfo, AdapterStore
from .episodes import EpisodeInfo, EpisodeStore
from .errors import (
    AdapterNotFound,
    EpisodeNotFound,
    FileTooLarge,
    InvalidEpisode,
    InvalidName,
    NotASealedFile,
    ProfileExists,
    ProfileNotFound,
    RegistryError,
    SealedByAnotherKey,
    SealedFileError,
    SecretChoiceNeeded,
    StaleKey,
    StorageError,
    TamperedFile,
    TruncatedFile,
    UnsupportedFormat,
)
from .household import Household, UnlockedProfile
from .locks import LockTimeout
from .registry import Profile
from .sealed import SealContext, Sealer

__all__ = [
    "AdapterInfo",
    "AdapterNotFound",
    "AdapterStore",
    "EpisodeInfo",
    "EpisodeNotFound",
    "EpisodeStore",
    "FileTooLarge",
    "Household",
    "InvalidEpisode",
    "InvalidName",
    "LockTimeout",
    "NotASealedFile",
    "Profile",
    "ProfileExists",
    "ProfileNotFound",
    "RegistryError",
    "SealContext",
    "SealedByAnotherKey",
    "SealedFileError",
    "Sealer",
    "SecretChoiceNeeded",
    "StaleKey",
    "StorageError",
    "TamperedFile",
    "TruncatedFile",
    "UnlockedProfile",
    "UnsupportedFormat",
]
