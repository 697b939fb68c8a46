"""LeRobotDataset v3.0 export and import with a real profile (real Secret Service keyring, sealed storage)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from prop_desktop.arm.calibration import ArmCalibration
from prop_desktop.arm.models import RAD_PER_COUNT
from prop_desktop.interop.lerobot_dataset import InteropError, export_recordings, import_dataset
from prop_desktop.interop.lerobot_format import DatasetFormatError
from prop_desktop.interop.lerobot_reader import read_dataset
from prop_desktop.interop.lerobot_units import UnitConversion
from prop_desktop.policy.tasks import TASK_DESCRIPTIONS

from .conftest import FIXTURES
from .lerobot_layout import NAMES, edit_info, write_lerobot_like

pytestmark = [pytest.mark.secret_service, pytest.mark.timeout(120)]
RATE = 50


def _record(me, task: str, mode: str, n: int, seed: int, model: str = "so101") -> str:
    """A recording as the Recorder stores it: t at the loop rate, measured q, goal (NaN in hand mode)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / RATE
    q = (0.6 * np.sin(t[:, None] * (1 + np.arange(6)) + rng.uniform(0, 3, 6))).astype(np.float32)
    goal = (q + 0.02).astype(np.float32) if mode == "click" else np.full_like(q, np.nan)
    meta = {"task": task, "mode": mode, "rate_hz": float(RATE), "arm_model": model, "profile_id": me.profile.id,
            "created": f"2026-12-01T10:00:{seed:02d}+00:00"}  # export order = recording order
    return me.episodes.save({"t": t, "q": q, "goal": goal}, meta).id


@pytest.fixture
def ana(real_household):
    profile, _code = real_household.create_profile("Ana", shared=True)
    me = real_household.unlock(profile)
    ids = [_record(me, "serve", "click", 60, 1), _record(me, "pick", "hand", 45, 2),
           _record(me, "serve", "click", 30, 3)]
    return real_household, me, ids


def _frames(root: Path) -> dict[str, np.ndarray]:
    table = pq.read_table(root / "data/chunk-000/file-000.parquet")
    out = {}
    for name in table.column_names:
        column = table.column(name).combine_chunks()
        out[name] = np.asarray(column.to_pylist(), dtype=np.float64)
    return out


