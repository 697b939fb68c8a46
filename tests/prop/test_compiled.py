"""The control-loop fast path gives the keyed module's outputs, and falls back when tracing cannot."""

from __future__ import annotations

import torch
from torch import nn

from prop_desktop.prop import compile_for_control, new_key, wrap

from .prop_helpers import small_policy


def test_compiled_specialized_policy_matches_the_keyed_call():
    policy = small_policy(7).eval()
    keyed = wrap(policy, ["2"], hidden=8)
    key = new_key()
    x = torch.randn(1, 4)
    fast = compile_for_control(keyed.specialize(key), x)
    assert isinstance(fast, torch.jit.ScriptModule)
    with torch.no_grad():
        for _ in range(5):
            x = torch.randn(1, 4)
            assert torch.allclose(fast(x), keyed(x, key=key), atol=1e-5)


class _Branchy(nn.Module):
    """Data-dependent control flow: a trace would freeze one branch."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x) if float(x.sum()) > 0 else -self.fc(x)


def test_a_module_whose_trace_would_freeze_one_branch_is_returned_unchanged():
    module = _Branchy()
    assert compile_for_control(module, torch.ones(1, 4)) is module
