"""Read a LeRobotDataset v3.0 folder (written by LeRobot or by us) into memory, checking everything first.

Only joint states and actions are read. Camera features (video or image) and other extra features are left out,
each with a note. Anything that does not match the v3.0 layout raises DatasetFormatError naming the file and
the problem; the caller gets either the whole dataset or nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .lerobot_format import (
    ACTION,
    CODEBASE_VERSION,
    INDEX_FEATURES,
    INFO_PATH,
    STATE,
    TASKS_PATH,
    DatasetFormatError,
    StateDataset,
    StateEpisode,
    column_array,
)

FLOAT_TYPES = ("float32", "float64")
# Frames must advance by 1/fps; LeRobot itself writes timestamps as frame_index / fps exactly.
FPS_TOLERANCE_FRAMES = 0.1


def _load_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetFormatError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise DatasetFormatError(f"{path} is not a JSON object")
    return data


def _feature_names(name: str, feature: dict[str, Any]) -> list[str]:
    names = feature.get("names")
    if isinstance(names, dict):  # older datasets: {"motors": [...]}
        names = next(iter(names.values()), None)
    shape = feature.get("shape")
    if not isinstance(names, list) or not isinstance(shape, list | tuple) or [len(names)] != list(shape):
        raise DatasetFormatError(f"feature {name!r} must list one name per value (shape {shape}, names {names})")
    if str(feature.get("dtype")) not in FLOAT_TYPES:
        raise DatasetFormatError(f"feature {name!r} has dtype {feature.get('dtype')}; joint values must be float32")
    return [str(n) for n in names]


def _read_tables(folder: Path, what: str, columns: list[str] | None = None) -> pa.Table:
    paths = sorted(folder.glob("*/*.parquet"))
    if not paths:
        raise DatasetFormatError(f"{what} is missing: no {folder.name}/chunk-*/file-*.parquet files in {folder.parent}")
    try:
        for path in paths:
            missing = [c for c in columns or () if c not in pq.read_schema(path).names]
            if missing:
                raise DatasetFormatError(f"{path.relative_to(folder.parent)} has no column {', '.join(missing)}; "
                                         f"{what} needs the columns {', '.join(columns or ())}")
        tables = [pq.read_table(p, columns=columns) for p in paths]
        return pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowException, OSError) as exc:
        raise DatasetFormatError(f"cannot read {what} under {folder}: {exc}") from None


def _tasks(root: Path) -> dict[int, str]:
    path = root / TASKS_PATH
    if not path.is_file():
        raise DatasetFormatError(f"the task list {TASKS_PATH} is missing from {root}; the dataset is incomplete")
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise DatasetFormatError(f"cannot read the task list {path}: {exc}") from None
    text = next((c for c in ("task", "__index_level_0__") if c in table.column_names), None)
    if text is None or "task_index" not in table.column_names:
        raise DatasetFormatError(f"{path} needs the columns task_index and task")
    return {int(i): str(t) for i, t in zip(table.column("task_index").to_pylist(), table.column(text).to_pylist(),
                                           strict=True)}


def read_dataset(root: Path) -> StateDataset:
    """The joint states and actions of every episode under `root`, in file units (no conversion)."""
    root = Path(root)
    if not (root / INFO_PATH).is_file():
        raise DatasetFormatError(f"{root} is not a LeRobot dataset folder (it has no {INFO_PATH})")
    info = _load_json(root / INFO_PATH)
    version = info.get("codebase_version")
    if version != CODEBASE_VERSION:
        raise DatasetFormatError(
            f"this dataset is in LeRobot format {version}; PRoP Desktop reads {CODEBASE_VERSION} only. Convert it "
            "with LeRobot first (python -m lerobot.datasets.v30.convert_dataset_v21_to_v30 --repo-id=...)"
        )
    fps = info.get("fps")
    if not isinstance(fps, int | float) or fps <= 0 or float(fps) != int(fps):
        raise DatasetFormatError(f"{INFO_PATH} has fps {fps!r}; expected a positive whole number of frames per second")
    features = info.get("features")
    if not isinstance(features, dict):
        raise DatasetFormatError(f"{INFO_PATH} has no features")
    missing = [f for f in (STATE, ACTION) if f not in features]
    if missing:
        raise DatasetFormatError(f"the dataset has no {' and no '.join(missing)} feature; PRoP Desktop needs the "
                                 "joint positions as observation.state and action")
    names = _feature_names(STATE, features[STATE])
    if _feature_names(ACTION, features[ACTION]) != names:
        raise DatasetFormatError("observation.state and action name different joints; they must be the same")
    notes = []
    for key, feature in features.items():
        if key in (STATE, ACTION) or key in INDEX_FEATURES:
            continue
        kind = feature.get("dtype") if isinstance(feature, dict) else None
        what = "camera" if kind in ("video", "image") else "extra"
        notes.append(f"skipped the {what} feature {key!r} ({kind}): PRoP Desktop keeps joint states and actions only")
    dataset = StateDataset(str(info.get("robot_type")), int(fps), names, [], notes)
    dataset.episodes = _episodes(root, dataset.fps, len(names))
    if not dataset.episodes:
        raise DatasetFormatError(f"{root} has no frames")
    return dataset


def _episodes(root: Path, fps: int, dim: int) -> list[StateEpisode]:
    tasks = _tasks(root)
    columns = [STATE, ACTION, "timestamp", "frame_index", "episode_index", "task_index"]
    frames = _read_tables(root / "data", "the frame data", columns)
    meta = _read_tables(root / "meta" / "episodes", "the episode list (meta/episodes)", ["episode_index", "length"])
    listed = zip(meta.column("episode_index").to_pylist(), meta.column("length").to_pylist(), strict=True)
    lengths = {int(e): int(n) for e, n in listed}
    state, action = column_array(frames, STATE), column_array(frames, ACTION)
    if state.shape[1] != dim or action.shape[1] != dim:
        raise DatasetFormatError(f"the frames hold {state.shape[1]} values per state, info.json says {dim}")
    ep_index = frames.column("episode_index").to_numpy().astype(np.int64)
    frame_index = frames.column("frame_index").to_numpy().astype(np.int64)
    timestamp = frames.column("timestamp").to_numpy().astype(np.float64)
    task_index = frames.column("task_index").to_numpy().astype(np.int64)
    episodes = []
    for e in sorted(set(ep_index.tolist())):
        rows = np.flatnonzero(ep_index == e)
        rows = rows[np.argsort(frame_index[rows], kind="stable")]
        n = len(rows)
        if lengths.get(e) != n or not np.array_equal(frame_index[rows], np.arange(n)):
            raise DatasetFormatError(f"episode {e}: its frames do not match meta/episodes "
                                     f"({n} frames, listed length {lengths.get(e)}); the dataset is incomplete")
        steps = np.diff(timestamp[rows])
        if n > 1 and np.max(np.abs(steps - 1.0 / fps)) > FPS_TOLERANCE_FRAMES / fps:
            measured = 1.0 / float(np.median(steps)) if np.median(steps) > 0 else float("nan")
            raise DatasetFormatError(f"episode {e}: its timestamps advance at {measured:.3g} frames per second, but "
                                     f"info.json says fps {fps}; the dataset's fps does not match its timestamps")
        if not (np.all(np.isfinite(state[rows])) and np.all(np.isfinite(action[rows]))):
            raise DatasetFormatError(f"episode {e} has missing (NaN) joint values")
        task = tasks.get(int(task_index[rows[0]]))
        if task is None:
            raise DatasetFormatError(f"episode {e} refers to task {int(task_index[rows[0]])}, not in {TASKS_PATH}")
        episodes.append(StateEpisode(task, state[rows], action[rows], index=int(e)))
    missing = sorted(set(lengths) - {ep.index for ep in episodes})
    if missing:
        raise DatasetFormatError(f"episodes {missing} are listed in meta/episodes but have no frames under data/")
    return episodes
