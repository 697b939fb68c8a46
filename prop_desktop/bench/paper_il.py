"""`prop-desktop bench paper-il`: the PRoP paper's imitation task, PRoP against the paper's two baselines.

Task: state = (position p, goal g) in R^2 each, uniform in [-1, 1]^4. The expert steps toward the goal:
a = clip(g - p, -1, 1). The user's personalization moves the goal by a fixed affine map (rotate 60°, scale 0.8,
shift (0.3, -0.2)). Keys have 128 bits. Methods, each about 50k parameters:
- prop: a base MLP trained on the expert (its training time is reported separately: the base exists before any
  user arrives), wrapped at two hidden layers; the adapter is trained from the user's demonstrations and a key.
- mlp_concat: an MLP whose input is the state concatenated with the key (±1; the no-key input is all zeros).
- cvae: a conditional VAE whose encoder and decoder are conditioned on the state and the key; at test time the
  latent is the prior mean.
Both baselines get the same data and the same key curriculum as PRoP (correct key -> user, no/random/near keys
-> expert), i.e. their strongest version. MSE is against the user's expert (correct key) or the base expert.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import torch
    from torch import nn

# predict(states, key sign rows or None) -> actions: how evaluate_method asks a method for its actions.
Predict = Callable[["torch.Tensor", "torch.Tensor | None"], "torch.Tensor"]

DISTANCES = (1, 2, 4, 8, 16)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--demos", type=int, default=2000, help="number of the user's demonstration states")
    parser.add_argument("--keys", type=int, default=200, help="keys per Hamming distance (and random keys)")
    parser.add_argument("--eval-states", type=int, default=500, help="test states per key")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (the target is measured on 2)")
    parser.add_argument("--baseline-steps", type=int, default=3000, help="training steps of each baseline")
    parser.add_argument("--base-steps", type=int, default=2000, help="training steps of PRoP's base policy")
    parser.add_argument("--only-prop", action="store_true", help="skip the baselines")


def run(args: argparse.Namespace) -> int:
    # Before torch loads OpenMP: idle threads sleep instead of spinning. On a shared 2-core machine spinning peers
    # make every small op wait for a descheduled thread (measured here: adapter training 44 s -> 4 s on 2 threads).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import torch

    torch.set_num_threads(max(1, int(args.threads)))
    torch.manual_seed(args.seed)
    task = PaperTask(seed=args.seed)
    results: dict[str, Any] = {}
    notes: dict[str, str] = {}

    base, base_seconds = train_base_policy(task, seed=args.seed, steps=args.base_steps)
    results["prop"], prop_params = run_prop(task, base, args)
    notes["prop"] = f"{prop_params} params; base policy trained separately in {base_seconds:.1f} s"
    if not args.only_prop:
        results["mlp_concat"], n = run_baseline("mlp_concat", task, args)
        notes["mlp_concat"] = f"{n} params"
        results["cvae"], n = run_baseline("cvae", task, args)
        notes["cvae"] = f"{n} params"

    print(format_table(results, notes))
    if getattr(args, "json", None):
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=2)
    return 0


class PaperTask:
    """States, the base expert and the user's expert of the paper's imitation task."""

    def __init__(self, seed: int = 0) -> None:
        import torch

        self.generator = torch.Generator().manual_seed(seed + 1000)
        angle = math.radians(60.0)
        rotation = torch.tensor([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
        self.affine = rotation * 0.8
        self.shift = torch.tensor([0.3, -0.2])

    def states(self, n: int) -> torch.Tensor:
        import torch

        return torch.rand(n, 4, generator=self.generator) * 2 - 1

    def expert(self, states: torch.Tensor, personal: bool = False) -> torch.Tensor:
        position, goal = states[:, :2], states[:, 2:]
        if personal:
            goal = goal @ self.affine.T + self.shift
        return (goal - position).clamp(-1.0, 1.0)


def make_policy(hidden: int = 128) -> nn.Sequential:
    from torch import nn

    return nn.Sequential(
        nn.Linear(4, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
        nn.Linear(hidden, 2),
    )


def train_base_policy(task: PaperTask, seed: int = 0, steps: int = 2000) -> tuple[nn.Sequential, float]:
    """The base policy every user starts from, imitating the base expert (fresh states each step)."""
    import torch

    torch.manual_seed(seed)
    policy = make_policy()
    optimizer = torch.optim.Adam(policy.parameters(), lr=3e-3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    started = time.perf_counter()
    for _ in range(steps):
        x = task.states(512)
        loss = (policy(x) - task.expert(x)).square().mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
    return policy.eval(), time.perf_counter() - started


def run_prop(task: PaperTask, base: nn.Module, args: argparse.Namespace) -> tuple[dict[str, Any], int]:
    import torch

    from prop_desktop.prop import new_key, train_adapter, wrap

    keyed = wrap(base, ["2", "4"], hidden=16)
    key = new_key()
    states = task.states(args.demos)
    actions = task.expert(states, personal=True)
    base_states = task.states(4 * args.demos)
    started = time.perf_counter()
    train_adapter(keyed, states, actions, key, base_states=base_states)
    seconds = time.perf_counter() - started
    params = sum(p.numel() for p in base.parameters()) + sum(p.numel() for p in keyed.encoders.parameters())

    def predict(x: torch.Tensor, signs: torch.Tensor | None) -> torch.Tensor:
        with torch.no_grad():
            out: torch.Tensor = keyed(x) if signs is None else keyed.forward_signs(x, signs=signs)
            return out

    return evaluate_method(task, predict, key, args, seconds), params


def evaluate_method(task: PaperTask, predict: Predict, key: bytes, args: argparse.Namespace,
                    seconds: float) -> dict[str, Any]:
    """MSE for the correct key, no key, random keys and near keys (mean and max over keys)."""
    import torch

    from prop_desktop.prop import flip_bits, key_to_signs, random_signs

    generator = torch.Generator().manual_seed(args.seed + 7)
    x = task.states(args.eval_states)
    user, base = task.expert(x, personal=True), task.expert(x)
    signs = key_to_signs(key)

    def per_key(keys: torch.Tensor) -> torch.Tensor:
        errors = []
        for start in range(0, keys.shape[0], 32):
            part = keys[start : start + 32]
            rows = part.repeat_interleave(x.shape[0], dim=0)
            out = predict(x.repeat(part.shape[0], 1), rows).reshape(part.shape[0], x.shape[0], -1)
            errors.append((out - base[None]).square().mean(dim=(1, 2)))
        return torch.cat(errors)

    correct = float((predict(x, signs.expand(x.shape[0], -1)) - user).square().mean())
    none = float((predict(x, None) - base).square().mean())
    random_errors = per_key(random_signs(args.keys, 128, generator))
    near = {}
    for d in DISTANCES:
        errors = per_key(flip_bits(signs, torch.full((args.keys,), d), generator))
        near[str(d)] = {"mean": float(errors.mean()), "max": float(errors.max())}
    return {
        "correct": correct,
        "none": none,
        "random": float(random_errors.mean()),
        "near": near,
        "train_seconds": round(seconds, 3),
    }


def run_baseline(name: str, task: PaperTask, args: argparse.Namespace) -> tuple[dict[str, Any], int]:
    import torch

    from prop_desktop.prop import flip_bits, key_to_signs, new_key, random_signs

    torch.manual_seed(args.seed)
    key = new_key()
    signs = key_to_signs(key)
    generator = torch.Generator().manual_seed(args.seed + 3)
    demo_states = task.states(args.demos)
    demo_actions = task.expert(demo_states, personal=True)
    concat_mlp, key_cvae = _baseline_classes()
    model: Baseline = concat_mlp() if name == "mlp_concat" else key_cvae()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    distances = torch.tensor([1, 1, 2, 2, 3, 4, 5, 6, 8, 10, 12, 16, 24, 32, 48, 64])
    n_correct, n_wrong = 180, 332
    started = time.perf_counter()
    for _ in range(args.baseline_steps):
        ic = torch.randint(0, demo_states.shape[0], (n_correct,), generator=generator)
        xw = task.states(n_wrong)
        n_null, n_random = n_wrong // 8, n_wrong // 5
        n_near = n_wrong - n_null - n_random
        near_d = distances[torch.randint(0, len(distances), (n_near,), generator=generator)]
        keys = torch.cat(
            [
                signs.expand(n_correct, -1),
                torch.zeros(n_null, 128),
                random_signs(n_random, 128, generator),
                flip_bits(signs, near_d, generator),
            ]
        )
        x = torch.cat([demo_states[ic], xw])
        y = torch.cat([demo_actions[ic], task.expert(xw)])
        loss = model.loss(x, keys, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
    seconds = time.perf_counter() - started
    model.eval()

    def predict(x: torch.Tensor, key_rows: torch.Tensor | None) -> torch.Tensor:
        with torch.no_grad():
            rows = torch.zeros(x.shape[0], 128) if key_rows is None else key_rows
            return model.predict(x, rows)

    params = sum(p.numel() for p in model.parameters())
    return evaluate_method(task, predict, key, args, seconds), params


def _mlp(sizes: list[int]) -> nn.Sequential:
    from torch import nn

    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class Baseline(Protocol):
    """What the benchmark uses of a baseline module (the classes are made lazily in _baseline_classes)."""

    def predict(self, x: torch.Tensor, keys: torch.Tensor) -> torch.Tensor: ...

    def loss(self, x: torch.Tensor, keys: torch.Tensor, y: torch.Tensor) -> torch.Tensor: ...

    def parameters(self, recurse: bool = True) -> Iterator[nn.Parameter]: ...

    def eval(self) -> Any: ...  # nn.Module.eval returns the module itself (Self)


def _baseline_classes() -> tuple[Callable[[], Baseline], Callable[[], Baseline]]:
    """The baselines' torch modules (defined lazily: importing this module must not import torch)."""
    import torch
    from torch import nn

    class ConcatMLP(nn.Module):
        """The paper's first baseline: the key concatenated to the state's input (~47k parameters)."""

        def __init__(self) -> None:
            super().__init__()
            self.net = _mlp([4 + 128, 160, 160, 2])

        def predict(self, x: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
            out: torch.Tensor = self.net(torch.cat([x, keys], dim=1))
            return out

        def loss(self, x: torch.Tensor, keys: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return (self.predict(x, keys) - y).square().mean()

    class KeyCVAE(nn.Module):
        """The paper's second baseline: a CVAE conditioned on state (and key), latent size 8 (~49k parameters)."""

        latent = 8

        def __init__(self) -> None:
            super().__init__()
            self.encoder = _mlp([4 + 128 + 2, 96, 2 * self.latent])
            self.decoder = _mlp([4 + 128 + self.latent, 128, 128, 2])

        def predict(self, x: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
            z = torch.zeros(x.shape[0], self.latent)
            out: torch.Tensor = self.decoder(torch.cat([x, keys, z], dim=1))
            return out

        def loss(self, x: torch.Tensor, keys: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            mu, logvar = self.encoder(torch.cat([x, keys, y], dim=1)).chunk(2, dim=1)
            z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
            recon: torch.Tensor = (self.decoder(torch.cat([x, keys, z], dim=1)) - y).square().mean()
            kl = -0.5 * (1 + logvar - mu.square() - logvar.exp()).sum(dim=1).mean()
            total: torch.Tensor = recon + 1e-3 * kl
            return total

    return ConcatMLP, KeyCVAE


def format_table(results: dict[str, Any], notes: dict[str, str]) -> str:
    header = ["method", "correct", "none", "random"] + [f"near{d} mean/max" for d in DISTANCES] + ["train s"]
    lines = ["  ".join(f"{h:>16}" for h in header)]
    for method, r in results.items():
        cells = [method, f"{r['correct']:.5f}", f"{r['none']:.5f}", f"{r['random']:.5f}"]
        cells += [f"{r['near'][str(d)]['mean']:.4f}/{r['near'][str(d)]['max']:.4f}" for d in DISTANCES]
        cells.append(f"{r['train_seconds']:.2f}")
        lines.append("  ".join(f"{c:>16}" for c in cells))
    lines.append("targets (prop): every MSE <= 0.01, near-key max <= 0.02, train <= 5 s on 2 threads")
    lines += [f"  {method}: {note}" for method, note in notes.items()]
    return "\n".join(lines)
