"""Bad input gets a clear ValueError naming the problem, never a traceback from deep inside torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from prop_desktop.prop import InputError, KeyFormatError, PropError, TrainConfig, new_key, train_adapter, wrap

from .prop_helpers import small_policy

GOOD_STATES = np.random.default_rng(0).uniform(-1, 1, (50, 4)).astype(np.float32)
GOOD_ACTIONS = np.random.default_rng(1).uniform(-1, 1, (50, 2)).astype(np.float32)


def _with(array: np.ndarray, row: int, value: float) -> np.ndarray:
    out = array.copy()
    out[row, 0] = value
    return out


@pytest.mark.parametrize(
    "states, actions, message",
    [
        (_with(GOOD_STATES, 3, np.nan), GOOD_ACTIONS, "states contains 1 NaN/inf value.*row 3"),
        (GOOD_STATES, _with(GOOD_ACTIONS, 7, np.inf), "actions contains 1 NaN/inf value.*row 7"),
        (GOOD_STATES[:0], GOOD_ACTIONS[:0], "states is empty"),
        (GOOD_STATES, GOOD_ACTIONS[:10], "same number of rows"),
        (GOOD_STATES[:, :3], GOOD_ACTIONS, "cannot run on states of shape"),
        (GOOD_STATES, GOOD_ACTIONS[:, :1], "actions have per-row shape"),
        (None, GOOD_ACTIONS, "states is missing"),
        (np.array([[1, 2], [3]], dtype=object), GOOD_ACTIONS, "numeric"),
        (np.array(["a"] * 50), GOOD_ACTIONS, "numeric"),
        (3.0, GOOD_ACTIONS, "scalar"),
    ],
)
def test_bad_training_arrays(states, actions, message):
    keyed = wrap(small_policy(), ["2"])
    with pytest.raises(InputError, match=message):
        train_adapter(keyed, states, actions, new_key(), config=TrainConfig(max_steps=5))
    assert not keyed.trained


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"base_states": _with(GOOD_STATES, 0, np.nan)}, "base_states contains"),
        ({"base_states": GOOD_STATES[:, :2]}, "base_states has per-row shape"),
        ({"retain_states": GOOD_STATES[:0]}, "retain_states is empty"),
        ({"retain_targets": GOOD_ACTIONS}, "without retain_states"),
        ({"retain_states": GOOD_STATES, "retain_targets": GOOD_ACTIONS[:3]}, "same number of rows"),
    ],
)
def test_bad_optional_arrays(kwargs, message):
    keyed = wrap(small_policy(), ["2"])
    with pytest.raises(InputError, match=message):
        train_adapter(keyed, GOOD_STATES, GOOD_ACTIONS, new_key(), config=TrainConfig(max_steps=5), **kwargs)


@pytest.mark.parametrize("key", [b"\x01" * 15, np.ones(64), "0" * 32, None])
def test_bad_keys_for_training_and_running(key):
    keyed = wrap(small_policy(), ["2"])
    with pytest.raises(KeyFormatError):
        train_adapter(keyed, GOOD_STATES, GOOD_ACTIONS, key, config=TrainConfig(max_steps=5))
    if key is not None:
        with pytest.raises(KeyFormatError):
            keyed(torch.from_numpy(GOOD_STATES), key=key)


def test_bad_config_and_cancel():
    keyed = wrap(small_policy(), ["2"])
    with pytest.raises(InputError, match="batch_size"):
        train_adapter(keyed, GOOD_STATES, GOOD_ACTIONS, new_key(), config=TrainConfig(batch_size=0))
    with pytest.raises(InputError, match="cancel"):
        train_adapter(keyed, GOOD_STATES, GOOD_ACTIONS, new_key(), cancel="stop")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="KeyedModule"):
        train_adapter(small_policy(), GOOD_STATES, GOOD_ACTIONS, new_key())  # type: ignore[arg-type]


def test_module_that_produces_nan_is_reported():
    policy = small_policy()
    with torch.no_grad():
        policy[0].weight.fill_(float("nan"))
    with pytest.raises(InputError, match="NaN/inf"):
        train_adapter(wrap(policy, ["2"]), GOOD_STATES, GOOD_ACTIONS, new_key(), config=TrainConfig(max_steps=5))


def test_every_engine_error_is_a_value_error():
    assert issubclass(PropError, ValueError)
    assert issubclass(InputError, PropError) and issubclass(KeyFormatError, PropError)
