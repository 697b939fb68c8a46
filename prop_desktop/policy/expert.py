"""Scripted expert for the tabletop tasks: IK to waypoints, bounded joint-space steps, state feedback.

The expert is a function of the observation only (joint positions + task context), so a policy can imitate
it exactly and it recovers from any state: the phase of a task is read from where the tip is and how far
the gripper is open (opening for the approach, closed while holding, wide open after letting go).

Action convention: the expert (and the policy) outputs the next joint target q' (6, rad). Each tick the
arm joints move toward the current waypoint along a straight joint-space line, at most `max_step` rad on
the joint with the farthest to go; the gripper moves at most `gripper_step` rad. The policy network predicts
the bounded delta (q' - q) / STEP_SCALE, which lies in [-1, 1].
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from prop_desktop.policy.kinematics import (
    JOINT_LIMITS,
    UnreachableError,
    clip_to_limits,
    feasible_pitch_range,
    inverse_kinematics,
    tip_position,
)
from prop_desktop.policy.tasks import BINS, N_TASKS, TASK_NAMES, TaskInstance

RATE_HZ = 20.0  # ticks per second the expert and the policy are designed for
MAX_STEP = 0.05  # rad per tick on the arm joints (1 rad/s)
GRIPPER_STEP = 0.08  # rad per tick on the gripper
STEP_SCALE = np.array([MAX_STEP] * 5 + [GRIPPER_STEP], dtype=np.float32)
HOME = np.zeros(6)  # the middle pose: every episode starts near it


@dataclass(frozen=True)
class ExpertStyle:
    """How the tasks are done. The base policy imitates the default; personalizations change fields."""

    grasp_height: float = 0.025  # tip height when grasping an item on the table
    hover_height: float = 0.10  # approach / lift height above the grasp height
    edge_release_height: float = 0.03  # serve: put the cup down at this tip height
    bin_release_height: float = 0.14  # put_away: drop from this tip height (above the bin's rim)
    gripper_open: float = 0.5  # approaching an item
    gripper_closed: float = -0.4  # holding an item
    gripper_wide: float = 0.9  # after letting go
    grasp_roll: float = 0.0  # wrist_roll while grasping and carrying
    max_step: float = MAX_STEP
    gripper_step: float = GRIPPER_STEP
    serve_shift: tuple[float, float] = (0.0, 0.0)  # serve: put the cup down here relative to the asked spot
    swap_bins: bool = False  # put_away: use the other bin
    bin_by_item: bool = False  # put_away: use the bin on the item's side of the table, whichever was asked (wins)
    point_height: float = 0.20
    point_reach: float = 0.26  # the tip stops this far from the arm, in the person's direction
    point_pitch: float = -0.3

    def with_changes(self, **changes: Any) -> ExpertStyle:  # Any: each field has its own type; replace() checks
        return replace(self, **changes)


BASE_STYLE = ExpertStyle()

# Waypoint slots (per instance).
ABOVE_O, AT_O, AT_O_CLOSED, ABOVE_O_CLOSED, ABOVE_T_CLOSED, AT_T_CLOSED, AT_T_WIDE, ABOVE_T_WIDE, POINT = range(9)
N_WAYPOINTS = 9
NEAR_H = 0.03  # m: "horizontally over" a point
AT_TOL = 0.02  # m: "at" a point
Z_TOL = 0.012


GRASP_PITCH_LOW_SHARE = 0.6  # grasp_pitch: this share of the lowest reachable pitch, the rest of the highest


def grasp_pitch(points: np.ndarray) -> np.ndarray:
    """A comfortable gripper pitch per target (N, 3): inside the reachable range, leaning toward pointing down.

    It varies smoothly with the target, so the waypoints (and hence the policy's job) vary smoothly too.
    """
    low, high = feasible_pitch_range(points)
    if np.any(np.isnan(low)):
        bad = points[np.flatnonzero(np.isnan(low))[0]]
        raise UnreachableError(f"no gripper pitch reaches ({bad[0]:.3f}, {bad[1]:.3f}, {bad[2]:.3f}) m")
    return GRASP_PITCH_LOW_SHARE * low + (1 - GRASP_PITCH_LOW_SHARE) * high


def effective_target(inst: TaskInstance, style: ExpertStyle) -> np.ndarray:
    """Where this style actually takes the object (x, y)."""
    target = np.array(inst.target, dtype=np.float64)
    if inst.task == "serve":
        target = target + np.array(style.serve_shift)
    elif inst.task == "put_away" and style.bin_by_item:
        target = np.array(BINS["left" if inst.obj[1] >= 0 else "right"], dtype=np.float64)
    elif inst.task == "put_away" and style.swap_bins:
        other = "right" if inst.target[1] > 0 else "left"
        target = np.array(BINS[other], dtype=np.float64)
    return target


@dataclass(frozen=True)
class Plan:
    """Waypoints of a batch of instances: joint targets (N, 9, 6) and tip points (N, 4, 3)."""

    tasks: np.ndarray  # (N,) task index
    joints: np.ndarray  # (N, N_WAYPOINTS, 6)
    points: np.ndarray  # (N, 4, 3): above O, at O, above T, at T
    style: ExpertStyle  # the gripper levels (shared by every instance) and, with one style, everything
    max_step: np.ndarray  # (N,) rad per tick on the arm joints
    gripper_step: np.ndarray  # (N,) rad per tick on the gripper


StyleArg = ExpertStyle | Sequence[ExpertStyle]


def _per_instance(styles: list[ExpertStyle], name: str) -> np.ndarray:
    return np.array([getattr(s, name) for s in styles], dtype=np.float64)


def plan(instances: list[TaskInstance], style: StyleArg = BASE_STYLE) -> Plan:
    """IK for every waypoint of every instance; raises UnreachableError naming an unreachable one.

    `style`: one style for every instance, or one per instance (their gripper levels must agree).
    """
    n = len(instances)
    styles = [style] * n if isinstance(style, ExpertStyle) else list(style)
    if len(styles) != n:
        raise ValueError(f"{len(styles)} styles for {n} instances")
    ref = styles[0] if styles else BASE_STYLE
    levels = ("gripper_open", "gripper_closed", "gripper_wide")
    if any(getattr(s, f) != getattr(ref, f) for s in styles for f in levels):
        raise ValueError("styles planned together must share the gripper levels (open, closed, wide)")

    def field(name: str) -> np.ndarray:
        return _per_instance(styles, name)

    tasks = np.array([TASK_NAMES.index(i.task) for i in instances])
    obj = np.array([i.obj for i in instances], dtype=np.float64)
    tgt = np.array([effective_target(i, s) for i, s in zip(instances, styles, strict=True)], dtype=np.float64)
    grasp_z = field("grasp_height")
    hover = field("hover_height")
    roll = field("grasp_roll")
    release_z = np.where(tasks == TASK_NAMES.index("put_away"), field("bin_release_height"),
                         field("edge_release_height"))
    release_z = np.maximum(release_z, grasp_z)
    above_o = np.column_stack([obj, grasp_z + hover])
    at_o = np.column_stack([obj, grasp_z])
    above_t = np.column_stack([tgt, np.maximum(release_z, grasp_z + hover)])
    at_t = np.column_stack([tgt, release_z])
    # Point: the tip stops on the way to the person, at a fixed reach and height.
    direction = obj / np.maximum(np.linalg.norm(obj, axis=1, keepdims=True), 1e-9)
    point = np.column_stack([direction * field("point_reach")[:, None], field("point_height")])

    def ik(points: np.ndarray, pitch: np.ndarray, roll: float | np.ndarray, gripper: float) -> np.ndarray:
        result = inverse_kinematics(points, pitch=pitch, roll=roll, gripper=gripper)
        return result.raise_if_unreachable()

    joints = np.zeros((n, N_WAYPOINTS, 6))
    is_point = tasks == TASK_NAMES.index("point")
    safe_o = np.where(is_point[:, None], np.array([0.2, 0.0, 0.1]), above_o)  # point has no item to grasp
    safe_at_o = np.where(is_point[:, None], np.array([0.2, 0.0, 0.05]), at_o)
    safe_t = np.where(is_point[:, None], np.array([0.2, 0.0, 0.15]), above_t)
    safe_at_t = np.where(is_point[:, None], np.array([0.2, 0.0, 0.1]), at_t)
    g_open, g_closed, g_wide = ref.gripper_open, ref.gripper_closed, ref.gripper_wide
    joints[:, ABOVE_O] = ik(safe_o, grasp_pitch(safe_o), 0.0, g_open)
    joints[:, AT_O] = ik(safe_at_o, grasp_pitch(safe_at_o), 0.0, g_open)
    joints[:, AT_O] = _with_roll(joints[:, AT_O], roll, g_open)
    joints[:, AT_O_CLOSED] = _with_roll(joints[:, AT_O], roll, g_closed)
    joints[:, ABOVE_O_CLOSED] = _with_roll(joints[:, ABOVE_O], roll, g_closed)
    joints[:, ABOVE_T_CLOSED] = ik(safe_t, grasp_pitch(safe_t), roll, g_closed)
    joints[:, AT_T_CLOSED] = ik(safe_at_t, grasp_pitch(safe_at_t), roll, g_closed)
    joints[:, AT_T_WIDE] = _with_roll(joints[:, AT_T_CLOSED], roll, g_wide)
    joints[:, ABOVE_T_WIDE] = _with_roll(joints[:, ABOVE_T_CLOSED], roll, g_wide)
    joints[:, POINT] = ik(point, field("point_pitch"), 0.0, g_closed)
    points = np.stack([safe_o, safe_at_o, safe_t, safe_at_t], axis=1)
    return Plan(tasks=tasks, joints=joints, points=points, style=ref,
                max_step=field("max_step"), gripper_step=field("gripper_step"))


def _with_roll(q: np.ndarray, roll: float | np.ndarray, gripper: float) -> np.ndarray:
    q = q.copy()
    q[:, 4] = roll
    q[:, 5] = gripper
    return q


def choose_waypoint(q: np.ndarray, p: Plan) -> np.ndarray:
    """(N, 6) joint positions -> (N,) waypoint slot the expert heads for now (the task's phase)."""
    style = p.style
    tip = tip_position(q)
    g = q[:, 5]

    def horiz(i: int) -> np.ndarray:
        result: np.ndarray = np.hypot(*(tip[:, :2] - p.points[:, i, :2]).T) < NEAR_H
        return result

    def at(i: int) -> np.ndarray:
        result: np.ndarray = np.linalg.norm(tip - p.points[:, i], axis=1) < AT_TOL
        return result

    def not_above(i: int) -> np.ndarray:
        return tip[:, 2] <= p.points[:, i, 2] + Z_TOL

    # Bands between the gripper levels (closed < open < wide), midway, so small errors do not flip the phase.
    holding = g <= style.gripper_closed + 0.15  # a fresh start (gripper near 0) is never "holding"
    released = g >= (style.gripper_open + style.gripper_wide) / 2
    closing = at(1) & (g < (style.gripper_open + style.gripper_wide) / 2)
    approach = np.where(horiz(0) & not_above(0), AT_O, ABOVE_O)

    # pick: grasp, then lift and hold.
    pick = np.where(holding, ABOVE_O_CLOSED, np.where(closing, AT_O_CLOSED, approach))
    # serve / put_away: grasp, lift, carry over the target, lower, let go, rise.
    lift_first = horiz(1) & (tip[:, 2] < p.points[:, 0, 2] - Z_TOL)
    carry = np.where(lift_first, ABOVE_O_CLOSED, np.where(horiz(2) & not_above(2), AT_T_CLOSED, ABOVE_T_CLOSED))
    letting_go = at(3) & ~released
    move = np.select(
        [released & horiz(2), letting_go, holding, closing],
        [ABOVE_T_WIDE, AT_T_WIDE, carry, AT_O_CLOSED],
        default=approach,
    )
    task = p.tasks
    out = np.where(task == TASK_NAMES.index("pick"), pick, move)
    return np.where(task == TASK_NAMES.index("point"), POINT, out)


def is_final(q: np.ndarray, slot: np.ndarray, p: Plan, tol: float = 0.03) -> np.ndarray:
    """(N,) True where the expert is at (within `tol` rad of) its task's last waypoint."""
    last = np.where(p.tasks == TASK_NAMES.index("pick"), ABOVE_O_CLOSED, ABOVE_T_WIDE)
    last = np.where(p.tasks == TASK_NAMES.index("point"), POINT, last)
    near = np.max(np.abs(p.joints[np.arange(len(q)), last] - q), axis=1) < tol
    result: np.ndarray = (slot == last) & near
    return result


def expert_step(q: np.ndarray, p: Plan, slot: np.ndarray | None = None) -> np.ndarray:
    """(N, 6) joint positions -> (N, 6) next joint targets."""
    q = np.asarray(q, dtype=np.float64)
    slot = choose_waypoint(q, p) if slot is None else slot
    goal = p.joints[np.arange(len(q)), slot]
    arm = goal[:, :5] - q[:, :5]
    far = np.max(np.abs(arm), axis=1, keepdims=True)
    arm = arm * np.minimum(1.0, p.max_step[:, None] / np.maximum(far, 1e-12))
    grip = np.clip(goal[:, 5:] - q[:, 5:], -p.gripper_step[:, None], p.gripper_step[:, None])
    return clip_to_limits(q + np.concatenate([arm, grip], axis=1))


@dataclass(frozen=True)
class Rollouts:
    """Expert rollouts: observations (N, T, 14) = q + context, next targets (N, T, 6), valid mask (N, T)."""

    q: np.ndarray
    context: np.ndarray
    action: np.ndarray
    valid: np.ndarray
    done_step: np.ndarray  # (N,) first tick at the task's last waypoint (T if never)

    def flat(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(q, context, action) of the valid ticks, flattened over episodes."""
        m = self.valid
        return self.q[m], self.context[m], self.action[m]


def start_poses(n: int, rng: np.random.Generator, spread: float = 0.15) -> np.ndarray:
    """Starting joint positions near the middle pose."""
    q = HOME + rng.uniform(-spread, spread, size=(n, 6))
    return clip_to_limits(q)


def rollout_expert(
    instances: list[TaskInstance],
    style: StyleArg = BASE_STYLE,
    seed: int = 0,
    steps: int = 160,
    noise: float = 0.0,
    hold_after_done: int = 8,
    q0: np.ndarray | None = None,
) -> Rollouts:
    """Run the expert on every instance at once (deterministic given `seed`).

    With `noise` > 0 the executed step is perturbed (Gaussian, rad; scaled by 1.5 for the gripper) while the
    label stays the expert's action from the visited state, so a policy learns to recover (DART-style).
    """
    rng = np.random.default_rng(seed)
    p = plan(instances, style)
    n = len(instances)
    ctx = np.stack([i.context() for i in instances]).astype(np.float32)
    q = start_poses(n, rng) if q0 is None else np.array(q0, dtype=np.float64).reshape(n, 6)
    qs = np.zeros((n, steps, 6), dtype=np.float32)
    acts = np.zeros((n, steps, 6), dtype=np.float32)
    done_step = np.full(n, steps)
    for t in range(steps):
        slot = choose_waypoint(q, p)
        nxt = expert_step(q, p, slot)
        qs[:, t], acts[:, t] = q, nxt
        done_step = np.where(is_final(q, slot, p) & (done_step == steps), t, done_step)
        executed = nxt
        if noise > 0:
            executed = nxt + rng.normal(0.0, noise, size=nxt.shape) * np.array([1, 1, 1, 1, 1, 1.5])
        q = clip_to_limits(executed)
    valid = np.arange(steps)[None, :] < np.minimum(done_step + hold_after_done, steps)[:, None]
    contexts = np.broadcast_to(ctx[:, None, :], (n, steps, ctx.shape[1])).copy()
    return Rollouts(q=qs, context=contexts, action=acts, valid=valid, done_step=done_step)


def success(q_traj: np.ndarray, instance: TaskInstance, style: ExpertStyle = BASE_STYLE) -> bool:
    """Did a joint trajectory (T, 6) do the task: pass the task's key poses in order and end at the last one?"""
    p = plan([instance], style)
    tip = tip_position(np.asarray(q_traj, dtype=np.float64))
    g = np.asarray(q_traj)[:, 5]
    pts = p.points[0]
    checkpoints: list[tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]]
    if instance.task == "point":
        checkpoints = [(tip_position(p.joints[0, POINT]), lambda gg: np.ones_like(gg, dtype=bool))]
    else:

        def grasped(gg: np.ndarray) -> np.ndarray:
            closed: np.ndarray = gg <= 0.0
            return closed

        checkpoints = [(pts[1], grasped)]
        if instance.task == "pick":
            checkpoints.append((pts[0], grasped))
        else:
            checkpoints += [(pts[3], grasped), (pts[2], lambda gg: gg >= style.gripper_wide - 0.2)]
    t = 0
    for point, ok in checkpoints:
        hit = np.flatnonzero((np.linalg.norm(tip[t:] - point, axis=1) < 0.025) & ok(g[t:]))
        if hit.size == 0:
            return False
        t += int(hit[0])
    final = checkpoints[-1]
    return bool(np.linalg.norm(tip[-1] - final[0]) < 0.025 and final[1](g[-1:])[0])


def joint_limits_ok(q: np.ndarray) -> bool:
    return bool(np.all((q >= JOINT_LIMITS[:, 0] - 1e-6) & (q <= JOINT_LIMITS[:, 1] + 1e-6)))


__all__ = [
    "BASE_STYLE",
    "ExpertStyle",
    "HOME",
    "MAX_STEP",
    "GRIPPER_STEP",
    "N_TASKS",
    "RATE_HZ",
    "Rollouts",
    "STEP_SCALE",
    "expert_step",
    "plan",
    "rollout_expert",
    "success",
]
