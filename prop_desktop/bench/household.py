"""`prop-desktop bench household`: three household members personalize the shipped base policy with PRoP.

Each profile's demonstrations come from a modified expert (prop_desktop/policy/personalize.py) on the tasks
that person demonstrates. Per profile we train one adapter (keys 128 bits, trunk delta merged with α chosen
automatically) and measure, on held-out data:

- personal: correct key vs held-out demonstrations of the same person;
- none / random / other / near d: wrong keys vs the base policy, on held-out demonstration states and on
  base-distribution states of every task (mean and max over keys);
- retention: correct key vs the base policy on the tasks the person did not demonstrate;
- base_gap: the base policy vs the person's demonstrations (how different the personalization is);
- base_floor: the base policy vs its own expert on the same tasks (the imitation floor a key builds on).

Every error is normalized: MSE over the 6 action dimensions divided by the variance of the person's held-out
demonstration actions (normalized joint steps, summed over dimensions). 0 is perfect; 1 is as bad as always
predicting the mean action. Closed-loop: rollouts on the simulated kinematics with the key (judged against
the person's expert) and without (judged against the base expert).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

TARGET_PERSONAL = 0.02
TARGET_WRONG_KEY = 0.02
TARGET_SECONDS = 30.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--demos", type=int, default=10, help="demonstrations per profile (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="seed for demonstrations and keys (default 0)")
    parser.add_argument("--profiles", default="alex,sam,kim", help="comma-separated subset of alex,sam,kim")
    parser.add_argument("--no-trunk", action="store_true", help="train the key encoders only (no merged trunk delta)")
    parser.add_argument("--max-seconds", type=float, default=28.0, help="training time budget per profile")
    parser.add_argument("--policy", metavar="DIR", help="base policy folder (default: the shipped one)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1; see the module doc)")
    parser.add_argument("--near-keys", type=int, default=32, help="keys per Hamming distance (default 32)")


def _fmt(x: float) -> str:
    return f"{x:.4f}" if x < 10 else f"{x:.3g}"


def run(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from prop_desktop.policy.base import BasePolicyError
    from prop_desktop.policy.household_eval import evaluate_profiles
    from prop_desktop.policy.personalize import BENCH_PROFILES

    # One thread: these matmuls are tiny, and on a busy 2-core machine OpenMP's second thread spin-waits
    # (measured: fwd+bwd of the policy on 512 rows 65 ms with 2 threads under load, 7 ms with 1).
    torch.set_num_threads(args.threads)
    wanted = [p.strip() for p in args.profiles.split(",") if p.strip()]
    known = {p.name: p for p in BENCH_PROFILES}
    unknown = [p for p in wanted if p not in known]
    if unknown or not wanted:
        print(f"error: unknown profile(s) {unknown or wanted}; choose from {', '.join(known)}", file=sys.stderr)
        return 2
    if args.demos < 2:
        print("error: --demos must be at least 2 (one is held out for choosing α)", file=sys.stderr)
        return 2
    started = time.perf_counter()
    try:
        results = evaluate_profiles(
            [known[p] for p in wanted],
            demos=args.demos,
            seed=args.seed,
            fine_tune_trunk=not args.no_trunk,
            max_seconds=args.max_seconds,
            policy_path=args.policy,
            near_keys=args.near_keys,
            log=lambda m: print(m, file=sys.stderr, flush=True),
        )
    except BasePolicyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    results["total_seconds"] = round(time.perf_counter() - started, 1)
    _print_table(results)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2, default=lambda o: float(o) if isinstance(o, np.floating) else str(o))
            fh.write("\n")
    return 0


def _print_table(results: dict) -> None:
    profiles = results["profiles"]
    names = list(profiles)
    rows = [
        ("personalization", ""),
        ("  base_gap (base vs demos)", lambda r: _fmt(r["base_gap"])),
        ("  base floor (base vs expert)", lambda r: _fmt(r["base_floor"])),
        ("  personal (correct key)", lambda r: _fmt(r["personal"])),
        ("  personal, train demos", lambda r: _fmt(r["personal_train"])),
        ("wrong keys vs base", ""),
        ("  none", lambda r: _fmt(r["none"])),
        ("  random (mean/max)", lambda r: f"{_fmt(r['random']['mean'])}/{_fmt(r['random']['max'])}"),
        ("  other profiles (mean/max)", lambda r: f"{_fmt(r['other']['mean'])}/{_fmt(r['other']['max'])}"),
    ]
    for d in results["near_distances"]:
        rows.append((f"  near {d:>2} bits (mean/max)", lambda r, d=d: f"{_fmt(r['near'][str(d)]['mean'])}/"
                     f"{_fmt(r['near'][str(d)]['max'])}"))
    rows += [
        ("  worst wrong key (max)", lambda r: _fmt(r["wrong_key_max"])),
        ("retention (undemonstrated)", lambda r: _fmt(r["retention"])),
        ("closed loop", ""),
        ("  success with key", lambda r: f"{r['success_with_key']:.0%}"),
        ("  base success without key", lambda r: f"{r['success_no_key']:.0%}"),
        ("train seconds", lambda r: f"{r['train_seconds']:.1f}"),
        ("chosen alpha", lambda r: f"{r['alpha']:.2f}"),
        ("meets targets", lambda r: "yes" if r["meets_targets"] else "NO"),
    ]
    width = 30
    print(f"bench household - base policy {results['base_hash'][:12]}, {results['demos']} demonstrations per profile")
    print(f"{'':<{width}}" + "".join(f"{n:>16}" for n in names))
    for label, fn in rows:
        cells = "".join(f"{(fn(profiles[n]) if fn else ''):>16}" for n in names)
        print(f"{label:<{width}}{cells}")
    for n in names:
        p = profiles[n]
        print(f"{n}: {p['description']} (demonstrates {', '.join(p['demonstrated'])})")
    print(
        f"targets: personal <= {TARGET_PERSONAL}, every wrong key (mean over states, max over keys) <= "
        f"{TARGET_WRONG_KEY}, train <= {TARGET_SECONDS:.0f} s per profile. Errors are MSE / variance of the "
        f"held-out demonstration actions. Total {results['total_seconds']} s."
    )
