"""Wrapping any module by Linear layer names: no key is bit-identical, a key modulates, the module is untouched."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from prop_desktop.prop import KeyedModule, WrapError, key_to_signs, linear_layer_names, new_key, wrap


class SmallConvNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 8, 3))
        self.fc = nn.Linear(8 * 4 * 4, 32)
        self.head = nn.Linear(32, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.fc(self.features(x).flatten(1))))


def mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(6, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 3))


def transformer() -> nn.Module:
    return nn.TransformerEncoderLayer(d_model=16, nhead=4, dim_feedforward=32, batch_first=True, dropout=0.0)


CASES = {
    "mlp": (mlp, ["2", "4"], lambda: torch.randn(7, 6)),
    "conv": (SmallConvNet, ["fc", "head"], lambda: torch.randn(5, 3, 12, 12)),
    "transformer": (transformer, ["linear1", "linear2"], lambda: torch.randn(3, 5, 16)),
}


def _perturb(keyed: KeyedModule, key: bytes) -> None:
    """Give the encoders a non-trivial δ for `key` (as training would)."""
    targets = {n: 1.0 + 0.5 * torch.randn(d) for n, d in keyed.layer_dims.items()}
    keyed.encoders.init_matched(key_to_signs(key), targets, torch.Generator().manual_seed(0))


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("mode", ["eval", "train"])
def test_no_key_is_bit_identical(case, mode):
    torch.manual_seed(0)
    make, layers, inputs = CASES[case]
    module = make()
    module.train(mode == "train")
    x = inputs()
    with torch.no_grad():
        expected = module(x)
    keyed = wrap(module, layers)
    key = new_key()
    _perturb(keyed, key)
    with torch.no_grad():
        keyed(x, key=key)  # a keyed call in between must leave no trace
        assert torch.equal(keyed(x), expected)
        assert torch.equal(module(x), expected)
    assert torch.equal(keyed(x), module(x))  # with grad too


@pytest.mark.parametrize("case", list(CASES))
def test_a_key_modulates_and_leaves_the_module_unchanged(case):
    torch.manual_seed(0)
    make, layers, inputs = CASES[case]
    module = make().eval()
    before = copy.deepcopy(module.state_dict())
    x = inputs()
    keyed = wrap(module, layers)
    key = new_key()
    assert torch.equal(keyed(x, key=key), module(x))  # untrained: δ = 1 for every key
    _perturb(keyed, key)
    with torch.no_grad():
        out_key = keyed(x, key=key)
        out_other = keyed(x, key=new_key())
    assert not torch.allclose(out_key, module(x))
    assert torch.allclose(out_other, module(x))  # matched filter: other keys are silent
    for name in layers:
        sub = module.get_submodule(name)
        assert len(sub._forward_pre_hooks) == 0
    after = module.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


@pytest.mark.parametrize("case", list(CASES))
def test_folded_fast_path_matches_the_hook_path(case):
    torch.manual_seed(0)
    make, layers, inputs = CASES[case]
    module = make().eval()
    x = inputs()
    keyed = wrap(module, layers)
    key = new_key()
    _perturb(keyed, key)
    hooked = keyed(x, key=key)  # with grad: the hook path
    with torch.no_grad():
        keyed(x, key=key)
        folded = keyed(x, key=key)  # repeated key without grad: the folded copy
    assert keyed._spec_cache is not None
    assert torch.allclose(hooked, folded, atol=1e-5, rtol=1e-4)


def test_per_sample_keys_in_one_batch():
    module = mlp().eval()
    keyed = wrap(module, ["2"])
    key = new_key()
    _perturb(keyed, key)
    x = torch.randn(4, 6)
    signs = torch.stack([key_to_signs(key), key_to_signs(new_key()), key_to_signs(key), key_to_signs(new_key())])
    out = keyed(x, key=signs)
    assert torch.allclose(out[0], keyed(x[:1], key=key)[0], atol=1e-6)
    assert torch.allclose(out[1], module(x[1:2])[0], atol=1e-6)


def test_attention_output_projection_is_refused_with_an_explanation():
    with pytest.raises(WrapError, match="MultiheadAttention"):
        wrap(transformer(), ["self_attn.out_proj"])
    assert "self_attn.out_proj" not in linear_layer_names(transformer())


@pytest.mark.parametrize(
    "layers, message",
    [(["nope"], "not found"), (["0"], None), ([], "at least one"), (["2", "2"], "repeat")],
)
def test_bad_layer_names(layers, message):
    module = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    if layers == ["0"]:
        layers, message = ["1"], "not nn.Linear"
    with pytest.raises(WrapError, match=message):
        wrap(module, layers)


def test_wrap_needs_a_module():
    with pytest.raises(WrapError, match="nn.Module"):
        wrap(lambda x: x, ["0"])  # type: ignore[arg-type]


def test_a_layer_never_called_is_reported():
    class Skips(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.used = nn.Linear(3, 3)
            self.unused = nn.Linear(3, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.used(x)

    keyed = wrap(Skips(), ["unused"])
    with pytest.raises(WrapError, match="never called"):
        keyed(torch.randn(2, 3), key=torch.ones(2, 128))


@pytest.mark.parametrize("case", ["conv", "transformer"])
def test_training_separates_keys_on_other_architectures(case):
    from prop_desktop.prop import TrainConfig, near_key_fidelity, output_scale, personalization_error, train_adapter

    torch.manual_seed(1)
    make, layers, inputs = CASES[case]
    module = make().eval()
    x = torch.cat([inputs() for _ in range(40)])[:120]
    with torch.no_grad():
        base = module(x)
        if case == "transformer":  # behind LayerNorm: a personal behaviour = a stronger feed-forward branch
            other = copy.deepcopy(module)
            other.linear2.weight.mul_(2.0)
            target = other(x)
        else:
            target = base * 0.8 + 0.1
    keyed = wrap(module, layers)
    key = new_key()
    train_adapter(keyed, x.numpy(), target.numpy(), key, config=TrainConfig(max_steps=40, personal_steps=60))
    rows = x.shape[0]
    scale = output_scale(torch.cat([target.reshape(rows, -1), base.reshape(rows, -1)]))
    before = personalization_error(keyed, None, x, target, scale=scale)
    after = personalization_error(keyed, key, x, target, scale=scale)
    assert after < 0.5 * before
    near = near_key_fidelity(keyed, key, x[:20], distances=(1, 2), n_keys=8, scale=scale)
    assert all(v["max"] == 0.0 for v in near.values())  # rejected keys are the base, exactly
