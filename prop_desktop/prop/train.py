"""train_adapter: paper Eq. 6/8 — the user's key reproduces the demonstrations, every other key the base policy.

Each step mixes, in one batch: the correct key on demonstration states (target: the user's actions), optionally
the correct key on retention states (target: the base outputs, so undemonstrated tasks keep working), and wrong
keys — near keys at many Hamming distances plus uniformly random keys, drawn afresh each step — on demonstration
and base-distribution states (target: the base outputs). The no-key path is the base module itself.
Errors are normalized per output dimension so the defaults work on any action scale.
"""

from __future__ import annotations

import copy
import math
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from .encoder import KeyEncoder, KeyEncoders
from .errors import InputError, TrainingCancelled
from .keyed import KeyedModule, deltas_at
from .keys import flip_bits, key_to_signs, random_signs, window_flips
from .metrics import near_key_fidelity, output_scale
from .validation import as_float_tensor, check_feature_shape, check_same_rows

if TYPE_CHECKING:
    from .adapter import Adapter

# With a trunk delta, stage 1 (Adam on δ and the trunk delta, correct-key rows only) may use this share of the
# wall-time budget; the gate and the stage-3 polish get the rest.
STAGE1_SHARE = 0.7
# The fitted modulation + trunk delta must beat the selection alone by this factor on held-out episodes to be
# kept: the selection is a handful of numbers, the rest tens of thousands fitted to ten demonstrations, and a tie
# on two held-out episodes is no evidence for the larger model.
SELECTION_MARGIN = 1.1
ProgressFn = Callable[[int, int, dict[str, float]], None]
CancelLike = threading.Event | Callable[[], bool] | None


@dataclass
class TrainConfig:
    """Training knobs; the defaults are meant to work on small regression policies without tuning."""

    max_steps: int | None = None  # joint (stage 3) steps; None: scales with the demonstration rows (auto_max_steps)
    min_steps: int = 25  # never stop stage 3 earlier than this
    batch_size: int = 512
    # Stage 3 (joint Eq. 6/8 polish) learning rate. Adam moves every weight by about lr per step even at the
    # optimum, and a base with style inputs is very sensitive to δ: 1e-3 undid the stage-1 fit within 25 steps
    # (bench household alex, personal 0.03 -> 0.29); 1e-4 keeps it (closed-loop with the key 17 -> 100 %).
    lr: float = 1e-4
    personal_steps: int = 2500  # stage 1 cap (L-BFGS iterations or Adam steps) for the correct key's δ*
    # Stage 1 with a trunk delta stops after this many evaluations without a 3% gain. Mini-batch losses are
    # noisy: a patience of 4 stopped too soon (bench household, 2 seeds: closed-loop success with the key
    # summed over 3 profiles, seed 0: 2.01 -> 2.41, seed 1: 1.67 -> 2.00; held-out error within +0.01).
    personal_patience: int = 12
    # Adam on δ alongside the trunk, after the L-BFGS fit: at 2e-2 its first steps threw δ far off that fit
    # (bench household sam seed 1: 0.026 -> 0.41, 0 % closed-loop with the key); 1e-3 refines it (100 %).
    personal_lr: float = 1e-3
    personal_prefit_rounds: int = 5  # with a trunk delta: L-BFGS rounds (20 iterations each) on δ alone first
    personal_rows: int = 1024  # L-BFGS fits δ* on at most this many demonstration rows (a fixed random sample)
    correct_fraction: float = 0.35  # share of each batch that uses the correct key (oversampled on purpose)
    retain_fraction: float = 0.15  # share used for correct-key retention states, when given
    random_key_fraction: float = 0.2  # share of the wrong-key rows with uniformly random keys; the rest near keys
    near_distances: tuple[int, ...] = (1, 1, 2, 2, 3, 4, 5, 6, 8, 10, 12, 16, 24, 32, 48, 64)
    base_noise: float = 0.05  # default base states: demo states + noise of this many per-feature std
    fidelity_weight: float = 1.0
    delta_weight: float = 1.0  # also pull wrong keys' δ itself to 1: a direct, dense signal for a sharp gate
    retain_weight: float = 1.0
    target: float = 3e-3  # early stop once normalized errors (personal and wrong-key) are all below this
    eval_every: int = 25
    patience: int = 6  # stage 3 also stops after this many evaluations without a 3% gain in the personal error
    val_fraction: float = 0.1  # held out of the demonstrations for early stopping and α (if >= 20 rows)
    # With `episodes`, whole episodes are held out instead (rows of one episode are near-copies of each other,
    # so held-out rows from a trained episode measure nothing): this share, when there are at least 5.
    val_episodes: float = 0.2
    # Layers whose δ selects a way the base already knows (the household base's "style"): fitted alone first
    # (selection.py), and the adapter keeps only that selection when it does better on held-out episodes
    # than the fitted modulation + trunk delta (see docs/policy.md for the measurements).
    select_layers: tuple[str, ...] = ()
    fine_tune_trunk: bool = False  # also learn a trunk delta (RETAIN/WiSE-FT merging), α chosen on held-out data
    # Small: after the δ fit the trunk delta only corrects what the modulation cannot express; at 1e-3 it
    # overfitted ten demonstrations (bench household, held-out alex/sam/kim 0.061/0.095/0.097 vs 0.039/0.038/0.053).
    trunk_lr: float = 1e-4
    # Stage 3 trains only the encoders' output layers: the matched-filter detector from stage 2 then stays
    # exact (every key but the user's leaves all hidden units silent, so δ = 1 and the gated trunk stays shut).
    # Training the detector too let Adam drift its thresholds past the one-bit margin (~0.5) on long runs:
    # one bench household run gave a wrong key the full personal behaviour (error 0.99).
    train_detector: bool = False
    merge_grid: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)  # trunk shares λ tried
    seed: int = 0
    max_seconds: float | None = None  # wall-time budget: each stage ends early (as completed) once it is spent

    def validate(self) -> None:
        checks = [
            (self.batch_size >= 8, f"batch_size must be >= 8, got {self.batch_size}"),
            (self.lr > 0 and math.isfinite(self.lr), f"lr must be positive, got {self.lr}"),
            (0 < self.correct_fraction < 1, f"correct_fraction must be in (0, 1), got {self.correct_fraction}"),
            (0 <= self.retain_fraction < 1 - self.correct_fraction, "retain_fraction + correct_fraction must be < 1"),
            (0 <= self.random_key_fraction <= 1, "random_key_fraction must be in [0, 1]"),
            (len(self.near_distances) > 0 and min(self.near_distances) >= 1, "near_distances must be >= 1"),
            (self.max_steps is None or self.max_steps >= 1, f"max_steps must be >= 1, got {self.max_steps}"),
            (0 <= self.val_fraction < 0.5, f"val_fraction must be in [0, 0.5), got {self.val_fraction}"),
            (0 <= self.val_episodes < 0.5, f"val_episodes must be in [0, 0.5), got {self.val_episodes}"),
            (self.eval_every >= 1, "eval_every must be >= 1"),
            (self.personal_patience >= 1, "personal_patience must be >= 1"),
            (self.personal_prefit_rounds >= 0, "personal_prefit_rounds must be >= 0"),
        ]
        for ok, message in checks:
            if not ok:
                raise InputError(f"TrainConfig: {message}")


