"""Adapter: the trained key encoders (+ optional trunk delta and α), bound to one base model by its hash.

A KeyedModule makes one (`keyed.adapter`) and loads one (`keyed.load_adapter`, `attach(adapter, module)`);
this module knows only the data and its bytes.

On disk and as bytes it is one safetensors blob whose metadata holds a JSON description (format, version, base
model hash, wrapped layers and their sizes, encoder config, α, key length, training info). Never pickled.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save
from torch import nn

from .adapter_format import FORMAT_NAME, FORMAT_VERSION, META_KEY, check_alpha, read_description, read_scope
from .encoder import EncoderConfig, KeyEncoders
from .errors import AdapterError, AdapterMismatchError
from .fingerprint import model_hash


@dataclass
class Adapter:
    base_hash: str
    layers: list[str]
    layer_dims: dict[str, int]
    encoder_config: EncoderConfig
    encoder_state: dict[str, torch.Tensor]
    alpha: float = 1.0
    trunk_delta: dict[str, torch.Tensor] | None = None
    key_batch_dim: int = 0
    gate_trunk: bool = True
    scope: tuple[int, ...] | None = None  # one-hot context columns it personalizes (scope.py); None: every row
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def key_bits(self) -> int:
        return self.encoder_config.key_bits

    # ----- binding -----
    def check_base(self, module: nn.Module) -> None:
        """Raise AdapterMismatchError unless `module` is the base model this adapter was trained on."""
        actual = model_hash(module)
        if actual != self.base_hash:
            raise AdapterMismatchError(
                f"this adapter belongs to base model {self.base_hash[:12]}…, not to the given model "
                f"{actual[:12]}…; train a new adapter for this model"
            )

    # ----- bytes and files -----
    def to_bytes(self) -> bytes:
        """One self-contained blob (a safetensors file with a JSON description in its metadata)."""
        tensors = {f"encoder.{k}": v.detach().contiguous() for k, v in self.encoder_state.items()}
        if self.trunk_delta:
            tensors.update({f"trunk_delta.{k}": v.detach().contiguous() for k, v in self.trunk_delta.items()})
        description = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "base_hash": self.base_hash,
            "layers": self.layers,
            "layer_dims": self.layer_dims,
            "encoder": self.encoder_config.to_json(),
            "key_bits": self.key_bits,
            "alpha": self.alpha,
            "has_trunk_delta": bool(self.trunk_delta),
            "key_batch_dim": self.key_batch_dim,
            "gate_trunk": self.gate_trunk,
            "scope": None if self.scope is None else list(self.scope),
            "info": self.info,
        }
        return st_save(tensors, metadata={META_KEY: json.dumps(description, sort_keys=True)})

    @classmethod
    def from_bytes(cls, data: bytes, base: nn.Module | None = None) -> Adapter:
        """Parse a blob from to_bytes(); with `base`, also check it belongs to that model."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise AdapterError(f"adapter data must be bytes, got {type(data).__name__}")
        data = bytes(data)
        description = read_description(data)
        try:
            tensors = st_load(data)
        except Exception as exc:  # noqa: BLE001 - safetensors raises its own error types for corrupt data
            raise AdapterError(f"adapter weights are corrupt or truncated: {_first_line(exc)}") from None
        adapter = _build(description, tensors)
        if base is not None:
            adapter.check_base(base)
        return adapter

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write atomically (temp file + rename) to `path` (conventionally *.safetensors)."""
        target = Path(path)
        blob = self.to_bytes()
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(blob)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str], base: nn.Module | None = None) -> Adapter:
        source = Path(path)
        try:
            data = source.read_bytes()
        except FileNotFoundError:
            raise AdapterError(f"adapter file {str(source)!r} does not exist") from None
        except IsADirectoryError:
            raise AdapterError(f"adapter path {str(source)!r} is a folder, not a file") from None
        except OSError as exc:
            raise AdapterError(f"adapter file {str(source)!r} cannot be read: {exc.strerror}") from None
        try:
            return cls.from_bytes(data, base=base)
        except AdapterMismatchError:
            raise
        except AdapterError as exc:
            raise AdapterError(f"adapter file {str(source)!r}: {exc}") from None


def _build(description: dict[str, Any], tensors: dict[str, torch.Tensor]) -> Adapter:
    try:
        base_hash = str(description["base_hash"])
        layers = [str(x) for x in description["layers"]]
        layer_dims = {str(k): int(v) for k, v in description["layer_dims"].items()}
        alpha = check_alpha(description.get("alpha", 1.0))
        has_delta = bool(description.get("has_trunk_delta", False))
        key_batch_dim = int(description.get("key_batch_dim", 0))
        gate_trunk = bool(description.get("gate_trunk", True))
        scope = read_scope(description.get("scope"))
        info = description.get("info", {})
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise AdapterError(f"adapter description is missing or has a malformed field: {exc}") from None
    config = EncoderConfig.from_json(description.get("encoder"))
    if len(base_hash) != 64:
        raise AdapterError("adapter description has a malformed base model hash")
    if set(layers) != set(layer_dims) or not layers:
        raise AdapterError("adapter description's layers and layer sizes disagree")
    encoder_state = {k[len("encoder.") :]: v for k, v in tensors.items() if k.startswith("encoder.")}
    trunk = {k[len("trunk_delta.") :]: v for k, v in tensors.items() if k.startswith("trunk_delta.")}
    expected = {k: tuple(v.shape) for k, v in KeyEncoders(config, layer_dims).state_dict().items()}
    missing = sorted(set(expected) - set(encoder_state))
    if missing:
        raise AdapterError(f"adapter is missing encoder weights {missing}")
    for name, shape in expected.items():
        if tuple(encoder_state[name].shape) != shape:
            got = tuple(encoder_state[name].shape)
            raise AdapterError(f"adapter weight {name!r} has shape {got}, expected {shape}")
    for name, tensor in {**encoder_state, **trunk}.items():
        if not tensor.is_floating_point() or not bool(torch.isfinite(tensor).all()):
            raise AdapterError(f"adapter weight {name!r} is corrupt (non-float or NaN/inf values)")
    if has_delta and not trunk:
        raise AdapterError("adapter says it has a trunk delta but the weights are missing")
    return Adapter(
        base_hash=base_hash,
        layers=layers,
        layer_dims=layer_dims,
        encoder_config=config,
        encoder_state={k: encoder_state[k] for k in expected},
        alpha=alpha,
        trunk_delta=trunk or None,
        key_batch_dim=key_batch_dim,
        gate_trunk=gate_trunk,
        scope=scope,
        info=info if isinstance(info, dict) else {},
    )


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
