"""`prop-desktop bench inference`: latency of one policy step (batch 1) with a PRoP adapter and a key.

The policy is the shipped SO-101 base policy when its files exist, else the same architecture untrained (latency
does not depend on the weights' values), else an equivalent MLP. The adapter modulates the policy's default PRoP
layers; its encoders start as matched filters of the key (as training does after stage 2). δ for a fixed key is
cached, so a step costs the base forward plus one multiply per wrapped layer.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--steps", type=int, default=5000, help="timed policy steps per variant")
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (batch 1 is fastest on one)")
    parser.add_argument("--seed", type=int, default=0)


def load_policy() -> tuple[Any, list[str], str]:
    """(policy, layer names to wrap, description)."""
    try:
        from prop_desktop.policy.base import DEFAULT_PROP_LAYERS, load_base_policy

        try:
            return load_base_policy(), list(DEFAULT_PROP_LAYERS), "shipped SO-101 base policy"
        except Exception:  # noqa: BLE001 - no shipped weights in this checkout: same architecture, fresh weights
            from prop_desktop.policy.model import BasePolicy

            return BasePolicy(), list(DEFAULT_PROP_LAYERS), "SO-101 base policy architecture (untrained weights)"
    except ImportError:
        from torch import nn

        mlp = nn.Sequential(
            nn.Linear(14, 192), nn.SiLU(), nn.Linear(192, 192), nn.SiLU(), nn.Linear(192, 192), nn.SiLU(),
            nn.Linear(192, 6),
        )
        return mlp, ["2", "4", "6"], "equivalent MLP 14-192-192-192-6"


def run(args: argparse.Namespace) -> int:
    # Before torch loads OpenMP: idle threads sleep instead of spinning. On a shared 2-core machine spinning peers
    # make every small op wait for a descheduled thread (measured here: adapter training 44 s -> 4 s on 2 threads).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import torch

    from prop_desktop.prop import key_to_signs, new_key, wrap

    torch.set_num_threads(max(1, int(args.threads)))
    torch.manual_seed(args.seed)
    policy, layers, description = load_policy()
    policy.eval()
    keyed = wrap(policy, layers)
    key = new_key()
    generator = torch.Generator().manual_seed(args.seed)
    targets = {n: 1.0 + 0.3 * torch.randn(d, generator=generator) for n, d in keyed.layer_dims.items()}
    keyed.encoders.init_matched(key_to_signs(key), targets, generator)
    obs_dim = _input_dim(policy)
    obs = torch.randn(1, obs_dim, generator=generator) * 0.3

    other_keys = [new_key() for _ in range(64)]
    from prop_desktop.prop import compile_for_control

    # What a control loop does once the key is known: δ folded into the weights, traced and frozen.
    compiled = compile_for_control(keyed.specialize(key), obs)
    # The app's adapters are scoped to the tasks shown (prop/scope.py): the folded copy and the base, picked per
    # row, twice the work of one forward pass. Scoped to a column obs sets (nonzero), so the step is personal.
    keyed.scope = (0,)
    scoped = compile_for_control(keyed.specialize(key), obs)
    keyed.scope = None
    variants = {
        "base (no key)": lambda i: keyed(obs),
        "adapter + key (δ cached)": lambda i: keyed(obs, key=key),
        "adapter + key, compiled": lambda i: compiled(obs),
        "adapter, new key every step": lambda i: keyed(obs, key=other_keys[i % 64]),
        "scoped adapter + key, compiled": lambda i: scoped(obs),
    }
    results: dict[str, Any] = {"policy": description, "layers": layers, "threads": int(args.threads)}
    rows = []
    with torch.inference_mode():
        for name, fn in variants.items():
            p50, p99, mean = _time(fn, args.steps, args.warmup)
            rows.append((name, p50, p99, mean))
    results["p50_ms"], results["p99_ms"], results["mean_ms"] = rows[1][1], rows[1][2], rows[1][3]
    results["base_p50_ms"], results["base_p99_ms"] = rows[0][1], rows[0][2]
    results["compiled_p50_ms"], results["compiled_p99_ms"] = rows[2][1], rows[2][2]
    results["uncached_p50_ms"], results["uncached_p99_ms"] = rows[3][1], rows[3][2]
    results["scoped_compiled_p50_ms"], results["scoped_compiled_p99_ms"] = rows[4][1], rows[4][2]

    print(f"policy: {description}; wrapped layers {layers}; batch 1; {args.threads} thread(s); {args.steps} steps")
    print(f"{'variant':>30}  {'p50 ms':>8}  {'p99 ms':>8}  {'mean ms':>8}")
    for name, p50, p99, mean in rows:
        print(f"{name:>30}  {p50:8.4f}  {p99:8.4f}  {mean:8.4f}")
    print("target: p99 <= 0.3 ms for one policy step with an adapter ('adapter + key' rows)")
    if getattr(args, "json", None):
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=2)
    return 0


def _input_dim(policy: Any) -> int:
    try:
        from prop_desktop.policy.model import OBS_DIM, BasePolicy

        if isinstance(policy, BasePolicy):
            return int(OBS_DIM)
    except ImportError:
        pass
    first = next(m for m in policy.modules() if hasattr(m, "in_features"))
    return int(first.in_features)


def _time(fn: Callable[[int], object], steps: int, warmup: int) -> tuple[float, float, float]:
    import numpy as np

    for i in range(warmup):
        fn(i)
    samples = np.empty(steps)
    clock = time.perf_counter_ns
    for i in range(steps):
        start = clock()
        fn(i)
        samples[i] = clock() - start
    samples /= 1e6
    return float(np.percentile(samples, 50)), float(np.percentile(samples, 99)), float(samples.mean())
