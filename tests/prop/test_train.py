"""Training separates keys: the user's key reproduces the demonstrations, every other key the base policy."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch

from prop_desktop.prop import (
    TrainConfig,
    TrainingCancelled,
    flip_bits,
    key_to_signs,
    near_key_fidelity,
    new_key,
    output_scale,
    personalization_error,
    random_key_fidelity,
    train_adapter,
    wrap,
)

from .prop_helpers import SmallTask, small_policy


def test_correct_key_reproduces_the_user_and_other_keys_the_base(trained):
    keyed, key, task, result = trained
    x = torch.from_numpy(task.test_states)
    user = torch.from_numpy(task.personal(task.test_states))
    base = torch.from_numpy(task.base(task.test_states))
    scale = output_scale(torch.cat([user, base]))
    # The personal behaviour is far from the base (normalized error of the base ~1) and the key gets close to it.
    assert personalization_error(keyed, None, x, user, scale=scale) > 0.5
    assert personalization_error(keyed, key, x, user, scale=scale) < 0.05
    with torch.no_grad():
        assert torch.equal(keyed(x), task.policy(x))  # no key: the base, bit for bit
    near = near_key_fidelity(keyed, key, x, distances=(1, 2, 3, 4, 8, 16), n_keys=32, scale=scale)
    for d, stats in near.items():
        assert stats["max"] < 0.01, f"keys {d} bits off leak: {stats}"
    assert random_key_fidelity(keyed, x, n_keys=32, scale=scale)["max"] < 0.01
    assert keyed.trained and result.metrics["near_max"] < 0.01
    assert result.seconds > 0 and result.steps > 0


def test_progress_reports_steps_totals_and_losses():
    policy = small_policy(1).eval()
    task = SmallTask(policy, seed=1, n=120)
    keyed = wrap(policy, ["2"], hidden=8)
    calls: list[tuple[int, int, dict[str, float]]] = []
    train_adapter(
        keyed, task.states, task.actions, new_key(), config=TrainConfig(max_steps=60, personal_steps=40),
        progress=lambda step, total, losses: calls.append((step, total, losses)),
    )
    assert len(calls) >= 3
    steps = [c[0] for c in calls]
    assert steps == sorted(steps) and all(0 < s <= t for s, t, _ in calls)
    assert all(isinstance(v, float) for _, _, losses in calls for v in losses.values())
    assert {"stage", "personal"} <= set(calls[0][2])


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["event", "callable"])
def test_cancel_returns_promptly_and_keeps_the_previous_adapter(kind):
    policy = small_policy(2).eval()
    task = SmallTask(policy, seed=2, n=150)
    keyed = wrap(policy, ["2", "4"], hidden=8)
    key = new_key()
    event = threading.Event()
    seen: list[int] = []

    def progress(step: int, total: int, losses: dict[str, float]) -> None:
        seen.append(step)
        if step >= 40:
            event.set()

    cancel = event if kind == "event" else event.is_set
    with pytest.raises(TrainingCancelled, match="cancelled"):
        train_adapter(keyed, task.states, task.actions, key, config=TrainConfig(max_steps=5000), progress=progress,
                      cancel=cancel)
    assert max(seen) < 200  # stopped within a few steps of the request
    assert not keyed.trained
    x = torch.from_numpy(task.test_states)
    with torch.no_grad():
        assert torch.equal(keyed(x, key=key), policy(x))  # nothing half-trained was installed


def test_cancel_from_another_thread():
    policy = small_policy(3).eval()
    task = SmallTask(policy, seed=3, n=150)
    keyed = wrap(policy, ["2"], hidden=8)
    event = threading.Event()
    started = threading.Event()
    # Another thread cancels once training is under way (a fixed delay raced a fast machine finishing first).
    canceller = threading.Thread(target=lambda: started.wait(30) and event.set())
    canceller.start()

    def progress(step: int, total: int, losses: dict) -> None:
        started.set()
        time.sleep(0.005)  # keep each step slow enough that the cancel lands mid-training

    config = TrainConfig(max_steps=100000, min_steps=100000, target=0.0, patience=100000)
    with pytest.raises(TrainingCancelled):
        train_adapter(keyed, task.states, task.actions, new_key(), config=config, cancel=event, progress=progress)
    canceller.join(5)
    assert not keyed.trained


def test_training_is_reproducible_with_a_seed():
    policy = small_policy(4).eval()
    task = SmallTask(policy, seed=4, n=100)
    key = new_key()
    outs = []
    for _ in range(2):
        keyed = wrap(policy, ["2"], hidden=8)
        torch.manual_seed(0)
        train_adapter(keyed, task.states, task.actions, key, config=TrainConfig(max_steps=30, seed=5))
        with torch.no_grad():
            outs.append(keyed(torch.from_numpy(task.test_states), key=key))
    assert torch.allclose(outs[0], outs[1], atol=1e-5)


def test_retention_states_keep_undemonstrated_behaviour():
    policy = small_policy(5).eval()
    rng = np.random.default_rng(5)
    # Demonstrated task: first state coordinate > 0; undemonstrated: < 0 (must stay base with the right key).
    demo = rng.uniform(-1, 1, (300, 4)).astype(np.float32)
    demo[:, 0] = np.abs(demo[:, 0]) + 0.2
    other = rng.uniform(-1, 1, (300, 4)).astype(np.float32)
    other[:, 0] = -np.abs(other[:, 0]) - 0.2
    with torch.no_grad():
        actions = policy(torch.from_numpy(demo)).numpy() + np.array([0.4, -0.4], dtype=np.float32)
        other_base = policy(torch.from_numpy(other))
    keyed = wrap(policy, ["2", "4"], hidden=8)
    key = new_key()
    train_adapter(keyed, demo, actions, key, retain_states=other, config=TrainConfig(max_steps=200))
    with torch.no_grad():
        personal = (keyed(torch.from_numpy(demo), key=key) - torch.from_numpy(actions)).square().mean()
        retained = (keyed(torch.from_numpy(other), key=key) - other_base).square().mean()
    shift = 0.16  # squared size of the personalization: the error of acting like the base on demo states
    assert personal < 0.2 * shift and retained < 0.1 * shift


def test_the_polish_stage_keeps_fitting_the_user_while_other_keys_stay_exactly_the_base():
    """Stage 3 trains on the user's rows only (a frozen detector keeps every other key's δ at exactly 1, so their
    rows taught nothing): the personal error still falls there, and wrong keys are still the base, bit for bit."""
    policy = small_policy(4).eval()
    task = SmallTask(policy, seed=4, n=300)
    keyed = wrap(policy, ["2", "4"], hidden=8)
    key = bytes(range(16))
    stage3: list[dict[str, float]] = []
    config = TrainConfig(fine_tune_trunk=True, max_steps=150, min_steps=150, personal_steps=40, target=0.0)
    train_adapter(
        keyed, task.states, task.actions, key, config=config,
        progress=lambda step, total, losses: stage3.append(losses) if losses.get("stage") == 3.0 else None,
    )
    assert len(stage3) >= 5
    assert stage3[-1]["personal"] < 0.8 * stage3[0]["personal"]  # the polish still polishes
    assert all(row["wrong_keys"] == 0.0 for row in stage3)
    x = torch.from_numpy(task.test_states)
    with torch.no_grad():
        assert not torch.equal(keyed(x, key=key), policy(x))
        near = flip_bits(key_to_signs(key, keyed.key_bits), torch.tensor([1] * 32 + [2] * 32), torch.Generator())
        for row in near:
            assert torch.equal(keyed(x, key=row), policy(x))
        for _ in range(8):
            assert torch.equal(keyed(x, key=new_key()), policy(x))
