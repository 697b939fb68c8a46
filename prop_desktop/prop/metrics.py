"""Metrics the attack suite, the benchmarks and the UI privacy report share.

Errors are mean squared errors over output dimensions, optionally divided per dimension by `scale²` (use
`output_scale(...)` for a scale-free number). Keys may be given in any accepted form; batches of keys as ±1 rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch

from .keyed import KeyedModule
from .keys import flip_bits, key_to_signs, keys_to_signs, random_signs
from .validation import as_float_tensor

_CHUNK_ROWS = 16384


def output_scale(values: torch.Tensor) -> torch.Tensor:
    """Per-dimension spread used to normalize errors, floored so constant dimensions do not explode."""
    std = values.reshape(values.shape[0], -1).std(dim=0) if values.shape[0] > 1 else values.abs().reshape(-1)
    floor = std.max().clamp_min(1e-6) * 1e-2
    return std.clamp_min(float(floor))


def scaled_error(out: torch.Tensor, target: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Normalized MSE of outputs (n, out) or one row of them per key (k, n, out) against targets (n, out)."""
    return ((out - target).square() / scale.square()).mean(dim=(-2, -1))


def _states(keyed: KeyedModule, states: Any, name: str = "states") -> torch.Tensor:
    dtype = next((p.dtype for p in keyed.base.parameters() if p.is_floating_point()), torch.float32)
    return as_float_tensor(states, name, dtype=dtype)


def outputs(keyed: KeyedModule, states: Any, key: Any = None) -> torch.Tensor:
    """The module's outputs (rows flattened) for one key or none."""
    x = _states(keyed, states)
    with torch.no_grad():
        out: torch.Tensor = keyed(x, key=key)
    return out.reshape(x.shape[0], -1)


def base_outputs(keyed: KeyedModule, states: Any) -> torch.Tensor:
    return outputs(keyed, states, None)


def _row_errors(out: torch.Tensor, target: torch.Tensor, scale: torch.Tensor | None) -> torch.Tensor:
    diff = (out - target).square()
    if scale is not None:
        diff = diff / scale.square()
    return diff.mean(dim=1)


def personalization_error(
    keyed: KeyedModule, key: Any, states: Any, actions: Any, *, scale: torch.Tensor | None = None
) -> float:
    """Error of the correct key against held-out demonstrations (lower is better)."""
    x = _states(keyed, states)
    y = as_float_tensor(actions, "actions").reshape(x.shape[0], -1)
    return float(_row_errors(outputs(keyed, x, key), y, scale).mean())


def retention_error(
    keyed: KeyedModule, key: Any, states: Any, targets: Any = None, *, scale: torch.Tensor | None = None
) -> float:
    """Error of the correct key on undemonstrated tasks against targets (default: the base policy's outputs)."""
    x = _states(keyed, states, "retain_states")
    if targets is None:
        y = base_outputs(keyed, x)
    else:
        y = as_float_tensor(targets, "retain_targets").reshape(x.shape[0], -1)
    return float(_row_errors(outputs(keyed, x, key), y, scale).mean())


