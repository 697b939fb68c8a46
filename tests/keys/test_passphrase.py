"""Passphrase wrapping: parameters recorded with the blob, a wrong passphrase reported as such."""

from __future__ import annotations

import json

import pytest

from prop_desktop.keys import (
    DamagedKeyEntry,
    KeySet,
    PassphraseRequired,
    ProfileKey,
    WrongPassphrase,
    passphrase,
)
from prop_desktop.keys.keyring_store import decode_entry, encode_entry, entry_is_protected
from prop_desktop.keys.passphrase import unwrap, wrap

PID = "5d0e5c2c-1111-4222-8333-944455556666"


def test_wrap_records_parameters_and_unwraps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passphrase, "ARGON2_PARAMS", passphrase.RECOMMENDED_ARGON2)  # the app's real cost
    blob = wrap(b"sixteen byte key", "correct horse", b"ad")
    assert blob["kdf"]["name"] in ("argon2id", "scrypt")
    if blob["kdf"]["name"] == "argon2id":
        assert blob["kdf"]["memory_kib"] == 64 * 1024 and blob["kdf"]["iterations"] == 3
        assert blob["kdf"]["lanes"] == 4
    assert len(blob["kdf"]["salt"]) > 16
    assert unwrap(json.loads(json.dumps(blob)), "correct horse", b"ad") == b"sixteen byte key"


def test_wrong_passphrase_and_wrong_binding() -> None:
    blob = wrap(b"sixteen byte key", "correct horse", b"ad")
    with pytest.raises(WrongPassphrase, match="wrong passphrase"):
        unwrap(blob, "correct hors", b"ad")
    with pytest.raises(WrongPassphrase):
        unwrap(blob, "correct horse", b"another profile")


def test_parameters_travel_with_the_blob(monkeypatch: pytest.MonkeyPatch) -> None:
    """A blob wrapped with other parameters (an older or newer app) still opens: they are read from it."""
    blob = wrap(b"sixteen byte key", "correct horse", b"ad")
    monkeypatch.setattr(passphrase, "ARGON2_PARAMS", {"iterations": 2, "lanes": 2, "memory_kib": 2048})
    assert unwrap(blob, "correct horse", b"ad") == b"sixteen byte key"
    blob["kdf"]["iterations"] += 1  # tampered parameters derive another key
    with pytest.raises(WrongPassphrase):
        unwrap(blob, "correct horse", b"ad")


def test_an_empty_passphrase_never_wraps_a_key() -> None:
    with pytest.raises(ValueError, match="cannot be empty"):
        wrap(b"k" * 16, "", b"ad")


def test_keyring_entry_plain_and_protected() -> None:
    keys = KeySet(ProfileKey.generate())
    plain = encode_entry(keys, PID, None)
    assert not entry_is_protected(plain)
    assert decode_entry(plain, PID, None).current == keys.current
    protected = encode_entry(keys, PID, "open sesame")
    assert entry_is_protected(protected)
    import base64

    assert base64.b64encode(keys.current.root).decode() not in protected
    with pytest.raises(PassphraseRequired):
        decode_entry(protected, PID, None)
    with pytest.raises(WrongPassphrase):
        decode_entry(protected, PID, "open sesamE")
    with pytest.raises(WrongPassphrase):  # copied under another profile's username: does not open
        decode_entry(protected, "another-profile", "open sesame")
    assert decode_entry(protected, PID, "open sesame").current == keys.current


def test_rotation_entry_holds_both_keys() -> None:
    keys = KeySet(ProfileKey.generate(), ProfileKey.generate())
    for secret in (None, "open sesame"):
        back = decode_entry(encode_entry(keys, PID, secret), PID, secret)
        assert back == keys and set(back.by_id()) == {keys.current.key_id, keys.pending.key_id}


@pytest.mark.parametrize(
    "text",
    ["", "hunter2", "{}", json.dumps({"format": "prop-desktop-key", "version": 9}),
     json.dumps({"format": "prop-desktop-key", "version": 1, "protection": "none", "keys": {"current": "!!"}})],
)
def test_damaged_entries(text: str) -> None:
    with pytest.raises(DamagedKeyEntry):
        decode_entry(text, PID, None)
