"""The LeRobotDataset v3.0 layout, state-only, written and read with pyarrow (LeRobot is not a dependency).

    meta/info.json                         codebase_version "v3.0", fps, robot_type, features, totals, path templates
    meta/stats.json                        per feature: min, max, mean, std, count, q01, q10, q50, q90, q99
    meta/tasks.parquet                     task_index, with the task text as the (pandas) index "task"
    meta/episodes/chunk-000/file-000.parquet   one row per episode: index, tasks, length, where its frames are,
                                           and its own stats/<feature>/<stat> columns
    data/chunk-000/file-000.parquet        one row per frame: observation.state, action (fixed-size float32
                                           lists), timestamp, frame_index, episode_index, index, task_index

This module knows the files; it does not know our units, profiles or storage (lerobot_dataset.py does).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

CODEBASE_VERSION = "v3.0"
STATE = "observation.state"
ACTION = "action"
CHUNK_FILE = "chunk-{chunk_index:03d}/file-{file_index:03d}"
DATA_PATH = "data/" + CHUNK_FILE + ".parquet"
EPISODES_PATH = "meta/episodes/" + CHUNK_FILE + ".parquet"
TASKS_PATH = "meta/tasks.parquet"
INFO_PATH = "meta/info.json"
STATS_PATH = "meta/stats.json"
CHUNKS_SIZE = 1000  # files per chunk folder (LeRobot's default)
DATA_FILE_MB = 100  # LeRobot's default size limit of one data file
QUANTILES = {"q01": 0.01, "q10": 0.10, "q50": 0.50, "q90": 0.90, "q99": 0.99}
INDEX_FEATURES = {
    "timestamp": "float32", "frame_index": "int64", "episode_index": "int64", "index": "int64", "task_index": "int64",
}


class DatasetFormatError(ValueError):
    """A dataset folder we cannot read as LeRobot v3.0; the message says what is wrong and what to do."""


@dataclass
class StateEpisode:
    """One episode in LeRobot units: (T, J) state and action, and its task text."""

    task: str
    state: np.ndarray
    action: np.ndarray
    index: int = 0  # episode_index in the dataset


@dataclass
class StateDataset:
    robot_type: str
    fps: int
    names: list[str]  # motor feature names, e.g. shoulder_pan.pos
    episodes: list[StateEpisode]
    notes: list[str] = field(default_factory=list)  # what was read but left out (videos, images, ...)


# -- writing ------------------------------------------------------------------------------------------------
def feature_stats(values: np.ndarray) -> dict[str, list[float]]:
    """LeRobot's per-feature statistics over frames (axis 0) of a (T, D) array."""
    v = np.asarray(values, dtype=np.float64).reshape(len(values), -1)
    stats = {"min": v.min(0), "max": v.max(0), "mean": v.mean(0), "std": v.std(0)}
    stats.update({name: np.quantile(v, q, axis=0) for name, q in QUANTILES.items()})
    out = {k: [float(x) for x in s] for k, s in stats.items()}
    out["count"] = [int(v.shape[0])]
    return out


def _fixed_list(values: np.ndarray) -> pa.FixedSizeListArray:
    flat = pa.array(np.ascontiguousarray(values, dtype=np.float32).reshape(-1), type=pa.float32())
    return pa.FixedSizeListArray.from_arrays(flat, values.shape[1])


def _frames_table(ep: StateEpisode, task_index: int, first_index: int, fps: int) -> pa.Table:
    n = len(ep.state)
    frame_index = np.arange(n, dtype=np.int64)
    return pa.table({
        STATE: _fixed_list(ep.state),
        ACTION: _fixed_list(ep.action),
        "timestamp": pa.array((frame_index / fps).astype(np.float32)),
        "frame_index": pa.array(frame_index),
        "episode_index": pa.array(np.full(n, ep.index, dtype=np.int64)),
        "index": pa.array(first_index + frame_index),
        "task_index": pa.array(np.full(n, task_index, dtype=np.int64)),
    })


def _tasks_table(tasks: Sequence[str]) -> pa.Table:
    """task_index with the text as a pandas index named "task", as pandas.DataFrame.to_parquet stores it."""
    pandas_meta = {
        "index_columns": ["task"],
        "column_indexes": [],
        "columns": [
            {"name": "task_index", "field_name": "task_index", "pandas_type": "int64", "numpy_type": "int64",
             "metadata": None},
            {"name": "task", "field_name": "task", "pandas_type": "unicode", "numpy_type": "object",
             "metadata": None},
        ],
        "creator": {"library": "pyarrow", "version": pa.__version__},
        "pandas_version": "2.2.0",
    }
    table = pa.table({"task_index": pa.array(range(len(tasks)), type=pa.int64()),
                      "task": pa.array(list(tasks), type=pa.string())})
    return table.replace_schema_metadata({b"pandas": json.dumps(pandas_meta).encode()})


