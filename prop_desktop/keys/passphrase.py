"""Passphrase wrapping: the key in the keyring encrypted under a key stretched from the passphrase.

Argon2id (RFC 9106's second recommended setting: t=3, p=4, m=64 MiB) when `cryptography` has it, scrypt
otherwise. The parameters travel with the wrapped blob, so a later version can raise them and still open
old entries.

The one home of the strength rule for a NEW passphrase (`passphrase_strength`, `check_new_passphrase`): the
zxcvbn estimator (pattern matching against dictionaries, keyboard walks, dates, repeats and the person's own
name), never length alone. Unwrapping never checks strength, so an older, weaker passphrase still opens.
"""

from __future__ import annotations

import base64
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from zxcvbn import zxcvbn

from .errors import DamagedKeyEntry, WeakPassphrase, WrongPassphrase

WRAP_KEY_BYTES = 32
# zxcvbn's score (0-4): 3 = "safely unguessable: moderate protection from offline slow-hash scenario"
# (an estimate under 1e8 guesses is refused). At 0.15-0.4 s per Argon2id guess (measured here, README threat
# model), 1e8 guesses take 6-15 months of one core; a 4-digit PIN (1e4) falls in under an hour.
MIN_STRENGTH_SCORE = 3
# zxcvbn refuses longer inputs (its matchers are quadratic); what follows 72 characters only adds strength.
ESTIMATOR_MAX_CHARS = 72
# Words anyone would try first against this app's keys, besides the person's own name.
_APP_WORDS = ("prop", "desktop", "prop-desktop", "robot", "arm", "household")
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


@dataclass(frozen=True)
class Strength:
    """The estimator's verdict on a passphrase: what the UI shows as the user types, and what is enforced."""

    score: int  # 0 (guessable in seconds) .. 4 (very unguessable)
    guesses: float  # zxcvbn's estimate of the guesses an attacker who knows its patterns needs
    warning: str  # zxcvbn's warning ("This is a top-10 common password."), or ""
    suggestions: tuple[str, ...]

    @property
    def acceptable(self) -> bool:
        return self.score >= MIN_STRENGTH_SCORE

    def advice(self) -> str:
        """The estimator's own feedback as one sentence-list, or a default when it has none."""
        parts = [self.warning, *self.suggestions] if self.warning else list(self.suggestions)
        return " ".join(p for p in parts if p) or "Add another word or two; uncommon words are better."


def passphrase_strength(passphrase: str, user_inputs: Sequence[str] = ()) -> Strength:
    """zxcvbn's estimate (about 6 ms for 30 characters); `user_inputs` are words an attacker would try first
    (the profile's name). Whitespace-only is scored 0 whatever its length."""
    if not passphrase.strip():
        return Strength(0, 1.0, "A passphrase of only spaces is guessed at once.", ())
    words = [w for w in (*user_inputs, *_APP_WORDS) if w]
    result = zxcvbn(passphrase[:ESTIMATOR_MAX_CHARS], user_inputs=words)
    feedback = result.get("feedback") or {}
    return Strength(int(result["score"]), float(result["guesses"]), str(feedback.get("warning") or ""),
                    tuple(str(s) for s in feedback.get("suggestions") or ()))


def check_new_passphrase(passphrase: str, user_inputs: Sequence[str] = ()) -> None:
    """Refuse a passphrase that is about to protect a key when the estimator finds it guessable."""
    if not isinstance(passphrase, str):
        raise WeakPassphrase("a passphrase must be text")
    verdict = passphrase_strength(passphrase, user_inputs)
    if not verdict.acceptable:
        raise WeakPassphrase(
            f"this passphrase is too easy to guess (strength {verdict.score} of 4; at least {MIN_STRENGTH_SCORE} "
            f"is needed): {verdict.advice()} A few unrelated words with a number work well."
        )


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
    """Encrypt `payload` under the passphrase; returns a JSON-able blob with the KDF parameters. (No strength
    check here: re-wrapping under an existing passphrase, in a rotation, must keep working.)"""
    if not isinstance(passphrase, str) or not passphrase:
        raise WeakPassphrase("a passphrase cannot be empty")
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
