"""Run a blocking call on a plain worker thread and get its result back on the GUI thread.

Used for the few service calls that may block for a moment (connecting an arm, pre-flight, unlocking a key,
creating a profile), so the GUI thread is never blocked.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from prop_desktop.ui.bridge import ThreadBridge

Result = TypeVar("Result")


def run_in_background(
    bridge: ThreadBridge,
    fn: Callable[[], Result],
    on_done: Callable[[Result], object] | None = None,  # object: what a callback returns is ignored
    on_error: Callable[[BaseException], object] | None = None,
    name: str = "ui-worker",
) -> threading.Thread:
    """Start `fn()` on a daemon thread; `on_done(result)` / `on_error(exc)` run later on the GUI thread."""

    def body() -> None:
        try:
            result = fn()
        except BaseException as exc:  # noqa: BLE001 - everything goes back to the GUI to be shown
            if on_error is not None:
                bridge.post(on_error, exc)
            return
        if on_done is not None:
            bridge.post(on_done, result)

    thread = threading.Thread(target=body, name=name, daemon=True)
    thread.start()
    return thread
