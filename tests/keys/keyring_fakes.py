"""Keyring backends for tests: a real in-memory KeyringBackend, a file-backed one shared between processes
(for kill -9 tests of key rotation), and stand-ins whose names the refusal rules must catch."""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

from prop_desktop.keys.ephemeral import EphemeralKeyring


class MemoryKeyring(EphemeralKeyring):
    """Keeps secrets in a dict: unit tests without a Secret Service."""


class SharedFileKeyring(KeyringBackend):
    """Test-only: secrets in a JSON file so a child process killed with -9 and its parent share them.
    (Writes are atomic renames, like a real keyring's item replacement.)"""

    priority = -1  # type: ignore[assignment]  # never picked by keyring's own discovery in this process

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = Path(path)

    def _read(self) -> dict[str, str]:
        try:
            return json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}

    def _write(self, entries: dict[str, str]) -> None:
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        with open(tmp, "w") as handle:
            json.dump(entries, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)

    def get_password(self, service: str, username: str) -> str | None:
        return self._read().get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        entries = self._read()
        entries[f"{service}/{username}"] = password
        self._write(entries)

    def delete_password(self, service: str, username: str) -> None:
        entries = self._read()
        if entries.pop(f"{service}/{username}", None) is None:
            raise PasswordDeleteError("no such password")
        self._write(entries)


class PlaintextKeyring(MemoryKeyring):
    """Named like keyrings.alt's plaintext file backend: must be refused by name."""


class ForgetfulKeyring(MemoryKeyring):
    """Accepts secrets and silently drops them (like a broken or null-ish backend): must be caught by read-back."""

    def set_password(self, service: str, username: str, password: str) -> None:
        return None