@dataclass
class TrainResult:
    steps: int
    seconds: float
    stopped_early: bool
    metrics: dict[str, float]  # normalized errors at the end (personal, personal_val, fidelity_near, ...)
    alpha: float  # the personalization strength left set: 1 (the person's slider moves it)
    history: list[dict[str, float]] = field(default_factory=list)
    merge: float = 1.0  # the share λ of the trained trunk delta kept (baked into it): parameter merging
    selection_only: bool = False  # the adapter is the selection alone (select_layers), no trunk delta

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def auto_max_steps(n_rows: int) -> int:
    """More demonstration rows need more steps; early stopping usually ends far sooner."""
    return int(min(3000, 600 + n_rows // 4))


def train_adapter(
    keyed: KeyedModule,
    states: Any,
    actions: Any,
    key: Any,
    *,
    base_states: Any = None,
    retain_states: Any = None,
    retain_targets: Any = None,
    config: TrainConfig | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelLike = None,
    init: Adapter | None = None,
    episodes: Any = None,
) -> TrainResult:
    """Train `keyed`'s encoders (and optionally a trunk delta) so `key` reproduces (states -> actions).

    base_states: states from the base task distribution where wrong keys must act like the base policy
    (default: the demonstration states plus small noise). retain_states/retain_targets: undemonstrated tasks where
    the correct key must keep the base behaviour (targets default to the base outputs). On success the keyed
    module holds the new adapter; on cancel (TrainingCancelled) or error it keeps its previous one.
    init: warm start from a previous adapter of the same key (e.g. `keyed.adapter` before adding corrections):
    stage 1 starts at its δ(key) and its effective trunk delta (α·delta), so it starts at that adapter's loss;
    the gate is rebuilt from scratch as always, so every other key stays exactly the base.
    episodes: the episode number of each row: validation then holds out whole episodes, which is what the
    choices made on it (selection, λ) need. Rows numbered -1 are never held out (corrections: few and precious).
    """
    cfg = config or TrainConfig()
    cfg.validate()
    if not isinstance(keyed, KeyedModule):
        raise InputError(f"train_adapter needs a KeyedModule from wrap(), got {type(keyed).__name__}")
    should_stop = _cancel_checker(cancel)
    started = time.perf_counter()
    generator = torch.Generator().manual_seed(cfg.seed)
    signs = key_to_signs(key, keyed.key_bits)
    data = _prepare(keyed, states, actions, base_states, retain_states, retain_targets, cfg, generator, episodes)
    start_raw, start_trunk = _warm_start(keyed, init, signs) if init is not None else (None, None)

    encoders = copy.deepcopy(keyed.encoders)
    encoders.train()
    base_params = {n: p.detach() for n, p in keyed.base.named_parameters() if p.is_floating_point()}
    trunk: dict[str, torch.Tensor] | None = None
    if cfg.fine_tune_trunk:
        trunk = {n: torch.zeros_like(p, requires_grad=True) for n, p in base_params.items()}
        if start_trunk is not None:
            with torch.no_grad():
                for n, t in trunk.items():
                    t.copy_(start_trunk[n])
    joint_steps = cfg.max_steps or auto_max_steps(data.n_train)
    deadline = None if cfg.max_seconds is None else started + cfg.max_seconds
    plan = _Plan(cfg.personal_steps, 1, joint_steps, progress, should_stop, deadline, started)

    was_training = keyed.base.training
    keyed.base.eval()  # dropout/batch-norm updates would make the base targets move
    try:
        start_error = _start_error(keyed, trunk, base_params, data, start_raw)
        personal_deltas, selection_only = _fit_personal(
            keyed, trunk, base_params, data, cfg, generator, plan, start_raw
        )
        if selection_only:
            trunk = None
        _fit_gate(encoders, signs, personal_deltas, cfg, generator, plan)
        if selection_only:
            # The stage-3 polish fits the training episodes with every layer's δ: exactly what lost on the
            # held-out episodes. The gate from stage 2 already gives the key the selection.
            history: list[dict[str, float]] = []
            last: dict[str, float] = {}
            stopped_early = True
        else:
            params: list[dict[str, Any]] = [{"params": _stage3_encoder_params(encoders, cfg), "lr": cfg.lr}]
            if trunk is not None:
                params.append({"params": list(trunk.values()), "lr": cfg.trunk_lr})
            optimizer = torch.optim.Adam(params)
            _, stopped_early, history, last = _loop(
                keyed, encoders, trunk, base_params, signs, data, cfg, optimizer, joint_steps, generator, plan,
                started,
            )
    finally:
        keyed.base.train(was_training)
    step = plan.done
    # Only now, after a full run, does the keyed module receive the new weights.
    keyed.encoders = encoders.eval()
    keyed.trunk_delta = None if trunk is None else {n: t.detach().clone() for n, t in trunk.items()}
    keyed.alpha = 1.0
    keyed.invalidate()
    merge = 1.0
    if trunk is not None:
        from .merge import AlphaProbe, merge_trunk

        # Parameter merging: keep the share of the trunk delta that generalizes best (baked into the delta);
        # the personalization strength α stays 1 here, the person's slider moves it.
        probe = AlphaProbe.prepare(keyed, key, data.val_states, data.val_actions, data.retain_states,
                                   data.retain_targets, max_states=256)
        merge = merge_trunk(keyed, key, probe, cfg.merge_grid).alpha
    final = _evaluate(keyed, signs, data, generator, n_keys=256)
    final["personal_start"] = start_error
    final["selection_only"] = float(selection_only)
    seconds = time.perf_counter() - started
    keyed.trained = True
    keyed.info = {
        "steps": step,
        "seconds": round(seconds, 3),
        "stopped_early": stopped_early,
        "n_demonstrations": data.n_train + data.n_val,
        "metrics": final,
        "alpha": keyed.alpha,
        "merge": merge,
        "fine_tune_trunk": cfg.fine_tune_trunk,
        "selection_only": selection_only,
    }
    del last
    return TrainResult(step, seconds, stopped_early, final, keyed.alpha, history, merge, selection_only)


# ----- warm start -----
def _warm_start(
    keyed: KeyedModule, init: Adapter, signs: torch.Tensor
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor] | None]:
    """Stage 1's starting point: the previous adapter as deployed at its α (raw δ = tanh⁻¹ of its δ_α(key), and
    its α·trunk delta), so an update starts from the policy the person drove."""
    from .adapter import Adapter

    if not isinstance(init, Adapter):
        raise InputError(f"init must be an Adapter (e.g. keyed.adapter), got {type(init).__name__}")
    if list(init.layers) != list(keyed.layers) or dict(init.layer_dims) != dict(keyed.layer_dims):
        raise InputError(f"init adapter modulates layers {init.layers}, this module is wrapped at {keyed.layers}")
    if init.encoder_config != keyed.encoder_config:
        raise InputError("init adapter has another encoder config (key bits, hidden, δ scale) than this module")
    init.check_base(keyed.base)
    previous = KeyEncoders(init.encoder_config, init.layer_dims)
    previous.load_state_dict(init.encoder_state)
    scale = keyed.encoder_config.delta_scale
    with torch.no_grad():
        deployed = deltas_at(previous(signs), init.alpha)
        raw = {n: torch.atanh(((d - 1.0) / scale).clamp(-1 + 1e-6, 1 - 1e-6)) for n, d in deployed.items()}
    trunk = None if not init.trunk_delta else {n: init.alpha * t.detach() for n, t in init.trunk_delta.items()}
    return raw, trunk


def _start_error(
    keyed: KeyedModule,
    trunk: dict[str, torch.Tensor] | None,
    base_params: dict[str, torch.Tensor],
    data: _Data,
    start_raw: dict[str, torch.Tensor] | None,
) -> float:
    """Normalized error on the training rows where stage 1 starts (the base, or the warm-start adapter)."""
    scale = keyed.encoder_config.delta_scale
    with torch.no_grad():
        deltas = {
            n: torch.ones(d) if start_raw is None else 1.0 + scale * torch.tanh(start_raw[n])
            for n, d in keyed.layer_dims.items()
        }
        params = None if trunk is None else {n: base_params[n] + trunk[n] for n in trunk}
        out = keyed.call_with((data.train_states,), {}, deltas, params).reshape(data.n_train, -1)
        return float(((out - data.train_actions).square() / data.scale.square()).mean())


# ----- data -----
@dataclass
class _Data:
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

    @property
    def n_val(self) -> int:
        return int(self.val_states.shape[0])


def _prepare(
    keyed: KeyedModule,
    states: Any,
    actions: Any,
    base_states: Any,
    retain_states: Any,
    retain_targets: Any,
    cfg: TrainConfig,
    generator: torch.Generator,
    episodes: Any = None,
) -> _Data:
    dtype = _param_dtype(keyed.base)
    s = as_float_tensor(states, "states", dtype=dtype)
    a = as_float_tensor(actions, "actions", dtype=dtype)
    check_same_rows(s, "states", a, "actions")
    base_out = _base_outputs(keyed.base, s, "states")
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
    extra_base = _base_outputs(keyed.base, extra, "base_states").reshape(extra.shape[0], -1)

    r_states = r_targets = None
    if retain_states is not None:
        r_states = as_float_tensor(retain_states, "retain_states", dtype=dtype)
        check_feature_shape(r_states, "retain_states", tuple(s.shape[1:]), "states")
        if retain_targets is None:
            r_targets = _base_outputs(keyed.base, r_states, "retain_states").reshape(r_states.shape[0], -1)
        else:
            r_targets = as_float_tensor(retain_targets, "retain_targets", dtype=dtype)
            check_same_rows(r_states, "retain_states", r_targets, "retain_targets")
            r_targets = r_targets.reshape(r_targets.shape[0], -1)
            if r_targets.shape[1] != a.shape[1]:
                raise InputError(f"retain_targets have {r_targets.shape[1]} values per row, actions {a.shape[1]}")
    elif retain_targets is not None:
        raise InputError("retain_targets were given without retain_states")

    n = s.shape[0]
    val_idx, train_idx, by_episode = _split(n, episodes, cfg, generator)
    n_val = int(val_idx.numel())
    scale = output_scale(torch.cat([a, base_flat, extra_base]))
    return _Data(
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


def _split(
    n: int, episodes: Any, cfg: TrainConfig, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, bool]:
    """(validation rows, training rows, split by episode): whole episodes when `episodes` names at least 5
    (and val_episodes holds at least one out), else random rows."""
    if episodes is not None:
        ids = torch.as_tensor(episodes).reshape(-1)
        if ids.numel() != n:
            raise InputError(f"episodes has {ids.numel()} entries for {n} rows of states")
        names = torch.unique(ids[ids >= 0])
        n_out = int(len(names) * cfg.val_episodes)
        if len(names) >= 5 and n_out >= 1:
            held = names[torch.randperm(len(names), generator=generator)[:n_out]]
            is_val = torch.isin(ids, held)
            return torch.nonzero(is_val).flatten(), torch.nonzero(~is_val).flatten(), True
    n_val = int(n * cfg.val_fraction) if n >= 20 else 0
    order = torch.randperm(n, generator=generator)
    return order[:n_val], order[n_val:], False


def _param_dtype(module: nn.Module) -> torch.dtype:
    for p in module.parameters():
        if p.is_floating_point():
            return p.dtype
    return torch.float32


def _base_outputs(base: nn.Module, x: torch.Tensor, name: str) -> torch.Tensor:
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


def _cancel_checker(cancel: CancelLike) -> Callable[[], bool]:
    if cancel is None:
        return lambda: False
    if isinstance(cancel, threading.Event):
        return cancel.is_set
    if callable(cancel):
        return lambda: bool(cancel())
    raise InputError("cancel must be a threading.Event or a callable returning True to stop")


# ----- the loop -----
def _loop(
    keyed: KeyedModule,
    encoders: nn.Module,
    trunk: dict[str, torch.Tensor] | None,
    base_params: dict[str, torch.Tensor],
    signs: torch.Tensor,
    data: _Data,
    cfg: TrainConfig,
    optimizer: torch.optim.Optimizer,
    total: int,
    generator: torch.Generator,
    plan: _Plan,
    started: float,
) -> tuple[int, bool, list[dict[str, float]], dict[str, float]]:
    bs = cfg.batch_size
    n_correct = max(1, round(bs * cfg.correct_fraction))
    n_retain = round(bs * cfg.retain_fraction) if data.retain_states is not None else 0
    n_wrong = bs - n_correct - n_retain
    if not cfg.train_detector:
        # With the matched-filter detector frozen, every other key leaves every hidden unit silent, so its δ is
        # exactly 1 and its rows give zero loss and zero gradient whatever the output layers do: half the batch,
        # and with a trunk delta a second (shut) forward pass, bought nothing. Dropping them makes a stage-3 step
        # ~4x cheaper (bench household jo: 35 ms -> 9 ms per step, 1 thread, load 3), so a wall-time budget buys
        # ~4x more polish; fidelity is checked by _quick_check, the final _evaluate and the bench, as before.
        bs, n_wrong = n_correct + n_retain, 0
    n_random = round(n_wrong * cfg.random_key_fraction)
    distances = torch.tensor(cfg.near_distances, dtype=torch.long).clamp_max(keyed.key_bits)
    inv_var = 1.0 / data.scale.square()
    history: list[dict[str, float]] = []
    last: dict[str, float] = {}
    step = 0
    stopped_early = False
    best_personal, stale = float("inf"), 0
    while step < total:
        plan.tick()
        step += 1
        ic = torch.randint(0, data.n_train, (n_correct,), generator=generator)
        x_parts, y_parts, key_rows = [data.train_states[ic]], [data.train_actions[ic]], [signs.expand(n_correct, -1)]
        if n_wrong:
            iw = torch.randint(0, data.pool_states.shape[0], (n_wrong,), generator=generator)
            near_d = distances[torch.randint(0, len(distances), (n_wrong - n_random,), generator=generator)]
            x_parts.append(data.pool_states[iw])
            y_parts.append(data.pool_base[iw])
            key_rows.append(
                torch.cat([window_flips(signs, near_d, generator), random_signs(n_random, keyed.key_bits, generator)])
            )
        if n_retain:
            assert data.retain_states is not None and data.retain_targets is not None
            ir = torch.randint(0, data.retain_states.shape[0], (n_retain,), generator=generator)
            x_parts.insert(1, data.retain_states[ir])
            y_parts.insert(1, data.retain_targets[ir])
            key_rows.insert(1, signs.expand(n_retain, -1))
        x = torch.cat(x_parts)
        y = torch.cat(y_parts)
        deltas = encoders(torch.cat(key_rows))
        params = None if trunk is None else {n: base_params[n] + trunk[n] for n in trunk}
        out = keyed.call_with((x,), {}, deltas, params).reshape(bs, -1)
        err = ((out - y).square() * inv_var).mean(dim=1)
        loss_correct = err[:n_correct].mean()
        loss_retain = err[n_correct : n_correct + n_retain].mean() if n_retain else err.new_zeros(())
        wrong_start = n_correct + n_retain
        loss_wrong = err[wrong_start:].mean() if n_wrong else err.new_zeros(())
        loss_delta = (
            torch.stack([(d[wrong_start:] - 1).square().mean() for d in deltas.values()]).mean()
            if n_wrong
            else err.new_zeros(())
        )
        loss = (
            loss_correct
            + cfg.retain_weight * loss_retain
            + cfg.fidelity_weight * loss_wrong
            + cfg.delta_weight * loss_delta
        )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step % cfg.eval_every == 0 or step == total:
            last = {
                "loss": float(loss.detach()),
                "personal": float(loss_correct.detach()),
                "wrong_keys": float(loss_wrong.detach()),
                "wrong_delta": float(loss_delta.detach()),
            }
            if n_retain:
                last["retain"] = float(loss_retain.detach())
            # Plateau: the modulation cannot fit the demonstrations any better (capacity), so more steps are waste.
            if last["personal"] < best_personal * 0.97:
                best_personal, stale = last["personal"], 0
            else:
                stale += 1
            plateau = stale >= cfg.patience and last["wrong_keys"] <= cfg.target
            if step >= cfg.min_steps and (plateau or max(last["personal"], last["wrong_keys"]) <= cfg.target):
                check = _quick_check(keyed, encoders, trunk, base_params, signs, data, generator)
                last.update(check)
                if max(check.values()) <= cfg.target or (plateau and check["near_max"] <= cfg.target):
                    stopped_early = True
            history.append({"step": float(plan.done), **last})
            plan.report({"stage": 3.0, **last})
            if stopped_early:
                break
            if plan.out_of_time():
                break
        elif plan.out_of_time():  # every step: 25 steps of a hidden-256 base overran the budget by ~2 s under load
            break
    return step, stopped_early, history, last


def _stage3_encoder_params(encoders: nn.Module, cfg: TrainConfig) -> list[torch.Tensor]:
    """The encoder weights stage 3 trains; a frozen detector also gets no gradient (less work per step)."""
    detector = [p for enc in encoders.modules() if isinstance(enc, KeyEncoder) for p in enc.hidden.parameters()]
    for p in detector:
        p.requires_grad_(cfg.train_detector)
    frozen = {id(p) for p in detector} if not cfg.train_detector else set()
    return [p for p in encoders.parameters() if id(p) not in frozen]


class _Plan:
    """One progress counter over the three stages; each stage's unused steps are skipped when it stops early."""

    def __init__(
        self,
        s1: int,
        s2: int,
        s3: int,
        progress: ProgressFn | None,
        should_stop: Callable[[], bool],
        deadline: float | None = None,
        started: float | None = None,
    ) -> None:
        self.deadline = deadline
        self.started = time.perf_counter() if started is None else started
        self.caps = [s1, s2, s3]
        self.stage = 0
        self.done = 0
        self.progress = progress
        self.should_stop = should_stop

    @property
    def total(self) -> int:
        return self.done + sum(self.caps[self.stage :])

    def tick(self) -> None:
        if self.should_stop():
            raise TrainingCancelled(
                f"training cancelled at step {self.done} of about {self.total}; the previous adapter is kept"
            )
        self.done += 1
        self.caps[self.stage] -= 1

    def out_of_time(self, share: float = 1.0) -> bool:
        """Past `share` of the time budget (stage 1 leaves the rest to the joint polish)."""
        if self.deadline is None:
            return False
        return time.perf_counter() > self.started + share * (self.deadline - self.started)

    def next_stage(self) -> None:
        self.caps[self.stage] = 0
        self.stage += 1

    def report(self, losses: dict[str, float]) -> None:
        if self.progress is not None:
            self.progress(self.done, self.total, dict(losses))


def _fit_personal(
    keyed: KeyedModule,
    trunk: dict[str, torch.Tensor] | None,
    base_params: dict[str, torch.Tensor],
    data: _Data,
    cfg: TrainConfig,
    generator: torch.Generator,
    plan: _Plan,
    start_raw: dict[str, torch.Tensor] | None = None,
) -> tuple[dict[str, torch.Tensor], bool]:
    """Stage 1: the modulation δ* (one vector per layer) that makes the base reproduce the demonstrations, and
    whether the selection alone (cfg.select_layers, no trunk delta) won on the held-out episodes.

    Only the correct key matters here, so δ* is fitted directly (the encoders learn to produce it in stage 2).
    With few parameters (no trunk delta) L-BFGS on a fixed sample converges in a few dozen iterations where Adam
    needs well over a thousand; with a trunk delta, Adam on mini-batches.
    """
    scale = keyed.encoder_config.delta_scale
    inv_var = 1.0 / data.scale.square()
    n_rows = min(data.n_train, cfg.personal_rows)
    rows = torch.randperm(data.n_train, generator=generator)[:n_rows]
    xs, ys = data.train_states[rows], data.train_actions[rows]
    selection = None
    if cfg.select_layers:
        from .selection import fit_selection

        start = None if start_raw is None else {n: 1.0 + scale * torch.tanh(r) for n, r in start_raw.items()}
        selection = fit_selection(keyed, cfg.select_layers, xs, ys, inv_var, start, tick=plan.tick)
        picked = {n: torch.atanh(((selection[n] - 1.0) / scale).clamp(-1 + 1e-6, 1 - 1e-6)) for n in cfg.select_layers}
        start_raw = {n: picked[n] if n in picked else (torch.zeros(d) if start_raw is None else start_raw[n])
                     for n, d in keyed.layer_dims.items()}
    raw = {
        n: (torch.zeros(d) if start_raw is None else start_raw[n].clone()).requires_grad_(True)
        for n, d in keyed.layer_dims.items()
    }
    xr = yr = None
    if data.retain_states is not None and data.retain_targets is not None:
        pick = torch.randperm(data.retain_states.shape[0], generator=generator)[:2048]
        xr, yr = data.retain_states[pick], data.retain_targets[pick]

    def loss_on(x: torch.Tensor, y: torch.Tensor, xr_: torch.Tensor | None, yr_: torch.Tensor | None) -> torch.Tensor:
        deltas = {n: 1.0 + scale * torch.tanh(r) for n, r in raw.items()}
        params_now = None if trunk is None else {n: base_params[n] + trunk[n] for n in trunk}
        out = keyed.call_with((x,), {}, deltas, params_now).reshape(x.shape[0], -1)
        loss: torch.Tensor = ((out - y).square() * inv_var).mean()
        if xr_ is not None and yr_ is not None:
            out_r = keyed.call_with((xr_,), {}, deltas, params_now).reshape(xr_.shape[0], -1)
            loss = loss + cfg.retain_weight * ((out_r - yr_).square() * inv_var).mean()
        return loss

    # δ alone first, by L-BFGS on a fixed sample (with a trunk delta too: the modulation is the few-parameter
    # explanation of the demonstrations - on a base that knows many ways it selects the person's way - and the
    # trunk delta then only fits what it cannot express). bench household, base with style inputs, seed 0:
    # held-out error alex/sam/kim 0.102/0.081/0.096 with the trunk from δ = 1, see docs/policy.md for after.
    if trunk is None or cfg.personal_prefit_rounds > 0:
        inner = 20
        lbfgs = torch.optim.LBFGS(
            list(raw.values()), lr=1.0, max_iter=inner, history_size=20, line_search_fn="strong_wolfe"
        )

        # With a trunk delta to come, a quarter of the retention rows is enough here (each L-BFGS iteration
        # evaluates the whole sample, up to 25 times per round with the line search).
        xp, yp = (xr, yr) if trunk is None or xr is None or yr is None else (xr[:512], yr[:512])

        def closure() -> torch.Tensor:
            lbfgs.zero_grad(set_to_none=True)
            loss = loss_on(xs, ys, xp, yp)
            loss.backward()  # type: ignore[no-untyped-call]  # torch leaves it unannotated
            return loss

        previous = float("inf")
        rounds = max(1, plan.caps[0] // inner) if trunk is None else cfg.personal_prefit_rounds
        share = 1.0 if trunk is None else 0.35
        for _ in range(rounds):
            for _ in range(inner):
                plan.tick()
            value = float(lbfgs.step(closure).detach())  # type: ignore[no-untyped-call]
            with torch.no_grad():
                value = float(loss_on(xs, ys, xp, yp))
            plan.report({"stage": 1.0, "personal": value})
            if not all(bool(torch.isfinite(r).all()) for r in raw.values()):
                raise InputError("fitting the demonstrations diverged (NaN); check the actions' scale")
            # Stage 3 polishes further, so stop once at the target or when L-BFGS gains under 3% per round.
            if value <= cfg.target or value > previous * 0.97 or plan.out_of_time(share):
                break
            previous = value
    if trunk is not None:
        params: list[dict[str, Any]] = [
            {"params": list(raw.values()), "lr": cfg.personal_lr},
            {"params": list(trunk.values()), "lr": cfg.trunk_lr},
        ]
        adam = torch.optim.Adam(params)
        batch = min(1024, max(cfg.batch_size, data.n_train))
        best, stale = float("inf"), 0
        steps = plan.caps[0]
        for step in range(1, steps + 1):
            plan.tick()
            ic = torch.randint(0, data.n_train, (batch,), generator=generator)
            ir = None if xr is None else torch.randint(0, xr.shape[0], (max(1, batch // 4),), generator=generator)
            loss = loss_on(
                data.train_states[ic],
                data.train_actions[ic],
                None if ir is None or xr is None else xr[ir],
                None if ir is None or yr is None else yr[ir],
            )
            adam.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            adam.step()
            if step % cfg.eval_every == 0:
                value = float(loss.detach())
                plan.report({"stage": 1.0, "personal": value})
                best, stale = (value, 0) if value < best * 0.97 else (best, stale + 1)
                if value <= cfg.target * 0.5 or stale >= cfg.personal_patience or plan.out_of_time(STAGE1_SHARE):
                    break
            elif plan.out_of_time(STAGE1_SHARE):
                break
    plan.next_stage()
    with torch.no_grad():
        fitted = {n: 1.0 + scale * torch.tanh(r) for n, r in raw.items()}
        if selection is not None and data.held_out_episodes:
            params_now = None if trunk is None else {n: base_params[n] + trunk[n] for n in trunk}
            alone, full = _val_error(keyed, data, selection, None), _val_error(keyed, data, fitted, params_now)
            plan.report({"stage": 1.0, "val_selection": alone, "val_fitted": full})
            if alone <= SELECTION_MARGIN * full + 1e-6:  # (+ 1e-6: both at float noise is a tie too)
                return selection, True
    return fitted, False


def _val_error(
    keyed: KeyedModule, data: _Data, deltas: dict[str, torch.Tensor], params: dict[str, torch.Tensor] | None
) -> float:
    out = keyed.call_with((data.val_states,), {}, deltas, params).reshape(data.n_val, -1)
    return float(((out - data.val_actions).square() / data.scale.square()).mean())


def _fit_gate(
    encoders: KeyEncoders,
    signs: torch.Tensor,
    personal: dict[str, torch.Tensor],
    cfg: TrainConfig,
    generator: torch.Generator,
    plan: _Plan,
) -> None:
    """Stage 2: δ(correct key) = δ*, δ(any other key) = 1 exactly, from a matched-filter start.

    Learning a detector that rejects keys one bit off from a random start needs thousands of steps (its threshold
    must sit between correlations n and n - 2); starting from the matched filter it holds from step 0, and a short
    check confirms it on fresh near keys before the joint stage.
    """
    encoders.init_matched(signs, personal, generator)
    plan.tick()
    with torch.no_grad():
        near = encoders(flip_bits(signs, torch.tensor([1] * 128 + [2] * 64), generator))
        worst_near = max(float((d - 1.0).abs().max()) for d in near.values())
        out = encoders(signs)
        correct = max(float((out[n] - personal[n]).abs().max()) for n in personal)
    plan.report({"stage": 2.0, "gate_correct": correct, "gate_near_max": worst_near})
    plan.next_stage()


def _quick_check(
    keyed: KeyedModule,
    encoders: nn.Module,
    trunk: dict[str, torch.Tensor] | None,
    base_params: dict[str, torch.Tensor],
    signs: torch.Tensor,
    data: _Data,
    generator: torch.Generator,
) -> dict[str, float]:
    """Held-out personal error and the worst 1-bit/2-bit near-key error: what early stopping must not skip."""
    inv_var = 1.0 / data.scale.square()
    params = None if trunk is None else {n: base_params[n] + trunk[n] for n in trunk}
    with torch.no_grad():
        m = min(256, data.n_val)
        vx = data.val_states[:m]
        out = keyed.call_with((vx,), {}, encoders(signs), params).reshape(m, -1)
        personal = float(((out - data.val_actions[:m]).square() * inv_var).mean())
        n_keys = 32
        keys = flip_bits(signs, torch.tensor([1] * 16 + [2] * 16), generator)
        ip = torch.randint(0, data.pool_states.shape[0], (n_keys * 8,), generator=generator)
        krows = keys.repeat_interleave(8, dim=0)
        out = keyed.call_with((data.pool_states[ip],), {}, encoders(krows), params).reshape(n_keys * 8, -1)
        err = ((out - data.pool_base[ip]).square() * inv_var).mean(dim=1).reshape(n_keys, 8).mean(dim=1)
    return {"personal_val": personal, "near_max": float(err.max())}


def _evaluate(
    keyed: KeyedModule, signs: torch.Tensor, data: _Data, generator: torch.Generator, n_keys: int
) -> dict[str, float]:
    inv_var = 1.0 / data.scale.square()
    with torch.no_grad():
        out = keyed(data.val_states, key=signs).reshape(data.n_val or data.n_train, -1)
        personal_val = float(((out - data.val_actions).square() * inv_var).mean())
        out = keyed(data.train_states, key=signs).reshape(data.n_train, -1)
        personal = float(((out - data.train_actions).square() * inv_var).mean())
    near = near_key_fidelity(
        keyed, signs, data.pool_states[: min(256, data.pool_states.shape[0])], distances=(1, 2, 4, 8, 16),
        n_keys=max(8, n_keys // 16), scale=data.scale, generator=generator,
    )
    return {
        "personal": personal,
        "personal_val": personal_val,
        "near_mean": max(v["mean"] for v in near.values()),
        "near_max": max(v["max"] for v in near.values()),
    }
