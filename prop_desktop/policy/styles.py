"""The style space the base policy knows: the ways of doing each task it was trained on, as numbers.

The base policy is trained across randomized expert styles (how high to approach, how to turn the hand, how
fast to work the gripper, where to put the cup, which bin, how to point), one block of style numbers per task.
Inside the model the numbers come out of a small linear layer whose input is all ones and whose output at the
stored default is `u = 1` for every style number: the general way. A PRoP key multiplies that layer's inputs by
δ(key), so the person's key can *select* another way from a few demonstrations (a handful of numbers to infer),
while every other key leaves δ = 1 and the policy does the general way.

Encoding: value = default + unit · (u − 1); u lies in [0, 2] over the trained range (δ reaches (−1, 3)).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from prop_desktop.policy.expert import BASE_STYLE, ExpertStyle
from prop_desktop.policy.tasks import TASK_NAMES, TaskInstance


@dataclass(frozen=True)
class StyleDim:
    task: str
    name: str  # "hover_height", "grasp_roll", "gripper_step", "serve_shift_x", "bin_side", ...
    default: float
    low: float  # the range the base is trained on
    high: float
    discrete: tuple[float, ...] = ()  # sampled from these values instead of the range

    @property
    def unit(self) -> float:
        return max(abs(self.high - self.default), abs(self.default - self.low))

    def to_u(self, value: float) -> float:
        return 1.0 + (value - self.default) / self.unit


def _carry_dims(task: str) -> list[StyleDim]:
    return [
        StyleDim(task, "hover_height", BASE_STYLE.hover_height, 0.06, 0.20),
        StyleDim(task, "grasp_roll", BASE_STYLE.grasp_roll, -1.5, 1.5),
        StyleDim(task, "gripper_step", BASE_STYLE.gripper_step, 0.03, BASE_STYLE.gripper_step),
    ]


STYLE_DIMS: tuple[StyleDim, ...] = (
    *_carry_dims("pick"),
    *_carry_dims("serve"),
    StyleDim("serve", "serve_shift_x", 0.0, -0.10, 0.04),
    StyleDim("serve", "serve_shift_y", 0.0, -0.20, 0.20),
    *_carry_dims("put_away"),
    StyleDim("put_away", "bin_side", 1.0, -1.0, 1.0, discrete=(1.0, -1.0)),  # -1: the other bin
    StyleDim("put_away", "bin_by_item", 0.0, 0.0, 1.0, discrete=(0.0, 1.0)),  # 1: the bin on the item's side
    StyleDim("point", "point_height", BASE_STYLE.point_height, 0.10, 0.26),
    StyleDim("point", "point_pitch", BASE_STYLE.point_pitch, -0.60, 0.10),
    StyleDim("point", "point_reach", BASE_STYLE.point_reach, 0.22, 0.30),
)
STYLE_DIM = len(STYLE_DIMS)
# The per-task features the network sees (the active task's block, picked by the task one-hot).
ACTIVE_NAMES: tuple[str, ...] = (
    "hover_height", "grasp_roll", "gripper_step", "serve_shift_x", "serve_shift_y", "bin_side", "bin_by_item",
    "point_height", "point_pitch", "point_reach",
)
ACTIVE_DIM = len(ACTIVE_NAMES)


def active_selector() -> np.ndarray:
    """(N_TASKS, STYLE_DIM, ACTIVE_DIM) 0/1: for task t, which style number feeds which active feature."""
    sel = np.zeros((len(TASK_NAMES), STYLE_DIM, ACTIVE_DIM), dtype=np.float32)
    for i, dim in enumerate(STYLE_DIMS):
        sel[TASK_NAMES.index(dim.task), i, ACTIVE_NAMES.index(dim.name)] = 1.0
    return sel


def style_defaults() -> np.ndarray:
    return np.array([d.default for d in STYLE_DIMS], dtype=np.float32)


def style_units() -> np.ndarray:
    return np.array([d.unit for d in STYLE_DIMS], dtype=np.float32)


def active_defaults() -> np.ndarray:
    """Physical value of each active feature at u = 1, for a task whose block lacks it (inert there)."""
    out = np.zeros(ACTIVE_DIM, dtype=np.float32)
    for d in STYLE_DIMS:
        out[ACTIVE_NAMES.index(d.name)] = d.default
    return out


def expert_style(task: str, u: np.ndarray, base: ExpertStyle = BASE_STYLE) -> ExpertStyle:
    """The expert style that the style numbers `u` (STYLE_DIM,) mean for one task."""
    values = {d.name: d.default + d.unit * (float(u[i]) - 1.0) for i, d in enumerate(STYLE_DIMS) if d.task == task}
    changes: dict[str, object] = {}
    for name in ("hover_height", "grasp_roll", "gripper_step", "point_height", "point_pitch", "point_reach"):
        if name in values:
            changes[name] = values[name]
    if "serve_shift_x" in values:
        changes["serve_shift"] = (values["serve_shift_x"], values["serve_shift_y"])
    if "bin_side" in values:
        changes["swap_bins"] = values["bin_side"] < 0
    if "bin_by_item" in values:
        changes["bin_by_item"] = values["bin_by_item"] > 0.5
    return base.with_changes(**changes)


def style_u(task: str, style: ExpertStyle) -> np.ndarray:
    """The style numbers (STYLE_DIM,) of an expert style for `task` (other tasks' blocks at the default)."""
    u = np.ones(STYLE_DIM, dtype=np.float32)
    values = {
        "hover_height": style.hover_height, "grasp_roll": style.grasp_roll, "gripper_step": style.gripper_step,
        "serve_shift_x": style.serve_shift[0], "serve_shift_y": style.serve_shift[1],
        "bin_side": -1.0 if style.swap_bins else 1.0, "bin_by_item": 1.0 if style.bin_by_item else 0.0,
        "point_height": style.point_height,
        "point_pitch": style.point_pitch, "point_reach": style.point_reach,
    }
    for i, d in enumerate(STYLE_DIMS):
        if d.task == task:
            u[i] = d.to_u(values[d.name])
    return u


def in_style_space(task: str, style: ExpertStyle) -> bool:
    """Can the style numbers express how `style` does `task`? (A slower arm, lee's, cannot: no number for it.)

    Fields only other tasks' numbers set (the pointing pose, for serving) do not matter here."""
    field = {"serve_shift_x": "serve_shift", "serve_shift_y": "serve_shift", "bin_side": "swap_bins"}
    own = {field.get(d.name, d.name) for d in STYLE_DIMS if d.task == task}
    others = {field.get(d.name, d.name) for d in STYLE_DIMS} - own
    back = expert_style(task, style_u(task, style))
    return all(np.allclose(getattr(back, f.name), getattr(style, f.name), atol=1e-6)
               for f in dataclasses.fields(style) if f.name not in others)


def sample_style_u(
    instances: list[TaskInstance], rng: np.random.Generator, default_share: float = 0.3, keep_share: float = 0.4
) -> np.ndarray:
    """(N, STYLE_DIM) random style numbers: a `default_share` of episodes the general way; otherwise each number
    of the episode's task stays at its default with probability `keep_share`, else uniform over its range."""
    n = len(instances)
    u = np.ones((n, STYLE_DIM), dtype=np.float32)
    for i, d in enumerate(STYLE_DIMS):
        if d.discrete:
            values = np.array(d.discrete)[rng.integers(0, len(d.discrete), n)]
        else:
            values = rng.uniform(d.low, d.high, n)
        u[:, i] = 1.0 + (values - d.default) / d.unit
    keep = rng.random((n, STYLE_DIM)) < keep_share
    keep |= (rng.random(n) < default_share)[:, None]
    u = np.where(keep, 1.0, u).astype(np.float32)
    # Some corners of the pointing box (low and near, or tipped up) are out of the arm's reach: the general way there.
    unreachable = ~_pointing_reachable(instances, u)
    u[np.ix_(unreachable, np.asarray(_POINT_COLUMNS))] = 1.0
    return u


_POINT_COLUMNS = [i for i, d in enumerate(STYLE_DIMS) if d.task == "point"]


def _pointing_reachable(instances: list[TaskInstance], u: np.ndarray) -> np.ndarray:
    from prop_desktop.policy.kinematics import inverse_kinematics

    out = np.ones(len(instances), dtype=bool)
    rows = [i for i, inst in enumerate(instances) if inst.task == "point"]
    if not rows:
        return out
    styles = [expert_style("point", u[i]) for i in rows]
    obj = np.array([instances[i].obj for i in rows], dtype=np.float64)
    direction = obj / np.maximum(np.linalg.norm(obj, axis=1, keepdims=True), 1e-9)
    reach = np.array([s.point_reach for s in styles])[:, None]
    points = np.column_stack([direction * reach, [s.point_height for s in styles]])
    ok = inverse_kinematics(points, pitch=np.array([s.point_pitch for s in styles])).reachable
    out[rows] = ok
    return out


def sample_styled(
    n: int, rng: np.random.Generator, default_share: float = 0.3
) -> tuple[list[TaskInstance], np.ndarray]:
    """n base-distribution instances with random style numbers (N, STYLE_DIM); a serve shift that would put the cup
    down where it stands is dropped (nothing to carry)."""
    from prop_desktop.policy.expert import effective_target
    from prop_desktop.policy.tasks import MIN_SEPARATION, sample_instances

    instances = sample_instances(n, rng)
    u = sample_style_u(instances, rng, default_share=default_share)
    shift = [i for i, d in enumerate(STYLE_DIMS) if d.name.startswith("serve_shift")]
    for i, inst in enumerate(instances):
        if inst.task == "serve":
            target = effective_target(inst, expert_style("serve", u[i]))
            if np.hypot(*(target - np.array(inst.obj))) < MIN_SEPARATION:
                u[i, shift] = 1.0
    return instances, u


def instance_styles(instances: list[TaskInstance], u: np.ndarray) -> list[ExpertStyle]:
    return [expert_style(inst.task, u[i]) for i, inst in enumerate(instances)]
