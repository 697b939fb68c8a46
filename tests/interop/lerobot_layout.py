"""A LeRobot v3.0 dataset written the way LeRobot writes one, from its documented layout, independently of
prop_desktop.interop (tests use it to feed the importer and to mutate into broken datasets).

What LeRobot's own writer produces (checked against LeRobot 0.4.4's output in fixtures/): data parquet files
with fixed-size float32 lists and a "huggingface" schema entry; meta/episodes rows with data/video locations,
dataset_from_index/to_index and stats/<feature>/<stat> columns; meta/tasks.parquet holding task_index with the
task text as the pandas index (stored as "__index_level_0__"); meta/info.json; meta/stats.json.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

NAMES = ["shoulder_pan.pos", "shoulder_lift.pos", "elbow_flex.pos", "wrist_flex.pos", "wrist_roll.pos",
         "gripper.pos"]


def write_lerobot_like(root: Path, episodes: list[tuple[str, np.ndarray, np.ndarray]], *, fps: int = 30,
                       robot_type: str = "so101_follower", with_video: bool = True,
                       timestamps_fps: float | None = None) -> Path:
    """episodes: (task text, state (T, 6), action (T, 6)) in LeRobot units."""
    root.mkdir(parents=True)
    tasks = sorted({task for task, _s, _a in episodes})
    rows, ep_rows, start = [], [], 0
    for e, (task, state, action) in enumerate(episodes):
        n = len(state)
        for i in range(n):
            rows.append({"observation.state": [float(x) for x in state[i]],
                         "action": [float(x) for x in action[i]],
                         "timestamp": i / (timestamps_fps or fps), "frame_index": i, "episode_index": e,
                         "index": start + i, "task_index": tasks.index(task)})
        ep_rows.append({"episode_index": e, "tasks": [task], "length": n, "data/chunk_index": 0,
                        "data/file_index": 0, "dataset_from_index": start, "dataset_to_index": start + n,
                        "videos/observation.images.front/chunk_index": 0,
                        "videos/observation.images.front/file_index": 0,
                        "meta/episodes/chunk_index": 0, "meta/episodes/file_index": 0,
                        "stats/observation.state/min": [float(x) for x in state.min(0)]})
        start += n
    vec = pa.list_(pa.float32(), 6)
    schema = pa.schema([("observation.state", vec), ("action", vec), ("timestamp", pa.float32()),
                        ("frame_index", pa.int64()), ("episode_index", pa.int64()), ("index", pa.int64()),
                        ("task_index", pa.int64())],
                       metadata={b"huggingface": json.dumps({"info": {"features": {}}}).encode()})
    (root / "data/chunk-000").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), root / "data/chunk-000/file-000.parquet")
    (root / "meta/episodes/chunk-000").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(ep_rows), root / "meta/episodes/chunk-000/file-000.parquet")
    pandas_meta = {"index_columns": ["__index_level_0__"], "column_indexes": [], "columns": [
        {"name": "task_index", "field_name": "task_index", "pandas_type": "int64", "numpy_type": "int64",
         "metadata": None},
        {"name": None, "field_name": "__index_level_0__", "pandas_type": "unicode", "numpy_type": "object",
         "metadata": None}]}
    tasks_table = pa.table({"task_index": pa.array(range(len(tasks)), pa.int64()),
                            "__index_level_0__": pa.array(tasks, pa.large_string())})
    pq.write_table(tasks_table.replace_schema_metadata({b"pandas": json.dumps(pandas_meta).encode()}),
                   root / "meta/tasks.parquet")
    motor = {"dtype": "float32", "shape": [6], "names": NAMES}
    features = {"observation.state": motor, "action": motor}
    if with_video:
        features["observation.images.front"] = {"dtype": "video", "shape": [24, 32, 3],
                                                "names": ["height", "width", "channels"]}
    for key, dtype in (("timestamp", "float32"), ("frame_index", "int64"), ("episode_index", "int64"),
                       ("index", "int64"), ("task_index", "int64")):
        features[key] = {"dtype": dtype, "shape": [1], "names": None}
    info = {"codebase_version": "v3.0", "robot_type": robot_type, "total_episodes": len(episodes),
            "total_frames": start, "total_tasks": len(tasks), "chunks_size": 1000, "data_files_size_in_mb": 100,
            "video_files_size_in_mb": 200, "fps": fps, "splits": {"train": f"0:{len(episodes)}"},
            "data_path": "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet",
            "video_path": "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4",
            "features": features}
    (root / "meta/info.json").write_text(json.dumps(info, indent=4))
    (root / "meta/stats.json").write_text(json.dumps({"observation.state": {"count": [start]}}))
    return root


def edit_info(root: Path, **changes: object) -> None:
    info = json.loads((root / "meta/info.json").read_text())
    for key, value in changes.items():
        if value is None:
            info.pop(key, None)
        else:
            info[key] = value
    (root / "meta/info.json").write_text(json.dumps(info))
