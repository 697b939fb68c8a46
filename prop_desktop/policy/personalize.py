"""Ways a household member may want the tasks done differently, as modified experts.

A personalization changes the expert's style (where to put the cup, which bin, how high to approach,
how to hold the gripper) for the tasks the person demonstrates; other tasks stay as the base policy does
them. A personalization may also apply only where a condition on the instance holds (`applies`: a wish that
depends on where things stand in a way no style field says); then no single style reproduces it. These generate
demonstrations and the simulated person for `prop-desktop bench household` and for tests; in the app,
people record real demonstrations instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from prop_desktop.policy.expert import (
    BASE_STYLE,
    RATE_HZ,
    ExpertStyle,
    Plan,
    Rollouts,
    effective_target,
    expert_step,
    plan,
    rollout_expert,
)
from prop_desktop.policy.kinematics import JOINT_NAMES
from prop_desktop.policy.tasks import MIN_SEPARATION, TASK_NAMES, TaskInstance, sample_instance


@dataclass(frozen=True)
class Personalization:
    name: str
    description: str
    changes: dict[str, Any]  # ExpertStyle field -> value (Any: the fields have different types)
    tasks: tuple[str, ...]  # the tasks this changes
    applies: Callable[[TaskInstance], bool] | None = None  # None: always; else only on instances where it holds

    def applies_to(self, inst: TaskInstance) -> bool:
        return self.applies is None or self.applies(inst)


PERSONALIZATIONS: dict[str, Personalization] = {
    p.name: p
    for p in (
        Personalization(
            "serve_left", "serve the cup on the left side of the table", {"serve_shift": (-0.08, 0.16)}, ("serve",)
        ),
        Personalization("other_bin", "put things away into the other bin", {"swap_bins": True}, ("put_away",)),
        Personalization(
            "high_approach",
            "approach and lift from higher above the table",
            {"hover_height": 0.16},
            ("pick", "serve", "put_away"),
        ),
        Personalization(
            "sideways_grip",
            "grip with the hand turned sideways",
            {"grasp_roll": 1.2},
            ("pick", "serve", "put_away"),
        ),
        Personalization(
            "gentle_gripper", "close and open the gripper slowly", {"gripper_step": 0.04}, ("pick", "serve", "put_away")
        ),
        Personalization(
            "point_low",
            "point lower, from just above the table",
            {"point_height": 0.12, "point_pitch": -0.1},
            ("point",),
        ),
        Personalization(
            "near_bin",
            "put things away into the bin on the item's side of the table, whichever bin was asked for",
            {"bin_by_item": True},
            ("put_away",),
        ),
        Personalization(
            "slow_arm",
            "move the arm at 60 % of the usual speed",
            {"max_step": 0.03},
            ("pick", "serve", "put_away", "point"),
        ),
    )
}


@dataclass(frozen=True)
class HouseholdProfile:
    """A person, the personalizations they want, and the tasks they demonstrate."""

    name: str
    personalizations: tuple[str, ...]
    demonstrated: tuple[str, ...]

    def _known(self) -> list[Personalization]:
        unknown = [name for name in self.personalizations if name not in PERSONALIZATIONS]
        if unknown:
            raise ValueError(f"unknown personalization {unknown[0]!r}; known: {', '.join(PERSONALIZATIONS)}")
        return [PERSONALIZATIONS[name] for name in self.personalizations]

    @property
    def conditional(self) -> bool:
        """Does the way depend on the instance (where things stand), not only on the task?"""
        return any(p.applies is not None for p in self._known())

    @property
    def style(self) -> ExpertStyle:
        """The one style of a profile whose wishes do not depend on the instance (else use style_for)."""
        if self.conditional:
            raise ValueError(f"{self.name}'s way depends on where things stand; use style_for(instance)")
        return self.style_for(None)

    def style_for(self, inst: TaskInstance | None) -> ExpertStyle:
        """How this person wants `inst` done."""
        changes: dict[str, Any] = {}
        for p in self._known():
            if inst is None or p.applies_to(inst):
                changes.update(p.changes)
        return BASE_STYLE.with_changes(**changes)

    @property
    def undemonstrated(self) -> tuple[str, ...]:
        return tuple(t for t in TASK_NAMES if t not in self.demonstrated)

    def describe(self) -> str:
        return "; ".join(PERSONALIZATIONS[p].description for p in self.personalizations)


# The household members of `bench household`: every personalization alone and in combinations, on every
# task, one whose wish depends on where the item stands (jo: the bin on the item's side, a way the base knows),
# one who demonstrates two tasks (ray), and one whose wish is outside the base's style space (lee: a slower arm;
# only the adapter's trunk delta can learn it).
BENCH_PROFILES: tuple[HouseholdProfile, ...] = (
    HouseholdProfile("alex", ("serve_left",), ("serve",)),
    HouseholdProfile("sam", ("other_bin", "gentle_gripper"), ("put_away",)),
    HouseholdProfile("kim", ("high_approach", "sideways_grip"), ("pick",)),
    HouseholdProfile("noa", ("sideways_grip",), ("serve",)),
    HouseholdProfile("ben", ("high_approach",), ("put_away",)),
    HouseholdProfile("eli", ("gentle_gripper",), ("pick",)),
    HouseholdProfile("ola", ("other_bin",), ("put_away",)),
    HouseholdProfile("pia", ("point_low",), ("point",)),
    HouseholdProfile("jo", ("near_bin",), ("put_away",)),
    HouseholdProfile("ray", ("serve_left", "high_approach", "point_low"), ("serve", "point")),
    HouseholdProfile("lee", ("slow_arm",), ("pick",)),
)


def profile_instances(profile: HouseholdProfile, n: int, rng: np.random.Generator) -> list[TaskInstance]:
    """n task instances cycling through the tasks the profile demonstrates.

    Instances where this person's target would land on the object itself are skipped (nothing to carry).
    """
    out: list[TaskInstance] = []
    while len(out) < n:
        inst = sample_instance(profile.demonstrated[len(out) % len(profile.demonstrated)], rng)
        target = effective_target(inst, profile.style_for(inst))
        if inst.task in ("serve", "put_away") and np.hypot(*(target - np.array(inst.obj))) < MIN_SEPARATION:
            continue
        out.append(inst)
    return out


def demonstration_rollouts(
    profile: HouseholdProfile, n: int, seed: int, noise: float = 0.004, steps: int = 170
) -> tuple[list[TaskInstance], Rollouts]:
    """n demonstrations by the profile's expert (deterministic given `seed`)."""
    rng = np.random.default_rng(seed)
    instances = profile_instances(profile, n, rng)
    return instances, rollout_profile(profile, instances, seed=seed + 1, steps=steps, noise=noise)


