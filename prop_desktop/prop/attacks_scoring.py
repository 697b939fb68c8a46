"""How much of the user's behaviour an attacker's candidate (a key, a relaxed key, or a raw modulation δ) unlocks.

The attacker never sees the key; the *evaluator* does: it knows the base outputs and the user's outputs (the
correct key's) on the probe states, and scores each candidate's outputs between them. Per state:

- projection = <out − base, user − base> / |user − base|²  (the engine's personalization score, clipped to [0, 1]);
- closeness  = 1 − |out − user|² / |base − user|²             (clipped to [0, 1]);

and the attack score of the state is min(projection, closeness). For behaviour between base and user
(out = base + t·(user − base)) this is t, as the engine's score; behaviour that is merely *different* from the
base — far off in some other direction — has closeness 0 and does not count as the user's. The candidate's score
is the mean over the states where the user's behaviour differs from the base (score_mask); 0 = base, 1 = user.
"""

from __future__ import annotations

from typing import Any

import torch

from .keyed import KeyedModule
from .keys import key_to_signs
from .metrics import output_scale, score_mask
from .validation import as_float_tensor

_CHUNK_ROWS = 8192


class Scorer:
    """Scores batches of keys or modulations against one adapter and its correct key, on fixed probe states."""

    def __init__(self, keyed: KeyedModule, key: Any, states: Any, *, min_gap: float = 0.05) -> None:
        dtype = next((p.dtype for p in keyed.base.parameters() if p.is_floating_point()), torch.float32)
        self.keyed = keyed
        self.signs = key_to_signs(key, keyed.key_bits)
        self.states = as_float_tensor(states, "states", dtype=dtype)
        n = self.states.shape[0]
        with torch.no_grad():
            self.base = keyed(self.states).reshape(n, -1).to(torch.float64)
            self.user = keyed.forward_signs(self.states, signs=self.signs).reshape(n, -1).to(torch.float64)
        self.scale = output_scale(torch.cat([self.base, self.user]).to(torch.float32)).to(torch.float64)
        self.mask = torch.from_numpy(score_mask(self.base, self.user, scale=self.scale, min_gap=min_gap))
        gap = (self.user - self.base) / self.scale
        self._gap = gap
        self._gap2 = gap.square().sum(dim=1).clamp_min(1e-12)
        # Keys whose δ is exactly 1 in every layer all behave alike: computed once (a sharp gate makes most so).
        self._silent: tuple[torch.Tensor, torch.Tensor] | None = None
        self.last_silent_fraction = 0.0
        self.near_silent_fraction = 0.0
        self.attacker_states = self.states  # what the optimisation attacks work on (the attacker's own states)
        self.attacker_base = self.base.to(self.states.dtype)

    def set_attacker_states(self, states: Any) -> None:
        """States the attacker optimises on (from the task distribution; never the user's demonstrations)."""
        x = as_float_tensor(states, "attacker_states", dtype=self.states.dtype)
        with torch.no_grad():
            self.attacker_base = self.keyed(x).reshape(x.shape[0], -1)
        self.attacker_states = x

    @property
    def n_states(self) -> int:
        return int(self.states.shape[0])

    @property
    def has_personal_behaviour(self) -> bool:
        return bool(self.mask.any())

    # ----- outputs -----
    def outputs_for_deltas(self, deltas: dict[str, torch.Tensor]) -> torch.Tensor:
        """(n, S, out) outputs for n modulations (one (n, dim) row per candidate and layer). No grad."""
        n = next(iter(deltas.values())).shape[0]
        per_chunk = max(1, _CHUNK_ROWS // self.n_states)
        chunks = []
        with torch.no_grad():
            for start in range(0, n, per_chunk):
                part = {k: v[start : start + per_chunk] for k, v in deltas.items()}
                k = next(iter(part.values())).shape[0]
                x = self.states.repeat(k, *([1] * (self.states.dim() - 1)))
                rows = {name: d.repeat_interleave(self.n_states, dim=0) for name, d in part.items()}
                chunks.append(self.keyed.forward_deltas(x, deltas=rows).reshape(k, self.n_states, -1))
        return torch.cat(chunks).to(torch.float64)

    def deltas_for_signs(self, signs: torch.Tensor) -> dict[str, torch.Tensor]:
        with torch.no_grad():
            return {k: v.detach() for k, v in self.keyed.encoders(signs).items()}

    # ----- scores -----
    def score_outputs(self, out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(scores (n,), normalized distance from the base (n,)) for outputs (n, S, out)."""
        o = (out.to(torch.float64) - self.base[None]) / self.scale
        distance = o.square().mean(dim=(1, 2))
        if not self.has_personal_behaviour:
            return torch.zeros(out.shape[0], dtype=torch.float64), distance
        proj = (o * self._gap[None]).sum(dim=2) / self._gap2[None]
        close = 1.0 - (o - self._gap[None]).square().sum(dim=2) / self._gap2[None]
        per_state = torch.minimum(proj.clamp(0, 1), close.clamp(0, 1))
        return per_state[:, self.mask].mean(dim=1), distance

    def score_deltas(self, deltas: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        return self.score_outputs(self.outputs_for_deltas(deltas))

    def silent(self, deltas: dict[str, torch.Tensor]) -> torch.Tensor:
        """Which candidates leave every layer unmodulated (δ exactly 1): the gate stayed shut for them."""
        silent = torch.ones(next(iter(deltas.values())).shape[0], dtype=torch.bool)
        for d in deltas.values():
            silent &= (d == 1.0).all(dim=1)
        return silent

    def score_signs(self, signs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Scores and distances of a batch of (possibly relaxed) keys (n, bits); silent keys share one pass."""
        signs = signs.to(torch.float32)
        deltas = self.deltas_for_signs(signs)
        silent = self.silent(deltas)
        self.last_silent_fraction = float(silent.float().mean())
        scores = torch.zeros(signs.shape[0], dtype=torch.float64)
        distance = torch.zeros(signs.shape[0], dtype=torch.float64)
        if bool(silent.any()):
            s, dist = self.silent_score()
            scores[silent], distance[silent] = s, dist
        loud = ~silent
        if bool(loud.any()):
            s, dist = self.score_deltas({k: v[loud] for k, v in deltas.items()})
            scores[loud], distance[loud] = s, dist
        return scores, distance

    def silent_score(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self._silent is None:
            ones = {name: torch.ones(1, dim) for name, dim in self.keyed.layer_dims.items()}
            s, d = self.score_deltas(ones)
            self._silent = (s[0], d[0])
        return self._silent
