"""The services' passphrase provider, answered by a dialog on the GUI thread.

The services ask for a passphrase from the thread that needs the key (a worker). The provider posts a
request to the GUI thread, which shows a PassphraseDialog, and the worker waits for the answer. Asked on the
GUI thread itself (it should not happen), it answers None rather than block the event loop.
"""

from __future__ import annotations

import threading
from typing import Any

from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication, QWidget

from prop_desktop.ui.bridge import ThreadBridge
from prop_desktop.ui.profile_dialogs import PassphraseDialog


class PassphrasePrompter:
    def __init__(self, bridge: ThreadBridge, parent: QWidget, timeout_s: float = 300.0) -> None:
        self._bridge = bridge
        self._parent = parent
        self._timeout_s = timeout_s
        self.dialog: PassphraseDialog | None = None

    def __call__(self, profile: Any, reason: str | None) -> str | None:
        app = QApplication.instance()
        if app is None or QThread.currentThread() is app.thread():
            return None
        answered = threading.Event()
        answer: list[str | None] = [None]

        def done(value: str | None) -> None:
            answer[0] = value
            answered.set()

        def show() -> None:
            self.dialog = PassphraseDialog(profile.name, reason, done, self._parent)
            self.dialog.open()

        self._bridge.post(show)
        if not answered.wait(self._timeout_s):
            self._bridge.post(lambda: self.dialog.reject() if self.dialog else None)
            return None
        return answer[0]
