"""The adapter blob's description (format, base hash, layers, α, …), read and edited in plain Python.

An adapter is one safetensors blob: 8 bytes of header length, a JSON header whose `__metadata__` holds our JSON
description, then the tensor bytes (offsets relative to the end of the header, so a new header keeps them
valid). No torch here: the app reads and adjusts a skill's α while the GUI is live (see prop/__init__.py).
"""

from __future__ import annotations

import json
import struct
from typing import Any

from .errors import AdapterError

FORMAT_NAME = "prop-desktop-adapter"
# 2: an optional scope (scope.py). Version 1 adapters read as unscoped; an app that reads only version 1 refuses a
# version 2 one rather than run a scoped adapter on every task.
FORMAT_VERSION = 2
READ_VERSIONS = (1, 2)
META_KEY = "prop_adapter"
_MAX_HEADER = 16 * 1024 * 1024


def read_description(data: bytes) -> dict[str, Any]:
    """The description of an adapter blob; AdapterError naming the problem when it is not one this app reads."""
    description = _split(data)[1]
    version = description.get("format_version")
    if version not in READ_VERSIONS:
        readable = " and ".join(str(v) for v in READ_VERSIONS)
        raise AdapterError(f"adapter format version {version!r} is not supported (this app reads {readable})")
    return description


def read_scope(value: Any) -> tuple[int, ...] | None:
    """A description's scope: None, or distinct non-negative column numbers."""
    if value is None:
        return None
    if (not isinstance(value, list) or not value or len(set(value)) != len(value)
            or not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in value)):
        raise AdapterError(f"adapter description has a malformed scope {value!r}")
    return tuple(value)


def check_alpha(alpha: float) -> float:
    """α as an adapter stores it: the personalization strength in [0, 2] (the app's slider uses [0, 1])."""
    alpha = float(alpha)
    if not (0.0 <= alpha <= 2.0):
        raise AdapterError(f"adapter's alpha {alpha} is outside [0, 2]")
    return alpha


def adapter_alpha(data: bytes) -> float:
    """The personalization strength α stored in an adapter blob."""
    return check_alpha(read_description(data).get("alpha", 1.0))


def adapter_scope(data: bytes) -> tuple[int, ...] | None:
    """The scope stored in an adapter blob (None: unscoped)."""
    return read_scope(read_description(data).get("scope"))


def with_alpha(data: bytes, alpha: float) -> bytes:
    """The same adapter blob with α replaced (the tensors untouched)."""
    header, description = _split(data)
    read_description(data)
    description["alpha"] = check_alpha(alpha)
    header["__metadata__"][META_KEY] = json.dumps(description, sort_keys=True)
    encoded = json.dumps(header, separators=(",", ":")).encode("utf-8")
    encoded += b" " * (-len(encoded) % 8)  # safetensors pads its header to 8 bytes so the tensors stay aligned
    (old_length,) = struct.unpack("<Q", data[:8])
    return struct.pack("<Q", len(encoded)) + encoded + bytes(data[8 + old_length :])


def _split(data: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    if len(data) < 8:
        raise AdapterError(f"adapter data is truncated ({len(data)} bytes); not a PRoP adapter")
    (header_len,) = struct.unpack("<Q", data[:8])
    if header_len <= 0 or header_len > _MAX_HEADER or 8 + header_len > len(data):
        raise AdapterError("adapter data is not a safetensors file or is truncated (bad header length)")
    try:
        header = json.loads(bytes(data[8 : 8 + header_len]).decode("utf-8"))
        description = json.loads(header["__metadata__"][META_KEY])
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError):
        raise AdapterError("adapter data has no PRoP description; it is not a PRoP adapter") from None
    if not isinstance(description, dict) or description.get("format") != FORMAT_NAME:
        raise AdapterError("adapter data is not a PRoP adapter (unknown format)")
    return header, description
