"""The training engine's knobs (`TrainConfig`) and what a run returns (`TrainResult`)."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from .errors import InputError

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
    # The range the base was trained over for the selection layers' numbers: the search stays inside it (the
    # household base's style numbers u ∈ [0, 2]; selection.py has the measurement).
    select_range: tuple[float, float] = (0.0, 2.0)
    # One-hot context columns that scope the adapter (the household policy's task id, policy.model.TASK_COLUMNS):
    # it keeps those its demonstrations set and runs the exact base on every other row (scope.py). () : unscoped.
    scope_columns: tuple[int, ...] = ()
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
            (self.select_range[0] <= 1.0 <= self.select_range[1],
             f"select_range must contain 1 (the base's own selection), got {self.select_range}"),
            (len(set(self.scope_columns)) == len(self.scope_columns) and all(c >= 0 for c in self.scope_columns),
             f"scope_columns must be distinct column numbers >= 0, got {self.scope_columns}"),
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
    # An update (init=...) that would have made the held-out demonstrations worse: nothing was installed, the
    # keyed module still holds the adapter it started from (metrics val_previous / val_new say by how much).
    kept_previous: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def auto_max_steps(n_rows: int) -> int:
    """More demonstration rows need more steps; early stopping usually ends far sooner."""
    return int(min(3000, 600 + n_rows // 4))


