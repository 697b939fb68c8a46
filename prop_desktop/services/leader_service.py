"""The optional second arm slot: a hand-held leader arm that the follower mirrors (Record page, "With the
leader arm").

Discovered, diagnosed, pre-flighted and calibrated like the follower (the same USB discovery, the same
CalibrationStore, keyed by the leader's adapter serial number). The leader is only ever read: the record
service borrows it with `claim("recording")`. An unplugged leader stops the recording (the follower's
torque is released and what was recorded is kept) and this slot becomes disconnected; the follower stays
connected.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from prop_desktop.services.arm_service import preflight_report
from prop_desktop.services.calibration_wizard import CalibrationWizard
from prop_desktop.services.connections import available_choices
from prop_desktop.services.errors import ArmConnectError, BusyError, InvalidInputError, NotConnectedError
from prop_desktop.services.events import Signal
from prop_desktop.services.models import ArmChoice, ConnectionState, ConnectionStatus, PreflightReport

if TYPE_CHECKING:
    from prop_desktop.arm.arm import Arm
    from prop_desktop.arm.calibration_store import CalibrationStore
    from prop_desktop.arm.sim import SimulatedArm

log = logging.getLogger(__name__)
SIMULATED_LEADER_ID = "sim-leader"
NO_LEADER_MESSAGE = "No leader arm (optional): record by clicking or by hand, or connect one here."
LEADER_UNPLUGGED = ("The leader arm was disconnected: unplugged, or it lost power. The follower stopped and "
                    "relaxed its motors; what was recorded is kept. Plug the leader in and connect it again.")


def simulated_leader_choice(is_default: bool = True) -> ArmChoice:
    return ArmChoice(
        id=SIMULATED_LEADER_ID,
        label="Simulated SO-101 leader arm",
        kind="sim",
        adapter="built-in simulator: move it with the sliders on the Record page",
        arm_model="so101_leader",
        protocol="feetech",
        is_default=is_default,
    )


def leader_choices() -> list[ArmChoice]:
    """Detected adapters (as leaders of the kit their adapter suggests), diagnosed ones, then the simulator."""
    from prop_desktop.arm.models import leader_model_for

    out = []
    for choice in available_choices():
        if choice.kind == "sim":
            continue
        model = leader_model_for(choice.arm_model).key if choice.kind == "serial" else choice.arm_model
        out.append(ArmChoice(**{**choice.__dict__, "arm_model": model, "is_default": False}))
    return [*out, simulated_leader_choice(is_default=True)]


class LeaderArmService:
    """At most one leader arm; `state_changed` announces its connection state (from any thread)."""

    def __init__(self, calibration_store: CalibrationStore | None = None) -> None:
        self.calibration_store = calibration_store
        self.state_changed: Signal[ConnectionState] = Signal("leader.state_changed")
        self._lock = threading.RLock()
        self._arm: Arm | None = None
        self._state = ConnectionState(ConnectionStatus.DISCONNECTED, None, NO_LEADER_MESSAGE)
        self._busy_with: str | None = None
        self._stop_hooks: list[Callable[[str], None]] = []

    def available_connections(self) -> list[ArmChoice]:
        return leader_choices()

    @property
    def state(self) -> ConnectionState:
        return self._state

    @property
    def connected(self) -> bool:
        return self._arm is not None and self._state.connected

    def connect(self, choice: ArmChoice | str | None = None) -> ConnectionState:
        """Connect the leader (`choice`: an ArmChoice, its id or port; None = the simulated leader). Blocks ≤ ~3 s."""
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
                                    f"Leader connected ({picked.label}), not calibrated yet: run the calibration.")
        else:
            state = ConnectionState(ConnectionStatus.CONNECTED, picked, f"Leader connected: {picked.label}.")
        self._set_state(state)
        return state

    def _resolve(self, choice: ArmChoice | str | None) -> ArmChoice:
        if isinstance(choice, ArmChoice):
            return choice
        if choice in (None, SIMULATED_LEADER_ID):
            return simulated_leader_choice()
        for c in self.available_connections():
            if choice in (c.id, c.port):
                return c
        if isinstance(choice, str) and choice.startswith("/dev/"):
            return ArmChoice(id=choice, label=choice, kind="serial", port=choice, arm_model="so101_leader")
        raise InvalidInputError(f"No leader arm called {choice!r} is available.", "Press Refresh and pick one.")

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
        if not arm.model.is_leader:
            arm.close()
            raise ArmConnectError(f"{choice.label} is not a leader arm.", "Pick the hand-held leader's adapter.")
        try:
            arm.read_joints()
        except ArmError as exc:
            arm.close()
            raise ArmConnectError(f"The port opened, but the leader arm does not answer properly: {exc}",
                                  "Check the leader's power supply and cables, then open Pre-flight.") from exc
        return arm

    def disconnect(self) -> None:
        """Stop whatever reads the leader and close its port. Idempotent."""
        self._run_stop_hooks("the leader arm was disconnected")
        with self._lock:
            arm, self._arm, self._busy_with = self._arm, None, None
        if arm is not None:
            try:
                arm.close()
            except Exception:  # noqa: BLE001 - a vanished port cannot be closed cleanly
                log.debug("closing the leader failed", exc_info=True)
            self._set_state(ConnectionState(ConnectionStatus.DISCONNECTED, None, NO_LEADER_MESSAGE))

    def leader(self) -> Arm:
        """The connected leader Arm; NotConnectedError otherwise."""
        with self._lock:
            if self._arm is None:
                raise NotConnectedError("No leader arm is connected.",
                                        "Connect one under “Leader arm (optional)” on the Connect page.")
            return self._arm

    def simulator(self) -> SimulatedArm | None:
        """The in-process simulated leader (the Record page's sliders move it), else None."""
        arm = self._arm
        return None if arm is None else arm.sim

    def preflight(self) -> PreflightReport:
        return preflight_report(self.leader().preflight())

    def calibration_wizard(self) -> CalibrationWizard:
        arm = self.claim("calibrating")
        return CalibrationWizard(arm, on_fault=self.report_fault, on_close=self._calibration_closed)

    def _calibration_closed(self, calibrated: bool) -> None:
        self.release("calibrating")
        state = self._state
        if calibrated and state.status is ConnectionStatus.NEEDS_CALIBRATION:
            label = state.choice.label if state.choice else "leader arm"
            self._set_state(ConnectionState(ConnectionStatus.CONNECTED, state.choice, f"Leader connected: {label}."))

    def claim(self, activity: str) -> Arm:
        with self._lock:
            arm = self.leader()
            if self._busy_with is not None:
                raise BusyError(f"The leader arm is busy {self._busy_with}.", f"Stop {self._busy_with} first.")
            self._busy_with = activity
        return arm

    def release(self, activity: str) -> None:
        with self._lock:
            if self._busy_with == activity:
                self._busy_with = None

    def add_stop_hook(self, hook: Callable[[str], None]) -> None:
        """`hook(reason)` runs when the leader disconnects: whoever reads it stops."""
        self._stop_hooks.append(hook)

    def report_fault(self, detail: str) -> str:
        """The leader failed (unplugged, no answer): close it; the slot becomes disconnected. Returns the message."""
        log.warning("leader arm fault: %s", detail)
        with self._lock:
            arm, self._arm, self._busy_with = self._arm, None, None
        if arm is not None:
            try:
                arm.close()
            except Exception:  # noqa: BLE001 - it is gone
                pass
        self._set_state(ConnectionState(ConnectionStatus.DISCONNECTED, self._state.choice, LEADER_UNPLUGGED))
        return LEADER_UNPLUGGED

    def _run_stop_hooks(self, reason: str) -> None:
        for hook in list(self._stop_hooks):
            try:
                hook(reason)
            except Exception:  # noqa: BLE001 - one broken hook must not keep the arm moving
                log.exception("leader stop hook failed")

    def _set_state(self, state: ConnectionState) -> None:
        with self._lock:
            self._state = state
        self.state_changed.emit(state)
