"""Scoped adapters: personal on the contexts the demonstrations show, the exact base on every other context."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from prop_desktop.prop import (
    Adapter,
    AdapterError,
    InputError,
    TrainConfig,
    attach,
    compile_for_control,
    new_key,
    train_adapter,
    wrap,
)

# Four continuous inputs, then a one-hot context of two (columns 4 and 5), like the household policy's task id.
CONTEXT = (4, 5)


def _policy() -> nn.Module:
    torch.manual_seed(3)
    return nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 2)).eval()


def _states(n: int, context: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 6), np.float32)
    x[:, :4] = rng.uniform(-1, 1, (n, 4))
    x[:, CONTEXT[context]] = 1.0
    return x


def _personal(policy: nn.Module, x: np.ndarray) -> np.ndarray:
    """The person's way: another one in each context (what one context teaches says nothing of the other)."""
    with torch.no_grad():
        base = policy(torch.from_numpy(x)).numpy()
    first = base[:, ::-1] * np.float32(0.5) + np.float32(0.3)
    second = base * np.float32(-0.5) - np.float32(0.4)
    return np.where(x[:, CONTEXT[0], None] == 1, first, second).astype(np.float32)


def _train(policy: nn.Module, states: np.ndarray, key: bytes, scope: tuple[int, ...], **init) -> object:
    keyed = init.pop("keyed", None) or wrap(policy, ["2", "4"], hidden=16)
    config = TrainConfig(seed=1, max_steps=300, fine_tune_trunk=True, scope_columns=scope, max_seconds=20)
    train_adapter(keyed, states, _personal(policy, states), key, config=config, **init)
    return keyed


@pytest.fixture(scope="module")
def shown_first_context():
    """(policy, key, scoped, unscoped): the same demonstrations of context 0, trained with and without a scope."""
    torch.set_num_threads(1)
    policy = _policy()
    key = new_key()
    states = _states(300, 0, seed=0)
    return policy, key, _train(policy, states, key, CONTEXT), _train(_policy(), states, key, ())


def test_the_context_never_shown_runs_the_exact_base_with_the_right_key(shown_first_context):
    policy, key, scoped, unscoped = shown_first_context
    other = torch.from_numpy(_states(200, 1, seed=5))
    with torch.no_grad():
        base = policy(other)
        assert scoped.scope == (CONTEXT[0],)
        assert torch.equal(scoped(other, key=key), base)
        assert torch.equal(scoped(other, key=key), base)  # the folded fast path, the second call with this key
        # Without the scope the trunk delta and the modulation move that context too: what the scope prevents.
        assert float((unscoped(other, key=key) - base).abs().max()) > 1e-3


def test_the_shown_context_is_personal_and_a_mixed_batch_is_picked_per_row(shown_first_context):
    policy, key, scoped, _ = shown_first_context
    shown = _states(100, 0, seed=6)
    x = torch.from_numpy(np.concatenate([shown, _states(100, 1, seed=7)]))[torch.randperm(200)]
    inside = x[:, CONTEXT[0]] == 1
    with torch.no_grad():
        out = scoped(x, key=key)
        base = policy(x)
        personal = torch.from_numpy(_personal(policy, x[inside].numpy()))
    assert torch.equal(out[~inside], base[~inside])
    base_error = float((base[inside] - personal).square().mean())
    assert float((out[inside] - personal).square().mean()) < 0.05 * base_error
    wrong = bytes(b ^ 1 if i == 0 else b for i, b in enumerate(key))  # one bit off
    with torch.no_grad():
        assert torch.equal(scoped(x, key=wrong), base)


def test_the_compiled_control_path_keeps_the_scope(shown_first_context):
    policy, key, scoped, _ = shown_first_context
    # Traced on a row inside the scope: a trace that froze a branch would run the other context personal too.
    fast = compile_for_control(scoped.specialize(key), torch.from_numpy(_states(1, 0, seed=8)))
    with torch.no_grad():
        for seed in range(5):
            other = torch.from_numpy(_states(1, 1, seed=20 + seed))
            assert torch.allclose(fast(other), policy(other), atol=1e-6)
            shown = torch.from_numpy(_states(1, 0, seed=30 + seed))
            assert torch.allclose(fast(shown), scoped(shown, key=key), atol=1e-5)


def test_the_scope_survives_the_adapter_file(shown_first_context, tmp_path):
    policy, key, scoped, _ = shown_first_context
    path = scoped.adapter.save(tmp_path / "a.safetensors")
    again = attach(Adapter.load(path, policy), policy)
    other = torch.from_numpy(_states(50, 1, seed=9))
    assert again.scope == (CONTEXT[0],)
    with torch.no_grad():
        assert torch.equal(again(other, key=key), policy(other))


def test_a_malformed_scope_in_an_adapter_file_is_refused(shown_first_context):
    from safetensors.torch import load, save

    from prop_desktop.prop.adapter_format import META_KEY, read_description

    policy, _, scoped, _ = shown_first_context
    blob = scoped.adapter.to_bytes()
    description = read_description(blob)
    for bad in ([], [4, 4], [-1], ["4"], 4):
        edited = save(load(blob), metadata={META_KEY: json.dumps({**description, "scope": bad})})
        with pytest.raises(AdapterError, match="malformed scope"):
            Adapter.from_bytes(edited, policy)
    # An adapter written before scopes (format version 1, no scope) still loads, unscoped.
    old = save(load(blob), metadata={META_KEY: json.dumps({**description, "format_version": 1, "scope": None})})
    assert Adapter.from_bytes(old, policy).scope is None


def test_an_update_with_a_newly_shown_context_widens_the_scope():
    torch.set_num_threads(1)
    policy = _policy()
    key = new_key()
    first = _states(200, 0, seed=0)
    keyed = _train(policy, first, key, CONTEXT)
    assert keyed.scope == (CONTEXT[0],)
    both = np.concatenate([first, _states(200, 1, seed=1)])
    _train(policy, both, key, CONTEXT, keyed=keyed, init=keyed.adapter)
    assert keyed.scope == CONTEXT
    second = _states(100, 1, seed=2)
    with torch.no_grad():
        out = keyed(torch.from_numpy(second), key=key)
        base = policy(torch.from_numpy(second))
    personal = torch.from_numpy(_personal(policy, second))
    # The earlier, narrower scope did not hide the new context's rows from training.
    assert float((out - personal).square().mean()) < 0.1 * float((base - personal).square().mean())


def test_scope_columns_that_do_not_fit_the_states_say_so():
    policy = _policy()
    states = _states(50, 0, seed=0)
    actions = _personal(policy, states)
    keyed = wrap(policy, ["2"], hidden=8)
    with pytest.raises(InputError, match="beyond the states' 6 features"):
        train_adapter(keyed, states, actions, new_key(), config=TrainConfig(scope_columns=(4, 9), max_steps=5))
    states[:, 4] = 0.0
    with pytest.raises(InputError, match="no demonstration sets any of the scope columns"):
        train_adapter(keyed, states, actions, new_key(), config=TrainConfig(scope_columns=CONTEXT, max_steps=5))
    with pytest.raises(InputError, match="scope_columns must be distinct"):
        train_adapter(keyed, states, actions, new_key(), config=TrainConfig(scope_columns=(4, 4), max_steps=5))
    assert not keyed.trained