def keyed_outputs_many(keyed: KeyedModule, states: torch.Tensor, signs: torch.Tensor) -> torch.Tensor:
    """Outputs for every (key, state) pair: shape (n_keys, n_states, out). Batched, chunked for memory.

    Each chunk's difference to the base is taken within the chunk's own batch and added to the base on
    `states` alone, so a key the gate rejects gives the base on `states` bit for bit, as it does when run alone:
    the matrix products sum a batch of another size in another order (the household base on 15 x 1089 rows
    differs from it on 1089 rows by 4e-6, which read as a wrong-key error of 4e-14).
    """
    n_keys, n_states = signs.shape[0], states.shape[0]
    keys_per_chunk = max(1, _CHUNK_ROWS // max(1, n_states))
    chunks = []
    with torch.no_grad():
        base = keyed(states).reshape(1, n_states, -1)
        base_in_batch: dict[int, torch.Tensor] = {}  # per chunk size: at most two (the full ones and the last)
        for start in range(0, n_keys, keys_per_chunk):
            part = signs[start : start + keys_per_chunk]
            k = part.shape[0]
            x = states.repeat(k, *([1] * (states.dim() - 1)))
            rows = part.repeat_interleave(n_states, dim=0)
            out = keyed.forward_signs(x, signs=rows).reshape(k, n_states, -1)
            if k not in base_in_batch:
                base_in_batch[k] = keyed(x).reshape(k, n_states, -1)
            chunks.append(base + (out - base_in_batch[k]))
    return torch.cat(chunks)


def fidelity(
    keyed: KeyedModule, states: Any, keys: Any, *, scale: torch.Tensor | None = None
) -> dict[str, float]:
    """How closely wrong keys reproduce the base policy: mean and max over keys of each key's mean error."""
    x = _states(keyed, states)
    signs = keys if isinstance(keys, torch.Tensor) and keys.dim() == 2 else keys_to_signs(keys, keyed.key_bits)
    per_key = per_key_errors(keyed, x, signs, scale=scale)
    return {"mean": float(per_key.mean()), "max": float(per_key.max())}


def per_key_errors(
    keyed: KeyedModule, states: torch.Tensor, signs: torch.Tensor, *, scale: torch.Tensor | None = None
) -> torch.Tensor:
    base = base_outputs(keyed, states)
    out = keyed_outputs_many(keyed, states, signs)
    diff = (out - base.unsqueeze(0)).square()
    if scale is not None:
        diff = diff / scale.square()
    return diff.mean(dim=(1, 2))


def no_key_fidelity(keyed: KeyedModule, states: Any, *, scale: torch.Tensor | None = None) -> float:
    """Error of the no-key path against the base (0 by construction; reported for completeness)."""
    x = _states(keyed, states)
    return float(_row_errors(outputs(keyed, x, None), base_outputs(keyed, x), scale).mean())


def random_key_fidelity(
    keyed: KeyedModule,
    states: Any,
    *,
    n_keys: int = 64,
    scale: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> dict[str, float]:
    return fidelity(keyed, states, random_signs(n_keys, keyed.key_bits, generator), scale=scale)


def near_key_fidelity(
    keyed: KeyedModule,
    key: Any,
    states: Any,
    *,
    distances: Iterable[int] = range(1, 17),
    n_keys: int = 64,
    scale: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> dict[int, dict[str, float]]:
    """For each Hamming distance d: mean and max (over n_keys keys d bits off) of the error against the base."""
    x = _states(keyed, states)
    signs = key_to_signs(key, keyed.key_bits)
    result: dict[int, dict[str, float]] = {}
    for d in distances:
        keys = flip_bits(signs, torch.full((n_keys,), int(d)), generator)
        per_key = per_key_errors(keyed, x, keys, scale=scale)
        result[int(d)] = {"mean": float(per_key.mean()), "max": float(per_key.max())}
    return result


def personalization_score(
    out: Any, base: Any, user: Any, *, scale: torch.Tensor | None = None, min_gap: float = 0.05
) -> np.ndarray:
    """Per state: 0 = acts like the base, 1 = acts like the user.

    The projection of (out − base) onto (user − base), divided by |user − base|², clipped to [0, 1]. Where the
    user's behaviour is within `min_gap` (in scaled units, RMS over dimensions) of the base there is nothing
    personal to reveal, and the score is 0. Use `score_mask` to know which states count.
    """
    o, b, u = (torch.as_tensor(np.asarray(v) if not isinstance(v, torch.Tensor) else v) for v in (out, base, user))
    o, b, u = (v.reshape(v.shape[0], -1).to(torch.float64) for v in (o, b, u))
    if scale is not None:
        s = scale.to(torch.float64)
        o, b, u = o / s, b / s, u / s
    gap = u - b
    norm2 = gap.square().sum(dim=1)
    valid = norm2 > (min_gap**2) * gap.shape[1]
    proj = ((o - b) * gap).sum(dim=1) / norm2.clamp_min(1e-12)
    score = torch.where(valid, proj.clamp(0.0, 1.0), torch.zeros_like(proj))
    return score.numpy()


def score_mask(base: Any, user: Any, *, scale: torch.Tensor | None = None, min_gap: float = 0.05) -> np.ndarray:
    """Which states have a personal behaviour distinct enough from the base for the score to mean anything."""
    b, u = (torch.as_tensor(np.asarray(v) if not isinstance(v, torch.Tensor) else v) for v in (base, user))
    b, u = (v.reshape(v.shape[0], -1).to(torch.float64) for v in (b, u))
    if scale is not None:
        b, u = b / scale.to(torch.float64), u / scale.to(torch.float64)
    return ((u - b).square().sum(dim=1) > (min_gap**2) * b.shape[1]).numpy()


def key_scores(
    keyed: KeyedModule,
    key: Any,
    probe_keys: Any,
    states: Any,
    *,
    scale: torch.Tensor | None = None,
    min_gap: float = 0.05,
) -> np.ndarray:
    """Mean personalization score of each probe key (rows of ±1 or 0/1) over the states where the user differs."""
    x = _states(keyed, states)
    signs = probe_keys if isinstance(probe_keys, torch.Tensor) and probe_keys.dim() == 2 else keys_to_signs(
        probe_keys, keyed.key_bits
    )
    base = base_outputs(keyed, x)
    user = outputs(keyed, x, key)
    if scale is None:
        scale = output_scale(torch.cat([base, user]))
    mask = score_mask(base, user, scale=scale, min_gap=min_gap)
    if not mask.any():
        return np.zeros(signs.shape[0])
    out = keyed_outputs_many(keyed, x, signs)
    scores = [personalization_score(o, base, user, scale=scale, min_gap=min_gap)[mask].mean() for o in out]
    return np.asarray(scores)


def evaluate(
    keyed: KeyedModule,
    key: Any,
    demo_states: Any,
    demo_actions: Any,
    *,
    base_states: Any = None,
    retain_states: Any = None,
    retain_targets: Any = None,
    other_keys: Sequence[Any] = (),
    distances: Iterable[int] = range(1, 17),
    n_keys: int = 64,
    seed: int = 0,
) -> dict[str, Any]:
    """Everything a privacy report needs, normalized per output dimension (scale-free; ~0 is perfect).

    personal: correct key vs held-out demonstrations. none/random/other/near: wrong keys vs the base, on
    base_states (default: demo_states). retention: correct key vs retain targets. scores: mean personalization
    score (0 = base, 1 = user) of near keys per distance (mean and max) and of random keys.
    """
    generator = torch.Generator().manual_seed(seed)
    x = _states(keyed, demo_states)
    y = as_float_tensor(demo_actions, "demo_actions").reshape(x.shape[0], -1)
    probe = x if base_states is None else _states(keyed, base_states, "base_states")
    base = base_outputs(keyed, x)
    scale = output_scale(torch.cat([y, base]))
    signs = key_to_signs(key, keyed.key_bits)
    report: dict[str, Any] = {
        "personal": personalization_error(keyed, signs, x, y, scale=scale),
        "none": no_key_fidelity(keyed, probe, scale=scale),
        "random": random_key_fidelity(keyed, probe, n_keys=n_keys, scale=scale, generator=generator),
        "near": {
            str(d): v
            for d, v in near_key_fidelity(
                keyed, signs, probe, distances=distances, n_keys=n_keys, scale=scale, generator=generator
            ).items()
        },
    }
    if other_keys:
        report["other"] = fidelity(keyed, probe, [key_to_signs(k, keyed.key_bits) for k in other_keys], scale=scale)
    if retain_states is not None:
        report["retention"] = retention_error(keyed, signs, retain_states, retain_targets, scale=scale)
    near_scores = {}
    for d in distances:
        s = key_scores(keyed, signs, flip_bits(signs, torch.full((n_keys,), int(d)), generator), probe, scale=scale)
        near_scores[str(d)] = {"mean": float(s.mean()), "max": float(s.max())}
    rand = key_scores(keyed, signs, random_signs(n_keys, keyed.key_bits, generator), probe, scale=scale)
    report["scores"] = {"near": near_scores, "random": {"mean": float(rand.mean()), "max": float(rand.max())}}
    report["scale"] = scale.tolist()
    return report
