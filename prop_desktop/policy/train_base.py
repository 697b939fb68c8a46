"""Train the shipped base policy from the scripted expert (seeded, reproducible) and measure it.

Recipe: expert rollouts with small execution noise (DART) on sampled task instances, each with random style
numbers (styles.py; a share of them the general way), behaviour cloning with Adam, then DAgger rounds (roll the
policy out with the same style numbers, label the states it visits with that style's expert, train on all).
Writes base_policy.safetensors + base_policy.json (config, normalization lives in the tensors, report).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from prop_desktop.policy.expert import (
    BASE_STYLE,
    STEP_SCALE,
    ExpertStyle,
    choose_waypoint,
    expert_step,
    plan,
    rollout_expert,
    start_poses,
    success,
)
from prop_desktop.policy.kinematics import clip_to_limits
from prop_desktop.policy.model import OBS_DIM, BasePolicy
from prop_desktop.policy.styles import STYLE_DIM, instance_styles, sample_styled
from prop_desktop.policy.tasks import TASK_NAMES, TaskInstance, sample_instances

Progress = Callable[[str, float], None]  # (message, fraction done 0..1)


class TrainingCancelled(RuntimeError):
    pass


@dataclass(frozen=True)
class BaseTrainConfig:
    seed: int = 0
    # Sized for the style space (styles.py), held-out normalized error on the general way / random styles:
    # hidden 192, 3200 episodes, 2x1000 DAgger, 16 epochs: 0.023 / 0.044; hidden 256, 4000, 3x1000, 20 epochs:
    # 0.016 / 0.027; 5000, 4x1200, 24 epochs: 0.013 / 0.024; this (8000, 5x1500, 30 epochs + a final fit of 10
    # over everything; 1078 s wall on 2 cores): 0.0086 / 0.020, and the base's own error in the household
    # profiles' corners of the style space fell by a quarter (kim's 0.051 -> 0.033), the floor an adapter that
    # selects a way cannot beat. The same recipe with the waypoint features (model.py, format 3; 994 s):
    # 0.0022 / 0.0054, and those floors fell 2-10x (kim 0.033 -> 0.019, eli 0.029 -> 0.003, seed 0).
    hidden: int = 256
    instances: int = 8000  # expert episodes (cycling through the tasks)
    dart_noise: float = 0.008  # rad of execution noise while collecting expert data
    steps: int = 160  # ticks per episode
    epochs: int = 30  # behaviour-cloning epochs on the expert data
    dagger_rounds: int = 5
    dagger_instances: int = 1500
    dagger_epochs: int = 6
    final_epochs: int = 10  # a last fit over everything collected (behaviour cloning + every DAgger round)
    batch: int = 1024
    lr: float = 2e-3
    eval_instances: int = 200  # held-out instances for the report
    threads: int = 2
    style_default_share: float = 0.3  # episodes done the general way; the rest with random style numbers


def normalized_step(q: np.ndarray, next_q: np.ndarray) -> np.ndarray:
    """Expert next targets -> the network's target: (q' - q) / STEP_SCALE."""
    result: np.ndarray = ((next_q - q) / STEP_SCALE).astype(np.float32)
    return result


def expert_dataset(
    instances: list[TaskInstance], style: ExpertStyle, seed: int, noise: float, steps: int
) -> tuple[np.ndarray, np.ndarray]:
    """(obs (M, 14), normalized step (M, 6)) from expert rollouts."""
    ro = rollout_expert(instances, style, seed=seed, steps=steps, noise=noise)
    q, ctx, act = ro.flat()
    return np.concatenate([q, ctx], axis=1).astype(np.float32), normalized_step(q, act)


def styled_dataset(
    instances: list[TaskInstance], u: np.ndarray, seed: int, noise: float, steps: int
) -> tuple[np.ndarray, np.ndarray]:
    """(obs + style numbers (M, 14 + STYLE_DIM), normalized step (M, 6)) from rollouts of each episode's style."""
    ro = rollout_expert(instances, instance_styles(instances, u), seed=seed, steps=steps, noise=noise)
    q, ctx, act = ro.flat()
    rows = np.broadcast_to(u[:, None, :], (*ro.valid.shape, STYLE_DIM))[ro.valid]
    return np.concatenate([q, ctx, rows], axis=1).astype(np.float32), normalized_step(q, act)


class _Styled(torch.nn.Module):
    """A base policy run with given style numbers per episode row (base training and its DAgger rollouts)."""

    def __init__(self, model: BasePolicy, u: np.ndarray) -> None:
        super().__init__()
        self.model = model
        self.u = torch.from_numpy(np.asarray(u, dtype=np.float32))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        result: torch.Tensor = self.model(obs, style=self.u)
        return result


