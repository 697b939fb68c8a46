"""A profile's root key (128 random bits) and the sub-keys derived from it with HKDF.

The root key never leaves memory except into the keyring (or as the recovery code shown once). Everything
else uses sub-keys, so the key the robot's network sees can never decrypt a sealed file and vice versa.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

ROOT_KEY_BYTES = 16
NETWORK_KEY_BYTES = 16
SEAL_KEY_BYTES = 32
KEY_ID_BYTES = 8

# Fixed, public HKDF salt: the root key is already uniformly random, the salt only separates this app.
_SALT = b"prop-desktop/hkdf-salt/v1"
_INFO_NETWORK = b"prop-desktop/v1/network-key"
_INFO_SEAL = b"prop-desktop/v1/seal-key"
_INFO_KEY_ID = b"prop-desktop/v1/key-id"


def _hkdf(root: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=_SALT, info=info).derive(root)


@dataclass(frozen=True)
class ProfileKey:
    """128 secret bits plus what is derived from them. Compare by `key_id`, never print `root`."""

    root: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.root, bytes) or len(self.root) != ROOT_KEY_BYTES:
            raise ValueError(f"a profile key is exactly {ROOT_KEY_BYTES} bytes")

    @classmethod
    def generate(cls) -> ProfileKey:
        return cls(secrets.token_bytes(ROOT_KEY_BYTES))

    @property
    def network_key(self) -> bytes:
        """16 bytes for the PRoP engine (the bits that personalize the policy)."""
        return _hkdf(self.root, _INFO_NETWORK, NETWORK_KEY_BYTES)

    @property
    def seal_key(self) -> bytes:
        """32 bytes for AES-256-GCM sealing of this profile's files."""
        return _hkdf(self.root, _INFO_SEAL, SEAL_KEY_BYTES)

    @property
    def key_id(self) -> str:
        """A public fingerprint (16 hex chars) that tells which key sealed a file; reveals nothing of the key."""
        return _hkdf(self.root, _INFO_KEY_ID, KEY_ID_BYTES).hex()

    def __repr__(self) -> str:
        return f"ProfileKey(key_id={self.key_id})"