def test_export_writes_lerobots_v3_layout(ana, tmp_path):
    hh, me, ids = ana
    result = export_recordings(me, tmp_path / "ds", data_root=hh.root)
    root = result.folder
    info = json.loads((root / "meta/info.json").read_text())
    assert info["codebase_version"] == "v3.0" and info["robot_type"] == "so101_follower" and info["fps"] == RATE
    assert (info["total_episodes"], info["total_frames"], info["total_tasks"]) == (3, 135, 2)
    for key in ("observation.state", "action"):
        assert info["features"][key] == {"dtype": "float32", "shape": [6], "names": NAMES}
    assert set(info["features"]) == {"observation.state", "action", "timestamp", "frame_index", "episode_index",
                                     "index", "task_index"}
    schema = pq.read_schema(root / "data/chunk-000/file-000.parquet")
    assert str(schema.field("observation.state").type) == "fixed_size_list<element: float>[6]"
    frames = _frames(root)
    assert np.array_equal(frames["index"], np.arange(135))
    episodes = pq.read_table(root / "meta/episodes/chunk-000/file-000.parquet").to_pylist()
    assert [(e["episode_index"], e["dataset_from_index"], e["dataset_to_index"]) for e in episodes] == [
        (0, 0, 60), (1, 60, 105), (2, 105, 135)]
    for e in episodes:  # LeRobot's timestamps: frame_index / fps within each episode
        rows = frames["episode_index"] == e["episode_index"]
        np.testing.assert_allclose(frames["timestamp"][rows], np.arange(e["length"]) / RATE, atol=1e-6)
        assert e["stats/action/count"] == [e["length"]]
    tasks = pq.read_table(root / "meta/tasks.parquet")
    assert json.loads(tasks.schema.metadata[b"pandas"])["index_columns"] == ["task"]  # text is the pandas index
    texts = dict(zip(tasks.column("task_index").to_pylist(), tasks.column("task").to_pylist(), strict=True))
    assert [texts[int(i)] for i in frames["task_index"][[0, 60, 105]]] == [
        TASK_DESCRIPTIONS["serve"], TASK_DESCRIPTIONS["pick"], TASK_DESCRIPTIONS["serve"]]
    # the values: degrees of the stored radians; action = goal, or the next measured joints in hand mode
    arrays, _meta = me.episodes.load(ids[0])
    degrees = np.degrees(arrays["q"][:, :5]) * 4096 / 4095
    np.testing.assert_allclose(frames["observation.state"][:60, :5], degrees, atol=1e-3)
    np.testing.assert_allclose(frames["action"][:60, :5], np.degrees(arrays["goal"][:, :5]) * 4096 / 4095, atol=1e-3)
    gripper = ArmCalibration.default("so101").joints[5]  # RANGE_0_100 over the nominal gripper range
    percent = (gripper.middle + arrays["q"][:, 5] / RAD_PER_COUNT - gripper.min_count) / (
        gripper.max_count - gripper.min_count) * 100
    np.testing.assert_allclose(frames["observation.state"][:60, 5], percent, atol=1e-3)
    hand_state, hand_action = frames["observation.state"][60:105], frames["action"][60:105]
    np.testing.assert_allclose(hand_action[:-1], hand_state[1:])  # hand-guided: where the hand moved it next
    np.testing.assert_allclose(hand_action[-1], hand_state[-1])
    stats = json.loads((root / "meta/stats.json").read_text())
    assert stats["observation.state"]["count"] == [135]
    np.testing.assert_allclose(stats["action"]["max"], frames["action"].max(0), atol=1e-4)
    assert not list(tmp_path.glob(".ds.partial-*"))  # staged then renamed


def test_round_trip_export_import_export_is_lossless(ana, tmp_path):
    hh, me, _ids = ana
    first = export_recordings(me, tmp_path / "one", data_root=hh.root)
    bo_profile, _ = hh.create_profile("Bo", shared=True)
    bo = hh.unlock(bo_profile)
    imported = import_dataset(bo, first.folder)
    assert len(imported.episode_ids) == 3 and imported.notes == []
    second = export_recordings(bo, tmp_path / "two", data_root=hh.root, recording_ids=imported.episode_ids)
    a, b = _frames(first.folder), _frames(second.folder)
    for key in ("observation.state", "action", "timestamp", "episode_index", "task_index"):
        assert np.max(np.abs(a[key] - b[key])) <= 1e-3, key
    _arrays, meta = bo.episodes.load(imported.episode_ids[0])
    assert meta["task"] == "serve" and meta["mode"] == "imported" and meta["rate_hz"] == RATE


def test_a_dataset_written_by_lerobot_imports_and_the_profile_verifies(real_household):
    profile, _ = real_household.create_profile("Cy", shared=True)
    me = real_household.unlock(profile)
    folder = FIXTURES / "lerobot_so101_with_video"
    with pytest.raises(InteropError, match="'Pick up the cube' are not PRoP Desktop tasks; say which .* --task"):
        import_dataset(me, folder)
    assert me.episodes.ids() == []
    result = import_dataset(me, folder, task="pick")
    assert result.fps == 30 and result.robot_type == "so101_follower" and result.frames == 41
    assert result.notes == ["skipped the camera feature 'observation.images.front' (video): PRoP Desktop keeps "
                            "joint states and actions only"]
    assert real_household.verify(profile) == []
    lerobot = pq.read_table(folder / "data/chunk-000/file-000.parquet").to_pylist()
    by_episode = {json.dumps(me.episodes.load(i)[1]["lerobot_episode_index"]): me.episodes.load(i)[0]
                  for i in result.episode_ids}
    first = by_episode["0"]
    state0 = np.array(lerobot[0]["observation.state"])
    np.testing.assert_allclose(UnitConversion("so101").to_lerobot(first["q"][:1])[0], state0, atol=1e-3)
    np.testing.assert_allclose(first["t"][:3], [0, 1 / 30, 2 / 30])
    assert len(first["q"]) == 24 and len(by_episode["1"]["q"]) == 17
    from prop_desktop.services.training_data import episode_rows

    states, actions = episode_rows(*me.episodes.load(result.episode_ids[0]))
    assert len(states) > 0 and len(states) == len(actions)  # training learns from it like a hand recording


