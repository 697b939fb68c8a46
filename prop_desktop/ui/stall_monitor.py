"""Measures how long the GUI event loop is blocked: a fast QTimer notes the gap between its ticks.

A healthy loop ticks every `interval_ms`; any gap much longer than that means something ran on the GUI
thread for that long. The UI promises never to block for more than 50 ms.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer


class StallMonitor(QObject):
    """Start it, do work, then read `max_stall_ms` (the longest blocked stretch beyond the timer interval)."""

    def __init__(self, interval_ms: int = 5, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.interval_ms = interval_ms
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)
        self._last: float | None = None
        self.gaps_ms: list[float] = []

    def start(self) -> None:
        self.gaps_ms.clear()
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        self._last = None

    def _tick(self) -> None:
        now = time.perf_counter()
        if self._last is not None:
            self.gaps_ms.append((now - self._last) * 1000.0)
        self._last = now

    @property
    def max_stall_ms(self) -> float:
        """Longest time the loop could not run, beyond the timer's own interval."""
        if not self.gaps_ms:
            return 0.0
        return max(0.0, max(self.gaps_ms) - self.interval_ms)

    @property
    def ticks(self) -> int:
        return len(self.gaps_ms)

    def percentile_ms(self, q: float) -> float:
        if not self.gaps_ms:
            return 0.0
        ordered = sorted(self.gaps_ms)
        return ordered[min(len(ordered) - 1, int(q / 100.0 * len(ordered)))]

    def summary(self) -> str:
        return (
            f"{self.ticks} ticks, max stall {self.max_stall_ms:.1f} ms, "
            f"p99 gap {self.percentile_ms(99):.1f} ms (timer {self.interval_ms} ms)"
        )
