"""Recording demonstrations: hand-guided (torque off, sample the joints) and point-and-click (move through
target poses with minimum-jerk interpolation while sampling). Episodes stay in memory; storage seals them.

An episode follows the shared convention: arrays t (N,) float64 seconds since the episode started (monotonic
clock), q (N,6) float32 measured radians, goal (N,6) float32 commanded radians (NaN when nothing was
commanded), and meta {task, profile_id, mode, rate_hz, joint_names, interrupted, fault, created, ...}.
If the arm faults mid-episode (unplugged, overheating, a servo stops answering) everything recorded up to the
fault is kept, meta["interrupted"] is True and meta["fault"] says what happened in plain words.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypedDict, Unpack

import numpy as np

from prop_desktop.arm.calibration import now_iso
from prop_desktop.arm.errors import describe_error
from prop_desktop.arm.loop import FixedRateLoop, LoopStats, LoopTick

if TYPE_CHECKING:
    from prop_desktop.arm.arm import Arm
    from prop_desktop.arm.teleop import Teleop

RECORDING_MODES = ("hand", "click", "leader")

log = logging.getLogger(__name__)

SampleCallback = Callable[["Sample"], None]
Cancel = Callable[[], bool] | threading.Event | None


class RecordingOptions(TypedDict, total=False):
    """The optional settings of a Recorder, for record_hand / record_click."""

    task: str
    profile_id: str | None
    max_speed: float
    settle_s: float
    on_sample: SampleCallback | None
    cancel: Cancel
    release_at_end: bool


@dataclass(frozen=True)
class Sample:
    """One recorded sample, as passed to live-plot callbacks."""

    index: int
    t: float
    q: np.ndarray
    goal: np.ndarray
    progress: float  # 0..1 for click mode and timed hand mode, NaN when open-ended


@dataclass
class Episode:
    """A recorded demonstration (in memory only)."""

    t: np.ndarray
    q: np.ndarray
    goal: np.ndarray
    meta: dict[str, object] = field(default_factory=dict)
    stats: LoopStats | None = None

    @property
    def arrays(self) -> dict[str, np.ndarray]:
        return {"t": self.t, "q": self.q, "goal": self.goal}

    def to_storage(self) -> tuple[dict[str, np.ndarray], dict[str, object]]:
        """(arrays, meta) exactly as storage expects them."""
        return self.arrays, dict(self.meta)

    def __len__(self) -> int:
        return int(self.t.shape[0])

    @property
    def duration_s(self) -> float:
        return float(self.t[-1]) if len(self) else 0.0

    @property
    def interrupted(self) -> bool:
        return bool(self.meta.get("interrupted"))

    def summary(self) -> str:
        s = f"{self.meta.get('mode')} episode '{self.meta.get('task')}': {len(self)} samples, {self.duration_s:.2f} s"
        if self.stats is not None and self.stats.ticks > 1:
            s += f", {self.stats.achieved_hz:.1f} Hz achieved (requested {self.stats.requested_hz:g})"
        if self.interrupted:
            s += f" -- INTERRUPTED: {self.meta.get('fault')}"
        return s


class _Buffer:
    def __init__(self, n_joints: int, capacity: int = 1024) -> None:
        self.n = 0
        self.t = np.zeros(capacity, dtype=np.float64)
        self.q = np.zeros((capacity, n_joints), dtype=np.float32)
        self.goal = np.zeros((capacity, n_joints), dtype=np.float32)

    def add(self, t: float, q: np.ndarray, goal: np.ndarray) -> None:
        if self.n == self.t.shape[0]:
            self.t = np.concatenate([self.t, np.zeros_like(self.t)])
            self.q = np.concatenate([self.q, np.zeros_like(self.q)])
            self.goal = np.concatenate([self.goal, np.zeros_like(self.goal)])
        self.t[self.n] = t
        self.q[self.n] = q
        self.goal[self.n] = goal
        self.n += 1

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.t[: self.n].copy(), self.q[: self.n].copy(), self.goal[: self.n].copy()


def _as_cancel(cancel: Cancel) -> Callable[[], bool] | None:
    if cancel is None:
        return None
    if isinstance(cancel, threading.Event):
        return cancel.is_set
    return cancel


def minimum_jerk(q0: np.ndarray, q1: np.ndarray, tau: float) -> np.ndarray:
    """Minimum-jerk interpolation from q0 to q1 at normalised time tau in [0, 1] (zero speed and acceleration
    at both ends: s = 10 tau^3 - 15 tau^4 + 6 tau^5)."""
    tau = min(max(tau, 0.0), 1.0)
    s = tau**3 * (10.0 - 15.0 * tau + 6.0 * tau * tau)
    q: np.ndarray = q0 + (q1 - q0) * s
    return q


def segment_duration(q0: np.ndarray, q1: np.ndarray, max_speed: float, min_duration: float = 0.3) -> float:
    """Seconds for a minimum-jerk move whose peak joint speed (1.875 * distance / T) stays under max_speed."""
    distance = float(np.max(np.abs(np.asarray(q1) - np.asarray(q0)))) if len(q0) else 0.0
    return max(min_duration, 1.875 * distance / max(max_speed, 1e-6))


class Recorder:
    """One recording; `run()` blocks, or `start()` runs it on a thread and `stop()` ends it early (from any thread).

    mode "hand": torque off, the joints are sampled until `seconds` pass or stop()/cancel.
    mode "click": torque on (goal = present), the arm moves through `targets` (joint poses in radians) with
    minimum-jerk interpolation, holding `settle_s` at the end; goals and measured joints are recorded.
    mode "leader": the arm (the follower) mirrors `leader`, a hand-held leader Arm (see teleop.py); q is the
    follower's measured joints, goal the leader's pose in radians (what the person commanded).
    """

    def __init__(
        self,
        arm: Arm,
        mode: str,
        *,
        targets: Sequence[np.ndarray] | None = None,
        seconds: float | None = None,
        rate_hz: float = 50.0,
        task: str = "",
        profile_id: str | None = None,
        max_speed: float = 0.8,
        settle_s: float = 0.3,
        on_sample: SampleCallback | None = None,
        cancel: Cancel = None,
        release_at_end: bool = False,
        leader: Arm | None = None,
    ) -> None:
        if mode not in RECORDING_MODES:
            raise ValueError(f"recording mode must be one of {', '.join(RECORDING_MODES)}, got {mode!r}")
        self._teleop: Teleop | None = None
        if mode == "leader":
            from prop_desktop.arm.teleop import Teleop

            if leader is None:
                raise ValueError("recording with the leader arm needs a connected leader arm")
            self._teleop = Teleop(arm, leader)
        if mode == "click":
            if not targets:
                raise ValueError("point-and-click recording needs at least one target pose")
            targets = [np.asarray(t, dtype=np.float64).reshape(-1) for t in targets]
            bad = [i for i, t in enumerate(targets) if t.shape != (arm.n_joints,) or not np.all(np.isfinite(t))]
            if bad:
                raise ValueError(
                    f"target pose(s) {bad} are not {arm.n_joints} finite joint angles in radians"
                )
        if seconds is not None and seconds <= 0:
            raise ValueError("recording length must be positive seconds")
        self.arm = arm
        self.mode = mode
        self.targets = list(targets or [])
        self.seconds = seconds
        self.rate_hz = float(rate_hz)
        self.task = task
        self.profile_id = profile_id
        self.max_speed = max_speed
        self.settle_s = settle_s
        self.on_sample = on_sample
        self.cancel = _as_cancel(cancel)
        self.release_at_end = release_at_end
        self.loop: FixedRateLoop | None = None
        self.episode: Episode | None = None
        self.error: BaseException | None = None  # what ended the recording on a fault (meta["fault"] says it)
        self._buffer = _Buffer(arm.n_joints)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._plan: list[tuple[float, float, np.ndarray, np.ndarray]] = []  # (t_start, t_end, q0, q1)
        self._end_t = seconds

    # -- control ---------------------------------------------------------------------------------------
    def stop(self) -> None:
        self._stop.set()
        if self.loop is not None:
            self.loop.stop()

    def start(self) -> threading.Thread:
        self._thread = threading.Thread(target=self.run, name=f"record-{self.mode}", daemon=True)
        self._thread.start()
        return self._thread

    def join(self, timeout: float | None = None) -> Episode | None:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.episode

    @property
    def samples(self) -> int:
        return self._buffer.n

    def stats(self) -> LoopStats | None:
        """Live loop statistics (achieved rate, jitter, misses) for the UI, from any thread; None before start."""
        return None if self.loop is None else self.loop.stats()

    # -- the recording ---------------------------------------------------------------------------------
    def run(self) -> Episode:
        fault: str | None = None
        stats: LoopStats | None = None
        try:
            if self.mode == "hand":
                self.arm.torque_off()
            elif self._teleop is not None:
                self._teleop.start()
            else:
                self._plan_moves(self.arm.torque_on())
            self.loop = FixedRateLoop(self._tick, self.rate_hz, name=f"record-{self.mode}")
            if self._stop.is_set():
                self.loop.stop()
            stats = self.loop.run(cancel=self.cancel)
            if self.loop.error is not None:
                self.error = self.loop.error
                fault = describe_error(self.loop.error)
        except Exception as exc:  # noqa: BLE001 - a fault before the loop started is reported the same way
            self.error = exc
            fault = describe_error(exc)
        if fault is not None:
            self.arm.release_torque(fault)
        elif self.mode in ("click", "leader") and self.release_at_end:
            self.arm.release_torque()
        if self._teleop is not None:
            self._teleop.stop()
        t, q, goal = self._buffer.arrays()
        meta: dict[str, object] = {
            "task": self.task,
            "profile_id": self.profile_id,
            "mode": self.mode,
            "rate_hz": self.rate_hz,
            "joint_names": list(self.arm.joint_names),
            "interrupted": fault is not None,
            "fault": fault,
            "created": now_iso(),
            "achieved_hz": None if stats is None else round(stats.achieved_hz, 3),
            "missed_deadlines": None if stats is None else stats.missed,
            "arm_model": self.arm.model.key,
            "calibrated": bool(self.arm.is_calibrated),
        }
        if self._teleop is not None:
            meta["leader_model"] = self._teleop.leader.model.key
            meta["leader_calibrated"] = bool(self._teleop.leader.is_calibrated)
        if self.mode == "click":
            meta["targets"] = [[float(x) for x in tgt] for tgt in self.targets]
        self.episode = Episode(t, q, goal, meta, stats)
        return self.episode

    def _plan_moves(self, q_start: np.ndarray) -> None:
        t = 0.0
        prev = np.asarray(q_start, dtype=np.float64)
        lo, hi = self.arm.lower, self.arm.upper
        for target in self.targets:
            target = np.clip(target, lo, hi)  # the arm clamps anyway; planning inside the range keeps it smooth
            duration = segment_duration(prev, target, self.max_speed)
            self._plan.append((t, t + duration, prev, target))
            t += duration
            prev = target
        self._end_t = t + self.settle_s

    def _planned_goal(self, t: float) -> np.ndarray:
        for t0, t1, q0, q1 in self._plan:
            if t < t1:
                return minimum_jerk(q0, q1, (t - t0) / (t1 - t0))
        return self._plan[-1][3]

    def _tick(self, tick: LoopTick) -> bool:
        if self._stop.is_set() or (self._end_t is not None and tick.t >= self._end_t):
            return False
        if self.mode == "hand":
            q = self.arm.read_joints()
            goal = np.full(self.arm.n_joints, np.nan)
        elif self._teleop is not None:
            q, goal, _ = self._teleop.step()
        else:
            q = self.arm.read_joints()
            goal = self.arm.command(self._planned_goal(tick.t))
        self._buffer.add(tick.t, q, goal)
        progress = float("nan") if self._end_t is None else min(1.0, tick.t / self._end_t)
        if self.on_sample is not None:
            try:
                self.on_sample(Sample(self._buffer.n - 1, tick.t, q, goal, progress))
            except Exception:  # noqa: BLE001 - a broken live plot must never stop a recording
                log.exception("a recording sample callback failed; recording goes on")
        return True


def record_hand(
    arm: Arm, *, seconds: float | None = None, rate_hz: float = 50.0, **options: Unpack[RecordingOptions]
) -> Episode:
    """Hand-guided recording (torque off) for `seconds` or until cancelled; returns the episode."""
    return Recorder(arm, "hand", seconds=seconds, rate_hz=rate_hz, **options).run()


def record_click(
    arm: Arm, targets: Sequence[np.ndarray], *, rate_hz: float = 50.0, **options: Unpack[RecordingOptions]
) -> Episode:
    """Point-and-click recording: move through `targets` (radians) smoothly while recording."""
    return Recorder(arm, "click", targets=targets, rate_hz=rate_hz, **options).run()