def test_a_koch_dataset_written_by_lerobot_imports_in_range_units(real_household):
    profile, _ = real_household.create_profile("Di", shared=True)
    me = real_household.unlock(profile)
    result = import_dataset(me, FIXTURES / "lerobot_koch", task="serve")
    arrays, meta = me.episodes.load(result.episode_ids[0])
    assert meta["arm_model"] == "koch" and meta["lerobot_robot_type"] == "koch_follower"
    values = UnitConversion("koch").to_lerobot(arrays["q"])
    assert np.all(np.abs(values[:, :5]) <= 100) and np.all((values[:, 5] >= 0) & (values[:, 5] <= 100))


def _lerobot_like(tmp_path: Path, **options) -> Path:
    rng = np.random.default_rng(5)
    eps = []
    for task, n in (("serve", 20), ("carry the cup to the front edge of the table", 12)):
        state = rng.uniform(-60, 60, (n, 6)).astype(np.float32)
        state[:, 5] = rng.uniform(0, 100, n)
        eps.append((task, state, state + 1))
    return write_lerobot_like(tmp_path / "lr", eps, **options)


@pytest.mark.parametrize(("spoil", "message"), [
    (lambda root: edit_info(root, robot_type="aloha"), "robot type 'aloha'; PRoP Desktop imports only"),
    (lambda root: edit_info(root, codebase_version="v2.1"), "format v2.1; PRoP Desktop reads v3.0 only"),
    (lambda root: edit_info(root, fps=50), "fps does not match its timestamps"),
    (lambda root: _drop_feature(root, "action"), "has no action feature"),
    (lambda root: _rename_joint(root), "are not those of the SO-101 follower"),
    (lambda root: (root / "meta/info.json").unlink(), "is not a LeRobot dataset folder"),
    (lambda root: (root / "data/chunk-000/file-000.parquet").unlink(), "the frame data is missing"),
    (lambda root: _drop_column(root, "action"), "file-000.parquet has no column action; the frame data needs"),
    (lambda root: (root / "meta/tasks.parquet").unlink(), "the task list meta/tasks.parquet is missing"),
])
def test_a_dataset_that_does_not_fit_is_refused_and_nothing_is_imported(real_household, tmp_path, spoil, message):
    profile, _ = real_household.create_profile("Ed", shared=True)
    me = real_household.unlock(profile)
    root = _lerobot_like(tmp_path)
    spoil(root)
    with pytest.raises((InteropError, DatasetFormatError), match=message):
        import_dataset(me, root)
    assert me.episodes.ids() == []


def _drop_feature(root: Path, name: str) -> None:
    info = json.loads((root / "meta/info.json").read_text())
    del info["features"][name]
    (root / "meta/info.json").write_text(json.dumps(info))


def _drop_column(root: Path, name: str) -> None:
    path = root / "data/chunk-000/file-000.parquet"
    pq.write_table(pq.read_table(path).drop_columns([name]), path)


def _rename_joint(root: Path) -> None:
    info = json.loads((root / "meta/info.json").read_text())
    for key in ("observation.state", "action"):
        info["features"][key]["names"][2] = "elbow.pos"
    (root / "meta/info.json").write_text(json.dumps(info))


