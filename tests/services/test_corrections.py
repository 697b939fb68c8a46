"""Corrections through the services (issue 14): a correction is recorded from where the arm stands, stored as
the person's sealed recording marked "correction" next to the earlier ones, and "Update my skill" retrains
warm-started from the current adapter (through the worker pipe), says what changed, and cancel keeps the old.

One short training (module fixture) is shared; each test restores what it changes.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "keys"))

from prop_desktop.services import App  # noqa: E402
from prop_desktop.services.models import TrainingState  # noqa: E402
from tests.keys.keyring_fakes import MemoryKeyring  # noqa: E402

from .svc_helpers import base_policy_dir  # noqa: E402

pytestmark = [pytest.mark.timeout(240)]

TASK = "point"


def adapter_file(app: App) -> Path:
    folder = app.profiles.household.profile_dir(app.profiles.active().id) / "adapters"
    return next(folder.glob("*.sealed"))


def near_and_high(y: float) -> tuple[float, float, float, float]:
    """Ana's pointing target when the object is at (0.45, y): near the arm and high, a way the base does not know."""
    return (0.15, y, 0.30, 0.3)


def higher_and_further(y: float) -> tuple[float, float, float, float]:
    """Cy's: on the way to the object like the general way, but 0.28 m out and 0.24 m up (the general way 0.26 m,
    0.20 m): a way the base knows, so a first skill does the held-out demonstration well (error ~0.01) and a
    contradicting update is clearly worse there. (From Ana's way, a first skill from five demonstrations erred
    0.6-1.5 on the held-out one, base 4.6, and a contradicting update came out better in 2 of 8 CI runs.)"""
    direction = np.array([0.45, y]) / np.hypot(0.45, y)
    return (*(direction * 0.28), 0.24, -0.4)


def app_with_a_skill(person: str, sides: tuple[float, ...],
                     target: Callable[[float], tuple[float, float, float, float]] = near_and_high) -> Iterator[App]:
    """A simulated arm, one person, a pointing demonstration per object side `sides` (m), a trained skill."""
    root = Path(tempfile.mkdtemp(prefix="corrections-"))
    app = App(data_dir=root, keyring_backend=MemoryKeyring(), policy_dir=base_policy_dir())
    try:
        app.arm.connect("sim")
        app.profiles.create(person, shared=True)
        for y in sides:
            app.record.set_scene(TASK, (0.45, y))
            app.record.start_click_episode(TASK, [target(y)])
            assert app.record.wait(30).fault is None
        result = app.training.start(max_steps=400, max_seconds=6).wait(200)
        assert result is not None and result.ok, result
        yield app
    finally:
        app.close()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def trained() -> Iterator[App]:
    yield from app_with_a_skill("Ana", (-0.1, 0.1))


def drive_a_little(app: App) -> np.ndarray:
    """Personalized for a second (the arm leaves home); returns where it stopped."""
    assert app.drive.start(TASK, personalized=True, duration_s=1.0).personalized
    status = app.drive.wait(30)
    assert not status.running, status.message
    return np.asarray(app.arm.arm().read_joints(), dtype=float)


def record_correction(app: App, target: tuple[float, float, float, float]):
    app.record.start_click_episode(TASK, [target], scene=app.record.scene(TASK), correction=True)
    result = app.record.wait(30)
    assert result is not None and result.fault is None and result.episode is not None, result
    return result.episode


@pytest.mark.slow
@pytest.mark.usefixtures("require_base_policy")
def test_a_correction_starts_where_the_person_took_over_and_is_kept_beside_the_demos(trained):
    from prop_desktop.services.training_data import episode_rows

    app = trained
    before = {e.id: e for e in app.record.episodes()}
    stopped_at = drive_a_little(app)
    assert np.max(np.abs(stopped_at)) > 0.05, "the drive should have moved the arm off home"
    info = record_correction(app, (0.20, -0.15, 0.12, 0.2))
    try:
        assert info.mode == "correction"
        after = {e.id: e for e in app.record.episodes()}
        assert set(after) == set(before) | {info.id}, "a correction never replaces earlier recordings"
        assert all(after[i] == before[i] for i in before)
        arrays, meta = app.record.load_episode(info.id)
        assert meta["mode"] == "correction" and meta["how"] == "click" and meta["correction"] is True
        # No trip home first: the recording starts at the pose where the drive stopped.
        np.testing.assert_allclose(arrays["q"][0], stopped_at, atol=0.03)
        states, actions = episode_rows(arrays, meta)
        assert len(states) > 8 and np.abs(actions).max() > 0.5  # labelled toward the clicked point
    finally:
        app.record.delete_episode(info.id)
    assert {e.id for e in app.record.episodes()} == set(before)


