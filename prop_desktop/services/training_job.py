"""Training a profile's PRoP adapter from chosen demonstrations, off the caller's thread.

`TrainingService.start(episode_ids)` returns a `TrainingJob`. The job builds the dataset (observation =
joint positions + task context as the base policy expects; action = the base policy's action format) from
the sealed episodes in memory, trains with the active profile's network key, reports `progress` (step,
total, ETA, losses) and ends with `finished` (a TrainingResult with the privacy report and the merge α).
`cancel()` takes effect within 1 s and the previous adapter stays untouched: the new adapter is written only
on success, sealed and atomically. After success, `evaluate_alpha(a)` recomputes the metrics for the slider
quickly (< 50 ms) and `apply_alpha(a)` saves the chosen α.
"""

from __future__ import annotations

from collections.abc import Sequence

from prop_desktop.services.events import Signal
from prop_desktop.services.models import AlphaMetrics, TrainingProgress, TrainingResult, TrainingState


class TrainingJob:
    def __init__(self) -> None:
        self.progress: Signal[TrainingProgress] = Signal("training.progress")
        self.finished: Signal[TrainingResult] = Signal("training.finished")

    @property
    def state(self) -> TrainingState:
        raise NotImplementedError

    def cancel(self) -> None:
        """Stop within 1 s; the previous adapter is kept. Safe from any thread, idempotent."""
        raise NotImplementedError

    def wait(self, timeout: float | None = None) -> TrainingResult | None:
        """Block until done (scripts/tests only)."""
        raise NotImplementedError

    def evaluate_alpha(self, alpha: float) -> AlphaMetrics:
        """Metrics at merge α in [0, 1] (fast, for the slider). Only after a successful run."""
        raise NotImplementedError

    def apply_alpha(self, alpha: float) -> AlphaMetrics:
        """Save α with the adapter (sealed, atomic); later drives use it."""
        raise NotImplementedError


class TrainingService:
    def __init__(self) -> None:
        self.job_started: Signal[TrainingJob] = Signal("training.job_started")

    def current(self) -> TrainingJob | None:
        raise NotImplementedError

    def start(self, episode_ids: Sequence[str] | None = None, steps: int | None = None) -> TrainingJob:
        """Train the active profile's adapter from `episode_ids` (None = all of its episodes)."""
        raise NotImplementedError
