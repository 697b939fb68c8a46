"""A fixed-rate loop: run a step function at a requested rate and measure how well the rate was kept.

Scheduling is by absolute deadlines (t0 + k * period), never "sleep one period after the step", so the rate
does not drift by the step's own duration. We sleep until shortly before the deadline and spin the last
fraction of a millisecond, because a plain sleep on Linux often wakes 0.1-1 ms late. Timestamps come from
time.monotonic at the moment the tick starts, never from index * period: a loop that runs slow shows it.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

from prop_desktop.arm.errors import describe_error

if TYPE_CHECKING:
    from prop_desktop.arm.arm import Arm

log = logging.getLogger(__name__)

DEFAULT_RATE_HZ = 50.0
DEFAULT_SPIN_S = 0.0003
_KEEP_PERIODS = 200_000  # stats are over the most recent ticks; bounded so hour-long drives stay small


@dataclass(frozen=True)
class LoopTick:
    """What a step function is told about the current tick."""

    index: int
    t: float  # seconds since the loop started, from time.monotonic at the start of this tick
    dt: float  # seconds since the previous tick started (the nominal period on the first tick)
    period: float  # the nominal period


@dataclass
class LoopStats:
    """How well a loop kept its rate. Jitter is |actual period - nominal period| between tick starts."""

    requested_hz: float
    ticks: int = 0
    duration_s: float = 0.0
    achieved_hz: float = 0.0
    jitter_p50_ms: float = 0.0
    jitter_p99_ms: float = 0.0
    jitter_max_ms: float = 0.0
    late_p99_ms: float = 0.0  # how late ticks started relative to their deadline
    missed: int = 0  # deadlines skipped because a step overran
    stopped_by: str = "running"  # "running", "stop", "step", "duration", "cancel", "error"
    error: str | None = None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


Step = Callable[[LoopTick], "bool | None"]


def request_realtime(priority: int = 20) -> str | None:
    """Ask the OS to run the calling thread with real-time (SCHED_FIFO) priority, as robot control loops do.

    Returns None on success, else a plain reason (not Linux, or not allowed: it needs root or an rtprio
    limit in /etc/security/limits.conf). The loop works without it; it only cuts jitter on a busy machine.
    """
    setter = getattr(os, "sched_setscheduler", None)
    if setter is None:
        return "real-time priority is only available on Linux"
    try:
        setter(0, os.SCHED_FIFO, os.sched_param(priority))
    except OSError as exc:
        return f"real-time priority not allowed ({exc.strerror}); run as root or grant an rtprio limit"
    return None


class FixedRateLoop:
    """Run `step(tick)` at `rate_hz` until it returns False, `stop()` is called, `cancel()` says so, or time is up.

    An exception in the step stops the loop: `on_error(exc)` runs (e.g. to release torque), the exception is
    kept in `self.error` and reported in the stats; `run()` does not raise it, so callers decide.
    """

    def __init__(
        self,
        step: Step,
        rate_hz: float = DEFAULT_RATE_HZ,
        *,
        spin_s: float = DEFAULT_SPIN_S,
        on_error: Callable[[BaseException], None] | None = None,
        name: str = "arm-loop",
        realtime: bool = False,
    ) -> None:
        if not (rate_hz > 0 and math.isfinite(rate_hz)):
            raise ValueError(f"loop rate must be a positive number of Hz, got {rate_hz!r}")
        self.step = step
        self.rate_hz = float(rate_hz)
        self.period = 1.0 / self.rate_hz
        self.spin_s = max(0.0, float(spin_s))
        self.on_error = on_error
        self.name = name
        self.realtime = realtime
        self.realtime_note: str | None = None  # why real-time priority was not granted, when asked for
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._periods: deque[float] = deque(maxlen=_KEEP_PERIODS)
        self._late: deque[float] = deque(maxlen=_KEEP_PERIODS)
        self._ticks = 0
        self._missed = 0
        self._t0 = 0.0
        self._t_last = 0.0
        self._stopped_by = "running"

    # -- control ---------------------------------------------------------------------------------------
    def stop(self) -> None:
        """Ask the loop to stop after the current tick (callable from any thread)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def start(self, duration_s: float | None = None, cancel: Callable[[], bool] | None = None) -> threading.Thread:
        """Run the loop on a daemon thread; `join()` waits for it and returns the stats."""
        if self._thread is not None and self._thread.is_alive():
            raise RuntimeError("this loop is already running")
        self._thread = threading.Thread(target=self.run, args=(duration_s, cancel), name=self.name, daemon=True)
        self._thread.start()
        return self._thread

    def join(self, timeout: float | None = None) -> LoopStats:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.stats()

    # -- the loop --------------------------------------------------------------------------------------
    def run(self, duration_s: float | None = None, cancel: Callable[[], bool] | None = None) -> LoopStats:
        """Run in the calling thread until stopped; returns the stats."""
        period = self.period
        clock = time.monotonic
        if self.realtime:
            self.realtime_note = request_realtime()
        self._stop.clear()
        self._stopped_by = "running"
        self._t0 = t0 = clock()
        end = t0 + duration_s if duration_s is not None else math.inf
        deadline = t0
        prev_start: float | None = None
        index = 0
        try:
            while True:
                if self._stop.is_set():
                    self._stopped_by = "stop"
                    break
                if cancel is not None and cancel():
                    self._stopped_by = "cancel"
                    break
                self._wait_until(deadline)
                if self._stop.is_set():
                    self._stopped_by = "stop"
                    break
                start = clock()
                if start >= end:
                    self._stopped_by = "duration"
                    break
                dt = period if prev_start is None else start - prev_start
                if prev_start is not None:
                    self._periods.append(dt)
                self._late.append(start - deadline)
                prev_start = start
                self._t_last = start
                self._ticks = index + 1
                keep_going = self.step(LoopTick(index, start - t0, dt, period))
                index += 1
                if keep_going is False:
                    self._stopped_by = "step"
                    break
                deadline += period
                now = clock()
                if now > deadline:
                    # Overran one or more slots: skip them (no catch-up burst) and keep the original phase.
                    skipped = math.floor((now - deadline) / period) + 1
                    self._missed += skipped
                    deadline += skipped * period
        except BaseException as exc:  # noqa: BLE001 - any failure in a step must stop the arm safely
            self.error = exc
            self._stopped_by = "error"
            if self.on_error is not None:
                try:
                    self.on_error(exc)
                except Exception:  # noqa: BLE001 - the original error is the one to report
                    pass
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
        return self.stats()

    def _wait_until(self, deadline: float) -> None:
        clock = time.monotonic
        remaining = deadline - clock()
        while remaining > self.spin_s:
            if remaining > 0.005:
                # Long waits on the stop event, so stop() is honoured at once even at slow rates.
                if self._stop.wait(min(remaining - 0.002, 0.05)):
                    return
            else:
                time.sleep(remaining - self.spin_s)
            remaining = deadline - clock()
        while clock() < deadline:
            pass

    # -- statistics ------------------------------------------------------------------------------------
    def stats(self) -> LoopStats:
        """A snapshot of the statistics so far (safe to call from another thread while running)."""
        # deque.copy() is atomic under the GIL; iterating the live deque could race with the loop's appends.
        periods = np.fromiter(self._periods.copy(), dtype=np.float64)
        late = np.fromiter(self._late.copy(), dtype=np.float64)
        stats = LoopStats(requested_hz=self.rate_hz, ticks=self._ticks, missed=self._missed)
        stats.stopped_by = self._stopped_by
        stats.error = None if self.error is None else describe_error(self.error)
        if self._ticks:
            stats.duration_s = self._t_last - self._t0
        if periods.size:
            stats.achieved_hz = float(periods.size / periods.sum())
            err_ms = np.abs(periods - self.period) * 1e3
            stats.jitter_p50_ms = float(np.percentile(err_ms, 50))
            stats.jitter_p99_ms = float(np.percentile(err_ms, 99))
            stats.jitter_max_ms = float(err_ms.max())
        if late.size:
            stats.late_p99_ms = float(np.percentile(late, 99) * 1e3)
        return stats


