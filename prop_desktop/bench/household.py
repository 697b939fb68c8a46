"""`prop-desktop bench household`: household members personalize the shipped base policy with PRoP.

Each profile's demonstrations come from a modified expert (prop_desktop/policy/personalize.py) on the tasks
that person demonstrates; the profiles cover every personalization alone and in combination, and one wish
that depends on where the item stands. Per profile we train one adapter (keys 128 bits, trunk delta merged
with α chosen automatically) and measure, on held-out data:

- personal: correct key vs held-out demonstrations of the same person;
- none / random / other / near d: wrong keys vs the base policy, on held-out demonstration states and on
  base-distribution states of every task (mean and max over keys);
- retention: correct key vs the base policy on the tasks the person did not demonstrate;
- base_gap: the base policy vs the person's demonstrations (how different the personalization is);
- base_floor: the base policy vs its own expert on the same tasks (the imitation floor a key builds on).

Every error is normalized: MSE over the 6 action dimensions divided by the variance of the person's held-out
demonstration actions (normalized joint steps, summed over dimensions). 0 is perfect; 1 is as bad as always
predicting the mean action. Closed-loop: rollouts on `--instances` held-out instances (default 48) on the
simulated kinematics with the key (judged against the person's expert, with a 95 % Wilson interval) and
without (judged against the base expert).

`--corrections N`: N rounds of human-gated DAgger (prop_desktop/policy/corrections.py). A simulated person
drives the personalized policy, takes over where it leaves their way, and the adapter is retrained
warm-started on demonstrations + corrections; every round is measured like the first adapter.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--demos", type=int, default=10, help="demonstrations per profile (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="seed for demonstrations and keys (default 0)")
    parser.add_argument("--profiles", help="comma-separated subset of the profiles (default: all)")
    parser.add_argument("--instances", type=int, default=48, help="held-out closed-loop instances (default 48)")
    parser.add_argument("--corrections", type=int, default=0, help="correction rounds after training (default 0)")
    parser.add_argument("--round-seconds", type=float, default=6.0,
                        help="engine budget per retrain (default 6; the round then takes <= 10 s)")
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
    known = {p.name: p for p in BENCH_PROFILES}
    wanted = list(known) if args.profiles is None else [p.strip() for p in args.profiles.split(",") if p.strip()]
    unknown = [p for p in wanted if p not in known]
    if unknown or not wanted:
        print(f"error: unknown profile(s) {unknown or wanted}; choose from {', '.join(known)}", file=sys.stderr)
        return 2
    if args.demos < 2:
        print("error: --demos must be at least 2 (one is held out for choosing α)", file=sys.stderr)
        return 2
    if args.instances < 1 or args.corrections < 0 or args.corrections > 10:
        print("error: --instances must be >= 1 and --corrections between 0 and 10", file=sys.stderr)
        return 2
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    try:
        results = evaluate_profiles(
            [known[p] for p in wanted],
            demos=args.demos,
            seed=args.seed,
            corrections=args.corrections,
            instances=args.instances,
            round_seconds=args.round_seconds,
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
    # Training is budgeted in wall time, so a busy machine trains less: keep the load with the numbers.
    results["load_average_1min"] = {"start": round(load_before, 2), "end": round(os.getloadavg()[0], 2)}
    results["seed"] = args.seed
    _print_table(results)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2, default=lambda o: float(o) if isinstance(o, np.floating) else str(o))
            fh.write("\n")
    return 0


Cell = Callable[[dict[str, Any]], str]  # one profile's entry -> the text of its cell


def _near_cell(distance: str) -> Cell:
    return lambda r: f"{_fmt(r['near'][distance]['mean'])}/{_fmt(r['near'][distance]['max'])}"


def _in_round(i: int, cell: Cell) -> Cell:
    """A cell of correction round i (the entry's `rounds[i]`)."""
    return lambda r: cell(r["rounds"][i])


def _print_table(results: dict[str, Any]) -> None:
    profiles = results["profiles"]
    names = list(profiles)
    rows: list[tuple[str, Cell | str]] = [
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
        rows.append((f"  near {d:>2} bits (mean/max)", _near_cell(str(d))))
    rows += [
        ("  worst wrong key (max)", lambda r: _fmt(r["wrong_key_max"])),
        ("retention (undemonstrated)", lambda r: _fmt(r["retention"])),
        ("closed loop", ""),
        ("  success with key", lambda r: f"{r['success_with_key']:.0%}"),
        ("  95% interval", lambda r: f"{r['success_ci'][0]:.0%}-{r['success_ci'][1]:.0%}"),
        ("  base success without key", lambda r: f"{r['success_no_key']:.0%}"),
        ("train seconds", lambda r: f"{r['train_seconds']:.1f}"),
        ("chosen alpha", lambda r: f"{r['alpha']:.2f}"),
    ]
    for i in range(results["corrections"]):
        rows += [
            (f"after correction round {i + 1}", ""),
            ("  corrected episodes (rows)", _in_round(i, lambda g: f"{g['corrected_episodes']} "
                                                      f"({g['correction_rows']})")),
            ("  success with key", _in_round(i, lambda g: f"{g['success_with_key']:.0%}")),
            ("  95% interval", _in_round(i, lambda g: f"{g['success_ci'][0]:.0%}-{g['success_ci'][1]:.0%}")),
            ("  personal (correct key)", _in_round(i, lambda g: _fmt(g["personal"]))),
            ("  worst wrong key (max)", _in_round(i, lambda g: _fmt(g["wrong_key_max"]))),
            ("  retention", _in_round(i, lambda g: _fmt(g["retention"]))),
            ("  retrain seconds", _in_round(i, lambda g: f"{g['seconds']:.1f}")),
        ]
    rows.append(("meets targets", lambda r: "yes" if r["meets_targets"] else "NO"))
    width, cell = 30, 15
    print(f"bench household - base policy {results['base_hash'][:12]}, {results['demos']} demonstrations per profile, "
          f"{results['instances']} closed-loop instances")
    print(f"{'':<{width}}" + "".join(f"{n:>{cell}}" for n in names))
    for label, fn in rows:
        cells = "".join(f"{(fn(profiles[n]) if callable(fn) else ''):>{cell}}" for n in names)
        print(f"{label:<{width}}{cells}")
    for n in names:
        p = profiles[n]
        print(f"{n}: {p['description']} (demonstrates {', '.join(p['demonstrated'])})")
    t = results["targets"]
    print(
        f"targets: success with key >= {t['success_with_key']:.0%} and personal <= {t['personal']} from the "
        f"demonstrations, >= {t['success_after_corrections']:.0%} and <= {t['personal_after_corrections']} after "
        f"corrections; every wrong key (mean over states, max over keys) <= {t['wrong_key']}; retention <= "
        f"{t['retention']}; train <= {t['seconds']:.0f} s per profile, <= {t['round_seconds']:.0f} s per round. "
        f"Errors are MSE / variance of the held-out demonstration actions. Total {results['total_seconds']} s."
    )
