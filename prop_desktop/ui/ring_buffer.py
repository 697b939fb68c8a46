"""A fixed-size, thread-safe ring buffer of timestamped joint vectors (Qt-free).

Worker threads append samples at the control rate; the plots read a snapshot from a ~30 Hz GUI timer, so
the GUI never redraws per sample.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np


class RingBuffer:
    def __init__(self, capacity: int, width: int) -> None:
        self.capacity = capacity
        self.width = width
        self._t = np.zeros(capacity, dtype=np.float64)
        self._v = np.full((capacity, width), np.nan, dtype=np.float64)
        self._count = 0  # total samples ever appended
        self._lock = threading.Lock()

    def append(self, t: float, values: np.ndarray | Sequence[float]) -> None:
        row = np.asarray(values, dtype=np.float64).reshape(-1)[: self.width]
        with self._lock:
            i = self._count % self.capacity
            self._t[i] = t
            self._v[i, :] = np.nan
            self._v[i, : row.shape[0]] = row
            self._count += 1

    def clear(self) -> None:
        with self._lock:
            self._count = 0

    @property
    def total(self) -> int:
        """Samples appended since the last clear (including those overwritten)."""
        return self._count

    def snapshot(self) -> tuple[np.ndarray, np.ndarray]:
        """Times (n,) and values (n, width), oldest first."""
        with self._lock:
            n = min(self._count, self.capacity)
            if self._count <= self.capacity:
                return self._t[:n].copy(), self._v[:n].copy()
            start = self._count % self.capacity
            order = np.r_[start : self.capacity, 0:start]
            return self._t[order].copy(), self._v[order].copy()

    def rate_hz(self, window_s: float = 2.0) -> float:
        """Achieved sample rate over the last `window_s` seconds of samples."""
        t, _ = self.snapshot()
        if t.shape[0] < 2:
            return 0.0
        recent = t[t >= t[-1] - window_s]
        if recent.shape[0] < 2 or recent[-1] <= recent[0]:
            return 0.0
        return float((recent.shape[0] - 1) / (recent[-1] - recent[0]))
