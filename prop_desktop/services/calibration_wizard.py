"""A step-by-step driver for calibrating a real arm, for the Connect page's wizard.

Steps: 0 "Middle pose" — torque off, the user puts every joint in the middle of its range; `advance()`
records it. 1 "Range sweep" — the user moves each joint through its full range while a worker samples at
25 Hz and `progress` reports the range seen per joint (radians); `advance()` finishes (CalibrationError names
the joints not yet swept). 2 "Done" — saved for this arm and reused on every connect. `cancel()` restores
the previous calibration. The arm is claimed ("calibrating") for the whole wizard.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from prop_desktop.services.errors import CalibrationError
from prop_desktop.services.events import Signal
from prop_desktop.services.models import CalibrationProgress, CalibrationStep

if TYPE_CHECKING:
    from prop_desktop.arm.arm import Arm
    from prop_desktop.arm.calibration import Calibration

STEPS: tuple[CalibrationStep, ...] = (
    CalibrationStep(
        0,
        "Middle pose",
        "Torque is off. Move every joint to the middle of its range (upper arm and forearm at right angles, "
        "wrist straight, gripper half open), hold it still, then press Next.",
    ),
    CalibrationStep(
        1,
        "Range sweep",
        "Move each joint slowly through its whole range, end to end, one after the other. The ranges fill in "
        "as you go. Press Next when every joint has reached both ends.",
    ),
    CalibrationStep(2, "Done", "Calibration saved. It is reused whenever this arm is connected.", False),
)
SWEEP_PERIOD_S = 0.04


class CalibrationWizard:
    """Drive with `start()`, `advance()` (Next), `cancel()`; listen to `progress` (from a worker thread).

    Made by ArmService.calibration_wizard(), which claims `arm` for it: `on_fault(detail)` reports an arm
    that failed mid-sweep, `on_close(calibrated)` runs once when the wizard ends (done or cancelled).
    """

    def __init__(
        self, arm: Arm, *, on_fault: Callable[[str], object], on_close: Callable[[bool], None]
    ) -> None:
        self.progress: Signal[CalibrationProgress] = Signal("calibration.progress")
        self._arm = arm
        self._on_fault = on_fault
        self._on_close = on_close
        self._cal: Calibration | None = None
        self._index = 0
        self._sweeper: threading.Thread | None = None
        self._stop = threading.Event()
        self._closed = False

    @property
    def step(self) -> CalibrationStep:
        return STEPS[self._index]

    def start(self) -> CalibrationStep:
        """Release torque and begin at "Middle pose"."""
        self._cal = self._arm.calibrate()
        self._index = 0
        self.progress.emit(CalibrationProgress(self.step, {}, self.step.instructions))
        return self.step

    def advance(self) -> CalibrationStep:
        """Next: record the middle pose, or finish the sweep. CalibrationError says what to redo."""
        from prop_desktop.arm.calibration import CalibrationError as ArmCalibrationError

        if self._cal is None:
            self.start()
        cal = self._cal
        assert cal is not None  # start() made one
        try:
            if self._index == 0:
                cal.record_middle()
                self._index = 1
                self._start_sweep()
            elif self._index == 1:
                self._stop_sweep()
                try:
                    cal.finish(save=True)
                except ArmCalibrationError:
                    self._start_sweep()  # keep sampling so the user can complete the sweep
                    raise
                self._index = 2
                self._close(calibrated=True)
        except ArmCalibrationError as exc:
            raise CalibrationError(_sentence(str(exc))) from exc
        self.progress.emit(CalibrationProgress(self.step, self._ranges(), self.step.instructions))
        return self.step

    def cancel(self) -> None:
        """Abandon; the previous calibration stays in force."""
        self._stop_sweep()
        if self._cal is not None and self._index < 2:
            try:
                self._cal.cancel()
            except Exception:  # noqa: BLE001 - best effort: the port may be gone
                pass
        self._close(calibrated=False)

    def _ranges(self) -> dict[str, tuple[float, float]]:
        try:
            return self._cal.ranges_rad() if self._cal is not None and self._index >= 1 else {}
        except Exception:  # noqa: BLE001
            return {}

    def _start_sweep(self) -> None:
        self._stop = threading.Event()
        self._sweeper = threading.Thread(target=self._sweep, args=(self._stop,), name="calibration-sweep", daemon=True)
        self._sweeper.start()

    def _stop_sweep(self) -> None:
        self._stop.set()
        if self._sweeper is not None:
            self._sweeper.join(timeout=1.0)
        self._sweeper = None

    def _sweep(self, stop: threading.Event) -> None:
        cal = self._cal
        if cal is None:
            return
        while not stop.wait(SWEEP_PERIOD_S):
            try:
                cal.sample()
            except Exception as exc:  # noqa: BLE001 - unplugged mid-sweep
                self._on_fault(str(exc))
                return
            missing = cal.joints_not_swept()
            message = "Still to sweep: " + ", ".join(missing) if missing else "Every joint swept. Press Next."
            self.progress.emit(CalibrationProgress(self.step, self._ranges(), message))

    def _close(self, calibrated: bool) -> None:
        if self._closed:
            return
        self._closed = True
        self._on_close(calibrated)


def _sentence(text: str) -> str:
    text = text.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "."
