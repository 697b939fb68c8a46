"""Recovery codes: the 128-bit key written as 7 groups of 5 Crockford base-32 characters.

Each group is 4 data characters plus 1 check character (a weighted sum over GF(32) that also covers the
group's position), so every single wrong character and every swap of two neighbouring characters is caught
and the user is told which group to look at. 12 further bits of checksum over the whole key catch the rest.

    7 groups x 4 data chars x 5 bits = 140 bits = 128 key bits + 12 checksum bits
"""

from __future__ import annotations

import hashlib

from .errors import WrongRecoveryCode
from .material import ROOT_KEY_BYTES

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
GROUPS = 7
DATA_PER_GROUP = 4
GROUP_LEN = DATA_PER_GROUP + 1
CODE_CHARS = GROUPS * GROUP_LEN
CHECKSUM_BITS = GROUPS * DATA_PER_GROUP * 5 - ROOT_KEY_BYTES * 8
SEPARATORS = " -_\t.\n"
# Letters people confuse with digits are read as those digits (Crockford's rule).
_ALIASES = {"O": "0", "I": "1", "L": "1"}
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}

# GF(32) with the primitive polynomial x^5 + x^2 + 1.
_EXP = [0] * 62
_LOG = [0] * 32
_x = 1
for _i in range(31):
    _EXP[_i] = _EXP[_i + 31] = _x
    _LOG[_x] = _i
    _x <<= 1
    if _x & 0x20:
        _x ^= 0b100101


def _mul(a: int, b: int) -> int:
    return 0 if a == 0 or b == 0 else _EXP[_LOG[a] + _LOG[b]]


def _inv(a: int) -> int:
    return _EXP[31 - _LOG[a]]


# Distinct non-zero weights, one per position in a group (data 0..3, check 4).
_WEIGHTS = [_EXP[p] for p in range(GROUP_LEN)]


def _group_syndrome(symbols: list[int], group_index: int) -> int:
    """Zero for a correct group. The group number is mixed in so that swapped groups fail too."""
    total = group_index + 1
    for weight, symbol in zip(_WEIGHTS, symbols, strict=True):
        total ^= _mul(weight, symbol)
    return total


def _check_symbol(data: list[int], group_index: int) -> int:
    partial = _group_syndrome(data + [0], group_index)
    return _mul(partial, _inv(_WEIGHTS[DATA_PER_GROUP]))


def _checksum(key: bytes) -> int:
    digest = hashlib.sha256(b"prop-desktop/recovery-code/v1" + key).digest()
    return int.from_bytes(digest[:2], "big") >> (16 - CHECKSUM_BITS)


def encode_recovery_code(key: bytes) -> str:
    """The key as `XXXXX-XXXXX-...` (7 groups). Show it once; it is the only copy outside the keyring."""
    if len(key) != ROOT_KEY_BYTES:
        raise ValueError(f"recovery codes encode {ROOT_KEY_BYTES}-byte keys")
    value = (int.from_bytes(key, "big") << CHECKSUM_BITS) | _checksum(key)
    data = [(value >> (5 * i)) & 31 for i in reversed(range(GROUPS * DATA_PER_GROUP))]
    groups = []
    for g in range(GROUPS):
        chunk = data[g * DATA_PER_GROUP : (g + 1) * DATA_PER_GROUP]
        symbols = chunk + [_check_symbol(chunk, g)]
        groups.append("".join(ALPHABET[s] for s in symbols))
    return "-".join(groups)


def _groups_word(groups: list[int]) -> str:
    numbers = [str(g) for g in groups]
    if len(numbers) == 1:
        return f"group {numbers[0]}"
    return "groups " + ", ".join(numbers[:-1]) + " and " + numbers[-1]


def decode_recovery_code(code: str) -> bytes:
    """The key from a typed recovery code. Raises WrongRecoveryCode naming the group(s) to check."""
    if not isinstance(code, str):
        raise WrongRecoveryCode("wrong recovery code: expected text such as 'ABCDE-FGHJK-...'")
    chars = [_ALIASES.get(ch, ch) for ch in code.upper() if ch not in SEPARATORS]
    if len(chars) != CODE_CHARS:
        raise WrongRecoveryCode(
            f"wrong recovery code: it has {GROUPS} groups of {GROUP_LEN} characters ({CODE_CHARS} in all), "
            f"but {len(chars)} were entered; check for a missing or extra character"
        )
    bad_groups: list[int] = []
    invalid: list[str] = []
    symbols: list[int] = []
    for g in range(GROUPS):
        group_chars = chars[g * GROUP_LEN : (g + 1) * GROUP_LEN]
        unknown = [ch for ch in group_chars if ch not in _VALUE]
        if unknown:
            invalid.append(f"'{unknown[0]}' in group {g + 1}")
            bad_groups.append(g + 1)
            continue
        group = [_VALUE[ch] for ch in group_chars]
        if _group_syndrome(group, g) != 0:
            bad_groups.append(g + 1)
        symbols.extend(group[:DATA_PER_GROUP])
    if invalid:
        raise WrongRecoveryCode(
            f"wrong recovery code: {', '.join(invalid)} is not a character recovery codes use "
            f"(they use 0-9 and A-Z without I, L, O, U); check {_groups_word(bad_groups)}",
            tuple(bad_groups),
        )
    if bad_groups:
        raise WrongRecoveryCode(f"wrong recovery code: check {_groups_word(bad_groups)}", tuple(bad_groups))
    value = 0
    for s in symbols:
        value = (value << 5) | s
    key = (value >> CHECKSUM_BITS).to_bytes(ROOT_KEY_BYTES, "big")
    if _checksum(key) != value & ((1 << CHECKSUM_BITS) - 1):
        raise WrongRecoveryCode(
            "wrong recovery code: every group looks right but the code as a whole does not add up; "
            "check that no two groups were mixed up or copied from different codes"
        )
    return key


def normalize_recovery_code(code: str) -> str:
    """A typed code in its canonical form (checks it first)."""
    return encode_recovery_code(decode_recovery_code(code))
