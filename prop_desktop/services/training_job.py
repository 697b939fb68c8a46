"""Training a profile's PRoP adapter from chosen demonstrations, off the caller's thread.

`TrainingService.start(episode_ids)` returns a running `TrainingJob` at once. The job (a worker thread;
torch releases the GIL in its kernels and the engine's Python loop is short per step, so the GUI thread keeps
running — measured in tests/services) unseals the episodes in memory, builds the dataset in the base policy's
format (see training_data.py), trains with the active profile's network key, reports `progress` (step,
total, ETA, losses) and ends with `finished` (a TrainingResult with the privacy report and the merge α).
`cancel()` takes effect within 1 s and leaves the previous adapter untouched: the new adapter is written only
on success, sealed and atomically (storage's AdapterStore). After success, `evaluate_alpha(a)` recomputes the
slider's metrics quickly and `apply_alpha(a)` saves the chosen α with the adapter.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from prop_desktop.services.error_mapping import user_errors
from prop_desktop.services.errors import (
    BusyError,
    NoAdapterError,
    ServiceError,
    TrainingError,
)
from prop_desktop.services.events import Signal
from prop_desktop.services.models import (
    AlphaMetrics,
    PrivacyReport,
    TrainingProgress,
    TrainingResult,
    TrainingState,
)

if TYPE_CHECKING:
    from prop_desktop.services.policy_provider import PolicyProvider
    from prop_desktop.services.profile_service import ProfileService
    from prop_desktop.services.record_service import RecordService

DEFAULT_MAX_STEPS = 1500
DEFAULT_MAX_SECONDS = 45.0  # a UI run ends in well under a minute even on a busy 2-core machine


class _Cancelled(Exception):
    pass


class TrainingJob:
    def __init__(self, profiles: ProfileService, policy: PolicyProvider, profile_id: str,
                 episode_ids: Sequence[str] | None, max_steps: int, max_seconds: float | None) -> None:
        self.progress: Signal[TrainingProgress] = Signal("training.progress")
        self.finished: Signal[TrainingResult] = Signal("training.finished")
        self.profile_id = profile_id
        self._profiles = profiles
        self._policy = policy
        self._episode_ids = list(episode_ids) if episode_ids is not None else None
        self._max_steps = int(max_steps)
        self._max_seconds = max_seconds
        self._cancel = threading.Event()
        self._done = threading.Event()
        self._state = TrainingState.IDLE
        self._result: TrainingResult | None = None
        self._last_progress: TrainingProgress | None = None
        self._keyed: Any = None
        self._key: bytes | None = None
        self._report_data: Any = None
        self._base_hash: str | None = None
        self._adapter_meta: dict[str, Any] = {}
        self._started = 0.0
        self._train_started = 0.0
        self._thread = threading.Thread(target=self._run, name="training", daemon=True)

    # --- control -----------------------------------------------------------------------------------------
    def start(self) -> TrainingJob:
        self._started = time.monotonic()
        self._thread.start()
        return self

    @property
    def state(self) -> TrainingState:
        return self._state

    @property
    def running(self) -> bool:
        return not self._done.is_set()

    @property
    def last_progress(self) -> TrainingProgress | None:
        return self._last_progress

    @property
    def result(self) -> TrainingResult | None:
        return self._result

    def cancel(self) -> None:
        """Stop within 1 s; the previous adapter is kept. Safe from any thread, idempotent."""
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> TrainingResult | None:
        """Block until done (scripts/tests only, never the GUI thread)."""
        self._done.wait(timeout)
        return self._result

    # --- α slider ----------------------------------------------------------------------------------------
    def evaluate_alpha(self, alpha: float) -> AlphaMetrics:
        """Metrics at merge α in [0, 1] (fast, for the slider). Only after a successful run."""
        from prop_desktop.services.privacy_report import alpha_metrics

        keyed, key, data = self._trained()
        alpha = _check_alpha(alpha)
        return alpha_metrics(keyed, key, data, alpha)

    def apply_alpha(self, alpha: float) -> AlphaMetrics:
        """Save α with the adapter (sealed, atomic); later drives use it."""
        keyed, key, data = self._trained()
        alpha = _check_alpha(alpha)
        metrics = self.evaluate_alpha(alpha)
        if keyed.trunk_delta is not None:
            keyed.set_alpha(alpha)
        session = self._profiles.session(self.profile_id)
        meta = dict(self._adapter_meta, alpha=alpha)
        with user_errors():
            session.adapters.save(self._base_hash, keyed.adapter.to_bytes(), meta)
        self._adapter_meta = meta
        return metrics

    def _trained(self) -> tuple[Any, bytes, Any]:
        if self._state is not TrainingState.DONE or self._keyed is None or self._key is None:
            raise NoAdapterError("There is no finished training to adjust.", "Train first, then move the slider.")
        return self._keyed, self._key, self._report_data

    # --- the work ----------------------------------------------------------------------------------------
    def _emit(self, state: TrainingState, step: int = 0, total: int = 0, losses: dict[str, float] | None = None,
              message: str = "") -> None:
        self._state = state
        elapsed = time.monotonic() - self._started
        eta = None
        if state is TrainingState.TRAINING and step > 0 and total > step:
            elapsed_training = time.monotonic() - self._train_started
            eta = elapsed_training / step * (total - step)
            if self._max_seconds is not None:
                eta = min(eta, max(0.0, self._max_seconds - elapsed_training))
        progress = TrainingProgress(state, step, total, elapsed, eta, dict(losses or {}), message)
        self._last_progress = progress
        self.progress.emit(progress)

    def _check(self) -> None:
        if self._cancel.is_set():
            raise _Cancelled()

    def _run(self) -> None:
        from prop_desktop.prop import PropError, TrainConfig, TrainingCancelled, train_adapter, wrap

        try:
            self._emit(TrainingState.PREPARING, message="Unlocking your demonstrations…")
            session = self._profiles.session(self.profile_id)
            self._check()
            episodes = self._load_episodes(session)
            self._check()
            from prop_desktop.services.training_data import build_demo_set, reference_states

            demo = build_demo_set(episodes)
            self._emit(TrainingState.PREPARING, message="Preparing the general behaviour to keep…")
            base = copy.deepcopy(self._policy.model())  # our own copy: driving may use the shared one meanwhile
            base_hash = self._policy.hash()
            base_states, retain = reference_states(demo)
            self._check()
            from prop_desktop.policy.base import DEFAULT_PROP_LAYERS

            keyed = wrap(base, list(DEFAULT_PROP_LAYERS))
            key = bytes(session.network_key)
            config = TrainConfig(max_steps=self._max_steps, min_steps=min(200, self._max_steps),
                                 fine_tune_trunk=True, max_seconds=self._max_seconds, eval_every=25)
            self._train_started = time.monotonic()
            self._emit(TrainingState.TRAINING, 0, self._max_steps, message="Training…")

            def on_progress(step: int, total: int, losses: dict[str, float]) -> None:
                self._emit(TrainingState.TRAINING, step, total, losses, "Training…")

            result = train_adapter(keyed, demo.states, demo.actions, key, base_states=base_states,
                                   retain_states=retain, config=config, progress=on_progress,
                                   cancel=self._cancel)
            train_seconds = time.monotonic() - self._train_started
            self._check()
            self._emit(TrainingState.EVALUATING, result.steps, result.steps, message="Checking privacy…")
            report, data = self._report(keyed, key, demo, retain)
            self._check()
            meta = {
                "trained": datetime.now(UTC).isoformat(timespec="seconds"),
                "episodes": demo.episode_ids,
                "alpha": result.alpha,
                "steps": result.steps,
                "train_seconds": round(train_seconds, 2),
                "verdict": report.verdict,
                "right_key_score": round(report.right_key.score_mean, 4),
            }
            with user_errors():
                # Only now, after success, the new adapter replaces the old one (sealed, atomic rename).
                session.adapters.save(base_hash, keyed.adapter.to_bytes(), meta)
            self._keyed, self._key, self._report_data, self._base_hash = keyed, key, data, base_hash
            self._adapter_meta = meta
            from prop_desktop.services.privacy_report import alpha_metrics

            at_alpha = alpha_metrics(keyed, key, data, result.alpha)
            skipped = f" Left out: {'; '.join(demo.skipped)}." if demo.skipped else ""
            self._state = TrainingState.DONE
            message = f"Training finished in {train_seconds:.1f} s.{skipped}"
            self._finish(TrainingResult(True, TrainingState.DONE, message, train_seconds, result.alpha, at_alpha,
                                        report, tuple(demo.episode_ids)))
        except (_Cancelled, TrainingCancelled):
            self._state = TrainingState.CANCELLED
            self._finish(TrainingResult(False, TrainingState.CANCELLED,
                                        "Training was cancelled. Your previous personalization is unchanged."))
        except ServiceError as exc:
            self._state = TrainingState.FAILED
            self._finish(TrainingResult(False, TrainingState.FAILED, exc.user_message))
        except PropError as exc:
            self._state = TrainingState.FAILED
            self._finish(TrainingResult(False, TrainingState.FAILED, f"Training could not use the data: {exc}."))
        except Exception as exc:  # noqa: BLE001 - the worker must always report and finish
            self._state = TrainingState.FAILED
            self._finish(TrainingResult(False, TrainingState.FAILED, f"Training failed unexpectedly: {exc}"))

    def _load_episodes(self, session: Any) -> list[tuple[str, Any, Any]]:
        with user_errors():
            ids = self._episode_ids if self._episode_ids is not None else [i.id for i in session.episodes.list()]
        if not ids:
            raise TrainingError("This profile has no demonstrations yet.",
                                "Record a few on the Record page (three are enough to start), then train.")
        episodes = []
        for episode_id in ids:
            self._check()
            with user_errors():
                arrays, meta = session.episodes.load(episode_id)
            episodes.append((episode_id, arrays, meta))
        return episodes

    def _report(self, keyed: Any, key: bytes, demo: Any, retain: Any) -> tuple[PrivacyReport, Any]:
        from prop_desktop.services.privacy_report import prepare, privacy_report

        data = prepare(keyed, key, demo.states, demo.actions, retain)
        others = self._other_profile_keys()
        report = privacy_report(keyed, key, data, others, cancelled=self._cancel.is_set)
        if report is None:
            raise _Cancelled()
        return report, data

    def _other_profile_keys(self) -> list[tuple[str, bytes]]:
        """Other members' keys that open without a passphrase (a protected key is never asked for here)."""
        household = self._profiles.household
        out = []
        for profile in household.list_profiles():
            if profile.id == self.profile_id or profile.protected:
                continue
            try:
                out.append((profile.name, bytes(household.unlock(profile).network_key)))
            except Exception:  # noqa: BLE001 - a missing key just means one line less in the report
                continue
        return out

    def _finish(self, result: TrainingResult) -> None:
        self._result = result
        self._done.set()
        self.finished.emit(result)


