"""`prop-desktop bench attacks`: the attack suite (prop_desktop/prop/attacks.py) against the household profiles.

Each profile is trained as `bench household` trains it (same demonstrations, keys, states and TrainConfig), then
attacked by someone holding the adapter, the base policy and base-distribution states, but not the key:
near keys 1..16 bits off (mean/max personalization score), weight reading, relaxed-key optimisation, direct δ
optimisation and the other profiles' keys. Scores: 0 = base behaviour, 1 = the user's. Top-level JSON values are
the worst case over the profiles; per-profile values are under "profiles".
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from prop_desktop.prop.attacks import AttackConfig

PROFILES = ("alex", "sam", "kim")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profiles", default="3", help="how many profiles (1-3) or a comma list of alex,sam,kim")
    parser.add_argument("--quick", action="store_true", help="fewer keys, states and optimisation steps")
    parser.add_argument("--demos", type=int, default=10, help="demonstrations per profile (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="seed for demonstrations, keys and attacks")
    parser.add_argument("--no-trunk", action="store_true", help="train the key encoders only (no trunk delta)")
    parser.add_argument("--max-seconds", type=float, default=28.0, help="training time budget per profile")
    parser.add_argument("--policy", metavar="DIR", help="base policy folder (default: the shipped one)")
    parser.add_argument("--near-keys", type=int, help="keys per Hamming distance (default 256, --quick 48)")
    parser.add_argument("--threads", type=int, default=2,
                        help="torch threads (default 2; 1 is faster for this small policy on a busy machine)")
    parser.add_argument("--no-trunk-gate", action="store_true",
                        help="apply the trunk delta for every key, as before the engine gated it (for comparison)")
    parser.add_argument("--tradeoff", action="store_true",
                        help="also measure gate sharpness vs key hidden in the weights (attacks_tradeoff.py)")
    parser.add_argument("--train", metavar="K=V", action="append", default=[],
                        help="override a TrainConfig field for the experiment, e.g. --train delta_weight=4")
    parser.add_argument("--encoder", metavar="K=V", action="append", default=[],
                        help="override an encoder field (hidden, delta_scale, shared), e.g. --encoder hidden=64")


def _profile_names(spec: str) -> list[str]:
    spec = spec.strip()
    if spec.isdigit():
        n = int(spec)
        if not 1 <= n <= len(PROFILES):
            raise ValueError(f"--profiles {n}: choose 1 to {len(PROFILES)}")
        return list(PROFILES[:n])
    names = [p.strip() for p in spec.split(",") if p.strip()]
    unknown = [p for p in names if p not in PROFILES]
    if unknown or not names:
        raise ValueError(f"unknown profile(s) {unknown or names}; choose from {', '.join(PROFILES)} or a number")
    return names


def _overrides(pairs: list[str], allowed: dict[str, Any], what: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or name not in allowed:
            raise ValueError(f"{what} override {pair!r}: use NAME=VALUE with NAME one of {', '.join(sorted(allowed))}")
        current = allowed[name]
        try:
            if isinstance(current, bool):
                value: Any = raw.lower() in ("1", "true", "yes")
            elif isinstance(current, tuple):
                value = tuple(int(v) for v in raw.split(",") if v)
            elif isinstance(current, int) and not isinstance(current, bool):
                value = int(raw)
            elif isinstance(current, float) or current is None:
                value = float(raw)
            else:
                value = raw
        except ValueError:
            raise ValueError(f"{what} override {pair!r}: {raw!r} is not a valid value for {name}") from None
        out[name] = value
    return out


def run(args: argparse.Namespace) -> int:
    from dataclasses import asdict, fields

    import torch

    from prop_desktop.policy.base import BasePolicyError
    from prop_desktop.prop import EncoderConfig, TrainConfig
    from prop_desktop.prop.attacks import AttackConfig

    torch.set_num_threads(max(1, args.threads))
    try:
        names = _profile_names(args.profiles)
        train_over = _overrides(args.train, {f.name: getattr(TrainConfig(), f.name) for f in fields(TrainConfig)},
                                "--train")
        enc_over = _overrides(args.encoder, asdict(EncoderConfig()), "--encoder")
        if args.demos < 2:
            raise ValueError("--demos must be at least 2")
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    cfg = AttackConfig.fast() if args.quick else AttackConfig()
    if args.near_keys:
        from dataclasses import replace

        cfg = replace(cfg, near_keys=args.near_keys)
    cfg = AttackConfig(**{**asdict(cfg), "seed": args.seed})
    started = time.perf_counter()
    try:
        results = attack_profiles(names, args, cfg, train_over, enc_over)
    except BasePolicyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    results["total_seconds"] = round(time.perf_counter() - started, 1)
    _print_table(results)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)
            fh.write("\n")
    return 0


def attack_profiles(names: list[str], args: argparse.Namespace, cfg: AttackConfig, train_over: dict[str, Any],
                    enc_over: dict[str, Any]) -> dict[str, Any]:
    import numpy as np
    import torch

    from prop_desktop.policy.base import DEFAULT_PROP_LAYERS, load_base_policy, personalize_config
    from prop_desktop.policy.household_eval import base_distribution_states, episode_numbers
    from prop_desktop.policy.personalize import BENCH_PROFILES, demonstration_rollouts
    from prop_desktop.policy.train_base import normalized_step
    from prop_desktop.prop import EncoderConfig, train_adapter
    from prop_desktop.prop.attacks import (
        TARGET_ATTACK,
        TARGET_NEAR_MAX,
        TARGET_NEAR_MEAN,
        AttackConfig,
        run_attacks,
    )
    from prop_desktop.prop.keyed import KeyedModule

    def log_for(profile: str) -> Callable[[str], None]:
        return lambda message: log(f"[{profile}]   {message}")

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    known = {p.name: p for p in BENCH_PROFILES}
    # Same seeds as `bench household` (prop_desktop/policy/household_eval.py), so the adapters are the same ones.
    seed = args.seed
    key_rng = np.random.default_rng(seed + 7)
    keys_all = {name: bytes(key_rng.integers(0, 256, 16, dtype=np.uint8)) for name in PROFILES}
    trained = {}
    for name in names:
        k = PROFILES.index(name)
        profile = known[name]
        inst, ro = demonstration_rollouts(profile, args.demos, seed=seed + 100 * k)
        q, ctx, act = ro.flat()
        states = np.concatenate([q, ctx], axis=1).astype(np.float32)
        actions = normalized_step(q, act)
        retain = base_distribution_states(seed + 100 * k + 50, 24, profile.undemonstrated)
        extra = base_distribution_states(seed + 100 * k + 60, 24)
        keyed = KeyedModule(load_base_policy(args.policy), DEFAULT_PROP_LAYERS, EncoderConfig(**enc_over))
        if getattr(args, "no_trunk_gate", False):
            keyed.gate_trunk = False
        tcfg = personalize_config(**{"fine_tune_trunk": not args.no_trunk, "seed": seed + k,
                                     "max_seconds": args.max_seconds, **train_over})
        log(f"[{name}] training on {len(states)} states")
        result = train_adapter(keyed, states, actions, keys_all[name], base_states=extra, retain_states=retain,
                               config=tcfg, episodes=episode_numbers(ro))
        log(f"[{name}] trained in {result.seconds:.1f} s ({result.steps} steps, alpha {result.alpha:.2f})")
        trained[name] = (keyed, result, states)
    # The attacker's states: fresh base-distribution states of every task (never the user's demonstrations).
    probe = base_distribution_states(seed + 900, 40)
    probe = probe[np.random.default_rng(seed + 901).permutation(len(probe))[:2000]]
    per_profile = {}
    for name, (keyed, result, states) in trained.items():
        # Scored where the user's behaviour differs: the attacker's states plus states of the demonstrated tasks.
        demo_like = states[np.random.default_rng(seed + 902).permutation(len(states))[:2000]]
        attack_states = torch.from_numpy(np.concatenate([demo_like, probe]))
        others = [keys_all[o] for o in PROFILES if o != name]
        log(f"[{name}] attacking")
        suite = run_attacks(keyed, keys_all[name], attack_states, other_keys=others, config=cfg,
                            attacker_states=torch.from_numpy(probe),
                            progress=log_for(name))
        entry = suite.to_json()
        entry["train_seconds"] = round(result.seconds, 2)
        entry["engine_metrics"] = result.metrics
        entry["failures"] = suite.failures()
        if getattr(args, "tradeoff", False):
            from dataclasses import replace

            from prop_desktop.prop.attacks_tradeoff import tradeoff_curve

            log(f"[{name}] trade-off curve")
            entry["tradeoff"] = tradeoff_curve(keyed, keys_all[name], attack_states,
                                               attacker_states=torch.from_numpy(probe),
                                               config=replace(AttackConfig.fast(), near_keys=64, seed=cfg.seed))
        per_profile[name] = entry
        log(f"[{name}] attacks done in {suite.seconds:.1f} s")
    worst: dict[str, Any] = {"near": {}}
    for d in per_profile[names[0]]["near"]:
        worst["near"][d] = {s: max(p["near"][d][s] for p in per_profile.values()) for s in ("mean", "max")}
    for attack in ("weight_reading", "relaxed_key", "direct_delta", "other_profile"):
        worst[attack] = max(p[attack] for p in per_profile.values())
    worst["profiles"] = [{"name": n, **p} for n, p in per_profile.items()]
    worst["targets"] = {"near_max": TARGET_NEAR_MAX, "near_mean": TARGET_NEAR_MEAN, "attacks": TARGET_ATTACK}
    worst["config"] = {"attack": dict(cfg.__dict__), "train_overrides": {k: str(v) for k, v in train_over.items()},
                       "encoder_overrides": enc_over, "trunk": not args.no_trunk, "demos": args.demos,
                       "trunk_gate": not getattr(args, "no_trunk_gate", False)}
    return worst


def _print_table(results: dict[str, Any]) -> None:
    profiles = results["profiles"]
    names = [p["name"] for p in profiles]
    width = 30
    print("bench attacks - best personalization score an attacker reaches (0 = base, 1 = the user's)")
    print(f"{'':<{width}}" + "".join(f"{n:>14}" for n in names) + f"{'worst':>14}")
    for d in results["near"]:
        cells = "".join(f"{p['near'][d]['mean']:>7.3f}/{p['near'][d]['max']:<6.3f}" for p in profiles)
        w = results["near"][d]
        print(f"{f'near {int(d):>2} bits (mean/max)':<{width}}{cells}{w['mean']:>7.3f}/{w['max']:<6.3f}")
    for attack in ("weight_reading", "relaxed_key", "direct_delta", "other_profile"):
        cells = "".join(f"{p[attack]:>14.3f}" for p in profiles)
        print(f"{attack.replace('_', ' '):<{width}}{cells}{results[attack]:>14.3f}")
    print(f"{'near keys with the gate shut':<{width}}"
          + "".join(f"{p['near_silent_fraction']:>14.1%}" for p in profiles))
    print(f"{'  score of a shut gate':<{width}}" + "".join(f"{p['silent_key_score']:>14.3f}" for p in profiles))
    print(f"{'train seconds':<{width}}" + "".join(f"{p['train_seconds']:>14.1f}" for p in profiles))
    print(f"{'attack seconds':<{width}}" + "".join(f"{p['seconds']:>14.1f}" for p in profiles))
    t = results["targets"]
    print(f"targets: near keys mean <= {t['near_mean']}, max <= {t['near_max']} at every distance; "
          f"attacks 2-5 <= {t['attacks']}. Total {results['total_seconds']} s.")
    for p in profiles:
        for row in p.get("tradeoff", []):
            print(f"{p['name']} trade-off p={row['flip_fraction']:.2f}: near keys worst mean/max "
                  f"{row['near_mean']:.3f}/{row['near_max']:.3f}, weight reading {row['weight_reading']:.3f} "
                  f"({row['weight_reading_bits_wrong']} bits wrong), relaxed key {row['relaxed_key']:.3f}")
    for p in profiles:
        print(f"{p['name']}: " + ("meets every target" if not p["failures"] else "MISSES " + "; ".join(p["failures"])))
