"""The services' one worker pattern: a cancellable job on a daemon thread (driving, training).

The body gets its `BackgroundRun` and polls `run.cancelled` (or blocks in `run.wait_cancelled(t)`), reports
progress through its own signals, and calls `run.finish()` once its result is in place and before it announces
it, so whoever the announcement reaches already sees `running == False`. A body that returns or raises without
calling it is finished then (an exception is logged: the body is expected to report its own failures).
`cancel()` works from any thread, is idempotent, and runs the `on_cancel` hooks at once (stop a control loop,
terminate a child process) so a body blocked outside Python notices within its own timeout.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class BackgroundRun:
    def __init__(self, body: Callable[[BackgroundRun], None], name: str) -> None:
        self._body = body
        self._cancel = threading.Event()
        self._done = threading.Event()
        self._hooks: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)

    def start(self) -> BackgroundRun:
        self._thread.start()
        return self

    # --- from any thread ---------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """True from creation until the body finished (a run that is not started yet counts as running)."""
        return not self._done.is_set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def is_cancelled(self) -> bool:
        """`cancelled` as a callable, for APIs that take a cancel check."""
        return self._cancel.is_set()

    def cancel(self) -> None:
        """Ask the body to stop and run the on_cancel hooks (once)."""
        with self._lock:
            if self._cancel.is_set():
                return
            self._cancel.set()
            hooks = list(self._hooks)
        for hook in hooks:
            hook()

    def on_cancel(self, hook: Callable[[], None]) -> None:
        """Run `hook` when the run is cancelled (at once if it already is)."""
        with self._lock:
            self._hooks.append(hook)
            already = self._cancel.is_set()
        if already:
            hook()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the body finished (never on the GUI thread); False if `timeout` passed first."""
        return self._done.wait(timeout)

    # --- from the body -----------------------------------------------------------------------------------
    def wait_cancelled(self, timeout: float) -> bool:
        """Sleep up to `timeout` s, waking at once on cancel; True if cancelled."""
        return self._cancel.wait(timeout)

    def finish(self) -> None:
        """The result is in place: `running` turns False (call before announcing the result)."""
        self._done.set()

    def _main(self) -> None:
        try:
            self._body(self)
        except Exception:  # noqa: BLE001 - the body reports its own failures; this one escaped it
            log.exception("background job %s failed", self._thread.name)
        finally:
            self._done.set()