def _style_groups(profile: HouseholdProfile, instances: list[TaskInstance]) -> list[tuple[ExpertStyle, np.ndarray]]:
    """Instances grouped by the style this person wants them done in (one group unless the way is conditional)."""
    groups: dict[ExpertStyle, list[int]] = {}
    for i, inst in enumerate(instances):
        groups.setdefault(profile.style_for(inst), []).append(i)
    return [(style, np.array(idx)) for style, idx in groups.items()]


def rollout_profile(
    profile: HouseholdProfile,
    instances: list[TaskInstance],
    seed: int,
    steps: int = 170,
    noise: float = 0.004,
    q0: np.ndarray | None = None,
) -> Rollouts:
    """The person's expert on every instance (each in the style this person wants it), in instance order."""
    groups = _style_groups(profile, instances)
    if len(groups) == 1:
        return rollout_expert(instances, groups[0][0], seed=seed, steps=steps, noise=noise, q0=q0)
    n = len(instances)
    parts = [
        (idx, rollout_expert([instances[i] for i in idx], style, seed=seed + 7919 * g, steps=steps, noise=noise,
                             q0=None if q0 is None else np.asarray(q0)[idx]))
        for g, (style, idx) in enumerate(groups)
    ]
    fields = {}
    for name in ("q", "context", "action", "valid", "done_step"):
        first = getattr(parts[0][1], name)
        out = np.zeros((n, *first.shape[1:]), dtype=first.dtype)
        for idx, ro in parts:
            out[idx] = getattr(ro, name)
        fields[name] = out
    return Rollouts(**fields)


class ProfileExpert:
    """The person's expert one tick at a time (for a simulated person driving alongside a policy)."""

    def __init__(self, profile: HouseholdProfile, instances: list[TaskInstance]) -> None:
        self.groups: list[tuple[np.ndarray, Plan]] = [
            (idx, plan([instances[i] for i in idx], style)) for style, idx in _style_groups(profile, instances)
        ]
        self.n = len(instances)

    def next_targets(self, q: np.ndarray) -> np.ndarray:
        """(N, 6) joint positions -> (N, 6) the person's next joint targets from there."""
        out = np.zeros((self.n, 6))
        for idx, p in self.groups:
            out[idx] = expert_step(q[idx], p)
        return out


def as_episodes(instances: list[TaskInstance], ro: Rollouts,
                profile_id: str | None = None) -> list[tuple[dict[str, np.ndarray], dict[str, Any]]]:
    """Rollouts in the shared episode format: [(arrays {"t", "q", "goal"}, meta), ...]."""
    episodes = []
    created = datetime.now(UTC).isoformat()
    for i, inst in enumerate(instances):
        n = int(ro.valid[i].sum())
        arrays: dict[str, np.ndarray] = {
            "t": np.arange(n, dtype=np.float64) / RATE_HZ,
            "q": ro.q[i, :n].astype(np.float32),
            "goal": ro.action[i, :n].astype(np.float32),
        }
        meta = {
            "task": inst.task,
            "profile_id": profile_id,
            "mode": "click",
            "rate_hz": RATE_HZ,
            "joint_names": list(JOINT_NAMES),
            "interrupted": False,
            "fault": None,
            "created": created,
            "context": inst.context().tolist(),
        }
        episodes.append((arrays, meta))
    return episodes