@dataclass(frozen=True)
class DriveTick:
    """What a drive loop reports each tick (for live plots)."""

    index: int
    t: float
    q: np.ndarray  # measured joints, radians
    goal: np.ndarray  # the safe goal actually sent, radians
    policy_ms: float  # time spent in the policy step


class DriveLoop:
    """Closed-loop driving: read joints -> policy_step(q) -> safe write, at a fixed rate.

        drive = DriveLoop(arm, policy_step, rate_hz=50)
        drive.start(); ...; drive.stop(); stats = drive.join()

    `policy_step` maps measured joints (radians, float64 (6,)) to goal joints (radians). Torque is turned on
    (goal = present) when the loop starts. Any error (policy exception, unplug, watchdog, e-stop) stops the
    loop and releases torque; `fault` then says why in plain words. `torque_off_at_end` releases torque on a
    normal stop too (default False: the arm holds its last pose).
    """

    def __init__(
        self,
        arm: Arm,
        policy_step: Callable[[np.ndarray], np.ndarray],
        rate_hz: float = DEFAULT_RATE_HZ,
        *,
        on_tick: Callable[[DriveTick], None] | None = None,
        spin_s: float = DEFAULT_SPIN_S,
        torque_off_at_end: bool = False,
        realtime: bool = False,
    ) -> None:
        self.arm = arm
        self.policy_step = policy_step
        self.on_tick = on_tick
        self.torque_off_at_end = torque_off_at_end
        self.fault: str | None = None
        self.loop = FixedRateLoop(
            self._tick, rate_hz, spin_s=spin_s, on_error=self._on_error, name="drive", realtime=realtime
        )
        self._thread: threading.Thread | None = None

    def _on_error(self, exc: BaseException) -> None:
        self.fault = describe_error(exc)
        self.arm.release_torque(self.fault)

    def _tick(self, tick: LoopTick) -> None:
        q = self.arm.read_joints()
        t0 = time.perf_counter()
        goal = np.asarray(self.policy_step(q), dtype=np.float64)
        policy_ms = (time.perf_counter() - t0) * 1e3
        safe = self.arm.command(goal)
        if self.on_tick is not None:
            try:
                self.on_tick(DriveTick(tick.index, tick.t, q, safe, policy_ms))
            except Exception:  # noqa: BLE001 - a broken live plot must never stop the arm mid-motion
                log.exception("a drive tick callback failed; driving goes on")

    def run(self, seconds: float | None = None, cancel: Callable[[], bool] | None = None) -> LoopStats:
        """Drive in the calling thread for `seconds` (or until stop()/cancel); returns the loop statistics."""
        try:
            self.arm.torque_on()
        except Exception as exc:
            self._on_error(exc)
            stats = self.loop.stats()
            stats.stopped_by, stats.error = "error", self.fault
            return stats
        stats = self.loop.run(seconds, cancel)
        if self.torque_off_at_end and self.fault is None:
            self.arm.release_torque()
        return stats

    def start(self, seconds: float | None = None, cancel: Callable[[], bool] | None = None) -> threading.Thread:
        self._thread = threading.Thread(target=self.run, args=(seconds, cancel), name="drive", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self) -> None:
        self.loop.stop()

    def join(self, timeout: float | None = None) -> LoopStats:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.loop.stats()

    def stats(self) -> LoopStats:
        return self.loop.stats()
