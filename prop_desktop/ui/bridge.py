"""Carries callbacks from worker threads into the GUI thread.

The services call plain Python callbacks from their own threads. Widgets may only be touched on the GUI
thread, so every callback the UI hands to a service goes through a `ThreadBridge`: emitting a Qt signal from
another thread queues the call onto the receiver's (GUI) thread.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal


class ThreadBridge(QObject):
    """`bridge.wrap(fn)` returns a thread-safe callable that runs `fn(*args)` later on the GUI thread."""

    _call = Signal(object, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._call.connect(self._run, Qt.ConnectionType.QueuedConnection)

    def wrap(self, fn: Callable[..., object]) -> Callable[..., None]:
        def relay(*args: object) -> None:
            try:
                self._call.emit(fn, args)
            except RuntimeError:  # the bridge was deleted with its window: drop late callbacks
                pass

        return relay

    def post(self, fn: Callable[..., object], *args: object) -> None:
        """Queue `fn(*args)` on the GUI thread (safe from any thread)."""
        self.wrap(fn)(*args)

    def _run(self, fn: Callable[..., object], args: tuple[object, ...]) -> None:
        fn(*args)
