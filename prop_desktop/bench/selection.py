"""`prop-desktop bench selection`: how often the selection lands on a person's own style numbers.

For each household profile whose way the style numbers can express, each seed and each row sample (sample 0
is the one `bench household` trains on at that seed), the selection alone is fitted to ten demonstrations and
its error on twenty fresh demonstrations is set against the base run with the person's exact numbers
(prop_desktop/policy/selection_eval.py). A case is "on the numbers" when it is within 1.2x + 0.002 of them.
"""

from __future__ import annotations

import argparse
import json
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seeds", default="0,1,2,3,4,5", help="comma-separated seeds (default 0,1,2,3,4,5)")
    parser.add_argument("--samples", type=int, default=2, help="row samples per seed (default 2; 0 = the bench's)")
    parser.add_argument("--profiles", help="comma-separated subset of the profiles (default: every selectable one)")
    parser.add_argument("--policy", metavar="DIR", help="base policy folder (default: the shipped one)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")


def run(args: argparse.Namespace) -> int:
    import torch

    from prop_desktop.policy.base import BasePolicyError
    from prop_desktop.policy.personalize import BENCH_PROFILES
    from prop_desktop.policy.selection_eval import evaluate_selection, selectable, summary, to_json

    torch.set_num_threads(args.threads)
    indexed = {p.name: (k, p) for k, p in enumerate(BENCH_PROFILES)}
    names = [p.name for p in BENCH_PROFILES if selectable(p)] if args.profiles is None else [
        n.strip() for n in args.profiles.split(",") if n.strip()]
    wrong = [n for n in names if n not in indexed or not selectable(indexed[n][1])]
    try:
        seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    except ValueError:
        print(f"error: --seeds takes whole numbers separated by commas, got {args.seeds!r}", file=sys.stderr)
        return 2
    if wrong or not names or not seeds or args.samples < 1:
        choices = ", ".join(p.name for p in BENCH_PROFILES if selectable(p))
        print(f"error: profiles must be selectable ones ({choices}), seeds at least one, --samples >= 1; "
              f"got profiles {wrong or names}", file=sys.stderr)
        return 2
    try:
        cases = evaluate_selection([indexed[n] for n in names], seeds, args.samples, policy_path=args.policy)
    except BasePolicyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{'profile':<8}{'seed':>5}{'sample':>7}{'held-out':>10}{'exact':>8}{'s':>6}  numbers (exact)")
    for c in cases:
        mark = "" if c.on_exact else "  MISSED"
        print(f"{c.profile:<8}{c.seed:>5}{c.sample:>7}{c.held_out:>10.4f}{c.exact:>8.4f}{c.seconds:>6.1f}  "
              f"{c.numbers} ({c.exact_numbers}){mark}")
    s = summary(cases)
    print(f"on the person's numbers: {s['on_exact']} of {s['cases']} ({s['bench_samples_on_exact']} of "
          f"{s['bench_samples']} on the bench's own samples); worst held-out {s['worst_held_out']:.4f} "
          f"({s['worst_case']}), worst ratio to exact {s['worst_ratio']:.2f}; {s['mean_seconds']:.1f} s per fit "
          f"(max {s['max_seconds']:.1f})")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(to_json(cases), fh, indent=2)
            fh.write("\n")
    return 0
