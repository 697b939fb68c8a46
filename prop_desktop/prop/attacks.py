"""Attacks on a trained adapter by someone who holds the adapter's weights, the base policy and states from the
task distribution — but not the key and not the user's demonstrations (see docs/privacy.md).

1. near keys: keys 1..16 bits off the user's key (many per distance);
2. weight reading: key bits read off the key encoders' first layer (row signs, SVD, bias-weighted votes), tried
   with their 1- and 2-bit neighbours and sign-flipped;
3. relaxed key: a continuous key in [-1, 1]^n optimised (Adam, restarts) to move the outputs away from the
   base — by the outputs alone and with a grey-box surrogate (wake the encoder's hidden units) — then rounded;
4. direct δ: the modulation itself optimised, bypassing the encoder: free δ, δ restricted to what the encoder's
   output layer can produce, and the trunk delta at other strengths α;
5. other profiles' keys (or random keys when none are given).

Every attack returns its BEST score over all candidates it tried (0 = base behaviour, 1 = the user's; see
attacks_scoring.py) — an upper bound on what the attacker gets, since without the demonstrations the attacker
cannot tell which candidate is the user's; `details` also gives the score of the candidate the attacker would
pick (the one most different from the base).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import torch
import torch.nn.functional as F

from .attacks_scoring import Scorer
from .encoder import KeyEncoder
from .errors import InputError
from .keyed import KeyedModule
from .keys import flip_bits, key_to_signs, random_signs

NEAR_DISTANCES: tuple[int, ...] = tuple(range(1, 17))
TARGET_NEAR_MAX = 0.05
TARGET_NEAR_MEAN = 0.01
TARGET_ATTACK = 0.1
ATTACK_NAMES: tuple[str, ...] = ("weight_reading", "relaxed_key", "direct_delta", "other_profile")
ProgressFn = Callable[[str], None]


@dataclass(frozen=True)
class AttackConfig:
    """Effort of each attack. `AttackConfig.fast()` is the app's after-training check (a few seconds)."""

    distances: tuple[int, ...] = NEAR_DISTANCES
    near_keys: int = 256  # keys per distance
    states: int = 96  # probe states used for scoring (a fixed random subset of the given states)
    opt_states: int = 48  # states used inside the optimisation attacks
    neighbour_bits: int = 24  # weight reading: 2-bit neighbours among this many least-confident bits
    max_scored_keys: int = 2048  # weight reading: keys scored in full (the rest screened by their δ)
    relaxed_restarts: int = 8
    relaxed_steps: int = 150
    relaxed_lr: float = 0.1
    delta_restarts: int = 4
    delta_steps: int = 150
    delta_lr: float = 0.1
    other_random_keys: int = 64  # stand-ins for other profiles when none are given
    seed: int = 0

    @classmethod
    def fast(cls, **changes: Any) -> AttackConfig:
        quick = cls(near_keys=48, states=40, opt_states=24, neighbour_bits=12, max_scored_keys=256,
                    relaxed_restarts=3, relaxed_steps=40, delta_restarts=2, delta_steps=40, other_random_keys=16)
        return replace(quick, **changes)


@dataclass
class AttackResult:
    name: str
    best_score: float
    details: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class AttackSuiteResult:
    """Everything the attack suite found against one adapter. `to_json()` is the benchmark's JSON shape."""

    near: dict[str, dict[str, float]]  # distance -> {"mean": .., "max": ..} personalization score over keys
    attacks: dict[str, AttackResult]
    has_personal_behaviour: bool
    seconds: float
    near_silent_fraction: float = 0.0  # near keys whose δ is exactly 1 everywhere (gate shut)
    silent_key_score: float = 0.0  # what every such key gets: > 0 only through a trunk delta applied to all keys

    def best(self, name: str) -> float:
        return self.attacks[name].best_score if name in self.attacks else 0.0

    @property
    def near_max(self) -> float:
        return max((v["max"] for v in self.near.values()), default=0.0)

    @property
    def near_mean(self) -> float:
        return max((v["mean"] for v in self.near.values()), default=0.0)

    def failures(self) -> list[str]:
        """Which targets are missed, in words (empty when every target holds)."""
        out = []
        bad = [d for d, v in self.near.items() if v["max"] > TARGET_NEAR_MAX or v["mean"] > TARGET_NEAR_MEAN]
        if bad:
            worst = max(bad, key=lambda d: self.near[d]["max"])
            where = f"{bad[0]}-{bad[-1]}" if len(bad) > 1 else bad[0]
            out.append(f"near keys ({len(bad)} distances in {where} bits): worst mean {self.near_mean:.3f}, "
                       f"max {self.near[worst]['max']:.3f} at {worst} bits")
        for name, result in self.attacks.items():
            if result.best_score > TARGET_ATTACK:
                out.append(f"{name}: {result.best_score:.3f}")
        return out

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"near": self.near}
        for name in ATTACK_NAMES:
            data[name] = self.best(name)
        data["has_personal_behaviour"] = self.has_personal_behaviour
        data["near_silent_fraction"] = self.near_silent_fraction
        data["silent_key_score"] = self.silent_key_score
        data["seconds"] = round(self.seconds, 3)
        data["details"] = {name: {**r.details, "seconds": round(r.seconds, 3)} for name, r in self.attacks.items()}
        return data


