"""Keys as the encoder sees them: 128 bits by default, fed as ±1 (never 0/1), plus vectorized key sampling.

Accepted key forms: bytes (bits/8 bytes, most significant bit first), a bool or 0/1 array, or a ±1 array/tensor.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from .errors import KeyFormatError

DEFAULT_KEY_BITS = 128
KeyLike = bytes | bytearray | memoryview | np.ndarray | torch.Tensor | Sequence[int] | Sequence[bool]


def new_key(bits: int = DEFAULT_KEY_BITS) -> bytes:
    """A fresh random key from the OS's secure random source."""
    if bits <= 0 or bits % 8:
        raise KeyFormatError(f"key length must be a positive multiple of 8 bits, got {bits}")
    return secrets.token_bytes(bits // 8)


def key_to_signs(key: Any, bits: int = DEFAULT_KEY_BITS) -> torch.Tensor:
    """The key as a float32 tensor of shape (bits,) with values ±1 (bit 1 -> +1, bit 0 -> -1)."""
    if key is None:
        raise KeyFormatError("key is missing (got None); pass key=None to the module to run without a key")
    if isinstance(key, str):
        raise KeyFormatError("key must be bytes or an array of bits, got a str (decode hex with bytes.fromhex first)")
    if isinstance(key, bytes | bytearray | memoryview):
        raw = bytes(key)
        if len(raw) * 8 != bits:
            raise KeyFormatError(f"key has {len(raw)} bytes ({len(raw) * 8} bits); expected {bits // 8} bytes")
        unpacked = np.unpackbits(np.frombuffer(raw, dtype=np.uint8))
        return torch.from_numpy(unpacked.astype(np.float32) * 2.0 - 1.0)
    try:
        values = key.detach().cpu().to(torch.float64) if isinstance(key, torch.Tensor) else torch.as_tensor(
            np.asarray(key, dtype=np.float64)
        )
    except Exception as exc:  # noqa: BLE001 - any conversion failure is a malformed key
        raise KeyFormatError(f"key could not be read as an array of bits: {exc}") from None
    values = values.reshape(-1) if values.dim() > 1 and values.shape[0] == 1 else values
    if values.dim() != 1 or values.shape[0] != bits:
        raise KeyFormatError(f"key has shape {tuple(values.shape)}; expected {bits} bits (or {bits // 8} bytes)")
    return _bits_to_signs(values, "key").to(torch.float32)


def keys_to_signs(keys: Any, bits: int = DEFAULT_KEY_BITS) -> torch.Tensor:
    """A batch of keys (n, bits) in 0/1, bool or ±1 form -> float32 ±1 tensor (n, bits)."""
    try:
        values = keys.detach().cpu().to(torch.float64) if isinstance(keys, torch.Tensor) else torch.as_tensor(
            np.asarray(keys, dtype=np.float64)
        )
    except Exception as exc:  # noqa: BLE001
        raise KeyFormatError(f"keys could not be read as an array of bits: {exc}") from None
    if values.dim() != 2 or values.shape[1] != bits:
        raise KeyFormatError(f"a batch of keys must have shape (n, {bits}); got {tuple(values.shape)}")
    return _bits_to_signs(values, "keys").to(torch.float32)


def _bits_to_signs(values: torch.Tensor, name: str) -> torch.Tensor:
    if not bool(torch.isfinite(values).all()):
        raise KeyFormatError(f"{name} contains NaN/inf")
    is_pm1 = bool(((values == 1) | (values == -1)).all())
    if is_pm1:
        return values
    is_01 = bool(((values == 0) | (values == 1)).all())
    if is_01:
        return values * 2 - 1
    raise KeyFormatError(f"{name} must contain only 0/1 (or bool) or only -1/+1 values")


def signs_to_key(signs: torch.Tensor) -> bytes:
    """Inverse of key_to_signs for a ±1 vector whose length is a multiple of 8."""
    bits = (signs.detach().cpu().reshape(-1) > 0).numpy().astype(np.uint8)
    if bits.shape[0] % 8:
        raise KeyFormatError(f"cannot pack {bits.shape[0]} bits into bytes (not a multiple of 8)")
    return np.packbits(bits).tobytes()


def hamming_distance(a: Any, b: Any, bits: int = DEFAULT_KEY_BITS) -> int:
    return int((key_to_signs(a, bits) != key_to_signs(b, bits)).sum())


def random_signs(n: int, bits: int = DEFAULT_KEY_BITS, generator: torch.Generator | None = None) -> torch.Tensor:
    """n uniformly random ±1 keys, shape (n, bits)."""
    return torch.randint(0, 2, (n, bits), generator=generator).to(torch.float32) * 2 - 1


def flip_bits(signs: torch.Tensor, distances: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Keys at exactly `distances[i]` bits from `signs` (one row per distance), without per-sample loops.

    signs: (bits,) one key, or (n, bits) one key per row. distances: (n,) integer tensor, 0 <= d <= bits.
    """
    distances = distances.reshape(-1).to(torch.long)
    n = distances.shape[0]
    bits = signs.shape[-1]
    base = signs.expand(n, bits) if signs.dim() == 1 else signs
    if n == 0:
        return base.clone()
    if int(distances.min()) < 0 or int(distances.max()) > bits:
        raise KeyFormatError(f"distances must be in 0..{bits}")
    # Per row, flip the d bits holding the d smallest of n uniform draws: d distinct random positions.
    # (topk + compare is several times faster than argsort + scatter on small CPUs.)
    noise = torch.rand(n, bits, generator=generator)
    top = max(1, int(distances.max()))
    smallest = noise.topk(top, dim=1, largest=False, sorted=True).values
    threshold = smallest.gather(1, (distances - 1).clamp_min(0)[:, None])
    threshold = torch.where(distances[:, None] > 0, threshold, torch.full_like(threshold, -1.0))
    flip = (noise <= threshold).to(base.dtype)
    return base * (1 - 2 * flip)


def window_flips(
    signs: torch.Tensor, distances: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Like flip_bits, for training batches: one random permutation per call, and row i flips the d_i bits at a
    random window of it. Each row's bits are uniformly placed; it costs a few elementwise ops instead of a top-k."""
    distances = distances.reshape(-1).to(torch.long)
    n, bits = distances.shape[0], signs.shape[-1]
    base = signs.expand(n, bits) if signs.dim() == 1 else signs
    rank_of_bit = torch.randperm(bits, generator=generator).argsort()
    offsets = torch.randint(0, bits, (n, 1), generator=generator)
    rank = (rank_of_bit[None, :] - offsets) % bits
    flip = (rank < distances[:, None]).to(base.dtype)
    return base * (1 - 2 * flip)


def near_signs(
    key: Any, distance: int, n: int, bits: int = DEFAULT_KEY_BITS, generator: torch.Generator | None = None
) -> torch.Tensor:
    """n keys, each exactly `distance` bits away from `key` (±1, shape (n, bits))."""
    if not 0 <= distance <= bits:
        raise KeyFormatError(f"distance must be in 0..{bits}, got {distance}")
    return flip_bits(key_to_signs(key, bits), torch.full((n,), int(distance)), generator)
