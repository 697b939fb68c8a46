"""A step-by-step driver for calibrating a real arm, for the Connect page's wizard.

Steps: 1. "Middle pose" — torque off, the user puts every joint in the middle of its range, `advance()`
records it; 2. "Range sweep" — the user moves each joint through its full range while `progress` reports
the min/max seen per joint (sampled on a worker thread); `advance()` ends the sweep; 3. "Done" — the
calibration is saved for this arm (by serial number where available) and reused on the next connect.
"""

from __future__ import annotations

from typing import Any

from prop_desktop.services.events import Signal
from prop_desktop.services.models import CalibrationProgress, CalibrationStep

STEPS: tuple[CalibrationStep, ...] = (
    CalibrationStep(
        0,
        "Middle pose",
        "Torque is off. Move every joint to the middle of its range (the arm upright, gripper half open), "
        "then press Next.",
    ),
    CalibrationStep(
        1,
        "Range sweep",
        "Move each joint slowly through its whole range, from one end to the other, then press Next.",
    ),
    CalibrationStep(2, "Done", "Calibration saved. It will be reused whenever this arm is connected.", False),
)


class CalibrationWizard:
    """Drive with `start()`, `advance()` (Next), `cancel()`; listen to `progress`."""

    def __init__(self, arm: Any, arm_key: str) -> None:
        self.progress: Signal[CalibrationProgress] = Signal("calibration.progress")
        self._arm = arm
        self._arm_key = arm_key
        self._index = 0

    @property
    def step(self) -> CalibrationStep:
        return STEPS[self._index]

    def start(self) -> CalibrationStep:
        raise NotImplementedError

    def advance(self) -> CalibrationStep:
        raise NotImplementedError

    def cancel(self) -> None:
        raise NotImplementedError