# ----- the suite -----
def run_attacks(
    keyed: KeyedModule,
    key: Any,
    states: Any,
    *,
    other_keys: Sequence[Any] = (),
    attacker_states: Any = None,
    config: AttackConfig | None = None,
    attacks: Sequence[str] = ATTACK_NAMES,
    progress: ProgressFn | None = None,
) -> AttackSuiteResult:
    """Run the near-key curve and the named attacks against `keyed` (trained, with the user's `key`).

    states: where the candidates are scored (should include states of the tasks the user personalized).
    attacker_states: what the optimisation attacks work on (default: a shuffled subset of `states`).
    """
    cfg = config or AttackConfig()
    unknown = [a for a in attacks if a not in ATTACK_NAMES]
    if unknown:
        raise InputError(f"unknown attack(s) {unknown}; choose from {', '.join(ATTACK_NAMES)}")
    started = time.perf_counter()
    scorer = make_scorer(keyed, key, states, cfg)
    if attacker_states is not None:
        x = torch.as_tensor(attacker_states)
        pick = torch.randperm(x.shape[0], generator=_generator(cfg, 7))[: cfg.opt_states]
        scorer.set_attacker_states(x[pick])
    say = progress or (lambda message: None)
    say("near keys")
    near = near_key_curve(scorer, cfg)
    runners: dict[str, Callable[[], AttackResult]] = {
        "weight_reading": lambda: weight_reading_attack(scorer, cfg),
        "relaxed_key": lambda: relaxed_key_attack(scorer, cfg),
        "direct_delta": lambda: direct_delta_attack(scorer, cfg),
        "other_profile": lambda: other_profile_attack(scorer, other_keys, cfg),
    }
    results = {}
    for name in attacks:
        say(name.replace("_", " "))
        results[name] = runners[name]()
    silent_score, _ = scorer.silent_score()
    return AttackSuiteResult(near, results, scorer.has_personal_behaviour, time.perf_counter() - started,
                             scorer.near_silent_fraction, float(silent_score))


def make_scorer(keyed: KeyedModule, key: Any, states: Any, config: AttackConfig | None = None) -> Scorer:
    """A Scorer on a fixed random subset of `states` (config.states rows)."""
    if not isinstance(keyed, KeyedModule):
        raise InputError(f"the attacks need a KeyedModule (wrap() + an adapter), got {type(keyed).__name__}")
    cfg = config or AttackConfig()
    x = torch.as_tensor(states)
    if x.dim() < 2 or x.shape[0] == 0:
        raise InputError(f"states must be a non-empty batch (rows, features...), got shape {tuple(x.shape)}")
    if x.shape[0] > cfg.states:
        pick = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(cfg.seed))[: cfg.states]
        x = x[pick]
    return Scorer(keyed, key, x)


def _generator(cfg: AttackConfig, salt: int) -> torch.Generator:
    return torch.Generator().manual_seed(cfg.seed * 1000 + salt)


# ----- 1. near keys -----
def near_key_curve(scorer: Scorer, cfg: AttackConfig) -> dict[str, dict[str, float]]:
    """Mean and max score over cfg.near_keys keys at each Hamming distance."""
    gen = _generator(cfg, 1)
    bits = scorer.keyed.key_bits
    distances = [d for d in cfg.distances if 1 <= d <= bits]
    keys = torch.cat([flip_bits(scorer.signs, torch.full((cfg.near_keys,), d), gen) for d in distances])
    scores, _ = scorer.score_signs(keys)
    scores = scores.reshape(len(distances), cfg.near_keys)
    curve = {str(d): {"mean": float(scores[i].mean()), "max": float(scores[i].max())} for i, d in enumerate(distances)}
    scorer.near_silent_fraction = scorer.last_silent_fraction
    return curve


# ----- 2. weight reading -----
def key_encoders(keyed: KeyedModule) -> list[KeyEncoder]:
    return keyed.encoders.all_encoders()


