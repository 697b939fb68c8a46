"""A profile's recordings as a LeRobotDataset v3.0, and a LeRobot dataset into a profile's sealed recordings.

Export decrypts the chosen recordings in memory and writes a *plaintext* dataset to a folder outside the data
folder (callers must have the user's consent: the CLI wants --yes, the app a confirmation dialog). It is written
into a hidden sibling folder first and renamed into place at the end, so a crash never leaves half a dataset.

Import reads and checks the whole dataset in memory before it seals anything; if sealing fails part way, the
episodes already sealed are deleted again. Plaintext is never written to the data folder.

Conventions (see docs/lerobot.md): observation.state = the measured joints; action = the commanded goal, or the
next frame's measured joints where nothing was commanded (hand-guided recordings); timestamps = frame_index / fps;
the task text is our task's description (or the LeRobot text an imported recording came with).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from prop_desktop.arm.calibration import now_iso
from prop_desktop.arm.models import ArmModel, arm_model
from prop_desktop.policy.tasks import TASK_DESCRIPTIONS, TASK_NAMES
from prop_desktop.storage import UnlockedProfile

from .lerobot_calibration import read_lerobot_calibration
from .lerobot_format import StateDataset, StateEpisode, write_dataset
from .lerobot_reader import read_dataset
from .lerobot_units import NormMode, UnitConversion, motor_names, robot_for_model, robot_for_type

IMPORTED_MODE = "imported"


class InteropError(ValueError):
    """An export or import that cannot be done as asked; the message says why and what to do."""


@dataclass
class ExportResult:
    folder: Path
    robot_type: str
    fps: int
    episodes: int
    frames: int
    notes: list[str] = field(default_factory=list)


@dataclass
class ImportResult:
    episode_ids: list[str]
    robot_type: str
    fps: int
    frames: int
    notes: list[str] = field(default_factory=list)


def _inside(path: Path, folder: Path) -> bool:
    path, folder = path.resolve(), folder.resolve()
    return path == folder or folder in path.parents


def task_text(meta: dict[str, Any]) -> str:
    """The natural-language task LeRobot stores per episode."""
    if meta.get("lerobot_task"):
        return str(meta["lerobot_task"])
    task = str(meta.get("task") or "")
    return TASK_DESCRIPTIONS.get(task, task or "demonstration")


def task_name(text: str, override: str | None) -> str | None:
    """Our task for a LeRobot task text: --task if given, else a task whose name or description it is."""
    if override is not None:
        return override
    key = " ".join(text.casefold().split())
    for name in TASK_NAMES:
        if key in (name, name.replace("_", " "), TASK_DESCRIPTIONS[name].casefold()):
            return name
    return None


def _common(values: list[Any], what: str) -> Any:
    distinct = sorted({str(v) for v in values})
    if len(distinct) > 1:
        raise InteropError(f"the recordings have different {what} ({', '.join(distinct)}); one dataset has one "
                           f"{what}: export them separately with --recording ID")
    return values[0]


def _next_pose(q: np.ndarray) -> np.ndarray:
    """Each frame's next measured pose (the last frame keeps its own): where the hand moved the arm. An action
    equal to the same frame's state would teach a LeRobot policy to stand still."""
    return np.concatenate([q[1:], q[-1:]]) if len(q) else q


def _units(model: ArmModel, calibration_file: Path | None, body_mode: NormMode | None) -> UnitConversion:
    lerobot = None if calibration_file is None else read_lerobot_calibration(calibration_file, model)
    return UnitConversion(model, lerobot, body_mode)


