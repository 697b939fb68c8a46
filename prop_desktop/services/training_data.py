"""From recorded episodes to the PRoP dataset, in the base policy's own observation and action format.

Observation (14,) = measured joints q (6, rad) + the task context (8,) of the scene the episode was recorded
in (meta["context"]). Action (6,) = the base policy's normalized step (q' - q) / STEP_SCALE, q' being the
next joint target one policy tick (1 / RATE_HZ s) later (see `episode_rows` for how it is labelled).
Episodes are resampled at the policy's rate from their own timestamps, never from sample indices.
Everything stays in memory: plaintext demonstrations never touch disk.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from prop_desktop.services.errors import NotEnoughDataError

if TYPE_CHECKING:
    from prop_desktop.policy.tasks import TaskInstance

MIN_ROWS = 8  # fewer policy ticks than this is not a demonstration (under half a second)


@dataclass
class DemoSet:
    states: np.ndarray  # (n, 14) float32
    actions: np.ndarray  # (n, 6) float32, normalized steps clipped to [-1, 1]
    tasks: list[str]  # per episode
    contexts: list[np.ndarray]  # per episode (8,)
    episode_ids: list[str]
    rows_per_episode: list[int]
    skipped: list[str] = field(default_factory=list)  # plain reasons for episodes left out

    def row_episodes(self) -> np.ndarray:
        """The recording (its index in episode_ids) each row of `states` comes from."""
        result: np.ndarray = np.repeat(np.arange(len(self.episode_ids)), self.rows_per_episode)
        return result


def episode_context(meta: dict[str, Any]) -> np.ndarray:
    """The task context the episode was recorded with (meta["context"]), or the task's default scene."""
    from prop_desktop.policy.tasks import CONTEXT_DIM

    ctx = meta.get("context")
    if ctx is not None:
        arr = np.asarray(ctx, dtype=np.float32).reshape(-1)
        if arr.shape == (CONTEXT_DIM,) and np.all(np.isfinite(arr)):
            return arr
    from prop_desktop.services.scenes import default_scene

    return np.asarray(default_scene(str(meta.get("task", ""))).context, dtype=np.float32)


