"""Connecting the arm: what is plugged in, connect/disconnect, pre-flight, calibration, e-stop, unplug.

State changes are announced on `state_changed` (from whatever thread notices them: unplug is noticed by the
recording/driving worker or by the watchdog). `connect()` blocks for up to a few seconds (opening a port,
pinging six servos, starting the simulator): call it from a worker, not the GUI thread.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from prop_desktop.services.errors import ArmConnectError, BusyError, NotConnectedError
from prop_desktop.services.events import Signal
from prop_desktop.services.models import (
    SIMULATED_CHOICE_ID,
    ArmChoice,
    ConnectionState,
    ConnectionStatus,
    PreflightReport,
)

if TYPE_CHECKING:
    from prop_desktop.services.calibration_wizard import CalibrationWizard

SIMULATED_LABEL = "Simulated SO-101 arm"


def simulated_choice(is_default: bool = True) -> ArmChoice:
    return ArmChoice(
        id=SIMULATED_CHOICE_ID,
        label=SIMULATED_LABEL,
        kind="sim",
        adapter="built-in simulator (speaks the same servo bytes on a virtual serial port)",
        arm_model="so101",
        protocol="feetech",
        is_default=is_default,
    )


class ArmService:
    """Owns at most one connected arm at a time; the other services borrow it through `arm()`."""

    def __init__(self, control_rate_hz: float = 50.0) -> None:
        self.state_changed: Signal[ConnectionState] = Signal("arm.state_changed")
        self.control_rate_hz = control_rate_hz
        self._lock = threading.RLock()
        self._state = ConnectionState(ConnectionStatus.DISCONNECTED)
        self._arm: Any = None  # the arm layer's high-level Arm
        self._sim: Any = None  # the in-process simulator, when the choice is the simulated arm
        self._busy_with: str | None = None

    # --- what can be connected ---------------------------------------------------------------------------
    def available_connections(self) -> list[ArmChoice]:
        """Detected serial adapters (with diagnoses and fixes) plus the simulated arm.

        The simulated arm is marked `is_default` when no usable real arm is plugged in. Fast (< 100 ms).
        """
        raise NotImplementedError

    def default_choice(self) -> ArmChoice:
        """The first usable detected arm, else the simulated arm."""
        raise NotImplementedError

    # --- connection --------------------------------------------------------------------------------------
    @property
    def state(self) -> ConnectionState:
        return self._state

    def connect(self, choice: ArmChoice | str | None = None) -> ConnectionState:
        """Connect to `choice` (an ArmChoice, its id, or None for the default). Blocks ≤ ~3 s.

        Disconnects a previous arm first. Raises ArmConnectError with the diagnosis and fix on failure.
        """
        raise NotImplementedError

    def disconnect(self) -> None:
        """Release torque and close the port (stops the simulator if it was ours). Safe to call twice."""
        raise NotImplementedError

    def emergency_stop(self, reason: str = "Emergency stop.") -> None:
        """From any thread: stop whatever moves the arm and release torque within one control tick."""
        raise NotImplementedError

    def preflight(self) -> PreflightReport:
        """Ping every servo; model, firmware, voltage, temperature per servo. Raises NotConnectedError."""
        raise NotImplementedError

    def calibration_wizard(self) -> CalibrationWizard:
        """A step-by-step driver for calibrating a real arm (middle pose, range sweep); stored per arm."""
        raise NotImplementedError

    # --- for the other services --------------------------------------------------------------------------
    def arm(self) -> Any:
        """The connected arm-layer Arm. Raises NotConnectedError."""
        with self._lock:
            if self._arm is None or not self._state.connected:
                raise NotConnectedError()
            return self._arm

    def simulator(self) -> Any:
        """The in-process simulated arm when the simulated arm is connected (tests unplug/guide it), else None."""
        return self._sim

    def claim(self, activity: str) -> None:
        """Mark the arm busy with `activity` ("recording", "driving", …); BusyError if something else runs."""
        with self._lock:
            self.arm()
            if self._busy_with is not None:
                raise BusyError(
                    f"The arm is busy {self._busy_with}.", f"Stop {self._busy_with} first, then try again."
                )
            self._busy_with = activity
        self._announce_busy()

    def release(self, activity: str) -> None:
        with self._lock:
            if self._busy_with == activity:
                self._busy_with = None
        self._announce_busy()

    def report_fault(self, message: str) -> None:
        """Called by workers when the arm faults/unplugs: the state becomes DISCONNECTED with `message`."""
        raise NotImplementedError

    def _announce_busy(self) -> None:
        with self._lock:
            s = self._state
            self._state = ConnectionState(s.status, s.choice, s.message, self._busy_with)
            state = self._state
        self.state_changed.emit(state)

    def _set_state(self, state: ConnectionState) -> None:
        with self._lock:
            self._state = state
        self.state_changed.emit(state)


__all__ = ["ArmService", "simulated_choice", "ArmConnectError"]
