"""Safety rails between "what someone wants the arm to do" and the servos.

- GoalFilter: every goal is clamped to the calibrated range and moved at most `max_velocity * dt` per tick
  from the previous goal, starting from the present position (goal = present before torque on). For the
  first `ramp_s` seconds after torque on the speed limit grows from a fraction to the full value, so the
  first target is approached gently instead of with a jump.
- Watchdog: temperature and sustained load; it names the servo and says why torque was released.
- guard(arm): emergency-stops every live arm at process exit (atexit) and on SIGINT/SIGTERM (chaining to
  the host application's own handlers), so a crash or Ctrl-C never leaves an arm stiff.
"""

from __future__ import annotations

import atexit
import os
import signal
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from prop_desktop.arm.errors import ArmError


class SafetyStop(ArmError):
    """Torque was released by a safety rail (watchdog, emergency stop, a fault); the message says why."""


@dataclass
class SafetyConfig:
    """Limits used by an Arm. Velocities in rad/s, times in seconds, load as a fraction of the servo's max."""

    max_velocity: float = 2.0  # per joint, rad/s (a full SO-101 joint sweep takes ~1.5 s at this speed)
    gripper_max_velocity: float = 3.0
    ramp_s: float = 1.0  # after torque on, the speed limit ramps up over this time...
    ramp_start: float = 0.2  # ...from this fraction of it
    max_dt: float = 0.1  # a pause between ticks never allows a step bigger than this many seconds' worth
    range_margin: float = 0.03  # rad kept clear of each calibrated end, so goals never drive into a hard stop
    gripper_torque_limit: float = 0.5  # fraction of max torque for the gripper (burnt grippers otherwise)
    max_temperature_c: float | None = None  # None: the servo model's value
    max_load: float = 0.95  # sustained load above this fraction of max...
    load_hold_s: float = 1.5  # ...for this long releases torque (a stall)
    watchdog_period_s: float = 0.25  # how often temperature and load are read while torque is on