def export_recordings(me: UnlockedProfile, out: Path, *, data_root: Path, recording_ids: Sequence[str] | None = None,
                      calibration_file: Path | None = None, body_mode: NormMode | None = None) -> ExportResult:
    """Write the profile's recordings (all, or `recording_ids`) as a state-only LeRobot dataset at `out`.

    `calibration_file` is the arm's LeRobot calibration JSON; units then match what LeRobot reads from that arm.
    Without it the model's nominal calibration is used (SO arms: 0 rad = 0 degrees)."""
    out = Path(out).expanduser().absolute()
    if _inside(out, data_root) or _inside(data_root, out):
        raise InteropError(f"the export is not encrypted, so it cannot go into the data folder {data_root}; "
                           "choose a folder outside it")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InteropError(f"{out} already exists and is not an empty folder; choose a new folder")
    ids = list(recording_ids) if recording_ids else [info.id for info in me.episodes.list()]
    if not ids:
        raise InteropError(f"profile {me.profile.name!r} has no recordings to export")
    loaded = [me.episodes.load(i) for i in ids]
    if not recording_ids:  # recording order; episodes imported together keep their dataset's order
        order = sorted(range(len(ids)), key=lambda k: (str(loaded[k][1].get("created", "")),
                                                        int(loaded[k][1].get("lerobot_episode_index", 0))))
        ids, loaded = [ids[k] for k in order], [loaded[k] for k in order]
    notes = [f"left out recording {i}: it has no samples" for i, (a, _m) in zip(ids, loaded, strict=True)
             if len(a.get("q", ())) == 0]
    loaded = [(a, m) for a, m in loaded if len(a.get("q", ())) > 0]
    if not loaded:
        raise InteropError("none of the chosen recordings has any samples")
    model = arm_model(str(_common([m.get("arm_model") or "so101" for _a, m in loaded], "arm models")))
    rate = float(_common([float(m.get("rate_hz") or 0) for _a, m in loaded], "recording rates"))
    if rate <= 0 or abs(rate - round(rate)) > 1e-6:
        raise InteropError(f"the recordings were made at {rate:g} Hz; a LeRobot dataset needs a whole number "
                           "of frames per second")
    units = _units(model, calibration_file, body_mode)
    episodes = []
    for index, (arrays, meta) in enumerate(loaded):
        q = np.asarray(arrays["q"], dtype=np.float64)
        goal = np.asarray(arrays.get("goal", q), dtype=np.float64)
        commanded = np.all(np.isfinite(goal), axis=1, keepdims=True)
        action = np.where(commanded, goal, _next_pose(q))
        episodes.append(StateEpisode(task_text(meta), units.to_lerobot(q), units.to_lerobot(action), index))
    dataset = StateDataset(robot_for_model(model).robot_type, round(rate), motor_names(model), episodes)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.partial-"))
    try:
        write_dataset(staging, dataset)
        if out.exists():
            out.rmdir()
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    frames = sum(len(ep.state) for ep in episodes)
    return ExportResult(out, dataset.robot_type, dataset.fps, len(episodes), frames, notes)


def import_dataset(me: UnlockedProfile, folder: Path, *, task: str | None = None,
                   calibration_file: Path | None = None, body_mode: NormMode | None = None) -> ImportResult:
    """Seal every episode of the LeRobot dataset at `folder` into the profile; all of them or none."""
    if task is not None and task not in TASK_NAMES:
        raise InteropError(f"unknown task {task!r}; choose one of {', '.join(TASK_NAMES)}")
    dataset = read_dataset(Path(folder).expanduser())
    try:
        robot = robot_for_type(dataset.robot_type)
    except ValueError as exc:
        raise InteropError(str(exc)) from None
    model = arm_model(robot.model_key)
    expected = motor_names(model)
    if sorted(dataset.names) != sorted(expected):
        raise InteropError(f"the dataset's joints ({', '.join(dataset.names)}) are not those of the "
                           f"{model.display_name} ({', '.join(expected)})")
    order = [dataset.names.index(n) for n in expected]
    unknown = sorted({ep.task for ep in dataset.episodes if task_name(ep.task, task) is None})
    if unknown:
        raise InteropError(f"the dataset's task(s) {', '.join(repr(t) for t in unknown)} are not PRoP Desktop tasks; "
                           f"say which task they demonstrate with --task ({', '.join(TASK_NAMES)})")
    units = _units(model, calibration_file, body_mode)
    prepared: list[tuple[dict[str, np.ndarray], dict[str, Any]]] = []
    for ep in dataset.episodes:
        n = len(ep.state)
        arrays: dict[str, np.ndarray] = {
            "t": np.arange(n, dtype=np.float64) / dataset.fps,
            "q": units.to_radians(ep.state[:, order]).astype(np.float32),
            "goal": units.to_radians(ep.action[:, order]).astype(np.float32),
        }
        meta: dict[str, Any] = {
            "task": task_name(ep.task, task), "profile_id": me.profile.id, "mode": IMPORTED_MODE,
            "rate_hz": float(dataset.fps), "joint_names": list(model.joint_names), "interrupted": False,
            "fault": None, "created": now_iso(), "arm_model": model.key, "calibrated": calibration_file is not None,
            "lerobot_task": ep.task, "lerobot_robot_type": dataset.robot_type, "lerobot_episode_index": ep.index,
        }
        prepared.append((arrays, meta))
    saved: list[str] = []
    try:
        for arrays, meta in prepared:
            saved.append(me.episodes.save(arrays, meta).id)
    except BaseException:
        for episode_id in saved:  # all or nothing: take back what was already sealed
            try:
                me.episodes.delete(episode_id)
            except Exception:  # noqa: BLE001,S110 - keep the original error; `profile verify` lists leftovers
                pass
        raise
    frames = sum(len(ep.state) for ep in dataset.episodes)
    return ImportResult(saved, dataset.robot_type, dataset.fps, frames, list(dataset.notes))
