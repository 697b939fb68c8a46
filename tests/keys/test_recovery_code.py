"""Recovery codes: round trip, and every typo a person makes is caught and located, never accepted."""

from __future__ import annotations

import secrets

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prop_desktop.keys import WrongRecoveryCode, decode_recovery_code, encode_recovery_code
from prop_desktop.keys.recovery import ALPHABET, CODE_CHARS, GROUP_LEN, GROUPS

KEYS = [bytes(16), b"\xff" * 16] + [secrets.token_bytes(16) for _ in range(8)]


@given(st.binary(min_size=16, max_size=16))
@settings(max_examples=300, deadline=None)
def test_round_trip(key: bytes) -> None:
    code = encode_recovery_code(key)
    assert len(code) == CODE_CHARS + GROUPS - 1 and code.count("-") == GROUPS - 1
    assert all(ch in ALPHABET for ch in code.replace("-", ""))
    assert decode_recovery_code(code) == key


def test_forgiving_input() -> None:
    key = KEYS[2]
    code = encode_recovery_code(key)
    assert decode_recovery_code(code.lower()) == key
    assert decode_recovery_code(code.replace("-", " ")) == key
    assert decode_recovery_code(" " + code.replace("-", "") + "\n") == key
    # Crockford: O reads as 0, I and L as 1.
    look_alike = code.replace("0", "O").replace("1", "l")
    assert decode_recovery_code(look_alike) == key


@pytest.mark.parametrize("key", KEYS)
def test_every_single_substitution_is_caught_in_its_group(key: bytes) -> None:
    chars = list(encode_recovery_code(key).replace("-", ""))
    for position, original in enumerate(chars):
        for replacement in ALPHABET:
            if replacement == original:
                continue
            typo = "".join(chars[:position] + [replacement] + chars[position + 1 :])
            with pytest.raises(WrongRecoveryCode) as info:
                decode_recovery_code(typo)
            group = position // GROUP_LEN + 1
            assert info.value.groups == (group,)
            assert f"check group {group}" in str(info.value)


@pytest.mark.parametrize("key", KEYS)
def test_every_adjacent_transposition_is_caught(key: bytes) -> None:
    chars = list(encode_recovery_code(key).replace("-", ""))
    for i in range(len(chars) - 1):
        if chars[i] == chars[i + 1]:
            continue  # swapping equal characters is no typo
        swapped = chars.copy()
        swapped[i], swapped[i + 1] = swapped[i + 1], swapped[i]
        with pytest.raises(WrongRecoveryCode) as info:
            decode_recovery_code("".join(swapped))
        groups = {i // GROUP_LEN + 1, (i + 1) // GROUP_LEN + 1}
        assert set(info.value.groups) == groups


def test_swapped_groups_are_caught() -> None:
    groups = encode_recovery_code(KEYS[3]).split("-")
    for a in range(GROUPS):
        for b in range(a + 1, GROUPS):
            if groups[a] == groups[b]:
                continue
            swapped = groups.copy()
            swapped[a], swapped[b] = swapped[b], swapped[a]
            with pytest.raises(WrongRecoveryCode):
                decode_recovery_code("-".join(swapped))


def test_invalid_character_and_length_messages() -> None:
    code = encode_recovery_code(KEYS[4])
    with pytest.raises(WrongRecoveryCode, match="'U' in group 3"):
        decode_recovery_code(code[:13] + "U" + code[14:])
    with pytest.raises(WrongRecoveryCode, match="34 were entered"):
        decode_recovery_code(code[:-1])
    with pytest.raises(WrongRecoveryCode, match="36 were entered"):
        decode_recovery_code(code + "7")
    with pytest.raises(WrongRecoveryCode):
        decode_recovery_code(None)  # type: ignore[arg-type]


def test_random_garbage_is_rejected() -> None:
    rng = secrets.SystemRandom()
    accepted = 0
    for _ in range(2000):
        garbage = "".join(rng.choice(ALPHABET) for _ in range(CODE_CHARS))
        try:
            decode_recovery_code(garbage)
            accepted += 1
        except WrongRecoveryCode:
            pass
    # 7 group checks (1/32 each) and a 12-bit checksum: a random code passes with p = 2^-47.
    assert accepted == 0
