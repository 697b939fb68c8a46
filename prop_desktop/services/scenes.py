"""Task scenes (object and target on the table) and the base behaviour's waypoints for the workspace view."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from prop_desktop.services.errors import InvalidInputError
from prop_desktop.services.models import Scene, TaskInfo, Waypoint

if TYPE_CHECKING:
    from prop_desktop.policy.tasks import TaskInstance

TASK_TITLES = {"pick": "Pick up", "serve": "Serve a cup", "put_away": "Put away", "point": "Point at me"}


def check_task(task: str) -> str:
    from prop_desktop.policy.tasks import TASK_NAMES

    if task not in TASK_NAMES:
        raise InvalidInputError(f"Unknown task {task!r}.", f"Choose one of: {', '.join(TASK_NAMES)}.")
    return task


def task_infos() -> list[TaskInfo]:
    from prop_desktop.policy.tasks import TASK_DESCRIPTIONS, TASK_NAMES

    infos = []
    for name in TASK_NAMES:
        scene = default_scene(name)
        infos.append(
            TaskInfo(
                name=name,
                title=TASK_TITLES.get(name, name.replace("_", " ").capitalize()),
                description=TASK_DESCRIPTIONS.get(name, ""),
                context=scene.context,
                default_targets=tuple(w.xyz for w in scene.base_waypoints),
            )
        )
    return infos


def make_scene(task: str, obj: tuple[float, float], target: tuple[float, float] | None = None) -> Scene:
    """A scene from positions the user placed (target defaults to obj for pick/point)."""
    from prop_desktop.policy.tasks import TaskInstance

    check_task(task)
    target = obj if target is None or task in ("pick", "point") else target
    inst = TaskInstance(task, (float(obj[0]), float(obj[1])), (float(target[0]), float(target[1])))
    for name, (x, y) in (("object", inst.obj), ("target", inst.target)):
        if not (np.isfinite(x) and np.isfinite(y)):
            raise InvalidInputError(f"The {name} position is not a number.", "Place it on the table again.")
    return Scene(task, inst.obj, inst.target, tuple(float(v) for v in inst.context()), base_waypoints(inst))


def default_scene(task: str) -> Scene:
    """A fixed, typical scene per task (the middle of its base distribution)."""
    from prop_desktop.policy.tasks import BINS, EDGE_RANGE, ITEM_RANGE, PERSON_RANGE

    check_task(task)
    item = (float(np.mean(ITEM_RANGE[0])), 0.06)
    if task == "pick":
        return make_scene(task, item)
    if task == "serve":
        return make_scene(task, item, (float(np.mean(EDGE_RANGE[0])), -0.04))
    if task == "put_away":
        return make_scene(task, item, BINS["left"])
    return make_scene(task, (float(np.mean(PERSON_RANGE[0])), 0.15))


def random_scene(task: str, seed: int | None = None) -> Scene:
    """A scene drawn from the base task distribution."""
    from prop_desktop.policy.tasks import sample_instance

    inst = sample_instance(check_task(task), np.random.default_rng(seed))
    return make_scene(task, inst.obj, inst.target)


def scene_from_context(context: tuple[float, ...] | np.ndarray) -> Scene:
    from prop_desktop.policy.tasks import instance_from_context

    inst = instance_from_context(np.asarray(context, dtype=np.float64))
    return make_scene(inst.task, inst.obj, inst.target)


def base_waypoints(inst: TaskInstance) -> tuple[Waypoint, ...]:
    """How the base expert would do this instance: its key tip points with gripper openings, in order."""
    from prop_desktop.policy import expert
    from prop_desktop.policy.kinematics import tip_position

    try:
        p = expert.plan([inst])
    except Exception:  # noqa: BLE001 - an unreachable scene simply has no suggestion
        return ()
    joints = p.joints[0]
    if inst.task == "point":
        slots = [expert.POINT]
    elif inst.task == "pick":
        slots = [expert.ABOVE_O, expert.AT_O, expert.AT_O_CLOSED, expert.ABOVE_O_CLOSED]
    else:
        slots = [
            expert.ABOVE_O,
            expert.AT_O,
            expert.AT_O_CLOSED,
            expert.ABOVE_O_CLOSED,
            expert.ABOVE_T_CLOSED,
            expert.AT_T_CLOSED,
            expert.AT_T_WIDE,
            expert.ABOVE_T_WIDE,
        ]
    out = []
    for slot in slots:
        tip = tip_position(joints[slot])
        x, y, z = (round(float(v), 4) for v in tip)
        out.append(Waypoint(x, y, z, round(float(joints[slot][5]), 4)))
    return tuple(out)
