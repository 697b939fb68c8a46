"""The named tabletop tasks of the base policy, their context vector, and the base task distribution.

Table layout (world frame of kinematics.py, metres): the arm stands at the back of the table, the person
sits in front (+x). Two bins stand beside the arm, one on each side.

Task context (CONTEXT_DIM = 8): one-hot task id (4) + object (x, y) + target (x, y) on the table.
  pick      object = the item to pick up and hold, target = the same point
  serve     object = the cup, target = where on the table's front edge to put it down
  put_away  object = the item, target = the centre of the bin to drop it in
  point     object = target = where the person sits (the arm points at them)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TASK_NAMES: tuple[str, ...] = ("pick", "serve", "put_away", "point")
TASK_DESCRIPTIONS: dict[str, str] = {
    "pick": "pick up the item and hold it above the table",
    "serve": "carry the cup to the front edge of the table",
    "put_away": "drop the item into the bin",
    "point": "point at the person at the table",
}
N_TASKS = len(TASK_NAMES)
CONTEXT_DIM = N_TASKS + 4

# The task id's columns in the policy's observation (6 joint positions, then this context). An adapter
# personalizes the tasks its demonstrations show and runs the exact base on the others (prop/scope.py), so a
# person's way never leaks into a task they did not show.
TASK_COLUMNS: tuple[int, ...] = tuple(range(6, 6 + N_TASKS))


def scope_tasks(scope: tuple[int, ...] | None) -> tuple[str, ...] | None:
    """The tasks an adapter's scope personalizes (None: unscoped, every task)."""
    return None if scope is None else tuple(TASK_NAMES[c - TASK_COLUMNS[0]] for c in scope if c in TASK_COLUMNS)


def tasks_in_words(tasks: tuple[str, ...]) -> str:
    """Task names as a person reads them: "pick, put away"."""
    return ", ".join(t.replace("_", " ") for t in tasks)


BINS: dict[str, tuple[float, float]] = {"left": (0.10, 0.22), "right": (0.10, -0.22)}

# Sampling ranges (x range, y range) of the base task distribution.
ITEM_RANGE = ((0.15, 0.26), (-0.13, 0.13))
EDGE_RANGE = ((0.28, 0.31), (-0.07, 0.07))
PERSON_RANGE = ((0.45, 0.45), (-0.30, 0.30))
MIN_SEPARATION = 0.07  # object and target this far apart, so "at the object" and "at the target" differ


@dataclass(frozen=True)
class TaskInstance:
    task: str
    obj: tuple[float, float]
    target: tuple[float, float]

    def context(self) -> np.ndarray:
        return task_context(self.task, self.obj, self.target)


def task_index(task: str) -> int:
    if task not in TASK_NAMES:
        raise ValueError(f"unknown task {task!r}; the tasks are: {', '.join(TASK_NAMES)}")
    return TASK_NAMES.index(task)


def task_context(task: str, obj: tuple[float, float], target: tuple[float, float]) -> np.ndarray:
    """The (8,) float32 context vector the policy sees for one task instance."""
    ctx = np.zeros(CONTEXT_DIM, dtype=np.float32)
    ctx[task_index(task)] = 1.0
    ctx[N_TASKS : N_TASKS + 2] = obj
    ctx[N_TASKS + 2 :] = target
    return ctx


def instance_from_context(ctx: np.ndarray) -> TaskInstance:
    ctx = np.asarray(ctx, dtype=np.float64).reshape(CONTEXT_DIM)
    task = TASK_NAMES[int(np.argmax(ctx[:N_TASKS]))]
    return TaskInstance(task, (float(ctx[N_TASKS]), float(ctx[N_TASKS + 1])), (float(ctx[-2]), float(ctx[-1])))


def _uniform(rng: np.random.Generator, box: tuple[tuple[float, float], tuple[float, float]]) -> tuple[float, float]:
    return float(rng.uniform(*box[0])), float(rng.uniform(*box[1]))


def sample_instance(task: str, rng: np.random.Generator) -> TaskInstance:
    """One instance of `task` from the base distribution."""
    task_index(task)
    if task == "pick":
        obj = _uniform(rng, ITEM_RANGE)
        return TaskInstance(task, obj, obj)
    if task == "point":
        person = _uniform(rng, PERSON_RANGE)
        return TaskInstance(task, person, person)
    while True:
        obj = _uniform(rng, ITEM_RANGE)
        if task == "serve":
            target = _uniform(rng, EDGE_RANGE)
        else:
            target = BINS["left" if rng.random() < 0.5 else "right"]
        if np.hypot(obj[0] - target[0], obj[1] - target[1]) >= MIN_SEPARATION:
            return TaskInstance(task, obj, target)


def sample_instances(n: int, rng: np.random.Generator, tasks: tuple[str, ...] = TASK_NAMES) -> list[TaskInstance]:
    """n instances, cycling through `tasks` so every task is equally represented."""
    return [sample_instance(tasks[i % len(tasks)], rng) for i in range(n)]
