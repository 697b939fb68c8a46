"""The key encoder: an MLP with tanh output that turns a ±1 key into per-feature multipliers δ.

δ = 1 + scale · tanh(W2 · relu(W1 · k + b1)), with W2 = 0 at init and no output bias: every key starts at δ = 1
exactly, and a key whose hidden units are all silent keeps δ = 1 exactly. Training turns the hidden units into
sharp detectors of the user's key (on ±1 inputs the correct key's correlation is n, one bit off is n - 2).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
from torch import nn

from .errors import AdapterError
from .keys import DEFAULT_KEY_BITS


@dataclass(frozen=True)
class EncoderConfig:
    """Shape of the key encoder(s). Stored in every adapter."""

    key_bits: int = DEFAULT_KEY_BITS
    hidden: int = 32
    shared: bool = False  # one encoder for all wrapped layers (outputs concatenated) instead of one per layer
    delta_scale: float = 2.0  # δ lies in (1 - scale, 1 + scale): a feature can also be switched off or flipped

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> EncoderConfig:
        if not isinstance(data, dict):
            raise AdapterError("adapter's encoder config is not a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise AdapterError(f"adapter's encoder config has unknown fields {sorted(unknown)}")
        try:
            config = cls(
                key_bits=int(data.get("key_bits", DEFAULT_KEY_BITS)),
                hidden=int(data.get("hidden", cls.hidden)),
                shared=bool(data.get("shared", cls.shared)),
                delta_scale=float(data.get("delta_scale", cls.delta_scale)),
            )
        except (TypeError, ValueError) as exc:
            raise AdapterError(f"adapter's encoder config is malformed: {exc}") from None
        config.validate(AdapterError)
        return config

    def validate(self, error: type[Exception] = ValueError) -> None:
        if self.key_bits <= 0 or self.key_bits % 8:
            raise error(f"key_bits must be a positive multiple of 8, got {self.key_bits}")
        if self.hidden <= 0:
            raise error(f"encoder hidden size must be positive, got {self.hidden}")
        if not (0 < self.delta_scale <= 4 and math.isfinite(self.delta_scale)):
            raise error(f"delta_scale must be in (0, 4], got {self.delta_scale}")


class KeyEncoder(nn.Module):
    """±1 key (..., key_bits) -> δ (..., out_features)."""

    def __init__(self, key_bits: int, out_features: int, hidden: int, delta_scale: float) -> None:
        super().__init__()
        self.key_bits = key_bits
        self.delta_scale = float(delta_scale)
        self.hidden = nn.Linear(key_bits, hidden)
        self.out = nn.Linear(hidden, out_features, bias=False)
        nn.init.zeros_(self.out.weight)

    def forward(self, signs: torch.Tensor) -> torch.Tensor:
        return 1.0 + self.delta_scale * torch.tanh(self.out(torch.relu(self.hidden(signs))))


    @torch.no_grad()
    def init_matched(self, signs: torch.Tensor, target: torch.Tensor, generator: torch.Generator) -> None:
        """Start as a matched filter of `signs` whose output is `target` for that key and exactly 1 for any other.

        Each hidden unit j gets weights signs ⊙ m_j (random positive magnitudes m_j) and a threshold halfway between
        the key's activation and its nearest one-bit neighbour's, so every other key (1..n bits off) is silent. The
        output layer is then solved in closed form so that δ(key) = target. Training continues from here.
        """
        hidden = self.hidden.weight.shape[0]
        magnitudes = 0.5 + torch.rand(hidden, self.key_bits, generator=generator)
        self.hidden.weight.copy_(signs[None, :] * magnitudes)
        correct = magnitudes.sum(dim=1)
        nearest = correct - 2 * magnitudes.min(dim=1).values
        self.hidden.bias.copy_(-(correct + nearest) / 2)
        h = torch.relu(self.hidden.weight @ signs + self.hidden.bias)
        z = torch.atanh(((target - 1.0) / self.delta_scale).clamp(-0.995, 0.995))
        self.out.weight.copy_(z[:, None] * h[None, :] / h.square().sum())


class KeyEncoders(nn.Module):
    """One encoder per wrapped layer, or one shared encoder whose output is split across the layers."""

    def __init__(self, config: EncoderConfig, layer_dims: dict[str, int]) -> None:
        super().__init__()
        self.config = config
        self.layer_dims = dict(layer_dims)
        self.shared: KeyEncoder | None
        self.per_layer: nn.ModuleDict | None
        if config.shared:
            total = sum(layer_dims.values())
            self.shared = KeyEncoder(config.key_bits, total, config.hidden, config.delta_scale)
            self.per_layer = None
        else:
            self.shared = None
            self.per_layer = nn.ModuleDict(
                {
                    _slot(name): KeyEncoder(config.key_bits, dim, config.hidden, config.delta_scale)
                    for name, dim in layer_dims.items()
                }
            )

    def forward(self, signs: torch.Tensor) -> dict[str, torch.Tensor]:
        if self.shared is not None:
            parts = torch.split(self.shared(signs), list(self.layer_dims.values()), dim=-1)
            return dict(zip(self.layer_dims, parts, strict=True))
        return {name: self.layer_encoder(name)(signs) for name in self.layer_dims}


    @torch.no_grad()
    def init_matched(self, signs: torch.Tensor, targets: dict[str, torch.Tensor], generator: torch.Generator) -> None:
        """Matched-filter start (see KeyEncoder.init_matched) with δ(key) = targets[layer] per layer."""
        if self.shared is not None:
            self.shared.init_matched(signs, torch.cat([targets[n] for n in self.layer_dims]), generator)
            return
        for name in self.layer_dims:
            self.layer_encoder(name).init_matched(signs, targets[name], generator)

    def layer_encoder(self, name: str) -> KeyEncoder:
        """The encoder of one wrapped layer (per-layer encoders only)."""
        assert self.per_layer is not None
        encoder = self.per_layer[_slot(name)]
        assert isinstance(encoder, KeyEncoder)
        return encoder

    def all_encoders(self) -> list[KeyEncoder]:
        """The shared encoder, or one per wrapped layer in layer order."""
        return [self.shared] if self.shared is not None else [self.layer_encoder(n) for n in self.layer_dims]


def _slot(layer_name: str) -> str:
    """ModuleDict keys may not contain dots; layer names do ("net.2")."""
    return layer_name.replace(".", "__")