class GoalFilter:
    """Clamp + per-tick velocity limit + start-up ramp, on joint goals in radians."""

    def __init__(
        self,
        lower: np.ndarray,
        upper: np.ndarray,
        max_velocity: np.ndarray,
        config: SafetyConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.lower = np.asarray(lower, dtype=np.float64)
        self.upper = np.asarray(upper, dtype=np.float64)
        self.max_velocity = np.asarray(max_velocity, dtype=np.float64)
        self.config = config or SafetyConfig()
        self.clock = clock
        self.last: np.ndarray | None = None
        self._t_last = 0.0
        self._t_enable = 0.0

    def reset(self, present: np.ndarray) -> None:
        """Start from the present position (called right before torque on)."""
        self.last = np.clip(np.asarray(present, dtype=np.float64), self.lower, self.upper)
        self._t_last = self._t_enable = self.clock()

    def clamp(self, goal: np.ndarray) -> np.ndarray:
        goal = np.asarray(goal, dtype=np.float64)
        if goal.shape != self.lower.shape:
            raise ValueError(f"a goal needs {self.lower.size} joint values, got shape {goal.shape}")
        if not np.all(np.isfinite(goal)):
            raise ValueError(f"a goal contains NaN or infinity: {goal}")
        clamped: np.ndarray = np.clip(goal, self.lower, self.upper)
        return clamped

    def step_limit(self, now: float) -> np.ndarray:
        dt = min(max(now - self._t_last, 0.0), self.config.max_dt)
        ramp = 1.0
        if self.config.ramp_s > 0:
            frac = (now - self._t_enable) / self.config.ramp_s
            ramp = min(1.0, self.config.ramp_start + (1.0 - self.config.ramp_start) * max(0.0, frac))
        return self.max_velocity * dt * ramp

    def __call__(self, goal: np.ndarray) -> np.ndarray:
        """The safe goal for this tick (never further than the step limit from the previous one)."""
        target = self.clamp(goal)
        if self.last is None:
            raise SafetyStop("goal filter used before torque on (goal = present was not set)")
        now = self.clock()
        limit = self.step_limit(now)
        safe: np.ndarray = self.last + np.clip(target - self.last, -limit, limit)
        self.last = safe
        self._t_last = now
        return safe.copy()


class Watchdog:
    """Trips on a servo above its temperature limit or under sustained high load."""

    def __init__(self, joint_names: list[str], servo_ids: list[int], max_temps: np.ndarray, config: SafetyConfig):
        self.joint_names = joint_names
        self.servo_ids = servo_ids
        self.max_temps = np.asarray(max_temps, dtype=np.float64)
        self.config = config
        self._high_since: list[float | None] = [None] * len(joint_names)

    def reset(self) -> None:
        self._high_since = [None] * len(self.joint_names)

    def check(self, temps_c: np.ndarray, loads: np.ndarray | None, now: float) -> str | None:
        """A plain message when torque must be released, else None."""
        for i, temp in enumerate(np.asarray(temps_c, dtype=np.float64)):
            if temp >= self.max_temps[i]:
                return (
                    f"{self.joint_names[i]} (servo {self.servo_ids[i]}) is too hot: {temp:.0f} °C (limit "
                    f"{self.max_temps[i]:.0f} °C). Torque released; let it cool for a few minutes and lower the "
                    "load (do not let it push against an obstacle)."
                )
        if loads is None:
            return None
        for i, load in enumerate(np.abs(np.asarray(loads, dtype=np.float64))):
            if load >= self.config.max_load:
                since = self._high_since[i]
                if since is None:
                    self._high_since[i] = now
                elif now - since >= self.config.load_hold_s:
                    return (
                        f"{self.joint_names[i]} (servo {self.servo_ids[i]}) was stalled at {load:.0%} load for "
                        f"{now - since:.1f} s. Torque released; check that nothing blocks the joint."
                    )
            else:
                self._high_since[i] = None
        return None


# -- release torque whenever the process goes away ---------------------------------------------------------
class _Releasable(Protocol):  # what TorqueGuard needs from an Arm
    def release_torque(self, reason: str | None = None) -> bool: ...


_live: weakref.WeakSet[_Releasable] = weakref.WeakSet()
_install_lock = threading.Lock()
_installed = False
_previous_handlers: dict[int, object] = {}


def guard(arm: _Releasable) -> None:
    """Release this arm's torque at exit, Ctrl-C and SIGTERM (handlers are installed once, chained)."""
    _live.add(arm)
    _install()


def unguard(arm: _Releasable) -> None:
    _live.discard(arm)


def release_all(reason: str) -> None:
    """Emergency-stop every live arm: torque off, and no loop thread may send another goal afterwards."""
    for arm in list(_live):
        try:
            stop = getattr(arm, "estop", None)
            stop(reason) if stop is not None else arm.release_torque(reason)
        except Exception:  # noqa: BLE001 - at exit, try every arm whatever happens
            pass


def _install() -> None:
    global _installed
    with _install_lock:
        if not _installed:
            _installed = True
            atexit.register(release_all, "the program exited")
    # Every connect from the main thread (re)puts our handlers in front; from other threads this is a no-op,
    # so an app that connects on a worker thread should call install_signal_handlers() once from main.
    install_signal_handlers()


def install_signal_handlers() -> bool:
    """Put our SIGINT/SIGTERM handlers in front of whatever is installed now (which they then call).

    Done automatically when the first arm connects. A host application that sets its own handlers AFTER
    connecting an arm (e.g. `signal.signal(SIGINT, SIG_DFL)` for Qt) should call this again afterwards, or
    Ctrl-C would end the process without releasing torque. Only possible from the main thread (returns False
    elsewhere).
    """
    if threading.current_thread() is not threading.main_thread():
        return False  # signal handlers can only be set from the main thread; atexit still covers normal exits
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            current = signal.getsignal(sig)
            if current is not _on_signal:
                _previous_handlers[sig] = current
                signal.signal(sig, _on_signal)
        except (ValueError, OSError):
            continue
    return True


def _on_signal(signum: int, frame: object) -> None:
    release_all("Ctrl-C" if signum == signal.SIGINT else f"signal {signum}")
    previous = _previous_handlers.get(signum)
    if callable(previous):
        previous(signum, frame)  # the host application's handler (or Python's KeyboardInterrupt)
    elif previous == signal.SIG_IGN:
        return
    else:  # SIG_DFL: behave as if we were never here
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
