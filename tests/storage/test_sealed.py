"""Sealed files: every changed byte, every truncation, every misplacement is detected; nothing half-loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from prop_desktop.keys import KeySet, ProfileKey
from prop_desktop.storage import (
    NotASealedFile,
    SealContext,
    SealedByAnotherKey,
    SealedFileError,
    Sealer,
    TamperedFile,
    TruncatedFile,
    UnsupportedFormat,
)
from prop_desktop.storage.sealed import MAGIC, key_id_of

from .storage_helpers import PROFILE_A, PROFILE_B

CTX = SealContext(PROFILE_A, "episode", "e" * 32)


def _write(tmp_path: Path, sealer: Sealer, meta: bytes = b'{"n": 1}', body: bytes = b"body bytes " * 8) -> Path:
    path = tmp_path / "f.sealed"
    sealer.write(path, meta, body, CTX)
    return path


def test_round_trip_and_header(tmp_path: Path, sealer_a: Sealer, key_a: ProfileKey) -> None:
    path = _write(tmp_path, sealer_a)
    data = path.read_bytes()
    assert data.startswith(MAGIC) and data[len(MAGIC)] == 1  # magic + format version
    assert key_id_of(path) == key_a.key_id
    assert sealer_a.open(path, CTX) == (b'{"n": 1}', b"body bytes " * 8)
    assert sealer_a.open_meta(path, CTX) == b'{"n": 1}'
    assert b"body bytes" not in data and b'"n"' not in data


def test_every_flipped_byte_is_detected(tmp_path: Path, sealer_a: Sealer) -> None:
    path = _write(tmp_path, sealer_a)
    original = path.read_bytes()
    for i in range(len(original)):
        for mask in (0x01, 0x80):
            damaged = bytearray(original)
            damaged[i] ^= mask
            with pytest.raises(SealedFileError):
                sealer_a.open_bytes(path, bytes(damaged), CTX)


def test_every_truncation_is_detected(tmp_path: Path, sealer_a: Sealer) -> None:
    path = _write(tmp_path, sealer_a)
    original = path.read_bytes()
    for length in range(len(original)):
        with pytest.raises(SealedFileError):
            sealer_a.open_bytes(path, original[:length], CTX)
        path.write_bytes(original[:length])
        with pytest.raises(SealedFileError):
            sealer_a.open(path, CTX)
    path.write_bytes(original[:40])
    with pytest.raises(TruncatedFile, match="truncated"):
        sealer_a.open(path, CTX)


def test_appended_bytes_are_detected(tmp_path: Path, sealer_a: Sealer) -> None:
    path = _write(tmp_path, sealer_a)
    with pytest.raises(TamperedFile):
        sealer_a.open_bytes(path, path.read_bytes() + b"\0", CTX)


@pytest.mark.parametrize(
    "other",
    [
        SealContext(PROFILE_B, "episode", "e" * 32),  # another profile's file
        SealContext(PROFILE_A, "adapter", "e" * 32),  # another kind of file
        SealContext(PROFILE_A, "episode", "f" * 32),  # another record (file renamed)
        SealContext(PROFILE_A, "episode", "e" * 32, base_model_hash="ab" * 16),  # another base model
    ],
)
def test_wrong_context_is_detected(tmp_path: Path, sealer_a: Sealer, other: SealContext) -> None:
    path = _write(tmp_path, sealer_a)
    with pytest.raises(TamperedFile, match="another profile's or another kind"):
        sealer_a.open(path, other)
    with pytest.raises(TamperedFile):
        sealer_a.open_meta(path, other)


def test_other_key_is_reported_as_such(tmp_path: Path, sealer_a: Sealer, sealer_b: Sealer) -> None:
    path = _write(tmp_path, sealer_b)
    with pytest.raises(SealedByAnotherKey, match="key this profile does not have"):
        sealer_a.open(path, CTX)


def test_forged_key_id_does_not_help(tmp_path: Path, key_a: ProfileKey, key_b: ProfileKey) -> None:
    """A file sealed by B with its header edited to name A's key still fails under A's key."""
    path = _write(tmp_path, Sealer.from_keyset(KeySet(key_b)))
    data = bytearray(path.read_bytes())
    data[9:17] = bytes.fromhex(key_a.key_id)
    with pytest.raises(TamperedFile):
        Sealer.from_keyset(KeySet(key_a)).open_bytes(path, bytes(data), CTX)


def test_spliced_sections_are_detected(tmp_path: Path, sealer_a: Sealer) -> None:
    """The meta section of one file with the body of another (same key, same context) does not open."""
    one = tmp_path / "one.sealed"
    two = tmp_path / "two.sealed"
    sealer_a.write(one, b"meta-1", b"body-1" * 10, CTX)
    sealer_a.write(two, b"meta-2", b"body-2" * 10, CTX)
    head_len = 8 + 1 + 8 + 4 + 12 + len(b"meta-1") + 16
    spliced = one.read_bytes()[:head_len] + two.read_bytes()[head_len:]
    with pytest.raises(TamperedFile):
        sealer_a.open_bytes(one, spliced, CTX)


def test_not_sealed_and_unknown_version(tmp_path: Path, sealer_a: Sealer) -> None:
    plain = tmp_path / "plain.sealed"
    plain.write_bytes(b'{"q": [0.1, 0.2]}')
    with pytest.raises(NotASealedFile, match="not a PRoP Desktop sealed file"):
        sealer_a.open(plain, CTX)
    path = _write(tmp_path, sealer_a)
    data = bytearray(path.read_bytes())
    data[len(MAGIC)] = 2
    with pytest.raises(UnsupportedFormat, match="version 2"):
        sealer_a.open_bytes(path, bytes(data), CTX)


def test_error_message_is_plain(tmp_path: Path, sealer_a: Sealer) -> None:
    path = _write(tmp_path, sealer_a)
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(SealedFileError) as info:
        sealer_a.open(path, CTX)
    assert "f.sealed" in str(info.value) and "nothing was loaded" in str(info.value)
