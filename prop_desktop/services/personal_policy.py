"""The deployed policy at a personalization strength α: what driving runs and what the report measures.

α blends in parameter space, like WiSE-FT merging: the key's modulation becomes δ_α = 1 + α·(δ(key) − 1)
and a trunk delta (when the adapter has one) is applied as base + α·delta (the engine's own α). α = 0 is the
base policy exactly, α = 1 the adapter as trained. A wrong key has δ = 1, so α never makes it personal.
Every function runs without gradients; states are (n, 14) float32 tensors.
"""

from __future__ import annotations

from typing import Any

import torch

_CHUNK_ROWS = 16384


def _blend(deltas: dict[str, torch.Tensor], alpha: float) -> dict[str, torch.Tensor]:
    if alpha == 1.0:
        return deltas
    return {name: 1.0 + alpha * (d - 1.0) for name, d in deltas.items()}


def _with_trunk_alpha(keyed: Any, alpha: float):
    class _Scope:
        def __enter__(self) -> None:
            self.previous = keyed.alpha
            if keyed.trunk_delta is not None and keyed.alpha != alpha:
                keyed.set_alpha(alpha)

        def __exit__(self, *exc: object) -> None:
            if keyed.trunk_delta is not None and keyed.alpha != self.previous:
                keyed.set_alpha(self.previous)

    return _Scope()


@torch.no_grad()
def outputs(keyed: Any, states: torch.Tensor, key: bytes | None, alpha: float) -> torch.Tensor:
    """(n, 6) outputs for one key (None: the base policy) at strength α."""
    if key is None:
        return keyed(states)
    deltas = _blend(keyed.deltas(key), alpha)
    with _with_trunk_alpha(keyed, alpha):
        return keyed.forward_deltas(states, deltas=deltas)


@torch.no_grad()
def outputs_for_keys(keyed: Any, states: torch.Tensor, signs: torch.Tensor, alpha: float) -> torch.Tensor:
    """(k, n, 6) outputs for k keys given as ±1 rows (k, bits), batched."""
    n, k = states.shape[0], signs.shape[0]
    per_chunk = max(1, _CHUNK_ROWS // max(1, n))
    chunks = []
    with _with_trunk_alpha(keyed, alpha):
        for start in range(0, k, per_chunk):
            part = signs[start : start + per_chunk]
            deltas = _blend(keyed.encoders(part.repeat_interleave(n, dim=0)), alpha)
            x = states.repeat(part.shape[0], 1)
            chunks.append(keyed.forward_deltas(x, deltas=deltas).reshape(part.shape[0], n, -1))
    return torch.cat(chunks)
