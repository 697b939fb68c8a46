"""Connecting the arm: what is plugged in, connect/disconnect, pre-flight, calibration, e-stop, unplug.

State changes are announced on `state_changed` from whatever thread notices them (unplug is noticed by the
recording/driving worker or by the idle monitor, which reads the joints ~10 times a second while nothing else
uses the arm and publishes them on `joints` for the workspace view). `connect()` blocks for up to a few
seconds (opening a port, pinging six servos, starting the simulator): call it from a worker thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from prop_desktop.services.calibration_wizard import CalibrationWizard
from prop_desktop.services.connections import available_choices, simulated_choice
from prop_desktop.services.errors import (
    ArmConnectError,
    ArmFaultError,
    BusyError,
    InvalidInputError,
    NotConnectedError,
)
from prop_desktop.services.events import Signal
from prop_desktop.services.models import (
    SIMULATED_CHOICE_ID,
    ArmChoice,
    ConnectionState,
    ConnectionStatus,
    JointSample,
    PreflightReport,
    ServoCheck,
)

if TYPE_CHECKING:
    from prop_desktop.arm.calibration_store import CalibrationStore

log = logging.getLogger(__name__)
IDLE_POLL_S = 0.1
IDLE_FAILURES = 3  # consecutive failed idle reads before the arm is reported faulty
# Plain words for people; the port's own error text (errno, device path) goes to the log, not on screen.
UNPLUGGED_MESSAGE = ("The arm was disconnected: unplugged, or it lost power (or the simulated arm stopped). Its "
                     "motors are relaxed; plug it back in and connect again on the Connect page.")


class ArmService:
    """Owns at most one connected arm at a time; the other services borrow it through `arm()`/`claim()`."""

    def __init__(self, control_rate_hz: float = 50.0, calibration_store: CalibrationStore | None = None) -> None:
        """`calibration_store`: where arms' calibrations live (default: the arm layer's, in the data folder)."""
        self.calibration_store = calibration_store
        self.state_changed: Signal[ConnectionState] = Signal("arm.state_changed")
        self.joints: Signal[JointSample] = Signal("arm.joints")  # idle monitor, ~10 Hz
        self.control_rate_hz = control_rate_hz
        self._lock = threading.RLock()
        self._state = ConnectionState(ConnectionStatus.DISCONNECTED)
        self._arm: Any = None  # the arm layer's Arm
        self._sim: Any = None  # the in-process SimulatedArm when the simulated arm is connected
        self._busy_with: str | None = None
        self._stop_hooks: list[Callable[[str], None]] = []
        self._monitor: threading.Thread | None = None
        self._monitor_stop = threading.Event()
        self._last_q: tuple[float, ...] | None = None

    # --- what can be connected ---------------------------------------------------------------------------
    def available_connections(self) -> list[ArmChoice]:
        """Usable detected arms first (diagnosed ones with fixes next), then the simulated arm, which is the
        default (`is_default`) when no usable real arm is plugged in. Fast (< 100 ms)."""
        return available_choices()

    def default_choice(self) -> ArmChoice:
        return next((c for c in self.available_connections() if c.is_default), simulated_choice())

    # --- connection --------------------------------------------------------------------------------------
    @property
    def state(self) -> ConnectionState:
        return self._state

    @property
    def last_joints(self) -> tuple[float, ...] | None:
        """The most recent joint reading (radians), from whichever loop read it last."""
        return self._last_q

    def connect(self, choice: ArmChoice | str | None = None) -> ConnectionState:
        """Connect to `choice` (an ArmChoice, its id or port path, or None for the default). Blocks ≤ ~3 s.

        Disconnects a previous arm first. Raises ArmConnectError with the diagnosis and fix on failure.
        """
        picked = self._resolve(choice)
        if not picked.usable:
            raise ArmConnectError(picked.problem or f"{picked.label} cannot be used.", picked.fix)
        self.disconnect()
        self._set_state(ConnectionState(ConnectionStatus.CONNECTING, picked, f"Connecting to {picked.label}…"))
        try:
            arm, sim = self._open(picked)
        except ArmConnectError as exc:
            self._set_state(ConnectionState(ConnectionStatus.DISCONNECTED, picked, exc.user_message))
            raise
        with self._lock:
            self._arm, self._sim, self._busy_with = arm, sim, None
        if picked.kind == "serial" and not arm.is_calibrated:
            state = ConnectionState(
                ConnectionStatus.NEEDS_CALIBRATION,
                picked,
                f"Connected to {picked.label}. This arm is not calibrated yet: run the calibration wizard.",
            )
        else:
            state = ConnectionState(ConnectionStatus.CONNECTED, picked, f"Connected: {picked.label}.")
        self._set_state(state)
        self._start_monitor()
        return state

    def _resolve(self, choice: ArmChoice | str | None) -> ArmChoice:
        if isinstance(choice, ArmChoice):
            return choice
        if choice is None:
            return self.default_choice()
        if choice == SIMULATED_CHOICE_ID:
            return simulated_choice()
        for c in self.available_connections():
            if choice in (c.id, c.port):
                return c
        if isinstance(choice, str) and choice.startswith("/dev/"):
            # A port we do not know the adapter of (a pty, a custom board): try it as an SO-101.
            return ArmChoice(id=choice, label=choice, kind="serial", port=choice)
        raise InvalidInputError(f"No arm called {choice!r} is available.", "Press Refresh and pick one from the list.")

    def _open(self, choice: ArmChoice) -> tuple[Any, Any]:
        from prop_desktop.arm.connect import connect
        from prop_desktop.arm.errors import ArmError

        try:
            if choice.kind == "sim":
                arm = connect(sim=True, model=choice.arm_model, calibration_store=self.calibration_store)
            else:
                port = choice.port or choice.id
                arm = connect(port, model=choice.arm_model, calibration_store=self.calibration_store)
        except ArmError as exc:
            text = str(exc)
            message, _, fix = text.partition(" Fix: ")
            raise ArmConnectError(message.strip(), fix.strip() or "Check the cable and power, then try again.") from exc
        except OSError as exc:
            from prop_desktop.arm.discovery import explain_open_error

            problem = explain_open_error(choice.port or choice.id, exc)
            raise ArmConnectError(problem.message, problem.fix) from exc
        try:
            arm.read_joints()  # every servo answers, or we say which one does not
        except ArmError as exc:
            arm.close()
            raise ArmConnectError(
                f"The port opened, but the arm does not answer properly: {exc}",
                "Check the arm's power supply and cables, then open Pre-flight for details.",
            ) from exc
        return arm, getattr(arm, "sim", None)

    def disconnect(self) -> None:
        """Stop whatever uses the arm, release torque and close the port (stops our simulator). Idempotent."""
        self._run_stop_hooks("disconnecting")
        self._stop_monitor()
        with self._lock:
            arm, self._arm, self._sim, self._busy_with = self._arm, None, None, None
        if arm is not None:
            try:
                arm.close()
            except Exception:  # noqa: BLE001 - a vanished port cannot be closed cleanly; it is gone anyway
                log.debug("closing the arm failed", exc_info=True)
            self._set_state(ConnectionState(ConnectionStatus.DISCONNECTED, None, "Disconnected. Torque released."))

    def emergency_stop(self, reason: str = "Emergency stop.") -> None:
        """From any thread: stop whatever moves the arm and release torque within one control tick."""
        arm = self._arm
        if arm is not None:
            arm.estop(reason)
        self._run_stop_hooks("emergency stop")
        if arm is not None:
            s = self._state
            self._set_state(
                ConnectionState(
                    ConnectionStatus.FAULT, s.choice, f"{reason} Torque released. Press Reset to use the arm again.",
                    self._busy_with,
                )
            )

    def reset(self) -> ConnectionState:
        """After an emergency stop or a watchdog fault: allow motion again (torque stays off until needed)."""
        arm = self.arm()
        arm.reset_estop()
        arm.fault = None
        s = self._state
        label = s.choice.label if s.choice else "arm"
        state = ConnectionState(ConnectionStatus.CONNECTED, s.choice, f"Connected: {label}.")
        self._set_state(state)
        return state

    def preflight(self) -> PreflightReport:
        """Ping every servo; model, firmware, voltage, temperature per servo. Raises NotConnectedError."""
        arm = self.arm()
        try:
            report = arm.preflight()
        except Exception as exc:  # noqa: BLE001 - the port vanished mid-check
            self.report_fault(str(exc))
            raise ArmFaultError(self.report_fault(str(exc))) from exc
        return preflight_report(report)

    def calibration_wizard(self) -> CalibrationWizard:
        """A step-by-step driver (middle pose, range sweep) for a real arm; stored per arm and reused."""
        arm = self.claim("calibrating")
        return CalibrationWizard(arm, on_fault=self.report_fault, on_close=self._calibration_closed)

    def _calibration_closed(self, calibrated: bool) -> None:
        self.release("calibrating")
        state = self.state
        if calibrated and state.status is ConnectionStatus.NEEDS_CALIBRATION:
            label = state.choice.label if state.choice else "arm"
            self._set_state(ConnectionState(ConnectionStatus.CONNECTED, state.choice, f"Connected: {label}."))

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

    def add_stop_hook(self, hook: Callable[[str], None]) -> None:
        """`hook(reason)` is called on e-stop and disconnect: the owner stops its loop (must not block long)."""
        self._stop_hooks.append(hook)

    def claim(self, activity: str) -> Any:
        """Mark the arm busy with `activity` ("recording", "driving", …) and return it; BusyError if taken."""
        with self._lock:
            arm = self.arm()
            if self._state.status is ConnectionStatus.FAULT or arm.estopped:
                raise ArmFaultError(
                    "The arm is stopped (emergency stop or a safety fault).", "Press Reset (top right) first."
                )
            if self._busy_with is not None:
                raise BusyError(f"The arm is busy {self._busy_with}.", f"Stop {self._busy_with} first, then try again.")
            self._busy_with = activity
        self._announce_busy()
        return arm

    def release(self, activity: str) -> None:
        with self._lock:
            if self._busy_with != activity:
                return
            self._busy_with = None
        self._announce_busy()

    @property
    def busy_with(self) -> str | None:
        return self._busy_with

    def note_joints(self, q: Any) -> None:
        """Workers report the joints they read, so the idle view stays current."""
        self._last_q = tuple(float(v) for v in q)

    def report_fault(self, detail: str, unplugged: bool | None = None) -> str:
        """Workers call this when the arm faults. An unplugged arm becomes DISCONNECTED; a watchdog trip FAULT.

        Returns the user-facing message.
        """
        arm = self._arm
        if unplugged is None:
            unplugged = self._looks_unplugged(detail)
        if unplugged:
            log.warning("arm disconnected: %s", detail)
            message = UNPLUGGED_MESSAGE
            with self._lock:
                arm, self._arm, self._sim, self._busy_with = self._arm, None, None, None
            self._monitor_stop.set()
            if arm is not None:
                try:
                    arm.close()
                except Exception:  # noqa: BLE001 - it is gone
                    pass
            self._set_state(ConnectionState(ConnectionStatus.DISCONNECTED, self._state.choice, message))
            return message
        if arm is not None and arm.estopped:
            message = "Emergency stop. Torque released. Press Reset to use the arm again."
        else:
            message = f"The arm stopped: {detail.rstrip('.')}. Torque is released."
        if arm is not None:
            self._set_state(ConnectionState(ConnectionStatus.FAULT, self._state.choice, message, self._busy_with))
        return message

    def _looks_unplugged(self, detail: str) -> bool:
        from prop_desktop.arm.errors import PortError  # noqa: F401 - documents what we detect

        sim = self._sim
        if sim is not None and getattr(sim, "unplugged", False):
            return True
        arm = self._arm
        bus = getattr(arm, "bus", None)
        if bus is not None and not getattr(bus, "is_open", True):
            return True
        text = detail.lower()
        return any(w in text for w in ("unplug", "vanish", "disconnected", "does not exist", "input/output error",
                                        "i/o error", "went away", "no such device"))

    def _run_stop_hooks(self, reason: str) -> None:
        for hook in list(self._stop_hooks):
            try:
                hook(reason)
            except Exception:  # noqa: BLE001 - one broken hook must not keep the arm moving
                log.exception("stop hook failed")

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

    # --- idle monitor: live joints for the view, and unplug detection while nothing runs --------------------
    def _start_monitor(self) -> None:
        self._monitor_stop = threading.Event()
        stop = self._monitor_stop
        self._monitor = threading.Thread(target=self._watch, args=(stop,), name="arm-idle-monitor", daemon=True)
        self._monitor.start()

    def _stop_monitor(self) -> None:
        self._monitor_stop.set()
        thread = self._monitor
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=1.0)
        self._monitor = None

    def _watch(self, stop: threading.Event) -> None:
        from prop_desktop.arm.errors import PortError

        t0 = time.monotonic()
        failures = 0
        while not stop.wait(IDLE_POLL_S):
            with self._lock:
                arm, busy = self._arm, self._busy_with
            if arm is None:
                return
            if busy is not None:
                continue
            try:
                q = arm.read_joints()
            except Exception as exc:  # noqa: BLE001 - bus trouble while idle
                if stop.is_set():
                    return
                failures += 1
                # A vanished port is final at once; a single timeout on a busy machine is not a fault.
                if isinstance(exc, PortError) or self._looks_unplugged(str(exc)) or failures >= IDLE_FAILURES:
                    self.report_fault(str(exc))
                    return
                continue
            failures = 0
            self.note_joints(q)
            self.joints.emit(JointSample(time.monotonic() - t0, tuple(float(v) for v in q), None))


def preflight_report(report: Any) -> PreflightReport:
    """The arm layer's pre-flight report in the services' terms (one line per servo, a summary)."""
    servos = []
    for s in report.servos:
        problem = "; ".join(s.problems + s.warnings) or None
        servos.append(
            ServoCheck(
                joint=s.joint,
                servo_id=s.servo_id,
                ok=s.ok,
                model=s.model_name or (str(s.model_number) if s.model_number is not None else None),
                firmware=s.firmware,
                voltage_v=s.voltage,
                temperature_c=s.temperature,
                problem=problem,
                fix=" ".join(s.fixes) or None,
            )
        )
    lines = report.problems + report.warnings
    summary = "All servos answered and look fine." if report.ok and not lines else " ".join(lines)
    if not report.ok and not lines:
        bad = [s.joint for s in servos if not s.ok]
        summary = f"Problems with: {', '.join(bad)}. " + " ".join(report.fixes)
    return PreflightReport(report.ok, tuple(servos), summary.strip())