def read_key_candidates(keyed: KeyedModule, rows_per_encoder: int = 4) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Candidate keys (±1) read off the encoders' first layers, by method, and a per-bit confidence (bits,).

    Methods: the sign pattern of the rows that look most like detectors (most negative bias relative to the
    row's L1 norm), the signs of the top singular vectors, a vote of all rows weighted by how negative their bias
    is, and a vote weighted by row norms. Each also sign-flipped (an encoder can detect −key as well).
    """
    found: dict[str, torch.Tensor] = {}
    votes = torch.zeros(keyed.key_bits)
    column_norms = torch.zeros(keyed.key_bits)
    for i, enc in enumerate(key_encoders(keyed)):
        w = enc.hidden.weight.detach().to(torch.float64)
        b = enc.hidden.bias.detach().to(torch.float64)
        l1 = w.abs().sum(dim=1).clamp_min(1e-12)
        detector = -b / l1  # ≈ 1 for a matched filter of a ±1 key, ≤ 0 for an always-on unit
        for rank, j in enumerate(detector.argsort(descending=True)[:rows_per_encoder].tolist()):
            found[f"enc{i}.row{rank}"] = torch.sign(w[j])
        _, _, vh = torch.linalg.svd(w, full_matrices=False)
        for r in range(min(2, vh.shape[0])):
            found[f"enc{i}.svd{r}"] = torch.sign(vh[r])
        bias_vote = (F.relu(-b)[:, None] * w).sum(dim=0)
        found[f"enc{i}.bias_vote"] = torch.sign(bias_vote)
        found[f"enc{i}.norm_vote"] = torch.sign((torch.sign(w) * l1[:, None]).sum(dim=0))
        votes += (bias_vote / bias_vote.abs().max().clamp_min(1e-12)).to(votes.dtype)
        column_norms += w.norm(dim=0).to(column_norms.dtype)
    found["all.bias_vote"] = torch.sign(votes)
    for name in list(found):
        found[f"{name}.flipped"] = -found[name]
    confidence = votes.abs() / column_norms.clamp_min(1e-12)
    return {k: torch.where(v == 0, torch.ones_like(v), v).to(torch.float32) for k, v in found.items()}, confidence


def neighbours(signs: torch.Tensor, confidence: torch.Tensor, pair_bits: int) -> torch.Tensor:
    """The key itself, every 1-bit neighbour, and the 2-bit neighbours among the `pair_bits` least-confident bits."""
    n = signs.shape[0]
    one = signs.repeat(n, 1) * (1 - 2 * torch.eye(n))
    weak = confidence.argsort()[: min(pair_bits, n)]
    i, j = torch.triu_indices(weak.shape[0], weak.shape[0], offset=1)
    flips = torch.ones(i.shape[0], n)
    rows = torch.arange(i.shape[0])
    flips[rows, weak[i]] = -1
    flips[rows, weak[j]] = -1
    return torch.cat([signs[None], one, signs[None] * flips])


def weight_reading_attack(scorer: Scorer, cfg: AttackConfig) -> AttackResult:
    started = time.perf_counter()
    keyed = scorer.keyed
    found, confidence = read_key_candidates(keyed)
    names = list(found)
    stacked = torch.stack([found[k] for k in names])
    unique, inverse = torch.unique(stacked, dim=0, return_inverse=True)
    batches = [neighbours(c, confidence, cfg.neighbour_bits) for c in unique]
    keys = torch.unique(torch.cat(batches), dim=0)
    # Screen by how much each key moves δ (cheap, encoder only); score the strongest in full.
    with torch.no_grad():
        moved = sum((d - 1).square().sum(dim=1) for d in keyed.encoders(keys).values())
    assert isinstance(moved, torch.Tensor)
    screened = keys[moved.argsort(descending=True)[: cfg.max_scored_keys]]
    # The read-off candidates themselves are always scored (a loose gate can move δ more for their neighbours).
    screened = torch.unique(torch.cat([unique.to(screened.dtype), screened]), dim=0)
    scores, distance = scorer.score_signs(screened)
    best = int(scores.argmax())
    pick = int(distance.argmax())
    bits_wrong = {names[i]: int((unique[inverse[i]] != scorer.signs).sum()) for i in range(len(names))}
    closest = min(bits_wrong, key=lambda k: bits_wrong[k])
    details = {
        "candidates": len(names),
        "distinct_candidates": int(unique.shape[0]),
        "keys_tried": int(keys.shape[0]),
        "keys_scored": int(screened.shape[0]),
        "closest_method": closest,
        "closest_bits_wrong": bits_wrong[closest],
        "best_bits_wrong": int((screened[best] != scorer.signs).sum()),
        "attacker_pick_score": float(scores[pick]),
        "attacker_pick_distance": float(distance[pick]),
    }
    return AttackResult("weight_reading", float(scores[best]), details, time.perf_counter() - started)


# ----- 3. relaxed key -----
def _opt_states(scorer: Scorer, cfg: AttackConfig) -> tuple[torch.Tensor, torch.Tensor]:
    m = min(cfg.opt_states, scorer.attacker_states.shape[0])
    return scorer.attacker_states[:m], scorer.attacker_base[:m]


def _distance(scorer: Scorer, x: torch.Tensor, base: torch.Tensor, deltas: dict[str, torch.Tensor]) -> torch.Tensor:
    """Differentiable normalized distance from the base, one value per candidate row of `deltas`."""
    r, m = next(iter(deltas.values())).shape[0], x.shape[0]
    rows = {k: v.repeat_interleave(m, dim=0) for k, v in deltas.items()}
    out: torch.Tensor = scorer.keyed.forward_deltas(x.repeat(r, *([1] * (x.dim() - 1))), deltas=rows)
    out = out.reshape(r, m, -1)
    scale = scorer.scale.to(out.dtype)
    return ((out - base[None]) / scale).square().mean(dim=(1, 2))


def relaxed_key_attack(scorer: Scorer, cfg: AttackConfig) -> AttackResult:
    started = time.perf_counter()
    keyed = scorer.keyed
    x, base = _opt_states(scorer, cfg)
    encoders = key_encoders(keyed)
    details: dict[str, Any] = {}
    best = 0.0
    for objective in ("outputs", "surrogate"):
        gen = _generator(cfg, 3 if objective == "outputs" else 4)
        u = (torch.randn(cfg.relaxed_restarts, keyed.key_bits, generator=gen) * 0.5).requires_grad_(True)
        opt = torch.optim.Adam([u], lr=cfg.relaxed_lr)
        for _ in range(cfg.relaxed_steps):
            soft = torch.tanh(u)
            loss = -_distance(scorer, x, base, keyed.encoders(soft)).sum()
            if objective == "surrogate":
                # Grey box: δ moves only when hidden units fire, so push every unit's pre-activation up (linearly:
                # a sharp gate's units sit far below zero, where softplus or relu would give no gradient at all).
                loss = loss - sum(enc.hidden(soft).mean(dim=1).sum() for enc in encoders)
            (grad,) = torch.autograd.grad(loss, [u])
            opt.zero_grad(set_to_none=True)
            u.grad = grad
            opt.step()
        with torch.no_grad():
            soft = torch.tanh(u)
            rounded = torch.where(soft >= 0, 1.0, -1.0)
            one_bit = torch.cat([neighbours(r, torch.zeros(keyed.key_bits), 0) for r in rounded])
        s_soft, d_soft = scorer.score_signs(soft)
        s_round, d_round = scorer.score_signs(one_bit)
        bits_wrong = [int((r != scorer.signs).sum()) for r in rounded]
        details[objective] = {
            "relaxed_best": float(s_soft.max()),
            "relaxed_distance_max": float(d_soft.max()),
            "rounded_best": float(s_round.max()),
            "rounded_bits_wrong_min": min(bits_wrong),
            "attacker_pick_score": float(s_round[int(d_round.argmax())]),
        }
        best = max(best, float(s_soft.max()), float(s_round.max()))
    return AttackResult("relaxed_key", best, details, time.perf_counter() - started)


# ----- 4. direct δ -----
_SCAN = torch.tensor([0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.25, 1.5, 2.0, 3.0, 5.0])


def direct_delta_attack(scorer: Scorer, cfg: AttackConfig) -> AttackResult:
    """Optimise δ to move the outputs away from the base, then scan its strength; does it find the user?"""
    started = time.perf_counter()
    keyed = scorer.keyed
    scale_d = keyed.encoder_config.delta_scale
    x, base = _opt_states(scorer, cfg)
    gen = _generator(cfg, 5)
    r = cfg.delta_restarts
    details: dict[str, Any] = {}

    # (a) free δ per layer in (1 - s, 1 + s).
    raw = {n: (torch.randn(r, d, generator=gen) * 0.3).requires_grad_(True) for n, d in keyed.layer_dims.items()}
    _ascend(lambda: _distance(scorer, x, base, {n: 1 + scale_d * torch.tanh(v) for n, v in raw.items()}),
            list(raw.values()), cfg)
    with torch.no_grad():
        free = {n: scale_d * torch.tanh(v) for n, v in raw.items()}  # δ − 1
    details["free"] = _scan(scorer, lambda t: {n: 1 + t * v for n, v in free.items()})

    # (b) δ the encoder's output layer can produce: hidden activations h ≥ 0 chosen directly (first layer bypassed).
    encoders = key_encoders(keyed)
    shared = keyed.encoders.shared is not None
    hidden = [(torch.randn(r, enc.hidden.out_features, generator=gen) * 0.5).requires_grad_(True) for enc in encoders]

    def from_hidden(hs: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        outs = [enc.delta_scale * torch.tanh(enc.out(h)) for enc, h in zip(encoders, hs, strict=True)]
        if shared:
            parts = torch.split(outs[0], list(keyed.layer_dims.values()), dim=-1)
            return {n: 1 + p for n, p in zip(keyed.layer_dims, parts, strict=True)}
        return {n: 1 + o for n, o in zip(keyed.layer_dims, outs, strict=True)}

    _ascend(lambda: _distance(scorer, x, base, from_hidden([F.softplus(h) for h in hidden])), hidden, cfg)
    with torch.no_grad():
        found = [F.softplus(h) for h in hidden]
        uniform = [torch.ones(1, enc.hidden.out_features) for enc in encoders]
    details["encoder_range"] = _scan(scorer, lambda t: from_hidden([t * h for h in found]))
    details["encoder_all_units_on"] = _scan(scorer, lambda t: from_hidden([t * h for h in uniform]))

    # (c) the trunk delta at other strengths (δ = 1, as any wrong key gets).
    if keyed.trunk_delta:
        rows = []
        for alpha in (0.0, 0.5, 1.0, 1.5, 2.0):
            with keyed.alpha_set_to(alpha):
                ones = {n: torch.ones(1, d) for n, d in keyed.layer_dims.items()}
                s, d = scorer.score_deltas(ones)
            rows.append({"alpha": alpha, "score": float(s[0]), "distance": float(d[0])})
        details["trunk_alpha"] = {"best": max(row["score"] for row in rows), "rows": rows}
    best = max(v["best"] for v in details.values())
    return AttackResult("direct_delta", best, details, time.perf_counter() - started)


def _ascend(distance: Callable[[], torch.Tensor], params: list[torch.Tensor], cfg: AttackConfig) -> None:
    opt = torch.optim.Adam(params, lr=cfg.delta_lr)
    for _ in range(cfg.delta_steps):
        grads = torch.autograd.grad(-distance().sum(), params)
        opt.zero_grad(set_to_none=True)
        for p, g in zip(params, grads, strict=True):
            p.grad = g
        opt.step()


def _scan(scorer: Scorer, make: Callable[[float], dict[str, torch.Tensor]]) -> dict[str, float]:
    """Score candidates at strengths t along what was found: best score, and where the attacker would stop."""
    scores, distances = [], []
    for t in _SCAN.tolist():
        with torch.no_grad():
            s, d = scorer.score_deltas(make(t))
        scores.append(s)
        distances.append(d)
    s_all, d_all = torch.cat(scores), torch.cat(distances)
    finite = torch.isfinite(d_all)
    s_all = torch.where(finite, s_all, torch.zeros_like(s_all))
    far = int(torch.where(finite, d_all, torch.full_like(d_all, -math.inf)).argmax())
    best = int(s_all.argmax())
    return {
        "best": float(s_all[best]),
        "distance_at_best": float(d_all[best]),
        "most_different_distance": float(d_all[far]),
        "most_different_score": float(s_all[far]),
    }


# ----- 5. other profiles -----
def other_profile_attack(scorer: Scorer, other_keys: Sequence[Any], cfg: AttackConfig) -> AttackResult:
    started = time.perf_counter()
    bits = scorer.keyed.key_bits
    if other_keys:
        signs = torch.stack([key_to_signs(k, bits) for k in other_keys])
        source = "other profiles' keys"
    else:
        signs = random_signs(cfg.other_random_keys, bits, _generator(cfg, 6))
        source = "random keys (no other profile given)"
    scores, distance = scorer.score_signs(signs)
    details = {"keys": int(signs.shape[0]), "source": source, "mean": float(scores.mean()),
               "distance_max": float(distance.max())}
    return AttackResult("other_profile", float(scores.max()), details, time.perf_counter() - started)


def suite_json(result: AttackSuiteResult) -> dict[str, Any]:
    return result.to_json()


def config_json(cfg: AttackConfig) -> dict[str, Any]:
    return asdict(cfg)
