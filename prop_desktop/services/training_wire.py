"""Frames between the app and its training worker process: JSON header + safetensors body. Never pickle.

Frame = 4-byte big-endian header length, the header (UTF-8 JSON), 8-byte big-endian body length, the body.
Episodes and the key travel only through the pipe (memory), never through a file.
"""

from __future__ import annotations

import dataclasses
import json
import struct
from typing import IO, Any

import numpy as np

from prop_desktop.services.models import AlphaMetrics, KeyScore, PrivacyReport

MAX_HEADER = 64 * 1024 * 1024
MAX_BODY = 4 * 1024 * 1024 * 1024


class WireError(Exception):
    pass


def write_frame(stream: IO[bytes], header: dict[str, Any], body: bytes = b"") -> None:
    raw = json.dumps(header).encode()
    stream.write(struct.pack(">I", len(raw)) + raw + struct.pack(">Q", len(body)))
    if body:
        stream.write(body)
    stream.flush()


def _read_exact(stream: IO[bytes], n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise EOFError("the training worker's stream ended")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_frame(stream: IO[bytes]) -> tuple[dict[str, Any], bytes]:
    (n,) = struct.unpack(">I", _read_exact(stream, 4))
    if n > MAX_HEADER:
        raise WireError("training worker frame header too large")
    header = json.loads(_read_exact(stream, n))
    (m,) = struct.unpack(">Q", _read_exact(stream, 8))
    if m > MAX_BODY:
        raise WireError("training worker frame body too large")
    return header, _read_exact(stream, m) if m else b""


def pack_arrays(arrays: dict[str, np.ndarray]) -> bytes:
    from safetensors.numpy import save

    return save({k: np.ascontiguousarray(v) for k, v in arrays.items()}) if arrays else b""


def unpack_arrays(body: bytes) -> dict[str, np.ndarray]:
    from safetensors.numpy import load

    return dict(load(body)) if body else {}


def report_to_json(report: PrivacyReport) -> dict[str, Any]:
    data = dataclasses.asdict(report)
    data["near_keys"] = {str(k): v for k, v in data["near_keys"].items()}
    return data


def report_from_json(data: dict[str, Any]) -> PrivacyReport:
    return PrivacyReport(
        right_key=KeyScore(**data["right_key"]),
        no_key=KeyScore(**data["no_key"]),
        random_keys=KeyScore(**data["random_keys"]),
        near_keys={int(k): KeyScore(**v) for k, v in data["near_keys"].items()},
        other_profiles=tuple(KeyScore(**v) for v in data["other_profiles"]),
        retention_error=data["retention_error"],
        verdict=data["verdict"],
    )


def alpha_to_json(m: AlphaMetrics) -> dict[str, Any]:
    return dataclasses.asdict(m)


def alpha_from_json(data: dict[str, Any]) -> AlphaMetrics:
    return AlphaMetrics(**data)
