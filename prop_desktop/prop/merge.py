"""Merging (RETAIN / WiSE-FT): the trunk delta is applied as base + α·delta; α is picked on held-out data."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from .keyed import KeyedModule
from .keys import flip_bits, key_to_signs
from .metrics import per_key_errors, personalization_error, retention_error
from .train import output_scale


def alpha_curve(
    keyed: KeyedModule,
    key: Any,
    val_states: Any,
    val_actions: Any,
    retain_states: Any = None,
    retain_targets: Any = None,
    *,
    grid: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0),
) -> list[dict[str, float]]:
    """For each α: normalized personalization error, retention error and worst near-key error (1-2 bits off)."""
    if keyed.trunk_delta is None:
        raise ValueError("this adapter has no trunk delta; train with TrainConfig(fine_tune_trunk=True)")
    signs = key_to_signs(key, keyed.key_bits)
    x = torch.as_tensor(val_states, dtype=torch.float32)
    y = torch.as_tensor(val_actions, dtype=torch.float32).reshape(x.shape[0], -1)
    with torch.no_grad():
        scale = output_scale(torch.cat([y, keyed(x).reshape(x.shape[0], -1)]))
    near = flip_bits(signs, torch.tensor([1] * 8 + [2] * 8), torch.Generator().manual_seed(0))
    previous = keyed.alpha
    rows = []
    try:
        for alpha in grid:
            keyed.set_alpha(alpha)
            row = {"alpha": float(alpha), "personal": personalization_error(keyed, signs, x, y, scale=scale)}
            row["retention"] = (
                retention_error(keyed, signs, retain_states, retain_targets, scale=scale)
                if retain_states is not None
                else 0.0
            )
            row["near_max"] = float(per_key_errors(keyed, x[:256], near, scale=scale).max())
            rows.append(row)
    finally:
        keyed.set_alpha(previous)
    return rows


def choose_alpha(
    keyed: KeyedModule,
    key: Any,
    val_states: Any,
    val_actions: Any,
    retain_states: Any = None,
    retain_targets: Any = None,
    *,
    grid: Sequence[float] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0),
) -> float:
    """The α with the lowest personal + retention + near-key error; ties go to the smaller α (closer to base)."""
    rows = alpha_curve(keyed, key, val_states, val_actions, retain_states, retain_targets, grid=grid)
    best = min(rows, key=lambda r: (round(r["personal"] + r["retention"] + r["near_max"], 6), r["alpha"]))
    return best["alpha"]