def _check_alpha(alpha: float) -> float:
    from prop_desktop.services.errors import InvalidInputError

    alpha = float(alpha)
    if not (0.0 <= alpha <= 1.0):
        raise InvalidInputError(f"α must be between 0 and 1, got {alpha}.", "Move the slider within its range.")
    return alpha


class TrainingService:
    """Starts training jobs for the active profile (one at a time)."""

    def __init__(self, profiles: ProfileService, record: RecordService, policy: PolicyProvider) -> None:
        self.job_started: Signal[TrainingJob] = Signal("training.job_started")
        self._profiles = profiles
        self._record = record
        self._policy = policy
        self._job: TrainingJob | None = None
        self._lock = threading.Lock()

    def current(self) -> TrainingJob | None:
        return self._job

    def start(self, episode_ids: Sequence[str] | None = None, max_steps: int = DEFAULT_MAX_STEPS,
              max_seconds: float | None = DEFAULT_MAX_SECONDS) -> TrainingJob:
        """Train the active profile's adapter from `episode_ids` (None = all its episodes). Returns at once."""
        profile_id = self._profiles.active_id()
        if max_steps < 1:
            from prop_desktop.services.errors import InvalidInputError

            raise InvalidInputError("The number of training steps must be at least 1.")
        with self._lock:
            if self._job is not None and self._job.running:
                raise BusyError("Training is already running.", "Wait for it to finish or cancel it.")
            job = TrainingJob(self._profiles, self._policy, profile_id, episode_ids, max_steps, max_seconds)
            self._job = job
            job.start()
        self.job_started.emit(job)
        return job

    def cancel(self) -> None:
        job = self._job
        if job is not None:
            job.cancel()

    def wait(self, timeout: float | None = None) -> TrainingResult | None:
        job = self._job
        return None if job is None else job.wait(timeout)

    def adapter_info(self, profile_id: str | None = None) -> dict[str, Any] | None:
        """The stored adapter's metadata for the profile (trained when, α, episodes, verdict), or None."""
        session = self._profiles.session(profile_id)
        base_hash = self._policy.hash()
        with user_errors():
            if not session.adapters.has(base_hash):
                return None
            return dict(session.adapters.info(base_hash).meta)