def write_dataset(root: Path, dataset: StateDataset, frames_per_file: int | None = None) -> None:
    """Write `dataset` under `root` (which must exist and be empty). A data file holds whole episodes and,
    like LeRobot's, stays under DATA_FILE_MB (`frames_per_file` overrides that, for tests)."""
    root = Path(root)
    tasks = list(dict.fromkeys(ep.task for ep in dataset.episodes))
    if frames_per_file is None:
        frame_bytes = 2 * 4 * len(dataset.names) + 4 + 4 * 8  # uncompressed; parquet only makes it smaller
        frames_per_file = max(1, DATA_FILE_MB * 1024 * 1024 // frame_bytes)
    files: list[list[pa.Table]] = [[]]
    rows_in_file, first = 0, 0
    episode_rows = []
    for ep in dataset.episodes:
        if rows_in_file and rows_in_file + len(ep.state) > frames_per_file:
            files.append([])
            rows_in_file = 0
        file_number = len(files) - 1
        files[-1].append(_frames_table(ep, tasks.index(ep.task), first, dataset.fps))
        row: dict[str, object] = {
            "episode_index": ep.index, "tasks": [ep.task], "length": len(ep.state),
            "data/chunk_index": file_number // CHUNKS_SIZE, "data/file_index": file_number % CHUNKS_SIZE,
            "dataset_from_index": first, "dataset_to_index": first + len(ep.state),
            "meta/episodes/chunk_index": 0, "meta/episodes/file_index": 0,
        }
        for feature, per_stat in _episode_stats(ep, first, tasks.index(ep.task), dataset.fps).items():
            for stat, values in per_stat.items():
                row[f"stats/{feature}/{stat}"] = values
        episode_rows.append(row)
        rows_in_file += len(ep.state)
        first += len(ep.state)
    for number, tables in enumerate(files):
        path = root / DATA_PATH.format(chunk_index=number // CHUNKS_SIZE, file_index=number % CHUNKS_SIZE)
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.concat_tables(tables), path)
    episodes_path = root / EPISODES_PATH.format(chunk_index=0, file_index=0)
    episodes_path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(episode_rows), episodes_path)
    pq.write_table(_tasks_table(tasks), root / TASKS_PATH)
    all_frames = pa.concat_tables([t for tables in files for t in tables])
    stats: dict[str, dict[str, list[float]]] = {
        name: feature_stats(column_array(all_frames, name)) for name in all_frames.column_names}
    (root / STATS_PATH).write_text(json.dumps(stats, indent=4))
    (root / INFO_PATH).write_text(json.dumps(_info(dataset, len(tasks), first), indent=4))


def _episode_stats(ep: StateEpisode, first: int, task_index: int, fps: int) -> dict[str, dict[str, list[float]]]:
    table = _frames_table(ep, task_index, first, fps)
    return {name: feature_stats(column_array(table, name)) for name in table.column_names}


def _info(dataset: StateDataset, n_tasks: int, n_frames: int) -> dict[str, object]:
    motor = {"dtype": "float32", "shape": [len(dataset.names)], "names": list(dataset.names)}
    features: dict[str, object] = {ACTION: dict(motor), STATE: dict(motor)}
    features.update({k: {"dtype": d, "shape": [1], "names": None} for k, d in INDEX_FEATURES.items()})
    return {
        "codebase_version": CODEBASE_VERSION,
        "robot_type": dataset.robot_type,
        "total_episodes": len(dataset.episodes),
        "total_frames": n_frames,
        "total_tasks": n_tasks,
        "chunks_size": CHUNKS_SIZE,
        "data_files_size_in_mb": DATA_FILE_MB,
        "video_files_size_in_mb": 200,
        "fps": dataset.fps,
        "splits": {"train": f"0:{len(dataset.episodes)}"},
        "data_path": DATA_PATH,
        "video_path": None,
        "features": features,
    }


def column_array(table: pa.Table, name: str) -> np.ndarray:
    """A column as a float64 (rows, width) array; list columns (fixed or not) must have equal-length rows."""
    column = table.column(name).combine_chunks()
    if pa.types.is_fixed_size_list(column.type) or pa.types.is_list(column.type) or pa.types.is_large_list(
            column.type):
        values = column.flatten().to_numpy(zero_copy_only=False).astype(np.float64)
        if len(column) and values.size % len(column):
            raise DatasetFormatError(f"the column {name!r} has rows of different lengths")
        return np.asarray(values.reshape(len(column), -1), dtype=np.float64)
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float64).reshape(-1, 1)
