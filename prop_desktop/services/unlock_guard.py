"""When a protected profile's key may be opened, and when it must leave memory again.

Two rules for people sharing one computer:
- failed unlocks back off, per profile: after the n-th wrong passphrase the next try is refused for
  1 s, 2 s, 4 s ... (capped at `max_delay_s`), so someone at the keyboard cannot try a list of guesses fast;
- a key not used for `idle_lock_s` is dropped from memory (the person walked away): using it again asks for
  the passphrase.

The clock is injected (time.monotonic by default) so both rules are tested without waiting.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

DEFAULT_IDLE_LOCK_S = 10 * 60.0
FIRST_DELAY_S = 1.0
MAX_DELAY_S = 60.0


class UnlockGuard:
    def __init__(self, clock: Callable[[], float] = time.monotonic, idle_lock_s: float = DEFAULT_IDLE_LOCK_S,
                 first_delay_s: float = FIRST_DELAY_S, max_delay_s: float = MAX_DELAY_S) -> None:
        self.clock = clock
        self.idle_lock_s = idle_lock_s
        self.first_delay_s = first_delay_s
        self.max_delay_s = max_delay_s
        self._lock = threading.Lock()
        self._failures: dict[str, int] = {}
        self._next_try: dict[str, float] = {}
        self._last_use: dict[str, float] = {}

    # --- back-off --------------------------------------------------------------------------------------
    def wait_left(self, profile_id: str) -> float:
        """Seconds before this profile's passphrase may be tried again (0 = now)."""
        with self._lock:
            return max(0.0, self._next_try.get(profile_id, 0.0) - self.clock())

    def wait_message(self, profile_id: str) -> str | None:
        """'Try again in 4 s.' while a back-off runs, else None."""
        left = self.wait_left(profile_id)
        return f"Try again in {math.ceil(left)} s." if left > 0 else None

    def failed(self, profile_id: str) -> float:
        """A wrong passphrase: returns the delay before the next try (doubling, capped)."""
        with self._lock:
            count = self._failures.get(profile_id, 0) + 1
            self._failures[profile_id] = count
            delay = min(self.first_delay_s * 2.0 ** (count - 1), self.max_delay_s)
            self._next_try[profile_id] = self.clock() + delay
            return delay

    def succeeded(self, profile_id: str) -> None:
        with self._lock:
            self._failures.pop(profile_id, None)
            self._next_try.pop(profile_id, None)
        self.used(profile_id)

    # --- idle relock -----------------------------------------------------------------------------------
    def used(self, profile_id: str) -> None:
        with self._lock:
            self._last_use[profile_id] = self.clock()

    def forget(self, profile_id: str) -> None:
        with self._lock:
            self._last_use.pop(profile_id, None)

    def idle(self, profile_ids: list[str]) -> list[str]:
        """Which of these open keys have not been used for `idle_lock_s` (0 or less: never idle)."""
        if self.idle_lock_s <= 0:
            return []
        now = self.clock()
        with self._lock:
            return [pid for pid in profile_ids if now - self._last_use.get(pid, now) >= self.idle_lock_s]
