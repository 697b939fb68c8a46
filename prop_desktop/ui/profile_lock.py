"""Locking protected profiles again in the app: after the idle time (a setting), checked by a timer.

Switching away already drops the previous person's key (ProfileService.switch); this adds the person who
walked away without switching. Nothing is relocked while the arm moves: the drive keeps its key, and the
check runs again on the next tick.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, QTimer

from prop_desktop.ui.worker import run_in_background

# How often the idle time is checked: a key stays open at most this much longer than the setting.
CHECK_INTERVAL_MS = 15_000


class IdleRelock(QObject):
    # window: the MainWindow, this object's Qt parent and whose status bar it writes to. Any: typing it would
    # import main_window, which imports this module (a circle the contracts forbid), and the Window protocol
    # cannot say "a QObject with a status bar".
    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self._window = window
        self._checking = False
        self.timer = QTimer(self)
        self.timer.setObjectName("idleRelockTimer")
        self.timer.setInterval(CHECK_INTERVAL_MS)
        self.timer.timeout.connect(self.check)
        self.apply(window.settings.idle_lock_minutes)
        self.timer.start()

    def apply(self, minutes: float) -> None:
        """The setting: minutes without use before a key is dropped (0 = never)."""
        self._window.app.profiles.guard.idle_lock_s = max(0.0, float(minutes)) * 60.0

    def check(self) -> None:
        if self._checking or self._window.moving_activity():
            return
        self._checking = True
        profiles = self._window.app.profiles

        def done(locked: list[str]) -> None:
            self._checking = False
            if locked:
                self._window.refresh_profiles()
                self._window.statusBar().showMessage("Locked after being unused: the passphrase is asked again.",
                                                     8000)

        def failed(_exc: BaseException) -> None:
            self._checking = False

        run_in_background(self._window.bridge, profiles.lock_idle, done, failed, name="idle-relock")
