from __future__ import annotations

import numpy as np
import pytest
import torch

from prop_desktop.prop import (
    KeyFormatError,
    flip_bits,
    hamming_distance,
    key_to_signs,
    keys_to_signs,
    near_signs,
    new_key,
    signs_to_key,
)


def test_new_key_is_128_random_bits():
    a, b = new_key(), new_key()
    assert len(a) == 16 and a != b


def test_every_accepted_form_gives_the_same_pm1_signs():
    key = new_key()
    signs = key_to_signs(key)
    bits = np.unpackbits(np.frombuffer(key, dtype=np.uint8))
    assert signs.shape == (128,) and set(signs.unique().tolist()) <= {-1.0, 1.0}
    assert torch.equal(key_to_signs(bits), signs)
    assert torch.equal(key_to_signs(bits.astype(bool)), signs)
    assert torch.equal(key_to_signs(torch.from_numpy(bits.astype(np.float32) * 2 - 1)), signs)
    assert torch.equal(key_to_signs(list(bits)), signs)
    assert signs_to_key(signs) == key


@pytest.mark.parametrize(
    "bad, message",
    [
        (b"\x00" * 15, "15 bytes"),
        (b"\x00" * 17, "17 bytes"),
        (np.ones(127), "expected 128 bits"),
        (np.zeros((2, 64)), "expected 128 bits"),
        (np.full(128, 2.0), "only 0/1"),
        (np.array([0, -1] * 64), "only 0/1"),
        (np.full(128, np.nan), "NaN"),
        ("00" * 16, "str"),
        (None, "missing"),
    ],
)
def test_malformed_keys_are_refused_clearly(bad, message):
    with pytest.raises(KeyFormatError, match=message):
        key_to_signs(bad)


def test_key_errors_are_value_errors():
    with pytest.raises(ValueError):
        key_to_signs(b"short")


def test_flip_bits_gives_exact_distances_without_loops():
    signs = key_to_signs(new_key())
    distances = torch.randint(0, 129, (2000,))
    flipped = flip_bits(signs, distances)
    assert torch.equal((flipped != signs).sum(dim=1), distances)
    # Different rows flip different bits (it samples, not a fixed pattern).
    ones = flip_bits(signs, torch.ones(500, dtype=torch.long))
    assert len({int(i) for i in (ones != signs).float().argmax(dim=1)}) > 60


def test_near_signs_and_hamming_distance():
    key = new_key()
    rows = near_signs(key, 3, 10)
    assert all(hamming_distance(key, row) == 3 for row in rows)
    with pytest.raises(KeyFormatError):
        near_signs(key, 129, 1)


def test_keys_to_signs_batches():
    batch = np.random.default_rng(0).integers(0, 2, size=(5, 128))
    assert keys_to_signs(batch).shape == (5, 128)
    with pytest.raises(KeyFormatError, match=r"\(n, 128\)"):
        keys_to_signs(np.zeros((5, 100)))