@pytest.mark.slow
@pytest.mark.usefixtures("require_base_policy")
def test_update_my_skill_warm_starts_says_what_changed_and_keeps_the_old_until_saved(trained):
    app = trained
    drive_a_little(app)
    info = record_correction(app, (0.22, 0.12, 0.10, 0.1))
    try:
        old = adapter_file(app).read_bytes()
        job = app.training.update_skill()
        result = job.wait(120)
        assert result is not None and result.ok, result
        assert result.updated and result.corrections_used == 1 and len(result.episodes_used) == 3
        assert result.error_before is not None and result.error_after is not None
        assert "Skill updated" in result.message and "previous skill" in result.message
        # How long a round takes is a speed goal (<= 10 s a round): `prop-desktop bench household
        # --corrections N` measures it (rounds[].seconds), not this test.
        assert adapter_file(app).read_bytes() != old
        skill = app.training.skills.get()
        assert skill is not None and skill.updated and skill.corrections == 1
        assert app.drive.set_personalized(True).personalized  # the new adapter drives
        app.drive.set_personalized(False)

        # Cancel: nothing changes.
        kept = adapter_file(app).read_bytes()
        job = app.training.update_skill()
        training_steps = threading.Event()
        job.progress.connect(
            lambda p: training_steps.set() if p.state is TrainingState.TRAINING and p.step > 0 else None)
        last = job.last_progress  # it may have got there before the listener was connected
        if last is not None and last.state is TrainingState.TRAINING and last.step > 0:
            training_steps.set()
        assert training_steps.wait(60), "the update never reached its training steps"
        job.cancel()
        result = job.wait(10)
        assert result.state is TrainingState.CANCELLED and "unchanged" in result.message
        assert adapter_file(app).read_bytes() == kept
    finally:
        app.record.delete_episode(info.id)


@pytest.mark.slow
@pytest.mark.usefixtures("require_base_policy")
def test_update_my_skill_without_a_trained_skill_says_what_to_do(trained):
    app = trained
    ana = app.profiles.active().id
    bo = app.profiles.create("Bo", shared=True)
    try:
        app.profiles.switch(bo.profile.id)
        result = app.training.update_skill(in_process=True).wait(60)
        assert result is not None and result.state is TrainingState.FAILED
        assert "no trained skill to update" in result.message and "Train" in result.message
    finally:
        app.profiles.switch(ana)


def test_a_hand_guided_correction_cut_by_an_unplug_keeps_what_was_recorded(sim_app: App):
    from .svc_helpers import wait_until

    sim_app.record.start_hand_episode("pick", max_seconds=10, correction=True)
    assert wait_until(lambda: sim_app.record.status().samples >= 20, 10)
    sim_app.arm.simulator().unplug()
    result = sim_app.record.wait(10)
    assert result is not None and result.episode is not None and "disconnected" in result.fault.lower()
    assert result.episode.mode == "correction" and result.episode.interrupted and result.episode.samples >= 20
    arrays, meta = sim_app.record.load_episode(result.episode.id)
    assert meta["how"] == "hand" and len(arrays["t"]) == result.episode.samples


def test_correction_rows_count_twice_as_much_as_demonstration_rows():
    from prop_desktop.services.training_data import DemoSet, weight_corrections

    states = np.arange(5 * 14, dtype=np.float32).reshape(5, 14)
    demo = DemoSet(states, states[:, :6], ["point"] * 2, [np.zeros(8)] * 2, ["demo", "fix"], [3, 2])
    s, a, episodes = weight_corrections(demo, {"demo": "click", "fix": "correction"}, 2)
    np.testing.assert_array_equal(s, states[[0, 1, 2, 3, 3, 4, 4]])
    np.testing.assert_array_equal(a, states[[0, 1, 2, 3, 3, 4, 4], :6])
    np.testing.assert_array_equal(episodes, [0, 0, 0, -1, -1, -1, -1])  # corrections are never held out
    with pytest.raises(ValueError, match="weight"):
        weight_corrections(demo, {}, 0)


@pytest.fixture(scope="module")
def five_demos() -> Iterator[App]:
    """Five demonstrations: enough for the engine to hold one out whole and judge an update on it."""
    yield from app_with_a_skill("Cy", (-0.12, -0.06, 0.0, 0.06, 0.12), higher_and_further)


@pytest.mark.slow
@pytest.mark.usefixtures("require_base_policy")
def test_an_update_that_would_do_the_held_out_demonstrations_worse_keeps_the_skill(five_demos):
    """Corrections that contradict every demonstration (point low and far instead of high and near): the update
    is judged on the demonstration the engine held out, comes out worse there, and the saved skill stays."""
    app = five_demos
    old = adapter_file(app).read_bytes()
    before = app.training.skills.get()
    fixes = []
    try:
        for y in (-0.1, 0.1):
            drive_a_little(app)
            fixes.append(record_correction(app, (0.30, -y, 0.06, -0.6)))
        result = app.training.update_skill().wait(120)
        assert result is not None and result.ok and result.state is TrainingState.DONE, result
        assert result.kept_previous and result.corrections_used == 2
        assert result.error_before is not None and result.error_after is not None
        assert result.error_after > result.error_before
        assert "stays as it was" in result.message and "Record one more demonstration" in result.message
        assert adapter_file(app).read_bytes() == old, "a worse update must not replace the saved skill"
        assert app.training.skills.get() == before
        assert {f.id for f in fixes} <= {e.id for e in app.record.episodes()}, "the corrections themselves stay"
    finally:
        for fix in fixes:
            app.record.delete_episode(fix.id)
