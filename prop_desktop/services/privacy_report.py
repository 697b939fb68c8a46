"""The privacy report and the α-slider metrics, measured on the user's own demonstration states.

Score (the engine's personalization_score): 0 = acts like the base policy, 1 = acts like the user's
demonstrations, on the states where the two differ. Error: normalized MSE per output dimension (the engine's
scale; ~0 is perfect) — the right key against the demonstrations, every other key against the base policy.
Everything is measured on the deployed policy at the chosen α (personal_policy.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from prop_desktop.services.alpha_curve import SLIDER_GRID as SLIDER_GRID
from prop_desktop.services.models import AlphaMetrics, KeyScore, PrivacyReport
from prop_desktop.services.personal_policy import outputs, outputs_for_keys

NEAR_DISTANCES = tuple(range(1, 17))
KEYS_PER_DISTANCE = 8
RANDOM_KEYS = 32
MAX_STATES = 160
ALPHA_GRID = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


@dataclass
class ReportData:
    """Prepared once per training (tensors, in memory only)."""

    states: torch.Tensor  # demonstration states (a subsample)
    actions: torch.Tensor  # the user's actions there
    base: torch.Tensor  # the base policy's outputs there
    retain_states: torch.Tensor | None  # undemonstrated tasks
    retain_base: torch.Tensor | None
    scale: torch.Tensor
    slider_keys: torch.Tensor  # fixed wrong keys for the slider (1-2 bits off + random)
    mask: np.ndarray  # states where the user differs from the base (the score counts only there)


def prepare(keyed: Any, key: bytes, states: np.ndarray, actions: np.ndarray, retain: np.ndarray | None,
            seed: int = 0) -> ReportData:
    from prop_desktop.prop import flip_bits, key_to_signs, output_scale, random_signs, score_mask

    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(states))[:MAX_STATES]
    x = torch.as_tensor(states[idx], dtype=torch.float32)
    y = torch.as_tensor(actions[idx], dtype=torch.float32)
    with torch.no_grad():
        base = keyed(x)
    scale = output_scale(torch.cat([y, base]))
    r = rb = None
    if retain is not None and len(retain):
        r = torch.as_tensor(retain[rng.permutation(len(retain))[:MAX_STATES]], dtype=torch.float32)
        with torch.no_grad():
            rb = keyed(r)
    gen = torch.Generator().manual_seed(seed)
    signs = key_to_signs(key, keyed.key_bits)
    slider = torch.cat([flip_bits(signs, torch.tensor([1] * 8 + [2] * 8), gen), random_signs(8, keyed.key_bits, gen)])
    mask = score_mask(base, y, scale=scale)
    return ReportData(x, y, base, r, rb, scale, slider, mask)


def _error(out: torch.Tensor, target: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Normalized MSE per row of keys: out (k, n, d) or (n, d) against target (n, d)."""
    return ((out - target).square() / scale.square()).mean(dim=(-2, -1))


def _scores(out: torch.Tensor, data: ReportData) -> np.ndarray:
    from prop_desktop.prop import personalization_score

    if not data.mask.any():
        return np.zeros(out.shape[0] if out.dim() == 3 else 1)
    rows = out if out.dim() == 3 else out[None]
    return np.array([personalization_score(o, data.base, data.actions, scale=data.scale)[data.mask].mean()
                     for o in rows])


def _class(label: str, keyed: Any, signs: torch.Tensor, data: ReportData, alpha: float) -> KeyScore:
    out = outputs_for_keys(keyed, data.states, signs, alpha)
    scores = _scores(out, data)
    errors = _error(out, data.base, data.scale).numpy()
    return KeyScore(label, float(scores.mean()), float(scores.max()), float(errors.mean()), float(errors.max()),
                    int(signs.shape[0]))


def privacy_report(keyed: Any, key: bytes, data: ReportData, alpha: float,
                   other_keys: Sequence[tuple[str, bytes]] = (), cancelled: Callable[[], bool] = lambda: False,
                   seed: int = 0) -> PrivacyReport | None:
    """The full report at strength α; None if `cancelled()` turned True on the way."""
    from prop_desktop.prop import flip_bits, key_to_signs, random_signs

    gen = torch.Generator().manual_seed(seed + 1)
    signs = key_to_signs(key, keyed.key_bits)
    mine = outputs(keyed, data.states, key, alpha)
    right_score = float(_scores(mine, data)[0])
    right_error = float(_error(mine, data.actions, data.scale))
    right = KeyScore("right key", right_score, right_score, right_error, right_error)
    no_key = KeyScore("no key", 0.0, 0.0, 0.0, 0.0)  # no key = the base module itself, bit for bit
    if cancelled():
        return None
    random_keys = _class("random keys", keyed, random_signs(RANDOM_KEYS, keyed.key_bits, gen), data, alpha)
    near: dict[int, KeyScore] = {}
    for d in NEAR_DISTANCES:
        if cancelled():
            return None
        probe = flip_bits(signs, torch.full((KEYS_PER_DISTANCE,), d), gen)
        near[d] = _class(f"{d} bit{'s' if d > 1 else ''} off", keyed, probe, data, alpha)
    others = tuple(
        _class(f"other profile: {name}", keyed, key_to_signs(other, keyed.key_bits)[None], data, alpha)
        for name, other in other_keys
    )
    retention = None
    if data.retain_states is not None and data.retain_base is not None:
        retention = float(_error(outputs(keyed, data.retain_states, key, alpha), data.retain_base, data.scale))
    worst = max([random_keys.score_max, *(k.score_max for k in near.values()), *(k.score_max for k in others)])
    return PrivacyReport(right, no_key, random_keys, near, others, retention, _verdict(right_score, worst))


def _verdict(right: float, worst_wrong: float) -> str:
    if right < 0.5:
        return (f"Your key changes the arm only a little (score {right:.2f}): record a few more demonstrations "
                "or train again.")
    if worst_wrong > 0.2:
        return (f"With your key the arm follows your demonstrations (score {right:.2f}), but some wrong keys "
                f"get part of it (up to {worst_wrong:.2f}): train again.")
    return (f"With your key the arm follows your demonstrations (score {right:.2f}). With no key, random keys, "
            f"keys 1–16 bits off or other members' keys it acts like the general policy (highest score "
            f"{worst_wrong:.2f}).")


def alpha_metrics(keyed: Any, key: bytes, data: ReportData, alpha: float) -> AlphaMetrics:
    """Metrics at strength α (fast: three small batched forward passes)."""
    mine = outputs(keyed, data.states, key, alpha)
    personal = float(_error(mine, data.actions, data.scale))
    score = float(_scores(mine, data)[0])
    retention = 0.0
    if data.retain_states is not None and data.retain_base is not None:
        retention = float(_error(outputs(keyed, data.retain_states, key, alpha), data.retain_base, data.scale))
    wrong = float(_error(outputs_for_keys(keyed, data.states, data.slider_keys, alpha), data.base, data.scale).max())
    return AlphaMetrics(float(alpha), personal, score, retention, wrong)


def choose_alpha(keyed: Any, key: bytes, data: ReportData) -> tuple[float, AlphaMetrics]:
    """The α with the lowest personal + retention + wrong-key error; ties go to the smaller α."""
    rows = [alpha_metrics(keyed, key, data, a) for a in ALPHA_GRID]
    best = min(rows, key=lambda m: (round(m.personalization_error + m.retention_error + m.wrong_key_error, 4),
                                    m.alpha))
    return best.alpha, best

