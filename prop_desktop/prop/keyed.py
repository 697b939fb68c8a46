"""KeyedModule: any torch module with key encoders modulating the inputs of some of its nn.Linear layers.

z' = f(W diag(δ(key)) z + b). An adapter may be scoped (`scope`, scope.py): input columns of a one-hot context,
e.g. the household policy's task id; it personalizes only rows whose context it was trained on, and every other
row runs the base exactly, whatever the key. The personalization strength α (`alpha`, the adapter's only stored α)
blends the deployed policy in parameter space, like WiSE-FT merging: a key's modulation becomes δ_α = 1 + α·(δ(key) − 1)
and a trunk delta is applied as base + α·delta. α = 0 is the base exactly, α = 1 the adapter as trained; a
rejected key has δ = 1 exactly, so no α makes it personal.
Forward pre-hooks are attached only for the duration of a keyed call, so the user's module is never changed:
without a key the call is exactly `module(x)` (bit-identical, fast paths included).
Not safe to call concurrently from several threads with different keys on the same module.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

from .adapter import Adapter
from .encoder import EncoderConfig, KeyEncoders
from .errors import AdapterError, AdapterMismatchError, KeyFormatError, WrapError
from .fingerprint import model_hash
from .keys import key_to_signs, keys_to_signs
from .scope import Scoped, in_scope, pick_rows

# Versions of the tensors a cache was computed from (and the settings it depends on): equal stamps, same result.
_Stamp = tuple[Any, ...]

# (keyed module, {layer: δ}, fired layer names) for the keyed call in progress in this context.
_ACTIVE: contextvars.ContextVar[tuple[Any, dict[str, torch.Tensor], set[str]] | None] = contextvars.ContextVar(
    "prop_active_deltas", default=None
)


def linear_layer_names(module: nn.Module) -> list[str]:
    """Dotted names of every nn.Linear in `module` that a KeyedModule can modulate."""
    return [
        name for name, sub in module.named_modules() if isinstance(sub, nn.Linear) and not _inside_mha(module, name)
    ]


def _inside_mha(root: nn.Module, name: str) -> bool:
    parent_name = name.rpartition(".")[0]
    parent = root.get_submodule(parent_name) if parent_name else root
    return isinstance(parent, nn.MultiheadAttention)


class KeyedModule(nn.Module):
    """A base module plus key encoders. `keyed(x)` == `base(x)`; `keyed(x, key=k)` runs with modulation δ(k)."""

    def __init__(
        self,
        base: nn.Module,
        layers: Iterable[str],
        encoder: EncoderConfig | None = None,
        *,
        key_batch_dim: int = 0,
    ) -> None:
        super().__init__()
        if not isinstance(base, nn.Module):
            raise WrapError(f"wrap() needs a torch nn.Module, got {type(base).__name__}")
        config = encoder or EncoderConfig()
        config.validate(WrapError)
        layer_list = list(layers) if not isinstance(layers, str) else [layers]
        if not layer_list:
            raise WrapError("name at least one nn.Linear layer to modulate, e.g. wrap(policy, ['net.2'])")
        if len(set(layer_list)) != len(layer_list):
            raise WrapError(f"layer names repeat: {layer_list}")
        modules = dict(base.named_modules())
        dims: dict[str, int] = {}
        for name in layer_list:
            if name not in modules or name == "":
                raise WrapError(
                    f"layer {name!r} not found; the module's nn.Linear layers are {linear_layer_names(base)}"
                )
            layer = modules[name]
            if not isinstance(layer, nn.Linear):
                raise WrapError(
                    f"layer {name!r} is a {type(layer).__name__}, not nn.Linear; "
                    f"the module's nn.Linear layers are {linear_layer_names(base)}"
                )
            if _inside_mha(base, name):
                raise WrapError(
                    f"layer {name!r} is a MultiheadAttention output projection: attention uses its weights "
                    "directly and never calls it as a module, so it cannot be modulated; wrap the feed-forward "
                    "layers (e.g. linear1/linear2 of a TransformerEncoderLayer) instead"
                )
            dims[name] = int(layer.in_features)
        self.base = base
        self.layers: list[str] = layer_list
        self.layer_dims = dims
        self.encoder_config = config
        self.key_batch_dim = int(key_batch_dim)
        self.encoders = KeyEncoders(config, dims)
        self.trunk_delta: dict[str, torch.Tensor] | None = None
        self.alpha: float = 1.0
        # The trunk delta only for keys that open the gate: rejected keys stay the exact base even when merging.
        self.gate_trunk: bool = True
        # The one-hot context columns the adapter was trained on (None: every row is personal).
        self.scope: tuple[int, ...] | None = None
        self.trained = False
        self.info: dict[str, Any] = {}
        self._cache: tuple[Any, _Stamp, dict[str, torch.Tensor]] | None = None
        self._merged_cache: tuple[_Stamp, dict[str, torch.Tensor]] | None = None
        self._spec_cache: tuple[Any, _Stamp, nn.Module] | None = None
        self._param_lists: tuple[nn.Module, list[torch.Tensor], list[torch.Tensor]] | None = None

    # ----- public API -----
    @property
    def key_bits(self) -> int:
        return self.encoder_config.key_bits

    def forward(self, *args: Any, key: Any = None, **kwargs: Any) -> Any:
        """Run the base module; with `key` (bytes, bit array, ±1 array, or a (n, bits) batch) modulated by δ(key)."""
        if key is None:
            return self.base(*args, **kwargs)
        if isinstance(key, list | tuple):
            key = np.asarray(key)
        if isinstance(key, torch.Tensor | np.ndarray):
            if key.ndim == 2 and key.shape[0] != 1:
                return self.forward_signs(*args, signs=keys_to_signs(key, self.key_bits), **kwargs)
            key = key_to_signs(key, self.key_bits)  # one canonical form, so caches hit for 0/1 and bool keys
        if not torch.is_grad_enabled():
            fast = self._specialized(key)
            if fast is not None:
                return fast(*args, **kwargs)
        return self.forward_deltas(*args, deltas=self.at_strength(self.deltas(key)), **kwargs)

    def specialize(self, key: Any, alpha: float | None = None) -> nn.Module:
        """The deployed policy for `key` at strength `alpha` (default: this module's α): a frozen copy of the base
        with δ_α folded into the wrapped layers' weights (W' = W·diag(δ_α)) and the trunk delta merged once, a
        plain module as fast as the base (a scoped adapter: that copy and a frozen base, picked per row, so
        twice the base's work). Keyed calls without grad use one automatically once a key repeats."""
        alpha = self.alpha if alpha is None else _checked_alpha(alpha)
        deltas = self.at_strength(self.deltas(key), alpha)
        clone = copy.deepcopy(self.base)
        with torch.no_grad():
            merged = self._merged_params(alpha)
            if merged is not None and self.gate_trunk and not bool(gate_open(deltas)):
                merged = None
            if merged is not None:
                named = dict(clone.named_parameters())
                for name, value in merged.items():
                    named[name].copy_(value)
            for name in self.layers:
                layer = clone.get_submodule(name)
                assert isinstance(layer, nn.Linear)  # checked when wrapping
                layer.weight.mul_(deltas[name].to(layer.weight.dtype)[None, :])
        for param in clone.parameters():
            param.requires_grad_(False)
        folded = clone.eval() if not self.base.training else clone
        if self.scope is None or not bool(gate_open(deltas)):
            return folded
        base = copy.deepcopy(self.base)
        for param in base.parameters():
            param.requires_grad_(False)
        return Scoped(folded, base.train(self.base.training), self.scope)

    def deltas(self, key: Any) -> dict[str, torch.Tensor]:
        """δ per wrapped layer for one key, cached while the encoder weights are unchanged."""
        stamp = self._stamp()
        cache = self._cache
        if cache is not None and cache[1] == stamp and _same_key(cache[0], key):
            return cache[2]
        signs = key_to_signs(key, self.key_bits)
        with torch.no_grad():
            out = {name: d.detach() for name, d in self.encoders(signs).items()}
        self._cache = (bytes(key) if isinstance(key, bytes | bytearray) else signs, stamp, out)
        return out

    def forward_signs(self, *args: Any, signs: torch.Tensor, **kwargs: Any) -> Any:
        """Differentiable keyed call with ±1 (or relaxed, continuous) key signs: (bits,) or one row per sample."""
        if signs.shape[-1] != self.key_bits:
            raise KeyFormatError(f"key signs have {signs.shape[-1]} bits, this adapter expects {self.key_bits}")
        return self.forward_deltas(*args, deltas=self.at_strength(self.encoders(signs)), **kwargs)

    def at_strength(self, deltas: dict[str, torch.Tensor], alpha: float | None = None) -> dict[str, torch.Tensor]:
        """δ(key) as deployed at strength α (default: this module's): δ_α = 1 + α·(δ − 1); exactly δ at α = 1."""
        return deltas_at(deltas, self.alpha if alpha is None else alpha)

    def forward_deltas(self, *args: Any, deltas: dict[str, torch.Tensor], **kwargs: Any) -> Any:
        """Run with given modulations δ per layer ((in_features,) or one row per sample), bypassing the encoder."""
        return self.call_with(args, kwargs, deltas, self._merged_params())

    def call_with(
        self,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        deltas: dict[str, torch.Tensor],
        params: dict[str, torch.Tensor] | None,
    ) -> Any:
        """Low level: run the base with δ per layer and, if given, replacement parameters (e.g. base + α·delta).

        With `gate_trunk` (default) the replacement parameters apply only to keys that open the gate (some δ ≠ 1);
        a key the encoders reject (every δ exactly 1) runs the pure base, exactly like no key. With a `scope`,
        rows outside it run the pure base too.
        """
        missing = [name for name in self.layers if name not in deltas]
        if missing:
            raise WrapError(f"no δ given for wrapped layer(s) {missing}")
        if self.scope is None:
            return self._gated(args, kwargs, deltas, params)
        inside = in_scope(args[0] if args else None, self.scope)
        if bool(inside.all()):
            return self._gated(args, kwargs, deltas, params)
        plain = self.base(*args, **kwargs)
        if not bool(inside.any()):
            return plain
        return pick_rows(inside, self._gated(args, kwargs, deltas, params), plain)

    def _gated(
        self,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        deltas: dict[str, torch.Tensor],
        params: dict[str, torch.Tensor] | None,
    ) -> Any:
        """call_with for rows inside the scope: the trunk gate per key."""
        if params is None or not self.gate_trunk:
            return self._run(args, kwargs, deltas, params)
        is_open = gate_open(deltas)
        if is_open.dim() == 0 or bool(is_open.all()) or not bool(is_open.any()):
            return self._run(args, kwargs, deltas, params if bool(is_open.any()) else None)
        # A batch mixing open and shut keys: both passes, rows picked per key (training batches only).
        opened = self._run(args, kwargs, deltas, params)
        shut = self._run(args, kwargs, deltas, None)
        if not isinstance(opened, torch.Tensor):
            raise WrapError("a trunk-gated batch of keys needs a module that returns one tensor")
        shape = [1] * opened.dim()
        shape[self.key_batch_dim] = is_open.shape[0]
        return torch.where(is_open.reshape(shape), opened, shut)

    def _run(
        self,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        deltas: dict[str, torch.Tensor],
        params: dict[str, torch.Tensor] | None,
    ) -> Any:
        fired: set[str] = set()
        token = _ACTIVE.set((self, deltas, fired))
        handles = [self.base.get_submodule(name).register_forward_pre_hook(self._hook(name)) for name in self.layers]
        try:
            if params is None:
                out = self.base(*args, **kwargs)
            else:
                out = functional_call(self.base, params, args, kwargs, strict=False)
        finally:
            for handle in handles:
                handle.remove()
            _ACTIVE.reset(token)
        if len(fired) != len(self.layers):
            silent = [name for name in self.layers if name not in fired]
            raise WrapError(
                f"wrapped layer(s) {silent} were never called as modules during the forward pass "
                "(their weights are used directly or a fused fast path skipped them); wrap other layers"
            )
        return out

    def set_alpha(self, alpha: float) -> None:
        """The personalization strength used with a key (δ_α and base + α·delta); cheap, no retraining."""
        self.alpha = _checked_alpha(alpha)
        self.invalidate()

    @contextlib.contextmanager
    def alpha_set_to(self, alpha: float) -> Iterator[None]:
        """Run a block at strength α (to measure it), then restore the previous α (caches kept when unchanged)."""
        previous = self.alpha
        if alpha != previous:
            self.set_alpha(alpha)
        try:
            yield
        finally:
            if self.alpha != previous:
                self.set_alpha(previous)

    def invalidate(self) -> None:
        """Forget cached δ, merged parameters and folded copies (call after changing weights by hand)."""
        self._cache = None
        self._merged_cache = None
        self._spec_cache = None
        self._param_lists = None

    @property
    def adapter(self) -> Adapter:
        """A snapshot of the current adapter (encoder weights, trunk delta, α) bound to this base model."""
        return Adapter(
            base_hash=model_hash(self.base),
            layers=list(self.layers),
            layer_dims=dict(self.layer_dims),
            encoder_config=self.encoder_config,
            encoder_state=_cloned(self.encoders.state_dict()),
            alpha=float(self.alpha),
            trunk_delta=None if self.trunk_delta is None else _cloned(self.trunk_delta),
            key_batch_dim=self.key_batch_dim,
            gate_trunk=bool(self.gate_trunk),
            scope=self.scope,
            info=json.loads(json.dumps(self.info)),
        )

    def load_adapter(self, adapter: Adapter) -> None:
        """Load an adapter made for this base model and wrapping (AdapterMismatchError/AdapterError otherwise)."""
        adapter.check_base(self.base)
        if list(self.layers) != list(adapter.layers) or dict(self.layer_dims) != dict(adapter.layer_dims):
            raise AdapterMismatchError(
                f"adapter modulates layers {adapter.layers}, the module is wrapped at {self.layers}"
            )
        if adapter.trunk_delta:
            params = dict(self.base.named_parameters())
            for name, tensor in adapter.trunk_delta.items():
                if name not in params or tuple(params[name].shape) != tuple(tensor.shape):
                    raise AdapterMismatchError(f"adapter's trunk delta {name!r} does not fit the base model")
        if self.encoder_config != adapter.encoder_config:
            self.encoder_config = adapter.encoder_config
            self.encoders = KeyEncoders(adapter.encoder_config, adapter.layer_dims)
        try:
            self.encoders.load_state_dict(adapter.encoder_state, strict=True)
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise AdapterError(f"adapter's encoder weights do not fit its config: {first}") from None
        self.trunk_delta = None if adapter.trunk_delta is None else _cloned(adapter.trunk_delta)
        self.alpha = float(adapter.alpha)
        self.gate_trunk = bool(adapter.gate_trunk)
        self.scope = adapter.scope
        self.info = dict(adapter.info)
        self.trained = True
        self.invalidate()

    def unwrap(self) -> nn.Module:
        """The untouched base module (hooks only live during keyed calls, so nothing to remove)."""
        return self.base

    # ----- internals -----
    def _specialized(self, key: Any) -> nn.Module | None:
        """The folded copy for `key` if this key was also used by the previous call (steady-state control loop)."""
        if not isinstance(key, bytes | bytearray) and not isinstance(key, torch.Tensor | np.ndarray):
            return None
        stamp = (
            self._stamp(), self._base_stamp(), self.alpha, id(self.trunk_delta), self.gate_trunk, self.base.training,
            self.scope,
        )
        spec = self._spec_cache
        if spec is not None and spec[1] == stamp and _same_key(spec[0], key):
            return spec[2]
        cache = self._cache
        if cache is None or cache[1] != stamp[0] or not _same_key(cache[0], key):
            return None  # first use of this key: the hook path; the next call with it gets the folded copy
        try:
            module = self.specialize(key)
        except Exception:  # noqa: BLE001 - a module that cannot be deep-copied keeps using the hook path
            return None
        self._spec_cache = (cache[0], stamp, module)
        return module

    def _base_stamp(self) -> _Stamp:
        listed = self._param_lists
        params = listed[2] if listed is not None else list(self.base.parameters())
        return tuple(p._version for p in params)

    def _hook(self, name: str) -> Callable[[nn.Module, tuple[Any, ...]], tuple[Any, ...] | None]:
        batch_dim = self.key_batch_dim

        def hook(_module: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
            active = _ACTIVE.get()
            if active is None or active[0] is not self:
                return None
            delta = active[1][name]
            active[2].add(name)
            x = args[0]
            if x.shape[-1] != delta.shape[-1]:
                raise WrapError(f"layer {name!r} received {x.shape[-1]} features, δ has {delta.shape[-1]}")
            if delta.dim() == 2 and x.dim() > 2:
                shape = [1] * x.dim()
                shape[batch_dim] = delta.shape[0]
                shape[-1] = delta.shape[1]
                delta = delta.reshape(shape)
            elif delta.dim() == 2 and x.dim() == 2 and x.shape[0] != delta.shape[0] and delta.shape[0] != 1:
                raise KeyFormatError(f"{delta.shape[0]} keys given for a batch of {x.shape[0]} rows")
            return (x * delta, *args[1:])

        return hook

    def _stamp(self) -> _Stamp:
        encoders = self.encoders
        listed = self._param_lists
        if listed is None or listed[0] is not encoders:
            listed = (encoders, list(encoders.parameters()), list(self.base.parameters()))
            self._param_lists = listed
        return (id(encoders), *(p._version for p in listed[1]))

    def _merged_params(self, alpha: float | None = None) -> dict[str, torch.Tensor] | None:
        """base + α·delta for the trunk delta's parameters (default α: this module's), or None without one."""
        alpha = self.alpha if alpha is None else alpha
        delta = self.trunk_delta
        if not delta or alpha == 0.0:
            return None
        base_params = dict(self.base.named_parameters())
        stamp = (alpha, id(delta)) + tuple(t._version for t in delta.values()) + tuple(
            base_params[n]._version for n in delta
        )
        if torch.is_grad_enabled() and any(t.requires_grad for t in delta.values()):
            return {n: base_params[n] + alpha * d for n, d in delta.items()}
        if self._merged_cache is not None and self._merged_cache[0] == stamp:
            return self._merged_cache[1]
        with torch.no_grad():
            merged = {n: base_params[n] + alpha * d for n, d in delta.items()}
        self._merged_cache = (stamp, merged)
        return merged


def deltas_at(deltas: dict[str, torch.Tensor], alpha: float) -> dict[str, torch.Tensor]:
    """The personalization strength's action on δ: δ_α = 1 + α·(δ − 1) (exactly δ at α = 1, exactly 1 at α = 0)."""
    if alpha == 1.0:
        return deltas
    return {name: 1.0 + alpha * (d - 1.0) for name, d in deltas.items()}


def _checked_alpha(alpha: float) -> float:
    alpha = float(alpha)
    if not (0.0 <= alpha <= 2.0):
        raise ValueError(f"alpha must be in [0, 2], got {alpha}")
    return alpha


def _cloned(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in tensors.items()}


def gate_open(deltas: dict[str, torch.Tensor]) -> torch.Tensor:
    """Per key (a scalar for one key, (n,) for a batch): does any layer's δ differ from exactly 1?"""
    result: torch.Tensor | None = None
    for delta in deltas.values():
        moved = (delta.detach() != 1.0).any(dim=-1)
        result = moved if result is None else (result | moved)
    assert result is not None
    return result


def _same_key(cached: Any, key: Any) -> bool:
    if isinstance(cached, bytes):
        return isinstance(key, bytes | bytearray) and cached == bytes(key)
    if isinstance(key, bytes | bytearray):
        return False
    try:
        return bool(torch.equal(cached, torch.as_tensor(key, dtype=torch.float32).reshape(-1)))
    except Exception:  # noqa: BLE001 - a different kind of key is simply a cache miss
        return False


def attach(adapter: Adapter, module: nn.Module) -> KeyedModule:
    """Wrap `module` (checked by hash: AdapterMismatchError for another model) and load `adapter` into it."""
    adapter.check_base(module)
    keyed = KeyedModule(module, adapter.layers, adapter.encoder_config, key_batch_dim=adapter.key_batch_dim)
    keyed.load_adapter(adapter)
    return keyed


def wrap(
    module: nn.Module,
    layers: Iterable[str],
    *,
    hidden: int = EncoderConfig.hidden,
    shared: bool = EncoderConfig.shared,
    key_bits: int = EncoderConfig.key_bits,
    delta_scale: float = EncoderConfig.delta_scale,
    key_batch_dim: int = 0,
) -> KeyedModule:
    """Attach key encoders to the named nn.Linear layers of `module` (dotted names as in named_modules())."""
    config = EncoderConfig(key_bits=key_bits, hidden=hidden, shared=shared, delta_scale=delta_scale)
    return KeyedModule(module, layers, config, key_batch_dim=key_batch_dim)
