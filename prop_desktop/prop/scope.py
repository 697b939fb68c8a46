"""Scoped adapters: personal only on the contexts a person demonstrated, the exact base everywhere else.

A scope is a set of input columns of a one-hot context (the household policy's task id, obs[6:10]). An adapter
trained with `TrainConfig.scope_columns` keeps the columns its demonstrations set; rows that set none of them run
the base whatever the key, so the tasks a person never showed keep the general behaviour exactly (retention 0 by
construction, as wrong keys are 0). Measured before it, on bench household's lee (a slower arm shown on pick
only): the hidden-layer modulation moved the other tasks by 0.018-0.048, above the 0.03 target in 3 of 8 runs.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .errors import WrapError


def in_scope(x: Any, scope: tuple[int, ...]) -> torch.Tensor:
    """Per row of `x` (..., features): is any of the scope's one-hot context columns set?"""
    if not isinstance(x, torch.Tensor) or x.dim() == 0 or x.shape[-1] <= max(scope):
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise WrapError(f"a scoped adapter reads context columns {list(scope)} of its first input, got {shape}")
    return (x[..., list(scope)] != 0).any(dim=-1)


def pick_rows(inside: torch.Tensor, personal: Any, plain: Any) -> torch.Tensor:
    """Per row: the personal output inside the scope, the base's outside (outputs with the input's leading shape)."""
    if not isinstance(personal, torch.Tensor) or not isinstance(plain, torch.Tensor):
        raise WrapError("a scoped adapter needs a module that returns one tensor")
    if tuple(personal.shape[: inside.dim()]) != tuple(inside.shape):
        raise WrapError(f"a scoped adapter needs outputs with the input's rows: {tuple(inside.shape)} rows in, "
                        f"output shape {tuple(personal.shape)}")
    return torch.where(inside.reshape(*inside.shape, *([1] * (personal.dim() - inside.dim()))), personal, plain)


class Scoped(nn.Module):
    """A specialized (folded) personal module and the base, picked per row by a scope.

    A control step is one row, so only the module it needs runs (one forward pass, not two: bench inference).
    That is a branch on the data, which a trace would freeze: `compile_for_control` compiles the two parts and
    keeps this module's choice (compiled.py)."""

    def __init__(self, personal: nn.Module, base: nn.Module, scope: tuple[int, ...]) -> None:
        super().__init__()
        self.personal = personal
        self.base = base
        self.scope = scope

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        inside = in_scope(x, self.scope)
        if bool(inside.all()):
            out: torch.Tensor = self.personal(x)
            return out
        if not bool(inside.any()):
            plain: torch.Tensor = self.base(x)
            return plain
        return pick_rows(inside, self.personal(x), self.base(x))
