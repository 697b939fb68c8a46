"""The services' passphrase provider, answered by a dialog on the GUI thread.

The services ask for a passphrase from the thread that needs the key (a worker). The provider posts a
request to the GUI thread, which shows a PassphraseDialog, and the worker waits for the answer. Asked on the
GUI thread itself (it should not happen), it answers None rather than block the event loop.

Several workers may need the same locked key at once (a recording starting while the recordings list loads).
They are asked one at a time, and the answer typed while a worker was waiting is handed to it instead of a
second dialog; a worker that already got that answer (so it was wrong) gets the dialog, and so does a request
made after the answer (the key was closed again since). The answer stays in memory only. A reused answer is
handed over only once the first worker has opened the key with it: two Argon2id derivations at the same
moment hang the process (cryptography 50 / OpenSSL), and each worker derives the key itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication, QWidget

from prop_desktop.ui.bridge import ThreadBridge
from prop_desktop.ui.profile_dialogs import PassphraseDialog

if TYPE_CHECKING:
    from prop_desktop.services.models import ProfileInfo


class PassphrasePrompter:
    def __init__(self, bridge: ThreadBridge, parent: QWidget, timeout_s: float = 300.0,
                 is_unlocked: Callable[[str], bool] | None = None,
                 wait_left: Callable[[str], float] | None = None) -> None:
        self._bridge = bridge
        self._wait_left = wait_left  # profile id -> seconds of back-off left after wrong passphrases
        self._is_unlocked = is_unlocked
        self._parent = parent
        self._timeout_s = timeout_s
        self.dialog: PassphraseDialog | None = None
        self.dialogs_shown = 0
        self._one_at_a_time = threading.Lock()
        self._recent: dict[str, tuple[str | None, float]] = {}
        self._given = threading.local()

    def __call__(self, profile: ProfileInfo, reason: str | None) -> str | None:
        app = QApplication.instance()
        if app is None or QThread.currentThread() is app.thread():
            return None
        key = str(getattr(profile, "id", None) or getattr(profile, "name", ""))
        asked_at = time.monotonic()
        while True:
            with self._one_at_a_time:
                recent = self._recent.get(key)
                given = getattr(self._given, "answers", {})
                if recent is None or recent[1] < asked_at or given.get(key) == recent:
                    answer = self._ask(profile, reason)
                    self._recent[key] = (answer, time.monotonic())
                    self._given.answers = {**given, key: self._recent[key]}
                    return answer
                self._given.answers = {**given, key: recent}
            if recent[0] is None:
                return None  # cancelled while this request waited: cancel it too
            # Wait until the worker that got this answer has opened the key with it, or found it wrong and
            # asked again (then take the new answer, and wait for that one the same way).
            deadline = time.monotonic() + 30.0
            while time.monotonic() < deadline and self._recent.get(key) is recent and not self._unlocked(key):
                time.sleep(0.05)
            if self._recent.get(key) is recent:
                return recent[0]

    def _unlocked(self, profile_id: str) -> bool:
        if self._is_unlocked is None:
            return True
        try:
            return bool(self._is_unlocked(profile_id))
        except Exception:  # noqa: BLE001 - a profile deleted meanwhile: stop waiting
            return True

    def _wait_for(self, profile: ProfileInfo) -> Callable[[], float] | None:
        wait_left, profile_id = self._wait_left, getattr(profile, "id", None)
        if wait_left is None or profile_id is None:
            return None
        return lambda: wait_left(profile_id)

    def _ask(self, profile: ProfileInfo, reason: str | None) -> str | None:
        answered = threading.Event()
        answer: list[str | None] = [None]

        def done(value: str | None) -> None:
            answer[0] = value
            answered.set()

        def show() -> None:
            self.dialogs_shown += 1
            self.dialog = PassphraseDialog(profile.name, reason, done, self._parent, wait_left=self._wait_for(profile))
            self.dialog.open()

        self._bridge.post(show)
        if not answered.wait(self._timeout_s):
            self._bridge.post(lambda: self.dialog.reject() if self.dialog else None)
            return None
        return answer[0]