@torch.no_grad()
def rollout_policy(
    model: torch.nn.Module,
    instances: list[TaskInstance],
    seed: int,
    steps: int,
    noise: float = 0.0,
    style: ExpertStyle | list[ExpertStyle] = BASE_STYLE,
    label: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Closed-loop rollouts of `model` (any obs -> normalized step module) on the simulated kinematics.

    Returns the joint trajectories (N, T, 6), observations (N, T, 14) and, with `label`, the expert's
    normalized step for every visited state (N, T, 6).
    """
    rng = np.random.default_rng(seed)
    n = len(instances)
    ctx = np.stack([i.context() for i in instances]).astype(np.float32)
    q = start_poses(n, rng)
    p = plan(instances, style) if label else None
    qs = np.zeros((n, steps, 6), dtype=np.float32)
    labels = np.zeros((n, steps, 6), dtype=np.float32) if label else None
    base = model if isinstance(model, BasePolicy) else next(m for m in model.modules() if isinstance(m, BasePolicy))
    for t in range(steps):
        qs[:, t] = q
        if label:
            assert labels is not None and p is not None  # made above when `label`
            labels[:, t] = normalized_step(q, expert_step(q, p, choose_waypoint(q, p)))
        obs = torch.from_numpy(np.concatenate([q, ctx], axis=1).astype(np.float32))
        nxt = base.next_targets(obs, model(obs)).numpy().astype(np.float64)
        if noise > 0:
            nxt = nxt + rng.normal(0.0, noise, size=nxt.shape)
        q = clip_to_limits(nxt)
    obs_all = np.concatenate([qs, np.broadcast_to(ctx[:, None], (n, steps, ctx.shape[1]))], axis=2)
    return qs, obs_all.astype(np.float32), labels


def normalized_error(pred: np.ndarray, target: np.ndarray) -> float:
    """Sum over joints of the MSE divided by the sum over joints of the target's variance."""
    return float(np.sum(np.mean((pred - target) ** 2, axis=0)) / max(np.sum(np.var(target, axis=0)), 1e-12))


@torch.no_grad()
def evaluate(
    model: torch.nn.Module, seed: int, n_instances: int = 200, style: ExpertStyle = BASE_STYLE, steps: int = 160
) -> dict[str, Any]:
    """Imitation error on held-out expert trajectories and closed-loop success, overall and per task."""
    rng = np.random.default_rng(seed)
    instances = sample_instances(n_instances, rng)
    obs, target = expert_dataset(instances, style, seed=seed + 1, noise=0.0, steps=steps)
    pred = model(torch.from_numpy(obs)).numpy()
    tasks = np.argmax(obs[:, 6:10], axis=1)
    qs, _, _ = rollout_policy(model, instances, seed=seed + 2, steps=steps, style=style)
    ok = np.array([success(qs[i], inst, style) for i, inst in enumerate(instances)])
    names = np.array([i.task for i in instances])
    return {
        "normalized_error": normalized_error(pred, target),
        "mse": float(np.mean((pred - target) ** 2)),
        "success_rate": float(ok.mean()),
        "per_task": {
            name: {
                "normalized_error": normalized_error(pred[tasks == k], target[tasks == k]),
                "success_rate": float(ok[names == name].mean()),
            }
            for k, name in enumerate(TASK_NAMES)
        },
        "eval_instances": n_instances,
        "eval_seed": seed,
    }


@torch.no_grad()
def evaluate_styles(model: BasePolicy, seed: int, n_instances: int = 200, steps: int = 160) -> dict[str, Any]:
    """Closed-loop success and imitation error across random style numbers (how well the base knows other ways)."""
    rng = np.random.default_rng(seed)
    instances, u = sample_styled(n_instances, rng, default_share=0.0)
    obs, target = styled_dataset(instances, u, seed=seed + 1, noise=0.0, steps=steps)
    x = torch.from_numpy(obs)
    pred = model(x[:, :OBS_DIM], style=x[:, OBS_DIM:]).numpy()
    styles = instance_styles(instances, u)
    qs, _, _ = rollout_policy(_Styled(model, u), instances, seed=seed + 2, steps=steps + 20)
    ok = np.array([success(qs[i], inst, styles[i]) for i, inst in enumerate(instances)])
    names = np.array([i.task for i in instances])
    return {
        "normalized_error": normalized_error(pred, target),
        "success_rate": float(ok.mean()),
        "per_task_success": {name: float(ok[names == name].mean()) for name in TASK_NAMES},
        "eval_instances": n_instances,
        "eval_seed": seed,
    }


def _fit(
    model: BasePolicy,
    obs: np.ndarray,
    target: np.ndarray,
    epochs: int,
    cfg: BaseTrainConfig,
    gen: torch.Generator,
    tick: Callable[[float], None],
) -> float:
    # The style is given and fixed here, so the features (the waypoint IK among them) are computed once per
    # fit, in chunks, not once per batch and epoch.
    with torch.no_grad():
        rows = torch.from_numpy(obs)
        x = torch.cat([model.normalized_features(rows[i : i + 65_536, :OBS_DIM], rows[i : i + 65_536, OBS_DIM:])
                       for i in range(0, len(rows), 65_536)])
    y = torch.from_numpy(target)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    n_batches = max(1, len(x) // cfg.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=epochs * n_batches, pct_start=0.15)
    loss = torch.zeros(())
    for epoch in range(epochs):
        perm = torch.randperm(len(x), generator=gen)
        for b in range(n_batches):
            idx = perm[b * cfg.batch : (b + 1) * cfg.batch]
            loss = torch.mean((model.from_features(x[idx]) - y[idx]) ** 2)
            opt.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]  # torch leaves it unannotated
            opt.step()
            sched.step()
        tick((epoch + 1) / epochs)
    return float(loss.detach())


def train_base_policy(
    cfg: BaseTrainConfig = BaseTrainConfig(),
    progress: Progress | None = None,
    cancel: Callable[[], bool] | None = None,
) -> tuple[BasePolicy, dict[str, Any]]:
    """Train from scratch; deterministic for a given config (CPU, same thread count)."""
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    started, cpu_started = time.perf_counter(), time.process_time()
    stages = 1 + cfg.dagger_rounds + (1 if cfg.final_epochs else 0)

    def tick(stage: int, message: str) -> Callable[[float], None]:
        def report(frac: float) -> None:
            if cancel is not None and cancel():
                raise TrainingCancelled("base policy training cancelled")
            if progress is not None:
                progress(message, (stage + frac) / stages)

        return report

    instances, u = sample_styled(cfg.instances, rng, cfg.style_default_share)
    obs, target = styled_dataset(instances, u, cfg.seed + 11, cfg.dart_noise, cfg.steps)
    model = BasePolicy(cfg.hidden)
    xs = torch.from_numpy(obs)
    model.set_normalization(xs[:, :OBS_DIM], xs[:, OBS_DIM:])
    losses = [_fit(model, obs, target, cfg.epochs, cfg, gen, tick(0, "behaviour cloning"))]
    for r in range(cfg.dagger_rounds):
        fresh, fresh_u = sample_styled(cfg.dagger_instances, rng, cfg.style_default_share)
        _, visited, labels = rollout_policy(
            _Styled(model, fresh_u), fresh, cfg.seed + 101 + r, cfg.steps,
            noise=cfg.dart_noise, style=instance_styles(fresh, fresh_u), label=True,
        )
        assert labels is not None  # label=True
        rows = np.broadcast_to(fresh_u[:, None, :], (*visited.shape[:2], STYLE_DIM))
        obs = np.concatenate([obs, np.concatenate([visited, rows], axis=2).reshape(-1, OBS_DIM + STYLE_DIM)])
        target = np.concatenate([target, labels.reshape(-1, 6)])
        losses.append(_fit(model, obs, target, cfg.dagger_epochs, cfg, gen, tick(1 + r, f"DAgger round {r + 1}")))
    if cfg.final_epochs:
        losses.append(_fit(model, obs, target, cfg.final_epochs, cfg, gen, tick(stages - 1, "final fit")))
    train_seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    model.eval()
    report = {
        "train_seconds": round(train_seconds, 1),
        "train_cpu_seconds": round(cpu_seconds, 1),  # wall time is noisy on a shared machine; CPU time less so
        "train_samples": int(len(obs)),
        "final_losses": losses,
        "held_out": evaluate(model, seed=cfg.seed + 10_000, n_instances=cfg.eval_instances),
        "held_out_styles": evaluate_styles(model, seed=cfg.seed + 20_000, n_instances=cfg.eval_instances),
    }
    return model, {"config": asdict(cfg), "report": report}


def write_trained(out_dir: Path, cfg: BaseTrainConfig, progress: Progress | None = None) -> tuple[Path, dict[str, Any]]:
    from prop_desktop.policy.base import save_base_policy

    model, info = train_base_policy(cfg, progress)
    path = save_base_policy(model, out_dir, info["config"], info["report"])
    return path, info
