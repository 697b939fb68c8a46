"""Plain, thread-safe callbacks: how the services tell the UI that something happened.

`Signal[T]` is a tiny observer list. Services emit from whatever thread does the work (recording, driving
and training emit from worker threads); listeners must be quick and must not block. The Qt UI connects a
function that re-emits a Qt signal (a queued connection then delivers on the GUI thread).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)


class Signal(Generic[T]):
    """`connect(fn)` returns a function that disconnects it; `emit(value)` calls every listener.

    A listener that raises is logged and skipped: a broken plot must never stop a recording or the arm.
    """

    def __init__(self, name: str = "") -> None:
        self._name = name
        self._listeners: list[Callable[[T], object]] = []
        self._lock = threading.Lock()

    def connect(self, listener: Callable[[T], object]) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(listener)

        def disconnect() -> None:
            self.disconnect(listener)

        return disconnect

    def disconnect(self, listener: Callable[[T], object]) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def emit(self, value: T) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(value)
            except Exception:  # noqa: BLE001 - a listener's bug must not break the emitter
                log.exception("listener of %s failed", self._name or "signal")

    def __len__(self) -> int:
        with self._lock:
            return len(self._listeners)
