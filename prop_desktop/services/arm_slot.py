"""One arm port the app holds: the follower (`ArmService`) and the optional leader (`LeaderArmService`).

What both slots share lives here once: connect (resolve the choice, open the port, check every servo answers,
say whether it needs calibrating), disconnect, who is using the arm (`claim`/`release`), the calibration
wizard, stop hooks, and the `state_changed` signal. A slot differs only in its words, in what it checks after
opening (a leader must be a leader), and in what it does around the connection (the follower's idle monitor,
its e-stop), which subclasses add through the small hooks below.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prop_desktop.services.calibration_wizard import CalibrationWizard
from prop_desktop.services.errors import ArmConnectError, BusyError, NotConnectedError
from prop_desktop.services.events import Signal
from prop_desktop.services.models import ArmChoice, ConnectionState, ConnectionStatus

if TYPE_CHECKING:
    from prop_desktop.arm.arm import Arm
    from prop_desktop.arm.calibration_store import CalibrationStore
    from prop_desktop.arm.sim import SimulatedArm

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SlotWords:
    """What a slot calls itself in messages people read."""

    name: str  # "arm", "leader arm"
    connected: str  # "Connected: {label}."
    needs_calibration: str  # "{label}" is filled in
    disconnected: str  # after Disconnect
    not_connected: tuple[str, str]  # NotConnectedError's message and fix when nothing is connected


class ArmSlot:
    """At most one connected arm; `state_changed` announces its connection state (from any thread)."""

    words: SlotWords

    def __init__(self, signal_name: str, calibration_store: CalibrationStore | None,
                 initial: ConnectionState) -> None:
        self.calibration_store = calibration_store
        self.state_changed: Signal[ConnectionState] = Signal(signal_name)
        self._lock = threading.RLock()
        self._arm: Arm | None = None
        self._state = initial
        self._busy_with: str | None = None
        self._stop_hooks: list[Callable[[str], None]] = []

    # --- what subclasses provide ------------------------------------------------------------------------
    def available_connections(self) -> list[ArmChoice]:
        raise NotImplementedError

    def _resolve(self, choice: ArmChoice | str | None) -> ArmChoice:
        raise NotImplementedError

    def _check_opened(self, arm: Arm, choice: ArmChoice) -> None:
        """Raise ArmConnectError if the opened arm cannot serve in this slot (the port is closed for you)."""

    def _after_connect(self) -> None:
        """Runs once the new arm is in place and announced (the follower starts its idle monitor)."""

    def _before_disconnect(self) -> None:
        """Runs before the port closes (the follower stops its idle monitor)."""

    # --- connection ---------------------------------------------------------------------------------------
    @property
    def state(self) -> ConnectionState:
        return self._state

    @property
    def busy_with(self) -> str | None:
        return self._busy_with

    def connect(self, choice: ArmChoice | str | None = None) -> ConnectionState:
        """Connect `choice` (an ArmChoice, its id or port path; None = the slot's default). Blocks ≤ ~3 s.

        Disconnects a previous arm first. Raises ArmConnectError with the diagnosis and fix on failure.
        """
        picked = self._resolve(choice)
        if not picked.usable:
            raise ArmConnectError(picked.problem or f"{picked.label} cannot be used.", picked.fix)
        self.disconnect()
        self._set_state(ConnectionState(ConnectionStatus.CONNECTING, picked, f"Connecting to {picked.label}…"))
        try:
            arm = self._open(picked)
        except ArmConnectError as exc:
            self._set_state(ConnectionState(ConnectionStatus.DISCONNECTED, picked, exc.user_message))
            raise
        with self._lock:
            self._arm, self._busy_with = arm, None
        if picked.kind == "serial" and not arm.is_calibrated:
            state = ConnectionState(ConnectionStatus.NEEDS_CALIBRATION, picked,
                                    self.words.needs_calibration.format(label=picked.label))
        else:
            state = ConnectionState(ConnectionStatus.CONNECTED, picked, self.words.connected.format(label=picked.label))
        self._set_state(state)
        self._after_connect()
        return state

    def _open(self, choice: ArmChoice) -> Arm:
        from prop_desktop.arm.connect import connect
        from prop_desktop.arm.errors import ArmError

        try:
            if choice.kind == "sim":
                arm = connect(sim=True, model=choice.arm_model, calibration_store=self.calibration_store)
            else:
                arm = connect(choice.port or choice.id, model=choice.arm_model,
                              calibration_store=self.calibration_store)
        except (ArmError, ValueError) as exc:
            message, _, fix = str(exc).partition(" Fix: ")
            raise ArmConnectError(message.strip(), fix.strip() or "Check the cable and power, then try again.") from exc
        except OSError as exc:
            from prop_desktop.arm.discovery import explain_open_error

            problem = explain_open_error(choice.port or choice.id, exc)
            raise ArmConnectError(problem.message, problem.fix) from exc
        try:
            self._check_opened(arm, choice)
            arm.read_joints()  # every servo answers, or we say which one does not
        except ArmConnectError:
            arm.close()
            raise
        except ArmError as exc:
            arm.close()
            raise ArmConnectError(
                f"The port opened, but the {self.words.name} does not answer properly: {exc}",
                f"Check the {self.words.name}'s power supply and cables, then open Pre-flight for details.",
            ) from exc
        return arm

    def disconnect(self) -> None:
        """Stop whatever uses the arm, release torque and close the port (stops our simulator). Idempotent."""
        self._run_stop_hooks("disconnecting")
        self._before_disconnect()
        arm = self._take_arm()
        if arm is not None:
            self._close(arm)
            self._set_state(ConnectionState(ConnectionStatus.DISCONNECTED, None, self.words.disconnected))

    def _take_arm(self) -> Arm | None:
        """Empty the slot (nobody can claim the arm any more) and hand its arm to the caller to close."""
        with self._lock:
            arm, self._arm, self._busy_with = self._arm, None, None
        return arm

    @staticmethod
    def _close(arm: Arm) -> None:
        try:
            arm.close()
        except Exception:  # noqa: BLE001 - a vanished port cannot be closed cleanly; it is gone anyway
            log.debug("closing an arm failed", exc_info=True)

    # --- calibration -------------------------------------------------------------------------------------
    def calibration_wizard(self) -> CalibrationWizard:
        """A step-by-step driver (middle pose, range sweep) for a real arm; stored per arm and reused."""
        arm = self.claim("calibrating")
        return CalibrationWizard(arm, on_fault=self.report_fault, on_close=self._calibration_closed)

    def _calibration_closed(self, calibrated: bool) -> None:
        self.release("calibrating")
        state = self._state
        if calibrated and state.status is ConnectionStatus.NEEDS_CALIBRATION:
            label = state.choice.label if state.choice else self.words.name
            self._set_state(ConnectionState(ConnectionStatus.CONNECTED, state.choice,
                                            self.words.connected.format(label=label)))

    def report_fault(self, detail: str) -> str:
        raise NotImplementedError

    # --- for the other services --------------------------------------------------------------------------
    def connected_arm(self) -> Arm:
        """The connected arm-layer Arm. Raises NotConnectedError."""
        with self._lock:
            if self._arm is None or not self._state.connected:
                raise NotConnectedError(*self.words.not_connected)
            return self._arm

    def simulator(self) -> SimulatedArm | None:
        """The in-process simulated arm when a simulated one is connected (its sliders, tests' unplugging)."""
        arm = self._arm
        return None if arm is None else arm.sim

    def _check_claim(self, arm: Arm) -> None:
        """Raise if the arm cannot start anything now (the follower refuses while e-stopped)."""

    def claim(self, activity: str) -> Arm:
        """Mark the arm busy with `activity` ("recording", "driving", …) and return it; BusyError if taken."""
        with self._lock:
            arm = self.connected_arm()
            self._check_claim(arm)
            if self._busy_with is not None:
                raise BusyError(f"The {self.words.name} is busy {self._busy_with}.",
                                f"Stop {self._busy_with} first, then try again.")
            self._busy_with = activity
        self._announce_busy()
        return arm

    def release(self, activity: str) -> None:
        with self._lock:
            if self._busy_with != activity:
                return
            self._busy_with = None
        self._announce_busy()

    def add_stop_hook(self, hook: Callable[[str], None]) -> None:
        """`hook(reason)` runs on e-stop and disconnect: the owner stops its loop (must not block long)."""
        self._stop_hooks.append(hook)

    def _run_stop_hooks(self, reason: str) -> None:
        for hook in list(self._stop_hooks):
            try:
                hook(reason)
            except Exception:  # noqa: BLE001 - one broken hook must not keep the arm moving
                log.exception("stop hook failed")

    def _announce_busy(self) -> None:
        with self._lock:
            s = self._state
            self._state = state = ConnectionState(s.status, s.choice, s.message, self._busy_with)
        self.state_changed.emit(state)

    def _set_state(self, state: ConnectionState) -> None:
        with self._lock:
            self._state = state
        self.state_changed.emit(state)
