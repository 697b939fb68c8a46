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
from collections.abc import Iterable
from typing import TYPE_CHECKING

from prop_desktop.services.arm_slot import ArmSlot, SlotWords
from prop_desktop.services.connections import available_choices, simulated_choice
from prop_desktop.services.errors import ArmFaultError, InvalidInputError
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
    from prop_desktop.arm.arm import Arm
    from prop_desktop.arm.calibration_store import CalibrationStore
    from prop_desktop.arm.preflight import PreflightReport as ArmPreflightReport

log = logging.getLogger(__name__)
IDLE_POLL_S = 0.1
IDLE_FAILURES = 3  # consecutive failed idle reads before the arm is reported faulty
# Plain words for people; the port's own error text (errno, device path) goes to the log, not on screen.
UNPLUGGED_MESSAGE = ("The arm was disconnected: unplugged, or it lost power (or the simulated arm stopped). Its "
                     "motors are relaxed; plug it back in and connect again on the Connect page.")


class ArmService(ArmSlot):
    """Owns at most one connected arm at a time; the other services borrow it through `arm()`/`claim()`."""

    words = SlotWords(
        name="arm",
        connected="Connected: {label}.",
        needs_calibration="Connected to {label}. This arm is not calibrated yet: run the calibration wizard.",
        disconnected="Disconnected. Torque released.",
        not_connected=("No arm is connected.", "Connect an arm on the Connect page."),
    )

    def __init__(self, control_rate_hz: float = 50.0, calibration_store: CalibrationStore | None = None) -> None:
        """`calibration_store`: where arms' calibrations live (default: the arm layer's, in the data folder)."""
        super().__init__("arm.state_changed", calibration_store, ConnectionState(ConnectionStatus.DISCONNECTED))
        self.joints: Signal[JointSample] = Signal("arm.joints")  # idle monitor, ~10 Hz
        self.control_rate_hz = control_rate_hz
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

    @property
    def last_joints(self) -> tuple[float, ...] | None:
        """The most recent joint reading (radians), from whichever loop read it last."""
        return self._last_q

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

    def _after_connect(self) -> None:
        self._start_monitor()

    def _before_disconnect(self) -> None:
        self._stop_monitor()

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

    # --- for the other services --------------------------------------------------------------------------
    def arm(self) -> Arm:
        """The connected arm-layer Arm. Raises NotConnectedError."""
        return self.connected_arm()

    def _check_claim(self, arm: Arm) -> None:
        if self._state.status is ConnectionStatus.FAULT or arm.estopped:
            raise ArmFaultError("The arm is stopped (emergency stop or a safety fault).",
                                "Press Reset (top right) first.")

    def note_joints(self, q: Iterable[float]) -> None:
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
            self._monitor_stop.set()
            gone = self._take_arm()
            if gone is not None:
                self._close(gone)
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

        sim = self.simulator()
        if sim is not None and getattr(sim, "unplugged", False):
            return True
        arm = self._arm
        bus = getattr(arm, "bus", None)
        if bus is not None and not getattr(bus, "is_open", True):
            return True
        text = detail.lower()
        return any(w in text for w in ("unplug", "vanish", "disconnected", "does not exist", "input/output error",
                                        "i/o error", "went away", "no such device"))

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


def preflight_report(report: ArmPreflightReport) -> PreflightReport:
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
