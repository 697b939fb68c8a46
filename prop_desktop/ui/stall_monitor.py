"""Measures how long the GUI event loop is blocked: a fast QTimer notes the gap between its ticks.

A healthy loop ticks every `interval_ms`; any gap much longer than that means the GUI thread could not run
its event loop for that long. Two causes are told apart:
- busy: the GUI thread itself was computing (its own CPU time during the gap, from `time.thread_time`) —
  the UI's fault, which must stay under 50 ms (on a VM whose cores are all busy this figure is inflated too:
  see `overloaded`);
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
        self.machine_busy: float | None = None  # share of all cores' time busy between start() and stop()
        self._cpu_at_start: tuple[int, int] | None = None

    def start(self) -> None:
        self.gaps_ms.clear()
        self.busy_ms.clear()
        self.load_at_start = _load_per_core()
        self.machine_busy = None
        self._cpu_at_start = _cpu_jiffies()
        self._last = time.perf_counter()
        self._last_cpu = time.thread_time()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        self._last = None
        end = _cpu_jiffies()
        if self._cpu_at_start is not None and end is not None and end[1] > self._cpu_at_start[1]:
            self.machine_busy = (end[0] - self._cpu_at_start[0]) / (end[1] - self._cpu_at_start[1])

    @property
    def overloaded(self) -> bool:
        """Were the cores (nearly) all busy while measuring? Then the OS, not the UI, decides the gaps.

        Measured over the window itself (from /proc/stat) where it can be; the load average lags a minute.
        """
        if self.machine_busy is not None:
            return self.machine_busy >= 0.8
        return self.load_at_start is None or self.load_at_start >= 0.9

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
        if self.machine_busy is not None:
            load += f", cores {self.machine_busy:.0%} busy"
        return (
            f"{self.ticks} ticks, max stall {self.max_stall_ms:.1f} ms (GUI busy at most {self.max_busy_ms:.1f} ms), "
            f"p99 gap {self.percentile_ms(99):.1f} ms (timer {self.interval_ms} ms{load})"
        )


def _cpu_jiffies() -> tuple[int, int] | None:
    """(busy, total) CPU time of all cores since boot, in clock ticks; None where /proc/stat is missing."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    total = sum(fields[:8])  # guest time is already counted in user
    return total - idle, total


def _load_per_core() -> float | None:
    try:
        return os.getloadavg()[0] / (os.cpu_count() or 1)
    except (OSError, AttributeError):
        return None
