"""How reliably the selection finds a person's way: `prop-desktop bench selection`.

The selection (prop/selection.py) infers a person's style numbers from their demonstrations; when it misses,
training falls back to a fitted trunk delta that generalizes worse and can move the tasks the person never
showed (pia at seed 1, stop 12: retention 0.057). Whether it misses depends on the demonstrations *and* on the
rows it searches, so two bench seeds cannot show how often. Here the selection alone runs on the household
bench's own data (same demonstrations, split and stage-1 row sample as `bench household` at that seed) and on
further row samples, for every profile whose way the style numbers can express, and its held-out error is set
against the base run with the person's exact numbers.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from prop_desktop.policy.base import DEFAULT_PROP_LAYERS, SELECTION_LAYERS, load_base_policy
from prop_desktop.policy.household_eval import bench_data, held_out_rollouts, observations_actions
from prop_desktop.policy.personalize import HouseholdProfile
from prop_desktop.policy.styles import STYLE_DIM, in_style_space, style_u

HELD_OUT_DEMOS = 20
# "On the person's numbers": held-out error within this of the error with the exact numbers (the fitted numbers
# are fitted to noisy demonstrations, so a few thousandths off is estimation, not a miss).
EXACT_RATIO, EXACT_SLACK = 1.2, 0.002


@dataclass
class SelectionCase:
    profile: str
    seed: int
    sample: int  # 0: the row sample `bench household` trains on at this seed; 1, 2, ...: other samples
    held_out: float  # normalized error of the selected numbers on fresh demonstrations
    exact: float  # the same with the person's exact numbers: what selecting can give at best
    seconds: float
    numbers: list[float]  # the selected style numbers that differ from 1 (or should)
    exact_numbers: list[float]

    @property
    def on_exact(self) -> bool:
        return self.held_out <= EXACT_RATIO * self.exact + EXACT_SLACK


def selectable(profile: HouseholdProfile) -> bool:
    """A profile whose way the style numbers express on every task it demonstrates (one set of numbers)."""
    return not profile.conditional and all(in_style_space(t, profile.style) for t in profile.demonstrated)


def evaluate_selection(
    profiles: list[tuple[int, HouseholdProfile]], seeds: list[int], samples: int, demos: int = 10,
    policy_path: str | Path | None = None,
) -> list[SelectionCase]:
    """The selection alone for each (bench index, profile) x seed x row sample (see the module doc)."""
    from prop_desktop.prop import TrainConfig, fit_selection, wrap
    from prop_desktop.prop.train_data import prepare

    keyed = wrap(load_base_policy(policy_path), DEFAULT_PROP_LAYERS)
    cases = []
    for seed in seeds:
        for k, profile in profiles:
            bench = bench_data(profile, k, seed, demos)
            cfg = TrainConfig(seed=bench.train_seed, select_layers=SELECTION_LAYERS)
            generator = torch.Generator().manual_seed(cfg.seed)
            data = prepare(keyed, bench.states, bench.actions, bench.base_states, None, None, cfg, generator,
                           bench.episodes)
            hs, ha = (torch.from_numpy(v) for v in observations_actions(*held_out_rollouts(profile, k, seed,
                                                                                          HELD_OUT_DEMOS)))
            denom = float(ha.var(dim=0, unbiased=False).mean())
            exact = np.ones(STYLE_DIM, np.float32)
            for task in profile.demonstrated:
                u = style_u(task, profile.style)
                exact[u != 1] = u[u != 1]
            n_rows = min(data.n_train, cfg.personal_rows)
            for sample in range(samples):
                # Sample 0 continues the generator as training does (prop/train_stages.fit_personal).
                gen = generator if sample == 0 else torch.Generator().manual_seed(10_000 * sample + cfg.seed)
                rows = torch.randperm(data.n_train, generator=gen)[:n_rows]
                started = time.perf_counter()
                deltas = fit_selection(keyed, SELECTION_LAYERS, data.train_states[rows], data.train_actions[rows],
                                       1.0 / data.scale.square(), bounds=cfg.select_range)
                seconds = time.perf_counter() - started
                chosen = deltas["style"].detach().numpy()
                with_exact = dict(deltas, style=torch.from_numpy(exact))
                with torch.no_grad():
                    errors = [float((keyed.call_with((hs,), {}, d, None) - ha).square().mean()) / denom
                              for d in (deltas, with_exact)]
                shown = np.flatnonzero((np.abs(chosen - 1) > 1e-3) | (exact != 1))
                cases.append(SelectionCase(profile.name, seed, sample, errors[0], errors[1], seconds,
                                           [round(float(v), 3) for v in chosen[shown]],
                                           [round(float(v), 3) for v in exact[shown]]))
    return cases


def summary(cases: list[SelectionCase]) -> dict[str, Any]:
    worst = max(cases, key=lambda c: c.held_out)
    return {
        "cases": len(cases),
        "on_exact": sum(c.on_exact for c in cases),
        "bench_samples_on_exact": sum(c.on_exact for c in cases if c.sample == 0),
        "bench_samples": sum(c.sample == 0 for c in cases),
        "worst_held_out": worst.held_out,
        "worst_case": f"{worst.profile} seed {worst.seed} sample {worst.sample}",
        "worst_ratio": max(c.held_out / max(c.exact, 1e-9) for c in cases),
        "mean_seconds": float(np.mean([c.seconds for c in cases])),
        "max_seconds": max(c.seconds for c in cases),
    }


def to_json(cases: list[SelectionCase]) -> dict[str, Any]:
    return {"summary": summary(cases), "criterion": {"ratio": EXACT_RATIO, "slack": EXACT_SLACK},
            "cases": [dict(asdict(c), on_exact=c.on_exact) for c in cases]}
