"""Key material: 128 random bits, HKDF sub-keys that are separate from each other and from the root."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from prop_desktop.keys import ProfileKey


def test_generate_and_derive() -> None:
    a, b = ProfileKey.generate(), ProfileKey.generate()
    assert len(a.root) == 16 and a.root != b.root
    assert len(a.network_key) == 16 and len(a.seal_key) == 32 and len(a.key_id) == 16
    assert a.network_key != a.root and a.seal_key[:16] != a.network_key and a.seal_key[:16] != a.root
    assert a.network_key != b.network_key and a.key_id != b.key_id
    again = ProfileKey(a.root)
    assert (again.network_key, again.seal_key, again.key_id) == (a.network_key, a.seal_key, a.key_id)


def _rfc5869(ikm: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def test_known_answer() -> None:
    """Pinned derivation (HKDF-SHA256 per RFC 5869, recomputed here with hmac): changing it would silently
    break every stored key and every trained adapter."""
    root = bytes(range(16))
    key = ProfileKey(root)
    salt = b"prop-desktop/hkdf-salt/v1"
    assert key.network_key == _rfc5869(root, salt, b"prop-desktop/v1/network-key", 16)
    assert key.seal_key == _rfc5869(root, salt, b"prop-desktop/v1/seal-key", 32)
    assert key.network_key.hex() == "9e62c2b1e828a6366dec695b10d04316"


def test_repr_hides_the_key() -> None:
    key = ProfileKey.generate()
    assert key.root.hex() not in repr(key) and key.key_id in repr(key)


@pytest.mark.parametrize("bad", [b"", b"x" * 15, b"x" * 17, "0" * 16])
def test_wrong_size(bad: object) -> None:
    with pytest.raises(ValueError):
        ProfileKey(bad)  # type: ignore[arg-type]