def test_the_independent_layout_imports_with_the_right_values(real_household, tmp_path):
    profile, _ = real_household.create_profile("Flo", shared=True)
    me = real_household.unlock(profile)
    root = _lerobot_like(tmp_path)
    result = import_dataset(me, root)
    metas = [me.episodes.load(i)[1] for i in result.episode_ids]
    assert sorted(m["task"] for m in metas) == ["serve", "serve"]  # a task name and a description both map
    assert {m["lerobot_task"] for m in metas} == {"serve", TASK_DESCRIPTIONS["serve"]}
    frames = read_dataset(root)
    by_index = {m["lerobot_episode_index"]: me.episodes.load(i)[0] for m, i in zip(metas, result.episode_ids,
                                                                                    strict=True)}
    units = UnitConversion("so101")
    for ep in frames.episodes:
        np.testing.assert_allclose(units.to_lerobot(by_index[ep.index]["goal"]), ep.action, atol=1e-3)


def test_a_failure_while_sealing_takes_back_what_was_imported(real_household, tmp_path, monkeypatch):
    from prop_desktop.storage import EpisodeStore

    profile, _ = real_household.create_profile("Gus", shared=True)
    me = real_household.unlock(profile)
    real_save = EpisodeStore.save
    calls = []

    def failing_save(self, arrays, meta, name=None):
        calls.append(1)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real_save(self, arrays, meta, name)

    monkeypatch.setattr(EpisodeStore, "save", failing_save)
    with pytest.raises(OSError, match="No space left"):
        import_dataset(me, _lerobot_like(tmp_path))
    assert me.episodes.ids() == []


def test_export_never_writes_into_the_data_folder_or_over_files(ana, tmp_path):
    hh, me, _ids = ana
    with pytest.raises(InteropError, match="not encrypted, so it cannot go into the data folder"):
        export_recordings(me, hh.root / "exports" / "ds", data_root=hh.root)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    with pytest.raises(InteropError, match="already exists and is not an empty folder"):
        export_recordings(me, busy, data_root=hh.root)
    assert [p.name for p in busy.iterdir()] == ["notes.txt"]


def test_recordings_at_different_rates_are_not_mixed(real_household, tmp_path):
    profile, _ = real_household.create_profile("Hal", shared=True)
    me = real_household.unlock(profile)
    _record(me, "serve", "click", 20, 1)
    arrays, meta = me.episodes.load(_record(me, "pick", "click", 20, 2))
    me.episodes.save(arrays, {**meta, "rate_hz": 30.0})
    with pytest.raises(InteropError, match=r"different recording rates \(30.0, 50.0\).*--recording ID"):
        export_recordings(me, tmp_path / "ds", data_root=real_household.root)
    assert not (tmp_path / "ds").exists()


def test_the_data_folder_holds_only_sealed_files_after_an_import(real_household, tmp_path):
    profile, _ = real_household.create_profile("Ivy", shared=True)
    me = real_household.unlock(profile)
    import_dataset(me, FIXTURES / "lerobot_koch", task="pick")
    plain = [p for p in real_household.root.rglob("*") if p.is_file() and p.suffix in (".parquet", ".json", ".mp4")
             and p.name != "profiles.json"]
    assert plain == [], plain
    episode_files = list((real_household.root / "profiles").glob("*/episodes/*.sealed"))  # not the manifest
    assert len(episode_files) == 2
    for path in episode_files:
        assert b"PAR1" not in path.read_bytes() and b"shoulder_pan" not in path.read_bytes()


def test_export_with_the_arms_lerobot_calibration_uses_its_units(ana, tmp_path):
    from prop_desktop.interop.lerobot_calibration import parse_lerobot_calibration

    from .test_lerobot_calibration import SO101_FILE

    hh, me, ids = ana
    calibration = tmp_path / "my_arm.json"
    calibration.write_text(json.dumps(SO101_FILE))
    result = export_recordings(me, tmp_path / "ds", data_root=hh.root, recording_ids=[ids[0]],
                               calibration_file=calibration)
    state = _frames(result.folder)["observation.state"]
    q = me.episodes.load(ids[0])[0]["q"]
    expected = UnitConversion("so101", parse_lerobot_calibration(SO101_FILE, "so101")).to_lerobot(q)
    np.testing.assert_allclose(state, expected, atol=1e-3)
    assert np.max(np.abs(state - UnitConversion("so101").to_lerobot(q))) > 1.0  # not the nominal units
