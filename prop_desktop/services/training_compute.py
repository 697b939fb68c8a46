"""The heavy part of a training job, free of storage and keys: episodes + key in, adapter + report out.

With `init_adapter` (the profile's current adapter, as bytes) it is "Update my skill": a short retrain
warm-started from that adapter (prop.train_adapter(init=...)), correction recordings weighted up (see
prop_desktop/policy/corrections.py for the measured settings).
Runs in a child process (training_worker.py) so the GUI process never waits for the GIL while torch trains;
the same function also runs in-process (tests, scripts). Nothing here touches the disk.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from prop_desktop.services.models import AlphaMetrics, PrivacyReport, TrainingState

if TYPE_CHECKING:
    from prop_desktop.prop import TrainResult

ProgressFn = Callable[[TrainingState, int, int, dict[str, float], str], None]


class ComputeCancelled(Exception):
    pass


@dataclass
class TrainRequest:
    episodes: list[tuple[str, dict[str, np.ndarray], dict[str, Any]]]
    key: bytes = field(repr=False)
    policy_dir: str | None
    max_steps: int
    max_seconds: float | None
    fine_tune_trunk: bool = False
    other_keys: list[tuple[str, bytes]] = field(default_factory=list, repr=False)
    init_adapter: bytes | None = field(default=None, repr=False)  # warm start ("Update my skill")


@dataclass
class TrainOutcome:
    adapter: bytes
    alpha: float
    at_alpha: AlphaMetrics
    report: PrivacyReport
    steps: int
    train_seconds: float
    episode_ids: list[str]
    skipped: list[str]
    alpha_curve: list[AlphaMetrics]  # metrics on SLIDER_GRID, for the α slider without torch in the app
    error_before: float | None = None  # normalized error on the training rows where training started
    error_after: float | None = None  # ... and with the new adapter (what "Update my skill" changed)
    corrections: int = 0  # correction recordings among the episodes used
    # "Update my skill" found no improvement on the held-out recordings: the previous adapter is returned
    # unchanged, and error_before / error_after are those held-out errors (previous, what the update gave).
    kept_previous: bool = False


def compute(req: TrainRequest, progress: ProgressFn, cancelled: Callable[[], bool]) -> TrainOutcome:
    import torch

    from prop_desktop.policy.base import DEFAULT_PROP_LAYERS, load_base_policy, personalize_config
    from prop_desktop.prop import (
        AlphaProbe,
        TrainingCancelled,
        alpha_curve,
        choose_alpha,
        train_adapter,
        wrap,
    )
    from prop_desktop.services.alpha_curve import SLIDER_GRID
    from prop_desktop.services.privacy_report import privacy_report, to_metrics
    from prop_desktop.services.training_data import build_demo_set, reference_states, weight_corrections

    def check() -> None:
        if cancelled():
            raise ComputeCancelled()

    # One intra-op thread: our tensors are small, and with two OpenMP threads on a busy 2-core machine every
    # op waits for a descheduled peer (measured: a 2300-row forward pass 5 ms vs 58 ms).
    torch.set_num_threads(1)
    progress(TrainingState.PREPARING, 0, 0, {}, "Preparing your demonstrations…")
    demo = build_demo_set(req.episodes)
    check()
    base = copy.deepcopy(load_base_policy(req.policy_dir))
    progress(TrainingState.PREPARING, 0, 0, {}, "Preparing the general behaviour to keep…")
    base_states, retain = reference_states(demo)
    check()
    keyed = wrap(base, list(DEFAULT_PROP_LAYERS))
    config = personalize_config(max_steps=req.max_steps, min_steps=min(25, req.max_steps),
                                fine_tune_trunk=req.fine_tune_trunk, max_seconds=req.max_seconds)
    init = None
    states, actions, episodes = demo.states, demo.actions, demo.row_episodes()
    modes = {episode_id: meta.get("mode") for episode_id, _, meta in req.episodes}
    n_corrections = sum(modes.get(i) == "correction" for i in demo.episode_ids)
    if req.init_adapter is not None:
        from prop_desktop.policy.corrections import CORRECTION_WEIGHT, RETRAIN_SECONDS, retrain_config
        from prop_desktop.prop import Adapter

        init = Adapter.from_bytes(req.init_adapter, base)
        config = dataclasses.replace(retrain_config(seconds=req.max_seconds or RETRAIN_SECONDS),
                                     max_steps=req.max_steps, min_steps=min(25, req.max_steps),
                                     fine_tune_trunk=req.fine_tune_trunk)
        states, actions, episodes = weight_corrections(demo, modes, CORRECTION_WEIGHT)
    started = time.monotonic()
    progress(TrainingState.TRAINING, 0, req.max_steps, {}, "Training…")

    def on_step(step: int, total: int, losses: dict[str, float]) -> None:
        progress(TrainingState.TRAINING, step, total, losses, "Training…")

    try:
        result = train_adapter(keyed, states, actions, req.key, base_states=base_states,
                               retain_states=retain, config=config, progress=on_step, cancel=cancelled, init=init,
                               episodes=episodes)
    except TrainingCancelled:
        raise ComputeCancelled() from None
    if result.kept_previous and init is not None:
        keyed.load_adapter(init)
    train_seconds = time.monotonic() - started
    check()
    progress(TrainingState.EVALUATING, result.steps, result.steps, {}, "Checking privacy…")
    # α is chosen again on the person's own states (the engine chose on its validation split after a trunk
    # fine-tune): what the report, the slider and driving measure; the adapter stores it (Adapter.alpha).
    probe = AlphaProbe.prepare(keyed, req.key, demo.states, demo.actions, retain)
    chosen = choose_alpha(keyed, req.key, probe)
    keyed.set_alpha(chosen.alpha)
    check()
    report = privacy_report(keyed, req.key, probe, req.other_keys, cancelled=cancelled)
    if report is None:
        raise ComputeCancelled()
    curve = [to_metrics(point) for point in alpha_curve(keyed, req.key, probe, SLIDER_GRID)]
    return TrainOutcome(keyed.adapter.to_bytes(), chosen.alpha, to_metrics(chosen), report, result.steps,
                        train_seconds, demo.episode_ids, demo.skipped, curve, *_errors(result), n_corrections,
                        result.kept_previous)


def _errors(result: TrainResult) -> tuple[float | None, float | None]:
    """(before, after) for the person: on the training rows, or on the held-out ones when nothing changed."""
    if result.kept_previous:
        return result.metrics.get("val_previous"), result.metrics.get("val_new")
    return result.metrics.get("personal_start"), result.metrics.get("personal")
