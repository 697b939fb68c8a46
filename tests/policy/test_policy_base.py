"""The shipped base policy: loads, stable hash, small, imitates the expert as reported, refuses bad files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from prop_desktop.paths import resources_dir
from prop_desktop.policy.base import (
    CONFIG_NAME,
    DEFAULT_PROP_LAYERS,
    WEIGHTS_NAME,
    BasePolicyError,
    base_policy_hash,
    load_base_policy,
    load_config,
)
from prop_desktop.policy.expert import success
from prop_desktop.policy.model import BasePolicy, step
from prop_desktop.policy.tasks import TASK_NAMES, sample_instances
from prop_desktop.policy.train_base import evaluate, expert_dataset, normalized_error, rollout_policy


@pytest.fixture(scope="module")
def policy() -> BasePolicy:
    return load_base_policy()


def test_shipped_files_are_small_and_hash_is_stable(policy):
    weights = resources_dir() / WEIGHTS_NAME
    assert weights.stat().st_size < 1_000_000
    config = load_config()
    digest = base_policy_hash()
    assert digest == base_policy_hash() == config["weights_sha256"]
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert set(DEFAULT_PROP_LAYERS) <= {n for n, m in policy.named_modules() if isinstance(m, torch.nn.Linear)}
    assert config["task_names"] == list(TASK_NAMES)


def test_imitates_the_expert_within_the_reported_bound(policy):
    reported = load_config()["report"]["held_out"]
    instances = sample_instances(24, np.random.default_rng(123))
    obs, target = expert_dataset(instances, policy_style(), seed=9, noise=0.0, steps=160)
    with torch.no_grad():
        pred = policy(torch.from_numpy(obs)).numpy()
    err = normalized_error(pred, target)
    # A few instances are noisier than the 200 of the report; allow for that, not for a broken policy.
    assert err <= max(2 * reported["normalized_error"], reported["normalized_error"] + 0.02), err
    assert err < 0.15


def test_closed_loop_does_the_tasks(policy):
    instances = sample_instances(12, np.random.default_rng(77))
    qs, _, _ = rollout_policy(policy, instances, seed=3, steps=170)
    done = [success(qs[i], inst) for i, inst in enumerate(instances)]
    assert np.mean(done) >= 0.75, done


def test_step_helper_numpy_and_torch(policy):
    ctx = sample_instances(1, np.random.default_rng(0))[0].context()
    q = np.zeros(6, dtype=np.float32)
    nxt = step(policy, q, ctx)
    assert nxt.shape == (6,) and nxt.dtype == np.float32
    assert np.abs(nxt - q).max() <= 0.08 + 1e-6
    batch = step(policy, torch.zeros(3, 6), torch.from_numpy(ctx))
    assert batch.shape == (3, 6)
    np.testing.assert_allclose(batch[0].numpy(), nxt, atol=1e-6)


def test_report_was_measured_on_held_out_instances():
    report = load_config()["report"]
    assert report["held_out"]["eval_instances"] >= 100
    fresh = evaluate(load_base_policy(), seed=4242, n_instances=8)
    assert set(fresh["per_task"]) == set(TASK_NAMES)


def policy_style():
    from prop_desktop.policy.expert import BASE_STYLE

    return BASE_STYLE


# ----- bad files -----
@pytest.fixture
def copy_dir(tmp_path: Path) -> Path:
    for name in (WEIGHTS_NAME, CONFIG_NAME):
        shutil.copy(resources_dir() / name, tmp_path / name)
    return tmp_path


def test_copy_loads(copy_dir):
    assert isinstance(load_base_policy(copy_dir), BasePolicy)
    assert isinstance(load_base_policy(copy_dir / WEIGHTS_NAME), BasePolicy)


def test_missing_files(copy_dir):
    (copy_dir / WEIGHTS_NAME).unlink()
    with pytest.raises(BasePolicyError, match="weights not found"):
        load_base_policy(copy_dir)
    (copy_dir / CONFIG_NAME).unlink()
    with pytest.raises(BasePolicyError, match="config not found"):
        load_base_policy(copy_dir)


def test_corrupt_weights_detected_by_hash(copy_dir):
    path = copy_dir / WEIGHTS_NAME
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(BasePolicyError, match="SHA-256"):
        load_base_policy(copy_dir)


def test_garbage_weights_without_hash_refused(copy_dir):
    (copy_dir / WEIGHTS_NAME).write_bytes(b"not a safetensors file at all")
    config = json.loads((copy_dir / CONFIG_NAME).read_text())
    del config["weights_sha256"]
    (copy_dir / CONFIG_NAME).write_text(json.dumps(config))
    with pytest.raises(BasePolicyError, match="safetensors"):
        load_base_policy(copy_dir)


def test_pickle_is_never_read(copy_dir):
    torch.save(load_base_policy().state_dict(), copy_dir / WEIGHTS_NAME)  # a torch pickle under the right name
    with pytest.raises(BasePolicyError):
        load_base_policy(copy_dir, verify_hash=False)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c.__setitem__("format", "something-else"), "not a PRoP Desktop base policy"),
        (lambda c: c.__setitem__("format_version", 99), "format version"),
        (lambda c: c["architecture"].__setitem__("obs_dim", 20), "obs_dim"),
        (lambda c: c["architecture"].__setitem__("hidden", 64), "has shape"),
        (lambda c: c.__setitem__("task_names", ["a", "b"]), "tasks"),
    ],
)
def test_mismatched_config_refused(copy_dir, change, message):
    config = json.loads((copy_dir / CONFIG_NAME).read_text())
    change(config)
    (copy_dir / CONFIG_NAME).write_text(json.dumps(config))
    with pytest.raises(BasePolicyError, match=message):
        load_base_policy(copy_dir)


def test_invalid_json_refused(copy_dir):
    (copy_dir / CONFIG_NAME).write_text("{ not json")
    with pytest.raises(BasePolicyError, match="not valid JSON"):
        load_base_policy(copy_dir)


def test_nan_weights_refused(copy_dir):
    from safetensors.torch import load_file, save_file

    path = copy_dir / WEIGHTS_NAME
    state = load_file(str(path))
    state["fc2.weight"][0, 0] = float("nan")
    save_file(state, str(path))
    with pytest.raises(BasePolicyError, match="NaN"):
        load_base_policy(copy_dir, verify_hash=False)


def test_step_with_a_keyed_policy(policy):
    from prop_desktop.policy.base import DEFAULT_PROP_LAYERS as layers
    from prop_desktop.prop import new_key, wrap

    keyed = wrap(policy, layers)
    ctx = sample_instances(1, np.random.default_rng(0))[0].context()
    q = np.zeros(6, dtype=np.float32)
    # An untrained adapter: no key and any key both give the base policy's step.
    np.testing.assert_array_equal(step(keyed, q, ctx), step(policy, q, ctx))
    assert step(keyed, q, ctx, key=new_key()).shape == (6,)
