"""The v3.0 files on their own (no profile): several data files, and what the reader gives back."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq

from prop_desktop.interop.lerobot_format import StateDataset, StateEpisode, write_dataset
from prop_desktop.interop.lerobot_reader import read_dataset

from .lerobot_layout import NAMES


def test_episodes_spread_over_several_data_files_read_back_whole(tmp_path):
    rng = np.random.default_rng(0)
    episodes = [StateEpisode(f"task {k % 2}", rng.normal(size=(n, 6)), rng.normal(size=(n, 6)), k)
                for k, n in enumerate((30, 25, 40))]
    write_dataset(tmp_path, StateDataset("koch_follower", 30, NAMES, episodes), frames_per_file=50)
    files = sorted(p.relative_to(tmp_path).as_posix() for p in (tmp_path / "data").rglob("*.parquet"))
    assert files == ["data/chunk-000/file-000.parquet", "data/chunk-000/file-001.parquet",
                     "data/chunk-000/file-002.parquet"]  # whole episodes per file, like LeRobot
    rows = pq.read_table(tmp_path / "meta/episodes/chunk-000/file-000.parquet").to_pylist()
    assert [r["data/file_index"] for r in rows] == [0, 1, 2]
    back = read_dataset(tmp_path)
    assert (back.robot_type, back.fps, back.names, back.notes) == ("koch_follower", 30, NAMES, [])
    for ours, theirs in zip(episodes, back.episodes, strict=True):
        assert (theirs.task, theirs.index) == (ours.task, ours.index)
        np.testing.assert_allclose(theirs.state, ours.state, atol=1e-6)  # float32 in the file
        np.testing.assert_allclose(theirs.action, ours.action, atol=1e-6)
