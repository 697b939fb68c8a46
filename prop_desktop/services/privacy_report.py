"""The privacy report and the α-slider metrics in the app's words, measured on the user's own demonstration states.

Score (the engine's personalization_score): 0 = acts like the base policy, 1 = acts like the user's
demonstrations, on the states where the two differ. Error: normalized MSE per output dimension (the engine's
scale; ~0 is perfect) — the right key against the demonstrations, every other key against the base policy.
Everything is measured on the deployed policy at the keyed module's α (KeyedModule.alpha, prop/merge.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from prop_desktop.services.models import AlphaMetrics, KeyScore, PrivacyReport

if TYPE_CHECKING:
    import torch

    from prop_desktop.prop import AlphaPoint, AlphaProbe, KeyedModule

NEAR_DISTANCES = tuple(range(1, 17))
KEYS_PER_DISTANCE = 8
RANDOM_KEYS = 32


def to_metrics(point: AlphaPoint) -> AlphaMetrics:
    """The engine's measurement at one α as the slider shows it."""
    return AlphaMetrics(point.alpha, point.personal, point.score, point.retention, point.wrong_key)


def _class(label: str, keyed: KeyedModule, signs: torch.Tensor, probe: AlphaProbe) -> KeyScore:
    from prop_desktop.prop import keyed_outputs_many, scaled_error

    out = keyed_outputs_many(keyed, probe.states, signs)
    scores = probe.scores(out)
    errors = scaled_error(out, probe.base, probe.scale).numpy()
    return KeyScore(label, float(scores.mean()), float(scores.max()), float(errors.mean()), float(errors.max()),
                    int(signs.shape[0]))


def privacy_report(keyed: KeyedModule, key: bytes, probe: AlphaProbe,
                   other_keys: Sequence[tuple[str, bytes]] = (), cancelled: Callable[[], bool] = lambda: False,
                   seed: int = 0) -> PrivacyReport | None:
    """The full report at the keyed module's α; None if `cancelled()` turned True on the way."""
    import torch

    from prop_desktop.prop import flip_bits, key_to_signs, outputs, random_signs, scaled_error

    gen = torch.Generator().manual_seed(seed + 1)
    signs = key_to_signs(key, keyed.key_bits)
    mine = outputs(keyed, probe.states, key)
    right_score = float(probe.scores(mine)[0])
    right_error = float(scaled_error(mine, probe.actions, probe.scale))
    right = KeyScore("right key", right_score, right_score, right_error, right_error)
    no_key = KeyScore("no key", 0.0, 0.0, 0.0, 0.0)  # no key = the base module itself, bit for bit
    if cancelled():
        return None
    random_keys = _class("random keys", keyed, random_signs(RANDOM_KEYS, keyed.key_bits, gen), probe)
    near: dict[int, KeyScore] = {}
    for d in NEAR_DISTANCES:
        if cancelled():
            return None
        probe_keys = flip_bits(signs, torch.full((KEYS_PER_DISTANCE,), d), gen)
        near[d] = _class(f"{d} bit{'s' if d > 1 else ''} off", keyed, probe_keys, probe)
    others = tuple(
        _class(f"other profile: {name}", keyed, key_to_signs(other, keyed.key_bits)[None], probe)
        for name, other in other_keys
    )
    retention = None
    if probe.retain_states is not None and probe.retain_targets is not None:
        retention = float(scaled_error(outputs(keyed, probe.retain_states, key), probe.retain_targets, probe.scale))
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
