"""Opt-in hardening measured by the attack suite: the trunk delta only for keys that open the gate.

KeyedModule applies the merged trunk (base + α·delta) for every key; only the no-key path is the pure base. A wrong
key that leaves every δ at exactly 1 (the gate shut: 99–100 % of near keys and all random keys with the engine's
matched-filter gate) therefore still runs base + α·delta, which training pulls towards the base but not all the
way: the attack suite measured such keys at 8–13 % of the way to the user's behaviour (docs/privacy.md).

TrunkGatedKeyedModule runs the pure base for such keys — bit-identical to no key — and the merged trunk only for
keys whose δ differs from 1 somewhere. The correct key is unchanged. Used in training too (train_adapter accepts
it), the trunk is then shaped only by the rows where the gate opens. A proposal for the engine (docs/privacy.md,
"Requests to the engine"); the adapter format does not record it yet, so Adapter.attach() gives the plain module.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from .keyed import KeyedModule


def open_rows(deltas: dict[str, torch.Tensor]) -> torch.Tensor:
    """Per candidate row (or one scalar for shared δ): does any layer's δ differ from exactly 1?"""
    result: torch.Tensor | None = None
    for d in deltas.values():
        moved = (d.detach() != 1.0).any(dim=-1)
        if result is None:
            result = moved
        elif result.dim() == moved.dim():
            result = result | moved
        else:
            result = torch.broadcast_to(result, moved.shape) | torch.broadcast_to(moved, result.shape)
    assert result is not None
    return result


class TrunkGatedKeyedModule(KeyedModule):
    """A KeyedModule whose trunk delta is applied only where the key opens the gate."""

    @classmethod
    def from_keyed(cls, keyed: KeyedModule) -> TrunkGatedKeyedModule:
        gated = cls(keyed.base, keyed.layers, keyed.encoder_config, key_batch_dim=keyed.key_batch_dim)
        if keyed.trained:
            gated.load_adapter(keyed.adapter)
        return gated

    def call_with(
        self,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        deltas: dict[str, torch.Tensor],
        params: dict[str, torch.Tensor] | None,
    ) -> Any:
        if params is None:
            return super().call_with(args, kwargs, deltas, None)
        is_open = open_rows(deltas)
        if is_open.dim() == 0 or bool(is_open.all()) or not bool(is_open.any()):
            use = params if bool(is_open.all()) else None
            return super().call_with(args, kwargs, deltas, use)
        with_trunk = super().call_with(args, kwargs, deltas, params)
        without = super().call_with(args, kwargs, deltas, None)
        shape = [1] * with_trunk.dim()
        shape[self.key_batch_dim] = is_open.shape[0]
        return torch.where(is_open.reshape(shape), with_trunk, without)

    def specialize(self, key: Any) -> nn.Module:
        if bool(open_rows(self.deltas(key)).all()):
            return super().specialize(key)
        clone = copy.deepcopy(self.base)  # the gate stays shut for this key: the base itself
        for param in clone.parameters():
            param.requires_grad_(False)
        return clone.eval() if not self.base.training else clone
