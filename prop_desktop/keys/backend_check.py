"""Which keyring backends may hold a PRoP key, and which are refused.

Refused: anything that stores the key in a plain file (keyrings.alt, any *Plaintext* backend), the null
backend (forgets it), the fail backend (no keyring at all), a chainer with no acceptable backend inside,
and a Secret Service whose collection is locked or missing (asking to unlock could hang on a headless
machine). There is never a fallback to plaintext: the user is pointed at the recovery-code path instead.
"""

from __future__ import annotations

from contextlib import closing
from typing import Any

from keyring.backend import KeyringBackend
from keyring.backends.chainer import ChainerBackend

from .errors import InsecureKeyring, KeyringUnavailable

# Shown with every refusal: what a person can do about it.
REMEDY = (
    "PRoP Desktop keeps keys only in a secure keyring (GNOME Keyring / KWallet via the Secret Service on Linux, "
    "Keychain on macOS, Credential Manager on Windows). Log in to a desktop session that unlocks one, then "
    "restore your profile with its recovery code (prop-desktop profile restore NAME)."
)

_INSECURE_NAME_PARTS = ("plaintext", "uncrypted", "unencrypted", "insecure")


def backend_name(backend: KeyringBackend) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def _insecure_reason(backend: KeyringBackend) -> str | None:
    """Why this single (non-chainer) backend is unacceptable, or None when it is fine."""
    module = type(backend).__module__
    name = type(backend).__name__
    if module == "keyring.backends.fail":
        return "no system keyring was found (keyring's 'fail' backend is active)"
    if module == "keyring.backends.null":
        return "the 'null' keyring backend is active, which silently forgets every key"
    if module.startswith("keyrings.alt"):
        return f"the keyring backend {name} (keyrings.alt) keeps secrets in a file, not in a protected keyring"
    if any(part in name.lower() for part in _INSECURE_NAME_PARTS):
        return f"the keyring backend {name} stores secrets unprotected"
    return None


def _is_chainer(backend: KeyringBackend) -> bool:
    return isinstance(backend, ChainerBackend)


def select_secure_backend(backend: KeyringBackend) -> KeyringBackend:
    """The backend to use (a chainer is replaced by its best acceptable member), or InsecureKeyring."""
    if _is_chainer(backend):
        members: list[KeyringBackend] = list(getattr(backend, "backends", []))
        acceptable = [m for m in members if not _is_chainer(m) and _insecure_reason(m) is None]
        if not acceptable:
            reasons = "; ".join(filter(None, (_insecure_reason(m) for m in members))) or "it chains no keyring"
            raise InsecureKeyring(f"Refusing to store your key: the keyring chainer has no secure keyring ({reasons}). "
                                  + REMEDY)
        # Use the best one directly: the chainer would write to whichever member accepts first.
        return acceptable[0]
    reason = _insecure_reason(backend)
    if reason is not None:
        raise InsecureKeyring(f"Refusing to store your key: {reason}. " + REMEDY)
    return backend


def check_secret_service_unlocked(backend: KeyringBackend) -> None:
    """For a Secret Service backend: the collection must exist and be unlocked (no prompt is ever opened)."""
    if type(backend).__module__ != "keyring.backends.SecretService":
        return
    try:
        import secretstorage
        from secretstorage import exceptions
    except ImportError:
        raise KeyringUnavailable("the Secret Service keyring needs the SecretStorage package. " + REMEDY) from None
    try:
        with closing(secretstorage.dbus_init()) as bus:
            preferred: Any = getattr(backend, "preferred_collection", None)
            if preferred:
                collection = secretstorage.Collection(bus, preferred)
            else:
                collection = secretstorage.get_default_collection(bus)
            locked = collection.is_locked()
    except (exceptions.SecretStorageException, OSError, ValueError) as exc:
        raise KeyringUnavailable(f"the Secret Service keyring cannot be used ({exc}). " + REMEDY) from None
    if locked:
        raise KeyringUnavailable("your keyring is locked. Unlock it (for example by logging in to your desktop "
                                 "session or opening 'Passwords and Keys') and try again; " + REMEDY)
