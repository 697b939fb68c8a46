"""The high-level arm: joints in radians, safe goals, torque on/off, emergency stop, pre-flight, calibration.

    from prop_desktop.arm import connect
    with connect(sim=True) as arm:              # or connect("/dev/ttyUSB0", model="so101")
        q = arm.read_joints()                   # radians, 0 = calibrated middle pose
        arm.torque_on()                         # goal = present first: no jump
        arm.command(q + 0.1)                    # clamped, velocity-limited, ramped
        arm.estop()                             # from any thread; torque off within one tick

Thread model: every bus call is one locked transaction (the bus's lock). `command()` and the torque
transitions also take the arm's command lock, so an emergency stop from another thread can never be
overtaken by a goal written after it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, ParamSpec, TypeVar

import numpy as np

from prop_desktop.arm import safety
from prop_desktop.arm.bus import ServoBus
from prop_desktop.arm.calibration import ArmCalibration, Calibration, CalibrationError
from prop_desktop.arm.calibration_store import CalibrationStore
from prop_desktop.arm.errors import (
    ArmError,
    BusError,
    PortError,
    RegisterError,
    ServoError,
    TransactionAborted,
    describe_error,
)
from prop_desktop.arm.models import COUNTS_PER_TURN, ArmModel, arm_model
from prop_desktop.arm.preflight import PreflightReport, run_preflight
from prop_desktop.arm.safety import GoalFilter, SafetyConfig, SafetyStop, Watchdog

if TYPE_CHECKING:
    from prop_desktop.arm.sim import SimulatedArm

_P = ParamSpec("_P")
_R = TypeVar("_R")

try:
    import termios

    _IO_ERRORS: tuple[type[BaseException], ...] = (OSError, termios.error)
except ImportError:  # Windows
    _IO_ERRORS = (OSError,)


class EmergencyStopped(SafetyStop):
    """A goal was refused because the emergency stop is engaged (call reset_estop() to continue)."""


class Arm:
    """One arm on an open servo bus. Use `prop_desktop.arm.connect()` to make one."""

    def __init__(
        self,
        bus: ServoBus,
        model: ArmModel | str = "so101",
        *,
        arm_id: str = "",
        calibration: ArmCalibration | None = None,
        calibration_store: CalibrationStore | None = None,
        safety_config: SafetyConfig | None = None,
        on_close: Callable[[], None] | None = None,
        port_label: str = "",
        require_calibration: bool = False,
    ) -> None:
        """`calibration_store`: where this arm's calibration is loaded from and saved to (default:
        CalibrationStore.default(), the calibration folder of the app's data folder)."""
        self.bus = bus
        self.calibration_store = calibration_store or CalibrationStore.default()
        self.model = arm_model(model)
        if bus.protocol != self.model.protocol:
            raise ArmError(
                f"a {self.model.display_name} speaks {self.model.protocol}, but the bus is {bus.protocol}"
            )
        self.arm_id = arm_id or f"{self.model.key}-unknown"
        self.port_label = port_label or bus.port
        # Real arms must be calibrated before torque on: until then their ranges are guesses.
        self.require_calibration = require_calibration
        self.safety = safety_config or SafetyConfig()
        self.ids = self.model.servo_ids
        self.joint_names = self.model.joint_names
        self.n_joints = len(self.ids)
        self.warnings: list[str] = []
        # The in-process SimulatedArm when connect() started one (hand guiding, fault injection).
        self.sim: SimulatedArm | None = None
        self.fault: str | None = None  # the last reason torque was released by a rail or an error
        self._on_close = on_close
        self._cmd_lock = threading.RLock()
        self._estop = threading.Event()
        self._estop_reason = "emergency stop"
        self._torque = False
        self._closed = False
        self._filter: GoalFilter | None = None
        self._watchdog: Watchdog | None = None
        self._next_watch = 0.0
        self.last_goal: np.ndarray | None = None
        self.last_estop_latency_s: float | None = None  # e-stop call -> torque confirmed off (read back)
        self.last_estop_sent_s: float | None = None  # e-stop call -> torque-off packet written to the port
        self._t_release_sent: float | None = None
        if calibration is None:
            try:
                calibration = self.calibration_store.load(self.arm_id)
            except CalibrationError as exc:
                self.warnings.append(str(exc))
        self.set_calibration(calibration or ArmCalibration.default(self.model))
        safety.guard(self)

    # -- calibration -----------------------------------------------------------------------------------
    @property
    def is_calibrated(self) -> bool:
        return self.calibration.calibrated

    def set_calibration(self, calibration: ArmCalibration, *, save: bool = False) -> None:
        if calibration.model_key != self.model.key:
            raise ArmError(f"that calibration is for a {calibration.model_key}, this arm is a {self.model.key}")
        calibration.arm_id = calibration.arm_id or self.arm_id
        self.calibration = calibration
        lower, upper = calibration.limits()
        # Keep clear of the ends found by the sweep (they are usually hard stops); narrow ranges keep their middle.
        margin = np.minimum(self.safety.range_margin, (upper - lower) / 4)
        self.lower, self.upper = lower + margin, upper - margin
        self._filter = None
        if save:
            self.calibration_store.save(calibration)

    def apply_stored_offsets(self) -> list[int]:
        """Make the servos' homing offsets match the stored calibration (someone may have changed them).

        Returns the ids that were rewritten. Torque must be off (EEPROM writes).
        """
        if not self.calibration.calibrated:
            return []
        present = self.bus.sync_read_register("homing_offset", self.ids)
        wrong = {j.servo_id: j.homing_offset for j in self.calibration.joints if present[j.servo_id] != j.homing_offset}
        if wrong:
            self.release_torque("rewriting homing offsets")
            self.write_eeprom("homing_offset", wrong)
            self.warnings.append(
                f"the homing offsets of servo(s) {', '.join(map(str, sorted(wrong)))} differed from this arm's "
                "calibration (another program recalibrated it?); the stored calibration was written back"
            )
        return sorted(wrong)

    def write_eeprom(self, register: str, values: dict[int, int]) -> None:
        """Write a persistent (EEPROM) register on several servos, with torque off and the lock handled."""
        self.bus.write_eeprom_many(register, values)

    def calibrate(self) -> Calibration:
        """Start the guided calibration; returns a `Calibration` a UI or script steps through."""
        return Calibration(self)

    def preflight(self) -> PreflightReport:
        """Ping, model, firmware, voltage, temperature of every servo: a `PreflightReport`."""
        return run_preflight(self.bus, self.model, port=self.port_label)

    # -- reading ---------------------------------------------------------------------------------------
    def read_counts(self) -> np.ndarray:
        """Present positions in servo counts (int64, joint order). One sync read."""
        values = self._bus_call(self.bus.sync_read_register, "present_position", self.ids)
        return np.array([values[i] for i in self.ids], dtype=np.int64)

    def read_joints(self) -> np.ndarray:
        """Present joint positions in radians (float64, joint order)."""
        return self.calibration.counts_to_radians(self.read_counts())

    def read_telemetry(self) -> dict[str, np.ndarray]:
        """Temperature (°C), voltage (V) and load (fraction, where the servo reports it) per joint."""
        names = ["present_voltage", "present_temperature"]
        has_load = "present_load" in self.bus.si_units
        if has_load:
            names.insert(0, "present_load")
        values = self._bus_call(self.bus.sync_read_registers, names, self.ids)
        out = {
            "voltage": np.array([self.bus.to_si("present_voltage", values[i]["present_voltage"]) for i in self.ids]),
            "temperature": np.array(
                [self.bus.to_si("present_temperature", values[i]["present_temperature"]) for i in self.ids]
            ),
        }
        if has_load:
            # Per model: Dynamixel reports current (mA), which only a servo's own limit turns into a fraction.
            out["load"] = np.array([self.bus.load_fraction(i, values[i]["present_load"]) for i in self.ids])
        return out

    # -- torque ----------------------------------------------------------------------------------------
    @property
    def torque_enabled(self) -> bool:
        return self._torque

    @property
    def estopped(self) -> bool:
        return self._estop.is_set()

    def torque_on(self) -> np.ndarray:
        """Enable torque without a jump: goal = present first. Returns the present joints (radians)."""
        with self._cmd_lock:
            self._refuse_if_stopped()
            if self.model.is_leader:
                raise SafetyStop(
                    f"the {self.model.display_name} is moved by hand and never commanded; its torque stays off"
                )
            if self.require_calibration and not self.is_calibrated:
                raise SafetyStop(
                    "this arm is not calibrated yet, so its joint ranges are unknown and moving it could drive a "
                    "joint into its end stop. Calibrate it first (Connect page, or `prop-desktop arm calibrate`)."
                )
            counts = self.read_counts()
            # Present may lie just outside the calibrated range; hold it where it is, the filter walks it in.
            self._bus_call(self.bus.sync_write_register, "goal_position", self._clip_counts(counts))
            self._limit_gripper_torque()
            self._bus_call(self.bus.sync_write_register, "torque_enable", {i: 1 for i in self.ids})
            # Read back: proves the (unanswered) sync write was executed, and a protecting servo refuses torque.
            state = self._bus_call(self.bus.sync_read_register, "torque_enable", self.ids)
            refused = [n for n, i in zip(self.joint_names, self.ids, strict=True) if not state[i]]
            if refused:
                self.release_torque()
                raise SafetyStop(
                    f"{', '.join(refused)} refused to enable torque (the servo is protecting itself: too hot, "
                    "overloaded or under-powered). Let it cool, free the joint, check the power supply, then retry."
                )
            self._torque = True
            self.fault = None
            q = self.calibration.counts_to_radians(counts)
            lo = np.minimum(self.lower, q)
            hi = np.maximum(self.upper, q)
            vmax = np.full(self.n_joints, self.safety.max_velocity)
            vmax[self.model.gripper_index] = self.safety.gripper_max_velocity
            self._filter = GoalFilter(lo, hi, vmax, self.safety)
            self._filter.reset(q)
            # The filter starts from present, which may be outside the range: later goals are clamped inside.
            self._filter.lower, self._filter.upper = self.lower, self.upper
            self.last_goal = q.copy()
            self._watchdog = Watchdog(self.joint_names, self.ids, self._max_temps(), self.safety)
            self._next_watch = time.monotonic()
            return q

    def torque_off(self) -> None:
        """Release torque (the arm goes limp: support it!). Raises if the bus fails."""
        with self._cmd_lock:
            self._torque = False
            self._filter = None
            self._bus_call(self.bus.sync_write_register, "torque_enable", {i: 0 for i in self.ids})

    def release_torque(self, reason: str | None = None) -> bool:
        """Best-effort torque off that never raises (for errors, exit, e-stop). True if it was sent.

        The sync write is confirmed by reading torque_enable back, so when this returns the servos are limp.
        """
        self._torque = False
        self._filter = None
        if reason:
            self.fault = reason
        if self._closed or not self.bus.is_open:
            return False
        try:
            self.bus.sync_write_register("torque_enable", {i: 0 for i in self.ids})
        except Exception:  # noqa: BLE001 - the bus may be gone; nothing more we can do
            return False
        self._t_release_sent = time.monotonic()
        self._confirm_torque_off()
        return True

    def estop(self, reason: str = "emergency stop") -> float:
        """Emergency stop, callable from any thread: refuse further goals and release torque now.

        Returns the seconds from the call until the servos confirmed torque off (read back; a servo that does
        not confirm gets a direct write). It preempts the bus: a transaction in progress (even one retrying a
        silent servo) is aborted, so it takes effect within one loop tick; `last_estop_latency_s` keeps the figure.
        """
        t0 = time.monotonic()
        self._estop_reason = reason
        self._estop.set()
        self._t_release_sent = None
        with self.bus.preempt():
            self.release_torque(reason)
        latency = time.monotonic() - t0
        self.last_estop_latency_s = latency
        self.last_estop_sent_s = None if self._t_release_sent is None else self._t_release_sent - t0
        return latency

    def _confirm_torque_off(self) -> None:
        # A sync write is never answered; reading torque_enable back proves the servos executed it.
        try:
            state = self.bus.sync_read_register("torque_enable", self.ids)
            for servo_id, value in state.items():
                if value:
                    self.bus.write_register(servo_id, "torque_enable", 0)
        except Exception:  # noqa: BLE001 - best effort: the sync write already went out
            pass

    def reset_estop(self) -> None:
        """Allow goals again after an emergency stop (torque stays off until torque_on())."""
        self._estop.clear()

    # -- commanding ------------------------------------------------------------------------------------
    def command(self, goal: np.ndarray) -> np.ndarray:
        """Send a goal in radians, made safe: clamped to the calibrated range, velocity limited, ramped.

        Returns the goal actually sent (radians). Raises SafetyStop if torque is off, the emergency stop is
        engaged, or the watchdog tripped (torque is then already released and `fault` says why).
        """
        with self._cmd_lock:
            self._refuse_if_stopped()
            goal_filter = self._filter  # read once: an e-stop from another thread may clear it meanwhile
            if not self._torque or goal_filter is None:
                raise SafetyStop("torque is off: call torque_on() before commanding goals")
            safe = goal_filter(goal)
            counts = self.calibration.radians_to_counts(safe)
            self._bus_call(self.bus.sync_write_register, "goal_position", self._clip_counts(counts))
            self.last_goal = safe
        self._watch()
        return safe

    def _watch(self) -> None:
        now = time.monotonic()
        if self._watchdog is None or now < self._next_watch:
            return
        self._next_watch = now + self.safety.watchdog_period_s
        tele = self.read_telemetry()
        reason = self._watchdog.check(tele["temperature"], tele.get("load"), now)
        if reason is None and self.bus.alarms:
            alarms = dict(self.bus.alarms)
            self.bus.clear_alarms()
            serious = {i: w for i, w in alarms.items() if {"overheating", "overload", "over-current"} & set(w)}
            for servo_id, words in alarms.items():
                note = f"servo {servo_id} reported {', '.join(words)} while moving"
                if "input voltage" in words:
                    note += ": the power supply sags under load (too weak, or a loose power cable)"
                if servo_id not in serious and note not in self.warnings:
                    self.warnings.append(note)
            if serious:
                servo_id, words = next(iter(serious.items()))
                reason = (
                    f"servo {servo_id} reports {', '.join(words)}. Torque released; free the joint and let it cool."
                )
        if reason is not None:
            self.release_torque(reason)
            raise SafetyStop(reason)

    # -- lifecycle -------------------------------------------------------------------------------------
    def close(self) -> None:
        """Release torque and close the bus (and the simulator when this arm started it)."""
        if self._closed:
            return
        self.release_torque()
        self._closed = True
        safety.unguard(self)
        try:
            self.bus.close()
        finally:
            if self._on_close is not None:
                self._on_close()

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> Arm:
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if exc is not None:
            self.release_torque(f"stopped by an error: {describe_error(exc)}")
        self.close()

    def __repr__(self) -> str:
        return f"Arm({self.model.key}, {self.port_label!r}, torque={'on' if self._torque else 'off'})"

    # -- helpers ---------------------------------------------------------------------------------------
    def _refuse_if_stopped(self) -> None:
        if self._estop.is_set():
            raise EmergencyStopped(
                f"{self._estop_reason}: torque released; reset the emergency stop before moving the arm again"
            )
        if self._closed:
            raise ArmError("this arm is closed; connect again")

    def _bus_call(self, fn: Callable[_P, _R], *args: _P.args, **kwargs: _P.kwargs) -> _R:
        """A bus call; on a bus failure torque is released (best effort) and the error goes up."""
        try:
            return fn(*args, **kwargs)
        except TransactionAborted as exc:
            if self._estop.is_set():  # the e-stop took the bus: say so, not "aborted"
                self._refuse_if_stopped()
            self.release_torque(describe_error(exc))
            raise
        except BusError as exc:
            self.release_torque(describe_error(exc))
            raise
        except _IO_ERRORS as exc:
            # Safety net: an OS-level I/O error that escaped the bus layer still reads as a vanished port.
            err = PortError(
                f"the serial port {self.bus.port} failed ({exc}). The USB cable was unplugged, the adapter lost "
                "power, or the simulated arm was stopped. Plug it back in (or restart the simulator) and reconnect.",
                self.bus.port,
            )
            self.release_torque(describe_error(err))
            raise err from exc

    def _clip_counts(self, counts: np.ndarray) -> dict[int, int]:
        clipped = np.clip(counts, 0, COUNTS_PER_TURN - 1)
        return {servo_id: int(c) for servo_id, c in zip(self.ids, clipped, strict=True)}

    def _max_temps(self) -> np.ndarray:
        if self.safety.max_temperature_c is not None:
            return np.full(self.n_joints, self.safety.max_temperature_c)
        return np.array([j.servo.max_temperature_c for j in self.model.joints])

    def _limit_gripper_torque(self) -> None:
        gid = self.model.joint(self.model.gripper).servo_id
        frac = min(max(self.safety.gripper_torque_limit, 0.0), 1.0)
        try:
            if "torque_limit" in self.bus.registers:  # Feetech: 0..1000 of max torque, RAM
                self.bus.write_register(gid, "torque_limit", int(round(frac * 1000)))
            elif "goal_current" in self.bus.registers and "current_limit" in self.bus.registers:
                # Dynamixel: limit current in current-based position mode (5), as Koch grippers are run.
                limit = self.bus.read_register(gid, "current_limit")
                if self.bus.read_register(gid, "operating_mode") != 5:
                    self.bus.write_register(gid, "torque_enable", 0)
                    self.bus.write_register(gid, "operating_mode", 5)
                self.bus.write_register(gid, "goal_current", int(round(frac * limit)))
        except (RegisterError, ServoError) as exc:
            self.warnings.append(f"could not limit the gripper's torque: {describe_error(exc)}")
