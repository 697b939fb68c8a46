"""Passphrase wrapping: the key in the keyring encrypted under a key stretched from the passphrase.

Argon2id (RFC 9106's second recommended setting: t=3, p=4, m=64 MiB) when `cryptography` has it, scrypt
otherwise. The parameters travel with the wrapped blob, so a later version can raise them and still open
old entries.
"""

from __future__ import annotations

import base64
import os
import threading
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from .errors import DamagedKeyEntry, WrongPassphrase

WRAP_KEY_BYTES = 32
MIN_PASSPHRASE_CHARS = 4
# RFC 9106's second recommended setting. Tests lower ARGON2_PARAMS for speed; the parameters travel with
# each wrapped blob, so unwrapping never depends on this table.
RECOMMENDED_ARGON2 = {"iterations": 3, "lanes": 4, "memory_kib": 64 * 1024}
ARGON2_PARAMS = dict(RECOMMENDED_ARGON2)

try:
    from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
except ImportError:  # cryptography < 44
    Argon2id = None  # type: ignore[assignment,misc]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any, what: str) -> bytes:
    try:
        return base64.b64decode(str(text), validate=True)
    except ValueError:
        raise DamagedKeyEntry(f"the keyring entry's {what} is not valid base64") from None


def default_kdf_params() -> dict[str, Any]:
    """Fresh parameters (with a new random salt) for wrapping."""
    salt = _b64(os.urandom(16))
    if Argon2id is not None:
        return {"name": "argon2id", "salt": salt, **ARGON2_PARAMS}
    return {"name": "scrypt", "salt": salt, "n": 2**17, "r": 8, "p": 1}


def check_passphrase(passphrase: str) -> None:
    if not isinstance(passphrase, str) or len(passphrase) < MIN_PASSPHRASE_CHARS:
        raise ValueError(f"a passphrase needs at least {MIN_PASSPHRASE_CHARS} characters")


# cryptography 50's Argon2id never returns when two threads derive at the same moment (seen as a frozen app:
# a recording and a drive unlocking one protected key together). One derivation at a time is cheap insurance.
_KDF_LOCK = threading.Lock()


def derive_wrapping_key(passphrase: str, params: dict[str, Any]) -> bytes:
    secret = passphrase.encode("utf-8")
    salt = _unb64(params.get("salt"), "salt")
    name = params.get("name")
    try:
        if name == "argon2id":
            if Argon2id is None:
                raise DamagedKeyEntry("this key was wrapped with Argon2id, which needs cryptography >= 44")
            kdf = Argon2id(
                salt=salt,
                length=WRAP_KEY_BYTES,
                iterations=int(params["iterations"]),
                lanes=int(params["lanes"]),
                memory_cost=int(params["memory_kib"]),
            )
        elif name == "scrypt":
            kdf = Scrypt(salt=salt, length=WRAP_KEY_BYTES, n=int(params["n"]), r=int(params["r"]), p=int(params["p"]))
        else:
            raise DamagedKeyEntry(f"unknown passphrase scheme {name!r} in the keyring entry")
    except (KeyError, TypeError, ValueError) as exc:
        raise DamagedKeyEntry(f"the keyring entry's passphrase parameters are unusable ({exc})") from None
    with _KDF_LOCK:
        return kdf.derive(secret)


def wrap(payload: bytes, passphrase: str, associated: bytes) -> dict[str, Any]:
    """Encrypt `payload` under the passphrase; returns a JSON-able blob with the KDF parameters."""
    check_passphrase(passphrase)
    params = default_kdf_params()
    nonce = os.urandom(12)
    sealed = AESGCM(derive_wrapping_key(passphrase, params)).encrypt(nonce, payload, associated)
    return {"kdf": params, "cipher": "aes-256-gcm", "nonce": _b64(nonce), "ciphertext": _b64(sealed)}


def unwrap(blob: dict[str, Any], passphrase: str, associated: bytes) -> bytes:
    """The payload, or WrongPassphrase. (A damaged entry looks the same as a wrong passphrase to AES-GCM.)"""
    if not isinstance(blob.get("kdf"), dict) or blob.get("cipher") != "aes-256-gcm":
        raise DamagedKeyEntry("the keyring entry's passphrase wrapping is not in a known format")
    wrapping_key = derive_wrapping_key(passphrase, blob["kdf"])
    nonce = _unb64(blob.get("nonce"), "nonce")
    ciphertext = _unb64(blob.get("ciphertext"), "ciphertext")
    try:
        return AESGCM(wrapping_key).decrypt(nonce, ciphertext, associated)
    except (InvalidTag, ValueError):
        raise WrongPassphrase("wrong passphrase for this profile; try again (letters are case-sensitive)") from None
