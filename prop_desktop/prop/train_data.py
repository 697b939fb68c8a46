"""The engine's data: demonstration, base-distribution and retention rows, the held-out split, output scale."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn

from .errors import InputError
from .keyed import KeyedModule
from .metrics import output_scale
from .scope import in_scope
from .train_config import TrainConfig
from .validation import as_float_tensor, check_feature_shape, check_same_rows


@dataclass
class Data:
    train_states: torch.Tensor
    train_actions: torch.Tensor  # flattened (n, out)
    train_base: torch.Tensor  # base outputs on train_states, flattened
    val_states: torch.Tensor
    val_actions: torch.Tensor
    val_base: torch.Tensor
    pool_states: torch.Tensor  # where wrong keys must reproduce the base (demo + base distribution)
    pool_base: torch.Tensor
    retain_states: torch.Tensor | None
    retain_targets: torch.Tensor | None
    scale: torch.Tensor  # per output dimension
    out_shape: tuple[int, ...]
    held_out_episodes: bool = False  # validation rows are whole episodes the training never saw

    @property
    def n_train(self) -> int:
        return int(self.train_states.shape[0])

    def with_all_rows(self) -> Data:
        """The same data training on the held-out rows too (once the choices that needed them are made)."""
        return replace(self, train_states=torch.cat([self.train_states, self.val_states]),
                       train_actions=torch.cat([self.train_actions, self.val_actions]),
                       train_base=torch.cat([self.train_base, self.val_base]))

    @property
    def n_val(self) -> int:
        return int(self.val_states.shape[0])


def prepare(
    keyed: KeyedModule,
    states: Any,
    actions: Any,
    base_states: Any,
    retain_states: Any,
    retain_targets: Any,
    cfg: TrainConfig,
    generator: torch.Generator,
    episodes: Any = None,
) -> Data:
    dtype = param_dtype(keyed.base)
    s = as_float_tensor(states, "states", dtype=dtype)
    a = as_float_tensor(actions, "actions", dtype=dtype)
    check_same_rows(s, "states", a, "actions")
    base_out = base_outputs(keyed.base, s, "states")
    if tuple(base_out.shape[1:]) != tuple(a.shape[1:]) and base_out[0].numel() != a[0].numel():
        raise InputError(
            f"actions have per-row shape {tuple(a.shape[1:])}, but the module outputs per-row shape "
            f"{tuple(base_out.shape[1:])} on these states"
        )
    out_shape = tuple(base_out.shape[1:])
    a = a.reshape(a.shape[0], -1)
    base_flat = base_out.reshape(base_out.shape[0], -1)

    if base_states is None:
        spread = s.std(dim=0, keepdim=True) if s.shape[0] > 1 else s.abs().clamp_min(1.0)
        noise = torch.randn(s.shape, generator=generator, dtype=dtype) * spread * cfg.base_noise
        extra = s + noise
    else:
        extra = as_float_tensor(base_states, "base_states", dtype=dtype)
        check_feature_shape(extra, "base_states", tuple(s.shape[1:]), "states")
    extra_base = base_outputs(keyed.base, extra, "base_states").reshape(extra.shape[0], -1)

    r_states = r_targets = None
    if retain_states is not None:
        r_states = as_float_tensor(retain_states, "retain_states", dtype=dtype)
        check_feature_shape(r_states, "retain_states", tuple(s.shape[1:]), "states")
        if retain_targets is None:
            r_targets = base_outputs(keyed.base, r_states, "retain_states").reshape(r_states.shape[0], -1)
        else:
            r_targets = as_float_tensor(retain_targets, "retain_targets", dtype=dtype)
            check_same_rows(r_states, "retain_states", r_targets, "retain_targets")
            r_targets = r_targets.reshape(r_targets.shape[0], -1)
            if r_targets.shape[1] != a.shape[1]:
                raise InputError(f"retain_targets have {r_targets.shape[1]} values per row, actions {a.shape[1]}")
    elif retain_targets is not None:
        raise InputError("retain_targets were given without retain_states")

    n = s.shape[0]
    val_idx, train_idx, by_episode = split_rows(n, episodes, cfg, generator)
    n_val = int(val_idx.numel())
    scale = output_scale(torch.cat([a, base_flat, extra_base]))
    return Data(
        train_states=s[train_idx],
        train_actions=a[train_idx],
        train_base=base_flat[train_idx],
        val_states=s[val_idx] if n_val else s[train_idx],
        val_actions=a[val_idx] if n_val else a[train_idx],
        val_base=base_flat[val_idx] if n_val else base_flat[train_idx],
        pool_states=torch.cat([s, extra]),
        pool_base=torch.cat([base_flat, extra_base]),
        retain_states=r_states,
        retain_targets=r_targets,
        scale=scale,
        out_shape=out_shape,
        held_out_episodes=by_episode,
    )


def demonstrated_scope(data: Data, columns: tuple[int, ...]) -> tuple[int, ...] | None:
    """The scope a training run gives its adapter: those of `columns` that some demonstration row sets (None
    without columns: unscoped)."""
    if not columns:
        return None
    states = torch.cat([data.train_states, data.val_states])
    width = states.shape[-1] if states.dim() > 1 else 0
    if max(columns) >= width:
        raise InputError(f"scope_columns {list(columns)} name columns beyond the states' {width} features")
    scope = tuple(c for c in columns if bool((states[..., c] != 0).any()))
    if not scope:
        raise InputError(f"no demonstration sets any of the scope columns {list(columns)} (e.g. a task id); "
                         "check the states' layout")
    return scope


def within_scope(data: Data, scope: tuple[int, ...] | None) -> Data:
    """The data without the retention rows outside the scope: there the adapter is the base exactly, so they
    would only cost time."""
    if scope is None or data.retain_states is None or data.retain_targets is None:
        return data
    keep = in_scope(data.retain_states, scope)
    if bool(keep.all()):
        return data
    if not bool(keep.any()):
        return replace(data, retain_states=None, retain_targets=None)
    return replace(data, retain_states=data.retain_states[keep], retain_targets=data.retain_targets[keep])


SPLIT_SEED = 0


def split_rows(
    n: int, episodes: Any, cfg: TrainConfig, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, bool]:
    """(validation rows, training rows, split by episode): whole episodes when `episodes` names at least 5
    (and val_episodes holds at least one out), else random rows.

    The episodes held out depend on the episode numbers only, not on the run's seed: an update of a skill holds
    out the same demonstrations as the first training did, so the previous adapter never saw them either and
    the two can be compared on them fairly."""
    if episodes is not None:
        ids = torch.as_tensor(episodes).reshape(-1)
        if ids.numel() != n:
            raise InputError(f"episodes has {ids.numel()} entries for {n} rows of states")
        names = torch.unique(ids[ids >= 0])
        n_out = int(len(names) * cfg.val_episodes)
        if len(names) >= 5 and n_out >= 1:
            held = names[torch.randperm(len(names), generator=torch.Generator().manual_seed(SPLIT_SEED))[:n_out]]
            is_val = torch.isin(ids, held)
            return torch.nonzero(is_val).flatten(), torch.nonzero(~is_val).flatten(), True
    n_val = int(n * cfg.val_fraction) if n >= 20 else 0
    order = torch.randperm(n, generator=generator)
    return order[:n_val], order[n_val:], False


def param_dtype(module: nn.Module) -> torch.dtype:
    for p in module.parameters():
        if p.is_floating_point():
            return p.dtype
    return torch.float32


def base_outputs(base: nn.Module, x: torch.Tensor, name: str) -> torch.Tensor:
    try:
        with torch.no_grad():
            out = base(x)
    except Exception as exc:  # noqa: BLE001 - report the shape problem, not torch's internals
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(
            f"the module cannot run on {name} of shape {tuple(x.shape)}: {message}; check the state layout"
        ) from None
    if not isinstance(out, torch.Tensor):
        raise InputError(f"the module must return one tensor, it returned {type(out).__name__}")
    if out.shape[0] != x.shape[0]:
        raise InputError(f"the module returned {out.shape[0]} rows for {x.shape[0]} rows of {name}")
    if not bool(torch.isfinite(out).all()):
        raise InputError(f"the module produces NaN/inf on {name}; check the inputs' scale")
    return out


