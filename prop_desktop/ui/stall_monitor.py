"""Measures how long the GUI event loop is blocked: a fast QTimer notes the gap between its ticks.

A healthy loop ticks every `interval_ms`; any gap much longer than that means the GUI thread could not run
its event loop for that long. Two causes are told apart:
- busy: the GUI thread itself was computing (its own CPU time during the gap, from `time.thread_time`) —
  the UI's fault, which must stay under 50 ms;
- waiting: the thread was runnable but not running — the OS gave the cores to other processes, or a worker
  thread held Python's GIL. On a quiet machine this is small too; on an overloaded one it says nothing about
  the UI's code.
"""

from __future__ import annotations

import os
import time

from PySide6.QtCore import QObject, Qt, QTimer


class StallMonitor(QObject):
    """Start it, do work, then read `max_stall_ms` (wall) and `max_busy_ms` (GUI-thread CPU) per gap."""

    def __init__(self, interval_ms: int = 5, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.interval_ms = interval_ms
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)
        self._last: float | None = None
        self._last_cpu = 0.0
        self.gaps_ms: list[float] = []
        self.busy_ms: list[float] = []
        self.load_at_start: float | None = None

    def start(self) -> None:
        self.gaps_ms.clear()
        self.busy_ms.clear()
        self.load_at_start = _load_per_core()
        self._last = time.perf_counter()
        self._last_cpu = time.thread_time()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        self._last = None

    def _tick(self) -> None:
        now = time.perf_counter()
        cpu = time.thread_time()
        if self._last is not None:
            self.gaps_ms.append((now - self._last) * 1000.0)
            self.busy_ms.append((cpu - self._last_cpu) * 1000.0)
        self._last = now
        self._last_cpu = cpu

    @property
    def max_stall_ms(self) -> float:
        """Longest time the loop could not run, beyond the timer's own interval (wall clock)."""
        if not self.gaps_ms:
            return 0.0
        return max(0.0, max(self.gaps_ms) - self.interval_ms)

    @property
    def max_busy_ms(self) -> float:
        """Longest stretch the GUI thread spent computing between two ticks (its own CPU time)."""
        return max(self.busy_ms, default=0.0)

    @property
    def ticks(self) -> int:
        return len(self.gaps_ms)

    def percentile_ms(self, q: float) -> float:
        if not self.gaps_ms:
            return 0.0
        ordered = sorted(self.gaps_ms)
        return ordered[min(len(ordered) - 1, int(q / 100.0 * len(ordered)))]

    def summary(self) -> str:
        load = "" if self.load_at_start is None else f", load {self.load_at_start:.1f}/core"
        return (
            f"{self.ticks} ticks, max stall {self.max_stall_ms:.1f} ms (GUI busy at most {self.max_busy_ms:.1f} ms), "
            f"p99 gap {self.percentile_ms(99):.1f} ms (timer {self.interval_ms} ms{load})"
        )


def _load_per_core() -> float | None:
    try:
        return os.getloadavg()[0] / (os.cpu_count() or 1)
    except (OSError, AttributeError):
        return None