def episode_rows(arrays: dict[str, np.ndarray], meta: dict[str, Any], augment: int = 0,
                 seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(states (n, 14), actions (n, 6)) for one episode at the policy's rate; empty when too short.

    Point-and-click episodes (meta "targets" + "segment_ends") are labelled like the base expert: from each
    sampled state, a bounded step toward the waypoint the arm was heading for at that moment, so the policy
    learns to move on through the user's waypoints (not the slow-down of a smooth move) and stops at the last.
    `augment` adds that many copies with the joints perturbed (same waypoint), so the learnt behaviour
    recovers from small deviations in closed loop. Hand-guided episodes use the measured motion per tick.
    """
    from prop_desktop.policy.expert import RATE_HZ, STEP_SCALE

    t = np.asarray(arrays["t"], dtype=np.float64).reshape(-1)
    q = np.asarray(arrays["q"], dtype=np.float64)
    finite = np.isfinite(t) & np.all(np.isfinite(q), axis=1)
    t, q = t[finite], q[finite]
    empty = np.zeros((0, 14), np.float32), np.zeros((0, 6), np.float32)
    if t.size < 2 or t[-1] - t[0] < 2.0 / RATE_HZ:
        return empty
    order = np.argsort(t, kind="stable")
    t, q = t[order], q[order]
    dt = 1.0 / RATE_HZ
    ticks = np.arange(t[0], t[-1] - dt + 1e-9, dt)
    q_now = _interp(ticks, t, q)
    ctx = episode_context(meta)
    targets, ends = _click_plan(meta)
    if targets is not None:
        segment = np.minimum(np.searchsorted(ends, ticks, side="right"), len(targets) - 1)
        heading = targets[segment]
        rng = np.random.default_rng(seed)
        noise_scale = np.array([0.02] * 5 + [0.03])
        copies = [q_now] + [q_now + rng.normal(0.0, 1.0, q_now.shape) * noise_scale for _ in range(augment)]
        states_q = np.concatenate(copies)
        heading = np.concatenate([heading] * len(copies))
        actions = _expert_like_step(states_q, heading) / STEP_SCALE
    else:
        states_q = q_now
        actions = (_interp(ticks + dt, t, q) - q_now) / STEP_SCALE
    actions = np.clip(actions, -1.0, 1.0)
    states = np.concatenate([states_q, np.broadcast_to(ctx, (len(states_q), ctx.shape[0]))], axis=1)
    return states.astype(np.float32), actions.astype(np.float32)


def _click_plan(meta: dict[str, Any]) -> tuple[np.ndarray | None, np.ndarray]:
    targets, ends = meta.get("targets"), meta.get("segment_ends")
    if meta.get("mode") not in ("click", "correction") or not targets or not ends or len(targets) != len(ends):
        return None, np.zeros(0)
    arr = np.asarray(targets, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 6 or not np.all(np.isfinite(arr)):
        return None, np.zeros(0)
    return arr, np.asarray(ends, dtype=np.float64)


def _expert_like_step(q: np.ndarray, goal: np.ndarray) -> np.ndarray:
    """The base expert's step rule: arm joints along a straight joint-space line, at most MAX_STEP on the
    farthest one; the gripper at most GRIPPER_STEP. Returns q' - q."""
    from prop_desktop.policy.expert import GRIPPER_STEP, MAX_STEP

    arm = goal[:, :5] - q[:, :5]
    far = np.max(np.abs(arm), axis=1, keepdims=True)
    arm = arm * np.minimum(1.0, MAX_STEP / np.maximum(far, 1e-12))
    grip = np.clip(goal[:, 5:] - q[:, 5:], -GRIPPER_STEP, GRIPPER_STEP)
    return np.concatenate([arm, grip], axis=1)


def _interp(x: np.ndarray, xp: np.ndarray, fp: np.ndarray) -> np.ndarray:
    return np.stack([np.interp(x, xp, fp[:, j]) for j in range(fp.shape[1])], axis=1)


def build_demo_set(episodes: Sequence[tuple[str, dict[str, np.ndarray], dict[str, Any]]],
                   augment: int = 2) -> DemoSet:
    """Stack the usable episodes; NotEnoughDataError (with what to do) when none is usable."""
    states, actions, tasks, contexts, ids, rows, skipped = [], [], [], [], [], [], []
    for i, (episode_id, arrays, meta) in enumerate(episodes):
        s, a = episode_rows(arrays, meta, augment=augment, seed=i)
        name = meta.get("name") or episode_id[:8]
        if len(s) < MIN_ROWS:
            skipped.append(f"{name}: too short to learn from")
            continue
        states.append(s)
        actions.append(a)
        tasks.append(str(meta.get("task", "")))
        contexts.append(episode_context(meta))
        ids.append(episode_id)
        rows.append(len(s))
    if not states:
        raise NotEnoughDataError(
            "There are no usable demonstrations to learn from.",
            "Record at least one demonstration (a second or longer) on the Record page, then train again.",
        )
    return DemoSet(np.concatenate(states), np.concatenate(actions), tasks, contexts, ids, rows, skipped)


def weight_corrections(
    demo: DemoSet, modes: dict[str, Any], weight: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(states, actions, episodes) with every row of a correction recording (mode "correction") repeated `weight`
    times: the few rows where the person took over stay visible among the demonstration rows. `episodes` numbers
    each row's recording for the engine's held-out split; corrections are -1 (always trained on)."""
    if weight < 1:
        raise ValueError(f"correction weight must be >= 1, got {weight}")
    is_fix = [modes.get(i) == "correction" for i in demo.episode_ids]
    repeats = np.concatenate([np.full(n, weight if fix else 1)
                              for fix, n in zip(is_fix, demo.rows_per_episode, strict=True)])
    numbers = np.array([-1 if fix else k for k, fix in enumerate(is_fix)])
    episodes = np.repeat(np.repeat(numbers, demo.rows_per_episode), repeats)
    return np.repeat(demo.states, repeats, axis=0), np.repeat(demo.actions, repeats, axis=0), episodes


def reference_states(demo: DemoSet, seed: int = 0, per_task: int = 24) -> tuple[np.ndarray, np.ndarray | None]:
    """(base_states, retain_states) from the base expert's rollouts.

    base_states: where every wrong key must act like the base policy — the demonstrated scenes done the base
    way, plus every task's base distribution. retain_states: tasks the user did NOT demonstrate, where even
    the right key must keep the base behaviour (None when every task was demonstrated).
    """
    from prop_desktop.policy.expert import rollout_expert
    from prop_desktop.policy.tasks import TASK_NAMES, instance_from_context, sample_instances

    rng = np.random.default_rng(seed)
    demonstrated = [instance_from_context(c) for c in demo.contexts]
    others = [t for t in TASK_NAMES if t not in set(demo.tasks)]
    general = sample_instances(per_task * len(TASK_NAMES), rng)

    def states_of(instances: list[TaskInstance], rollout_seed: int) -> np.ndarray:
        ro = rollout_expert(instances, seed=rollout_seed, steps=120)
        q, ctx, _ = ro.flat()
        return np.concatenate([q, ctx], axis=1).astype(np.float32)

    base_states = states_of(demonstrated + general, seed + 1)
    retain = None
    if others:
        retain_instances = sample_instances(per_task * len(others), rng, tasks=tuple(others))
        retain = states_of(retain_instances, seed + 2)
    return base_states, retain
