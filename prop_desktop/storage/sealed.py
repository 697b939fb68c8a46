"""Sealed files: AES-256-GCM with associated data that binds every file to where it belongs.

Layout (all integers big-endian):

    magic   8  b"PRDSEAL\\0"
    version 1  1
    key id  8  which profile key sealed it (public fingerprint, see keys.material)
    meta len 4 length of the sealed meta section (ciphertext + 16-byte tag)
    meta nonce 12, meta section          small JSON: lets a store list files without opening the bodies
    body nonce 12, body section (to EOF) the payload (episode arrays, adapter bytes)

Both sections' associated data = the header bytes + the context (profile id, kind, base model hash,
record id). The body's also includes the meta section's nonce and tag, so sections of two files cannot
be spliced. Changing any byte, cutting the file, or moving it to another profile, kind or record makes
opening fail with a SealedFileError; a caller gets all of a file or nothing.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..keys.keyring_store import KeySet
from ..keys.material import KEY_ID_BYTES
from .atomic import atomic_write_bytes
from .errors import (
    FileTooLarge,
    NotASealedFile,
    SealedByAnotherKey,
    SealedFileError,
    TamperedFile,
    TruncatedFile,
    UnsupportedFormat,
)

MAGIC = b"PRDSEAL\x00"
FORMAT_VERSION = 1
NONCE_BYTES = 12
TAG_BYTES = 16
_PREFIX = struct.Struct(f">{len(MAGIC)}sB{KEY_ID_BYTES}sI")
MAX_META_BYTES = 1 << 20
# No file this app writes comes near this: an episode of 30 min at 100 Hz is ~10 MB, an adapter a few MB.
# Anything larger is not ours (or a sparse/huge file planted in the folder) and is refused before reading.
MAX_SEALED_BYTES = 256 << 20


@dataclass(frozen=True)
class SealContext:
    """Where a file belongs. Opening it under any other context fails."""

    profile_id: str
    kind: str  # "episode", "adapter", ...
    record_id: str  # episode id, or the base model hash for an adapter
    base_model_hash: str = ""

    def encode(self) -> bytes:
        return json.dumps(
            ["prop-desktop/sealed", FORMAT_VERSION, self.profile_id, self.kind, self.base_model_hash, self.record_id]
        ).encode()

    def describe(self) -> str:
        return f"{self.kind} {self.record_id}"


class Sealer:
    """Seals with one key and opens with any key it holds (more than one only during a key rotation)."""

    def __init__(self, keys: dict[str, bytes], write_key_id: str) -> None:
        if write_key_id not in keys:
            raise ValueError("the writing key must be one of the keys")
        self._keys = {bytes.fromhex(kid): key for kid, key in keys.items()}
        self._write_id = bytes.fromhex(write_key_id)

    @classmethod
    def from_keyset(cls, keys: KeySet, write_with_pending: bool = False) -> Sealer:
        writer = keys.pending if (write_with_pending and keys.pending is not None) else keys.current
        return cls({k.key_id: k.seal_key for k in keys.by_id().values()}, writer.key_id)

    @property
    def write_key_id(self) -> str:
        return self._write_id.hex()

    def seal(self, meta: bytes, body: bytes, context: SealContext) -> bytes:
        if len(meta) + TAG_BYTES > MAX_META_BYTES:
            raise ValueError("the meta section of a sealed file is limited to 1 MiB")
        aead = AESGCM(self._keys[self._write_id])
        prefix = _PREFIX.pack(MAGIC, FORMAT_VERSION, self._write_id, len(meta) + TAG_BYTES)
        ctx = context.encode()
        meta_nonce = os.urandom(NONCE_BYTES)
        sealed_meta = aead.encrypt(meta_nonce, meta, prefix + ctx + b"/meta")
        body_nonce = os.urandom(NONCE_BYTES)
        body_ad = prefix + ctx + b"/body" + meta_nonce + sealed_meta[-TAG_BYTES:]
        sealed_body = aead.encrypt(body_nonce, body, body_ad)
        return prefix + meta_nonce + sealed_meta + body_nonce + sealed_body

    def write(self, path: Path, meta: bytes, body: bytes, context: SealContext, sync_dir: bool = True,
              point: str = "seal") -> None:
        atomic_write_bytes(path, self.seal(meta, body, context), sync_dir=sync_dir, point=point)

    # -- opening ---------------------------------------------------------------------------------------

    def _parse_prefix(self, path: Path, head: bytes) -> tuple[bytes, bytes, int]:
        if len(head) < len(MAGIC) or head[: len(MAGIC)] != MAGIC:
            raise NotASealedFile(path, "this is not a PRoP Desktop sealed file (its header is wrong or damaged)")
        if len(head) < _PREFIX.size:
            raise TruncatedFile(path, "the file is cut short (truncated)")
        _, version, key_id, meta_len = _PREFIX.unpack(head[: _PREFIX.size])
        if version != FORMAT_VERSION:
            raise UnsupportedFormat(path, f"sealed-file format version {version} is not one this app reads "
                                          f"(it reads version {FORMAT_VERSION}); it may be damaged or from a newer app")
        if meta_len < TAG_BYTES or meta_len > MAX_META_BYTES:
            raise TamperedFile(path, "the file's header is damaged")
        if key_id not in self._keys:
            raise SealedByAnotherKey(path, "it was sealed with a key this profile does not have (another profile's "
                                           "file, or sealed before a key rotation), or its header was changed")
        return head[: _PREFIX.size], key_id, meta_len

    def _open_meta(self, path: Path, data: bytes, context: SealContext) -> tuple[bytes, int, bytes, bytes]:
        """(meta plaintext, offset of the body section, meta nonce, meta tag)."""
        prefix, key_id, meta_len = self._parse_prefix(path, data)
        start = _PREFIX.size
        end = start + NONCE_BYTES + meta_len
        if len(data) < end:
            raise TruncatedFile(path, "the file is cut short (truncated)")
        nonce = data[start : start + NONCE_BYTES]
        sealed_meta = data[start + NONCE_BYTES : end]
        try:
            meta = AESGCM(self._keys[key_id]).decrypt(nonce, sealed_meta, prefix + context.encode() + b"/meta")
        except InvalidTag:
            raise TamperedFile(path, f"it does not authenticate as this profile's {context.describe()}: it was "
                                     "changed or damaged, or it is another profile's or another kind of file") from None
        return meta, end, nonce, sealed_meta[-TAG_BYTES:]

    def open_bytes(self, path: Path, data: bytes, context: SealContext) -> tuple[bytes, bytes]:
        """(meta, body) of a whole sealed file held in memory."""
        meta, offset, meta_nonce, meta_tag = self._open_meta(path, data, context)
        prefix, key_id, _ = self._parse_prefix(path, data)
        if len(data) < offset + NONCE_BYTES + TAG_BYTES:
            raise TruncatedFile(path, "the file is cut short (truncated)")
        nonce = data[offset : offset + NONCE_BYTES]
        body_ad = prefix + context.encode() + b"/body" + meta_nonce + meta_tag
        try:
            body = AESGCM(self._keys[key_id]).decrypt(nonce, data[offset + NONCE_BYTES :], body_ad)
        except InvalidTag:
            raise TamperedFile(path, f"its contents do not authenticate as this profile's {context.describe()}: it "
                                     "was changed, damaged or cut short") from None
        return meta, body

    def open(self, path: Path, context: SealContext) -> tuple[bytes, bytes]:
        with open_regular(path) as handle:
            return self.open_bytes(path, handle.read(MAX_SEALED_BYTES + 1), context)

    def open_meta(self, path: Path, context: SealContext) -> bytes:
        """Only the small meta section (reads the header and meta, not the body)."""
        with open_regular(path) as handle:
            head = handle.read(_PREFIX.size)
            _, _, meta_len = self._parse_prefix(path, head)
            rest = handle.read(NONCE_BYTES + min(meta_len, MAX_META_BYTES))
        return self._open_meta(path, head + rest, context)[0]


def key_id_of(path: Path) -> str | None:
    """The key id in a sealed file's header (None when it has no readable header)."""
    try:
        with open_regular(path) as handle:
            head = handle.read(_PREFIX.size)
    except (OSError, SealedFileError):
        return None
    if len(head) < _PREFIX.size or head[: len(MAGIC)] != MAGIC:
        return None
    key_id: bytes = _PREFIX.unpack(head)[2]
    return key_id.hex()


def open_regular(path: Path) -> BinaryIO:
    """Open a file for reading only if it is a regular file of a plausible size: never through a symbolic link
    (O_NOFOLLOW), never blocking on a pipe (O_NONBLOCK, then fstat), never a device or a huge file."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise NotASealedFile(path, "it is a symbolic link; sealed files are never read through links (move "
                                       "it out of the data folder)") from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotASealedFile(path, "it is not a regular file (a pipe, a device or a folder); move it out of "
                                       "the data folder")
        if info.st_size > MAX_SEALED_BYTES:
            raise FileTooLarge(path, f"it is {info.st_size} bytes, larger than any file this app writes "
                                     f"({MAX_SEALED_BYTES} bytes at most); move it out of the data folder")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
