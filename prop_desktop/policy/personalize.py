"""Ways a household member may want the tasks done differently, as modified experts.

A personalization changes the expert's style (where to put the cup, which bin, how high to approach,
how to hold the gripper) for the tasks the person demonstrates; other tasks stay as the base policy does
them. These generate demonstrations for `prop-desktop bench household` and for tests; in the app, people
record real demonstrations instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from prop_desktop.policy.expert import BASE_STYLE, RATE_HZ, ExpertStyle, Rollouts, effective_target, rollout_expert
from prop_desktop.policy.kinematics import JOINT_NAMES
from prop_desktop.policy.tasks import MIN_SEPARATION, TASK_NAMES, TaskInstance, sample_instance


@dataclass(frozen=True)
class Personalization:
    name: str
    description: str
    changes: dict  # ExpertStyle fields
    tasks: tuple[str, ...]  # the tasks this changes


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
    )
}


@dataclass(frozen=True)
class HouseholdProfile:
    """A person, the personalizations they want, and the tasks they demonstrate."""

    name: str
    personalizations: tuple[str, ...]
    demonstrated: tuple[str, ...]

    @property
    def style(self) -> ExpertStyle:
        changes: dict = {}
        for name in self.personalizations:
            if name not in PERSONALIZATIONS:
                raise ValueError(f"unknown personalization {name!r}; known: {', '.join(PERSONALIZATIONS)}")
            changes.update(PERSONALIZATIONS[name].changes)
        return BASE_STYLE.with_changes(**changes)

    @property
    def undemonstrated(self) -> tuple[str, ...]:
        return tuple(t for t in TASK_NAMES if t not in self.demonstrated)

    def describe(self) -> str:
        return "; ".join(PERSONALIZATIONS[p].description for p in self.personalizations)


# The three households members of `bench household`: different tasks, different kinds of change.
BENCH_PROFILES: tuple[HouseholdProfile, ...] = (
    HouseholdProfile("alex", ("serve_left",), ("serve",)),
    HouseholdProfile("sam", ("other_bin", "gentle_gripper"), ("put_away",)),
    HouseholdProfile("kim", ("high_approach", "sideways_grip"), ("pick",)),
)


def profile_instances(profile: HouseholdProfile, n: int, rng: np.random.Generator) -> list[TaskInstance]:
    """n task instances cycling through the tasks the profile demonstrates.

    Instances where this person's target would land on the object itself are skipped (nothing to carry).
    """
    style = profile.style
    out: list[TaskInstance] = []
    while len(out) < n:
        inst = sample_instance(profile.demonstrated[len(out) % len(profile.demonstrated)], rng)
        target = effective_target(inst, style)
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
    return instances, rollout_expert(instances, profile.style, seed=seed + 1, steps=steps, noise=noise)


def as_episodes(instances: list[TaskInstance], ro: Rollouts, profile_id: str | None = None) -> list[tuple[dict, dict]]:
    """Rollouts in the shared episode format: [(arrays {"t", "q", "goal"}, meta), ...]."""
    episodes = []
    created = datetime.now(UTC).isoformat()
    for i, inst in enumerate(instances):
        n = int(ro.valid[i].sum())
        arrays = {
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
