"""Driving: the base policy (optionally with the active profile's adapter and key) on the arm, closed loop.

`start(task, personalized)` runs the arm layer's fixed-rate loop (read joints → policy step → write goals)
on a worker. `set_personalized(on)` toggles live; personalized needs a trained adapter and the key (from the
keyring, asking for the passphrase via the ProfileService's provider); when impossible it stays on baseline
and says why in the returned ModeChange. `sample` carries commanded vs measured joints; `status_changed`
the achieved loop rate. `stop()` holds position; `emergency_stop()` releases torque within one tick.
"""

from __future__ import annotations

from prop_desktop.services.events import Signal
from prop_desktop.services.models import DriveSample, DriveStatus, ModeChange


class DriveSession:
    def __init__(self) -> None:
        self.sample: Signal[DriveSample] = Signal("drive.sample")
        self.status_changed: Signal[DriveStatus] = Signal("drive.status_changed")

    def status(self) -> DriveStatus:
        raise NotImplementedError

    def start(self, task: str, personalized: bool = False, duration_s: float | None = None) -> ModeChange:
        """Start driving `task` (returns at once). Raises NotConnectedError, BusyError, InvalidInputError."""
        raise NotImplementedError

    def set_personalized(self, on: bool) -> ModeChange:
        """Switch Personalized/Baseline live (also before start)."""
        raise NotImplementedError

    def can_personalize(self) -> ModeChange:
        """Whether Personalized is possible now, and if not, why (for greying out the toggle)."""
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def emergency_stop(self) -> None:
        raise NotImplementedError

    def wait(self, timeout: float | None = None) -> DriveStatus:
        raise NotImplementedError
