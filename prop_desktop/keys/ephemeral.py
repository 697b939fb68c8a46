"""A keyring that lives in this process's memory only: the self-test, benchmarks, and the explicit try-out
mode (`prop-desktop --try-out`, everything deleted on exit).

Never picked by keyring's own discovery (negative priority), so nothing falls back to it silently: a smoke
test or benchmark never touches the person's real keyring, and a person without one chooses try-out knowingly.
"""

from __future__ import annotations

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


class EphemeralKeyring(KeyringBackend):
    """Secrets in a dict; they vanish with the process."""

    priority = -1  # keyring's discovery must never choose it

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # keyring publishes no types for it
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.entries.pop((service, username), None) is None:
            raise PasswordDeleteError("no such password")
