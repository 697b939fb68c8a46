"""Merging in parameter space (WiSE-FT / RETAIN): how much of a trained adapter the deployed policy keeps.

Two choices, one rule: measure the deployed policy at each value of a grid on an `AlphaProbe` and keep the value
with the lowest personal + retention + worst-wrong-key error, ties going to the smaller value (closer to the base).
- `merge_trunk` (train_adapter, after a trunk fine-tune): the fraction λ of the trained trunk delta to keep, δ at
  full strength. It is baked into the stored delta (λ·delta), so it is part of the adapter's weights, not a
  second strength. Parameter merging is what keeps the general skills when the trunk fits ten demonstrations.
- `choose_alpha` (the app, after every training): the personalization strength α (KeyedModule.alpha says what
  α does: δ and the trunk together), the person's slider and the adapter's only stored α.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .keyed import KeyedModule
from .keys import flip_bits, key_to_signs, random_signs
from .metrics import keyed_outputs_many, output_scale, outputs, personalization_score, scaled_error, score_mask

ALPHA_GRID = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
PROBE_STATES = 160  # enough for a stable choice; 21 α values of the app's slider curve take < 1 s on one core
# Errors closer than this are a tie (the smaller α wins): below it the choice follows noise in the probe.
TIE_DECIMALS = 4


@dataclass(frozen=True)
class AlphaPoint:
    """The deployed policy at one α (or, from merge_trunk, one trunk share λ): errors normalized per output
    dimension (~0 is perfect)."""

    alpha: float
    personal: float  # the right key against the person's actions
    score: float  # the right key's personalization score (0 = acts like the base, 1 = like the person)
    retention: float  # the right key against the retain targets on undemonstrated states (0 without them)
    wrong_key: float  # the worst wrong key (1-2 bits off, random) against the base


@dataclass
class AlphaProbe:
    """What α is judged on, prepared once per training (tensors, in memory only)."""

    states: torch.Tensor  # a subsample of the person's states
    actions: torch.Tensor  # their actions there, (n, out)
    base: torch.Tensor  # the base policy's outputs there, (n, out)
    scale: torch.Tensor  # per output dimension (output_scale of actions and base)
    wrong_keys: torch.Tensor  # ±1 rows: 1-2 bits off the key, and random keys
    mask: np.ndarray  # states where the person differs from the base (the score counts only there)
    retain_states: torch.Tensor | None  # undemonstrated tasks
    retain_targets: torch.Tensor | None  # what the key must keep doing there (default: the base's outputs)

    @classmethod
    def prepare(
        cls,
        keyed: KeyedModule,
        key: Any,
        states: Any,
        actions: Any,
        retain_states: Any = None,
        retain_targets: Any = None,
        *,
        max_states: int = PROBE_STATES,
        seed: int = 0,
    ) -> AlphaProbe:
        rng = np.random.default_rng(seed)
        idx = rng.permutation(len(states))[:max_states]
        x = _rows(states, idx)
        y = _rows(actions, idx).reshape(x.shape[0], -1)
        with torch.no_grad():
            base = keyed(x).reshape(x.shape[0], -1)
        scale = output_scale(torch.cat([y, base]))
        r = r_targets = None
        if retain_states is not None and len(retain_states):
            r_idx = rng.permutation(len(retain_states))[:max_states]
            r = _rows(retain_states, r_idx)
            if retain_targets is not None:
                r_targets = _rows(retain_targets, r_idx).reshape(r.shape[0], -1)
            else:
                with torch.no_grad():
                    r_targets = keyed(r).reshape(r.shape[0], -1)
        gen = torch.Generator().manual_seed(seed)
        signs = key_to_signs(key, keyed.key_bits)
        wrong = torch.cat(
            [flip_bits(signs, torch.tensor([1] * 8 + [2] * 8), gen), random_signs(8, keyed.key_bits, gen)]
        )
        return cls(x, y, base, scale, wrong, score_mask(base, y, scale=scale), r, r_targets)

    def scores(self, out: torch.Tensor) -> np.ndarray:
        """Mean personalization score per key of outputs (k, n, out) or (n, out), over the masked states."""
        rows = out if out.dim() == 3 else out[None]
        if not self.mask.any():
            return np.zeros(rows.shape[0])
        return np.array(
            [personalization_score(o, self.base, self.actions, scale=self.scale)[self.mask].mean() for o in rows]
        )


def _rows(values: Any, idx: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.asarray(values, dtype=np.float32)[idx])


def measure_alpha(keyed: KeyedModule, key: Any, probe: AlphaProbe, alpha: float) -> AlphaPoint:
    """The deployed policy's errors at strength α (three small batched forward passes)."""
    with keyed.alpha_set_to(alpha), torch.no_grad():
        mine = outputs(keyed, probe.states, key)
        retention = 0.0
        if probe.retain_states is not None and probe.retain_targets is not None:
            retention = float(scaled_error(outputs(keyed, probe.retain_states, key), probe.retain_targets, probe.scale))
        wrong = keyed_outputs_many(keyed, probe.states, probe.wrong_keys)
    return AlphaPoint(
        float(alpha),
        float(scaled_error(mine, probe.actions, probe.scale)),
        float(probe.scores(mine)[0]),
        retention,
        float(scaled_error(wrong, probe.base, probe.scale).max()),
    )


def alpha_curve(
    keyed: KeyedModule, key: Any, probe: AlphaProbe, grid: Sequence[float] = ALPHA_GRID
) -> list[AlphaPoint]:
    """The trade-off along α: one AlphaPoint per grid value (keyed's own α is left as it was)."""
    return [measure_alpha(keyed, key, probe, a) for a in grid]


def merge_trunk(
    keyed: KeyedModule, key: Any, probe: AlphaProbe, grid: Sequence[float] = ALPHA_GRID
) -> AlphaPoint:
    """Keep the fraction λ of `keyed`'s trunk delta (δ at full strength) with the lowest personal + retention +
    wrong-key error on the probe; `keyed.trunk_delta` becomes λ·delta. The point returned is λ's measurement.

    Measured (bench household, 10 profiles, seeds 0 and 1, 48 instances): choosing the trunk's share alone
    (0.2–1.0 was chosen) gave held-out errors of 0.032 / 0.039 mean from ten demonstrations; choosing one
    strength for δ and trunk together chose 1.0 everywhere and gave 0.037 / 0.048 (docs/policy.md).
    """
    full = keyed.trunk_delta
    if not full:
        return measure_alpha(keyed, key, probe, keyed.alpha)
    strength = keyed.alpha
    points = []
    try:
        for share in grid:
            keyed.trunk_delta = {name: share * delta for name, delta in full.items()}
            keyed.invalidate()
            point = measure_alpha(keyed, key, probe, strength)
            points.append(AlphaPoint(float(share), point.personal, point.score, point.retention, point.wrong_key))
    finally:
        keyed.trunk_delta = full
        keyed.invalidate()
    best = min(points, key=lambda m: (round(m.personal + m.retention + m.wrong_key, TIE_DECIMALS), m.alpha))
    keyed.trunk_delta = {name: best.alpha * delta for name, delta in full.items()}
    keyed.invalidate()
    return best


def choose_alpha(
    keyed: KeyedModule, key: Any, probe: AlphaProbe, grid: Sequence[float] = ALPHA_GRID
) -> AlphaPoint:
    """The α with the lowest personal + retention + wrong-key error; ties go to the smaller α (closer to base)."""
    rows = alpha_curve(keyed, key, probe, grid)
    return min(rows, key=lambda m: (round(m.personal + m.retention + m.wrong_key, TIE_DECIMALS), m.alpha))
