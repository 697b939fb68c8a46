"""The trade-off between a sharp gate and a key hidden in the weights, measured on a trained adapter.

The engine's gate is a matched filter: every first-layer row of a key encoder has the key's sign pattern, so keys
one bit off are rejected — and the key can be read off any row. Here each row is rebuilt to *disagree* with the
key on a random fraction p of its bits (different bits per row; magnitudes kept), with its bias moved so the key's
own activation — and hence δ(key), the user's behaviour — is unchanged. Larger p hides the key better in any one
row, but a key flipped at the bits where a row disagrees now activates that row *more* than the key does: the
gate stops being sharp. `tradeoff_curve` measures both sides for several p.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from .attacks import AttackConfig, key_encoders, run_attacks
from .keyed import KeyedModule
from .keys import key_to_signs


def hidden_key_copy(keyed: KeyedModule, key: Any, flip_fraction: float, seed: int = 0) -> KeyedModule:
    """A copy of `keyed` whose encoders' rows disagree with the key on `flip_fraction` of their bits."""
    copy = KeyedModule(keyed.base, keyed.layers, keyed.encoder_config, key_batch_dim=keyed.key_batch_dim)
    copy.load_adapter(keyed.adapter)
    signs = key_to_signs(key, keyed.key_bits)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for enc in key_encoders(copy):
            w, b = enc.hidden.weight, enc.hidden.bias
            before = w @ signs + b  # each unit's pre-activation for the key: kept as it is
            rows = w.shape[0]
            magnitudes = w.abs()
            disagree = torch.rand(rows, keyed.key_bits, generator=gen) < flip_fraction
            pattern = torch.where(disagree, -signs, signs)
            # Rows that were not detectors of the key (no matching signs) are left alone.
            matched = (torch.sign(w) == signs[None, :]).float().mean(dim=1) > 0.9
            new_w = torch.where(matched[:, None], pattern * magnitudes, w)
            w.copy_(new_w)
            b.copy_(before - w @ signs)
    copy.invalidate()
    return copy


def tradeoff_curve(
    keyed: KeyedModule,
    key: Any,
    states: Any,
    *,
    flip_fractions: Sequence[float] = (0.0, 0.05, 0.1, 0.2, 0.3, 0.4),
    attacker_states: Any = None,
    config: AttackConfig | None = None,
) -> list[dict[str, Any]]:
    """For each p: near-key curve (worst mean/max over distances 1..16) and the weight-reading and relaxed-key
    attacks' best scores, with how many bits the best weight-read candidate gets wrong."""
    cfg = config or AttackConfig.fast()
    rows = []
    for p in flip_fractions:
        variant = hidden_key_copy(keyed, key, p, seed=cfg.seed)
        suite = run_attacks(variant, key, states, attacker_states=attacker_states, config=cfg,
                            attacks=("weight_reading", "relaxed_key"))
        wr = suite.attacks["weight_reading"].details
        rows.append({
            "flip_fraction": float(p),
            "near_mean": suite.near_mean,
            "near_max": suite.near_max,
            "near_max_at_1": suite.near["1"]["max"] if "1" in suite.near else None,
            "weight_reading": suite.best("weight_reading"),
            "weight_reading_bits_wrong": wr["closest_bits_wrong"],
            "relaxed_key": suite.best("relaxed_key"),
        })
    return rows
