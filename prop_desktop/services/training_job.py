"""Training a profile's PRoP adapter from chosen demonstrations, off the caller's thread.

`TrainingService.start(episode_ids)` returns a running `TrainingJob` at once. The job (a worker thread;
torch releases the GIL in its kernels and the engine's Python loop is short per step, so the GUI thread keeps
running — measured in tests/services) unseals the episodes in memory, builds the dataset in the base policy's
format (see training_data.py), trains with the active profile's network key, reports `progress` (step,
total, ETA, losses) and ends with `finished` (a TrainingResult with the privacy report and the chosen α).
`cancel()` takes effect within 1 s and leaves the previous adapter untouched: the new adapter is written only
on success, sealed and atomically (storage's AdapterStore), with the chosen α inside (Adapter.alpha). After
success, `evaluate_alpha(a)` gives the slider's metrics at once; `training.skills` (skill.py) reads and adjusts
the stored skill of any profile.
`TrainingService.update_skill()` ("Update my skill", after corrections): the same job warm-started from the
profile's current adapter (its bytes go to the worker through the pipe, never a file) with the short retrain
budget; the result says what changed (error on the person's recordings before/after, corrections used).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from prop_desktop.policy.tasks import TASK_NAMES, scope_tasks, tasks_in_words
from prop_desktop.prop.adapter_format import adapter_scope
from prop_desktop.services.background import BackgroundRun
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
    TrainingProgress,
    TrainingResult,
    TrainingState,
)
from prop_desktop.services.skill import Skills, check_alpha, skill_meta

if TYPE_CHECKING:
    from prop_desktop.services.policy_provider import PolicyProvider
    from prop_desktop.services.profile_service import ProfileService
    from prop_desktop.services.record_service import RecordService

log = logging.getLogger(__name__)
DEFAULT_MAX_STEPS = 1500
DEFAULT_MAX_SECONDS = 45.0  # a UI run ends in well under a minute even on a busy 2-core machine


class _Cancelled(Exception):
    pass


class TrainingJob:
    def __init__(self, profiles: ProfileService, policy: PolicyProvider, profile_id: str,
                 episode_ids: Sequence[str] | None, max_steps: int, max_seconds: float | None,
                 fine_tune_trunk: bool = False, in_process: bool = False, warm_start: bool = False) -> None:
        self.progress: Signal[TrainingProgress] = Signal("training.progress")
        self.finished: Signal[TrainingResult] = Signal("training.finished")
        self.profile_id = profile_id
        self._profiles = profiles
        self._policy = policy
        self._episode_ids = list(episode_ids) if episode_ids is not None else None
        self._max_steps = int(max_steps)
        self._max_seconds = max_seconds
        self._fine_tune_trunk = fine_tune_trunk
        self._in_process = in_process
        self._warm_start = warm_start
        self._child: Any = None
        self._state = TrainingState.IDLE
        self._result: TrainingResult | None = None
        self._last_progress: TrainingProgress | None = None
        self._curve: list[AlphaMetrics] = []
        self._started = 0.0
        self._train_started = 0.0
        self._background = BackgroundRun(lambda _run: self._work(), "training")
        self._background.on_cancel(self._terminate_child)

    # --- control -----------------------------------------------------------------------------------------
    def start(self) -> TrainingJob:
        self._started = time.monotonic()
        self._background.start()
        return self

    @property
    def state(self) -> TrainingState:
        return self._state

    @property
    def running(self) -> bool:
        return self._background.running

    @property
    def cancelling(self) -> bool:
        """Cancel was asked for and the job has not ended yet."""
        return self._background.cancelled and self._background.running

    @property
    def last_progress(self) -> TrainingProgress | None:
        return self._last_progress

    @property
    def result(self) -> TrainingResult | None:
        return self._result

    def cancel(self) -> None:
        """Stop within 1 s; the previous adapter is kept. Safe from any thread, idempotent."""
        self._background.cancel()

    def _terminate_child(self) -> None:
        child = self._child
        if child is not None and child.poll() is None:
            child.terminate()  # the worker holds nothing worth saving; the parent saves only on success

    def wait(self, timeout: float | None = None) -> TrainingResult | None:
        """Block until done (scripts/tests only, never the GUI thread)."""
        self._background.wait(timeout)
        return self._result

    # --- α slider ----------------------------------------------------------------------------------------
    def evaluate_alpha(self, alpha: float) -> AlphaMetrics:
        """Metrics at merge α in [0, 1], for the slider: instant (interpolated on a curve the training measured
        at α = 0, 0.05, …, 1). Only after a successful run."""
        from prop_desktop.services.alpha_curve import interpolate

        return interpolate(self._trained(), check_alpha(alpha))

    def alpha_curve(self) -> list[AlphaMetrics]:
        """The measured curve (α = 0, 0.05, …, 1) for plotting next to the slider."""
        return list(self._trained())

    def _trained(self) -> list[AlphaMetrics]:
        if self._state is not TrainingState.DONE or not self._curve:
            raise NoAdapterError("There is no finished training to adjust.", "Train first, then move the slider.")
        return self._curve

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
        if self._background.cancelled:
            raise _Cancelled()

    def _work(self) -> None:
        from prop_desktop.services.training_compute import TrainRequest

        try:
            self._emit(TrainingState.PREPARING, message="Unlocking your demonstrations…")
            session = self._profiles.session(self.profile_id)
            self._check()
            base_hash = self._policy.hash()
            init_adapter = self._current_adapter() if self._warm_start else None
            episodes = self._load_episodes(session)
            self._check()
            request = TrainRequest(
                episodes=episodes,
                key=bytes(session.network_key),
                policy_dir=None if self._policy.path is None else str(self._policy.path),
                max_steps=self._max_steps,
                max_seconds=self._max_seconds,
                fine_tune_trunk=self._fine_tune_trunk,
                other_keys=self._other_profile_keys(),
                init_adapter=init_adapter,
            )
            outcome = self._compute(request)
            self._check()
            meta = {
                "trained": datetime.now(UTC).isoformat(timespec="seconds"),
                "episodes": outcome["episode_ids"],
                "steps": outcome["steps"],
                "train_seconds": round(outcome["train_seconds"], 2),
                "verdict": outcome["report"].verdict,
                "right_key_score": round(outcome["report"].right_key.score_mean, 4),
                **skill_meta(outcome["report"], outcome["alpha_curve"]),
                "corrections": outcome["corrections"],
                "updated": self._warm_start,
            }
            if not outcome["kept_previous"]:
                with user_errors():
                    # Only now, after success, the new adapter replaces the old one (sealed, atomic rename).
                    session.adapters.save(base_hash, outcome["adapter"], meta)
            self._curve = list(outcome["alpha_curve"])  # what the α slider needs (no torch in this process)
            skipped = f" Left out: {'; '.join(outcome['skipped'])}." if outcome["skipped"] else ""
            message = f"{self._what_changed(outcome)}{skipped}"
            self._state = TrainingState.DONE
            self._finish(TrainingResult(True, TrainingState.DONE, message, outcome["train_seconds"],
                                        outcome["alpha"], outcome["at_alpha"], outcome["report"],
                                        tuple(outcome["episode_ids"]), outcome["error_before"],
                                        outcome["error_after"], outcome["corrections"], self._warm_start,
                                        outcome["kept_previous"]))
        except _Cancelled:
            self._state = TrainingState.CANCELLED
            self._finish(TrainingResult(False, TrainingState.CANCELLED,
                                        "Training was cancelled. Your previous personalization is unchanged."))
        except ServiceError as exc:
            log.warning("training failed: %s", exc.user_message)
            self._state = TrainingState.FAILED
            self._finish(TrainingResult(False, TrainingState.FAILED, exc.user_message))
        except Exception as exc:  # noqa: BLE001 - the worker must always report and finish
            log.exception("training failed unexpectedly")
            self._state = TrainingState.FAILED
            self._finish(TrainingResult(False, TrainingState.FAILED, f"Training failed unexpectedly: {exc}"))

    def _current_adapter(self) -> bytes:
        """The adapter "Update my skill" starts from; it stays the stored one until the new one is saved."""
        stored = Skills(self._profiles, self._policy).stored(self.profile_id)
        if stored is None:
            raise NoAdapterError("There is no trained skill to update yet.",
                                 "Train on your recordings on the Train page first.")
        return stored[0]

    def _what_changed(self, outcome: dict[str, Any]) -> str:
        n, c = len(outcome["episode_ids"]), outcome["corrections"]
        used = f"{n} recording{'s' if n != 1 else ''}" + (f" ({c} correction{'s' if c != 1 else ''})" if c else "")
        done = "Skill updated" if self._warm_start else "Training finished"
        before, after = outcome["error_before"], outcome["error_after"]
        if outcome["kept_previous"]:
            return (f"Your skill stays as it was: updating it from {used} would have made it worse at recordings it "
                    f"had not seen (error {before:.3f} → {after:.3f}). Record one more demonstration of the task "
                    "done your way, where the arm went wrong, then update again.")
        text = f"{done} in {outcome['train_seconds']:.1f} s from {used}."
        if before is not None and after is not None:
            start = "the previous skill" if self._warm_start else "the general way"
            text += f" Error on your recordings: {before:.3f} with {start}, {after:.3f} now."
        covered = scope_tasks(adapter_scope(outcome["adapter"]))
        if covered is not None and len(covered) < len(TASK_NAMES):
            text += (f" Your way covers what you showed ({tasks_in_words(covered)}); the other tasks stay the general "
                     "way.")
        return text

    def _compute(self, request: Any) -> dict[str, Any]:
        """Run the heavy part in a child process (default) or, when frozen or asked to, on this thread."""
        if self._in_process:
            return self._compute_here(request)
        return self._compute_in_child(request)

    def _progress(self, state: TrainingState, step: int, total: int, losses: dict[str, float], message: str) -> None:
        if state is TrainingState.TRAINING and step == 0:
            self._train_started = time.monotonic()
        self._emit(state, step, total, losses, message)

    def _compute_here(self, request: Any) -> dict[str, Any]:
        from prop_desktop.prop import PropError
        from prop_desktop.services.training_compute import ComputeCancelled, compute

        try:
            out = compute(request, self._progress, self._background.is_cancelled)
        except ComputeCancelled:
            raise _Cancelled() from None
        except PropError as exc:
            raise TrainingError(f"Training could not use the data: {exc}.") from exc
        return {"adapter": out.adapter, "alpha": out.alpha, "at_alpha": out.at_alpha, "report": out.report,
                "steps": out.steps, "train_seconds": out.train_seconds, "episode_ids": out.episode_ids,
                "skipped": out.skipped, "alpha_curve": out.alpha_curve, "error_before": out.error_before,
                "error_after": out.error_after, "corrections": out.corrections, "kept_previous": out.kept_previous}

    def _compute_in_child(self, request: Any) -> dict[str, Any]:
        import os
        import subprocess
        import sys

        from prop_desktop.services import training_wire as wire

        arrays: dict[str, Any] = {}
        episodes = []
        for i, (episode_id, ep_arrays, meta) in enumerate(request.episodes):
            arrays.update({f"{i}.{k}": v for k, v in ep_arrays.items()})
            episodes.append({"id": episode_id, "meta": meta})
        if request.init_adapter is not None:
            import numpy as np

            arrays["init_adapter"] = np.frombuffer(request.init_adapter, dtype=np.uint8)
        header = {
            "episodes": episodes,
            "key": request.key.hex(),
            "policy_dir": request.policy_dir,
            "max_steps": request.max_steps,
            "max_seconds": request.max_seconds,
            "fine_tune_trunk": request.fine_tune_trunk,
            "other_keys": [[name, k.hex()] for name, k in request.other_keys],
        }
        env = dict(os.environ, OMP_NUM_THREADS="1")
        child = subprocess.Popen([sys.executable, "-m", "prop_desktop.services.training_worker"],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self._child = child
        try:
            if self._background.cancelled:
                raise _Cancelled()
            assert child.stdin is not None and child.stdout is not None
            try:
                wire.write_frame(child.stdin, header, wire.pack_arrays(arrays))
                child.stdin.close()
            except (BrokenPipeError, OSError):
                pass  # the child died or was cancelled; its stdout tells which
            while True:
                try:
                    frame, body = wire.read_frame(child.stdout)
                except EOFError:
                    if self._background.cancelled:
                        raise _Cancelled() from None
                    raise TrainingError("The training process stopped unexpectedly.", "Try again.") from None
                kind = frame.get("type")
                if kind == "progress":
                    self._progress(TrainingState(frame["state"]), int(frame["step"]), int(frame["total"]),
                                   frame.get("losses") or {}, frame.get("message", ""))
                elif kind == "cancelled":
                    raise _Cancelled()
                elif kind == "error":
                    if frame.get("kind") == "prop":
                        raise TrainingError(f"Training could not use the data: {frame['message']}.")
                    raise TrainingError(frame["message"], frame.get("fix"))
                elif kind == "done":
                    got = wire.unpack_arrays(body)
                    return {
                        "adapter": got.pop("adapter").tobytes(),
                        "alpha": float(frame["alpha"]),
                        "at_alpha": wire.alpha_from_json(frame["at_alpha"]),
                        "report": wire.report_from_json(frame["report"]),
                        "steps": int(frame["steps"]),
                        "train_seconds": float(frame["train_seconds"]),
                        "episode_ids": list(frame["episode_ids"]),
                        "skipped": list(frame["skipped"]),
                        "alpha_curve": [wire.alpha_from_json(m) for m in frame["alpha_curve"]],
                        "error_before": frame.get("error_before"),
                        "error_after": frame.get("error_after"),
                        "corrections": int(frame.get("corrections", 0)),
                        "kept_previous": bool(frame.get("kept_previous", False)),
                    }
        finally:
            self._stop_child()

    def _stop_child(self) -> None:
        import subprocess

        child, self._child = self._child, None
        if child is None:
            return
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=1.0)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(timeout=5.0)
        for stream in (child.stdin, child.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass

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
        self._background.finish()
        self.finished.emit(result)


class TrainingService:
    """Starts training jobs for the active profile (one at a time)."""

    def __init__(self, profiles: ProfileService, record: RecordService, policy: PolicyProvider) -> None:
        self.job_started: Signal[TrainingJob] = Signal("training.job_started")
        self._profiles = profiles
        self._record = record
        self._policy = policy
        self._job: TrainingJob | None = None
        self._lock = threading.Lock()
        self.skills = Skills(profiles, policy)  # the stored skill of any profile: report, α, α slider

    def current(self) -> TrainingJob | None:
        return self._job

    def start(self, episode_ids: Sequence[str] | None = None, max_steps: int = DEFAULT_MAX_STEPS,
              max_seconds: float | None = DEFAULT_MAX_SECONDS, fine_tune_trunk: bool = True,
              in_process: bool | None = None, warm_start: bool = False) -> TrainingJob:
        """Train the active profile's adapter from `episode_ids` (None = all its episodes). Returns at once.

        `fine_tune_trunk` (default) also learns a trunk delta, merged as base + α·delta and gated by the key
        (wrong keys run the base trunk exactly). Measured on `bench household` (seed 0): closed-loop success
        with the key 75 / 83 / 92 % with it, 8 / 25 / 100 % with the key encoders alone; wrong keys 0.000.
        `in_process` runs the heavy part on the job's thread instead of a child process (default: a child
        process, except in a frozen bundle, where `python -m` is not available). `warm_start`: see update_skill.
        """
        import sys

        if in_process is None:
            in_process = bool(getattr(sys, "frozen", False))
        profile_id = self._profiles.active_id()
        if max_steps < 1:
            from prop_desktop.services.errors import InvalidInputError

            raise InvalidInputError("The number of training steps must be at least 1.")
        with self._lock:
            if self._job is not None and self._job.running:
                raise BusyError("Training is already running.", "Wait for it to finish or cancel it.")
            job = TrainingJob(self._profiles, self._policy, profile_id, episode_ids, max_steps, max_seconds,
                              fine_tune_trunk, in_process, warm_start)
            self._job = job
            job.start()
        self.job_started.emit(job)
        return job

    def update_skill(self, in_process: bool | None = None) -> TrainingJob:
        """"Update my skill": retrain on all the active profile's recordings (corrections included, weighted up),
        warm-started from its current adapter with the short retrain budget (policy/corrections.py). Returns at
        once; the previous adapter stays until the new one is saved (cancel or failure change nothing)."""
        return self.start(None, max_seconds=None, in_process=in_process, warm_start=True)

    def cancel(self) -> None:
        job = self._job
        if job is not None:
            job.cancel()

    def wait(self, timeout: float | None = None) -> TrainingResult | None:
        job = self._job
        return None if job is None else job.wait(timeout)
