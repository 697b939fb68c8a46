"""The privacy report and the α-slider metrics, computed with the engine's metrics on the user's own data.

Scores (0 = acts like the base policy, 1 = acts like the user) are measured on the demonstration states where
the user's behaviour differs from the base. Errors are the engine's normalized MSE (scale-free, ~0 perfect):
right key against the demonstrations; every other key against the base policy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from prop_desktop.services.models import AlphaMetrics, KeyScore, PrivacyReport

NEAR_DISTANCES = tuple(range(1, 17))
KEYS_PER_DISTANCE = 8
RANDOM_KEYS = 32
MAX_STATES = 160


@dataclass
class ReportData:
    """What the report and the slider need, prepared once (tensors, in memory only)."""

    states: torch.Tensor  # demonstration states (subsample)
    actions: torch.Tensor  # the user's actions there
    retain_states: torch.Tensor | None
    scale: torch.Tensor
    slider_keys: torch.Tensor  # fixed wrong keys for the slider (near 1-2 bits + random)


def prepare(keyed: Any, key: bytes, states: np.ndarray, actions: np.ndarray, retain: np.ndarray | None,
            seed: int = 0) -> ReportData:
    from prop_desktop.prop import flip_bits, key_to_signs, output_scale, random_signs

    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(states))[:MAX_STATES]
    x = torch.as_tensor(states[idx], dtype=torch.float32)
    y = torch.as_tensor(actions[idx], dtype=torch.float32)
    with torch.no_grad():
        base = keyed(x)
    scale = output_scale(torch.cat([y, base]))
    r = None
    if retain is not None and len(retain):
        r = torch.as_tensor(retain[rng.permutation(len(retain))[:MAX_STATES]], dtype=torch.float32)
    gen = torch.Generator().manual_seed(seed)
    signs = key_to_signs(key, keyed.key_bits)
    slider = torch.cat([flip_bits(signs, torch.tensor([1] * 8 + [2] * 8), gen), random_signs(8, keyed.key_bits, gen)])
    return ReportData(x, y, r, scale, slider)


def _score_and_error(keyed: Any, key: bytes, probe: torch.Tensor, data: ReportData) -> tuple[np.ndarray, np.ndarray]:
    """Per probe key: mean personalization score and normalized error against the base."""
    from prop_desktop.prop import per_key_errors, personalization_score
    from prop_desktop.prop.metrics import keyed_outputs_many, score_mask

    x = data.states
    with torch.no_grad():
        base = keyed(x).reshape(len(x), -1)
        user = keyed(x, key=key).reshape(len(x), -1)
        outs = keyed_outputs_many(keyed, x, probe)
    mask = score_mask(base, user, scale=data.scale)
    if mask.any():
        scores = np.array([personalization_score(o, base, user, scale=data.scale)[mask].mean() for o in outs])
    else:
        scores = np.zeros(len(probe))
    errors = per_key_errors(keyed, x, probe, scale=data.scale).numpy()
    return scores, errors


def _class(label: str, scores: np.ndarray, errors: np.ndarray) -> KeyScore:
    return KeyScore(label, float(scores.mean()), float(scores.max()), float(errors.mean()), float(errors.max()),
                    int(len(scores)))


def privacy_report(keyed: Any, key: bytes, data: ReportData, other_keys: Sequence[tuple[str, bytes]] = (),
                   cancelled: Any = lambda: False, seed: int = 0) -> PrivacyReport | None:
    """The full report; None if `cancelled()` turned True on the way."""
    from prop_desktop.prop import flip_bits, key_to_signs, personalization_error, random_signs, retention_error

    gen = torch.Generator().manual_seed(seed + 1)
    signs = key_to_signs(key, keyed.key_bits)
    right_scores, _ = _score_and_error(keyed, key, signs[None], data)
    right_error = personalization_error(keyed, key, data.states, data.actions, scale=data.scale)
    right = KeyScore("right key", float(right_scores[0]), float(right_scores[0]), right_error, right_error)
    no_key = KeyScore("no key", 0.0, 0.0, 0.0, 0.0)  # no key = the base module itself, bit for bit
    if cancelled():
        return None
    rs, re = _score_and_error(keyed, key, random_signs(RANDOM_KEYS, keyed.key_bits, gen), data)
    random_keys = _class("random keys", rs, re)
    near: dict[int, KeyScore] = {}
    for d in NEAR_DISTANCES:
        if cancelled():
            return None
        probe = flip_bits(signs, torch.full((KEYS_PER_DISTANCE,), d), gen)
        s, e = _score_and_error(keyed, key, probe, data)
        near[d] = _class(f"{d} bit{'s' if d > 1 else ''} off", s, e)
    others = []
    for name, other in other_keys:
        s, e = _score_and_error(keyed, key, key_to_signs(other, keyed.key_bits)[None], data)
        others.append(_class(f"other profile: {name}", s, e))
    retention = None
    if data.retain_states is not None:
        retention = retention_error(keyed, key, data.retain_states, scale=data.scale)
    worst = max([random_keys.score_max, *(k.score_max for k in near.values()), *(k.score_max for k in others)])
    verdict = _verdict(right.score_mean, worst)
    return PrivacyReport(right, no_key, random_keys, near, tuple(others), retention, verdict)


def _verdict(right: float, worst_wrong: float) -> str:
    if right < 0.5:
        return (f"Your key changes the arm only a little (score {right:.2f}): record a few more demonstrations "
                "or train again.")
    if worst_wrong > 0.2:
        return (f"With your key the arm follows your demonstrations (score {right:.2f}), but some wrong keys "
                f"get part of it (up to {worst_wrong:.2f}): train again with more steps.")
    return (f"With your key the arm follows your demonstrations (score {right:.2f}). With no key, random keys, "
            f"keys 1–16 bits off or other members' keys it acts like the general policy (highest score "
            f"{worst_wrong:.2f}).")


def alpha_metrics(keyed: Any, key: bytes, data: ReportData, alpha: float) -> AlphaMetrics:
    """Metrics at merge α (fast: a few small batched forward passes)."""
    from prop_desktop.prop import per_key_errors, personalization_error, retention_error

    previous = keyed.alpha
    try:
        if keyed.trunk_delta is not None:
            keyed.set_alpha(alpha)
        personal = personalization_error(keyed, key, data.states, data.actions, scale=data.scale)
        scores, _ = _score_and_error(keyed, key, _signs(keyed, key)[None], data)
        retention = 0.0
        if data.retain_states is not None:
            retention = retention_error(keyed, key, data.retain_states, scale=data.scale)
        wrong = float(per_key_errors(keyed, data.states, data.slider_keys, scale=data.scale).max())
    finally:
        if keyed.trunk_delta is not None:
            keyed.set_alpha(previous)
    return AlphaMetrics(float(alpha), personal, float(scores[0]), retention, wrong)


def _signs(keyed: Any, key: bytes) -> torch.Tensor:
    from prop_desktop.prop import key_to_signs

    return key_to_signs(key, keyed.key_bits)
