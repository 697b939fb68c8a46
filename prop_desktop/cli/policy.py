"""`prop-desktop policy ...`: train the base policy from the scripted expert, and describe the shipped one."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prop_desktop.policy.train_base import BaseTrainConfig


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    policy = subparsers.add_parser("policy", help="the base policy: train it from the scripted expert, show its facts")
    sub = policy.add_subparsers(dest="policy_command", metavar="<command>", required=True)

    train = sub.add_parser("train-base", help="train the base policy (seeded, reproducible) and write its files")
    train.add_argument("--out", metavar="DIR", help="folder for base_policy.safetensors/.json (default: resources/)")
    train.add_argument("--seed", type=int, default=0, help="random seed (default 0, the shipped policy)")
    train.add_argument(
        "--quick", action="store_true", help="a tiny, fast configuration (seconds; for checks, not for shipping)"
    )
    train.set_defaults(handler=_train_base)

    info = sub.add_parser("info", help="hash, size and measured quality of the base policy")
    info.add_argument("--path", metavar="DIR", help="folder or file of the policy (default: the shipped one)")
    info.add_argument("--measure", action="store_true", help="re-measure imitation error and success now")
    info.add_argument("--json", metavar="FILE", help="also write the facts as JSON to FILE")
    info.set_defaults(handler=_info)


def quick_config(seed: int) -> BaseTrainConfig:
    from prop_desktop.policy.train_base import BaseTrainConfig

    return BaseTrainConfig(
        seed=seed, hidden=32, instances=80, epochs=2, dagger_rounds=1, dagger_instances=20, dagger_epochs=1,
        final_epochs=1, eval_instances=8, steps=120,
    )


def _train_base(args: argparse.Namespace) -> int:
    import os

    # Before torch loads: idle OpenMP threads sleep instead of spinning (10x slower on a busy 2-core machine).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from prop_desktop.paths import resources_dir
    from prop_desktop.policy.train_base import BaseTrainConfig, write_trained

    out = Path(args.out) if args.out else resources_dir()
    cfg = quick_config(args.seed) if args.quick else BaseTrainConfig(seed=args.seed)
    last = [-1]

    def progress(message: str, fraction: float) -> None:
        pct = int(fraction * 100)
        if pct // 5 != last[0] // 5:
            last[0] = pct
            print(f"  {pct:3d}%  {message}", file=sys.stderr, flush=True)

    try:
        path, info = write_trained(out, cfg, progress)
    except OSError as exc:
        print(f"error: cannot write the policy to {out}: {exc}", file=sys.stderr)
        return 1
    report = info["report"]
    held = report["held_out"]
    print(f"wrote {path} and {path.with_suffix('.json').name} ({path.stat().st_size / 1024:.0f} KiB)")
    print(f"trained in {report['train_seconds']} s on {report['train_samples']} samples")
    print(f"held-out normalized imitation error {held['normalized_error']:.4f}, "
          f"closed-loop success {held['success_rate']:.1%} ({held['eval_instances']} instances)")
    return 0


def _info(args: argparse.Namespace) -> int:
    from prop_desktop.policy.base import (
        DEFAULT_PROP_LAYERS,
        BasePolicyError,
        _paths,
        base_policy_hash,
        load_base_policy,
        load_config,
    )

    try:
        model = load_base_policy(args.path)
        config = load_config(args.path)
        digest = base_policy_hash(args.path)
    except BasePolicyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    weights, _ = _paths(args.path)
    report = config.get("report", {})
    held = report.get("held_out", {})
    if args.measure:
        from prop_desktop.policy.train_base import evaluate

        seed, count = int(held.get("eval_seed", 10_000)), int(held.get("eval_instances", 200))
        held = evaluate(model, seed=seed, n_instances=count)
    facts = {
        "path": str(weights),
        "sha256": digest,
        "size_bytes": weights.stat().st_size,
        "parameters": sum(p.numel() for p in model.parameters()),
        "hidden": config["architecture"]["hidden"],
        "tasks": config["task_names"],
        "default_prop_layers": list(DEFAULT_PROP_LAYERS),
        "train_seconds": report.get("train_seconds"),
        "held_out": held,
    }
    print(f"base policy   {facts['path']}")
    print(f"sha256        {digest}")
    print(f"size          {facts['size_bytes'] / 1024:.0f} KiB, {facts['parameters']} parameters "
          f"(MLP, hidden {facts['hidden']})")
    print(f"tasks         {', '.join(facts['tasks'])}")
    print(f"PRoP layers   {', '.join(facts['default_prop_layers'])}")
    if held:
        print(f"imitation     normalized error {held['normalized_error']:.4f} on held-out expert trajectories"
              f"{' (measured now)' if args.measure else ''}")
        print(f"closed loop   success {held['success_rate']:.1%} over {held['eval_instances']} held-out instances")
        for task, t in held.get("per_task", {}).items():
            print(f"  {task:<10} normalized error {t['normalized_error']:.4f}, success {t['success_rate']:.1%}")
    if args.json:
        Path(args.json).write_text(json.dumps(facts, indent=2) + "\n")
    return 0
