"""Two threads unlocking passphrase-protected keys at once both finish (Argon2id alone hangs on that)."""

from __future__ import annotations

import threading

import pytest

from prop_desktop.keys import passphrase


@pytest.mark.timeout(60)
def test_concurrent_unwraps_both_return(monkeypatch: pytest.MonkeyPatch):
    # The real cost (4 lanes) is what hangs without the lock; the tests' fast setting does not.
    monkeypatch.setattr(passphrase, "ARGON2_PARAMS", dict(passphrase.RECOMMENDED_ARGON2))
    blob = passphrase.wrap(b"k" * 16, "correct horse battery", b"profile")
    results: list[bytes] = []

    def unwrap() -> None:
        results.append(passphrase.unwrap(blob, "correct horse battery", b"profile"))

    threads = [threading.Thread(target=unwrap, daemon=True) for _ in range(3)]  # a hung one must not block exit
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert results == [b"k" * 16] * 3
