"""The measurements behind `prop-desktop bench household` (kept out of the CLI module so tests can call them).

See prop_desktop/bench/household.py for what each number means.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from prop_desktop.policy.base import DEFAULT_PROP_LAYERS, base_policy_hash, load_base_policy
from prop_desktop.policy.expert import BASE_STYLE, rollout_expert, success
from prop_desktop.policy.personalize import HouseholdProfile, demonstration_rollouts
from prop_desktop.policy.tasks import TASK_NAMES, sample_instances
from prop_desktop.policy.train_base import normalized_step, rollout_policy

NEAR_DISTANCES = (1, 2, 3, 4, 8, 16)
TARGETS = {"personal": 0.02, "wrong_key": 0.02, "seconds": 30.0}


def _obs_actions(instances, ro) -> tuple[np.ndarray, np.ndarray]:
    q, ctx, act = ro.flat()
    return np.concatenate([q, ctx], axis=1).astype(np.float32), normalized_step(q, act)


def base_distribution_states(seed: int, n_instances: int, tasks: tuple[str, ...] = TASK_NAMES) -> np.ndarray:
    """States the base expert visits (with small execution noise) on fresh instances of `tasks`."""
    rng = np.random.default_rng(seed)
    instances = sample_instances(n_instances, rng, tasks)
    ro = rollout_expert(instances, BASE_STYLE, seed=seed + 1, noise=0.008)
    return _obs_actions(instances, ro)[0]


def _per_key_mse(keyed, states: torch.Tensor, signs: torch.Tensor) -> np.ndarray:
    from prop_desktop.prop import per_key_errors

    return per_key_errors(keyed, states, signs).numpy()  # mean over states and action dims, per key


def evaluate_profiles(
    profiles: list[HouseholdProfile],
    demos: int = 10,
    seed: int = 0,
    fine_tune_trunk: bool = True,
    max_seconds: float | None = 28.0,
    policy_path: str | Path | None = None,
    near_keys: int = 32,
    held_out_demos: int = 20,
    log: Callable[[str], None] = lambda message: None,
) -> dict:
    from prop_desktop.prop import TrainConfig, flip_bits, key_to_signs, random_signs, train_adapter, wrap

    gen = torch.Generator().manual_seed(seed)
    key_rng = np.random.default_rng(seed + 7)
    base_probe = torch.from_numpy(base_distribution_states(seed + 500, 40))
    base_probe = base_probe[torch.randperm(len(base_probe), generator=gen)[:600]]
    trained = {}
    for k, profile in enumerate(profiles):
        log(f"[{profile.name}] {profile.describe()}: generating {demos} demonstrations")
        inst, ro = demonstration_rollouts(profile, demos, seed=seed + 100 * k)
        states, actions = _obs_actions(inst, ro)
        retain_states = base_distribution_states(seed + 100 * k + 50, 24, profile.undemonstrated)
        extra = base_distribution_states(seed + 100 * k + 60, 24)
        key = bytes(key_rng.integers(0, 256, 16, dtype=np.uint8))
        base = load_base_policy(policy_path)
        keyed = wrap(base, DEFAULT_PROP_LAYERS)
        cfg = TrainConfig(fine_tune_trunk=fine_tune_trunk, seed=seed + k, max_seconds=max_seconds)
        what = "encoders + trunk delta" if fine_tune_trunk else "encoders only"
        log(f"[{profile.name}] training on {len(states)} states ({what})")
        result = train_adapter(
            keyed, states, actions, key, base_states=extra, retain_states=retain_states, config=cfg
        )
        log(f"[{profile.name}] trained in {result.seconds:.1f} s, {result.steps} steps, alpha {result.alpha:.2f}")
        trained[profile.name] = (profile, keyed, key, result)

    report: dict = {
        "base_hash": base_policy_hash(policy_path),
        "demos": demos,
        "near_distances": list(NEAR_DISTANCES),
        "targets": TARGETS,
        "profiles": {},
    }
    for k, (name, (profile, keyed, key, result)) in enumerate(trained.items()):
        inst, ro = demonstration_rollouts(profile, held_out_demos, seed=seed + 10_000 + 100 * k)
        hs, ha = _obs_actions(inst, ro)
        hs_t, ha_t = torch.from_numpy(hs), torch.from_numpy(ha)
        denom = float(np.mean(np.var(ha, axis=0)))  # mean over dims, so MSE (mean over dims) / denom
        # Wrong keys are probed on held-out demonstration states and base-distribution states of all tasks
        # (a fixed random subset of each keeps the many-key evaluation to a few seconds).
        pick = torch.randperm(len(hs_t), generator=gen)[:600]
        probe = torch.cat([hs_t[pick], base_probe])
        signs = key_to_signs(key, keyed.key_bits)
        with torch.no_grad():
            base_out = keyed(hs_t)
            personal = float(((keyed(hs_t, key=key) - ha_t) ** 2).mean()) / denom
            base_gap = float(((base_out - ha_t) ** 2).mean()) / denom
            train_inst, train_ro = demonstration_rollouts(profile, demos, seed=seed + 100 * k)
            ts, ta = (torch.from_numpy(a) for a in _obs_actions(train_inst, train_ro))
            personal_train = float(((keyed(ts, key=key) - ta) ** 2).mean()) / denom
            none = float(((keyed(probe) - keyed.base(probe)) ** 2).mean()) / denom
        rand = _per_key_mse(keyed, probe, random_signs(64, keyed.key_bits, gen)) / denom
        others = [key_to_signs(o[2], keyed.key_bits) for n, o in trained.items() if n != name]
        other = _per_key_mse(keyed, probe, torch.stack(others)) / denom if others else np.zeros(1)
        near = {}
        for d in NEAR_DISTANCES:
            errs = _per_key_mse(keyed, probe, flip_bits(signs, torch.full((near_keys,), d), gen)) / denom
            near[str(d)] = {"mean": float(errs.mean()), "max": float(errs.max())}
        retain = torch.from_numpy(base_distribution_states(seed + 20_000 + 100 * k, 24, profile.undemonstrated))
        with torch.no_grad():
            retention = float(((keyed(retain, key=key) - keyed(retain)) ** 2).mean()) / denom
        with_key, no_key = _closed_loop(keyed, key, profile, seed + 30_000 + 100 * k)
        # The floor: how well the base policy imitates its own expert on these tasks (same held-out recipe).
        floor_inst = sample_instances(20, np.random.default_rng(seed + 40_000 + k), profile.demonstrated)
        fs, fa = _obs_actions(floor_inst, rollout_expert(floor_inst, BASE_STYLE, seed=seed + 40_001 + k, noise=0.004))
        with torch.no_grad():
            fp = keyed.base(torch.from_numpy(fs)).numpy()
        base_floor = float(np.mean((fp - fa) ** 2) / np.mean(np.var(fa, axis=0)))
        wrong_max = max([float(rand.max()), float(other.max())] + [v["max"] for v in near.values()] + [none])
        entry = {
            "description": profile.describe(),
            "personalizations": list(profile.personalizations),
            "demonstrated": list(profile.demonstrated),
            "base_gap": base_gap,
            "base_floor": base_floor,
            "personal": personal,
            "personal_train": personal_train,
            "none": none,
            "random": {"mean": float(rand.mean()), "max": float(rand.max())},
            "other": {"mean": float(other.mean()), "max": float(other.max())},
            "near": near,
            "wrong_key_max": wrong_max,
            "retention": retention,
            "success_with_key": with_key,
            "success_no_key": no_key,
            "train_seconds": round(result.seconds, 2),
            "train_steps": result.steps,
            "stopped_early": result.stopped_early,
            "alpha": result.alpha,
            "engine_metrics": result.metrics,
        }
        entry["meets_targets"] = bool(
            personal <= TARGETS["personal"]
            and wrong_max <= TARGETS["wrong_key"]
            and result.seconds <= TARGETS["seconds"]
        )
        report["profiles"][name] = entry
    return report


def _closed_loop(keyed, key: bytes, profile: HouseholdProfile, seed: int, n: int = 12) -> tuple[float, float]:
    """Success rate on the profile's tasks with the key (person's way) and without (base way)."""
    from prop_desktop.policy.personalize import profile_instances

    instances = profile_instances(profile, n, np.random.default_rng(seed))

    class _WithKey(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.keyed = keyed

        def forward(self, obs: torch.Tensor) -> torch.Tensor:
            return self.keyed(obs, key=key)

    qs_key, _, _ = rollout_policy(_WithKey(), instances, seed=seed, steps=180)
    qs_base, _, _ = rollout_policy(keyed.base, instances, seed=seed, steps=180)
    ok_key = np.mean([success(qs_key[i], inst, profile.style) for i, inst in enumerate(instances)])
    ok_base = np.mean([success(qs_base[i], inst, BASE_STYLE) for i, inst in enumerate(instances)])
    return float(ok_key), float(ok_base)
